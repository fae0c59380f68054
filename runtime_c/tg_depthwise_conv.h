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
    tg_conv_quant_t quant;
} tg_depthwise_conv_params_t;

void tg_depthwise_conv_s8(const tg_depthwise_conv_params_t *p,
                          const int8_t *input, int8_t *output);

#endif /* TG_DEPTHWISE_CONV_H */
