/*
 * tg_dsp_s4_gemm.c - GEMM with int4 weights read from flash, SMLAD on the DSP extension.
 *
 * Same arithmetic as tg_dsp_gemm_s8 (TFLite's reference FullyConnected / 1x1 Conv with
 * the input zero point folded into the bias).  A weight word holds 8 values (tg_cw.h):
 * w & 0xF0F0F0F0 has values 0..3 times 16 in its byte lanes, (w << 4) & 0xF0F0F0F0
 * values 4..7 times 16, so SXTB16 splits them into int16 pairs as it does int8 weights,
 * with no unpacking.  The sums are then 16 times the dot product: exact while
 * 16 * 8 * 128 * depth < 2^31 (depth < 131072, checked by the generator), and divided
 * by 16 (exactly) before the bias is added.  A depth not a multiple of 8 ends with a
 * scalar tail.  2 rows x 2 channels per pass, then the odd row, then the odd channel.
 */
#include "tg_dsp_s4_gemm.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

#define TG_S4_MASK 0xF0F0F0F0u

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

/* The scalar tail of a row (depth values from `from`), times 16 like the SIMD sums. */
TG_INLINE uint32_t tg_s4_tail(uint32_t acc, const tg_cw_t *cw, const uint8_t *wrow,
                              const int8_t *x, int32_t from, int32_t depth)
{
    int32_t d;
    for (d = from; d < depth; ++d) {
        acc += (uint32_t)(tg_cw_get(cw, wrow, d, 0) * 16 * (int32_t)x[d]);
    }
    return acc;
}

