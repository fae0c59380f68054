/*
 * tg_activations_s16.c - int16 LOGISTIC and TANH, as TFLite's reference_integer_ops
 * Logistic and Tanh for int16: each input scaled to the table's input by
 * (x * input_multiplier + round) >> input_shift (the generator resolves TFLM's
 * power-of-two case into the same form), then tg_sigmoid_s16.h.  Element i is read
 * before element i is written: in place is safe.
 */
#include "tg_activations_s16.h"

#include "tg_sigmoid_s16.h"

TG_INLINE int32_t tg_activation_s16_input(const tg_activation_s16_params_t *p, int16_t x)
{
    const int32_t round = p->input_shift > 0 ? (int32_t)1 << (p->input_shift - 1) : 0;
    return ((int32_t)x * p->input_multiplier + round) >> p->input_shift;
}

void tg_logistic_s16(const tg_activation_s16_params_t *p, const int16_t *input,
                     int16_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = tg_sigmoid_q15(tg_activation_s16_input(p, input[i]), p->table);
    }
}

void tg_tanh_s16(const tg_activation_s16_params_t *p, const int16_t *input, int16_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = tg_tanh_q15(tg_activation_s16_input(p, input[i]), p->table);
    }
}
