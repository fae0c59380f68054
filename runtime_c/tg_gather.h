/* tg_gather.h - GATHER along one axis, with batch dimensions (any element type). */
#ifndef TG_GATHER_H
#define TG_GATHER_H

#include "tg_common.h"

/*
 * The input seen as [batch, outer, axis_size, inner_bytes], the positions as
 * [batch, count], the output as [batch, outer, count, inner_bytes]:
 *   output[b][o][c] = input[b][o][positions[b][c]]
 */
typedef struct {
    int32_t batch;        /* product of the first batch_dims dimensions */
    int32_t outer;        /* product of the input dimensions between them and the axis */
    int32_t axis_size;    /* input extent along the axis */
    int32_t inner_bytes;  /* bytes of one slice (dimensions after the axis) */
    int32_t count;        /* positions per batch */
} tg_gather_params_t;

/* Returns 0, or -1 (nothing more written) at a position outside [0, axis_size). */
int tg_gather(const tg_gather_params_t *p, const void *input, const int32_t *positions,
              void *output);

#endif /* TG_GATHER_H */
