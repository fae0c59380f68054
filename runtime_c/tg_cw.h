/*
 * tg_cw.h - compressed filters read directly from flash (codegen/encoding.py).
 *
 * A filter stored in fewer than 8 bits per value, described by tg_cw_t:
 *  - int4 (palette == 0): values in [-8, 7] in groups of 8, one little-endian 32-bit
 *    word per group holding value j at bit 12, 8, 28, 24, 4, 0, 20, 16 for j = 0..7
 *    (tg_dsp_s4_gemm.c says why);
 *  - palette (palette == 1): `bits`-bit indices (1, 2 or 4; index i at bit (i * bits) % 8
 *    of byte (i * bits) / 8) into tables of 2^bits int8 values, one per output channel
 *    (table_stride == 2^bits) or one for the tensor (table_stride == 0); or shared tables
 *    (ref_bits > 0): output channel c's reference r (ref_bits bits, 1 to 8, at bit
 *    c * ref_bits of the bit stream `refs`, least significant first, running on into the
 *    next byte when it does not fit) names table r / 2 (table_stride values each),
 *    negated when r is odd.
 * Fully connected and convolution filters are stored row by row (row_bytes per output
 * channel); a depthwise filter is one flat row (row_bytes == 0), channel last.
 */
#ifndef TG_CW_H
#define TG_CW_H

#include "tg_common.h"

typedef struct {
    const uint8_t *data;        /* packed values or indices */
    const int8_t *table;        /* palette tables, or NULL (int4) */
    int32_t palette;            /* 0: int4 values; 1: palette indices */
    int32_t bits;               /* bits per stored value or index: 4 (int4); 1, 2, 4 */
    int32_t table_stride;       /* table entries per channel (0: one table) */
    int32_t row_bytes;          /* bytes per output channel row (0: one flat row) */
    const uint8_t *refs;        /* shared tables: per-channel references, or NULL */
    int32_t ref_bits;           /* bits per reference: 1 to 8 (0: no references) */
} tg_cw_t;

/* Shared tables: output channel c's reference (table number * 2 + negated); a reference
 * of 3, 5, 6 or 7 bits may run on into the next byte: the byte of its last bit (the first
 * byte again when it does not, whose bits then fall above the mask). */
TG_INLINE uint32_t tg_cw_ref(const tg_cw_t *w, int32_t channel)
{
    const uint32_t bits = (uint32_t)w->ref_bits, pos = (uint32_t)channel * bits;
    const uint32_t v = (uint32_t)w->refs[pos >> 3] |
                       ((uint32_t)w->refs[(pos + bits - 1u) >> 3] << 8);
    return (v >> (pos & 7u)) & ((1u << bits) - 1u);
}

/* Value i of a row starting at `row`, of output channel `channel`. */
TG_INLINE int32_t tg_cw_get(const tg_cw_t *w, const uint8_t *row, int32_t i, int32_t channel)
{
    if (!w->palette) {
        const uint32_t j = (uint32_t)i & 7u;
        const uint32_t bit = 12u - 4u * (j & 1u) - 8u * ((j >> 2) & 1u) + 16u * ((j >> 1) & 1u);
        const uint32_t v = ((uint32_t)row[((size_t)i >> 3) * 4u + (bit >> 3)] >> (bit & 7u)) & 0xFu;
        return (int32_t)(v ^ 8u) - 8;
    } else {
        const uint32_t pos = (uint32_t)i * (uint32_t)w->bits;
        const uint32_t idx = ((uint32_t)row[pos >> 3] >> (pos & 7u)) &
                             ((1u << (uint32_t)w->bits) - 1u);
        if (w->ref_bits) {
            const uint32_t ref = tg_cw_ref(w, channel);
            const int32_t v = w->table[(size_t)(ref >> 1) * (size_t)w->table_stride + idx];
            return (ref & 1u) ? -v : v;
        }
        return w->table[(size_t)channel * (size_t)w->table_stride + idx];
    }
}

/* The row of output channel c (fully connected and convolution filters). */
TG_INLINE const uint8_t *tg_cw_row(const tg_cw_t *w, int32_t c)
{
    return w->data + (size_t)c * (size_t)w->row_bytes;
}

#endif /* TG_CW_H */
