/*
 * tg_dsp_s4_gemm.c - GEMM with int4 weights read from flash, SMLAD on the DSP extension.
 *
 * Same arithmetic as tg_dsp_gemm_s8 (TFLite's reference FullyConnected / 1x1 Conv with
 * the input zero point folded into the bias).  A weight word holds 8 values (tg_cw.h)
 * placed so that (w << s) & 0xF000F000, s = 0, 4, 8, 12, is a pair of them times 4096 in
 * the two int16 lanes: SMLAD multiplies it with the input pair SXTB16 makes, and the
 * weights need no unpacking at all (one AND with a shifted operand per pair).  The sums
 * are 4096 times the dot product; over a chunk of 256 depth values the true sum stays
 * below 2^18 in magnitude (|w| <= 8, |x| <= 128), so the 32-bit sum is exact and divides
 * by 4096 exactly into the running total.  Channels go in fours (their 4 words of a
 * group stored together: one pointer): 2 rows x 2 channels per pass, the odd last row
 * 1 x 4; the channels left one at a time; a depth not a multiple of 8 ends with a scalar
 * tail.  The 2 x 2 pass is compiled in only where a layer has two rows or more
 * (TG_CFG_DSP_S4_GEMM_PAIRS, tg_config.h): a classifier head alone needs about half the code.
 */
#include "tg_dsp_s4_gemm.h"

#include "tg_acle.h"
#include "tg_config.h"
#include "tg_dsp_requant.h"

#define TG_S4_MASK 0xF000F000u
#define TG_S4_CHUNK 32          /* groups of 8 depth values per exact 4096-scaled sum */

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next step's loads (which would spill registers) */
#define TG_S4_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_S4_BARRIER() ((void)0)
#endif

TG_INLINE uint32_t tg_s4_word(const uint8_t *w)
{
    return tg_read_s8x4((const int8_t *)(const void *)w);
}

/* A 4096-scaled chunk sum (exact, see above) back to its value, modulo 2^32. */
TG_INLINE uint32_t tg_s4_unscale(uint32_t acc4096)
{
    return (uint32_t)((int32_t)acc4096 / 4096);
}

/* The scalar tail: the first `n` values of the (zero padded) last group's word `w`. */
TG_INLINE uint32_t tg_s4_tail(uint32_t acc, uint32_t w, const int8_t *x, int32_t n)
{
    static const uint8_t bit[8] = {12, 8, 28, 24, 4, 0, 20, 16};   /* tg_cw.h */
    int32_t j;
    for (j = 0; j < n; ++j) {
        const int32_t v = (int32_t)(((w >> bit[j]) & 0xFu) ^ 8u) - 8;
        acc += (uint32_t)(v * (int32_t)x[j]);
    }
    return acc;
}

