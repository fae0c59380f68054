/*
 * tg_maximum_minimum.c - int8 and int16 MAXIMUM / MINIMUM with broadcasting.
 *
 * Same result as TFLite's reference_ops::MaximumMinimumBroadcastSlow: for each
 * output element, the larger (smaller) of the two broadcast input elements.
 * The innermost dimension is a plain loop; the outer ones advance like an
 * odometer.  One definition serves both element types (TG_MAXMIN_DEFINE).
 */
#include "tg_maximum_minimum.h"

#define TG_MAXMIN_DEFINE(SUFFIX, T)                                                          \
    static void broadcast_max_min_##SUFFIX(const tg_maximum_minimum_params_t *p,             \
                                           const T *a, const T *b, T *out, int take_max)     \
    {                                                                                        \
        const int32_t inner = p->num_dims - 1;                                               \
        const int32_t n = p->dims[inner];                                                    \
        const ptrdiff_t sa = p->input1_strides[inner];                                       \
        const ptrdiff_t sb = p->input2_strides[inner];                                       \
        int32_t index[TG_MAXMIN_MAX_DIMS] = {0};                                             \
        ptrdiff_t offset_a = 0, offset_b = 0;  /* of the current row in each input */        \
        int32_t i, k;                                                                        \
        for (;;) {                                                                           \
            const T *row_a = a + offset_a;                                                   \
            const T *row_b = b + offset_b;                                                   \
            if (take_max) {                                                                  \
                for (i = 0; i < n; ++i) {                                                    \
                    const T x = row_a[i * sa];                                               \
                    const T y = row_b[i * sb];                                               \
                    out[i] = x > y ? x : y;                                                  \
                }                                                                            \
            } else {                                                                         \
                for (i = 0; i < n; ++i) {                                                    \
                    const T x = row_a[i * sa];                                               \
                    const T y = row_b[i * sb];                                               \
                    out[i] = x < y ? x : y;                                                  \
                }                                                                            \
            }                                                                                \
            out += n;                                                                        \
            /* next index of the outer dimensions, the last one fastest */                  \
            for (k = inner - 1; k >= 0; --k) {                                               \
                offset_a += p->input1_strides[k];                                            \
                offset_b += p->input2_strides[k];                                            \
                if (++index[k] < p->dims[k]) {                                               \
                    break;                                                                   \
                }                                                                            \
                offset_a -= (ptrdiff_t)p->input1_strides[k] * p->dims[k];                    \
                offset_b -= (ptrdiff_t)p->input2_strides[k] * p->dims[k];                    \
                index[k] = 0;                                                                \
            }                                                                                \
            if (k < 0) {                                                                     \
                return;                                                                      \
            }                                                                                \
        }                                                                                    \
    }                                                                                        \
                                                                                             \
    void tg_maximum_##SUFFIX(const tg_maximum_minimum_params_t *p, const T *input1,          \
                             const T *input2, T *output)                                     \
    {                                                                                        \
        broadcast_max_min_##SUFFIX(p, input1, input2, output, 1);                            \
    }                                                                                        \
                                                                                             \
    void tg_minimum_##SUFFIX(const tg_maximum_minimum_params_t *p, const T *input1,          \
                             const T *input2, T *output)                                     \
    {                                                                                        \
        broadcast_max_min_##SUFFIX(p, input1, input2, output, 0);                            \
    }

TG_MAXMIN_DEFINE(s8, int8_t)
TG_MAXMIN_DEFINE(s16, int16_t)
