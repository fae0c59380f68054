/*
 * tg_relu_s16.c - int16 RELU, RELU6 and LEAKY_RELU as TFLM's ReluQuantized<int16_t>,
 * Relu6Quantized<int16_t> and QuantizeLeakyRelu<int16_t>: the generator expresses each
 * as a two-sided requantization and a clamp (codegen/ops/relu.py, relu_s16_params).
 */
#include "tg_relu_s16.h"

void tg_relu_s16(const tg_relu_s16_params_t *p, const int16_t *input, int16_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        const int32_t v = (int32_t)input[i] - p->input_offset;
        int32_t r;
        if (v >= 0) {
            r = tg_requantize(v, p->positive_multiplier, p->positive_shift);
        } else {
            r = tg_requantize(v, p->negative_multiplier, p->negative_shift);
            if (p->negate_negative) {
                r = -r;
            }
        }
        output[i] = (int16_t)tg_clamp(p->output_offset + r, p->act_min, p->act_max);
    }
}
