/* tg_dsp_cw_gemm.h - GEMM with a compressed filter (int4 or palette, tg_cw.h) on the DSP
 * extension: FULLY_CONNECTED and pointwise CONV_2D with several rows. */
#ifndef TG_DSP_CW_GEMM_H
#define TG_DSP_CW_GEMM_H

#include "tg_common.h"
#include "tg_cw.h"

/*
 * output[r][c] = clamp(requantize(bias[c] + sum_d w[c][d] * input[r][d]) + output_offset)
 * for `rows` input rows of `depth` values (stored one after the other).  `weights` is int4
 * or a palette (tg_cw.h), one row per output channel.  `bias` and `quant` are those of
 * tg_dsp_gemm_s8 (tg_dsp_gemm.h: the input zero point folded into the biases, padded to
 * whole channel triples; per triple the multipliers M' = 2 M - 2^32, the right shifts and
 * the rounding terms; quant_step 0 when every channel shares them).
 *
 * The channels go in blocks of `block` (a multiple of 3): a block's values are decoded
 * once into `scratch` in tg_dsp_gemm_s8's weight layout.  With chunk >= rows every row is
 * sign-extended once into the scratch (after the weights) and each block runs against
 * them straight into the output (tg_dsp_gemm_xrows_s8); else tg_dsp_gemm_s8 runs a block
 * for `chunk` rows at a time into the scratch, copied to the output (straight into the
 * output when one block holds every channel, chunk 0).  `scratch` (4-byte aligned):
 * block * 4 * ceil(depth / 4) bytes of weights, then with chunk >= rows
 * 16 * ceil(depth / 4) bytes per pair of rows (a last odd row counting as a pair), else
 * 16 * ceil(depth / 4) for tg_dsp_gemm_s8 and chunk * block for the results (none when
 * block >= channels).
 * With rows_outer (chunk < rows), `chunk` rows at a time are expanded once, run through
 * every block (each decoded again for every chunk) into the scratch (chunk * channels
 * bytes after the expanded rows), then copied to the output.
 * With chunk >= rows or rows_outer an int4 filter's rows hold each whole group of 8
 * values with every nibble XORed with 8 (value + 8; the last, partial group as tg_cw.h
 * has it).
 * Access order: with chunk >= rows every input row is read before any output is written;
 * with rows_outer every input row of a chunk before any output row of the chunk, chunks
 * in increasing order (the output may overlap the input as tg_dsp_gemm_s8's may); else
 * channel block by block, every row for each: every input row is read again for every
 * block, so the output must not overlap the input.
 */
typedef struct {
    int32_t rows;               /* input rows (pixels or batches) */
    int32_t depth;              /* values per input row */
    int32_t channels;           /* output values per row */
    int32_t block;              /* channels decoded at a time (a multiple of 3) */
    int32_t chunk;              /* rows per tg_dsp_gemm_s8 call; >= rows: see above */
    int32_t rows_outer;         /* 1: `chunk` rows at a time expanded once, see above */
    tg_cw_t weights;            /* [channels][depth], int4 or palette rows */
    const int32_t *bias;        /* [triples * 3] */
    const int32_t *quant;       /* [triples][9] (tg_dsp_gemm.h) */
    int32_t quant_step;         /* 9, or 0: one triple's for every channel */
    int32_t output_offset;      /* added after the rounding shift */
    int32_t act_min;
    int32_t act_max;
} tg_dsp_cw_gemm_params_t;

void tg_dsp_cw_gemm_s8(const tg_dsp_cw_gemm_params_t *p, const int8_t *input, int8_t *output,
                       void *scratch);

/* Output channel c's `depth` values (c < the filter's channels) as words of 4 int8, value
 * 4 k + i in byte i of word d[k * word_stride], zeros past the depth (the decoder of the
 * blocks above; tg_dsp_cw_conv.c's too); `tab` (tg_cw_table's: `which` -1 before the
 * first call) keeps a decoded table for the next channels reading the same. */
void tg_dsp_cw_channel(const tg_cw_t *cw, int32_t depth, int32_t c, uint32_t *d,
                       int32_t word_stride, tg_cw_tab_t *tab);

#endif /* TG_DSP_CW_GEMM_H */
