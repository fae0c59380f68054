/* tg_activations_s16.h - int16 LOGISTIC and TANH (TFLite's 16x8 quantization). */
#ifndef TG_ACTIVATIONS_S16_H
#define TG_ACTIVATIONS_S16_H

#include "tg_common.h"

typedef struct {
    int32_t count;              /* elements */
    int32_t input_multiplier;   /* input * multiplier, rounded right by input_shift, is */
    int32_t input_shift;        /*   the table's input (Q3.12 times 3; tg_sigmoid_s16.h) */
    const uint16_t *table;      /* [257] sigmoid(k / 24) in Q0.16 */
} tg_activation_s16_params_t;

void tg_logistic_s16(const tg_activation_s16_params_t *p, const int16_t *input,
                     int16_t *output);
void tg_tanh_s16(const tg_activation_s16_params_t *p, const int16_t *input, int16_t *output);

#endif /* TG_ACTIVATIONS_S16_H */
