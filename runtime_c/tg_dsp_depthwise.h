/* tg_dsp_depthwise.h - int8 depthwise convolution on the DSP extension (dsp variant). */
#ifndef TG_DSP_DEPTHWISE_H
#define TG_DSP_DEPTHWISE_H

#include "tg_common.h"

/*
 * TFLite DEPTHWISE_CONV_2D with depth multiplier 1, or one input channel (any multiplier),
 * and no dilation: any filter size, stride and padding.  Tensors NHWC, the filter [filter_height][filter_width][channels]
 * as in the model.
 */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t channels;           /* output depth */
    int32_t input_depth;        /* channels (depth multiplier 1), or 1 (one input channel
                                   feeding every output channel) */
    int32_t filter_height;
    int32_t filter_width;
    int32_t output_height;
    int32_t output_width;
    int32_t stride_height;
    int32_t stride_width;
    int32_t pad_top;            /* implicit zero rows above the image */
    int32_t pad_left;           /* implicit zero columns left of the image */
    const int8_t *filter;       /* [filter_height][filter_width][channels] */
    const int32_t *bias;        /* [channels], or NULL */
    const int32_t *multiplier;  /* [channels] Q31 output multipliers */
    const int32_t *shift;       /* [channels] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_depthwise_params_t;

void tg_dsp_depthwise_s8(const tg_dsp_depthwise_params_t *p, const int8_t *input,
                         int8_t *output);

#endif /* TG_DSP_DEPTHWISE_H */
