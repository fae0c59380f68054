/*
 * tg_pooling.c - int8 (and int16) average and max pooling.
 *
 * Same arithmetic as TFLite's reference_integer_ops::AveragePool and
 * MaxPool: the window is clipped to the input (padded positions are not
 * part of it), the average divides the int32 sum by the number of pixels
 * actually in the window, rounding half away from zero, and the result is
 * clamped to the fused activation range.  Input and output have the same
 * quantization, so no rescaling happens.
 */
#include "tg_pooling.h"

/* The part of a window that lies inside the input, as [start, end) filter offsets. */
typedef struct {
    int32_t origin_y, origin_x;   /* input position of the window's top-left tap */
    int32_t y_start, y_end;
    int32_t x_start, x_end;
} tg_pool_window_t;

static tg_pool_window_t pool_window(const tg_pool_params_t *p, int32_t out_y, int32_t out_x)
{
    tg_pool_window_t w;
    w.origin_y = out_y * p->stride_height - p->pad_top;
    w.origin_x = out_x * p->stride_width - p->pad_left;
    w.y_start = TG_MAX(0, -w.origin_y);
    w.y_end = TG_MIN(p->filter_height, p->input_height - w.origin_y);
    w.x_start = TG_MAX(0, -w.origin_x);
    w.x_end = TG_MIN(p->filter_width, p->input_width - w.origin_x);
    return w;
}

/* Division of a window sum by its pixel count, halves rounded away from zero. */
static int32_t rounded_mean(int32_t sum, int32_t count)
{
    return sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
}

/*
 * The loop nests, once for both element types: `wide` (a constant at each call, so the
 * compiler makes one specialised copy per type) says whether the tensors hold int16
 * (16x8 models) or int8 values.
 */
TG_INLINE int32_t pool_load(const void *base, size_t i, int wide)
{
    return wide ? (int32_t)((const int16_t *)base)[i] : (int32_t)((const int8_t *)base)[i];
}

TG_INLINE void pool_store(void *base, size_t i, int32_t v, int wide)
{
    if (wide) {
        ((int16_t *)base)[i] = (int16_t)v;
    } else {
        ((int8_t *)base)[i] = (int8_t)v;
    }
}

/* max (is_max) or the rounded mean of every window, clamped to the activation range */
TG_INLINE void pool(const tg_pool_params_t *p, const void *input, void *output, int is_max,
                    int wide)
{
    const size_t row_stride = (size_t)p->input_width * (size_t)p->depth;
    const int32_t lowest = wide ? INT16_MIN : INT8_MIN;
    size_t out = 0;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const size_t image = (size_t)b * (size_t)p->input_height * row_stride;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_pool_window_t w = pool_window(p, oy, ox);
                const int32_t count = (w.y_end - w.y_start) * (w.x_end - w.x_start);
                for (c = 0; c < p->depth; ++c) {
                    int32_t acc = is_max ? lowest : 0;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        const size_t row = image + (size_t)(w.origin_y + fy) * row_stride;
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            const int32_t v = pool_load(
                                input, row + (size_t)(w.origin_x + fx) * (size_t)p->depth +
                                (size_t)c, wide);
                            acc = is_max ? TG_MAX(acc, v) : acc + v;
                        }
                    }
                    /* the generator rejects layers with an empty window, so count > 0 */
                    if (!is_max) {
                        acc = rounded_mean(acc, count);
                    }
                    pool_store(output, out++, tg_clamp(acc, p->act_min, p->act_max), wide);
                }
            }
        }
    }
}

void tg_avg_pool_s8(const tg_pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool(p, input, output, 0, 0);
}

void tg_max_pool_s8(const tg_pool_params_t *p, const int8_t *input, int8_t *output)
{
    pool(p, input, output, 1, 0);
}

/* 16x8 models: the same arithmetic on int16 values (TFLite's int16 AveragePool / MaxPool). */
void tg_avg_pool_s16(const tg_pool_params_t *p, const int16_t *input, int16_t *output)
{
    pool(p, input, output, 0, 1);
}

void tg_max_pool_s16(const tg_pool_params_t *p, const int16_t *input, int16_t *output)
{
    pool(p, input, output, 1, 1);
}
