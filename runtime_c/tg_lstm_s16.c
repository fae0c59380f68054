/*
 * tg_lstm_s16.c - the 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM (TFLM's integer LSTM step for
 * int16 activations, int8 weights, int64 biases, int16 cell):
 *
 *   gate  = act(sat16(FC64(x_t; W_gate)) + sat16(FC64(h_{t-1}; R_gate)))   Q3.12 -> Q0.15
 *   c_t   = clip(sat16(f * c_{t-1} + i * g))
 *   h_t   = sat16(o * tanh(c_t))
 *
 * FC64 sums in 64 bits and requantizes with the 64-bit MultiplyByQuantizedMultiplier;
 * the rest of a unit's step (sigmoid and tanh, the cell and hidden updates) is
 * tg_lstm_unit (tg_lstm_act.h), shared with tg_lstm.c.  As in tg_lstm.c, one unit is
 * finished before the next, and the new hidden values go to the step's output slice
 * before they replace the hidden state.
 */
#include "tg_lstm_s16.h"

/* acc + sum_d w[d] * v[d] in 64 bits, requantized to int16 (a gate's fully connected part). */
static int32_t fc64(const int8_t *w, const int16_t *v, int32_t depth, int64_t acc,
                    int32_t multiplier, int32_t shift)
{
    int32_t d;
    for (d = 0; d < depth; ++d) {
        acc += (int32_t)w[d] * (int32_t)v[d];
    }
    return tg_clamp(tg_requantize64(acc, multiplier, shift), INT16_MIN, INT16_MAX);
}

/* The input to a gate's activation: its two FC parts added with int16 saturation. */
static int32_t gate_input(const tg_lstm_s16_params_t *p, int32_t gate, int32_t unit,
                          const int16_t *x, const int16_t *h)
{
    const int32_t n_in = p->input_size;
    const int32_t n = p->units;
    const int64_t *bias = p->bias + (size_t)gate * 2u * (size_t)n;
    const size_t row = (size_t)gate * (size_t)n + (size_t)unit;
    const int32_t k = gate * 2;
    const int32_t from_x = fc64(p->input_weights + row * (size_t)n_in, x, n_in, bias[unit],
                                p->fc_multiplier[k + TG_LSTM_FROM_INPUT],
                                p->fc_shift[k + TG_LSTM_FROM_INPUT]);
    const int32_t from_h = fc64(p->recurrent_weights + row * (size_t)n, h, n, bias[n + unit],
                                p->fc_multiplier[k + TG_LSTM_FROM_HIDDEN],
                                p->fc_shift[k + TG_LSTM_FROM_HIDDEN]);
    return tg_clamp(from_x + from_h, INT16_MIN, INT16_MAX);
}

/* One time step over `rows` rows: reads x, h and c, writes c and this step's output. */
static void step(const tg_lstm_s16_params_t *p, const int16_t *x, int16_t *out,
                 int16_t *hidden, int16_t *cell)
{
    const int32_t n = p->units;
    int32_t row, u;
    for (row = 0; row < p->rows; ++row) {
        const int16_t *x_row = x + (size_t)row * (size_t)p->input_size;
        const int16_t *h_row = hidden + (size_t)row * (size_t)n;
        int16_t *c_row = cell + (size_t)row * (size_t)n;
        int16_t *out_row = out + (size_t)row * (size_t)n;
        for (u = 0; u < n; ++u) {
            const int32_t h = tg_lstm_unit(&p->cell,
                                           gate_input(p, TG_LSTM_INPUT_GATE, u, x_row, h_row),
                                           gate_input(p, TG_LSTM_FORGET_GATE, u, x_row, h_row),
                                           gate_input(p, TG_LSTM_CELL_GATE, u, x_row, h_row),
                                           gate_input(p, TG_LSTM_OUTPUT_GATE, u, x_row, h_row),
                                           &c_row[u]);
            out_row[u] = (int16_t)tg_clamp(h, INT16_MIN, INT16_MAX);
        }
    }
    /* every unit has read h_{t-1}: now it becomes h_t */
    for (u = 0; u < p->rows * n; ++u) {
        hidden[u] = out[u];
    }
}

void tg_lstm_s16(const tg_lstm_s16_params_t *p, const int16_t *input, int16_t *output,
                 int16_t *hidden, int16_t *cell)
{
    const size_t state = (size_t)p->rows * (size_t)p->units;
    const size_t x_step = (size_t)p->rows * (size_t)p->input_size;
    int32_t s, t;
    for (s = 0; s < p->sequences; ++s) {
        for (t = 0; t < p->time_steps; ++t) {
            const size_t at = (size_t)s * (size_t)p->time_steps + (size_t)t;
            step(p, input + at * x_step, output + at * state, hidden + (size_t)s * state,
                 cell + (size_t)s * state);
        }
    }
}
