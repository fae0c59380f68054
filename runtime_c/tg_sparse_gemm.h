/* tg_sparse_gemm.h - GEMM with a sparse filter (FULLY_CONNECTED and 1x1 CONV_2D): only the
 * non-zero weights are stored and multiplied (codegen/encoding.py, "sparse"). */
#ifndef TG_SPARSE_GEMM_H
#define TG_SPARSE_GEMM_H

#include "tg_common.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * input[r][d]) + output_offset)
 * for `rows` input rows of `depth` values; the input zero point is folded into `bias`.
 * The filter (codegen/encoding.py, "sparse"): per output channel, in `index`, the number
 * n of groups of 4 entries, then n uint16 each holding 4 position deltas (entry j's at
 * bit 4 j); in `values` the entries' weights, 4 per group, channel after channel.  The
 * position starts at 0 for every channel; each entry adds its delta to it, then its
 * weight times the input value there (fillers and padding have weight 0).
 */
typedef struct {
    int32_t rows;               /* input rows (pixels or batches) */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    const uint16_t *index;      /* per channel: groups, then one word of deltas a group */
    const int8_t *values;       /* the entries' weights, 4 a group, channel by channel */
    const int32_t *bias;        /* [channels] bias - input zero point * sum_d w[c][d] */
    const int32_t *multiplier;  /* [channels] if per_channel, else [1] */
    const int32_t *shift;       /* same length as multiplier */
    int32_t per_channel;
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_sparse_gemm_params_t;

void tg_sparse_gemm_s8(const tg_sparse_gemm_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_SPARSE_GEMM_H */
