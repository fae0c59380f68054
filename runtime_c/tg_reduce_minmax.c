/*
 * tg_reduce_minmax.c - int8 REDUCE_MAX / REDUCE_MIN.
 *
 * As TFLite's reference reduce: the result starts at the lowest (max) or
 * highest (min) int8 value and takes every reduced element in turn.
 */
#include "tg_reduce_minmax.h"

static int8_t reduce_one(const tg_reduce_minmax_params_t *p, const int8_t *base, int is_max)
{
    int32_t best = is_max ? INT8_MIN : INT8_MAX;
    int32_t i0, i1, i2, i3;
    for (i0 = 0; i0 < p->reduce_dims[0]; ++i0) {
        const int8_t *b0 = base + (ptrdiff_t)i0 * p->reduce_strides[0];
        for (i1 = 0; i1 < p->reduce_dims[1]; ++i1) {
            const int8_t *b1 = b0 + (ptrdiff_t)i1 * p->reduce_strides[1];
            for (i2 = 0; i2 < p->reduce_dims[2]; ++i2) {
                const int8_t *b2 = b1 + (ptrdiff_t)i2 * p->reduce_strides[2];
                for (i3 = 0; i3 < p->reduce_dims[3]; ++i3) {
                    const int32_t v = b2[(ptrdiff_t)i3 * p->reduce_strides[3]];
                    best = is_max ? TG_MAX(best, v) : TG_MIN(best, v);
                }
            }
        }
    }
    return (int8_t)best;
}

static void reduce_minmax(const tg_reduce_minmax_params_t *p, const int8_t *input,
                          int8_t *output, int is_max)
{
    int32_t o0, o1, o2, o3;
    for (o0 = 0; o0 < p->outer_dims[0]; ++o0) {
        const int8_t *b0 = input + (ptrdiff_t)o0 * p->outer_strides[0];
        for (o1 = 0; o1 < p->outer_dims[1]; ++o1) {
            const int8_t *b1 = b0 + (ptrdiff_t)o1 * p->outer_strides[1];
            for (o2 = 0; o2 < p->outer_dims[2]; ++o2) {
                const int8_t *b2 = b1 + (ptrdiff_t)o2 * p->outer_strides[2];
                for (o3 = 0; o3 < p->outer_dims[3]; ++o3) {
                    *output++ = reduce_one(p, b2 + (ptrdiff_t)o3 * p->outer_strides[3], is_max);
                }
            }
        }
    }
}

void tg_reduce_max_s8(const tg_reduce_minmax_params_t *p, const int8_t *input, int8_t *output)
{
    reduce_minmax(p, input, output, 1);
}

void tg_reduce_min_s8(const tg_reduce_minmax_params_t *p, const int8_t *input, int8_t *output)
{
    reduce_minmax(p, input, output, 0);
}
