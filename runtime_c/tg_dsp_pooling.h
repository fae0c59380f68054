/*
 * tg_dsp_pooling.h - int8 average and max pooling on the DSP extension (dsp variant):
 * the values of tg_pooling.h's kernels (TFLite's reference AveragePool and MaxPool),
 * 4 channels per word.
 */
#ifndef TG_DSP_POOLING_H
#define TG_DSP_POOLING_H

#include "tg_common.h"

/* NHWC input and output; input and output share scale and zero point. */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t depth;              /* channels, same for input and output */
    int32_t output_height;
    int32_t output_width;
    int32_t filter_height;
    int32_t filter_width;
    int32_t stride_height;
    int32_t stride_width;
    int32_t pad_top;            /* rows of implicit padding above the input */
    int32_t pad_left;           /* columns of implicit padding left of the input */
    int32_t act_min;            /* fused activation clamp, quantized */
    int32_t act_max;
} tg_dsp_pool_params_t;

/* Mean of the window's input pixels (padding not counted), rounded half away from zero.
 * The window holds at most 256 pixels (filter_height * filter_width <= 256). */
void tg_dsp_avg_pool_s8(const tg_dsp_pool_params_t *p, const int8_t *input, int8_t *output);

/* Largest input pixel of the window (padding is not considered). */
void tg_dsp_max_pool_s8(const tg_dsp_pool_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_DSP_POOLING_H */
