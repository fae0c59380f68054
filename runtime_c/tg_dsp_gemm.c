/*
 * tg_dsp_gemm.c - int8 GEMM for FULLY_CONNECTED and pointwise CONV_2D with SMLAD.
 *
 * Same arithmetic as TFLite's reference FullyConnected / Conv (1x1, stride 1, no
 * padding): a 32-bit sum of int8 products (the input offset folded into the bias,
 * exact modulo 2^32), then MultiplyByQuantizedMultiplier (tg_dsp_requantize, the same
 * values as tg_requantize in fewer instructions), the output
 * offset and the activation clamp.  The main loop computes 2 rows x 2 output channels
 * per pass, 4 depth values per step: SXTB16 splits each word of 4 int8 into the even
 * and odd lanes as int16 pairs, and SMLAD multiplies and adds two pairs at once.
 */
#include "tg_dsp_gemm.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

/* The output bounds and offset, copied out of the params once. */
typedef struct {
    int32_t offset;
    int32_t lo;
    int32_t hi;
} tg_dsp_out_t;

TG_INLINE int8_t tg_dsp_gemm_out(uint32_t acc, const tg_dsp_rq_t *q, const tg_dsp_out_t *o)
{
    int32_t r = tg_dsp_requantize_rq((int32_t)acc, q);
    r = (int32_t)((uint32_t)r + (uint32_t)o->offset);
    return (int8_t)tg_clamp(r, o->lo, o->hi);
}

TG_INLINE tg_dsp_rq_t tg_dsp_gemm_rq(const tg_dsp_gemm_params_t *p, int32_t c)
{
    const int32_t q = p->per_channel ? c : 0;
    return tg_dsp_rq(p->multiplier[q], p->shift[q]);
}

/* Accumulate a product into a modulo-2^32 sum. */
TG_INLINE uint32_t tg_dsp_mac(uint32_t acc, int8_t w, int8_t x)
{
    return acc + (uint32_t)((int32_t)w * (int32_t)x);
}

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next step's loads (which would spill registers) */
#define TG_DSP_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_DSP_BARRIER() ((void)0)
#endif

/* 2 rows x 2 channels x 4 depth values: x0, x1 the rows, w the pair's 8 weights. */
TG_INLINE void tg_dsp_quad_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w,
                               uint32_t *a00, uint32_t *a01, uint32_t *a10, uint32_t *a11)
{
    const uint32_t xa = tg_read_s8x4(x0);
    const uint32_t xb = tg_read_s8x4(x1);
    const uint32_t xa_e = tg_sxtb16(xa), xa_o = tg_sxtb16_ror8(xa);
    const uint32_t xb_e = tg_sxtb16(xb), xb_o = tg_sxtb16_ror8(xb);
    uint32_t ww = tg_read_s8x4(w);
    uint32_t we = tg_sxtb16(ww), wo = tg_sxtb16_ror8(ww);
    *a00 = tg_smlad(xa_o, wo, tg_smlad(xa_e, we, *a00));
    *a10 = tg_smlad(xb_o, wo, tg_smlad(xb_e, we, *a10));
    ww = tg_read_s8x4(w + 4);
    we = tg_sxtb16(ww);
    wo = tg_sxtb16_ror8(ww);
    *a01 = tg_smlad(xa_o, wo, tg_smlad(xa_e, we, *a01));
    *a11 = tg_smlad(xb_o, wo, tg_smlad(xb_e, we, *a11));
}

