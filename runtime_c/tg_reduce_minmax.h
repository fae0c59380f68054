/* tg_reduce_minmax.h - int8 REDUCE_MAX and REDUCE_MIN over any set of axes. */
#ifndef TG_REDUCE_MINMAX_H
#define TG_REDUCE_MINMAX_H

#include "tg_common.h"

/* Dimensions after the generator merges adjacent axes of the same kind. */
#define TG_REDUCE_MINMAX_DIMS 4

/*
 * As tg_reduce.h: kept ("outer") dimensions, one output element per index, and
 * reduced dimensions, both in input order, outermost first, padded at the front
 * with extent 1; strides in input elements.  Output in row-major order of the
 * kept dimensions.  Input and output share their quantization: raw values compare.
 */
typedef struct {
    int32_t outer_dims[TG_REDUCE_MINMAX_DIMS];
    int32_t outer_strides[TG_REDUCE_MINMAX_DIMS];
    int32_t reduce_dims[TG_REDUCE_MINMAX_DIMS];
    int32_t reduce_strides[TG_REDUCE_MINMAX_DIMS];
} tg_reduce_minmax_params_t;

void tg_reduce_max_s8(const tg_reduce_minmax_params_t *p, const int8_t *input, int8_t *output);
void tg_reduce_min_s8(const tg_reduce_minmax_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_REDUCE_MINMAX_H */
