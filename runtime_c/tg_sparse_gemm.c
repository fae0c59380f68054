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

void tg_sparse_gemm_s8(const tg_sparse_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const int8_t *v_start = p->values;
    const int8_t *v = v_start;
    int32_t c, r, k;
    for (c = 0; c < p->channels; ++c) {
        const uint8_t *bm = p->bitmap + (size_t)c * (size_t)p->bitmap_words * 4u;
        const int32_t q = p->per_channel ? c : 0;
        for (r = 0; r < p->rows; ++r) {
            const int8_t *x = input + (size_t)r * (size_t)p->depth;
            uint32_t acc = (uint32_t)p->bias[c];   /* modulo 2^32, as the dense kernels */
            int32_t res;
            v = v_start;
            for (k = 0; k < p->bitmap_words; ++k) {
                uint32_t b;
                memcpy(&b, bm + (size_t)k * 4u, sizeof b);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
                b = (b >> 24) | ((b >> 8) & 0xFF00u) | ((b << 8) & 0xFF0000u) | (b << 24);
#endif
                while (b != 0u) {
                    acc += (uint32_t)((int32_t)*v++ * (int32_t)x[tg_ctz32(b)]);
                    b &= b - 1u;
                }
                x += 32;
            }
            res = tg_requantize((int32_t)acc, p->multiplier[q], p->shift[q]);
            res = (int32_t)((uint32_t)res + (uint32_t)p->output_offset);
            output[(size_t)r * (size_t)p->channels + (size_t)c] =
                (int8_t)tg_clamp(res, p->act_min, p->act_max);
        }
        v_start = v;      /* the next channel's values follow this one's */
    }
}
