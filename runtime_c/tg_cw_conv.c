/*
 * tg_cw_conv.c - CONV_2D and DEPTHWISE_CONV_2D reading a compressed filter from flash.
 *
 * The arithmetic of tg_conv_s8 and tg_depthwise_conv_s8 (TFLite's reference ConvPerChannel
 * and DepthwiseConvPerChannel).  The convolution decodes one output channel's filter into
 * a scratch buffer and computes that channel everywhere; the depthwise convolution decodes
 * each value where it is used.
 */
#include "tg_cw_conv.h"
#include "tg_conv_window.h"

/* Output channel oc's filter values into dst (filter_height * filter_width * filter_depth). */
static void tg_cw_conv_decode(const tg_cw_t *w, int32_t oc, int32_t n, int8_t *dst)
{
    const uint8_t *row = tg_cw_row(w, oc);
    int32_t i;
    for (i = 0; i < n; ++i) {
        dst[i] = (int8_t)tg_cw_get(w, row, i, oc);
    }
}

void tg_cw_conv_s8(const tg_cw_conv_params_t *p, const int8_t *input, int8_t *output,
                   int8_t *scratch)
{
    const size_t in_row_stride = (size_t)p->input_width * (size_t)p->input_depth;
    const size_t in_batch_stride = (size_t)p->input_height * in_row_stride;
    const size_t filter_row_stride = (size_t)p->filter_width * (size_t)p->filter_depth;
    const int32_t taps = p->filter_height * (int32_t)filter_row_stride;
    const int32_t input_offset = p->input_offset;
    int32_t b, out_y, out_x, oc, fy, fx, ic;

    /* one output channel at a time: its filter decoded once into scratch, then every
     * output position, with the loops and arithmetic of tg_conv_s8 */
    for (oc = 0; oc < p->output_depth; ++oc) {
        const int32_t group = oc / p->filters_per_group;
        int8_t *out = output + oc;
        tg_cw_conv_decode(&p->filter, oc, taps, scratch);
        for (b = 0; b < p->batches; ++b) {
            const int8_t *in_group = input + (size_t)b * in_batch_stride +
                                     (size_t)group * (size_t)p->filter_depth;
            for (out_y = 0; out_y < p->output_height; ++out_y) {
                const int32_t in_y_origin = out_y * p->stride_height - p->pad_top;
                const tg_tap_range_t rows = tg_conv_tap_range(in_y_origin, p->dilation_height,
                                                              p->input_height, p->filter_height);
                for (out_x = 0; out_x < p->output_width; ++out_x) {
                    const int32_t in_x_origin = out_x * p->stride_width - p->pad_left;
                    const tg_tap_range_t cols = tg_conv_tap_range(in_x_origin, p->dilation_width,
                                                                  p->input_width, p->filter_width);
                    int32_t acc = 0;
                    for (fy = rows.first; fy < rows.last; ++fy) {
                        const int32_t in_y = in_y_origin + p->dilation_height * fy;
                        const int8_t *in_row = in_group + (size_t)in_y * in_row_stride;
                        const int8_t *filt_row = scratch + (size_t)fy * filter_row_stride;
                        for (fx = cols.first; fx < cols.last; ++fx) {
                            const int32_t in_x = in_x_origin + p->dilation_width * fx;
                            const int8_t *x = in_row + (size_t)in_x * (size_t)p->input_depth;
                            const int8_t *w = filt_row + (size_t)fx * (size_t)p->filter_depth;
                            for (ic = 0; ic < p->filter_depth; ++ic) {
                                acc += (int32_t)w[ic] * ((int32_t)x[ic] + input_offset);
                            }
                        }
                    }
                    if (p->bias != NULL) {
                        acc += p->bias[oc];
                    }
                    acc = tg_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
                    *out = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
                    out += p->output_depth;
                }
            }
        }
    }
}

void tg_cw_depthwise_conv_s8(const tg_cw_depthwise_params_t *p, const int8_t *input,
                             int8_t *output)
{
    const size_t in_depth = (size_t)p->input_depth;
    const size_t out_depth = (size_t)p->output_depth;
    const size_t in_row_stride = (size_t)p->input_width * in_depth;
    const size_t in_batch_stride = (size_t)p->input_height * in_row_stride;
    const size_t filter_row_stride = (size_t)p->filter_width * out_depth;
    const int32_t input_offset = p->input_offset;
    int8_t *out = output;
    int32_t b, out_y, out_x, ic, m, fy, fx;

    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_batch = input + (size_t)b * in_batch_stride;
        for (out_y = 0; out_y < p->output_height; ++out_y) {
            const int32_t in_y_origin = out_y * p->stride_height - p->pad_top;
            const tg_tap_range_t rows = tg_conv_tap_range(in_y_origin, p->dilation_height,
                                                          p->input_height, p->filter_height);
            for (out_x = 0; out_x < p->output_width; ++out_x) {
                const int32_t in_x_origin = out_x * p->stride_width - p->pad_left;
                const tg_tap_range_t cols = tg_conv_tap_range(in_x_origin, p->dilation_width,
                                                              p->input_width, p->filter_width);
                int32_t oc = 0;
                for (ic = 0; ic < p->input_depth; ++ic) {
                    const int8_t *in_channel = in_batch + ic;
                    for (m = 0; m < p->depth_multiplier; ++m, ++oc) {
                                                int32_t acc = 0;
                        for (fy = rows.first; fy < rows.last; ++fy) {
                            const int32_t in_y = in_y_origin + p->dilation_height * fy;
                            const int8_t *in_row = in_channel + (size_t)in_y * in_row_stride;
                            const int32_t filt_row = oc + fy * (int32_t)filter_row_stride;
                            for (fx = cols.first; fx < cols.last; ++fx) {
                                const int32_t in_x = in_x_origin + p->dilation_width * fx;
                                const int32_t x = in_row[(size_t)in_x * in_depth];
                                const int32_t w = tg_cw_get(&p->filter, p->filter.data,
                                                             filt_row + fx * (int32_t)out_depth, oc);
                                acc += w * (x + input_offset);
                            }
                        }
                        if (p->bias != NULL) {
                            acc += p->bias[oc];
                        }
                        acc = tg_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
                        *out++ = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
                    }
                }
            }
        }
    }
}
