/*
 * tg_reduce.c - int8 and int16 MEAN and SUM over any set of axes.
 *
 * Same arithmetic as TFLite's reference_ops::QuantizedMeanOrSum: an int32 sum
 * of the raw values, minus input_zero_point times the element count,
 * requantized with MultiplyByQuantizedMultiplier and saturated to the output type.
 * For MEAN the generator has already folded 1/count into multiplier and shift the
 * way the reference does, so both operators share this kernel.  Integer sums
 * do not depend on the order of the additions, so the loops visit one output
 * element at a time and need no accumulator buffer.  One definition serves both
 * element types (TG_REDUCE_DEFINE).
 */
#include "tg_reduce.h"

#define TG_REDUCE_DEFINE(SUFFIX, T, T_MIN, T_MAX)                                           \
    static int32_t sum_reduced_##SUFFIX(const tg_reduce_params_t *p, const T *base)          \
    {                                                                                        \
        int32_t acc = 0;                                                                     \
        int32_t i0, i1, i2, i3;                                                              \
        for (i0 = 0; i0 < p->reduce_dims[0]; ++i0) {                                         \
            const T *b0 = base + (ptrdiff_t)i0 * p->reduce_strides[0];                       \
            for (i1 = 0; i1 < p->reduce_dims[1]; ++i1) {                                     \
                const T *b1 = b0 + (ptrdiff_t)i1 * p->reduce_strides[1];                     \
                for (i2 = 0; i2 < p->reduce_dims[2]; ++i2) {                                 \
                    const T *b2 = b1 + (ptrdiff_t)i2 * p->reduce_strides[2];                 \
                    for (i3 = 0; i3 < p->reduce_dims[3]; ++i3) {                             \
                        acc += b2[(ptrdiff_t)i3 * p->reduce_strides[3]];                     \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
        return acc;                                                                          \
    }                                                                                        \
                                                                                             \
    void tg_reduce_sum_##SUFFIX(const tg_reduce_params_t *p, const T *input, T *output)      \
    {                                                                                        \
        int32_t o0, o1, o2, o3;                                                              \
        for (o0 = 0; o0 < p->outer_dims[0]; ++o0) {                                          \
            const T *b0 = input + (ptrdiff_t)o0 * p->outer_strides[0];                       \
            for (o1 = 0; o1 < p->outer_dims[1]; ++o1) {                                      \
                const T *b1 = b0 + (ptrdiff_t)o1 * p->outer_strides[1];                      \
                for (o2 = 0; o2 < p->outer_dims[2]; ++o2) {                                  \
                    const T *b2 = b1 + (ptrdiff_t)o2 * p->outer_strides[2];                  \
                    for (o3 = 0; o3 < p->outer_dims[3]; ++o3) {                              \
                        const int32_t sum =                                                  \
                            sum_reduced_##SUFFIX(p, b2 + (ptrdiff_t)o3 * p->outer_strides[3]) \
                            + p->sum_offset;                                                 \
                        const int32_t out =                                                  \
                            tg_requantize(sum, p->multiplier, p->shift) + p->output_offset;  \
                        *output++ = (T)tg_clamp(out, T_MIN, T_MAX);                          \
                    }                                                                        \
                }                                                                            \
            }                                                                                \
        }                                                                                    \
    }

TG_REDUCE_DEFINE(s8, int8_t, INT8_MIN, INT8_MAX)
TG_REDUCE_DEFINE(s16, int16_t, INT16_MIN, INT16_MAX)
