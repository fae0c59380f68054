/* tg_div.h - DIV, int8: x1 / x2 with broadcasting (TFLM's arithmetic, defined everywhere). */
#ifndef TG_DIV_H
#define TG_DIV_H

#include "tg_common.h"

/* Loops of the output's loop nest (TFLM broadcasts at most 5 dimensions). */
#define TG_DIV_MAX_DIMS 5

typedef struct {
    int32_t input1_offset;      /* minus input1's zero point */
    int32_t input2_offset;      /* minus input2's zero point */
    int32_t output_offset;      /* the output's zero point */
    int32_t output_multiplier;  /* Q31 mantissa of s1 / (s2 * s_out) */
    int32_t output_shift;       /* its power-of-two exponent, <= 23 */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_DIV_MAX_DIMS];            /* output loop extents, outermost first */
    int32_t input1_strides[TG_DIV_MAX_DIMS];  /* input1 elements per step (0: broadcast) */
    int32_t input2_strides[TG_DIV_MAX_DIMS];
} tg_div_params_t;

/* output is written in order. */
void tg_div_s8(const tg_div_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

#endif /* TG_DIV_H */
