/* tg_relu_s16.h - int16 RELU, RELU6 and LEAKY_RELU (TFLite's 16x8 quantization). */
#ifndef TG_RELU_S16_H
#define TG_RELU_S16_H

#include "tg_common.h"

/*
 * out = clamp(output_offset + requantize(v), act_min, act_max), v = x - input_offset,
 * requantized by the positive multiplier where v >= 0, else by the negative one (negated
 * afterwards when negate_negative: LEAKY_RELU with a negative alpha).
 */
typedef struct {
    int32_t count;                /* elements */
    int32_t input_offset;         /* input zero point */
    int32_t output_offset;        /* output zero point */
    int32_t positive_multiplier;  /* Q31 mantissa for v >= 0 */
    int32_t positive_shift;
    int32_t negative_multiplier;  /* Q31 mantissa for v < 0 (LEAKY_RELU: of |alpha|) */
    int32_t negative_shift;
    int32_t negate_negative;      /* 1: negate the v < 0 result (alpha < 0) */
    int32_t act_min;
    int32_t act_max;
} tg_relu_s16_params_t;

/* Element i is read before it is written: in place is safe. */
void tg_relu_s16(const tg_relu_s16_params_t *p, const int16_t *input, int16_t *output);

#endif /* TG_RELU_S16_H */
