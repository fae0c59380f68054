/*
 * tg_dsp_cw_gemm.c - GEMM with a compressed filter (int4 or palette) on the DSP extension.
 *
 * The int8 GEMM's pass (tg_dsp_gemm_xrows_s8: the Thumb-2 row-pair kernel of tg_dsp_gemm.c)
 * does the arithmetic, on a block of channels at a time whose values are decoded once,
 * for every row, into a small scratch in its weight layout (tg_dsp_gemm.h: per channel
 * triple and 4-value step, the three channels' words), against rows sign-extended into
 * the scratch as int16 pairs: once for the whole layer when the scratch holds every row (a
 * batched fully connected layer: the outputs go straight to their place), else again for
 * each block by tg_dsp_gemm_s8 itself, `chunk` rows at a time into the scratch, copied to
 * the output (about 12 cycles per 4 depth values and 2 rows, against some 30 per channel
 * triple, and 2 per output).  The decoding costs about 1 cycle per value (int4:
 * one word gives 8 values as two words of bytes, in an order of their own that the rows'
 * expansion follows) to 3-5 (palettes: a table look-up each) once per layer; the results
 * are exactly tg_dsp_gemm_s8's on the int8 filter.
 */
#include "tg_dsp_cw_gemm.h"

#include <string.h>

#include "tg_acle.h"
#include "tg_config.h"
#include "tg_dsp_gemm.h"
#include "tg_dsp_gemm_rows.h"

/* the rows-once decoders out of line (called once a block): the chunked path's code stays
 * as GCC made it without them */
#define TG_CWG_NOINLINE TG_NOINLINE

/* The paths a project's layers take (tg_config.h, codegen/kernel_config.py): an int4 or a
 * palette filter's blocks decoded once for all rows (rows once, or rows_outer), or blocks
 * decoded channel by channel for chunks of rows (tg_dsp_cw_channel). */
#define TG_CWG_ONCE (TG_CFG_DSP_CW_GEMM_ONCE_S4 || TG_CFG_DSP_CW_GEMM_ONCE_PAL)
#if !TG_CWG_ONCE && !TG_CFG_DSP_CW_GEMM_BLOCKS
#error "tg_config.h compiles every path of tg_dsp_cw_gemm_s8 out"
#endif

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next loads (which would spill registers) */
#define TG_CWG_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_CWG_BARRIER() ((void)0)
#endif

/* Bytes holding n (a two's complement nibble, 0..15) each, to bytes holding n
 * sign-extended (no borrow between bytes). */
TG_INLINE uint32_t tg_cwg_s4bytes_v(uint32_t x)
{
    return ((x ^ 0x88888888u) - 0x08080808u) ^ 0x80808080u;
}

TG_INLINE uint32_t tg_cwg_u8(const int8_t *t, uint32_t i)
{
    return (uint32_t)(uint8_t)t[i];
}

/* A channel's 4-value steps from k0 on (zeros past the depth) into d, d + stride, ...;
 * t: the channel's palette table (tg_cw_table), NULL for int4. */
TG_INLINE void tg_cwg_tail(const tg_cw_t *cw, int32_t depth, const uint8_t *row,
                           const int8_t *t, int32_t k0, uint32_t *d, size_t stride)
{
    int32_t k, i;
    for (k = k0; 4 * k < depth; ++k, d += stride) {
        uint32_t v = 0;
        for (i = 3; i >= 0; --i) {
            const int32_t j = 4 * k + i;
            const int32_t x = j >= depth ? 0
                              : t ? (int32_t)t[tg_cw_index(cw, row, j)]
                                  : tg_cw_s4(row, j);
            v = (v << 8) | (uint8_t)x;
        }
        *d = v;
    }
}

