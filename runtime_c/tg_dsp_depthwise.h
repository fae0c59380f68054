/* tg_dsp_depthwise.h - int8 depthwise convolution on the DSP extension (dsp variant). */
#ifndef TG_DSP_DEPTHWISE_H
#define TG_DSP_DEPTHWISE_H

#include "tg_common.h"

/* The most filter lines (filter_lines: the kernel keeps the band's line pointers in a local
 * array of this size); filter lines may be of any length. */
#define TG_DSP_DW_MAX_K 16

/*
 * TFLite DEPTHWISE_CONV_2D, any depth multiplier, no dilation: filters of up to
 * TG_DSP_DW_MAX_K lines, any stride and padding.  Tensors NHWC.
 *
 * One channel at a time: the input lines the filter needs are gathered, with the input
 * offset added and zeros for the padding, into `band` (a ring of band_lines >=
 * filter_lines lines of band_width int16 values), where the taps along a line sit side by
 * side so that SMLAD sums two of them at once.  3x3 filters at stride 1 and 2 have their
 * own loops (two output pixels per pass); other sizes go two taps at a time.
 * Requantization is TFLite's MultiplyByQuantizedMultiplier with the filter and bias
 * scaled by 2^(left shift + 1) so that one SMMULR gives SaturatingRoundingDoublingHighMul:
 * exact when |accumulator| * 2^(left shift + 1) < 2^30, which the lowering checks from the
 * filter and bias (it declines the layer otherwise).  Channels are independent and each
 * output channel is written after its input channel was read into the band, so the output
 * may start at the input's first byte (in place) when the lowering allows it.  In-place
 * order: input lines are gathered in increasing order, each group of channels (increasing)
 * from its first line, and every input line a group needs for an output line is gathered
 * before that output line of the group's channels is written: with the output image the
 * input's size, input line i is gathered before output line i is written when output line
 * i needs input lines up to i or further (the lowering checks that).
 */
typedef struct {
    int32_t batches;
    int32_t depth;              /* input channels */
    int32_t depth_multiplier;   /* output channels = depth * depth_multiplier */
    /* The image as lines: its rows (line_step = width * depth, step = depth) or, when
     * that gives longer lines, its columns (line_step = depth, step = width * depth; the
     * filter, strides and padding transposed to match).  Steps count int8 values. */
    int32_t lines;              /* input lines */
    int32_t length;             /* values per input line */
    int32_t in_line_step;
    int32_t in_step;
    int32_t out_lines;
    int32_t out_length;
    int32_t out_line_step;
    int32_t out_step;
    int32_t filter_lines;       /* filter extent across lines */
    int32_t filter_length;      /* filter extent along a line */
    int32_t stride_lines;
    int32_t stride;             /* along a line */
    int32_t pad_lines;          /* implicit zero lines before the first */
    int32_t pad;                /* implicit zeros before each line */
    int32_t band_width;         /* int16 values per band line: even, >= pad + length and
                                   >= (out_length - 1) * stride + filter_length + 1 */
    int32_t group;              /* channels gathered together: 4 (depth multiplier 1,
                                   depth a multiple of 4: one word load per pixel), or 1 */
    int32_t taps3;              /* 1: the 3-tap loops and their filter pairs (a 3x3
                                   filter at stride 1 or 2 along the lines, every shift
                                   <= -1, activation range [-128, 127], depth multiplier
                                   up to TG_DSP_DW_MULTS) */
    int32_t band_lines;         /* band lines per gathered channel (a ring of slots):
                                   >= filter_lines; up to (out_lines - 1) * stride_lines +
                                   filter_lines (the whole padded channel).  Output lines
                                   whose band lines follow each other in the slots run in
                                   one pass, the filter prepared once for them */
    const int8_t *filter;       /* [output channels][filter_lines][filter_length] */
    const int32_t *bias;        /* [output channels], or NULL */
    const int32_t *multiplier;  /* [output channels] Q31 output multipliers */
    const int32_t *shift;       /* [output channels] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_depthwise_params_t;

/* The largest depth multiplier of the 3-tap loops (taps3), which prepare the filters of
 * all the outputs of an input channel at once (the general loop: one output at a time,
 * for each run of output lines). */
#define TG_DSP_DW_MULTS 8

/* band: scratch (any contents on entry): group * band_lines * band_width int16 values,
 * then (4-byte aligned: band_width is even), without taps3, out_length int32 accumulators,
 * then P * (taps3 ? 6 : filter_lines * ((filter_length + 1) / 2)) int32 filter pairs, P =
 * the depth multiplier with taps3 and a multiplier above 1, else group. */
void tg_dsp_depthwise_s8(const tg_dsp_depthwise_params_t *p, const int8_t *input,
                         int8_t *output, void *band);

#endif /* TG_DSP_DEPTHWISE_H */
