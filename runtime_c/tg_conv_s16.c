/*
 * tg_conv_s16.c - 16x8 2-D and depthwise convolutions.
 *
 * Same arithmetic as TFLite's reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel for int16 inputs: the sum over the taps inside the image of
 * filter * input (no offsets: 16-bit activations have zero point 0), then the bias,
 * requantization and clamp of tg_s16.h.  Taps in the padding contribute nothing; the
 * walk over output positions and their taps is tg_conv_window.h's.
 */
#include "tg_conv_s16.h"

#include "tg_s16.h"

/* As tg_conv_sum_s8 (tg_conv_window.h) on int16 inputs, exactly, in 64 bits. */
TG_INLINE int64_t tg_conv_sum_s16(const tg_conv_window_t *w, const int16_t *input,
                                  const int8_t *filter, int32_t depth)
{
    int64_t acc = 0;
    int32_t fy, fx, c;
    for (fy = w->rows.first; fy < w->rows.last; ++fy) {
        for (fx = w->cols.first; fx < w->cols.last; ++fx) {
            const int16_t *x = input + tg_conv_window_pixel(w, fy, fx);
            const int8_t *f = filter + tg_conv_window_tap(w, fy, fx) * (size_t)depth;
            for (c = 0; c < depth; ++c) {
                acc += (int32_t)f[c] * (int32_t)x[c];
            }
        }
    }
    return acc;
}

void tg_conv_s16(const tg_conv_s16_params_t *p, const int16_t *input, int16_t *output)
{
    const size_t filter_size = (size_t)p->geometry.filter_height *
                               (size_t)p->geometry.filter_width * (size_t)p->filter_depth;
    const tg_s16_end_t end = {p->bias64, p->bias32, p->acc32, p->act_min, p->act_max};
    int16_t *out = output;
    tg_conv_window_t w;

    for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
         tg_conv_window_next(&w)) {
        int32_t oc = 0, group, k;
        for (group = 0; group < p->groups; ++group) {
            const int16_t *in_group = input + (size_t)group * (size_t)p->filter_depth;
            for (k = 0; k < p->filters_per_group; ++k, ++oc) {
                const int64_t acc = tg_conv_sum_s16(&w, in_group,
                                                    p->filter + (size_t)oc * filter_size,
                                                    p->filter_depth);
                *out++ = tg_s16_output(acc, &end, oc, p->multiplier[oc], p->shift[oc]);
            }
        }
    }
}

/* As tg_depthwise_sum_s8 (tg_depthwise_conv.c) on int16 inputs, exactly, in 64 bits. */
TG_INLINE int64_t tg_depthwise_sum_s16(const tg_conv_window_t *w, const int16_t *input,
                                       const int8_t *filter)
{
    const size_t tap_stride = (size_t)w->g.output_depth;
    int64_t acc = 0;
    int32_t fy, fx;
    for (fy = w->rows.first; fy < w->rows.last; ++fy) {
        for (fx = w->cols.first; fx < w->cols.last; ++fx) {
            acc += (int32_t)filter[tg_conv_window_tap(w, fy, fx) * tap_stride] *
                   (int32_t)input[tg_conv_window_pixel(w, fy, fx)];
        }
    }
    return acc;
}

void tg_depthwise_conv_s16(const tg_depthwise_conv_s16_params_t *p, const int16_t *input,
                           int16_t *output)
{
    const tg_s16_end_t end = {p->bias64, NULL, 0, p->act_min, p->act_max};
    int16_t *out = output;
    tg_conv_window_t w;

    for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
         tg_conv_window_next(&w)) {
        int32_t oc = 0, ic, m;
        for (ic = 0; ic < w.g.input_depth; ++ic) {
            for (m = 0; m < p->depth_multiplier; ++m, ++oc) {
                const int64_t acc = tg_depthwise_sum_s16(&w, input + ic, p->filter + oc);
                *out++ = tg_s16_output(acc, &end, oc, p->multiplier[oc], p->shift[oc]);
            }
        }
    }
}
