/*
 * tg_transpose_conv.c - TRANSPOSE_CONV, int8, bit-exact with TFLM's reference kernel.
 *
 * The reference scatters each input element into an int32 buffer the size of the output.
 * This kernel gathers instead: for each output element it sums the same products
 * (input + input_offset) * filter over the input pixels and taps that reach it, then
 * adds the bias and requantizes as the reference does.  The sums are exact (the generator
 * checks they cannot overflow 32 bits), so the order does not matter and no buffer of the
 * output's size is needed.  Output row oy is reached by tap fy from input row
 * iy = (oy + pad_top - fy) / stride_height when that division is exact and in range: the
 * taps fy = (oy + pad_top) % stride_height + j * stride_height, j = 0, 1, ...
 */
#include "tg_transpose_conv.h"

void tg_transpose_conv_s8(const tg_transpose_conv_params_t *p, const int8_t *input,
                          int8_t *output)
{
    const int32_t in_d = p->input_depth;
    const int32_t f_h = p->filter_height;
    const int32_t f_w = p->filter_width;
    const int32_t s_h = p->stride_height;
    const int32_t s_w = p->stride_width;
    const ptrdiff_t filter_stride = (ptrdiff_t)f_h * f_w * in_d;   /* one output channel */
    int32_t b, oy, ox, oc, fy, fx, iy, ix, ic;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (ptrdiff_t)b * p->input_height * p->input_width * in_d;
        for (oy = 0; oy < p->output_height; ++oy) {
            /* the first tap reaching row oy, and its input row; each later tap is one
             * stride further in the filter and one row earlier in the input */
            const int32_t fy0 = (oy + p->pad_top) % s_h;
            const int32_t iy0 = (oy + p->pad_top) / s_h;
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t fx0 = (ox + p->pad_left) % s_w;
                const int32_t ix0 = (ox + p->pad_left) / s_w;
                for (oc = 0; oc < p->output_depth; ++oc) {
                    const int8_t *w_oc = p->filter + (ptrdiff_t)oc * filter_stride;
                    int32_t acc = 0;
                    for (fy = fy0, iy = iy0; fy < f_h && iy >= 0; fy += s_h, --iy) {
                        if (iy >= p->input_height) {
                            continue;
                        }
                        for (fx = fx0, ix = ix0; fx < f_w && ix >= 0; fx += s_w, --ix) {
                            const int8_t *x;
                            const int8_t *w;
                            if (ix >= p->input_width) {
                                continue;
                            }
                            x = in_b + ((ptrdiff_t)iy * p->input_width + ix) * in_d;
                            w = w_oc + ((ptrdiff_t)fy * f_w + fx) * in_d;
                            for (ic = 0; ic < in_d; ++ic) {
                                acc += ((int32_t)x[ic] + p->input_offset) * (int32_t)w[ic];
                            }
                        }
                    }
                    if (p->bias != NULL) {
                        acc += p->bias[oc];
                    }
                    acc = tg_requantize(acc, p->multiplier[oc], p->shift[oc]) + p->output_offset;
                    *output++ = (int8_t)tg_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}
