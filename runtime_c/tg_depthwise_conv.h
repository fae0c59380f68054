/* tg_depthwise_conv.h - int8 depthwise 2-D convolution (TFLite DEPTHWISE_CONV_2D). */
#ifndef TG_DEPTHWISE_CONV_H
#define TG_DEPTHWISE_CONV_H

#include "tg_common.h"
#include "tg_conv_window.h"

/*
 * Tensors are NHWC; the filter is [filter_height][filter_width][output_depth].
 * Input channel ic feeds output channels ic * depth_multiplier + m,
 * m = 0 .. depth_multiplier-1.
 */
typedef struct {
    tg_conv_geometry_t geometry;    /* output_depth = input_depth * depth_multiplier */
    int32_t depth_multiplier;
    const int8_t *filter;       /* [filter_height][filter_width][output_depth] */
    const int32_t *bias;        /* [output_depth], or NULL */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_depthwise_conv_params_t;

void tg_depthwise_conv_s8(const tg_depthwise_conv_params_t *p,
                          const int8_t *input, int8_t *output);

#endif /* TG_DEPTHWISE_CONV_H */