void tg_dsp_cw_channel(const tg_cw_t *cw, int32_t depth, int32_t c, uint32_t *d,
                       int32_t word_stride, tg_cw_tab_t *tab)
{
    const size_t stride = (size_t)word_stride;
    const int32_t full = depth >> 2;
    const uint8_t *row = tg_cw_row(cw, c);
    const int8_t *t = cw->palette ? tg_cw_table(cw, c, tab) : NULL;   /* the channel's */
    int32_t k = 0;
    if (!cw->palette) {
        /* int4: a word holds values 0..7 at bit 12, 8, 28, 24, 4, 0, 20, 16 (tg_cw.h), so
         * its nibbles at bits 4k+4 hold (v4, v0, v6, v2), those at 4k (v5, v1, v7, v3) */
        for (; k + 2 <= full; k += 2, d += 2 * stride) {
            const uint32_t w = tg_read_s8x4((const int8_t *)(const void *)(row + 2 * k));
            const uint32_t hi = (w >> 4) & 0x0F0F0F0Fu, lo = w & 0x0F0F0F0Fu;
            d[0] = tg_cwg_s4bytes_v(((hi >> 8) & 0x00FF00FFu) | (lo & 0xFF00FF00u));
            d[stride] = tg_cwg_s4bytes_v((hi & 0x00FF00FFu) | ((lo << 8) & 0xFF00FF00u));
        }
    } else if (cw->bits == 4) {
        for (; k + 2 <= full; k += 2, d += 2 * stride) {  /* 8 indices a word */
            const uint32_t b = tg_read_s8x4((const int8_t *)(const void *)(row + 2 * k));
            d[0] = tg_cwg_u8(t, b & 15u) | (tg_cwg_u8(t, (b >> 4) & 15u) << 8) |
                   (tg_cwg_u8(t, (b >> 8) & 15u) << 16) | (tg_cwg_u8(t, (b >> 12) & 15u) << 24);
            d[stride] = tg_cwg_u8(t, (b >> 16) & 15u) | (tg_cwg_u8(t, (b >> 20) & 15u) << 8) |
                   (tg_cwg_u8(t, (b >> 24) & 15u) << 16) | (tg_cwg_u8(t, b >> 28) << 24);
        }
        for (; k < full; ++k, d += stride) {
            const uint32_t b0 = row[2 * k], b1 = row[2 * k + 1];
            *d = tg_cwg_u8(t, b0 & 15u) | (tg_cwg_u8(t, b0 >> 4) << 8) |
                 (tg_cwg_u8(t, b1 & 15u) << 16) | (tg_cwg_u8(t, b1 >> 4) << 24);
        }
    } else {
        /* 2-bit (a byte per step) or 1-bit (a nibble) indices: the values of every index
         * combination of a nibble, looked up once per channel */
        uint32_t h[16];
        uint32_t i;
        if (cw->bits == 2) {
            for (i = 0; i < 16; ++i) {
                h[i] = tg_cwg_u8(t, i & 3u) | (tg_cwg_u8(t, i >> 2) << 8);
            }
            for (; k < full; ++k, d += stride) {
                const uint32_t b = row[k];
                *d = h[b & 15u] | (h[b >> 4] << 16);
            }
        } else {
            for (i = 0; i < 16; ++i) {
                h[i] = tg_cwg_u8(t, i & 1u) | (tg_cwg_u8(t, (i >> 1) & 1u) << 8) |
                       (tg_cwg_u8(t, (i >> 2) & 1u) << 16) | (tg_cwg_u8(t, i >> 3) << 24);
            }
            for (; k < full; ++k, d += stride) {
                *d = h[((uint32_t)row[k >> 1] >> (4 * (k & 1))) & 15u];
            }
        }
    }
    tg_cwg_tail(cw, depth, row, t, k, d, stride);
}

#if TG_CFG_DSP_CW_GEMM_ONCE_S4
/* A constant kept in a register (GCC would rebuild it in the loops; with the mask in a
 * register an AND takes a shifted operand). */
TG_INLINE uint32_t tg_cwg_reg(uint32_t v)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    __asm__("" : "+r"(v));
#endif
    return v;
}

/* Bytes holding n ^ 8 (n a two's complement nibble, 0..15) each, to bytes holding n
 * sign-extended: USUB8 of 8 in every byte (no borrow between bytes). */
TG_INLINE uint32_t tg_cwg_s4bytes(uint32_t x)
{
#if TG_ACLE_DSP
    return (uint32_t)__usub8(x, tg_cwg_reg(0x08080808u));
#else
    return ((x | 0x80808080u) - 0x08080808u) ^ 0x80808080u;
#endif
}

