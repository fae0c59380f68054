/*
 * tg_dsp_requant.h - TFLite's MultiplyByQuantizedMultiplier in fewer instructions, for the
 * dsp kernels.  Returns exactly what tg_requantize (tg_common.h) returns for every input:
 *
 * SaturatingRoundingDoublingHighMul(a, b) rounds (a * b) / 2^31 to nearest, ties away
 * from zero, as (ab + nudge) / 2^31 truncated toward zero with nudge = 2^30 for ab >= 0
 * and 1 - 2^30 for ab < 0.  Both cases equal floor((ab + 2^30) / 2^31), i.e. an
 * arithmetic shift: for ab < 0, trunc(n / 2^31) with n = ab + 1 - 2^30 < 0 is
 * floor((n + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31).  The one saturating case
 * (a = b = INT32_MIN) keeps its own branch.  RoundingDivideByPOT is tg_common.h's with its
 * mask and threshold prepared once per channel (tg_dsp_rq_t; exponent <= 31).  tests/test_dsp_kernels.py sweeps the edges
 * against tg_requantize.
 */
#ifndef TG_DSP_REQUANT_H
#define TG_DSP_REQUANT_H

#include "tg_acle.h"
#include "tg_common.h"

/* One channel's requantization, prepared once for all its outputs. */
typedef struct {
    int32_t multiplier;
    int32_t left;       /* left shift before the multiply (shift > 0) */
    int32_t right;      /* rounding right shift after it (shift <= 0) */
    int32_t mask;       /* 2^right - 1 */
    int32_t half;       /* mask / 2 */
} tg_dsp_rq_t;

TG_INLINE tg_dsp_rq_t tg_dsp_rq(int32_t multiplier, int32_t shift)
{
    tg_dsp_rq_t q;
    q.multiplier = multiplier;
    q.left = shift > 0 ? shift : 0;
    q.right = shift > 0 ? 0 : -shift;
    q.mask = (int32_t)((1u << q.right) - 1u);     /* right <= 31 */
    q.half = q.mask >> 1;
    return q;
}

TG_INLINE int32_t tg_dsp_requantize_rq(int32_t x, const tg_dsp_rq_t *q)
{
    const int32_t a = (int32_t)((uint32_t)x << q->left);    /* wraps as the reference does */
    int32_t high;
    if (q->multiplier == INT32_MIN && a == INT32_MIN) {
        high = INT32_MAX;
    } else {
        high = (int32_t)(((int64_t)a * (int64_t)q->multiplier + ((int64_t)1 << 30)) >> 31);
    }
    /* RoundingDivideByPOT: ties away from zero */
    return (high >> q->right) +
           ((high & q->mask) > q->half + (high < 0 ? 1 : 0) ? 1 : 0);
}

TG_INLINE int32_t tg_dsp_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const tg_dsp_rq_t q = tg_dsp_rq(multiplier, shift);
    return tg_dsp_requantize_rq(x, &q);
}

/*
 * MultiplyByQuantizedMultiplier(acc, M, -s) + offset, saturated to int8, for a multiplier
 * M in [2^30, 2^31) given as m = 2 M - 2^32 (int32) and a right shift s in 1..31, with
 * half = 2^(s-1) + f * 2^s and post = offset - f (f = offset when it fits, else 0):
 *
 * 1. SaturatingRoundingDoublingHighMul(a, M) is h = floor((a M + 2^30) / 2^31)
 *    (above; M > 0 rules out its one saturating case).  SMMLAR(a, m, a) is
 *    the high word of a 2^32 + a m + 2^31 = 2 a M + 2^31, |2 a M| < 2^63, so exactly
 *    floor((a M + 2^30) / 2^31) = h.
 * 2. RoundingDivideByPOT(h, s) (ties away from zero) is floor((h + 2^(s-1) - [h < 0]) / 2^s)
 *    for s >= 1, an arithmetic shift; adding f * 2^s before it adds f after it.
 * 3. [h < 0] may be read as [a < 0]: h < 0 only if a < 0; and if a < 0 but h = 0 both give
 *    floor((2^(s-1) - 1) / 2^s) = 0 = floor(2^(s-1) / 2^s).
 * 4. h - [a < 0] + half stays in int32: the generator only selects this kernel when
 *    |h| + 1 + |half| < 2^31 for every possible accumulator.
 * tests/test_dsp_kernels.py sweeps the edges against tg_requantize (the generator's
 * conditions: codegen/lowering/dsp_support.py, gemm_quant_table).
 */
TG_INLINE int32_t tg_dsp_requantize_hm(uint32_t acc, int32_t m, int32_t shift, uint32_t half,
                                      int32_t post)
{
    const int32_t a = (int32_t)acc;
    const uint32_t h = (uint32_t)tg_smmlar(a, m, a);
    const int32_t t = (int32_t)(h - (acc >> 31) + half);
    return tg_ssat8((t >> shift) + post);
}

/*
 * tg_dsp_requantize_hm as assembly text, for the kernels' Thumb-2 passes: the sum in
 * register A, m, s and half in registers M, S and H, into lr; POST an ADD of post into lr
 * after the shift, or "" where post is 0; the int8 stored by STRB at DST (an address).
 */
#define TG_DSP_RQ_HM_ASM(A, M, S, H, POST, DST)                         \
    "smmlar  lr, " A ", " M ", " A "\n\t"                               \
    "add     lr, lr, " A ", asr #31\n\t"                                \
    "add     lr, lr, " H "\n\t"                                         \
    "asr     lr, lr, " S "\n\t"                                         \
    POST                                                                \
    "ssat    lr, #8, lr\n\t"                                            \
    "strb    lr, " DST "\n\t"

#endif /* TG_DSP_REQUANT_H */
