/* tg_prelu.h - PRELU, int8 and int16 (alpha int8): x >= 0 ? x : alpha * x, alpha broadcast. */
#ifndef TG_PRELU_H
#define TG_PRELU_H

#include "tg_common.h"

/* Loops of the output's loop nest (TFLM's PRELU has at most 4 dimensions). */
#define TG_PRELU_MAX_DIMS 4

typedef struct {
    int32_t input_offset;    /* minus the input's zero point */
    int32_t alpha_offset;    /* minus alpha's zero point */
    int32_t output_offset;   /* the output's zero point */
    int32_t multiplier_pos;  /* Q31 mantissa of in_scale / out_scale */
    int32_t shift_pos;       /* its power-of-two exponent */
    int32_t multiplier_neg;  /* Q31 mantissa of in_scale * alpha_scale / out_scale */
    int32_t shift_neg;
    int32_t dims[TG_PRELU_MAX_DIMS];           /* output loop extents, outermost first */
    int32_t input_strides[TG_PRELU_MAX_DIMS];  /* input elements per step of each loop */
    int32_t alpha_strides[TG_PRELU_MAX_DIMS];  /* alpha elements per step (0: broadcast) */
} tg_prelu_params_t;

/* output is written in order; it must not overlap alpha. */
void tg_prelu_s8(const tg_prelu_params_t *p, const int8_t *input, const int8_t *alpha,
                 int8_t *output);
void tg_prelu_s16(const tg_prelu_params_t *p, const int16_t *input, const int8_t *alpha,
                  int16_t *output);

#endif /* TG_PRELU_H */