/* 32 int4 values (4 words at src, each nibble value + 8) as 8 words of bytes at d, d + 3,
 * ... d + 21. */
TG_INLINE void tg_cwg_s4x4(const uint8_t *src, uint32_t m, uint32_t *d)
{
    const uint32_t w0 = tg_read_s8x4((const int8_t *)(const void *)src);
    const uint32_t w1 = tg_read_s8x4((const int8_t *)(const void *)(src + 4));
    const uint32_t w2 = tg_read_s8x4((const int8_t *)(const void *)(src + 8));
    const uint32_t w3 = tg_read_s8x4((const int8_t *)(const void *)(src + 12));
    d[0] = tg_cwg_s4bytes(m & (w0 >> 4));
    d[3] = tg_cwg_s4bytes(m & w0);
    d[6] = tg_cwg_s4bytes(m & (w1 >> 4));
    d[9] = tg_cwg_s4bytes(m & w1);
    d[12] = tg_cwg_s4bytes(m & (w2 >> 4));
    d[15] = tg_cwg_s4bytes(m & w2);
    d[18] = tg_cwg_s4bytes(m & (w3 >> 4));
    d[21] = tg_cwg_s4bytes(m & w3);
}

/* An int4 filter's channels c .. c + n - 1 (n <= block, the last ones past `channels`
 * zeros) into dst in the order of tg_cwg_expand: a word's nibbles at bits 4k+4 hold
 * (v4, v0, v6, v2), those at 4k (v5, v1, v7, v3) (tg_cw.h), here as value + 8 (the
 * generator stores the whole 8-value groups so, tg_dsp_cw_gemm.h), each to a byte less 8
 * (one word in, two out: about 1 cycle a value); a depth tail as tg_cw.h stores it. */
TG_CWG_NOINLINE static void tg_cwg_s4(const tg_dsp_cw_gemm_params_t *p, int32_t c, int32_t n, uint32_t *dst)
{
    const int32_t quads = (p->depth + 3) >> 2, groups = p->depth >> 3;
    const uint32_t m = tg_cwg_reg(0x0F0F0F0Fu);
    int32_t j, k;
    for (j = 0; j < n; ++j) {
        uint32_t *d = dst + (size_t)(j / 3) * 3u * (size_t)quads + (size_t)(j % 3);
        const uint8_t *row = tg_cw_row(&p->weights, c + j);
        const uint8_t *src = row, *const end = row + 4 * (groups & ~7);
        if (c + j >= p->channels) {
            for (k = 0; k < quads; ++k) {
                d[3 * k] = 0;
            }
            continue;
        }
        for (; src != end; src += 32, d += 48) {      /* 64 values a pass */
            tg_cwg_s4x4(src, m, d);
            TG_CWG_BARRIER();
            tg_cwg_s4x4(src + 16, m, d + 24);
        }
        if (groups & 4) {
            tg_cwg_s4x4(src, m, d);
            src += 16;
            d += 24;
        }
        for (k = groups & 3; k > 0; --k, src += 4, d += 6) {
            const uint32_t w = tg_read_s8x4((const int8_t *)(const void *)src);
            d[0] = tg_cwg_s4bytes(m & (w >> 4));
            d[3] = tg_cwg_s4bytes(m & w);
        }
        if (p->depth & 7) {
            tg_cwg_tail(&p->weights, p->depth, row, NULL, 2 * groups, d, 3);
        }
    }
}
#endif

#if TG_CFG_DSP_CW_GEMM_ONCE_PAL
/* A pointer kept in a register (so that look-ups index it, not the stack frame). */
TG_INLINE const uint32_t *tg_cwg_ptr(const uint32_t *v)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    __asm__("" : "+r"(v));
#endif
    return v;
}

/* The 4 table values of the 4-bit indices in the low 16 bits of b, as a word: the
 * indices first (in a run: then the loads pipeline), then the look-ups. */
