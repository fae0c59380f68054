/*
 * tg_lstm_act.h - the int16 sigmoid and tanh of TFLM's integer LSTM (TFLite's int16
 * LOGISTIC and TANH, table interpolation) and the cell state's rescaling for its tanh,
 * shared by the portable LSTM (tg_lstm.c) and the dsp one (tg_dsp_lstm.c).
 */
#ifndef TG_LSTM_ACT_H
#define TG_LSTM_ACT_H

#include "tg_common.h"

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

TG_INLINE uint32_t tg_lstm_abs(int32_t x)
{
    return x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
}

/*
 * Sigmoid of a Q3.12 value already multiplied by 3 (TFLite's int16 LOGISTIC):
 * |x| / 2^9 indexes the table of sigmoid(k/24), the low 9 bits interpolate.
 * Result in Q0.15.
 */
TG_INLINE int16_t tg_lstm_sigmoid(int32_t x, const uint16_t *table)
{
    const uint32_t a = tg_lstm_abs(x);
    const uint32_t index = a >> 9;
    uint32_t r;
    if (index >= 255u) {
        r = 0x7FFFu << 10;
    } else {
        const uint32_t lo = table[index];
        const uint32_t hi = table[index + 1u];
        r = (lo << 9) + (a & 0x1FFu) * (hi - lo);
    }
    r = x >= 0 ? r + (1u << 9) : (1u << 25) - r + (1u << 9) - 1u;
    return (int16_t)(r >> 10);
}

/*
 * Tanh of a Q3.12 value already multiplied by 3 (TFLite's int16 TANH, from
 * tanh(x) = 2 sigmoid(2x) - 1): |x| / 2^8 indexes the same table.  Result Q0.15.
 */
TG_INLINE int16_t tg_lstm_tanh(int32_t x, const uint16_t *table)
{
    const uint32_t a = tg_lstm_abs(x);
    const uint32_t index = a >> 8;
    int32_t r;
    if (index >= 255u) {
        r = (int32_t)(0xFFFFu << 8);
    } else {
        const uint32_t lo = table[index];
        const uint32_t hi = table[index + 1u];
        r = (int32_t)((lo << 8) + (a & 0xFFu) * (hi - lo));
    }
    r = x >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
    return (int16_t)(r >> 8);
}

#endif /* TG_LSTM_ACT_H */
