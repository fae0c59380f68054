/* tg_tile.h - TILE: the input repeated along each dimension (any element type). */
#ifndef TG_TILE_H
#define TG_TILE_H

#include "tg_common.h"

/* Dimensions after the generator drops and merges what it can. */
#define TG_TILE_MAX_DIMS 6

/*
 * output[i0, ..., i(dims-1)] = input[i0 mod in_shape[0], ..., i(dims-1) mod in_shape[dims-1]],
 * with output extents in_shape[k] * multiples[k].  Bytes are copied as they are.
 */
typedef struct {
    int32_t dims;                          /* dimensions used, 1..TG_TILE_MAX_DIMS */
    int32_t in_shape[TG_TILE_MAX_DIMS];    /* input extents, outermost first */
    int32_t multiples[TG_TILE_MAX_DIMS];   /* repetitions of each dimension (>= 1) */
    int32_t elem_bytes;                    /* size of one element */
} tg_tile_params_t;

/* input and output must not overlap. */
void tg_tile(const tg_tile_params_t *p, const void *input, void *output);

#endif /* TG_TILE_H */
