/*
 * tg_dsp_pooling.c - int8 average and max pooling, dsp variant.
 *
 * The values of tg_pooling.c (TFLite's reference AveragePool and MaxPool: the window
 * clipped to the input, the average the int32 sum divided by the pixels in the window
 * with halves rounded away from zero, the fused activation clamp), computed per output
 * pixel for 4 channels at a time, one word of each window pixel:
 *
 * - average: SXTAB16 adds the word's int8 lanes 0 and 2, and (rotated) 1 and 3, into two
 *   pairs of 16-bit sums.  The lanes do not carry into each other, and a sum of at most
 *   256 int8 values lies in [-32768, 32512], so each 16-bit lane holds the exact sum.
 * - max: SSUB8 sets a GE flag per lane where the first value is the larger or equal, SEL
 *   takes those lanes from it and the others from the second value: the lane-wise max;
 *   the activation clamp is the same max with act_min and min with act_max in every lane.
 *
 * The depth % 4 last channels are summed or compared one by one.
 */
#include "tg_dsp_pooling.h"

#include <string.h>

#include "tg_acle.h"

/* The part of a window inside the input: its first pixel and its size. */
typedef struct {
    int32_t first;      /* offset of its top-left pixel in the image, in values */
    int32_t rows;
    int32_t cols;
} tg_dsp_pool_win_t;

static tg_dsp_pool_win_t tg_dsp_pool_window(const tg_dsp_pool_params_t *p, int32_t out_y,
                                            int32_t out_x)
{
    const int32_t origin_y = out_y * p->stride_height - p->pad_top;
    const int32_t origin_x = out_x * p->stride_width - p->pad_left;
    const int32_t y0 = TG_MAX(0, -origin_y);
    const int32_t y1 = TG_MIN(p->filter_height, p->input_height - origin_y);
    const int32_t x0 = TG_MAX(0, -origin_x);
    const int32_t x1 = TG_MIN(p->filter_width, p->input_width - origin_x);
    tg_dsp_pool_win_t w;
    w.first = ((origin_y + y0) * p->input_width + origin_x + x0) * p->depth;
    w.rows = y1 - y0;
    w.cols = x1 - x0;
    return w;
}

/* Stores 4 int8 values, the word's lanes, at any alignment. */
TG_INLINE void tg_dsp_pool_store4(int8_t *out, uint32_t v)
{
#if TG_ACLE_DSP
    memcpy(out, &v, sizeof v);       /* one STR: Cortex-M4/M7/M33 store words unaligned */
#else
    int k;
    for (k = 0; k < 4; ++k) {
        out[k] = (int8_t)((int32_t)(((v >> (8 * k)) & 0xFFu) ^ 0x80u) - 0x80);
    }
#endif
}

/* ---- AVERAGE_POOL_2D ---------------------------------------------------------- */

/* int16 lane k (0 or 1) of x, sign-extended. */
TG_INLINE int32_t tg_dsp_pool_lane16(uint32_t x, int k)
{
    const uint32_t h = (x >> (16 * k)) & 0xFFFFu;
    return (int32_t)h - (int32_t)((h & 0x8000u) << 1);
}

/* TFLite's rounded mean, clamped to the activation range. */
TG_INLINE int8_t tg_dsp_pool_mean(int32_t sum, int32_t count, int32_t lo, int32_t hi)
{
    const int32_t mean = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
    return (int8_t)tg_clamp(mean, lo, hi);
}

void tg_dsp_avg_pool_s8(const tg_dsp_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t quads_end = depth & ~3;
    const size_t image = (size_t)p->input_height * (size_t)p->input_width * (size_t)depth;
    const size_t row_stride = (size_t)p->input_width * (size_t)depth;
    int32_t b, oy, ox, c, y, x, k;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *img = input + (size_t)b * image;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_dsp_pool_win_t w = tg_dsp_pool_window(p, oy, ox);
                const int32_t count = w.rows * w.cols;   /* > 0: the generator checked */
                const size_t skip = row_stride - (size_t)w.cols * (size_t)depth;
                for (c = 0; c < quads_end; c += 4) {
                    const int8_t *px = img + w.first + c;
                    uint32_t even = 0, odd = 0;      /* channels c, c+2 and c+1, c+3 */
                    for (y = 0; y < w.rows; ++y) {
                        for (x = 0; x < w.cols; ++x) {
                            const uint32_t v = tg_read_s8x4(px);
                            even = tg_sxtab16(even, v);
                            odd = tg_sxtab16_ror8(odd, v);
                            px += depth;
                        }
                        px += skip;
                    }
                    for (k = 0; k < 4; ++k) {        /* once per window: not unrolled */
                        output[c + k] = tg_dsp_pool_mean(
                            tg_dsp_pool_lane16((k & 1) ? odd : even, k >> 1), count,
                            p->act_min, p->act_max);
                    }
                }
                for (; c < depth; ++c) {
                    const int8_t *px = img + w.first + c;
                    int32_t sum = 0;
                    for (y = 0; y < w.rows; ++y) {
                        for (x = 0; x < w.cols; ++x) {
                            sum += *px;
                            px += depth;
                        }
                        px += skip;
                    }
                    output[c] = tg_dsp_pool_mean(sum, count, p->act_min, p->act_max);
                }
                output += depth;
            }
        }
    }
}

