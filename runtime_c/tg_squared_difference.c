/*
 * tg_squared_difference.c - SQUARED_DIFFERENCE, int8 and int16, as TFLM's kernel:
 *   a = rescale((x1 + input1_offset) * 2^left_shift, input1_multiplier, input1_shift)
 *   b = rescale((x2 + input2_offset) * 2^left_shift, input2_multiplier, input2_shift)
 *   out = clamp(requantize((a - b)^2, output_multiplier, output_shift) + output_offset)
 * with rescale = MultiplyByQuantizedMultiplierSmallerThanOneExp and requantize =
 * MultiplyByQuantizedMultiplier.  |a - b| <= 2^15 (int8: left_shift 7; int16: 0), so the
 * square fits in 32 bits.  One definition serves both element types (TG_SQDIFF_DEFINE).
 */
#include "tg_squared_difference.h"

TG_INLINE int32_t sqdiff_rescale(int32_t x, int32_t offset, int32_t left_shift,
                                 int32_t multiplier, int32_t shift)
{
    return tg_requantize_le1((x + offset) * ((int32_t)1 << left_shift), multiplier, shift);
}

#define TG_SQDIFF_DEFINE(SUFFIX, T, T_MIN, T_MAX)                                            \
    void tg_squared_difference_##SUFFIX(const tg_squared_difference_params_t *p,             \
                                        const T *input1, const T *input2, T *output)         \
    {                                                                                        \
        const int32_t *d = p->dims;                                                          \
        const int32_t *s1 = p->input1_strides;                                               \
        const int32_t *s2 = p->input2_strides;                                               \
        int32_t i0, i1, i2, i3;                                                              \
        for (i0 = 0; i0 < d[0]; ++i0) {                                                      \
            for (i1 = 0; i1 < d[1]; ++i1) {                                                  \
                for (i2 = 0; i2 < d[2]; ++i2) {                                              \
                    const T *x1 = input1 + (ptrdiff_t)i0 * s1[0] + (ptrdiff_t)i1 * s1[1] +   \
                                  (ptrdiff_t)i2 * s1[2];                                     \
                    const T *x2 = input2 + (ptrdiff_t)i0 * s2[0] + (ptrdiff_t)i1 * s2[1] +   \
                                  (ptrdiff_t)i2 * s2[2];                                     \
                    for (i3 = 0; i3 < d[3]; ++i3) {                                          \
                        const int32_t a = sqdiff_rescale(x1[(ptrdiff_t)i3 * s1[3]],          \
                                                         p->input1_offset, p->left_shift,    \
                                                         p->input1_multiplier,               \
                                                         p->input1_shift);                   \
                        const int32_t b = sqdiff_rescale(x2[(ptrdiff_t)i3 * s2[3]],          \
                                                         p->input2_offset, p->left_shift,    \
                                                         p->input2_multiplier,               \
                                                         p->input2_shift);                   \
                        const int32_t diff = a - b;                                          \
                        const int32_t y = tg_requantize(diff * diff, p->output_multiplier,   \
                                                        p->output_shift) + p->output_offset; \
                        *output++ = (T)tg_clamp(y, T_MIN, T_MAX);                            \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

TG_SQDIFF_DEFINE(s8, int8_t, INT8_MIN, INT8_MAX)
TG_SQDIFF_DEFINE(s16, int16_t, INT16_MIN, INT16_MAX)
