/*
 * tg_dsp_pal_gemm.c - GEMM with palette-compressed weights, SMLAD on the DSP extension.
 *
 * Same arithmetic as tg_dsp_gemm_s8 (TFLite's reference FullyConnected / 1x1 Conv with
 * the input zero point folded into the bias).  Output channels go in pairs: the pair's
 * two rows of indices are looked up in their tables once into `scratch` (2 * depth
 * int8), then every input row is multiplied with them, 2 rows x 2 channels per pass
 * with SXTB16 + SMLAD.  The look-ups cost about as much as one row's multiplications,
 * so the generator uses this kernel only for layers with several rows.
 */
#include "tg_dsp_pal_gemm.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

/* Channel c's values into dst[0 .. depth-1]. */
static void tg_pal_decode(const tg_cw_t *cw, int32_t c, int32_t depth, int8_t *dst)
{
    const uint8_t *row = tg_cw_row(cw, c);
    const int8_t *t = cw->table + (size_t)c * (size_t)cw->table_stride;
    int32_t i;
    if (cw->bits == 4) {
        for (i = 0; i + 2 <= depth; i += 2) {
            const uint32_t b = row[i >> 1];
            dst[i] = t[b & 15u];
            dst[i + 1] = t[b >> 4];
        }
    } else if (cw->bits == 2) {
        for (i = 0; i + 4 <= depth; i += 4) {
            const uint32_t b = row[i >> 2];
            dst[i] = t[b & 3u];
            dst[i + 1] = t[(b >> 2) & 3u];
            dst[i + 2] = t[(b >> 4) & 3u];
            dst[i + 3] = t[b >> 6];
        }
    } else {
        for (i = 0; i + 8 <= depth; i += 8) {
            const uint32_t b = row[i >> 3];
            int32_t j;
            for (j = 0; j < 8; ++j) {
                dst[i + j] = t[(b >> j) & 1u];
            }
        }
    }
    for (; i < depth; ++i) {   /* what the loops above left */
        dst[i] = (int8_t)tg_cw_get(cw, row, i, c);
    }
}

TG_INLINE int8_t tg_pal_out(uint32_t acc, int32_t bias, const tg_dsp_rq_t *q,
                            const tg_dsp_pal_gemm_params_t *p)
{
    int32_t r = tg_dsp_requantize_rq((int32_t)(acc + (uint32_t)bias), q);
    r = (int32_t)((uint32_t)r + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

TG_INLINE tg_dsp_rq_t tg_pal_rq(const tg_dsp_pal_gemm_params_t *p, int32_t c)
{
    const int32_t q = p->per_channel ? c : 0;
    return tg_dsp_rq(p->multiplier[q], p->shift[q]);
}

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next step's loads (which would spill registers) */
#define TG_PAL_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_PAL_BARRIER() ((void)0)
#endif

/* 2 rows x 2 channels x 4 depth values. */
TG_INLINE void tg_pal_quad_2x2(const int8_t *x0, const int8_t *x1, const int8_t *wa,
                               const int8_t *wb, uint32_t *a00, uint32_t *a01, uint32_t *a10,
                               uint32_t *a11)
{
    const uint32_t xa = tg_read_s8x4(x0), xb = tg_read_s8x4(x1);
    const uint32_t xae = tg_sxtb16(xa), xao = tg_sxtb16_ror8(xa);
    const uint32_t xbe = tg_sxtb16(xb), xbo = tg_sxtb16_ror8(xb);
    uint32_t w = tg_read_s8x4(wa);
    uint32_t we = tg_sxtb16(w), wo = tg_sxtb16_ror8(w);
    *a00 = tg_smlad(xao, wo, tg_smlad(xae, we, *a00));
    *a10 = tg_smlad(xbo, wo, tg_smlad(xbe, we, *a10));
    w = tg_read_s8x4(wb);
    we = tg_sxtb16(w);
    wo = tg_sxtb16_ror8(w);
    *a01 = tg_smlad(xao, wo, tg_smlad(xae, we, *a01));
    *a11 = tg_smlad(xbo, wo, tg_smlad(xbe, we, *a11));
}

/* Sums of x0, x1 (depth values each) with the decoded rows wa, wb: a00 a01 a10 a11. */
static void tg_pal_2x2(const int8_t *x0, const int8_t *x1, const int8_t *wa, const int8_t *wb,
                       int32_t depth, uint32_t acc[4])
{
    uint32_t a00 = 0, a01 = 0, a10 = 0, a11 = 0;
    int32_t k;
    for (k = 0; k + 8 <= depth; k += 8) {      /* 8 depth values per step */
        tg_pal_quad_2x2(x0 + k, x1 + k, wa + k, wb + k, &a00, &a01, &a10, &a11);
        TG_PAL_BARRIER();
        tg_pal_quad_2x2(x0 + k + 4, x1 + k + 4, wa + k + 4, wb + k + 4, &a00, &a01, &a10, &a11);
    }
    if (k + 4 <= depth) {
        tg_pal_quad_2x2(x0 + k, x1 + k, wa + k, wb + k, &a00, &a01, &a10, &a11);
        k += 4;
    }
    for (; k < depth; ++k) {
        a00 += (uint32_t)((int32_t)x0[k] * (int32_t)wa[k]);
        a01 += (uint32_t)((int32_t)x0[k] * (int32_t)wb[k]);
        a10 += (uint32_t)((int32_t)x1[k] * (int32_t)wa[k]);
        a11 += (uint32_t)((int32_t)x1[k] * (int32_t)wb[k]);
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

void tg_dsp_pal_gemm_s8(const tg_dsp_pal_gemm_params_t *p, const int8_t *input, int8_t *output,
                        int8_t *scratch)
{
    const int32_t depth = p->depth, rows = p->rows, channels = p->channels;
    const size_t ch = (size_t)channels;
    uint32_t acc[4];
    int32_t c, r;
    for (c = 0; c < channels; c += 2) {
        /* an odd last channel is paired with itself (its second results are not stored) */
        const int32_t c1 = c + 1 < channels ? c + 1 : c;
        const tg_dsp_rq_t q0 = tg_pal_rq(p, c), q1 = tg_pal_rq(p, c1);
        int8_t *wa = scratch, *wb = scratch + depth;
        tg_pal_decode(&p->weights, c, depth, wa);
        tg_pal_decode(&p->weights, c1, depth, wb);
        for (r = 0; r < rows; r += 2) {
            const int8_t *x0 = input + (size_t)r * (size_t)depth;
            /* an odd last row is paired with itself (its second results are not stored) */
            const int8_t *x1 = r + 1 < rows ? x0 + depth : x0;
            int8_t *o0 = output + (size_t)r * ch + (size_t)c;
            tg_pal_2x2(x0, x1, wa, wb, depth, acc);
            o0[0] = tg_pal_out(acc[0], p->bias[c], &q0, p);
            if (c1 != c) {
                o0[1] = tg_pal_out(acc[1], p->bias[c1], &q1, p);
            }
            if (r + 1 < rows) {
                o0[ch] = tg_pal_out(acc[2], p->bias[c], &q0, p);
                if (c1 != c) {
                    o0[ch + 1] = tg_pal_out(acc[3], p->bias[c1], &q1, p);
                }
            }
        }
    }
}
