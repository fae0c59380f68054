/* tg_dsp_cw_conv.h - k x k CONV_2D with a compressed filter (int4 or palette, tg_cw.h) on
 * the DSP extension. */
#ifndef TG_DSP_CW_CONV_H
#define TG_DSP_CW_CONV_H

#include "tg_common.h"
#include "tg_cw.h"
#include "tg_dsp_conv.h"

/*
 * The layer tg_dsp_conv_s8 runs (`conv`: every field as for the int8 filter, but `weights`,
 * which is unused), with its filter read from `filter` (one row per output channel, in
 * filter order: filter_height x filter_width x input_depth values).  The output channels
 * go in blocks of `block` (a multiple of 3; the last block the rest): a block's filter is
 * decoded into the scratch in tg_dsp_conv_s8's weight layout (tg_dsp_conv.h: column order,
 * triples then pairs as conv.triples says for the whole layer: channel_triples of the
 * block when it is not 0), then tg_dsp_conv_slice_s8 runs those channels over every
 * pixel, into their place in the output.  Exactly tg_dsp_conv_s8's results on the int8
 * filter.
 * `scratch` (4-byte aligned): `weights_at` bytes for tg_dsp_conv_s8's scratch, then
 * (block + 1) * depth4 bytes for the block's weights, then 4 * ceil(window / 4) bytes for
 * one channel's values in filter order (window = filter_height * filter_width *
 * input_depth).
 * Access order: every input pixel is read again for every block, so the output must not
 * overlap the input.
 */
typedef struct {
    tg_dsp_conv_params_t conv;  /* the layer (conv.weights unused) */
    tg_cw_t filter;             /* [output_depth][window]: int4 or palette rows */
    int32_t block;              /* output channels decoded at a time: a multiple of 3 */
    int32_t weights_at;         /* byte offset of the block's weights in the scratch */
} tg_dsp_cw_conv_params_t;

void tg_dsp_cw_conv_s8(const tg_dsp_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                       void *scratch);

#endif /* TG_DSP_CW_CONV_H */
