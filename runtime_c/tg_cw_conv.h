/* tg_cw_conv.h - CONV_2D and DEPTHWISE_CONV_2D with a compressed filter (tg_cw.h). */
#ifndef TG_CW_CONV_H
#define TG_CW_CONV_H

#include "tg_common.h"
#include "tg_conv_window.h"
#include "tg_cw.h"

/* tg_conv_params_t, the filter compressed (one row per output channel). */
typedef struct {
    tg_conv_geometry_t geometry;    /* input_depth = groups * filter_depth */
    int32_t filter_depth;       /* input channels each filter reads */
    int32_t groups;
    int32_t filters_per_group;  /* output_depth / groups */
    tg_cw_t filter;             /* [output_depth][filter_height][filter_width][filter_depth] */
    tg_conv_quant_t quant;
} tg_cw_conv_params_t;

/* tg_depthwise_conv_params_t, the filter compressed (one flat row). */
typedef struct {
    tg_conv_geometry_t geometry;    /* output_depth = input_depth * depth_multiplier */
    int32_t depth_multiplier;
    tg_cw_t filter;             /* [filter_height][filter_width][output_depth], one flat row */
    tg_conv_quant_t quant;
} tg_cw_depthwise_params_t;

/* scratch: filter_height * filter_width * filter_depth bytes (one channel's filter) */
void tg_cw_conv_s8(const tg_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                   int8_t *scratch);
void tg_cw_depthwise_conv_s8(const tg_cw_depthwise_params_t *p, const int8_t *input,
                             int8_t *output);

#endif /* TG_CW_CONV_H */
