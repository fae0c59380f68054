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

void tg_avg_pool_s8(const tg_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t row_stride = (size_t)p->input_width * (size_t)p->depth;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)p->input_height * row_stride;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_pool_window_t w = pool_window(p, oy, ox);
                const int32_t count = (w.y_end - w.y_start) * (w.x_end - w.x_start);
                for (c = 0; c < p->depth; ++c) {
                    int32_t sum = 0;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        const int8_t *row = image + (size_t)(w.origin_y + fy) * row_stride;
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            sum += row[(size_t)(w.origin_x + fx) * (size_t)p->depth + (size_t)c];
                        }
                    }
                    /* the generator rejects layers with an empty window, so count > 0 */
                    *output++ = (int8_t)tg_clamp(rounded_mean(sum, count), p->act_min, p->act_max);
                }
            }
        }
    }
}

void tg_max_pool_s8(const tg_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const size_t row_stride = (size_t)p->input_width * (size_t)p->depth;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * (size_t)p->input_height * row_stride;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_pool_window_t w = pool_window(p, oy, ox);
                for (c = 0; c < p->depth; ++c) {
                    int32_t max = INT8_MIN;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        const int8_t *row = image + (size_t)(w.origin_y + fy) * row_stride;
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            const int32_t v =
                                row[(size_t)(w.origin_x + fx) * (size_t)p->depth + (size_t)c];
                            max = TG_MAX(max, v);
                        }
                    }
                    *output++ = (int8_t)tg_clamp(max, p->act_min, p->act_max);
                }
            }
        }
    }
}

/* 16x8 models: the same arithmetic on int16 values (TFLite's int16 AveragePool / MaxPool). */
void tg_avg_pool_s16(const tg_pool_params_t *p, const int16_t *input, int16_t *output)
{
    const size_t row_stride = (size_t)p->input_width * (size_t)p->depth;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *image = input + (size_t)b * (size_t)p->input_height * row_stride;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_pool_window_t w = pool_window(p, oy, ox);
                const int32_t count = (w.y_end - w.y_start) * (w.x_end - w.x_start);
                for (c = 0; c < p->depth; ++c) {
                    int32_t sum = 0;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        const int16_t *row = image + (size_t)(w.origin_y + fy) * row_stride;
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            sum += row[(size_t)(w.origin_x + fx) * (size_t)p->depth + (size_t)c];
                        }
                    }
                    *output++ = (int16_t)tg_clamp(rounded_mean(sum, count), p->act_min,
                                                  p->act_max);
                }
            }
        }
    }
}

void tg_max_pool_s16(const tg_pool_params_t *p, const int16_t *input, int16_t *output)
{
    const size_t row_stride = (size_t)p->input_width * (size_t)p->depth;
    int32_t b, oy, ox, c, fy, fx;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *image = input + (size_t)b * (size_t)p->input_height * row_stride;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_pool_window_t w = pool_window(p, oy, ox);
                for (c = 0; c < p->depth; ++c) {
                    int32_t max = INT16_MIN;
                    for (fy = w.y_start; fy < w.y_end; ++fy) {
                        const int16_t *row = image + (size_t)(w.origin_y + fy) * row_stride;
                        for (fx = w.x_start; fx < w.x_end; ++fx) {
                            const int32_t v =
                                row[(size_t)(w.origin_x + fx) * (size_t)p->depth + (size_t)c];
                            max = TG_MAX(max, v);
                        }
                    }
                    *output++ = (int16_t)tg_clamp(max, p->act_min, p->act_max);
                }
            }
        }
    }
}
