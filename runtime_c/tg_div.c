/*
 * tg_div.c - DIV, int8, as TFLM's reference kernel (DivElementwise), n = x1 - zp1,
 * d = x2 - zp2:
 *   if d < 0: n, d = -n, -d
 *   inv = GetReciprocal(d) (1/d in [1/2, 1] as Q0.31, recip_shift = d's bits above 1)
 *   q = SRDHM(n * 2^headroom, inv), headroom = CountLeadingSignBits(n)
 *   out = clamp(RoundingDivideByPOT(SRDHM(q, multiplier), right) + out_zp, act_min, act_max)
 *   with right = recip_shift + headroom - output_shift
 * Where TFLM's C++ is undefined tinygen defines the result (codegen/ops/div.py):
 *   right >= 32 (small numerators): the rounded quotient, 0 (TFLM shifts an int32 by >= 32);
 *   d == 0: act_max for n > 0, act_min for n < 0, the zero point for 0 / 0.
 */
#include "tg_div.h"
#include "tg_fixedpoint.h"

/* CountLeadingSignBits of an int32: 31 for 0 and -1. */
TG_INLINE int div_clrsb(int32_t n)
{
    const uint32_t u = n < 0 ? ~(uint32_t)n : (uint32_t)n;
    return tg_fp_clz((int32_t)u) - 1;
}

TG_INLINE int32_t div_element(const tg_div_params_t *p, int32_t n, int32_t d)
{
    int recip_shift;
    int headroom;
    int right;
    int32_t inv;
    int32_t q;
    int32_t r;
    if (d == 0) {
        r = n > 0 ? p->act_max : (n < 0 ? p->act_min : p->output_offset);
        return tg_clamp(r, p->act_min, p->act_max);
    }
    if (d < 0) {
        n = -n;
        d = -d;
    }
    inv = tg_fp_reciprocal(d, 31, &recip_shift);
    headroom = div_clrsb(n);
    q = tg_sat_rounding_doubling_high_mul((int32_t)((uint32_t)n << headroom), inv);
    right = recip_shift + headroom - (int)p->output_shift;
    r = tg_sat_rounding_doubling_high_mul(q, p->output_multiplier);
    r = right < 32 ? tg_rounding_divide_by_pot(r, right) : 0;
    return tg_clamp(r + p->output_offset, p->act_min, p->act_max);
}

void tg_div_s8(const tg_div_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    const int32_t *d = p->dims;
    const int32_t *s1 = p->input1_strides;
    const int32_t *s2 = p->input2_strides;
    int32_t i0, i1, i2, i3, i4;
    for (i0 = 0; i0 < d[0]; ++i0) {
        for (i1 = 0; i1 < d[1]; ++i1) {
            for (i2 = 0; i2 < d[2]; ++i2) {
                for (i3 = 0; i3 < d[3]; ++i3) {
                    const int8_t *x1 = input1 + (ptrdiff_t)i0 * s1[0] + (ptrdiff_t)i1 * s1[1] +
                                       (ptrdiff_t)i2 * s1[2] + (ptrdiff_t)i3 * s1[3];
                    const int8_t *x2 = input2 + (ptrdiff_t)i0 * s2[0] + (ptrdiff_t)i1 * s2[1] +
                                       (ptrdiff_t)i2 * s2[2] + (ptrdiff_t)i3 * s2[3];
                    for (i4 = 0; i4 < d[4]; ++i4) {
                        const int32_t n = (int32_t)x1[(ptrdiff_t)i4 * s1[4]] + p->input1_offset;
                        const int32_t dv = (int32_t)x2[(ptrdiff_t)i4 * s2[4]] + p->input2_offset;
                        *output++ = (int8_t)div_element(p, n, dv);
                    }
                }
            }
        }
    }
}
