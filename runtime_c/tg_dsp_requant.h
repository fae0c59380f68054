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

#endif /* TG_DSP_REQUANT_H */
