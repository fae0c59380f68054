/*
 * tg_conv_window.h - what the portable convolutions share: their geometry and their walk,
 * the output positions in raster order, each with the window of filter taps that falls
 * inside the image.
 *
 * Along one axis, output position o reads input positions origin + dilation * t for taps
 * t = 0 .. taps-1, where origin = o * stride - pad.  TFLite's reference kernels test every
 * tap and skip the ones outside the image (zero padding contributes nothing); the taps
 * inside always form one contiguous range, so the kernels compute that range once per
 * output position and loop over it without further tests.
 *
 * A kernel (tg_conv.c, tg_conv_s16.c, tg_depthwise_conv.c, tg_cw_conv.c) walks the
 * output positions and, for each output channel, sums over the window's taps:
 *
 *     tg_conv_window_t w;
 *     for (tg_conv_window_start(&w, &p->geometry); tg_conv_window_more(&w);
 *          tg_conv_window_next(&w)) {
 *         for each output channel:
 *             for (fy = w.rows.first; fy < w.rows.last; ++fy)
 *                 for (fx = w.cols.first; fx < w.cols.last; ++fx)
 *                     input + tg_conv_window_pixel(&w, fy, fx): the tap's input pixel
 *                     filter + tg_conv_window_tap(&w, fy, fx) * its stride: the tap's filter
 *         then the bias, requantization and clamp of one output value
 *     }
 *
 * The int8 kernels' end of an output value (tg_conv_quant_t, tg_conv_output_s8) is here
 * too, and the int8 sum of CONV_2D (tg_conv_sum_s8), which tg_cw_conv_s8 shares.
 */
#ifndef TG_CONV_WINDOW_H
#define TG_CONV_WINDOW_H

#include "tg_common.h"

/* The shape of a convolution (NHWC input and output), embedded as `geometry` in the params
   structs of the portable convolutions. */
typedef struct {
    int32_t batches;
    int32_t input_height;
    int32_t input_width;
    int32_t input_depth;
    int32_t filter_height;
    int32_t filter_width;
    int32_t output_height;
    int32_t output_width;
    int32_t output_depth;
    int32_t stride_height;
    int32_t stride_width;
    int32_t dilation_height;
    int32_t dilation_width;
    int32_t pad_top;            /* implicit zero rows above the image */
    int32_t pad_left;           /* implicit zero columns left of the image */
} tg_conv_geometry_t;

/* The bias and requantization of an int8 convolution's outputs (TFLite's per-channel
   quantization), embedded as `quant` in the int8 params structs; tg_conv_output_s8. */
