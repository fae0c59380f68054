/* tg_dsp_cw_depthwise.h - DEPTHWISE_CONV_2D with a compressed filter (int4 or palette,
 * tg_cw.h) on the DSP extension. */
#ifndef TG_DSP_CW_DEPTHWISE_H
#define TG_DSP_CW_DEPTHWISE_H

#include "tg_common.h"
#include "tg_cw.h"
#include "tg_dsp_depthwise.h"

/*
 * The layer tg_dsp_depthwise_s8 runs (`dw`: every field as for the int8 filter, but
 * `filter`, which is unused; one image), with its filter read from `filter`: the model's
 * [filter_h][filter_w][output channels] order as one flat row (tg_cw.h), output channel
 * c's table that of element i when i % output channels == c.  The input channels go in
 * blocks of `block` (a multiple of dw.group; the last block the rest): a block's filter
 * is decoded into the scratch, channel-major as tg_dsp_depthwise_s8 reads it
 * ([output channel][filter_lines][filter_length]; `transposed`: the kernel's lines are
 * the image's columns, the filter's too), then tg_dsp_depthwise_s8 runs those channels
 * (depth `block`; the steps are the layer's), into their place in the output.  Exactly
 * tg_dsp_depthwise_s8's results on the int8 filter.
 * `scratch` (4-byte aligned): `filter_at` bytes for tg_dsp_depthwise_s8's band, then
 * block * depth_multiplier * filter_h * filter_w bytes for the block's filter.
 * Access order: each block of channels reads and writes only its own channels' bytes
 * (depth multiplier 1: the output may overlap the input as tg_dsp_depthwise_s8 allows).
 */
typedef struct {
    tg_dsp_depthwise_params_t dw;   /* the layer (dw.filter unused) */
    tg_cw_t filter;                 /* [filter_h * filter_w * output channels], flat */
    int32_t block;                  /* input channels decoded at a time */
    int32_t transposed;             /* 1: lines are columns (filter_lines = filter_w) */
    int32_t filter_at;              /* byte offset of the block's filter in the scratch */
} tg_dsp_cw_depthwise_params_t;

void tg_dsp_cw_depthwise_s8(const tg_dsp_cw_depthwise_params_t *p, const int8_t *input,
                            int8_t *output, void *scratch);

#endif /* TG_DSP_CW_DEPTHWISE_H */