/* 1 row x 4 channels (two pairs, weights at wa and wb) x 4 depth values. */
TG_INLINE void tg_dsp_quad_1x4(const int8_t *x, const int8_t *wa, const int8_t *wb,
                               uint32_t *a0, uint32_t *a1, uint32_t *a2, uint32_t *a3)
{
    const uint32_t xw = tg_read_s8x4(x);
    const uint32_t xe = tg_sxtb16(xw), xo = tg_sxtb16_ror8(xw);
    uint32_t ww = tg_read_s8x4(wa);
    *a0 = tg_smlad(xo, tg_sxtb16_ror8(ww), tg_smlad(xe, tg_sxtb16(ww), *a0));
    ww = tg_read_s8x4(wa + 4);
    *a1 = tg_smlad(xo, tg_sxtb16_ror8(ww), tg_smlad(xe, tg_sxtb16(ww), *a1));
    ww = tg_read_s8x4(wb);
    *a2 = tg_smlad(xo, tg_sxtb16_ror8(ww), tg_smlad(xe, tg_sxtb16(ww), *a2));
    ww = tg_read_s8x4(wb + 4);
    *a3 = tg_smlad(xo, tg_sxtb16_ror8(ww), tg_smlad(xe, tg_sxtb16(ww), *a3));
}

/*
 * One row (the last of an odd count: all of a batch-1 fully connected layer) for every
 * channel pair: 4 channels per pass, then a last pair.  An odd last channel is left to
 * tg_dsp_gemm_one_channel.
 */
static void tg_dsp_gemm_last_row(const tg_dsp_gemm_params_t *p, const int8_t *x, int8_t *out,
                                 const tg_dsp_out_t *o)
{
    const int32_t depth = p->depth;
    const int32_t quads = depth >> 2;
    const int32_t tail = depth & 3;
    const int32_t pairs_end = p->channels & ~1;
    int32_t c, k;
    for (c = 0; c < pairs_end; c += 4) {
        const int8_t *wa = p->weights + (size_t)c * (size_t)depth;
        /* without a second pair, run the first twice (its result is not stored) */
        const int32_t cb = c + 2 < pairs_end ? c + 2 : c;
        const int8_t *wb = p->weights + (size_t)cb * (size_t)depth;
        const int8_t *xp = x;
        uint32_t a0 = (uint32_t)p->bias[c], a1 = (uint32_t)p->bias[c + 1];
        uint32_t a2 = (uint32_t)p->bias[cb], a3 = (uint32_t)p->bias[cb + 1];
        tg_dsp_rq_t q;
        for (k = 0; k + 2 <= quads; k += 2) {
            tg_dsp_quad_1x4(xp, wa, wb, &a0, &a1, &a2, &a3);
            TG_DSP_BARRIER();
            tg_dsp_quad_1x4(xp + 4, wa + 8, wb + 8, &a0, &a1, &a2, &a3);
            xp += 8;
            wa += 16;
            wb += 16;
        }
        if (k < quads) {
            tg_dsp_quad_1x4(xp, wa, wb, &a0, &a1, &a2, &a3);
            xp += 4;
            wa += 8;
            wb += 8;
        }
        for (k = 0; k < tail; ++k) {
            a0 = tg_dsp_mac(a0, wa[k], xp[k]);
            a1 = tg_dsp_mac(a1, wa[tail + k], xp[k]);
            a2 = tg_dsp_mac(a2, wb[k], xp[k]);
            a3 = tg_dsp_mac(a3, wb[tail + k], xp[k]);
        }
        q = tg_dsp_gemm_rq(p, c);
        out[c] = tg_dsp_gemm_out(a0, &q, o);
        q = tg_dsp_gemm_rq(p, c + 1);
        out[c + 1] = tg_dsp_gemm_out(a1, &q, o);
        if (cb != c) {
            q = tg_dsp_gemm_rq(p, cb);
            out[cb] = tg_dsp_gemm_out(a2, &q, o);
            q = tg_dsp_gemm_rq(p, cb + 1);
            out[cb + 1] = tg_dsp_gemm_out(a3, &q, o);
        }
    }
}

