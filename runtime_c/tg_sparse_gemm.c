/*
 * tg_sparse_gemm.c - GEMM over the non-zero weights only (portable C).
 *
 * Same arithmetic as tg_fully_connected_s8 (TFLite's reference FullyConnected / 1x1 Conv
 * with the input zero point folded into the bias): TFLite int8 filters have zero point 0,
 * so a zero weight's product is exactly 0 and skipping it changes nothing.  Per output
 * channel the entries (tg_sparse_gemm.h) are walked once for two rows at a time: each
 * delta and weight read once for both; a channel of zeros costs its bias only.
 */
#include "tg_sparse_gemm.h"

TG_INLINE int8_t tg_sparse_out(const tg_sparse_gemm_params_t *p, uint32_t acc, int32_t q)
{
    int32_t res = tg_requantize((int32_t)acc, p->multiplier[q], p->shift[q]);
    res = (int32_t)((uint32_t)res + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(res, p->act_min, p->act_max);
}

void tg_sparse_gemm_s8(const tg_sparse_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t depth = (size_t)p->depth, ch = (size_t)p->channels;
    const uint16_t *ix = p->index;
    const int8_t *v = p->values;
    int32_t c, r;
    for (c = 0; c < p->channels; ++c) {
        const int32_t groups = (int32_t)*ix++;
        const int32_t q = p->per_channel ? c : 0;
        for (r = 0; r < p->rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * depth;
            const int8_t *x1 = r + 1 < p->rows ? x0 + depth : x0;   /* the last row twice */
            uint32_t acc0 = (uint32_t)p->bias[c];   /* modulo 2^32, as the dense kernels */
            uint32_t acc1 = acc0;
            size_t pos = 0;
            int32_t g, j;
            for (g = 0; g < groups; ++g) {
                uint32_t d = ix[g];
                const int8_t *w = v + 4 * g;
                for (j = 0; j < 4; ++j, d >>= 4) {
                    const int32_t wj = w[j];
                    pos += d & 15u;
                    acc0 += (uint32_t)(wj * (int32_t)x0[pos]);
                    acc1 += (uint32_t)(wj * (int32_t)x1[pos]);
                }
            }
            output[(size_t)r * ch + (size_t)c] = tg_sparse_out(p, acc0, q);
            if (r + 1 < p->rows) {
                output[(size_t)(r + 1) * ch + (size_t)c] = tg_sparse_out(p, acc1, q);
            }
        }
        ix += groups;       /* the next channel's entries follow this one's */
        v += 4 * groups;
    }
}
