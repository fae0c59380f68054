/* tg_bytes.c - byte copies and fills of run-time lengths (tg_bytes.h). */
#include "tg_bytes.h"

#include <string.h>

/* 4-byte steps where a word load or store may be unaligned (Cortex-M3/M4/M7/M33, the
 * hosts); byte steps only on cores that fault on it (Cortex-M0/M0+), where the compiler
 * would otherwise call memcpy for them */
#if defined(__arm__) && !defined(__ARM_FEATURE_UNALIGNED)
#define TG_BYTES_WORDS 0
#else
#define TG_BYTES_WORDS 1
#endif

#if defined(__GNUC__) || defined(__clang__)
/* hides p from the compiler's loop idiom recognition, which would turn the loops below
 * back into the memcpy / memset calls they replace (an empty statement: no instruction) */
#define TG_BYTES_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define TG_BYTES_OPAQUE(p) ((void)0)
#endif

void tg_bytes_copy(void *dst, const void *src, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    const uint8_t *s = (const uint8_t *)src;
    TG_BYTES_OPAQUE(d);
#if TG_BYTES_WORDS
    for (; n >= 4; n -= 4, d += 4, s += 4) {
        uint32_t w;
        memcpy(&w, s, sizeof w);        /* one word load and one store */
        memcpy(d, &w, sizeof w);
    }
#endif
    for (; n > 0; --n) {
        TG_BYTES_OPAQUE(d);
        *d++ = *s++;
    }
}

void tg_bytes_fill(void *dst, uint8_t value, size_t n)
{
    uint8_t *d = (uint8_t *)dst;
    TG_BYTES_OPAQUE(d);
#if TG_BYTES_WORDS
    {
        const uint32_t w = (uint32_t)value * 0x01010101u;
        for (; n >= 4; n -= 4, d += 4) {
            memcpy(d, &w, sizeof w);
        }
    }
#endif
    for (; n > 0; --n) {
        TG_BYTES_OPAQUE(d);
        *d++ = value;
    }
}
