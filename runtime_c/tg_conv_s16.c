/*
 * tg_conv_s16.c - 16x8 2-D and depthwise convolutions.
 *
 * Same arithmetic as TFLite's reference_integer_ops::ConvPerChannel and
 * DepthwiseConvPerChannel for int16 inputs: the sum over the taps inside the image of
 * filter * input (no offsets: 16-bit activations have zero point 0), then the bias,
 * requantization and clamp of tg_s16.h.  Taps in the padding contribute nothing.
 */
#include "tg_conv_s16.h"

#include "tg_conv_window.h"
#include "tg_s16.h"

void tg_conv_s16(const tg_conv_s16_params_t *p, const int16_t *input, int16_t *output)
{
    const size_t in_row_stride = (size_t)p->input_width * (size_t)p->input_depth;
    const size_t in_batch_stride = (size_t)p->input_height * in_row_stride;
    const size_t filter_row_stride = (size_t)p->filter_width * (size_t)p->filter_depth;
    const size_t filter_stride = (size_t)p->filter_height * filter_row_stride;
    const tg_s16_end_t end = {p->bias64, p->bias32, p->acc32, p->act_min, p->act_max};
    int16_t *out = output;
    int32_t b, out_y, out_x, group, k, fy, fx, ic;

    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_batch_stride;
        for (out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_top;
            const tg_tap_range_t rows = tg_conv_tap_range(in_y_origin, p->dilation_height,
                                                          p->input_height, p->filter_height);
            for (out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_left;
                const tg_tap_range_t cols = tg_conv_tap_range(in_x_origin, p->dilation_width,
                                                              p->input_width, p->filter_width);
                int32_t oc = 0;
                for (group = 0; group < p->groups; ++group) {
                    const int16_t *in_group = in_batch + (size_t)group * (size_t)p->filter_depth;
                    for (k = 0; k < p->filters_per_group; ++k, ++oc) {
                        const int8_t *filt = p->filter + (size_t)oc * filter_stride;
                        int64_t acc = 0;
                        for (fy = rows.first; fy < rows.last; ++fy) {
                            const int32_t in_y = in_y_origin + p->dilation_height * fy;
                            const int16_t *in_row = in_group + (size_t)in_y * in_row_stride;
                            const int8_t *filt_row = filt + (size_t)fy * filter_row_stride;
                            for (fx = cols.first; fx < cols.last; ++fx) {
                                const int32_t in_x = in_x_origin + p->dilation_width * fx;
                                const int16_t *x = in_row + (size_t)in_x * (size_t)p->input_depth;
                                const int8_t *w = filt_row + (size_t)fx * (size_t)p->filter_depth;
                                for (ic = 0; ic < p->filter_depth; ++ic) {
                                    acc += (int32_t)w[ic] * (int32_t)x[ic];
                                }
                            }
                        }
                        *out++ = tg_s16_output(acc, &end, oc, p->multiplier[oc], p->shift[oc]);
                    }
                }
            }
        }
    }
}

void tg_depthwise_conv_s16(const tg_depthwise_conv_s16_params_t *p, const int16_t *input,
                           int16_t *output)
{
    const size_t in_row_stride = (size_t)p->input_width * (size_t)p->input_depth;
    const size_t in_batch_stride = (size_t)p->input_height * in_row_stride;
    const size_t filter_row_stride = (size_t)p->filter_width * (size_t)p->output_depth;
    const tg_s16_end_t end = {p->bias64, NULL, 0, p->act_min, p->act_max};
    int16_t *out = output;
    int32_t b, out_y, out_x, ic, m, fy, fx;

    for (b = 0; b < p->batches; ++b) {
        const int16_t *in_batch = input + (size_t)b * in_batch_stride;
        for (out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_top;
            const tg_tap_range_t rows = tg_conv_tap_range(in_y_origin, p->dilation_height,
                                                          p->input_height, p->filter_height);
            for (out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_left;
                const tg_tap_range_t cols = tg_conv_tap_range(in_x_origin, p->dilation_width,
                                                              p->input_width, p->filter_width);
                for (ic = 0; ic < p->input_depth; ++ic) {
                    for (m = 0; m < p->depth_multiplier; ++m) {
                        const int32_t oc = ic * p->depth_multiplier + m;
                        int64_t acc = 0;
                        for (fy = rows.first; fy < rows.last; ++fy) {
                            const int32_t in_y = in_y_origin + p->dilation_height * fy;
                            const int16_t *in_row = in_batch + (size_t)in_y * in_row_stride;
                            const int8_t *filt_row = p->filter + (size_t)fy * filter_row_stride;
                            for (fx = cols.first; fx < cols.last; ++fx) {
                                const int32_t in_x = in_x_origin + p->dilation_width * fx;
                                acc += (int32_t)filt_row[(size_t)fx * (size_t)p->output_depth +
                                                         (size_t)oc] *
                                       (int32_t)in_row[(size_t)in_x * (size_t)p->input_depth +
                                                       (size_t)ic];
                            }
                        }
                        *out++ = tg_s16_output(acc, &end, oc, p->multiplier[oc], p->shift[oc]);
                    }
                }
            }
        }
    }
}
