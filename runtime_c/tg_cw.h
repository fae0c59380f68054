/*
 * tg_cw.h - compressed filters read directly from flash (codegen/encoding.py).
 *
 * A filter stored in fewer than 8 bits per value, described by tg_cw_t:
 *  - int4 (palette == 0): values in [-8, 7] in groups of 8, one little-endian 32-bit
 *    word per group holding value j at bit 12, 8, 28, 24, 4, 0, 20, 16 for j = 0..7
 *    (tg_dsp_s4_gemm.c says why);
 *  - palette (palette == 1): `bits`-bit indices (1, 2 or 4; index i at bit (i * bits) % 8
 *    of byte (i * bits) / 8) into tables of 2^bits int8 values, one per output channel
 *    (table_stride == 2^bits, the bytes a table takes) or one for the tensor
 *    (table_stride == 0); or shared tables (ref_bits > 0): output channel c's reference r
 *    (ref_bits bits, 1 to 8, at bit c * ref_bits of the bit stream `refs`, least
 *    significant first, running on into the next byte when it does not fit) names table
 *    r / 2 (table_stride bytes each), negated when r is odd.  Coded tables
 *    (table_coded == 1; 4-bit indices, per channel or shared, table_stride == 12): 16
 *    distinct values in 12 bytes (Elias-Fano): with u_i = v_i + 128 strictly ascending,
 *    u_i's low nibble at byte i / 2 (the low one for even i), then a little-endian 32-bit
 *    word with bit (u_i >> 4) + i set for each i: its i-th set bit, at b, gives
 *    u_i >> 4 = b - i (tg_cw.c: about 200 cycles a table on the Cortex-M4).
 * tg_cw_table gives a channel's table as 2^bits int8 values (the one in flash, or decoded
 * and negated into the caller's tg_cw_tab_t): kernels take it once per channel.
 * Fully connected and convolution filters are stored row by row (row_bytes per output
 * channel); a depthwise filter is one flat row (row_bytes == 0), channel last.
 */
#ifndef TG_CW_H
#define TG_CW_H

#include "tg_acle.h"
#include "tg_common.h"

typedef struct {
    const uint8_t *data;        /* packed values or indices */
    const int8_t *table;        /* palette tables, or NULL (int4) */
    int32_t palette;            /* 0: int4 values; 1: palette indices */
    int32_t bits;               /* bits per stored value or index: 4 (int4); 1, 2, 4 */
    int32_t table_stride;       /* bytes per table: 2^bits, 12 coded (0: one table) */
    int32_t row_bytes;          /* bytes per output channel row (0: one flat row) */
    const uint8_t *refs;        /* shared tables: per-channel references, or NULL */
    int32_t ref_bits;           /* bits per reference: 1 to 8 (0: no references) */
    int32_t table_coded;        /* 1: 16-value tables in 12 bytes each (see above) */
} tg_cw_t;

/* A channel's table when it is not the one in flash: the coded table last decoded (number
 * `which`, -1 for none yet: set it so before the first tg_cw_table) and a negated one. */
typedef struct {
    uint32_t coded[4];
    uint32_t neg[4];
    int32_t which;
} tg_cw_tab_t;

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

/* A table of n int8 values negated into neg (the encoder never negates a channel holding
 * -128; -(-128), an entry such a channel does not read, wraps to -128): four entries a
 * word, ~x + 1 in each byte without a carry between bytes (bits 0-6 plus one cannot pass
 * bit 7; bit 7 takes the carry). */
TG_INLINE const int8_t *tg_cw_negated(const int8_t *t, int32_t n, uint32_t *neg)
{
    int8_t *out = (int8_t *)(void *)neg;
    int32_t i;
    if (n < 4) {                                /* 1-bit indices: 2 entries */
        out[0] = (int8_t)(uint8_t)(0u - (uint32_t)(uint8_t)t[0]);
        out[1] = (int8_t)(uint8_t)(0u - (uint32_t)(uint8_t)t[1]);
        return out;
    }
    for (i = 0; i < n; i += 4) {                /* 4 or 16 entries */
        const uint32_t w = ~tg_read_s8x4(t + i);
        neg[i >> 2] = ((w & 0x7F7F7F7Fu) + 0x01010101u) ^ (w & 0x80808080u);
    }
    return out;
}

/* tg_cw_table for coded tables (tg_cw.c, out of line). */
const int8_t *tg_cw_table_coded(const tg_cw_t *w, int32_t c, tg_cw_tab_t *b);

/* Output channel c's table of 2^bits int8 values: the one in flash (one for the tensor,
 * the channel's, its shared one), or decoded (coded tables; kept in b while the next
 * channel reads the same) and negated (an odd reference) into b; NULL for int4.  Kernels
 * take it once a channel. */
TG_INLINE const int8_t *tg_cw_table(const tg_cw_t *w, int32_t c, tg_cw_tab_t *b)
{
    uint32_t ref;
    const int8_t *t;
    if (w->table_coded) {
        return tg_cw_table_coded(w, c, b);
    }
    if (!w->ref_bits) {                         /* int4, one table, or the channel's own */
        return w->table_stride ? w->table + (size_t)c * (size_t)w->table_stride : w->table;
    }
    ref = tg_cw_ref(w, c);
    t = w->table + (size_t)(ref >> 1) * (size_t)w->table_stride;
    return (ref & 1u) ? tg_cw_negated(t, (int32_t)1 << w->bits, b->neg) : t;
}

/* Value i of an int4 row starting at `row`: its group's word, shifted by value i % 8's
 * bit (a table: fewer instructions than the bit's arithmetic). */
TG_INLINE int32_t tg_cw_s4(const uint8_t *row, int32_t i)
{
    static const uint8_t bit[8] = {12u, 8u, 28u, 24u, 4u, 0u, 20u, 16u};
    const uint32_t word = tg_read_s8x4((const int8_t *)(const void *)
                                       (row + ((size_t)i >> 3) * 4u));
    return (int32_t)(((word >> bit[(uint32_t)i & 7u]) & 15u) ^ 8u) - 8;
}

/* Palette index i of a row starting at `row`. */
TG_INLINE uint32_t tg_cw_index(const tg_cw_t *w, const uint8_t *row, int32_t i)
{
    const uint32_t pos = (uint32_t)i * (uint32_t)w->bits;
    return ((uint32_t)row[pos >> 3] >> (pos & 7u)) & ((1u << (uint32_t)w->bits) - 1u);
}

/* Value i of a row starting at `row`, of output channel `channel` (coded tables: the
 * channel's table decoded for the one value; kernels take tg_cw_table once a channel). */
TG_INLINE int32_t tg_cw_get(const tg_cw_t *w, const uint8_t *row, int32_t i, int32_t channel)
{
    if (!w->palette) {
        return tg_cw_s4(row, i);
    } else {
        const uint32_t idx = tg_cw_index(w, row, i);
        if (w->table_coded) {
            tg_cw_tab_t b;
            b.which = -1;
            return tg_cw_table_coded(w, channel, &b)[idx];
        }
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