TG_INLINE int8_t tg_s4_out(const tg_dsp_s4_gemm_params_t *p, int32_t c, uint32_t acc16)
{
    const int32_t q = p->per_channel ? c : 0;
    const tg_dsp_rq_t rq = tg_dsp_rq(p->multiplier[q], p->shift[q]);
    /* acc16 is 16 times a sum that fits int32 (see above): the division is exact */
    const uint32_t acc = (uint32_t)p->bias[c] + (uint32_t)((int32_t)acc16 / 16);
    int32_t r = tg_dsp_requantize_rq((int32_t)acc, &rq);
    r = (int32_t)((uint32_t)r + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

/* 2 rows x 2 channels (weight rows w0, w1) over every whole group of 8 depth values. */
static void tg_s4_2x2(const int8_t *x0, const int8_t *x1, const uint8_t *w0, const uint8_t *w1,
                      int32_t groups, uint32_t acc[4])
{
    uint32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t g;
    for (g = 0; g < groups; ++g) {
        const uint32_t ww0 = tg_s4_word(w0), ww1 = tg_s4_word(w1);
        uint32_t xa = tg_read_s8x4(x0), xb = tg_read_s8x4(x1);
        uint32_t xae = tg_sxtb16(xa), xao = tg_sxtb16_ror8(xa);
        uint32_t xbe = tg_sxtb16(xb), xbo = tg_sxtb16_ror8(xb);
        uint32_t h = ww0 & TG_S4_MASK;
        uint32_t we = tg_sxtb16(h), wo = tg_sxtb16_ror8(h);
        a00 = tg_smlad(xao, wo, tg_smlad(xae, we, a00));
        a10 = tg_smlad(xbo, wo, tg_smlad(xbe, we, a10));
        h = ww1 & TG_S4_MASK;
        we = tg_sxtb16(h);
        wo = tg_sxtb16_ror8(h);
        a01 = tg_smlad(xao, wo, tg_smlad(xae, we, a01));
        a11 = tg_smlad(xbo, wo, tg_smlad(xbe, we, a11));
        TG_S4_BARRIER();
        xa = tg_read_s8x4(x0 + 4);
        xb = tg_read_s8x4(x1 + 4);
        xae = tg_sxtb16(xa);
        xao = tg_sxtb16_ror8(xa);
        xbe = tg_sxtb16(xb);
        xbo = tg_sxtb16_ror8(xb);
        h = (ww0 << 4) & TG_S4_MASK;
        we = tg_sxtb16(h);
        wo = tg_sxtb16_ror8(h);
        a00 = tg_smlad(xao, wo, tg_smlad(xae, we, a00));
        a10 = tg_smlad(xbo, wo, tg_smlad(xbe, we, a10));
        h = (ww1 << 4) & TG_S4_MASK;
        we = tg_sxtb16(h);
        wo = tg_sxtb16_ror8(h);
        a01 = tg_smlad(xao, wo, tg_smlad(xae, we, a01));
        a11 = tg_smlad(xbo, wo, tg_smlad(xbe, we, a11));
        x0 += 8;
        x1 += 8;
        w0 += 4;
        w1 += 4;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

/* 1 row x 4 channels (weight rows w0..w3) over every whole group of 8 depth values. */
static void tg_s4_1x4(const int8_t *x, const uint8_t *w0, const uint8_t *w1, const uint8_t *w2,
                      const uint8_t *w3, int32_t groups, uint32_t acc[4])
{
    uint32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int32_t g;
    for (g = 0; g < groups; ++g) {
        const uint32_t xa = tg_read_s8x4(x), xb = tg_read_s8x4(x + 4);
        const uint32_t xae = tg_sxtb16(xa), xao = tg_sxtb16_ror8(xa);
        const uint32_t xbe = tg_sxtb16(xb), xbo = tg_sxtb16_ror8(xb);
        uint32_t ww = tg_s4_word(w0), h = ww & TG_S4_MASK, l = (ww << 4) & TG_S4_MASK;
        a0 = tg_smlad(xao, tg_sxtb16_ror8(h), tg_smlad(xae, tg_sxtb16(h), a0));
        a0 = tg_smlad(xbo, tg_sxtb16_ror8(l), tg_smlad(xbe, tg_sxtb16(l), a0));
        ww = tg_s4_word(w1);
        h = ww & TG_S4_MASK;
        l = (ww << 4) & TG_S4_MASK;
        a1 = tg_smlad(xao, tg_sxtb16_ror8(h), tg_smlad(xae, tg_sxtb16(h), a1));
        a1 = tg_smlad(xbo, tg_sxtb16_ror8(l), tg_smlad(xbe, tg_sxtb16(l), a1));
        ww = tg_s4_word(w2);
        h = ww & TG_S4_MASK;
        l = (ww << 4) & TG_S4_MASK;
        a2 = tg_smlad(xao, tg_sxtb16_ror8(h), tg_smlad(xae, tg_sxtb16(h), a2));
        a2 = tg_smlad(xbo, tg_sxtb16_ror8(l), tg_smlad(xbe, tg_sxtb16(l), a2));
        ww = tg_s4_word(w3);
        h = ww & TG_S4_MASK;
        l = (ww << 4) & TG_S4_MASK;
        a3 = tg_smlad(xao, tg_sxtb16_ror8(h), tg_smlad(xae, tg_sxtb16(h), a3));
        a3 = tg_smlad(xbo, tg_sxtb16_ror8(l), tg_smlad(xbe, tg_sxtb16(l), a3));
        x += 8;
        w0 += 4;
        w1 += 4;
        w2 += 4;
        w3 += 4;
    }
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

void tg_dsp_s4_gemm_s8(const tg_dsp_s4_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const tg_cw_t *cw = &p->weights;
    const int32_t depth = p->depth;
    const int32_t groups = depth >> 3;
    const int32_t done = groups << 3;
    const size_t ch = (size_t)p->channels;
    uint32_t acc[4];
    int32_t r, c, k;
    /* pairs of rows, pairs of channels */
    for (c = 0; c + 1 < p->channels; c += 2) {
        const uint8_t *w0 = tg_cw_row(cw, c), *w1 = tg_cw_row(cw, c + 1);
        for (r = 0; r + 1 < p->rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * (size_t)depth, *x1 = x0 + depth;
            tg_s4_2x2(x0, x1, w0, w1, groups, acc);
            output[(size_t)r * ch + (size_t)c] =
                tg_s4_out(p, c, tg_s4_tail(acc[0], cw, w0, x0, done, depth));
            output[(size_t)r * ch + (size_t)c + 1] =
                tg_s4_out(p, c + 1, tg_s4_tail(acc[1], cw, w1, x0, done, depth));
            output[(size_t)(r + 1) * ch + (size_t)c] =
                tg_s4_out(p, c, tg_s4_tail(acc[2], cw, w0, x1, done, depth));
            output[(size_t)(r + 1) * ch + (size_t)c + 1] =
                tg_s4_out(p, c + 1, tg_s4_tail(acc[3], cw, w1, x1, done, depth));
        }
    }
    /* the odd last row (all of a batch-1 fully connected layer): 4 channels per pass */
    if (p->rows & 1) {
        const int8_t *x = input + (size_t)(p->rows - 1) * (size_t)depth;
        int8_t *out = output + (size_t)(p->rows - 1) * ch;
        for (c = 0; c < p->channels; c += 4) {
            const uint8_t *w[4];
            const int32_t n = TG_MIN(4, p->channels - c);
            for (k = 0; k < 4; ++k) {   /* missing channels repeat the first (not stored) */
                w[k] = tg_cw_row(cw, k < n ? c + k : c);
            }
            tg_s4_1x4(x, w[0], w[1], w[2], w[3], groups, acc);
            for (k = 0; k < n; ++k) {
                out[c + k] = tg_s4_out(p, c + k, tg_s4_tail(acc[k], cw, w[k], x, done, depth));
            }
        }
    }
    /* the odd last channel, for the rows of the pairs above */
    if (p->channels & 1) {
        const int32_t cl = p->channels - 1;
        const uint8_t *wl = tg_cw_row(cw, cl);
        for (r = 0; r + 1 < p->rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * (size_t)depth, *x1 = x0 + depth;
            tg_s4_2x2(x0, x1, wl, wl, groups, acc);
            output[(size_t)r * ch + (size_t)cl] =
                tg_s4_out(p, cl, tg_s4_tail(acc[0], cw, wl, x0, done, depth));
            output[(size_t)(r + 1) * ch + (size_t)cl] =
                tg_s4_out(p, cl, tg_s4_tail(acc[2], cw, wl, x1, done, depth));
        }
    }
}