TG_INLINE uint32_t tg_cwg_look4(const uint8_t *t, uint32_t b)
{
    uint32_t i0 = b & 15u, i1 = (b >> 4) & 15u, i2 = (b >> 8) & 15u, i3 = (b >> 12) & 15u;
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    __asm__("" : "+r"(i0), "+r"(i1), "+r"(i2), "+r"(i3));
#endif
    return (uint32_t)t[i0] | ((uint32_t)t[i1] << 8) | ((uint32_t)t[i2] << 16) |
           ((uint32_t)t[i3] << 24);
}

/* lo[4 a + b] = q_b | q_a << shift: the values of every nibble of 2-bit indices (q: the
 * values of an index), or of 1-bit ones (q: the pairs of 2 bits, shift 16). */
static void tg_cwg_nibbles(uint32_t *lo, uint32_t q0, uint32_t q1, uint32_t q2, uint32_t q3,
                           uint32_t shift)
{
    const uint32_t q[4] = {q0, q1, q2, q3};
    int32_t a;
    for (a = 0; a < 4; ++a, lo += 4) {
        const uint32_t h = q[a] << shift;
        lo[0] = q0 | h;
        lo[1] = q1 | h;
        lo[2] = q2 | h;
        lo[3] = q3 | h;
    }
}

/* A palette filter's channels c .. c + n - 1 (n <= block, the last ones past `channels`
 * zeros) into dst in tg_dsp_gemm_s8's weight layout, for the rows-once path: 4-bit
 * indices a byte look-up each (about 3 cycles a value), 2-bit ones 2 values a look-up and
 * 1-bit ones 4 (tables of every index combination of a nibble, built per channel). */
TG_CWG_NOINLINE static void tg_cwg_pal(const tg_dsp_cw_gemm_params_t *p, int32_t c, int32_t n, uint32_t *dst)
{
    const tg_cw_t *cw = &p->weights;
    const int32_t quads = (p->depth + 3) >> 2, full = p->depth >> 2;
    tg_cw_tab_t tab;                            /* a coded table decoded, kept for the next */
    int32_t j, k;
    tab.which = -1;
    for (j = 0; j < n; ++j) {
        uint32_t *d = dst + (size_t)(j - j % 3) * (size_t)quads + (size_t)(j % 3);
        const uint8_t *row = tg_cw_row(cw, c + j), *src = row;
        const int8_t *table;
        const uint8_t *t;
        uint32_t lo[16];
        if (c + j >= p->channels) {
            for (k = 0; k < quads; ++k) {
                d[3 * k] = 0;
            }
            continue;
        }
        table = tg_cw_table(cw, c + j, &tab);    /* the channel's (shared: negated?) */
        t = (const uint8_t *)(const void *)table;
        k = 0;
        if (cw->bits == 4) {
            for (; k + 2 <= full; k += 2, d += 6, src += 4) {   /* 8 indices a word */
                const uint32_t b = tg_read_s8x4((const int8_t *)(const void *)src);
                d[0] = tg_cwg_look4(t, b);
                d[3] = tg_cwg_look4(t, b >> 16);
            }
        } else if (cw->bits == 2) {
            const uint32_t *h = tg_cwg_ptr(lo);
            tg_cwg_nibbles(lo, t[0], t[1], t[2], t[3], 8);   /* each nibble's 2 values */
            for (; k + 4 <= full; k += 4, d += 12, src += 4) {  /* 16 indices a word */
                const uint32_t b = tg_read_s8x4((const int8_t *)(const void *)src);
                d[0] = h[b & 15u] | (h[(b >> 4) & 15u] << 16);
                d[3] = h[(b >> 8) & 15u] | (h[(b >> 12) & 15u] << 16);
                d[6] = h[(b >> 16) & 15u] | (h[(b >> 20) & 15u] << 16);
                d[9] = h[(b >> 24) & 15u] | (h[b >> 28] << 16);
            }
            for (; k < full; ++k, d += 3, ++src) {
                *d = h[*src & 15u] | (h[*src >> 4] << 16);
            }
        } else {
            const uint32_t *h = tg_cwg_ptr(lo);
            const uint32_t t0 = t[0], t1 = t[1];
            /* each nibble's 4 values: its 2-bit halves' value pairs */
            tg_cwg_nibbles(lo, t0 | (t0 << 8), t1 | (t0 << 8), t0 | (t1 << 8), t1 | (t1 << 8),
                           16);
            for (; k + 8 <= full; k += 8, d += 24, src += 4) {  /* 32 indices a word */
                const uint32_t b = tg_read_s8x4((const int8_t *)(const void *)src);
                d[0] = h[b & 15u];
                d[3] = h[(b >> 4) & 15u];
                d[6] = h[(b >> 8) & 15u];
                d[9] = h[(b >> 12) & 15u];
                d[12] = h[(b >> 16) & 15u];
                d[15] = h[(b >> 20) & 15u];
                d[18] = h[(b >> 24) & 15u];
                d[21] = h[b >> 28];
            }
        }
        tg_cwg_tail(cw, p->depth, row, table, k, d, 3);   /* the rest value by value */
    }
}
#endif

