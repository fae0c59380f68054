/*
 * tg_dsp_cw_depthwise.c - DEPTHWISE_CONV_2D with a compressed filter on the DSP extension.
 *
 * tg_dsp_depthwise_s8 does the arithmetic on a block of channels at a time, whose filter
 * (a few taps a channel) is decoded value by value into the scratch first: some 10-20
 * cycles a tap, against the tap's products at every output pixel.  The results are exactly
 * tg_dsp_depthwise_s8's on the int8 filter.
 */
#include "tg_dsp_cw_depthwise.h"

#include "tg_acle.h"

/* Output channels co .. co + n - 1 into dst, [channel][filter_lines][filter_length]: a
 * channel's table once (palettes), then its taps, value i = tap * output channels + c of
 * the flat row (tap = fy * filter_w + fx of the model's filter). */
static void tg_dsp_cw_dw_decode(const tg_dsp_cw_depthwise_params_t *p, int32_t co, int32_t n,
                                int8_t *dst)
{
    const tg_dsp_depthwise_params_t *g = &p->dw;
    const tg_cw_t *w = &p->filter;
    const uint32_t out_d = (uint32_t)(g->depth * g->depth_multiplier);
    const int32_t fl = g->filter_lines, flen = g->filter_length;
    /* flat steps along a line and to the next line: the model's taps are row-major */
    const uint32_t along = p->transposed ? (uint32_t)fl * out_d : out_d;
    const uint32_t down = p->transposed ? out_d : (uint32_t)flen * out_d;
    tg_cw_tab_t tab;
    int32_t c, l, k;
    tab.which = -1;
    for (c = co; c < co + n; ++c) {
        uint32_t first = (uint32_t)c;
        if (w->palette) {
            const int8_t *t = tg_cw_table(w, c, &tab);
            const uint32_t bits = (uint32_t)w->bits, mask = (1u << bits) - 1u;
            for (l = 0; l < fl; ++l, first += down) {
                uint32_t i = first;
                for (k = 0; k < flen; ++k, i += along) {
                    const uint32_t pos = i * bits;
                    *dst++ = t[((uint32_t)w->data[pos >> 3] >> (pos & 7u)) & mask];
                }
            }
        } else {
            for (l = 0; l < fl; ++l, first += down) {
                uint32_t i = first;
                for (k = 0; k < flen; ++k, i += along) {
                    *dst++ = (int8_t)tg_cw_s4(w->data, (int32_t)i);
                }
            }
        }
    }
}

void tg_dsp_cw_depthwise_s8(const tg_dsp_cw_depthwise_params_t *p, const int8_t *input,
                            int8_t *output, void *scratch)
{
    const tg_dsp_depthwise_params_t *g = &p->dw;
    const int32_t mult = g->depth_multiplier;
    int8_t *f = (int8_t *)scratch + p->filter_at;
    int32_t c;
    for (c = 0; c < g->depth; c += p->block) {
        tg_dsp_depthwise_params_t q = *g;
        const int32_t n = TG_MIN(p->block, g->depth - c), co = c * mult;
        q.depth = n;
        q.filter = f;
        q.bias = g->bias != NULL ? g->bias + co : NULL;
        q.multiplier = g->multiplier + co;
        q.shift = g->shift + co;
        tg_dsp_cw_dw_decode(p, co, n * mult, f);
        tg_dsp_depthwise_s8(&q, input + c, output + co, scratch);
    }
}
