/*
 * tg_softmax_s16.c - int16 SOFTMAX, as TFLite's reference_ops::SoftmaxInt16:
 *   diff    = x - max(row), scaled so that [-65535, 0] is [-10.0, 0.0] and recentred to
 *             int16 (+32767, saturating)
 *   e       = exp(diff) from the table, Q0.15; the row's sum in 32 bits
 *   recip   = 1 / sum: the sum normalised to 17 significant bits, recentred, through the
 *             1 / (1 + x) table
 *   output  = e * recip, shifted back by the normalisation, clamped to [0, 32767]
 * The exps are kept in the output row between the two passes (as the reference does):
 * element c is read before it is written, so the output may be the input.
 */
#include "tg_softmax_s16.h"

#include "tg_lut_s16.h"

/* Leading zero bits of x > 0. */
static int32_t count_leading_zeros(uint32_t x)
{
    int32_t n = 0;
    while ((x & 0x80000000u) == 0u) {
        x <<= 1;
        ++n;
    }
    return n;
}

void tg_softmax_s16(const tg_softmax_s16_params_t *p, const int16_t *input, int16_t *output)
{
    int32_t r;
    for (r = 0; r < p->rows; ++r) {
        const int16_t *in = input + (size_t)r * (size_t)p->depth;
        int16_t *out = output + (size_t)r * (size_t)p->depth;
        int32_t max = INT16_MIN;
        uint32_t sum = 0u;
        int32_t headroom, shifted, recip, right, c;
        for (c = 0; c < p->depth; ++c) {
            max = TG_MAX(max, (int32_t)in[c]);
        }
        for (c = 0; c < p->depth; ++c) {
            const int32_t scaled = tg_requantize((int32_t)in[c] - max, p->input_multiplier,
                                                 p->input_shift);
            const int16_t e = tg_lut_s16(tg_clamp(scaled + 32767, INT16_MIN, INT16_MAX),
                                         p->exp_lut);
            out[c] = e;
            sum += (uint32_t)(int32_t)e;
        }
        /* the max's own exp is about 1.0, so sum > 0 */
        headroom = count_leading_zeros(sum);
        shifted = (int32_t)((((int64_t)sum << (headroom - 1)) + (1 << 13)) >> 14);
        recip = tg_lut_s16(tg_clamp(shifted - ((1 << 15) + (1 << 16)), INT16_MIN, INT16_MAX),
                           p->recip_lut);
        right = 31 - headroom;
        for (c = 0; c < p->depth; ++c) {
            const int64_t v = ((int64_t)out[c] * recip + ((int64_t)1 << (right - 1))) >> right;
            out[c] = (int16_t)(v < 0 ? 0 : (v > INT16_MAX ? INT16_MAX : v));
        }
    }
}
