/* tg_softmax_s16.h - int16 SOFTMAX over the last axis (TFLite's 16x8 quantization). */
#ifndef TG_SOFTMAX_S16_H
#define TG_SOFTMAX_S16_H

#include "tg_common.h"

typedef struct {
    int32_t rows;                     /* product of all dimensions but the last */
    int32_t depth;                    /* size of the last dimension (at most 65536) */
    int32_t input_multiplier;         /* Q31 mantissa of input_scale * beta * 65535 / 10 */
    int32_t input_shift;              /* its power of two */
    const int16_t *exp_lut;           /* [513] exp on [-10, 0] in Q0.15 */
    const int16_t *recip_lut;         /* [513] 1 / (1 + x) on [0, 1] in Q0.15 */
} tg_softmax_s16_params_t;

/* int16 in (zero point 0), int16 out with scale 1/32768 and zero point 0; in place is safe. */
void tg_softmax_s16(const tg_softmax_s16_params_t *p, const int16_t *input, int16_t *output);

#endif /* TG_SOFTMAX_S16_H */
