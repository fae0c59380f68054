/*
 * tg_dsp_depthwise.c - int8 depthwise convolution (multiplier 1, or one input channel; no
 * dilation) with the DSP extension, 4 channels at a time.
 *
 * Same arithmetic as TFLite's reference DepthwiseConv: for each output value, the bias
 * plus the sum over the filter taps inside the image of filter * (input + input_offset)
 * (taps in the padding skipped), then MultiplyByQuantizedMultiplier (tg_dsp_requantize),
 * the output offset and the activation clamp.  One word holds 4 neighbouring channels
 * of a pixel; SXTAB16 adds the input offset to channels 0 and 2 (and, rotated, 1 and 3)
 * as int16 lanes (|input + offset| <= 255), SXTB16 widens the filter the same way, and
 * SMLABB / SMLATT accumulate each lane into its channel's 32-bit sum.
 */
#include "tg_dsp_depthwise.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

TG_INLINE int8_t tg_dsp_dw_out(const tg_dsp_depthwise_params_t *p, uint32_t acc, int32_t c)
{
    const tg_dsp_rq_t q = tg_dsp_rq(p->multiplier[c], p->shift[c]);
    int32_t r = tg_dsp_requantize_rq((int32_t)acc, &q);
    r = (int32_t)((uint32_t)r + (uint32_t)p->output_offset);
    return (int8_t)tg_clamp(r, p->act_min, p->act_max);
}

/* One filter tap for 4 channels: xw the 4 input values, w the 4 filter values. */
TG_INLINE void tg_dsp_dw_tap(uint32_t xw, const int8_t *w, uint32_t off2, uint32_t *a0,
                             uint32_t *a1, uint32_t *a2, uint32_t *a3)
{
    const uint32_t ww = tg_read_s8x4(w);
    const uint32_t xe = tg_sxtab16(off2, xw);
    const uint32_t xo = tg_sxtab16_ror8(off2, xw);
    const uint32_t we = tg_sxtb16(ww);
    const uint32_t wo = tg_sxtb16_ror8(ww);
    *a0 = tg_smlabb(xe, we, *a0);
    *a2 = tg_smlatt(xe, we, *a2);
    *a1 = tg_smlabb(xo, wo, *a1);
    *a3 = tg_smlatt(xo, wo, *a3);
}

void tg_dsp_depthwise_s8(const tg_dsp_depthwise_params_t *p, const int8_t *input,
                         int8_t *output)
{
    const int32_t ch = p->channels;
    const int32_t in_d = p->input_depth;     /* ch, or 1 */
    const int32_t x_ch = in_d == 1 ? 0 : 1;  /* channel step in the input */
    const int32_t in_w = p->input_width, in_h = p->input_height;
    const int32_t fw = p->filter_width, fh = p->filter_height;
    const size_t row_step = (size_t)in_w * (size_t)in_d;
    /* the input offset in both int16 lanes */
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) |
                          (((uint32_t)p->input_offset & 0xFFFFu) << 16);
    int32_t b, oy, ox, c;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)in_h * row_step;
        for (oy = 0; oy < p->output_height; ++oy) {
            const int32_t iy0 = oy * p->stride_height - p->pad_top;
            const int32_t ky0 = iy0 < 0 ? -iy0 : 0;
            const int32_t ky1 = in_h - iy0 < fh ? in_h - iy0 : fh;
            for (ox = 0; ox < p->output_width; ++ox) {
                const int32_t ix0 = ox * p->stride_width - p->pad_left;
                const int32_t kx0 = ix0 < 0 ? -ix0 : 0;
                const int32_t kx1 = in_w - ix0 < fw ? in_w - ix0 : fw;
                /* the first tap inside the image, for channel 0 */
                const int8_t *x_first = image + (size_t)(iy0 + ky0) * row_step +
                                        (size_t)(ix0 + kx0) * (size_t)in_d;
                const int8_t *w_first = p->filter + ((size_t)ky0 * (size_t)fw + (size_t)kx0) *
                                        (size_t)ch;
                int8_t *out = output + (((size_t)b * (size_t)p->output_height + (size_t)oy) *
                                        (size_t)p->output_width + (size_t)ox) * (size_t)ch;
                for (c = 0; c + 4 <= ch; c += 4) {
                    uint32_t a0 = p->bias ? (uint32_t)p->bias[c] : 0u;
                    uint32_t a1 = p->bias ? (uint32_t)p->bias[c + 1] : 0u;
                    uint32_t a2 = p->bias ? (uint32_t)p->bias[c + 2] : 0u;
                    uint32_t a3 = p->bias ? (uint32_t)p->bias[c + 3] : 0u;
                    const int8_t *xrow = x_first + c * x_ch;
                    const int8_t *wrow = w_first + c;
                    int32_t ky, kx;
                    if (x_ch) {
                        for (ky = ky0; ky < ky1; ++ky) {
                            const int8_t *x = xrow;
                            const int8_t *w = wrow;
                            for (kx = kx0; kx < kx1; ++kx) {
                                tg_dsp_dw_tap(tg_read_s8x4(x), w, off2, &a0, &a1, &a2, &a3);
                                x += in_d;
                                w += ch;
                            }
                            xrow += row_step;
                            wrow += (size_t)fw * (size_t)ch;
                        }
                    } else {     /* the one input channel in all 4 lanes */
                        for (ky = ky0; ky < ky1; ++ky) {
                            const int8_t *x = xrow;
                            const int8_t *w = wrow;
                            for (kx = kx0; kx < kx1; ++kx) {
                                tg_dsp_dw_tap((uint32_t)(uint8_t)*x * 0x01010101u, w, off2,
                                              &a0, &a1, &a2, &a3);
                                x += in_d;
                                w += ch;
                            }
                            xrow += row_step;
                            wrow += (size_t)fw * (size_t)ch;
                        }
                    }
                    out[c] = tg_dsp_dw_out(p, a0, c);
                    out[c + 1] = tg_dsp_dw_out(p, a1, c + 1);
                    out[c + 2] = tg_dsp_dw_out(p, a2, c + 2);
                    out[c + 3] = tg_dsp_dw_out(p, a3, c + 3);
                }
                for (; c < ch; ++c) {      /* the last channels, one at a time */
                    uint32_t acc = p->bias ? (uint32_t)p->bias[c] : 0u;
                    const int8_t *xrow = x_first + c * x_ch;
                    const int8_t *wrow = w_first + c;
                    int32_t ky, kx;
                    for (ky = ky0; ky < ky1; ++ky) {
                        for (kx = 0; kx < kx1 - kx0; ++kx) {
                            const int32_t xv = (int32_t)xrow[(size_t)kx * (size_t)in_d];
                            const int32_t wv = (int32_t)wrow[(size_t)kx * (size_t)ch];
                            acc += (uint32_t)(wv * (xv + p->input_offset));
                        }
                        xrow += row_step;
                        wrow += (size_t)fw * (size_t)ch;
                    }
                    out[c] = tg_dsp_dw_out(p, acc, c);
                }
            }
        }
    }
}
