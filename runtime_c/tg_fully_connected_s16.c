/*
 * tg_fully_connected_s16.c - 16x8 fully connected layer.
 *
 * Same arithmetic as TFLite's reference_integer_ops::FullyConnected(PerChannel) for int16
 * inputs: the dot product of a row with a unit's weights (no offsets: 16-bit activations
 * and the weights have zero point 0), then the bias, requantization and clamp of tg_s16.h.
 */
#include "tg_fully_connected_s16.h"

#include "tg_s16.h"

void tg_fully_connected_s16(const tg_fully_connected_s16_params_t *p,
                            const int16_t *input, int16_t *output)
{
    const tg_s16_end_t end = {p->bias64, p->bias32, p->acc32, p->act_min, p->act_max};
    int32_t b, u, d;
    for (b = 0; b < p->batches; ++b) {
        const int16_t *row = input + (size_t)b * (size_t)p->depth;
        int16_t *out_row = output + (size_t)b * (size_t)p->units;
        for (u = 0; u < p->units; ++u) {
            const int8_t *w = p->weights + (size_t)u * (size_t)p->depth;
            const int32_t q = p->per_channel ? u : 0;
            int64_t acc = 0;
            for (d = 0; d < p->depth; ++d) {
                acc += (int32_t)w[d] * (int32_t)row[d];
            }
            out_row[u] = tg_s16_output(acc, &end, u, p->multiplier[q], p->shift[q]);
        }
    }
}
