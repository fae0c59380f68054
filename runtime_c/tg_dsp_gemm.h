/* tg_dsp_gemm.h - int8 GEMM on the DSP extension: FULLY_CONNECTED and 1x1 CONV_2D (dsp variant). */
#ifndef TG_DSP_GEMM_H
#define TG_DSP_GEMM_H

#include "tg_common.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * x_r[d]) + output_offset)
 * for `rows` input rows x_r of `depth` values (batches of a fully connected layer, pixels
 * of a 1x1 convolution).  Row r is the input row number
 * (b * in_h + oy * stride_h) * in_w + ox * stride_w with ox = r % out_w, oy = r / out_w %
 * out_h, b = r / (out_w * out_h): all ones but rows-sized for a plain GEMM, the output
 * image and the strides for a strided 1x1 convolution.
 *
 * Everything else is prepared by the generator (codegen/lowering/dsp_support.py):
 * `weights` holds w, zero-padded to a multiple of 3 channels and of 4 depth values, as
 * little-endian words of 4 int8: for each channel triple (c, c + 1, c + 2) and each 4-value
 * step k, the words of c, c + 1 and c + 2.  `bias` holds the channels' biases (the input
 * zero point folded in; zero-padded), `quant` 9 int32 per triple: the three channels'
 * multipliers M' = 2 M - 2^32 (M the Q31 multiplier, in [2^30, 2^31)), their right shifts
 * s (1..31) and their
 * half = 2^(s-1) + f * 2^s, f = 0 or the output zero point (then output_offset is 0); a
 * layer whose channels all share them (per-tensor quantization) stores one triple's, with
 * quant_step 0, so its constants are the per-tensor layer's few words, not 36 bytes a
 * channel, and its biases are an array of their own (one copy for every layer that shares
 * them, as the layers of an unrolled LSTM do).
 * `scratch` (16 bytes per 4 depth values, 4-byte aligned) lets the kernel take the rows
 * two at a time (a last odd row as a pair of itself); with NULL it takes them one at a
 * time.  The output is clamped to [act_min, act_max].
 *
 * Access order (for the planner's in-place outputs): output rows are produced in
 * increasing order.  With a scratch, rows go in pairs: both input rows of a pair are read
 * (copied to the scratch) before any output byte of the pair is written, and no input row
 * is read after its pair.  Without one (rows < 3 in a layer that is more than a sliver of
 * the model: codegen/lowering/dsp_support.py), a row's input is read while its outputs are
 * written: such a call must not overlap its output with its input.  The final
 * activation clamp (when act_min > -128 or act_max < 127) re-reads only the output.
 * On Thumb-2 cores (GCC) the pairs run in assembly (tg_dsp_gemm.c), elsewhere in C; both
 * compute the same bits in the same order.
 */
typedef struct {
    int32_t rows;               /* output rows */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    const int32_t *weights;     /* [triples][(depth + 3) / 4][3] words of 4 int8 */
    const int32_t *bias;        /* [triples * 3]: biases, input zero point folded in */
    const int32_t *quant;       /* [triples][9]: M', s, half of the 3 channels ... */
    int32_t quant_step;         /* ... 9 words a triple; 0: one triple's for all (per tensor) */
    int32_t output_offset;      /* output zero point - f: added after the rounding shift */
    int32_t act_min;
    int32_t act_max;
    int32_t out_w;              /* the row gather (see above) */
    int32_t out_h;
    int32_t in_w;
    int32_t in_h;
    int32_t stride_w;
    int32_t stride_h;
} tg_dsp_gemm_params_t;

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output,
                    void *scratch);

/* p->rows rows already sign-extended in xs as tg_dsp_gemm_s8 does it, two at a time (per
 * 4-value step: row 0's even-value and odd-value int16 pairs, then row 1's: 16 bytes a
 * step; a last odd row as a pair of itself), for every channel of p (the row gather
 * unused): row r's outputs at out + r * stride, clamped to [act_min, act_max]. */
void tg_dsp_gemm_xrows_s8(const tg_dsp_gemm_params_t *p, const uint32_t *xs, int8_t *out,
                          size_t stride);

#endif /* TG_DSP_GEMM_H */
