/* tg_conv.h - int8 2-D convolution (TFLite CONV_2D). */
#ifndef TG_CONV_H
#define TG_CONV_H

#include "tg_common.h"
#include "tg_conv_window.h"

/*
 * Tensors are NHWC; the filter is [output_depth][filter_height][filter_width]
 * [filter_depth].  Grouped convolution: input channels are split into `groups`
 * consecutive slices of filter_depth channels, and output channel oc reads
 * slice oc / filters_per_group (groups == 1 for an ordinary convolution).
 */
typedef struct {
    tg_conv_geometry_t geometry;    /* input_depth = groups * filter_depth */
    int32_t filter_depth;       /* input channels each filter reads */
    int32_t groups;
    int32_t filters_per_group;  /* output_depth / groups */
    const int8_t *filter;       /* [output_depth][filter_height][filter_width][filter_depth] */
    tg_conv_quant_t quant;
} tg_conv_params_t;

void tg_conv_s8(const tg_conv_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_CONV_H */
