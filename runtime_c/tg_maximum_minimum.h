/* tg_maximum_minimum.h - int8 and int16 elementwise MAXIMUM / MINIMUM with broadcasting. */
#ifndef TG_MAXIMUM_MINIMUM_H
#define TG_MAXIMUM_MINIMUM_H

#include "tg_common.h"

/* TFLM broadcasts up to rank 8; merged loops never exceed the rank. */
#define TG_MAXMIN_MAX_DIMS 8

/*
 * The output is walked in row-major order over dims[0..num_dims-1] (outermost
 * first; the generator has merged neighbours that broadcast alike).  Each
 * input advances by its own stride per dimension, 0 along a dimension it is
 * broadcast over.  Strides are in elements.
 */
typedef struct {
    int32_t num_dims;                            /* 1..TG_MAXMIN_MAX_DIMS */
    int32_t dims[TG_MAXMIN_MAX_DIMS];
    int32_t input1_strides[TG_MAXMIN_MAX_DIMS];
    int32_t input2_strides[TG_MAXMIN_MAX_DIMS];
} tg_maximum_minimum_params_t;

/* TFLite MAXIMUM / MINIMUM on raw int8 (int16) values: TFLM compares the stored
 * values and does not requantize, so neither does this. */
void tg_maximum_s8(const tg_maximum_minimum_params_t *p, const int8_t *input1,
                   const int8_t *input2, int8_t *output);
void tg_minimum_s8(const tg_maximum_minimum_params_t *p, const int8_t *input1,
                   const int8_t *input2, int8_t *output);
void tg_maximum_s16(const tg_maximum_minimum_params_t *p, const int16_t *input1,
                    const int16_t *input2, int16_t *output);
void tg_minimum_s16(const tg_maximum_minimum_params_t *p, const int16_t *input1,
                    const int16_t *input2, int16_t *output);

#endif /* TG_MAXIMUM_MINIMUM_H */
