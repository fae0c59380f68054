/* tg_dsp_s4_gemm.h - GEMM with int4 weights on the DSP extension: FULLY_CONNECTED and 1x1
 * CONV_2D whose filter is stored as int4 (tg_cw.h), read straight from flash. */
#ifndef TG_DSP_S4_GEMM_H
#define TG_DSP_S4_GEMM_H

#include "tg_common.h"
#include "tg_cw.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * input[r][d]) + output_offset)
 * for `rows` input rows of `depth` values; the input zero point is folded into `bias`.
 * `weights` is int4 (palette == 0; tg_cw.h), row_bytes = 4 * ceil(depth / 8) per channel,
 * laid out for this kernel: channels in fours, for each four the words of group 0 of
 * each channel, then group 1, ...; the channels left after the last four as plain rows.
 */
typedef struct {
    int32_t rows;               /* input rows (pixels or batches) */
    int32_t depth;              /* values per input row (< 131072) */
    int32_t channels;           /* output values per row */
    tg_cw_t weights;            /* [channels][depth], int4, in the layout above */
    const int32_t *bias;        /* [channels] bias - input zero point * sum_d w[c][d] */
    const int32_t *multiplier;  /* [channels] if per_channel, else [1] */
    const int32_t *shift;       /* same length as multiplier */
    int32_t per_channel;
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_s4_gemm_params_t;

void tg_dsp_s4_gemm_s8(const tg_dsp_s4_gemm_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_DSP_S4_GEMM_H */
