/*
 * tg_sigmoid_s16.h - TFLite's int16 sigmoid and tanh (reference_integer_ops::Logistic /
 * Tanh for int16, also the LSTM's gates): a 257-entry table of sigmoid(k / 24) in Q0.16
 * (the generator writes it: TFLite's sigmoid_table_uint16), indexed by the input and
 * interpolated linearly.
 *
 * The input x is the Q3.12 value times 3 (in real terms 2^12 * 3 * v): |x| / 2^9 then
 * indexes the table (tanh: |x| / 2^8, as tanh(v) = 2 sigmoid(2v) - 1), the low bits
 * interpolate.  Results are Q0.15.
 */
#ifndef TG_SIGMOID_S16_H
#define TG_SIGMOID_S16_H

#include "tg_common.h"

TG_INLINE uint32_t tg_abs_u32(int32_t x)
{
    return x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
}

TG_INLINE int16_t tg_sigmoid_q15(int32_t x, const uint16_t *table)
{
    const uint32_t a = tg_abs_u32(x);
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

TG_INLINE int16_t tg_tanh_q15(int32_t x, const uint16_t *table)
{
    const uint32_t a = tg_abs_u32(x);
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

#endif /* TG_SIGMOID_S16_H */
