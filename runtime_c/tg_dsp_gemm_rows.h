/*
 * tg_dsp_gemm_rows.h - two int8 rows sign-extended into the int16 pairs the GEMM's pair
 * pass reads (tg_dsp_gemm.h: per 4-value step, row 0's even and odd values, then row 1's),
 * shared by tg_dsp_gemm.c and the compressed-filter GEMM, tg_dsp_cw_gemm.c.
 */
#ifndef TG_DSP_GEMM_ROWS_H
#define TG_DSP_GEMM_ROWS_H

#include "tg_acle.h"
#include "tg_common.h"

/* The first n (0..3) int8 values at x as a word, zero above. */
static inline uint32_t tg_dsp_gemm_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | (uint8_t)x[n];
    }
    return v;
}

/* One 4-value step of each row (words a and b) into d[0..3]. */
TG_INLINE void tg_dsp_gemm_widen4(uint32_t a, uint32_t b, uint32_t *d)
{
    d[0] = tg_sxtb16(a);
    d[1] = tg_sxtb16_ror8(a);
    d[2] = tg_sxtb16(b);
    d[3] = tg_sxtb16_ror8(b);
}

/* Values k .. depth - 1 of rows x0 and x1 into d, 4-value steps and a zero-padded last
 * one. */
TG_INLINE void tg_dsp_gemm_widen_rest(const int8_t *x0, const int8_t *x1, int32_t k,
                                      int32_t depth, uint32_t *d)
{
    for (; k + 4 <= depth; k += 4, d += 4) {
        tg_dsp_gemm_widen4(tg_read_s8x4(x0 + k), tg_read_s8x4(x1 + k), d);
    }
    if (k < depth) {
        tg_dsp_gemm_widen4(tg_dsp_gemm_tail(x0 + k, depth - k),
                           tg_dsp_gemm_tail(x1 + k, depth - k), d);
    }
}

#endif /* TG_DSP_GEMM_ROWS_H */