#if TG_CFG_DSP_CW_GEMM_BLOCKS
/* Channels c .. c + block - 1 into dst in tg_dsp_gemm_s8's weight layout (zeros for
 * channels past the last). */
static void tg_cwg_decode(const tg_dsp_cw_gemm_params_t *p, int32_t c, uint32_t *dst)
{
    const int32_t quads = (p->depth + 3) >> 2;
    tg_cw_tab_t tab;                            /* a coded table decoded, kept for the next */
    int32_t t, j, k;
    tab.which = -1;
    for (t = 0; t < p->block; t += 3) {
        for (j = 0; j < 3; ++j) {
            uint32_t *d = dst + (size_t)t * (size_t)quads + (size_t)j;
            if (c + t + j < p->channels) {
                tg_dsp_cw_channel(&p->weights, p->depth, c + t + j, d, 3, &tab);
            } else {
                for (k = 0; k < quads; ++k) {
                    d[3 * k] = 0;
                }
            }
        }
    }
}
#endif

#if TG_CWG_ONCE
/* Rows x0 and x1 sign-extended into d as tg_dsp_gemm_xrows_s8 reads them (tg_dsp_gemm.h),
 * the steps of each 8 values of an int4 filter (`s4`) in the order tg_dsp_cw_channel decodes
 * them: (x4, x6) and (x0, x2), then (x5, x7) and (x1, x3). */
static void tg_cwg_expand(const int8_t *x0, const int8_t *x1, int32_t depth, int32_t s4,
                          uint32_t *d)
{
    int32_t k = 0;
    for (; s4 && k + 8 <= depth; k += 8, d += 8) {
        const uint32_t a0 = tg_read_s8x4(x0 + k), a1 = tg_read_s8x4(x0 + k + 4);
        const uint32_t b0 = tg_read_s8x4(x1 + k), b1 = tg_read_s8x4(x1 + k + 4);
        d[0] = tg_sxtb16(a1);
        d[1] = tg_sxtb16(a0);
        d[2] = tg_sxtb16(b1);
        d[3] = tg_sxtb16(b0);
        d[4] = tg_sxtb16_ror8(a1);
        d[5] = tg_sxtb16_ror8(a0);
        d[6] = tg_sxtb16_ror8(b1);
        d[7] = tg_sxtb16_ror8(b0);
    }
    tg_dsp_gemm_widen_rest(x0, x1, k, depth, d);
}

/* Rows 0 .. n - 1 from `input` against every block, expanded once into xs (tg_cwg_expand,
 * the blocks decoded by tg_cwg_s4 / tg_cwg_pal), their outputs at out (rows ch apart). */
