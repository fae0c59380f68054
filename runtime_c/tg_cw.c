/*
 * tg_cw.c - a compressed filter's palette table for one output channel (tg_cw.h).
 */
#include "tg_cw.h"

#include "tg_acle.h"

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

/* A coded table (12 bytes at src) as its 16 int8 values into dst: the set bits of the
 * high word in turn, the i-th at b giving the high nibble b - i of u_i = v_i + 128, so
 * that v_i's byte is (b << 4) + the low nibble + 128 - 16 i (mod 256); 4 values a pass,
 * about 9 cycles a value on the Cortex-M4. */
static void tg_cw_ef_decode(const int8_t *src, uint32_t *dst)
{
    const uint8_t *s = (const uint8_t *)(const void *)src;
    uint8_t *out = (uint8_t *)(void *)dst;
    uint32_t hi = tg_read_s8x4(src + 8);
    uint32_t i;
    for (i = 0; i < 16u; i += 4u) {
        const uint32_t lo = (uint32_t)s[i >> 1] | ((uint32_t)s[(i >> 1) + 1u] << 8);
        const uint32_t k = 128u - 16u * i;
        uint32_t b = tg_cw_ctz(hi);
        hi &= hi - 1u;
        out[i] = (uint8_t)((b << 4) + (lo & 15u) + k);
        b = tg_cw_ctz(hi);
        hi &= hi - 1u;
        out[i + 1u] = (uint8_t)((b << 4) + ((lo >> 4) & 15u) + k - 16u);
        b = tg_cw_ctz(hi);
        hi &= hi - 1u;
        out[i + 2u] = (uint8_t)((b << 4) + ((lo >> 8) & 15u) + k - 32u);
        b = tg_cw_ctz(hi);
        hi &= hi - 1u;
        out[i + 3u] = (uint8_t)((b << 4) + (lo >> 12) + k - 48u);
    }
}

/* A table of n int8 values negated into neg (the encoder never negates a channel holding
 * -128; -(-128), an entry such a channel does not read, wraps to -128): four entries a
 * word, ~x + 1 in each byte without a carry between bytes (bits 0-6 plus one cannot pass
 * bit 7; bit 7 takes the carry). */
static const int8_t *tg_cw_negated(const int8_t *t, int32_t n, uint32_t *neg)
{
    const uint8_t *u = (const uint8_t *)(const void *)t;
    int8_t *out = (int8_t *)(void *)neg;
    int32_t i;
    if (n < 4) {                                /* 1-bit indices: 2 entries */
        out[0] = (int8_t)(uint8_t)(0u - (uint32_t)u[0]);
        out[1] = (int8_t)(uint8_t)(0u - (uint32_t)u[1]);
        return out;
    }
    for (i = 0; i < n; i += 4) {                /* 4 or 16 entries */
        const uint32_t w = ~tg_read_s8x4(t + i);
        neg[i >> 2] = ((w & 0x7F7F7F7Fu) + 0x01010101u) ^ (w & 0x80808080u);
    }
    return out;
}

const int8_t *tg_cw_table(const tg_cw_t *w, int32_t c, tg_cw_tab_t *b)
{
    uint32_t ref = (uint32_t)c << 1;            /* per channel: its own, as it is */
    const int8_t *t;
    if (!w->palette || !w->table_stride) {
        return w->table;
    }
    if (w->ref_bits) {
        ref = tg_cw_ref(w, c);
    }
    t = w->table + (size_t)(ref >> 1) * (size_t)w->table_stride;
    if (w->table_coded) {
        if (b->which != (int32_t)(ref >> 1)) {
            tg_cw_ef_decode(t, b->coded);
            b->which = (int32_t)(ref >> 1);
        }
        t = (const int8_t *)(const void *)b->coded;
    }
    if (ref & 1u) {
        t = tg_cw_negated(t, (int32_t)1 << w->bits, b->neg);
    }
    return t;
}
