/* tg_conv_s16.h - 16x8 2-D and depthwise convolutions (int16 activations, int8 filters). */
#ifndef TG_CONV_S16_H
#define TG_CONV_S16_H

#include "tg_common.h"
#include "tg_conv_window.h"

/*
 * As tg_conv_params_t (NHWC tensors, OHWI filter, groups), for int16 activations with zero
 * point 0: no offsets, and the bias in the type TFLM accumulates in (tg_s16.h).
 */
typedef struct {
    tg_conv_geometry_t geometry;    /* input_depth = groups * filter_depth */
    int32_t filter_depth;       /* input channels each filter reads */
    int32_t groups;
    int32_t filters_per_group;  /* output_depth / groups */
    const int8_t *filter;       /* [output_depth][filter_height][filter_width][filter_depth] */
    const int64_t *bias64;      /* [output_depth] int64 bias, or NULL */
    const int32_t *bias32;      /* [output_depth] int32 bias, or NULL */
    int32_t acc32;              /* 1: accumulate in 32 bits, as TFLM does with an int32 bias */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t act_min;
    int32_t act_max;
} tg_conv_s16_params_t;

/* As tg_depthwise_conv_params_t (HWC filter, depth multiplier), int16 activations. */
typedef struct {
    tg_conv_geometry_t geometry;    /* output_depth = input_depth * depth_multiplier */
    int32_t depth_multiplier;
    const int8_t *filter;       /* [filter_height][filter_width][output_depth] */
    const int64_t *bias64;      /* [output_depth] int64 bias (TFLM's only form), or NULL */
    const int32_t *multiplier;
    const int32_t *shift;
    int32_t act_min;
    int32_t act_max;
} tg_depthwise_conv_s16_params_t;

void tg_conv_s16(const tg_conv_s16_params_t *p, const int16_t *input, int16_t *output);
void tg_depthwise_conv_s16(const tg_depthwise_conv_s16_params_t *p, const int16_t *input,
                           int16_t *output);

#endif /* TG_CONV_S16_H */
