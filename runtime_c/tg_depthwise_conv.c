/*
 * tg_depthwise_conv.c - int8 depthwise 2-D convolution.
 *
 * Same arithmetic as TFLite's reference_integer_ops::DepthwiseConvPerChannel:
 *   acc = sum over taps inside the image of filter[.., oc] * (input[.., ic] + input_offset)
 *   acc += bias[oc] (when there is a bias)
 *   out = clamp(requantize(acc, multiplier[oc], shift[oc]) + output_offset)
 * with oc = ic * depth_multiplier + m.  Taps in the zero padding contribute
 * nothing; the range of taps inside the image is computed once per output
 * position (tg_conv_window.h, which also holds the end, tg_conv_output_s8)
 * instead of testing every tap.
 */
#include "tg_depthwise_conv.h"

/* The sum at window w of one channel: `input` at input channel ic, `filter` at output
   channel oc (its taps output_depth apart). */
TG_INLINE int32_t tg_depthwise_sum_s8(const tg_conv_window_t *w, const int8_t *input,
                                      const int8_t *filter, int32_t input_offset)
{
    const size_t tap_stride = (size_t)w->g.output_depth;
    int32_t acc = 0;
    int32_t fy, fx;
    for (fy = w->rows.first; fy < w->rows.last; ++fy) {
        for (fx = w->cols.first; fx < w->cols.last; ++fx) {
            const int32_t x = input[tg_conv_window_pixel(w, fy, fx)];
            const int32_t f = filter[tg_conv_window_tap(w, fy, fx) * tap_stride];
            acc += f * (x + input_offset);
        }
    }
    return acc;
}

void tg_depthwise_conv_s8(const tg_depthwise_conv_params_t *p,
                          const int8_t *input, int8_t *output)
{
    const int32_t input_offset = p->quant.input_offset;
    int8_t *out = output;
    tg_conv_window_t w;

    for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
         tg_conv_window_next(&w)) {
        int32_t oc = 0, ic, m;
        for (ic = 0; ic < w.g.input_depth; ++ic) {
            for (m = 0; m < p->depth_multiplier; ++m, ++oc) {
                const int32_t acc = tg_depthwise_sum_s8(&w, input + ic, p->filter + oc,
                                                        input_offset);
                *out++ = tg_conv_output_s8(acc, &p->quant, oc);
            }
        }
    }
}
