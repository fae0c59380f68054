/*
 * tg_lstm_s16.h - the 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM: int16 input, output and hidden
 * state, int8 weights, int64 biases, int16 cell state (TFLM's EvalLstm<int16_t, int8_t,
 * int16_t, int64_t>).  The same step as tg_lstm.h's, except that each gate's fully
 * connected parts accumulate in 64 bits and requantize with the 64-bit
 * MultiplyByQuantizedMultiplier.
 */
#ifndef TG_LSTM_S16_H
#define TG_LSTM_S16_H

#include "tg_common.h"
#include "tg_lstm.h"

typedef struct {
    int32_t sequences;          /* independent sequences run one after another */
    int32_t time_steps;         /* steps per sequence */
    int32_t rows;               /* batch rows computed together in one step */
    int32_t input_size;         /* values of x_t per row */
    int32_t units;              /* values of h_t and c_t per row */
    const int8_t *input_weights;     /* [gate][units][input_size] */
    const int8_t *recurrent_weights; /* [gate][units][units] */
    /* [gate][input or hidden][units]: the bias with the zero point of x or h folded in */
    const int64_t *bias;
    const int32_t *fc_multiplier;    /* [gate][input or hidden]: FC -> int16 Q3.12 */
    const int32_t *fc_shift;
    tg_lstm_cell_t cell;        /* the unit update (tg_lstm_act.h) */
} tg_lstm_s16_params_t;

/* Layouts as tg_lstm_s8_s16's; hidden: int16 [sequences * rows][units]. */
void tg_lstm_s16(const tg_lstm_s16_params_t *p, const int16_t *input, int16_t *output,
                 int16_t *hidden, int16_t *cell);

#endif /* TG_LSTM_S16_H */
