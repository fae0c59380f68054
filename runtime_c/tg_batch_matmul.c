/*
 * tg_batch_matmul.c - BATCH_MATMUL, int8, bit-exact with TFLM's reference kernel:
 *   acc = sum_k (lhs[m][k] + lhs_offset) * (rhs[k][n] + rhs_offset)
 *   out = clamp(requantize(acc, multiplier, shift) + output_offset, -128, 127)
 * The sum is exact (the generator bounds the depth), so its order does not matter; the
 * strides read transposed operands (adj_x, adj_y) in place, without TFLM's transposed copies.
 */
#include "tg_batch_matmul.h"

void tg_batch_matmul_s8(const tg_batch_matmul_params_t *p, const int8_t *lhs,
                        const int8_t *rhs, int8_t *output)
{
    const int32_t *d = p->batch_dims;
    const int32_t *sl = p->lhs_batch_strides;
    const int32_t *sr = p->rhs_batch_strides;
    const int32_t depth = p->depth;
    const int32_t l_off = p->lhs_offset;
    const int32_t r_off = p->rhs_offset;
    const ptrdiff_t l_step = p->lhs_depth_stride;
    const ptrdiff_t r_step = p->rhs_depth_stride;
    int32_t b0, b1, b2, m, n, k;
    for (b0 = 0; b0 < d[0]; ++b0) {
        for (b1 = 0; b1 < d[1]; ++b1) {
            for (b2 = 0; b2 < d[2]; ++b2) {
                const int8_t *l = lhs + (ptrdiff_t)b0 * sl[0] + (ptrdiff_t)b1 * sl[1] +
                                  (ptrdiff_t)b2 * sl[2];
                const int8_t *r = rhs + (ptrdiff_t)b0 * sr[0] + (ptrdiff_t)b1 * sr[1] +
                                  (ptrdiff_t)b2 * sr[2];
                for (m = 0; m < p->rows; ++m) {
                    const int8_t *l_row = l + (ptrdiff_t)m * p->lhs_row_stride;
                    for (n = 0; n < p->cols; ++n) {
                        const int8_t *lp = l_row;
                        const int8_t *rp = r + (ptrdiff_t)n * p->rhs_col_stride;
                        int32_t acc = 0;
                        for (k = 0; k < depth; ++k) {
                            acc += ((int32_t)*lp + l_off) * ((int32_t)*rp + r_off);
                            lp += l_step;
                            rp += r_step;
                        }
                        acc = tg_requantize(acc, p->multiplier, p->shift) + p->output_offset;
                        *output++ = (int8_t)tg_clamp(acc, -128, 127);
                    }
                }
            }
        }
    }
}
