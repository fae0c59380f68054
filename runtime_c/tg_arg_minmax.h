/* tg_arg_minmax.h - ARG_MAX / ARG_MIN of int8 along one axis, int32 or int64 indices. */
#ifndef TG_ARG_MINMAX_H
#define TG_ARG_MINMAX_H

#include "tg_common.h"

/* The input seen as [outer, axis_size, inner]; the output as [outer, inner]. */
typedef struct {
    int32_t outer;
    int32_t axis_size;
    int32_t inner;
    int32_t is_max;        /* 1: ARG_MAX, 0: ARG_MIN */
    int32_t output_int64;  /* 1: the output is int64_t, 0: int32_t */
} tg_arg_minmax_params_t;

/* Index of the first largest (smallest) value along the axis. */
void tg_arg_minmax_s8(const tg_arg_minmax_params_t *p, const int8_t *input, void *output);

#endif /* TG_ARG_MINMAX_H */
