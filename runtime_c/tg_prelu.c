/*
 * tg_prelu.c - PRELU, int8 and int16 (alpha int8), as TFLite's reference kernel
 * (BroadcastPrelu4DSlow):
 *   v = x + input_offset
 *   y = v >= 0 ? requantize(v, multiplier_pos, shift_pos)
 *              : requantize(v * (a + alpha_offset), multiplier_neg, shift_neg)
 *   out = clamp(y + output_offset) to the output type
 * with requantize = MultiplyByQuantizedMultiplier.  One definition serves both element
 * types (TG_PRELU_DEFINE).
 */
#include "tg_prelu.h"

#define TG_PRELU_DEFINE(SUFFIX, T, T_MIN, T_MAX)                                             \
    void tg_prelu_##SUFFIX(const tg_prelu_params_t *p, const T *input, const int8_t *alpha,  \
                           T *output)                                                        \
    {                                                                                        \
        const int32_t *d = p->dims;                                                          \
        const int32_t *si = p->input_strides;                                                \
        const int32_t *sa = p->alpha_strides;                                                \
        int32_t i0, i1, i2, i3;                                                              \
        for (i0 = 0; i0 < d[0]; ++i0) {                                                      \
            for (i1 = 0; i1 < d[1]; ++i1) {                                                  \
                for (i2 = 0; i2 < d[2]; ++i2) {                                              \
                    const T *x = input + (ptrdiff_t)i0 * si[0] + (ptrdiff_t)i1 * si[1] +     \
                                 (ptrdiff_t)i2 * si[2];                                      \
                    const int8_t *a = alpha + (ptrdiff_t)i0 * sa[0] +                        \
                                      (ptrdiff_t)i1 * sa[1] + (ptrdiff_t)i2 * sa[2];         \
                    for (i3 = 0; i3 < d[3]; ++i3) {                                          \
                        const int32_t v = (int32_t)x[(ptrdiff_t)i3 * si[3]] + p->input_offset; \
                        int32_t y;                                                           \
                        if (v >= 0) {                                                        \
                            y = tg_requantize(v, p->multiplier_pos, p->shift_pos);           \
                        } else {                                                             \
                            const int32_t av =                                               \
                                (int32_t)a[(ptrdiff_t)i3 * sa[3]] + p->alpha_offset;         \
                            y = tg_requantize(v * av, p->multiplier_neg, p->shift_neg);      \
                        }                                                                    \
                        *output++ = (T)tg_clamp(y + p->output_offset, T_MIN, T_MAX);         \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

TG_PRELU_DEFINE(s8, int8_t, INT8_MIN, INT8_MAX)
TG_PRELU_DEFINE(s16, int16_t, INT16_MIN, INT16_MAX)