/* One output channel (weights a plain row of `depth`) for every row. */
static void tg_dsp_gemm_one_channel(const tg_dsp_gemm_params_t *p, const int8_t *input,
                                    int8_t *output, int32_t c)
{
    const int32_t depth = p->depth;
    const int8_t *wrow = p->weights + (size_t)c * (size_t)depth;
    const tg_dsp_rq_t q = tg_dsp_gemm_rq(p, c);
    const tg_dsp_out_t o = {p->output_offset, p->act_min, p->act_max};
    int32_t r, k;
    for (r = 0; r < p->rows; ++r) {
        const int8_t *x = input + (size_t)r * (size_t)depth;
        const int8_t *w = wrow;
        uint32_t acc = (uint32_t)p->bias[c];
        for (k = 0; k + 4 <= depth; k += 4) {
            const uint32_t xw = tg_read_s8x4(x);
            const uint32_t ww = tg_read_s8x4(w);
            acc = tg_smlad(tg_sxtb16(xw), tg_sxtb16(ww), acc);
            acc = tg_smlad(tg_sxtb16_ror8(xw), tg_sxtb16_ror8(ww), acc);
            x += 4;
            w += 4;
        }
        for (; k < depth; ++k) {
            acc = tg_dsp_mac(acc, *w++, *x++);
        }
        output[(size_t)r * (size_t)p->channels + (size_t)c] = tg_dsp_gemm_out(acc, &q, &o);
    }
}

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t quads = depth >> 2;
    const int32_t tail = depth & 3;
    const int32_t rows = p->rows;
    const size_t ch = (size_t)p->channels;
    const tg_dsp_out_t o = {p->output_offset, p->act_min, p->act_max};
    int32_t c;
    for (c = 0; c + 1 < p->channels; c += 2) {
        const int8_t *wpair = p->weights + (size_t)c * (size_t)depth;
        const uint32_t b0 = (uint32_t)p->bias[c];
        const uint32_t b1 = (uint32_t)p->bias[c + 1];
        const tg_dsp_rq_t q0 = tg_dsp_gemm_rq(p, c);
        const tg_dsp_rq_t q1 = tg_dsp_gemm_rq(p, c + 1);
        int32_t r;
        for (r = 0; r + 1 < rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * (size_t)depth;
            const int8_t *x1 = x0 + depth;
            const int8_t *w = wpair;
            uint32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;   /* a<row><channel> */
            int32_t k;
            for (k = 0; k + 4 <= quads; k += 4) {      /* 16 depth values per step */
                tg_dsp_quad_2x2(x0, x1, w, &a00, &a01, &a10, &a11);
                TG_DSP_BARRIER();
                tg_dsp_quad_2x2(x0 + 4, x1 + 4, w + 8, &a00, &a01, &a10, &a11);
                TG_DSP_BARRIER();
                tg_dsp_quad_2x2(x0 + 8, x1 + 8, w + 16, &a00, &a01, &a10, &a11);
                TG_DSP_BARRIER();
                tg_dsp_quad_2x2(x0 + 12, x1 + 12, w + 24, &a00, &a01, &a10, &a11);
                x0 += 16;
                x1 += 16;
                w += 32;
            }
            for (; k < quads; ++k) {
                tg_dsp_quad_2x2(x0, x1, w, &a00, &a01, &a10, &a11);
                x0 += 4;
                x1 += 4;
                w += 8;
            }
            for (k = 0; k < tail; ++k) {
                a00 = tg_dsp_mac(a00, w[k], x0[k]);
                a10 = tg_dsp_mac(a10, w[k], x1[k]);
                a01 = tg_dsp_mac(a01, w[tail + k], x0[k]);
                a11 = tg_dsp_mac(a11, w[tail + k], x1[k]);
            }
            output[(size_t)r * ch + (size_t)c] = tg_dsp_gemm_out(a00, &q0, &o);
            output[(size_t)r * ch + (size_t)c + 1] = tg_dsp_gemm_out(a01, &q1, &o);
            output[(size_t)(r + 1) * ch + (size_t)c] = tg_dsp_gemm_out(a10, &q0, &o);
            output[(size_t)(r + 1) * ch + (size_t)c + 1] = tg_dsp_gemm_out(a11, &q1, &o);
        }
    }
    if (rows & 1) {
        tg_dsp_gemm_last_row(p, input + (size_t)(rows - 1) * (size_t)depth,
                             output + (size_t)(rows - 1) * ch, &o);
    }
    if (c < p->channels) {
        tg_dsp_gemm_one_channel(p, input, output, c);
    }
}
