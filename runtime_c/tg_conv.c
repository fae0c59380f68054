/*
 * tg_conv.c - int8 2-D convolution.
 *
 * Same arithmetic as TFLite's reference_integer_ops::ConvPerChannel:
 *   acc = sum over taps inside the image of filter * (input + input_offset)
 *   acc += bias[oc] (when there is a bias)
 *   out = clamp(requantize(acc, multiplier[oc], shift[oc]) + output_offset)
 * Taps in the zero padding contribute nothing.  Instead of testing every tap,
 * the range of taps inside the image is computed once per output position
 * (tg_conv_window.h, which also holds the sum, tg_conv_sum_s8, shared with
 * tg_cw_conv_s8, and the end, tg_conv_output_s8).
 */
#include "tg_conv.h"

void tg_conv_s8(const tg_conv_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t filter_size = (size_t)p->geometry.filter_height *
                               (size_t)p->geometry.filter_width * (size_t)p->filter_depth;
    const int32_t input_offset = p->quant.input_offset;
    int8_t *out = output;
    tg_conv_window_t w;

    for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
         tg_conv_window_next(&w)) {
        int32_t oc = 0, group, k;
        for (group = 0; group < p->groups; ++group) {
            const int8_t *in_group = input + (size_t)group * (size_t)p->filter_depth;
            for (k = 0; k < p->filters_per_group; ++k, ++oc) {
                const int32_t acc = tg_conv_sum_s8(&w, in_group,
                                                   p->filter + (size_t)oc * filter_size,
                                                   p->filter_depth, input_offset);
                *out++ = tg_conv_output_s8(acc, &p->quant, oc);
            }
        }
    }
}
