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

TG_INLINE int8_t tg_dsp_gemm_out(const tg_dsp_gemm_params_t *p, uint32_t acc, int32_t c)
{
    const int32_t q = p->per_channel ? c : 0;
    int32_t r = tg_dsp_requantize((int32_t)acc, p->multiplier[q], p->shift[q]);
    r = (int32_t)((uint32_t)r + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

/* Accumulate a product into a modulo-2^32 sum. */
TG_INLINE uint32_t tg_dsp_mac(uint32_t acc, int8_t w, int8_t x)
{
    return acc + (uint32_t)((int32_t)w * (int32_t)x);
}

/* One output channel (weights a plain row of `depth`) for every row. */
static void tg_dsp_gemm_one_channel(const tg_dsp_gemm_params_t *p, const int8_t *input,
                                    int8_t *output, int32_t c)
{
    const int32_t depth = p->depth;
    const int8_t *wrow = p->weights + (size_t)c * (size_t)depth;
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
        output[(size_t)r * (size_t)p->channels + (size_t)c] = tg_dsp_gemm_out(p, acc, c);
    }
}

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t quads = depth >> 2;
    const int32_t tail = depth & 3;
    const int32_t rows = p->rows;
    const size_t ch = (size_t)p->channels;
    int32_t c;
    for (c = 0; c + 1 < p->channels; c += 2) {
        const int8_t *wpair = p->weights + (size_t)c * (size_t)depth;
        const uint32_t b0 = (uint32_t)p->bias[c];
        const uint32_t b1 = (uint32_t)p->bias[c + 1];
        int32_t r;
        for (r = 0; r + 1 < rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * (size_t)depth;
            const int8_t *x1 = x0 + depth;
            const int8_t *w = wpair;
            uint32_t a00 = b0, a01 = b1, a10 = b0, a11 = b1;   /* a<row><channel> */
            int32_t k;
            for (k = 0; k < quads; ++k) {
                const uint32_t xa = tg_read_s8x4(x0);
                const uint32_t xb = tg_read_s8x4(x1);
                const uint32_t xa_e = tg_sxtb16(xa), xa_o = tg_sxtb16_ror8(xa);
                const uint32_t xb_e = tg_sxtb16(xb), xb_o = tg_sxtb16_ror8(xb);
                uint32_t ww = tg_read_s8x4(w);
                uint32_t we = tg_sxtb16(ww), wo = tg_sxtb16_ror8(ww);
                a00 = tg_smlad(xa_e, we, a00);
                a00 = tg_smlad(xa_o, wo, a00);
                a10 = tg_smlad(xb_e, we, a10);
                a10 = tg_smlad(xb_o, wo, a10);
                ww = tg_read_s8x4(w + 4);
                we = tg_sxtb16(ww);
                wo = tg_sxtb16_ror8(ww);
                a01 = tg_smlad(xa_e, we, a01);
                a01 = tg_smlad(xa_o, wo, a01);
                a11 = tg_smlad(xb_e, we, a11);
                a11 = tg_smlad(xb_o, wo, a11);
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
            output[(size_t)r * ch + (size_t)c] = tg_dsp_gemm_out(p, a00, c);
            output[(size_t)r * ch + (size_t)c + 1] = tg_dsp_gemm_out(p, a01, c + 1);
            output[(size_t)(r + 1) * ch + (size_t)c] = tg_dsp_gemm_out(p, a10, c);
            output[(size_t)(r + 1) * ch + (size_t)c + 1] = tg_dsp_gemm_out(p, a11, c + 1);
        }
        if (r < rows) {      /* an odd last row: 1 row x 2 channels */
            const int8_t *x0 = input + (size_t)r * (size_t)depth;
            const int8_t *w = wpair;
            uint32_t a00 = b0, a01 = b1;
            int32_t k;
            for (k = 0; k < quads; ++k) {
                const uint32_t xa = tg_read_s8x4(x0);
                const uint32_t xa_e = tg_sxtb16(xa), xa_o = tg_sxtb16_ror8(xa);
                uint32_t ww = tg_read_s8x4(w);
                a00 = tg_smlad(xa_e, tg_sxtb16(ww), a00);
                a00 = tg_smlad(xa_o, tg_sxtb16_ror8(ww), a00);
                ww = tg_read_s8x4(w + 4);
                a01 = tg_smlad(xa_e, tg_sxtb16(ww), a01);
                a01 = tg_smlad(xa_o, tg_sxtb16_ror8(ww), a01);
                x0 += 4;
                w += 8;
            }
            for (k = 0; k < tail; ++k) {
                a00 = tg_dsp_mac(a00, w[k], x0[k]);
                a01 = tg_dsp_mac(a01, w[tail + k], x0[k]);
            }
            output[(size_t)r * ch + (size_t)c] = tg_dsp_gemm_out(p, a00, c);
            output[(size_t)r * ch + (size_t)c + 1] = tg_dsp_gemm_out(p, a01, c + 1);
        }
    }
    if (c < p->channels) {
        tg_dsp_gemm_one_channel(p, input, output, c);
    }
}
