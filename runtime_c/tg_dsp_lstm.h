/*
 * tg_dsp_lstm.h - int8 UNIDIRECTIONAL_SEQUENCE_LSTM with int16 cell state on the DSP
 * extension (dsp variant): the arithmetic of tg_lstm.h (TFLM's integer LSTM, "8x8->16"),
 * its gate products with SMLAD on weights the generator re-laid-out and widened to int16.
 */
#ifndef TG_DSP_LSTM_H
#define TG_DSP_LSTM_H

#include "tg_common.h"
#include "tg_lstm_act.h"

/* Gates, in the order of the weights, biases and multipliers: input, forget, cell, output. */
#define TG_DSP_LSTM_GATES 4

/*
 * Weights, for each unit u one block, for x (depth = input_size) and for h (depth = units):
 * for each group of 4 depth values d..d+3 (d = 0, 4, ...) and each gate g (input, forget,
 * cell, output), two words of int16 pairs: (w[g][u][d], w[g][u][d+2]) and
 * (w[g][u][d+1], w[g][u][d+3]) (low half first); then, for each gate, its depth % 4 last
 * weights as int32 values.  A block holds 2 * depth + 2 * (depth % 4) words.
 */
typedef struct {
    int32_t sequences;          /* independent sequences run one after another */
    int32_t time_steps;         /* steps per sequence */
    int32_t rows;               /* batch rows computed together in one step */
    int32_t input_size;         /* values of x_t per row */
    int32_t units;              /* values of h_t and c_t per row */
    const int32_t *input_weights;     /* [units][block of input_size], layout above */
    const int32_t *recurrent_weights; /* [units][block of units] */
    /* [units][gate][from x, from h]: the bias with the zero point of x or h folded in */
    const int32_t *bias;
    const int32_t *fc_multiplier;    /* [gate][from x, from h]: FC -> int16 Q3.12 */
    const int32_t *fc_shift;
    tg_lstm_cell_t cell;        /* the cell and hidden update, as the portable LSTMs' */
} tg_dsp_lstm_params_t;

/* Same tensors and layouts as tg_lstm_s8_s16 (tg_lstm.h). */
void tg_dsp_lstm_s8_s16(const tg_dsp_lstm_params_t *p, const int8_t *input, int8_t *output,
                        int8_t *hidden, int16_t *cell);

#endif /* TG_DSP_LSTM_H */