typedef struct {
    const int32_t *bias;        /* [output_depth], or NULL */
    const int32_t *multiplier;  /* [output_depth] Q31 output multipliers */
    const int32_t *shift;       /* [output_depth] power-of-two exponents */
    int32_t input_offset;       /* minus the input zero point */
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_conv_quant_t;

/* Half-open range [first, last) of taps t with 0 <= origin + dilation * t < size. */
typedef struct {
    int32_t first;
    int32_t last;
} tg_tap_range_t;

TG_INLINE tg_tap_range_t tg_conv_tap_range(int32_t origin, int32_t dilation,
                                           int32_t size, int32_t taps)
{
    tg_tap_range_t r;
    /* first tap at or after position 0: ceil(-origin / dilation) when origin < 0 */
    r.first = origin < 0 ? (-origin + dilation - 1) / dilation : 0;
    /* one past the last tap before position `size`: ceil((size - origin) / dilation) */
    r.last = size > origin ? (size - origin + dilation - 1) / dilation : 0;
    r.first = TG_MIN(r.first, taps);
    r.last = TG_MAX(TG_MIN(r.last, taps), r.first);
    return r;
}

/* One output position of the walk and its window. */
typedef struct {
    tg_conv_geometry_t g;       /* a copy: output stores cannot alias it, so it stays put */
    int32_t batch;
    int32_t out_y;
    int32_t out_x;
    int32_t in_y;               /* input row of tap row 0 (negative in the padding) */
    int32_t in_x;               /* input column of tap column 0 */
    tg_tap_range_t rows;        /* tap rows fy inside the image */
    tg_tap_range_t cols;        /* tap columns fx inside the image */
} tg_conv_window_t;

TG_INLINE void tg_conv_window_row(tg_conv_window_t *w)
{
    w->in_y = w->out_y * w->g.stride_height - w->g.pad_top;
    w->rows = tg_conv_tap_range(w->in_y, w->g.dilation_height, w->g.input_height,
                                w->g.filter_height);
}

TG_INLINE void tg_conv_window_col(tg_conv_window_t *w)
{
    w->in_x = w->out_x * w->g.stride_width - w->g.pad_left;
    w->cols = tg_conv_tap_range(w->in_x, w->g.dilation_width, w->g.input_width,
                                w->g.filter_width);
}

/* The first output position: batch 0, row 0, column 0 (none when the output is empty). */
TG_INLINE void tg_conv_window_start(tg_conv_window_t *w, const tg_conv_geometry_t *g)
{
    w->g = *g;
    w->batch = g->output_height > 0 && g->output_width > 0 ? 0 : g->batches;
    w->out_y = 0;
    w->out_x = 0;
    tg_conv_window_row(w);
    tg_conv_window_col(w);
}

/* Whether w is an output position (0 once the walk is past the last one). */
TG_INLINE int tg_conv_window_more(const tg_conv_window_t *w)
{
    return w->batch < w->g.batches;
}

/* The next output position in raster order (column, then row, then batch). */
TG_INLINE void tg_conv_window_next(tg_conv_window_t *w)
{
    if (++w->out_x == w->g.output_width) {
        w->out_x = 0;
        if (++w->out_y == w->g.output_height) {
            w->out_y = 0;
            ++w->batch;
        }
        tg_conv_window_row(w);
    }
    tg_conv_window_col(w);
}

/* Offset in the input (elements, channel 0) of the pixel that tap (fy, fx) reads; a tap
   inside the window's rows and cols. */
TG_INLINE size_t tg_conv_window_pixel(const tg_conv_window_t *w, int32_t fy, int32_t fx)
{
    const int32_t y = w->in_y + w->g.dilation_height * fy;
    const int32_t x = w->in_x + w->g.dilation_width * fx;
    return (((size_t)w->batch * (size_t)w->g.input_height + (size_t)y) *
            (size_t)w->g.input_width + (size_t)x) * (size_t)w->g.input_depth;
}

/* Index of tap (fy, fx) in the filter's taps (row-major filter_height x filter_width). */
TG_INLINE size_t tg_conv_window_tap(const tg_conv_window_t *w, int32_t fy, int32_t fx)
{
    return (size_t)fy * (size_t)w->g.filter_width + (size_t)fx;
}

/*
 * The sum of tg_conv_s8 and tg_cw_conv_s8 (TFLite's ConvPerChannel) for one output channel
 * at window w: over the taps inside the image and the filter's `depth` channels,
 * filter * (input + input_offset).  `input`: the input at the first channel the filter
 * reads; `filter`: the channel's [filter_height][filter_width][depth] values.
 */
TG_INLINE int32_t tg_conv_sum_s8(const tg_conv_window_t *w, const int8_t *input,
                                 const int8_t *filter, int32_t depth, int32_t input_offset)
{
    int32_t acc = 0;
    int32_t fy, fx, c;
    for (fy = w->rows.first; fy < w->rows.last; ++fy) {
        for (fx = w->cols.first; fx < w->cols.last; ++fx) {
            const int8_t *x = input + tg_conv_window_pixel(w, fy, fx);
            const int8_t *f = filter + tg_conv_window_tap(w, fy, fx) * (size_t)depth;
            for (c = 0; c < depth; ++c) {
                acc += (int32_t)f[c] * ((int32_t)x[c] + input_offset);
            }
        }
    }
    return acc;
}

/* Output channel oc's value from its sum: plus the bias, requantized, plus the output
   zero point, clamped to the activation's range. */
TG_INLINE int8_t tg_conv_output_s8(int32_t acc, const tg_conv_quant_t *q, int32_t oc)
{
    if (q->bias != NULL) {
        acc += q->bias[oc];
    }
    acc = tg_requantize(acc, q->multiplier[oc], q->shift[oc]) + q->output_offset;
    return (int8_t)tg_clamp(acc, q->act_min, q->act_max);
}

#endif /* TG_CONV_WINDOW_H */