TG_INLINE int8_t tg_s4_out(uint32_t acc, int32_t bias, const tg_dsp_rq_t *q,
                           const tg_dsp_s4_gemm_params_t *p)
{
    int32_t r = tg_dsp_requantize_rq((int32_t)(acc + (uint32_t)bias), q);
    r = (int32_t)((uint32_t)r + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

TG_INLINE tg_dsp_rq_t tg_s4_rq(const tg_dsp_s4_gemm_params_t *p, int32_t c)
{
    const int32_t q = p->per_channel ? c : 0;
    return tg_dsp_rq(p->multiplier[q], p->shift[q]);
}

/* The mask in a register: an AND with a shifted register operand then does shift and mask
 * in one instruction (an immediate mask would need a separate shift). */
TG_INLINE uint32_t tg_s4_mask(void)
{
    uint32_t m = TG_S4_MASK;
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    __asm__("" : "+r"(m));
#endif
    return m;
}

/* One weight word against the input's 8 values as pairs (e0, o0) and (e1, o1). */
TG_INLINE uint32_t tg_s4_dot8(uint32_t a, uint32_t w, uint32_t m, uint32_t e0, uint32_t o0,
                              uint32_t e1, uint32_t o1)
{
    a = tg_smlad(e0, w & m, a);
    a = tg_smlad(o0, m & (w << 4), a);
    a = tg_smlad(e1, m & (w << 8), a);
    return tg_smlad(o1, m & (w << 12), a);
}

/* 1 row x 4 channels (their words interleaved from w on) over `groups` groups. */
static void tg_s4_1x4(const int8_t *x, const uint8_t *w, int32_t groups, uint32_t acc[4])
{
    const uint32_t m = tg_s4_mask();
    uint32_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
    while (groups > 0) {
        const int32_t n = TG_MIN(groups, TG_S4_CHUNK);
        uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int32_t g;
        for (g = 0; g < n; ++g) {
            /* values 0..3 of the group, then (the words loaded again: fewer registers
             * than keeping them) values 4..7 */
            uint32_t xw = tg_read_s8x4(x), e = tg_sxtb16(xw), o = tg_sxtb16_ror8(xw), ww;
            ww = tg_s4_word(w);
            a0 = tg_smlad(o, m & (ww << 4), tg_smlad(e, ww & m, a0));
            ww = tg_s4_word(w + 4);
            a1 = tg_smlad(o, m & (ww << 4), tg_smlad(e, ww & m, a1));
            ww = tg_s4_word(w + 8);
            a2 = tg_smlad(o, m & (ww << 4), tg_smlad(e, ww & m, a2));
            ww = tg_s4_word(w + 12);
            a3 = tg_smlad(o, m & (ww << 4), tg_smlad(e, ww & m, a3));
            TG_S4_BARRIER();
            xw = tg_read_s8x4(x + 4);
            e = tg_sxtb16(xw);
            o = tg_sxtb16_ror8(xw);
            ww = tg_s4_word(w);
            a0 = tg_smlad(o, m & (ww << 12), tg_smlad(e, m & (ww << 8), a0));
            ww = tg_s4_word(w + 4);
            a1 = tg_smlad(o, m & (ww << 12), tg_smlad(e, m & (ww << 8), a1));
            ww = tg_s4_word(w + 8);
            a2 = tg_smlad(o, m & (ww << 12), tg_smlad(e, m & (ww << 8), a2));
            ww = tg_s4_word(w + 12);
            a3 = tg_smlad(o, m & (ww << 12), tg_smlad(e, m & (ww << 8), a3));
            TG_S4_BARRIER();
            x += 8;
            w += 16;
        }
        t0 += tg_s4_unscale(a0);
        t1 += tg_s4_unscale(a1);
        t2 += tg_s4_unscale(a2);
        t3 += tg_s4_unscale(a3);
        groups -= n;
    }
    acc[0] = t0;
    acc[1] = t1;
    acc[2] = t2;
    acc[3] = t3;
}

#if TG_CFG_DSP_S4_GEMM_PAIRS
/* One group of 8 depth values for 2 rows (x0, x0 + depth) x 2 channels (words at w,
 * w + 4): the accumulators row 0 channel 0, row 0 channel 1, row 1 channel 0, ... */
TG_INLINE void tg_s4_group_2x2(const int8_t *x0, int32_t depth, const uint8_t *w, uint32_t m,
                               uint32_t *a00, uint32_t *a01, uint32_t *a10, uint32_t *a11)
{
    uint32_t xw = tg_read_s8x4(x0), e = tg_sxtb16(xw), o = tg_sxtb16_ror8(xw);
    uint32_t yw = tg_read_s8x4(x0 + depth), f = tg_sxtb16(yw), h = tg_sxtb16_ror8(yw);
    uint32_t ww = tg_s4_word(w), lo = ww & m, hi = m & (ww << 4);
    *a00 = tg_smlad(o, hi, tg_smlad(e, lo, *a00));
    *a10 = tg_smlad(h, hi, tg_smlad(f, lo, *a10));
    ww = tg_s4_word(w + 4);
    lo = ww & m;
    hi = m & (ww << 4);
    *a01 = tg_smlad(o, hi, tg_smlad(e, lo, *a01));
    *a11 = tg_smlad(h, hi, tg_smlad(f, lo, *a11));
    TG_S4_BARRIER();
    xw = tg_read_s8x4(x0 + 4);
    e = tg_sxtb16(xw);
    o = tg_sxtb16_ror8(xw);
    yw = tg_read_s8x4(x0 + depth + 4);
    f = tg_sxtb16(yw);
    h = tg_sxtb16_ror8(yw);
    ww = tg_s4_word(w);
    lo = m & (ww << 8);
    hi = m & (ww << 12);
    *a00 = tg_smlad(o, hi, tg_smlad(e, lo, *a00));
    *a10 = tg_smlad(h, hi, tg_smlad(f, lo, *a10));
    ww = tg_s4_word(w + 4);
    lo = m & (ww << 8);
    hi = m & (ww << 12);
    *a01 = tg_smlad(o, hi, tg_smlad(e, lo, *a01));
    *a11 = tg_smlad(h, hi, tg_smlad(f, lo, *a11));
}

/* 2 rows (x0, x0 + depth) x 2 channels (words at w and w + 4 of every 16 bytes: half of
 * a four) over `groups` groups: acc = row 0 channel 0, row 0 channel 1, row 1 ... */
static void tg_s4_2x2(const int8_t *x0, int32_t depth, const uint8_t *w, int32_t groups,
                      uint32_t acc[4])
{
    const uint32_t m = tg_s4_mask();
    uint32_t t00 = 0, t01 = 0, t10 = 0, t11 = 0;
    while (groups > 0) {
        const int32_t n = TG_MIN(groups, TG_S4_CHUNK);
        uint32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
        int32_t g;
        for (g = 0; g < n; ++g) {
            tg_s4_group_2x2(x0, depth, w, m, &a00, &a01, &a10, &a11);
            TG_S4_BARRIER();
            x0 += 8;
            w += 16;
        }
        t00 += tg_s4_unscale(a00);
        t01 += tg_s4_unscale(a01);
        t10 += tg_s4_unscale(a10);
        t11 += tg_s4_unscale(a11);
        groups -= n;
    }
    acc[0] = t00;
    acc[1] = t01;
    acc[2] = t10;
    acc[3] = t11;
}
#endif

/* 1 row x 1 channel (weight row w) over `groups` groups. */
static uint32_t tg_s4_1x1(const int8_t *x, const uint8_t *w, int32_t groups)
{
    const uint32_t m = tg_s4_mask();
    uint32_t t = 0;
    while (groups > 0) {
        const int32_t n = TG_MIN(groups, TG_S4_CHUNK);
        uint32_t a = 0;
        int32_t g;
        for (g = 0; g < n; ++g) {
            const uint32_t xa = tg_read_s8x4(x), xb = tg_read_s8x4(x + 4);
            a = tg_s4_dot8(a, tg_s4_word(w), m, tg_sxtb16(xa), tg_sxtb16_ror8(xa),
                           tg_sxtb16(xb), tg_sxtb16_ror8(xb));
            x += 8;
            w += 4;
        }
        t += tg_s4_unscale(a);
        groups -= n;
    }
    return t;
}

void tg_dsp_s4_gemm_s8(const tg_dsp_s4_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t groups = depth >> 3;               /* whole groups */
    const int32_t tail = depth & 7;
    const size_t row_bytes = (size_t)p->weights.row_bytes;   /* all groups, tail included */
    const int32_t channels = p->channels;
    const uint8_t *w = p->weights.data;
    uint32_t acc[4];
    tg_dsp_rq_t q[4];
    int32_t r, c, k;
    for (c = 0; c + 4 <= channels; c += 4) {      /* 4 channels x every row */
        for (k = 0; k < 4; ++k) {
            q[k] = tg_s4_rq(p, c + k);
        }
        r = 0;
#if TG_CFG_DSP_S4_GEMM_PAIRS
        for (; r + 1 < p->rows; r += 2) {        /* pairs of rows: 2 x 2, twice */
            const int8_t *x = input + (size_t)r * (size_t)depth;
            int8_t *out = output + (size_t)r * (size_t)channels + c;
            for (k = 0; k < 4; k += 2) {
                tg_s4_2x2(x, depth, w + 4 * k, groups, acc);
                if (tail) {
                    const uint32_t w0 = tg_s4_word(w + (size_t)(groups * 16 + k * 4));
                    const uint32_t w1 = tg_s4_word(w + (size_t)(groups * 16 + k * 4 + 4));
                    const int8_t *xt = x + (size_t)groups * 8u;
                    acc[0] = tg_s4_tail(acc[0], w0, xt, tail);
                    acc[1] = tg_s4_tail(acc[1], w1, xt, tail);
                    acc[2] = tg_s4_tail(acc[2], w0, xt + depth, tail);
                    acc[3] = tg_s4_tail(acc[3], w1, xt + depth, tail);
                }
                out[k] = tg_s4_out(acc[0], p->bias[c + k], &q[k], p);
                out[k + 1] = tg_s4_out(acc[1], p->bias[c + k + 1], &q[k + 1], p);
                out[channels + k] = tg_s4_out(acc[2], p->bias[c + k], &q[k], p);
                out[channels + k + 1] = tg_s4_out(acc[3], p->bias[c + k + 1], &q[k + 1], p);
            }
        }
#endif
        if (r < p->rows) {                        /* the odd last row: 1 x 4 */
            const int8_t *x = input + (size_t)r * (size_t)depth;
            int8_t *out = output + (size_t)r * (size_t)channels + c;
            tg_s4_1x4(x, w, groups, acc);
            for (k = 0; k < 4; ++k) {
                if (tail) {
                    acc[k] = tg_s4_tail(acc[k], tg_s4_word(w + (size_t)(groups * 16 + k * 4)),
                                        x + (size_t)groups * 8u, tail);
                }
                out[k] = tg_s4_out(acc[k], p->bias[c + k], &q[k], p);
            }
        }
        w += 4 * row_bytes;
    }
    for (; c < channels; ++c) {                   /* the channels left, one row each */
        q[0] = tg_s4_rq(p, c);
        for (r = 0; r < p->rows; ++r) {
            const int8_t *x = input + (size_t)r * (size_t)depth;
            uint32_t a = tg_s4_1x1(x, w, groups);
            if (tail) {
                a = tg_s4_tail(a, tg_s4_word(w + (size_t)groups * 4u), x + (size_t)groups * 8u,
                               tail);
            }
            output[(size_t)r * (size_t)channels + (size_t)c] = tg_s4_out(a, p->bias[c], &q[0], p);
        }
        w += row_bytes;
    }
}
