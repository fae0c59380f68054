/*
 * tg_lut_s16.h - TFLite's int16 table lookup (LUTLookup for int16_t): 513 entries, the top
 * 9 bits of the input (plus 256) pick one, the low 7 bits interpolate towards the next,
 * rounding.  The generator builds the tables as TFLite's LUTPopulate does
 * (codegen/ops/lut_s16.py).
 */
#ifndef TG_LUT_S16_H
#define TG_LUT_S16_H

#include "tg_common.h"

TG_INLINE int16_t tg_lut_s16(int32_t x, const int16_t *lut)
{
    const int32_t index = 256 + (x >> 7);
    const int32_t base = lut[index];
    const int32_t slope = (int16_t)(lut[index + 1] - base);
    return (int16_t)(base + ((slope * (x & 0x7F) + 64) >> 7));
}

#endif /* TG_LUT_S16_H */
