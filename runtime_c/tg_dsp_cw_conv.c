/*
 * tg_dsp_cw_conv.c - k x k CONV_2D with a compressed filter on the DSP extension.
 *
 * tg_dsp_conv_s8 does the arithmetic (its im2col, SMLAD passes and requantization), on a
 * block of output channels at a time whose filter is decoded once into the scratch in its
 * weight layout: about 1 (int4) to 5 (palette) cycles a value, once per layer, against
 * the im2col of every pixel again for each block after the first.  The results are
 * exactly tg_dsp_conv_s8's on the int8 filter.
 */
#include "tg_dsp_cw_conv.h"

#include "tg_acle.h"
#include "tg_dsp_cw_gemm.h"

/* The channel triples of a block of n channels (of a layer whose channels the assembly
 * runs in triples): as many as leave an even count for the pairs (codegen's
 * channel_triples). */
static int32_t tg_dsp_cw_conv_triples(int32_t n)
{
    int32_t t = n / 3;
    if ((n - 3 * t) & 1) {
        --t;
    }
    return t > 0 ? t : 0;
}

/* One channel's values (filter order, in tmp) into its words d, d + size, ... in column
 * order: each window row's whole groups of 4, then the rows' last values, zero-padded. */
static void tg_dsp_cw_conv_columns(const tg_dsp_conv_params_t *g, const int8_t *v,
                                   uint32_t *d, size_t size)
{
    const int32_t row_len = g->filter_width * g->input_depth, body = row_len & ~3;
    uint32_t acc = 0;
    int32_t fy, i, fill = 0;
    for (fy = 0; fy < g->filter_height; ++fy) {
        for (i = 0; i < body; i += 4, d += size) {
            *d = tg_read_s8x4(v + (size_t)fy * (size_t)row_len + (size_t)i);
        }
    }
    for (fy = 0; fy < g->filter_height; ++fy) {
        for (i = body; i < row_len; ++i) {
            acc |= (uint32_t)(uint8_t)v[(size_t)fy * (size_t)row_len + (size_t)i] << (8 * fill);
            if (++fill == 4) {
                *d = acc;
                d += size;
                acc = 0;
                fill = 0;
            }
        }
    }
    if (fill) {
        *d = acc;
    }
}

/* Channels c .. c + n - 1 into w in tg_dsp_conv_s8's weight layout: the first 3 * triples
 * in triples (the words of c, c + 1, c + 2 in turn), the others in pairs (alternating), an
 * odd last one beside a zero row; channel j's group starts at word j * depth4 / 4. */
static void tg_dsp_cw_conv_decode(const tg_dsp_cw_conv_params_t *p, int32_t c, int32_t n,
                                  int32_t triples, uint32_t *w, uint32_t *tmp)
{
    const tg_dsp_conv_params_t *g = &p->conv;
    const int32_t row_len = g->filter_width * g->input_depth;
    const int32_t window = g->filter_height * row_len;
    const int32_t quads = g->depth4 >> 2;
    const int32_t head = 3 * triples;
    const int32_t rows = n + ((n - head) & 1);
    tg_cw_tab_t tab;                            /* a coded table decoded, kept for the next */
    int32_t j, k;
    tab.which = -1;
    for (j = 0; j < rows; ++j) {
        const int32_t first = j < head ? j - j % 3 : head + ((j - head) & ~1);
        const size_t size = j < head ? 3u : 2u;
        uint32_t *d = w + (size_t)first * (size_t)quads + (size_t)(j - first);
        if (j >= n) {                           /* the zero row beside an odd last one */
            for (k = 0; k < quads; ++k) {
                d[(size_t)k * size] = 0;
            }
        } else if ((row_len & 3) == 0) {        /* column order is the filter's */
            tg_dsp_cw_channel(&p->filter, window, c + j, d, (int32_t)size, &tab);
        } else {
            tg_dsp_cw_channel(&p->filter, window, c + j, tmp, 1, &tab);
            tg_dsp_cw_conv_columns(g, (const int8_t *)(const void *)tmp, d, size);
        }
    }
}

void tg_dsp_cw_conv_s8(const tg_dsp_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                       void *scratch)
{
    const tg_dsp_conv_params_t *g = &p->conv;
    uint32_t *w = (uint32_t *)(void *)((int8_t *)scratch + p->weights_at);
    uint32_t *tmp = w + (size_t)(p->block + 1) * (size_t)(g->depth4 >> 2);
    int32_t c;
    for (c = 0; c < g->output_depth; c += p->block) {
        tg_dsp_conv_params_t q = *g;
        const int32_t n = TG_MIN(p->block, g->output_depth - c);
        q.output_depth = n;
        q.triples = g->triples ? tg_dsp_cw_conv_triples(n) : 0;
        q.weights = (const int8_t *)(const void *)w;
        q.bias = g->bias + c;
        if (g->quant != NULL) {
            q.quant = g->quant + (size_t)c * (size_t)g->quant_step;
        } else if (g->per_channel) {
            q.multiplier = g->multiplier + c;
            q.shift = g->shift + c;
        }
        tg_dsp_cw_conv_decode(p, c, n, q.triples, w, tmp);
        tg_dsp_conv_slice_s8(&q, g->output_depth, input, output + c, scratch);
    }
}
