/* tg_squared_difference.h - SQUARED_DIFFERENCE, int8 and int16: (x1 - x2)^2 with broadcasting. */
#ifndef TG_SQUARED_DIFFERENCE_H
#define TG_SQUARED_DIFFERENCE_H

#include "tg_common.h"

/* Loops of the output's loop nest (TFLM broadcasts at most 4 dimensions). */
#define TG_SQDIFF_MAX_DIMS 4

typedef struct {
    int32_t left_shift;          /* inputs are multiplied by 2^left_shift before rescaling */
    int32_t input1_offset;       /* minus input1's zero point */
    int32_t input1_multiplier;   /* Q31 rescale of input1 to the common scale, < 1 */
    int32_t input1_shift;        /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_offset;       /* output zero point */
    int32_t output_multiplier;   /* Q31 mantissa of the squared difference's rescale */
    int32_t output_shift;        /* its power-of-two exponent */
    int32_t dims[TG_SQDIFF_MAX_DIMS];            /* output loop extents, outermost first */
    int32_t input1_strides[TG_SQDIFF_MAX_DIMS];  /* input1 elements per step (0: broadcast) */
    int32_t input2_strides[TG_SQDIFF_MAX_DIMS];
} tg_squared_difference_params_t;

void tg_squared_difference_s8(const tg_squared_difference_params_t *p, const int8_t *input1,
                              const int8_t *input2, int8_t *output);
void tg_squared_difference_s16(const tg_squared_difference_params_t *p, const int16_t *input1,
                               const int16_t *input2, int16_t *output);

#endif /* TG_SQUARED_DIFFERENCE_H */
