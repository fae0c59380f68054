/*
 * tg_lstm_act.h - what the portable LSTMs (tg_lstm.c, tg_lstm_s16.c) and the dsp one
 * (tg_dsp_lstm.c) share around their int16 sigmoid and tanh (TFLite's int16 LOGISTIC and
 * TANH, tg_sigmoid_s16.h, the same functions the standalone int16 LOGISTIC/TANH use): the
 * table's input scale and the rescaling of the cell state for its tanh; and the portable
 * ones' end of a unit's step, from its four gates' inputs to its new cell and hidden
 * values (tg_lstm_cell_t, tg_lstm_unit).
 */
#ifndef TG_LSTM_ACT_H
#define TG_LSTM_ACT_H

#include "tg_common.h"
#include "tg_sigmoid_s16.h"   /* tg_sigmoid_q15, tg_tanh_q15: the gates' activations */

/*
 * The int16 sigmoid and tanh take their Q3.12 input times 3: |x| * 3 / 2^9 is
 * then 24 |x| in real terms, the index of the table of sigmoid(k/24) (tanh
 * uses 2^8, as tanh(x) = 2 sigmoid(2x) - 1).
 */
#define TG_LSTM_TABLE_SCALE 3

/* x * multiplier rounded right by shift, in the wrapping 32-bit arithmetic of the reference. */
TG_INLINE int32_t tg_lstm_prescale(int32_t x, int32_t multiplier, int32_t shift)
{
    const uint32_t round = shift > 0 ? (1u << (shift - 1)) : 0u;
    const int32_t scaled = (int32_t)((uint32_t)x * (uint32_t)multiplier + round);
    return scaled >> shift;
}

/* The quantization of a unit's cell and hidden update, embedded as `cell` in the portable
   LSTMs' params. */
typedef struct {
    int32_t forget_multiplier;  /* f (Q0.15) * c -> c */
    int32_t forget_shift;
    int32_t input_multiplier;   /* i (Q0.15) * g (Q0.15) -> c */
    int32_t input_shift;
    int32_t hidden_multiplier;  /* o (Q0.15) * tanh(c) (Q0.15) -> h */
    int32_t hidden_shift;
    int32_t hidden_offset;      /* zero point of h */
    int32_t use_cell_clip;      /* clip c to [-cell_clip, cell_clip] */
    int32_t cell_clip;
    /* tanh(c): c rescaled to Q3.12 times 3, i.e. (c * multiplier + round) >> shift */
    int32_t cell_tanh_multiplier;
    int32_t cell_tanh_shift;
    const uint16_t *sigmoid_table; /* [256] sigmoid(k/24) in 0.16 */
} tg_lstm_cell_t;

/*
 * One unit's update (TFLM's integer LSTM step after the gates' fully connected parts),
 * from the inputs of its input, forget, cell and output gates (each the int16-saturated
 * sum of its two parts, Q3.12):
 *   i, f, o = sigmoid(input), g = tanh(input)                  (Q0.15)
 *   c = clip(sat16(sat16(f * c) + sat16(i * g)))               replaces *cell
 *   returns h = o * tanh(c) + hidden_offset, before its clamp to the output type.
 * The products are TFLite's integer element-wise multiplications.
 */
TG_INLINE int32_t tg_lstm_unit(const tg_lstm_cell_t *q, int32_t input_gate, int32_t forget_gate,
                               int32_t cell_gate, int32_t output_gate, int16_t *cell)
{
    const uint16_t *table = q->sigmoid_table;
    const int32_t i = tg_sigmoid_q15(TG_LSTM_TABLE_SCALE * input_gate, table);
    const int32_t f = tg_sigmoid_q15(TG_LSTM_TABLE_SCALE * forget_gate, table);
    const int32_t g = tg_tanh_q15(TG_LSTM_TABLE_SCALE * cell_gate, table);
    const int32_t o = tg_sigmoid_q15(TG_LSTM_TABLE_SCALE * output_gate, table);
    const int32_t kept = tg_clamp(tg_requantize(f * *cell, q->forget_multiplier, q->forget_shift),
                                  INT16_MIN, INT16_MAX);
    const int32_t added = tg_clamp(tg_requantize(i * g, q->input_multiplier, q->input_shift),
                                   INT16_MIN, INT16_MAX);
    int32_t c = tg_clamp(kept + added, INT16_MIN, INT16_MAX);
    int32_t t;
    if (q->use_cell_clip) {
        c = tg_clamp(c, -q->cell_clip, q->cell_clip);
    }
    *cell = (int16_t)c;
    t = tg_tanh_q15(tg_lstm_prescale(c, q->cell_tanh_multiplier, q->cell_tanh_shift), table);
    return q->hidden_offset + tg_requantize(t * o, q->hidden_multiplier, q->hidden_shift);
}

#endif /* TG_LSTM_ACT_H */
