/* tg_cw_conv.h - CONV_2D and DEPTHWISE_CONV_2D with a compressed filter (tg_cw.h). */
#ifndef TG_CW_CONV_H
#define TG_CW_CONV_H

#include "tg_common.h"
#include "tg_cw.h"

/* The fields of tg_conv_params_t, the filter compressed (one row per output channel). */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t input_depth;        /* groups * filter_depth */
    int32_t filter_height;
    int32_t filter_width;
    int32_t filter_depth;       /* input channels each filter reads */
    int32_t groups;
    int32_t filters_per_group;  /* output_depth / groups */
    int32_t output_height;
    int32_t output_width;
    int32_t output_depth;
    int32_t stride_height;
    int32_t stride_width;
    int32_t dilation_height;
    int32_t dilation_width;
    int32_t pad_top;            /* implicit zero rows above the image */
    int32_t pad_left;           /* implicit zero columns left of the image */
    tg_cw_t filter;             /* [output_depth][filter_height][filter_width][filter_depth] */
    const int32_t *bias;        /* [output_depth], or NULL */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_cw_conv_params_t;

/* The fields of tg_depthwise_conv_params_t, the filter compressed (one flat row). */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t input_depth;
    int32_t depth_multiplier;
    int32_t filter_height;
    int32_t filter_width;
    int32_t output_height;
    int32_t output_width;
    int32_t output_depth;       /* input_depth * depth_multiplier */
    int32_t stride_height;
    int32_t stride_width;
    int32_t dilation_height;
    int32_t dilation_width;
    int32_t pad_top;            /* implicit zero rows above the image */
    int32_t pad_left;           /* implicit zero columns left of the image */
    tg_cw_t filter;             /* [filter_height][filter_width][output_depth], one flat row */
    const int32_t *bias;        /* [output_depth], or NULL */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_cw_depthwise_params_t;

/* scratch: filter_height * filter_width * filter_depth bytes (one channel's filter) */
void tg_cw_conv_s8(const tg_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                   int8_t *scratch);
void tg_cw_depthwise_conv_s8(const tg_cw_depthwise_params_t *p, const int8_t *input,
                             int8_t *output);

#endif /* TG_CW_CONV_H */
