/*
 * tg_transpose_conv.c - TRANSPOSE_CONV, int8, bit-exact with TFLM's reference kernel.
 *
 * The reference scatters each input element into an int32 buffer the size of the output.
 * This kernel gathers instead: for each output element it sums the same products
 * (input + input_offset) * filter over the input pixels and taps that reach it, then
 * adds the bias and requantizes as the reference does.  The sums are exact (the generator
 * checks they cannot overflow 32 bits), so the order does not matter and no buffer of the
 * output's size is needed.  Output (oy, ox) is reached by tap fy from input row
 * iy = (oy + pad_top - fy) / stride_height when that division is exact and in range.
 */
#include "tg_transpose_conv.h"

void tg_transpose_conv_s8(const tg_transpose_conv_params_t *p, const int8_t *input,
                          int8_t *output)
{
    const int32_t in_d = p->input_depth;
    const int32_t f_h = p->filter_height;
    const int32_t f_w = p->filter_width;
    const ptrdiff_t filter_stride = (ptrdiff_t)f_h * f_w * in_d;   /* one output channel */
    int32_t b, oy, ox, oc, fy, fx, ic;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *in_b = input + (ptrdiff_t)b * p->input_height * p->input_width * in_d;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                for (oc = 0; oc < p->output_depth; ++oc) {
                    const int8_t *w_oc = p->filter + (ptrdiff_t)oc * filter_stride;
                    int32_t acc = 0;
                    for (fy = 0; fy < f_h; ++fy) {
                        const int32_t ty = oy + p->pad_top - fy;
                        int32_t iy;
                        if (ty < 0) {
                            break;              /* ty only decreases with fy */
                        }
                        if (ty % p->stride_height != 0) {
                            continue;
                        }
                        iy = ty / p->stride_height;
                        if (iy >= p->input_height) {
                            continue;
                        }
                        for (fx = 0; fx < f_w; ++fx) {
                            const int32_t tx = ox + p->pad_left - fx;
                            const int8_t *x;
                            const int8_t *w;
                            int32_t ix;
                            if (tx < 0) {
                                break;
                            }
                            if (tx % p->stride_width != 0) {
                                continue;
                            }
                            ix = tx / p->stride_width;
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
