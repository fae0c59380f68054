/*
 * tg_lstm_act.h - what the portable LSTM (tg_lstm.c) and the dsp one (tg_dsp_lstm.c) share
 * around their int16 sigmoid and tanh (TFLite's int16 LOGISTIC and TANH, tg_sigmoid_s16.h,
 * the same functions the standalone int16 LOGISTIC/TANH use): the table's input scale and
 * the rescaling of the cell state for its tanh.
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

#endif /* TG_LSTM_ACT_H */
