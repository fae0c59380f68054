/* tg_reduce.h - int8 and int16 MEAN and SUM over any set of axes (TFLite MEAN, SUM). */
#ifndef TG_REDUCE_H
#define TG_REDUCE_H

#include "tg_common.h"

/* Dimensions after the generator merges adjacent axes of the same kind. */
#define TG_REDUCE_MAX_DIMS 4

/*
 * The input is seen as kept ("outer") dimensions, one output element per index,
 * and reduced dimensions summed into that element.  Both lists are in input
 * order, outermost first, padded at the front with extent 1.  Strides are in
 * input elements.  The output is written in row-major order of the kept
 * dimensions, which is the output tensor's layout with or without keep_dims.
 */
typedef struct {
    int32_t outer_dims[TG_REDUCE_MAX_DIMS];
    int32_t outer_strides[TG_REDUCE_MAX_DIMS];
    int32_t reduce_dims[TG_REDUCE_MAX_DIMS];
    int32_t reduce_strides[TG_REDUCE_MAX_DIMS];
    int32_t sum_offset;       /* -input_zero_point * (elements per sum) */
    int32_t multiplier;       /* Q31 mantissa of in_scale/out_scale (MEAN: also / count) */
    int32_t shift;            /* power-of-two exponent of that multiplier */
    int32_t output_offset;    /* output zero point */
} tg_reduce_params_t;

/* output = saturate(requantize(sum(input) + sum_offset) + output_offset) */
void tg_reduce_sum_s8(const tg_reduce_params_t *p, const int8_t *input, int8_t *output);
void tg_reduce_sum_s16(const tg_reduce_params_t *p, const int16_t *input, int16_t *output);

#endif /* TG_REDUCE_H */
