/* tg_batch_matmul.h - BATCH_MATMUL, int8: out[b][m][n] = sum_k lhs[b][m][k] * rhs[b][k][n]. */
#ifndef TG_BATCH_MATMUL_H
#define TG_BATCH_MATMUL_H

#include "tg_common.h"

/* Batch loops of the output (TFLM's BATCH_MATMUL has at most 5 dimensions: 3 batch ones). */
#define TG_BATCH_MATMUL_BATCH_DIMS 3

typedef struct {
    int32_t batch_dims[TG_BATCH_MATMUL_BATCH_DIMS];    /* output batch extents, outermost first */
    int32_t lhs_batch_strides[TG_BATCH_MATMUL_BATCH_DIMS];  /* lhs elements per step (0: broadcast) */
    int32_t rhs_batch_strides[TG_BATCH_MATMUL_BATCH_DIMS];
    int32_t rows;               /* m: output rows */
    int32_t cols;               /* n: output columns */
    int32_t depth;              /* k: products summed per output element */
    int32_t lhs_row_stride;     /* lhs elements between rows m and m + 1 (1 when transposed) */
    int32_t lhs_depth_stride;   /* lhs elements between k and k + 1 */
    int32_t rhs_depth_stride;   /* rhs elements between k and k + 1 */
    int32_t rhs_col_stride;     /* rhs elements between columns n and n + 1 */
    int32_t lhs_offset;         /* minus lhs's zero point */
    int32_t rhs_offset;         /* minus rhs's zero point */
    int32_t output_offset;      /* the output's zero point */
    int32_t multiplier;         /* Q31 mantissa of lhs_scale * rhs_scale / out_scale */
    int32_t shift;              /* its power-of-two exponent */
} tg_batch_matmul_params_t;

/* output ([batch...][rows][cols], written in order) must not overlap lhs or rhs. */
void tg_batch_matmul_s8(const tg_batch_matmul_params_t *p, const int8_t *lhs,
                        const int8_t *rhs, int8_t *output);

#endif /* TG_BATCH_MATMUL_H */
