/* tg_dsp_depthwise_px.h - int8 depthwise convolution of small images on the DSP extension
 * (dsp variant). */
#ifndef TG_DSP_DEPTHWISE_PX_H
#define TG_DSP_DEPTHWISE_PX_H

#include "tg_common.h"

/*
 * TFLite DEPTHWISE_CONV_2D for small images (the lowering's choice, where the band loops of
 * tg_dsp_depthwise_s8 spend most of their time on per-line and per-channel costs): depth
 * multiplier 1, depth a multiple of 4, no dilation, any filter, stride and padding.
 * Tensors NHWC.  Four neighbouring channels at a time: their filter is widened to int16
 * lanes scaled by 2^(left shift + 1) (so that SMMLAR gives TFLite's
 * MultiplyByQuantizedMultiplier, as in tg_dsp_depthwise_s8; the lowering checks the
 * bounds), their input gathered (as int16 lanes, plus the input offset, zeros for the
 * padding) into a padded plane, from which every output pixel sums all its filter taps
 * with SMLABB/SMLATT.  In-place order: a group of four channels is read whole (all
 * pixels) before any of its outputs is written; groups in increasing order.
 */
typedef struct {
    int32_t batches;
    int32_t in_h;
    int32_t in_w;
    int32_t depth;              /* channels in and out, a multiple of 4 */
    int32_t out_h;
    int32_t out_w;
    int32_t filter_h;
    int32_t filter_w;
    int32_t stride_h;
    int32_t stride_w;
    int32_t pad_top;
    int32_t pad_left;
    const int8_t *filter;       /* [filter_h][filter_w][depth], TFLite's order */
    const int32_t *bias;        /* [depth], or NULL */
    const int32_t *multiplier;  /* [depth] Q31 output multipliers */
    const int32_t *shift;       /* [depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_depthwise_px_params_t;

/* scratch (any contents on entry): the plane, ((out_h - 1) * stride_h + filter_h) *
 * ((out_w - 1) * stride_w + filter_w) * 2 words, then filter_h * filter_w * 2 words (the
 * widened filter of four channels; 4-byte aligned). */
void tg_dsp_depthwise_px_s8(const tg_dsp_depthwise_px_params_t *p, const int8_t *input,
                            int8_t *output, void *scratch);

#endif /* TG_DSP_DEPTHWISE_PX_H */
