/* tg_dsp_sparse_gemm.h - GEMM with a sparse filter on the DSP extension: FULLY_CONNECTED
 * and 1x1 CONV_2D (dsp variant); the filter as codegen/encoding.py "sparse" stores it. */
#ifndef TG_DSP_SPARSE_GEMM_H
#define TG_DSP_SPARSE_GEMM_H

#include "tg_common.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * x_r[d]) + output_offset)
 * for `rows` input rows x_r of `depth` values, row r gathered as in tg_dsp_gemm.h (out_w,
 * out_h, in_w, in_h, stride_w, stride_h: all ones for a plain GEMM).
 * The filter (tg_sparse_gemm.h): per channel in `index` its number n of groups of 4
 * entries, then n uint16 of 4 position deltas each (entry j's at bit 4 j); `weights` the
 * entries' weights, a group's 4 int8 as one little-endian word (entry j at bit 8 j).  `bias` per channel (the input zero point folded in),
 * `quant` per channel 3 int32 (M' = 2 M - 2^32, right shift s, half: see
 * tg_dsp_requantize_hm in tg_dsp_requant.h; prepared by codegen/lowering/dsp_support.py
 * gemm_quant_table), quant_step 3, or 0 when every channel shares the first three.
 * `scratch`: 32 bytes per 4 depth values, 4-byte aligned (four rows as int16 pairs).
 */
typedef struct {
    int32_t rows;               /* output rows */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    const uint16_t *index;      /* per channel: groups, then one word of deltas a group */
    const int32_t *weights;     /* a word of 4 int8 weights a group, channel by channel */
    const int32_t *bias;        /* [channels]: biases, input zero point folded in */
    const int32_t *quant;       /* [channels][3] (or [1][3]): M', s, half */
    int32_t quant_step;         /* 3, or 0: the first three for every channel */
    int32_t output_offset;      /* output zero point - f: added after the rounding shift */
    int32_t act_min;
    int32_t act_max;
    int32_t out_w;              /* the row gather (tg_dsp_gemm.h) */
    int32_t out_h;
    int32_t in_w;
    int32_t in_h;
    int32_t stride_w;
    int32_t stride_h;
} tg_dsp_sparse_gemm_params_t;

void tg_dsp_sparse_gemm_s8(const tg_dsp_sparse_gemm_params_t *p, const int8_t *input,
                           int8_t *output, void *scratch);

#endif /* TG_DSP_SPARSE_GEMM_H */