/* ---- MAX_POOL_2D -------------------------------------------------------------- */

/* Lane-wise max of four int8 values (SSUB8, SEL). */
TG_INLINE uint32_t tg_dsp_max8(uint32_t a, uint32_t b)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t r;
    /* one asm statement: nothing may touch the GE flags between the two */
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %1, %2" : "=&r"(r) : "r"(a), "r"(b));
    return r;
#else
    uint32_t r = 0;
    int k;
    for (k = 0; k < 32; k += 8) {
        const int32_t x = (int32_t)(((a >> k) & 0xFFu) ^ 0x80u) - 0x80;
        const int32_t y = (int32_t)(((b >> k) & 0xFFu) ^ 0x80u) - 0x80;
        r |= ((uint32_t)(x >= y ? x : y) & 0xFFu) << k;
    }
    return r;
#endif
}

/* Lane-wise min of four int8 values. */
TG_INLINE uint32_t tg_dsp_min8(uint32_t a, uint32_t b)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t r;
    __asm__("ssub8 %0, %1, %2\n\tsel %0, %2, %1" : "=&r"(r) : "r"(a), "r"(b));
    return r;
#else
    uint32_t r = 0;
    int k;
    for (k = 0; k < 32; k += 8) {
        const int32_t x = (int32_t)(((a >> k) & 0xFFu) ^ 0x80u) - 0x80;
        const int32_t y = (int32_t)(((b >> k) & 0xFFu) ^ 0x80u) - 0x80;
        r |= ((uint32_t)(x >= y ? y : x) & 0xFFu) << k;
    }
    return r;
#endif
}

/* v in all four int8 lanes. */
static uint32_t tg_dsp_pool_splat(int32_t v)
{
    return ((uint32_t)v & 0xFFu) * 0x01010101u;
}

void tg_dsp_max_pool_s8(const tg_dsp_pool_params_t *p, const int8_t *input, int8_t *output)
{
    const int32_t depth = p->depth;
    const int32_t quads_end = depth & ~3;
    const size_t image = (size_t)p->input_height * (size_t)p->input_width * (size_t)depth;
    const size_t row_stride = (size_t)p->input_width * (size_t)depth;
    const uint32_t lo = tg_dsp_pool_splat(p->act_min), hi = tg_dsp_pool_splat(p->act_max);
    int32_t b, oy, ox, c, y, x;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *img = input + (size_t)b * image;
        for (oy = 0; oy < p->output_height; ++oy) {
            for (ox = 0; ox < p->output_width; ++ox) {
                const tg_dsp_pool_win_t w = tg_dsp_pool_window(p, oy, ox);
                const size_t skip = row_stride - (size_t)w.cols * (size_t)depth;
                for (c = 0; c < quads_end; c += 4) {
                    const int8_t *px = img + w.first + c;
                    uint32_t m = 0x80808080u;        /* INT8_MIN in every lane */
                    for (y = 0; y < w.rows; ++y) {
                        for (x = 0; x < w.cols; ++x) {
                            m = tg_dsp_max8(m, tg_read_s8x4(px));
                            px += depth;
                        }
                        px += skip;
                    }
                    tg_dsp_pool_store4(output + c, tg_dsp_min8(tg_dsp_max8(m, lo), hi));
                }
                for (; c < depth; ++c) {
                    const int8_t *px = img + w.first + c;
                    int32_t m = INT8_MIN;
                    for (y = 0; y < w.rows; ++y) {
                        for (x = 0; x < w.cols; ++x) {
                            m = TG_MAX(m, (int32_t)*px);
                            px += depth;
                        }
                        px += skip;
                    }
                    output[c] = (int8_t)tg_clamp(m, p->act_min, p->act_max);
                }
                output += depth;
            }
        }
    }
}
