/*
 * tg_quantize.c - QUANTIZE and DEQUANTIZE, as TFLite's reference AffineQuantize,
 * Dequantize and Requantize.
 */
#include "tg_quantize.h"

#include <string.h>

/* |x| (no libm: the sign bit cleared; compilers make it one VABS). */
TG_INLINE float tg_absf(float x)
{
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= 0x7FFFFFFFu;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/*
 * round(q) with halves away from zero (std::round) for |q| < 2^30, exactly: the
 * truncation t and the fraction q - t are both exact in float (t has q's sign and at most
 * its magnitude), and |q - t| >= 1/2 moves t one step away from zero.
 */
TG_INLINE int32_t round_half_away_f32(float q)
{
    const int32_t t = (int32_t)q;
    const float frac = q - (float)t;
    if (frac >= 0.5f) {
        return t + 1;
    }
    if (frac <= -0.5f) {
        return t - 1;
    }
    return t;
}

/*
 * clamp(round(x / scale) + zero_point) with the division in float32, as
 * TFLite's AffineQuantize.  Identical to TFLM whenever |x / scale| < 2^31 - 2^16.
 * Beyond that TFLM converts an out-of-range float to int32 (undefined in C++,
 * on x86 it gives INT32_MIN, so that huge values come out as either limit
 * depending on the zero point); here they saturate to the nearest limit, and
 * NaN gives the zero point.  One comparison takes the common case (|q| < 2^30: far
 * beyond any 16-bit result; false for NaN) to the rounding; the rest is rare.
 */
TG_INLINE int32_t quantize_f32(float x, float scale, int32_t zero_point, int32_t qmin,
                               int32_t qmax)
{
    const float limit = 1073741824.0f; /* 2^30 */
    const float q = x / scale;
    int32_t r;
    if (tg_absf(q) < limit) {
        r = round_half_away_f32(q);
    } else if (q > 0.0f) {
        r = (int32_t)limit;
    } else if (q < 0.0f) {
        r = -(int32_t)limit;
    } else {
        r = 0;                         /* NaN */
    }
    return tg_clamp(r + zero_point, qmin, qmax);
}

/* (the params copied into locals: the compiler cannot know the stores leave them alone) */
void tg_quantize_f32_s8(const tg_quantize_params_t *p, const float *input, int8_t *output)
{
    const int32_t count = p->count, zero_point = p->zero_point;
    const float scale = p->scale;
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = (int8_t)quantize_f32(input[i], scale, zero_point, INT8_MIN, INT8_MAX);
    }
}

void tg_quantize_f32_s16(const tg_quantize_params_t *p, const float *input, int16_t *output)
{
    const int32_t count = p->count, zero_point = p->zero_point;
    const float scale = p->scale;
    int32_t i;
    for (i = 0; i < count; ++i) {
        output[i] = (int16_t)quantize_f32(input[i], scale, zero_point, INT16_MIN, INT16_MAX);
    }
}

/*
 * scale * (q - zero_point): TFLite multiplies in double and rounds to float.
 * The double product of a float scale and an integer below 2^17 is exact, so
 * rounding it to float gives the same bits as this single float multiplication.
 */
void tg_dequantize_s8_f32(const tg_dequantize_params_t *p, const int8_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

void tg_dequantize_u8_f32(const tg_dequantize_params_t *p, const uint8_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

void tg_dequantize_s16_f32(const tg_dequantize_params_t *p, const int16_t *input, float *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = p->scale * (float)((int32_t)input[i] - p->zero_point);
    }
}

/*
 * clamp(requantize(q - input_offset) + output_offset), TFLite's Requantize;
 * the int32 subtraction and addition wrap as they do in the reference.
 */
TG_INLINE int32_t requantize(const tg_requantize_params_t *p, int32_t q, int32_t qmin,
                             int32_t qmax)
{
    const int32_t x = (int32_t)((uint32_t)q - (uint32_t)p->input_offset);
    const int32_t y = tg_requantize(x, p->multiplier, p->shift);
    return tg_clamp((int32_t)((uint32_t)y + (uint32_t)p->output_offset), qmin, qmax);
}

void tg_requantize_s16_s8(const tg_requantize_params_t *p, const int16_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = (int8_t)requantize(p, input[i], INT8_MIN, INT8_MAX);
    }
}

void tg_requantize_s16_s16(const tg_requantize_params_t *p, const int16_t *input,
                           int16_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = (int16_t)requantize(p, input[i], INT16_MIN, INT16_MAX);
    }
}

void tg_requantize_s16_s32(const tg_requantize_params_t *p, const int16_t *input,
                           int32_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = requantize(p, input[i], INT32_MIN, INT32_MAX);
    }
}

void tg_requantize_s32_s8(const tg_requantize_params_t *p, const int32_t *input, int8_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = (int8_t)requantize(p, input[i], INT8_MIN, INT8_MAX);
    }
}

void tg_requantize_s32_s16(const tg_requantize_params_t *p, const int32_t *input,
                           int16_t *output)
{
    int32_t i;
    for (i = 0; i < p->count; ++i) {
        output[i] = (int16_t)requantize(p, input[i], INT16_MIN, INT16_MAX);
    }
}
