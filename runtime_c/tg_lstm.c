/*
 * tg_lstm.c - int8 UNIDIRECTIONAL_SEQUENCE_LSTM with int16 cell state.
 *
 * Same arithmetic as TFLM's integer LSTM step (lstm_eval.h, int8 activations,
 * int16 cell): each gate is two int8 fully connected products requantized to
 * int16 Q3.12 and added with saturation, then TFLite's int16 sigmoid or tanh
 * (table interpolation); the cell and hidden updates are TFLite's integer
 * element-wise multiplications (tg_lstm_unit in tg_lstm_act.h, shared with the
 * 16x8 LSTM).  The zero points of x and h are folded into
 * the biases by the generator, so the dot products are plain int8 ones.
 *
 * Every operation after the fully connected products is element-wise, so one
 * unit is computed completely (its four gates, its cell value, its new hidden
 * value) before the next: no gate buffers are needed.  The new hidden values
 * go to this step's output slice first and are copied into the hidden state
 * once every unit has read the previous one.
 */
#include "tg_lstm.h"

/* acc + sum_d w[d] * v[d] requantized to int16 (an LSTM gate's fully connected part). */
static int32_t tg_lstm_fc(const int8_t *w, const int8_t *v, int32_t depth, int32_t acc,
                          int32_t multiplier, int32_t shift)
{
    int32_t d;
    for (d = 0; d < depth; ++d) {
        acc += (int32_t)w[d] * (int32_t)v[d];
    }
    return tg_clamp(tg_requantize(acc, multiplier, shift), INT16_MIN, INT16_MAX);
}

/* The input to a gate's activation: its two FC parts added with int16 saturation. */
static int32_t tg_lstm_gate(const tg_lstm_params_t *p, int32_t gate, int32_t unit,
                            const int8_t *x, const int8_t *h)
{
    const int32_t n_in = p->input_size;
    const int32_t n = p->units;
    const int32_t *bias = p->bias + (size_t)gate * 2u * (size_t)n;
    const size_t row = (size_t)gate * (size_t)n + (size_t)unit;
    const int8_t *w = p->input_weights + row * (size_t)n_in;
    const int8_t *r = p->recurrent_weights + row * (size_t)n;
    const int32_t k = gate * 2;
    const int32_t from_x = tg_lstm_fc(w, x, n_in, bias[unit],
                                      p->fc_multiplier[k + TG_LSTM_FROM_INPUT],
                                      p->fc_shift[k + TG_LSTM_FROM_INPUT]);
    const int32_t from_h = tg_lstm_fc(r, h, n, bias[n + unit],
                                      p->fc_multiplier[k + TG_LSTM_FROM_HIDDEN],
                                      p->fc_shift[k + TG_LSTM_FROM_HIDDEN]);
    return tg_clamp(from_x + from_h, INT16_MIN, INT16_MAX);
}

/* One time step over `rows` rows: reads x, h and c, writes c and this step's output. */
static void tg_lstm_step(const tg_lstm_params_t *p, const int8_t *x, int8_t *out,
                         int8_t *hidden, int16_t *cell)
{
    const int32_t n = p->units;
    int32_t row, u;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *x_row = x + (size_t)row * (size_t)p->input_size;
        const int8_t *h_row = hidden + (size_t)row * (size_t)n;
        int16_t *c_row = cell + (size_t)row * (size_t)n;
        int8_t *out_row = out + (size_t)row * (size_t)n;
        for (u = 0; u < n; ++u) {
            const int32_t h = tg_lstm_unit(&p->cell,
                                           tg_lstm_gate(p, TG_LSTM_INPUT_GATE, u, x_row, h_row),
                                           tg_lstm_gate(p, TG_LSTM_FORGET_GATE, u, x_row, h_row),
                                           tg_lstm_gate(p, TG_LSTM_CELL_GATE, u, x_row, h_row),
                                           tg_lstm_gate(p, TG_LSTM_OUTPUT_GATE, u, x_row, h_row),
                                           &c_row[u]);
            out_row[u] = (int8_t)tg_clamp(h, INT8_MIN, INT8_MAX);
        }
    }
    /* every unit has read h_{t-1}: now it becomes h_t */
    for (u = 0; u < p->rows * n; ++u) {
        hidden[u] = out[u];
    }
}

void tg_lstm_s8_s16(const tg_lstm_params_t *p, const int8_t *input, int8_t *output,
                    int8_t *hidden, int16_t *cell)
{
    const size_t state = (size_t)p->rows * (size_t)p->units;
    const size_t x_step = (size_t)p->rows * (size_t)p->input_size;
    int32_t s, t;
    for (s = 0; s < p->sequences; ++s) {
        for (t = 0; t < p->time_steps; ++t) {
            const size_t step = (size_t)s * (size_t)p->time_steps + (size_t)t;
            tg_lstm_step(p, input + step * x_step, output + step * state,
                         hidden + (size_t)s * state, cell + (size_t)s * state);
        }
    }
}
