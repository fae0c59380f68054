/*
 * tg_dsp_requant.h - TFLite's MultiplyByQuantizedMultiplier in fewer instructions, for the
 * dsp kernels.  Returns exactly what tg_requantize (tg_common.h) returns for every input:
 *
 * SaturatingRoundingDoublingHighMul(a, b) rounds (a * b) / 2^31 to nearest, ties away
 * from zero, as (ab + nudge) / 2^31 truncated toward zero with nudge = 2^30 for ab >= 0
 * and 1 - 2^30 for ab < 0.  Both cases equal floor((ab + 2^30) / 2^31), i.e. an
 * arithmetic shift: for ab < 0, trunc(n / 2^31) with n = ab + 1 - 2^30 < 0 is
 * floor((n + 2^31 - 1) / 2^31) = floor((ab + 2^30) / 2^31).  The one saturating case
 * (a = b = INT32_MIN) keeps its own branch.  RoundingDivideByPOT is tg_common.h's with the
 * mask computed in 32 bits (exponent <= 31).  tests/test_dsp_kernels.py sweeps the edges
 * against tg_requantize.
 */
#ifndef TG_DSP_REQUANT_H
#define TG_DSP_REQUANT_H

#include "tg_common.h"

TG_INLINE int32_t tg_dsp_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)((1u << exponent) - 1u);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

TG_INLINE int32_t tg_dsp_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? (int)shift : 0;
    const int right = shift > 0 ? 0 : (int)-shift;
    const int32_t a = (int32_t)((uint32_t)x << left);    /* wraps as the reference does */
    int32_t high;
    if (multiplier == INT32_MIN && a == INT32_MIN) {
        high = INT32_MAX;
    } else {
        high = (int32_t)(((int64_t)a * (int64_t)multiplier + ((int64_t)1 << 30)) >> 31);
    }
    return tg_dsp_rounding_divide_by_pot(high, right);
}

#endif /* TG_DSP_REQUANT_H */
