/*
 * tg_cw.c - a coded palette table (tg_cw.h) decoded for one output channel (tg_cw_table).
 */
#include "tg_cw.h"

/* The lowest set bit of x (x != 0). */
TG_INLINE uint32_t tg_cw_ctz(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (uint32_t)__builtin_ctz(x);
#else
    uint32_t n = 0;
    while (!(x & 1u)) {
        x >>= 1;
        ++n;
    }
    return n;
#endif
}

/* A coded table (12 bytes at src) as its 16 int8 values into dst, 4 a word: the set bits
 * of the high word in turn, the j-th at b giving the high nibble b - j of u_j = v_j + 128
 * (the positions in the word's lanes, less j in each lane: never a borrow, as b >= j),
 * shifted over the low nibbles spread to the lanes, and v_j = u_j - 128 as u_j ^ 128;
 * about 9 cycles a value on the Cortex-M4. */
static void tg_cw_ef_decode(const int8_t *src, uint32_t *dst)
{
    const uint8_t *s = (const uint8_t *)(const void *)src;
    uint32_t hi = tg_read_s8x4(src + 8);
    uint32_t j = 0x03020100u;                   /* each lane's value number */
    int32_t i;
    for (i = 0; i < 4; ++i, j += 0x04040404u) {
        uint32_t lo = (uint32_t)s[2 * i] | ((uint32_t)s[2 * i + 1] << 8);
        uint32_t h = tg_cw_ctz(hi);
        hi &= hi - 1u;
        h |= tg_cw_ctz(hi) << 8;
        hi &= hi - 1u;
        h |= tg_cw_ctz(hi) << 16;
        hi &= hi - 1u;
        h |= tg_cw_ctz(hi) << 24;
        hi &= hi - 1u;
        lo = (lo | (lo << 8)) & 0x00FF00FFu;    /* nibbles 0, 1 | 2, 3 in the halves */
        lo = (lo | (lo << 4)) & 0x0F0F0F0Fu;    /* one in each lane */
        dst[i] = (((h - j) << 4) | lo) ^ 0x80808080u;
    }
}

const int8_t *tg_cw_table_coded(const tg_cw_t *w, int32_t c, tg_cw_tab_t *b)
{
    uint32_t ref = (uint32_t)c << 1;            /* per channel: its own, as it is */
    const int8_t *t;
    if (w->ref_bits) {
        ref = tg_cw_ref(w, c);
    }
    if (b->which != (int32_t)(ref >> 1)) {      /* not the table decoded last */
        tg_cw_ef_decode(w->table + (size_t)(ref >> 1) * (size_t)w->table_stride, b->coded);
        b->which = (int32_t)(ref >> 1);
    }
    t = (const int8_t *)(const void *)b->coded;
    if (ref & 1u) {
        t = tg_cw_negated(t, (int32_t)1 << w->bits, b->neg);
    }
    return t;
}
