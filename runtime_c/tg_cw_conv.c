/*
 * tg_cw_conv.c - CONV_2D and DEPTHWISE_CONV_2D reading a compressed filter from flash.
 *
 * The arithmetic of tg_conv_s8 and tg_depthwise_conv_s8 (TFLite's reference ConvPerChannel
 * and DepthwiseConvPerChannel) on the walk of tg_conv_window.h.  The convolution decodes
 * one output channel's filter into a scratch buffer and computes that channel everywhere
 * with tg_conv_s8's sum; the depthwise convolution decodes each value where it is used.
 */
#include "tg_cw_conv.h"

/* Output channel oc's filter values into dst (filter_height * filter_width * filter_depth). */
static void tg_cw_conv_decode(const tg_cw_t *w, int32_t oc, int32_t n, int8_t *dst)
{
    const uint8_t *row = tg_cw_row(w, oc);
    tg_cw_tab_t tab;
    const int8_t *t;
    int32_t i;
    tab.which = -1;
    t = tg_cw_table(w, oc, &tab);               /* the channel's table once (NULL: int4) */
    for (i = 0; i < n; ++i) {
        dst[i] = t ? t[tg_cw_index(w, row, i)] : (int8_t)tg_cw_s4(row, i);
    }
}

void tg_cw_conv_s8(const tg_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                   int8_t *scratch)
{
    const int32_t taps = p->geometry.filter_height * p->geometry.filter_width *
                         p->filter_depth;
    const int32_t input_offset = p->quant.input_offset;
    int32_t oc;

    /* one output channel at a time: its filter decoded once into scratch, then every
     * output position */
    for (oc = 0; oc < p->geometry.output_depth; ++oc) {
        const int8_t *in_group = input + (size_t)(oc / p->filters_per_group) *
                                         (size_t)p->filter_depth;
        int8_t *out = output + oc;
        tg_conv_window_t w;
        tg_cw_conv_decode(&p->filter, oc, taps, scratch);
        for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
             tg_conv_window_next(&w)) {
            const int32_t acc = tg_conv_sum_s8(&w, in_group, scratch, p->filter_depth,
                                               input_offset);
            *out = tg_conv_output_s8(acc, &p->quant, oc);
            out += p->geometry.output_depth;
        }
    }
}

/* tg_depthwise_conv_s8's sum, each filter value decoded where it is used. */
TG_INLINE int32_t tg_cw_depthwise_sum_s8(const tg_conv_window_t *w, const int8_t *input,
                                         const tg_cw_t *filter, int32_t oc,
                                         int32_t input_offset)
{
    const int32_t tap_stride = w->g.output_depth;
    int32_t acc = 0;
    int32_t fy, fx;
    for (fy = w->rows.first; fy < w->rows.last; ++fy) {
        for (fx = w->cols.first; fx < w->cols.last; ++fx) {
            const int32_t x = input[tg_conv_window_pixel(w, fy, fx)];
            const int32_t f = tg_cw_get(filter, filter->data,
                                        (int32_t)tg_conv_window_tap(w, fy, fx) * tap_stride + oc,
                                        oc);
            acc += f * (x + input_offset);
        }
    }
    return acc;
}

void tg_cw_depthwise_conv_s8(const tg_cw_depthwise_params_t *p, const int8_t *input,
                             int8_t *output)
{
    const int32_t input_offset = p->quant.input_offset;
    int8_t *out = output;
    tg_conv_window_t w;

    for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
         tg_conv_window_next(&w)) {
        int32_t oc = 0, ic, m;
        for (ic = 0; ic < w.g.input_depth; ++ic) {
            for (m = 0; m < p->depth_multiplier; ++m, ++oc) {
                const int32_t acc = tg_cw_depthwise_sum_s8(&w, input + ic, &p->filter, oc,
                                                           input_offset);
                *out++ = tg_conv_output_s8(acc, &p->quant, oc);
            }
        }
    }
}
