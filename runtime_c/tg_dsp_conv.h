/* tg_dsp_conv.h - int8 k x k CONV_2D on the DSP extension, through an int16 im2col (dsp variant). */
#ifndef TG_DSP_CONV_H
#define TG_DSP_CONV_H

#include "tg_common.h"

/*
 * TFLite CONV_2D (one group): any filter size, stride, padding and dilation.  Tensors NHWC.
 * Output pixels are taken two at a time: each one's window (taps outside the image as the
 * input zero point) becomes a column of `depth4` int16 values x + input_offset (so a tap
 * outside the image adds nothing, as in TFLM), then 2 pixels x 3 output channels (the first
 * 3 * `triples` channels) or x 2 output channels (the others) per pass with SMLAD.
 * Column order: for each window row (filter_width * input_depth values in
 * filter order) its whole groups of 4 values, then the rows' last (row length % 4) values,
 * zero-padded to a multiple of 4 (depth4 values in all); each group of 4 values v0..v3
 * stored as the int16 pairs (v0, v2), (v1, v3): what SXTAB16 and SXTAB16 ROR 8 make of 4
 * int8 inputs and SXTB16 and SXTB16 ROR 8 of 4 int8 weights.  `weights`
 * (codegen/lowering/conv/dsp_im2col.py): the filter in column order, the first 3 * triples
 * output channels in triples (c, c+1, c+2), for each the 4-weight words of c, c+1 and c+2
 * in turn; the others in pairs (c, c+1) (an odd last one paired with a zero row), for each
 * pair the 4-weight words of c and c+1 alternating (channel c's group starts at byte
 * c * depth4 either way).
 * `bias`, `multiplier` and `shift` have an even count (the last repeated).
 * scratch: 4 * depth4 bytes, 4-byte aligned: the two int16 columns; and, unless
 * input_depth is a multiple of 4 and dilation_width 1, filter_width * input_depth +
 * (depth4 - filter_height * (row length rounded down to 4)) more: one window row of int8
 * values, the rows' last values.
 */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t input_depth;
    int32_t output_height;
    int32_t output_width;
    int32_t output_depth;
    int32_t filter_height;
    int32_t filter_width;
    int32_t stride_height;
    int32_t stride_width;
    int32_t dilation_height;
    int32_t dilation_width;
    int32_t pad_top;            /* implicit rows above the image */
    int32_t pad_left;           /* implicit columns left of the image */
    int32_t depth4;             /* column values: filter_height * (row length rounded down
                                   to 4) + filter_height * (row length % 4) rounded up to 4 */
    int32_t triples;            /* channels 0 .. 3 triples - 1 in triples (the generator
                                   makes them only for full-range layers with quant rows and
                                   post 0, which the Thumb-2 assembly runs) */
    const int8_t *weights;      /* [n][depth4]: n = output_depth, + 1 if output_depth -
                                   3 triples is odd; layout above */
    const int32_t *bias;        /* [output_depth rounded up to 2] (zeros without a bias) */
    const int32_t *multiplier;  /* as bias if per_channel, else [1]: Q31 output multipliers
                                   (NULL with quant) */
    const int32_t *shift;       /* same length as multiplier: power-of-two exponents */
    int32_t per_channel;
    const int32_t *quant;       /* NULL, or [n][3]: M' = 2 M - 2^32, s, half of
                                   tg_dsp_requantize_hm (tg_dsp_requant.h), where the
                                   generator proved it equal to TFLite's (then used instead
                                   of multiplier and shift) */
    int32_t quant_step;         /* 3: a row per channel (n even); 0: one row for all */
    int32_t post;               /* added after its shift */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_conv_params_t;

void tg_dsp_conv_s8(const tg_dsp_conv_params_t *p, const int8_t *input, int8_t *output,
                    void *scratch);

/* The same on input_height rows of the input below pad_top implicit ones, in place of p's
 * (the fused residual blocks' row calls, tg_dsp_resblock.c: no copy of the params). */
void tg_dsp_conv_rows_s8(const tg_dsp_conv_params_t *p, int32_t input_height, int32_t pad_top,
                         const int8_t *input, int8_t *output, void *scratch);

/* The same with output pixels out_stride bytes apart (>= output_depth): a block of a
 * layer's channels into their place in its output (tg_dsp_cw_conv.c; compiled in with
 * TG_CFG_DSP_CONV_SLICE). */
void tg_dsp_conv_slice_s8(const tg_dsp_conv_params_t *p, int32_t out_stride,
                          const int8_t *input, int8_t *output, void *scratch);

#endif /* TG_DSP_CONV_H */
