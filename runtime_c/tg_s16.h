/*
 * tg_s16.h - what the 16x8 layers share (int16 activations, int8 weights: TFLite's
 * "16x8" quantization, zero points 0): the end of one output value.
 *
 * TFLM sums the products and the bias in the bias's type: in 64 bits with an int64 bias
 * (or none, by default), then requantizes with the 64-bit MultiplyByQuantizedMultiplier;
 * in 32 bits (wrapping) with an int32 bias, or none when the operator's
 * quantized_bias_type says INT32, then with the 32-bit one.  Kernels sum the products
 * exactly in 64 bits and call tg_s16_output: the low 32 bits of that sum plus the bias are
 * what a 32-bit accumulator holds.
 */
#ifndef TG_S16_H
#define TG_S16_H

#include "tg_common.h"

/* The bias, accumulator width and requantization of output channel `c`. */
typedef struct {
    const int64_t *bias64;   /* [channels], or NULL */
    const int32_t *bias32;   /* [channels], or NULL */
    int32_t acc32;           /* 1: TFLM accumulates in 32 bits (int32 bias) */
    int32_t act_min;
    int32_t act_max;
} tg_s16_end_t;

TG_INLINE int16_t tg_s16_output(int64_t sum, const tg_s16_end_t *e, int32_t c,
                                int32_t multiplier, int32_t shift)
{
    int32_t r;
    if (e->acc32) {
        const uint32_t bias = e->bias32 != NULL ? (uint32_t)e->bias32[c] : 0u;
        r = tg_requantize((int32_t)((uint32_t)(uint64_t)sum + bias), multiplier, shift);
    } else {
        const uint64_t bias = e->bias64 != NULL ? (uint64_t)e->bias64[c] : 0u;
        r = tg_requantize64((int64_t)((uint64_t)sum + bias), multiplier, shift);
    }
    return (int16_t)tg_clamp(r, e->act_min, e->act_max);
}

#endif /* TG_S16_H */
