/* tg_dsp_pal_gemm.h - GEMM with a palette-compressed filter on the DSP extension:
 * FULLY_CONNECTED and 1x1 CONV_2D whose filter is stored as palette indices (tg_cw.h). */
#ifndef TG_DSP_PAL_GEMM_H
#define TG_DSP_PAL_GEMM_H

#include "tg_common.h"
#include "tg_cw.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * input[r][d]) + output_offset)
 * for `rows` input rows of `depth` values; the input zero point is folded into `bias`.
 * `weights` is a palette (tg_cw.h), one row per output channel.  `scratch` holds
 * 2 * depth bytes: the int8 values of two channels at a time, decoded once for all rows.
 */
typedef struct {
    int32_t rows;               /* input rows (pixels or batches) */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    tg_cw_t weights;            /* [channels][depth], palette indices and tables */
    const int32_t *bias;        /* [channels] bias - input zero point * sum_d w[c][d] */
    const int32_t *multiplier;  /* [channels] if per_channel, else [1] */
    const int32_t *shift;       /* same length as multiplier */
    int32_t per_channel;
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_pal_gemm_params_t;

void tg_dsp_pal_gemm_s8(const tg_dsp_pal_gemm_params_t *p, const int8_t *input, int8_t *output,
                        int8_t *scratch);

#endif /* TG_DSP_PAL_GEMM_H */
