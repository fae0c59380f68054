/*
 * tg_sparse_gemm.c - GEMM over the non-zero weights only.
 *
 * Same arithmetic as tg_fully_connected_s8 (TFLite's reference FullyConnected / 1x1 Conv
 * with the input zero point folded into the bias): TFLite int8 filters have zero point 0,
 * so a zero weight's product is exactly 0 and skipping it changes nothing.  Per output
 * channel the bitmap's set bits are visited with count-trailing-zeros, each one a
 * multiply-accumulate of the next stored value; the channel's values are reused for every
 * row, then the next channel's follow.
 */
#include "tg_sparse_gemm.h"

#include <string.h>

/* The index of the lowest set bit of b (b != 0). */
TG_INLINE int32_t tg_ctz32(uint32_t b)
{
#if defined(__GNUC__) || defined(__clang__)
    return __builtin_ctz(b);
#else
    static const uint8_t debruijn[32] = {0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17,
                                         4, 8, 31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6,
                                         11, 5, 10, 9};
    return debruijn[((b & (0u - b)) * 0x077CB531u) >> 27];
#endif
}

TG_INLINE uint32_t tg_sparse_word(const uint8_t *p)
{
    uint32_t b;
    memcpy(&b, p, sizeof b);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    b = (b >> 24) | ((b >> 8) & 0xFF00u) | ((b << 8) & 0xFF0000u) | (b << 24);
#endif
    return b;
}

TG_INLINE int8_t tg_sparse_out(const tg_sparse_gemm_params_t *p, uint32_t acc, int32_t q)
{
    int32_t res = tg_requantize((int32_t)acc, p->multiplier[q], p->shift[q]);
    res = (int32_t)((uint32_t)res + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(res, p->act_min, p->act_max);
}

void tg_sparse_gemm_s8(const tg_sparse_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t depth = (size_t)p->depth, ch = (size_t)p->channels;
    const int8_t *v_start = p->values;
    const int8_t *v = v_start;
    int32_t c, r, k;
    for (c = 0; c < p->channels; ++c) {
        const uint8_t *bm = p->bitmap + (size_t)c * (size_t)p->bitmap_words * 4u;
        const int32_t q = p->per_channel ? c : 0;
        /* two rows at a time: each bit found and each value loaded once for both */
        for (r = 0; r + 1 < p->rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * depth;
            uint32_t acc0 = (uint32_t)p->bias[c];   /* modulo 2^32, as the dense kernels */
            uint32_t acc1 = acc0;
            v = v_start;
            for (k = 0; k < p->bitmap_words; ++k) {
                uint32_t b = tg_sparse_word(bm + (size_t)k * 4u);
                while (b != 0u) {
                    const int32_t i = tg_ctz32(b);
                    const int32_t w = *v++;
                    acc0 += (uint32_t)(w * (int32_t)x0[i]);
                    acc1 += (uint32_t)(w * (int32_t)x0[(size_t)i + depth]);
                    b &= b - 1u;
                }
                x0 += 32;
            }
            output[(size_t)r * ch + (size_t)c] = tg_sparse_out(p, acc0, q);
            output[(size_t)(r + 1) * ch + (size_t)c] = tg_sparse_out(p, acc1, q);
        }
        if (r < p->rows) {
            const int8_t *x = input + (size_t)r * depth;
            uint32_t acc = (uint32_t)p->bias[c];
            v = v_start;
            for (k = 0; k < p->bitmap_words; ++k) {
                uint32_t b = tg_sparse_word(bm + (size_t)k * 4u);
                while (b != 0u) {
                    acc += (uint32_t)((int32_t)*v++ * (int32_t)x[tg_ctz32(b)]);
                    b &= b - 1u;
                }
                x += 32;
            }
            output[(size_t)r * ch + (size_t)c] = tg_sparse_out(p, acc, q);
        }
        v_start = v;      /* the next channel's values follow this one's */
    }
}
