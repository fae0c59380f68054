/* tg_dsp_gemm.h - int8 GEMM on the DSP extension: FULLY_CONNECTED and 1x1 CONV_2D (dsp variant). */
#ifndef TG_DSP_GEMM_H
#define TG_DSP_GEMM_H

#include "tg_common.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * input[r][d]) + output_offset)
 * for `rows` input rows (pixels of a 1x1 convolution, batches of a fully connected layer)
 * of `depth` values each.  The input zero point is folded into `bias` by the generator.
 * `weights` holds w re-laid-out for the kernel (codegen/lowering/dsp_support.py): output
 * channels in pairs (c, c+1), for each pair the words w[c][4k..4k+3], w[c+1][4k..4k+3]
 * alternating for k < depth / 4, then the depth % 4 tail values of c, then those of c + 1;
 * an odd last channel's row as it is.  The pair starting at channel c starts at c * depth.
 */
typedef struct {
    int32_t rows;               /* input rows (pixels or batches) */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    const int8_t *weights;      /* [channels * depth], in the pair layout above */
    const int32_t *bias;        /* [channels] bias - input zero point * sum_d w[c][d] */
    const int32_t *multiplier;  /* [channels] if per_channel, else [1]: Q31 output multipliers */
    const int32_t *shift;       /* same length as multiplier: power-of-two exponents */
    int32_t per_channel;
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_gemm_params_t;

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_DSP_GEMM_H */