static void tg_cwg_rows_once(const tg_dsp_cw_gemm_params_t *p, tg_dsp_gemm_params_t *g,
                             const int8_t *input, int32_t n, uint32_t *ws, uint32_t *xs,
                             int8_t *out)
{
    const int32_t quads = (p->depth + 3) >> 2;
    const size_t ch = (size_t)p->channels, dp = (size_t)p->depth;
    int32_t c, r;
    for (r = 0; r < n; r += 2) {
        const int8_t *x0 = input + (size_t)r * dp;
        tg_cwg_expand(x0, r + 1 < n ? x0 + dp : x0, p->depth, !p->weights.palette,
                      xs + (size_t)(r >> 1) * 4u * (size_t)quads);
    }
    for (c = 0; c < p->channels; c += p->block) {
        const int32_t decoded = TG_MIN(p->block, (p->channels - c + 2) / 3 * 3);
#if TG_CFG_DSP_CW_GEMM_ONCE_S4
        if (!p->weights.palette) {                /* int4 in the rows' order */
            tg_cwg_s4(p, c, decoded, ws);
        }
#endif
#if TG_CFG_DSP_CW_GEMM_ONCE_PAL
        if (p->weights.palette) {
            tg_cwg_pal(p, c, decoded, ws);
        }
#endif
        g->channels = TG_MIN(p->block, p->channels - c);
        g->bias = p->bias + c;
        g->quant = p->quant + (size_t)(c / 3) * (size_t)p->quant_step;
        g->rows = n;
        tg_dsp_gemm_xrows_s8(g, xs, out + c, ch);
    }
}
#endif

void tg_dsp_cw_gemm_s8(const tg_dsp_cw_gemm_params_t *p, const int8_t *input, int8_t *output,
                       void *scratch)
{
    const int32_t quads = (p->depth + 3) >> 2;
    const size_t ch = (size_t)p->channels, dp = (size_t)p->depth;
    /* rows expanded once for all blocks: all of them, or `chunk` at a time (rows_outer) */
    const int32_t once = p->chunk >= p->rows || p->rows_outer;
    const int32_t span = p->rows_outer ? p->chunk : once ? p->rows : 2;
    uint32_t *ws = (uint32_t *)scratch;
    uint32_t *xs = ws + (size_t)p->block * (size_t)quads;
    int8_t *tmp = (int8_t *)(xs + 4 * (size_t)quads * (size_t)((span + 1) >> 1));
    tg_dsp_gemm_params_t g;
    int32_t c, r;
    g.depth = p->depth;
    g.weights = (const int32_t *)ws;
    g.output_offset = p->output_offset;
    g.act_min = p->act_min;
    g.act_max = p->act_max;
    g.quant_step = p->quant_step;
    g.out_w = g.out_h = g.in_w = g.in_h = g.stride_w = g.stride_h = 1;
#if TG_CWG_ONCE
    if (p->rows_outer) {
        /* `chunk` rows at a time through every block into tmp, then to the output: every
         * input row of a chunk is read before any of its outputs is written */
        for (r = 0; r < p->rows; r += p->chunk) {
            const int32_t n = TG_MIN(p->chunk, p->rows - r);
            tg_cwg_rows_once(p, &g, input + (size_t)r * dp, n, ws, xs, tmp);
            memcpy(output + (size_t)r * ch, tmp, (size_t)n * ch);
        }
        return;
    }
    if (once) {
        tg_cwg_rows_once(p, &g, input, p->rows, ws, xs, output);
        return;
    }
#endif
#if TG_CFG_DSP_CW_GEMM_BLOCKS
    for (c = 0; c < p->channels; c += p->block) {
        tg_cwg_decode(p, c, ws);
        g.channels = TG_MIN(p->block, p->channels - c);
        g.bias = p->bias + c;
        g.quant = p->quant + (size_t)(c / 3) * (size_t)p->quant_step;
        g.rows = p->rows;
        if (g.channels == p->channels) {          /* one block: straight into the output */
            tg_dsp_gemm_s8(&g, input, output, xs);
            continue;
        }
        for (r = 0; r < p->rows; r += p->chunk) {
            const size_t n = (size_t)g.channels;
            int32_t i;
            g.rows = TG_MIN(p->chunk, p->rows - r);
            tg_dsp_gemm_s8(&g, input + (size_t)r * dp, tmp, xs);
            for (i = 0; i < g.rows; ++i) {
                memcpy(output + (size_t)(r + i) * ch + (size_t)c, tmp + (size_t)i * n, n);
            }
        }
    }
#else
    (void)c;
#endif
}
