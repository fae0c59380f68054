/*
 * tg_lstm.h - int8 UNIDIRECTIONAL_SEQUENCE_LSTM with int16 cell state.
 *
 * The standard LSTM (four gates, no peephole, projection or layer norm), with
 * the arithmetic of TFLM's integer LSTM for int8 activations, int8 weights,
 * int32 biases and an int16 cell state ("8x8->16"):
 *
 *   gate     = act(sat16(FC(x_t; W_gate)) + sat16(FC(h_{t-1}; R_gate)))
 *              FC outputs are int16 in Q3.12; act is sigmoid (int16 Q0.15) for
 *              the input, forget and output gates and tanh for the cell gate
 *   c_t      = clip(sat16(f * c_{t-1} + i * g))      (int16, cell state scale)
 *   h_t      = o * tanh(c_t)                         (int8, hidden state scale)
 *
 * The hidden state h and the cell state c are persistent: they are read at
 * the start of the call and hold the last step's values at its end.
 */
#ifndef TG_LSTM_H
#define TG_LSTM_H

#include "tg_common.h"
#include "tg_lstm_act.h"

/* Gate order in the weights, bias and multiplier arrays. */
enum {
    TG_LSTM_INPUT_GATE = 0,
    TG_LSTM_FORGET_GATE = 1,
    TG_LSTM_CELL_GATE = 2,
    TG_LSTM_OUTPUT_GATE = 3,
    TG_LSTM_GATES = 4
};

/* Which product of a gate's two fully connected parts (x_t or h_{t-1}). */
enum {
    TG_LSTM_FROM_INPUT = 0,
    TG_LSTM_FROM_HIDDEN = 1
};

typedef struct {
    int32_t sequences;          /* independent sequences run one after another */
    int32_t time_steps;         /* steps per sequence */
    int32_t rows;               /* batch rows computed together in one step */
    int32_t input_size;         /* values of x_t per row */
    int32_t units;              /* values of h_t and c_t per row */
    const int8_t *input_weights;     /* [gate][units][input_size] */
    const int8_t *recurrent_weights; /* [gate][units][units] */
    /* [gate][input or hidden][units]: the bias with the zero point of x or h folded in */
    const int32_t *bias;
    const int32_t *fc_multiplier;    /* [gate][input or hidden]: FC -> int16 Q3.12 */
    const int32_t *fc_shift;
    tg_lstm_cell_t cell;        /* the unit update (tg_lstm_act.h) */
} tg_lstm_params_t;

/*
 * input: [sequences][time_steps][rows][input_size] in memory order (either
 * batch-major with rows = 1, or time-major with sequences = 1);
 * output: the same layout with units per row, h_t of every step.
 * hidden: int8 [sequences * rows][units], cell: int16 [sequences * rows][units].
 */
void tg_lstm_s8_s16(const tg_lstm_params_t *p, const int8_t *input, int8_t *output,
                    int8_t *hidden, int16_t *cell);

#endif /* TG_LSTM_H */
