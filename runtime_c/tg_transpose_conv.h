/* tg_transpose_conv.h - int8 transpose convolution (TFLite TRANSPOSE_CONV). */
#ifndef TG_TRANSPOSE_CONV_H
#define TG_TRANSPOSE_CONV_H

#include "tg_common.h"

/*
 * Tensors are NHWC; the filter is [output_depth][filter_height][filter_width][input_depth].
 * Input pixel (iy, ix) feeds output pixel (iy * stride_height - pad_top + fy,
 * ix * stride_width - pad_left + fx) through filter tap (fy, fx).
 */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t input_depth;
    int32_t filter_height;
    int32_t filter_width;
    int32_t output_height;
    int32_t output_width;
    int32_t output_depth;
    int32_t stride_height;
    int32_t stride_width;
    int32_t pad_top;            /* output rows cut off above (TFLM's padding) */
    int32_t pad_left;           /* output columns cut off on the left */
    const int8_t *filter;       /* [output_depth][filter_height][filter_width][input_depth] */
    const int32_t *bias;        /* [output_depth], or NULL */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_transpose_conv_params_t;

/* output must not overlap input. */
void tg_transpose_conv_s8(const tg_transpose_conv_params_t *p, const int8_t *input,
                          int8_t *output);

#endif /* TG_TRANSPOSE_CONV_H */
