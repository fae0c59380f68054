/*
 * tg_common.h - shared definitions of tinygen's portable C99 kernels.
 *
 * Fixed-point helpers follow the integer arithmetic of TensorFlow Lite's
 * reference kernels exactly (gemmlowp's rounding rules), so that generated
 * code is bit-exact with TFLM.  Assumes two's complement integers and
 * arithmetic right shift of negative values, as every Arm and host compiler
 * tinygen targets provides.
 */
#ifndef TG_COMMON_H
#define TG_COMMON_H

#include <stddef.h>
#include <stdint.h>

/*
 * The tinygen release these kernels come from, as major * 10000 + minor * 100 + patch.
 * Every runtime header includes this file; each generated model file stops the build
 * with #error when it is compiled against runtime headers of another release.
 */
#define TG_RUNTIME_VERSION 100
#define TG_RUNTIME_VERSION_STRING "0.1.0"

#if defined(__GNUC__) || defined(__clang__)
#define TG_ALIGN(n) __attribute__((aligned(n)))
#elif defined(__ICCARM__)
#define TG_ALIGN(n) _Pragma("data_alignment=" #n)
#else
#define TG_ALIGN(n)
#endif

#if defined(__GNUC__) || defined(__clang__)
#define TG_INLINE static inline __attribute__((always_inline))
#define TG_NOINLINE __attribute__((noinline))   /* a function kept out of its callers */
#else
#define TG_INLINE static inline
#define TG_NOINLINE
#endif

#define TG_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TG_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Clamp a 32-bit value into [lo, hi]. */
TG_INLINE int32_t tg_clamp(int32_t x, int32_t lo, int32_t hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}

/*
 * The input row (pixel) that output row r of a 1x1 convolution taken as a GEMM reads: r
 * itself when out_w = out_h = 1 (a plain GEMM), else the pixel (b, oy * stride_h,
 * ox * stride_w) of the input image for ox = r % out_w, oy = r / out_w % out_h,
 * b = r / (out_w * out_h) (the strided gather of tg_dsp_gemm.h).
 */
TG_INLINE int32_t tg_gather_row(int32_t r, int32_t out_w, int32_t out_h, int32_t in_w,
                                int32_t in_h, int32_t stride_w, int32_t stride_h)
{
    int32_t q, ox, b, oy;
    if (out_w == 1 && out_h == 1) {
        return r;
    }
    q = r / out_w;
    ox = r - q * out_w;
    b = q / out_h;
    oy = q - b * out_h;
    return (b * in_h + oy * stride_h) * in_w + ox * stride_w;
}

/* High 32 bits of 2*a*b, rounded to nearest, saturating the one overflow case. */
TG_INLINE int32_t tg_sat_rounding_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t ab;
    int64_t nudge;
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    /* C division truncates toward zero, as the reference does. */
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* x / 2^exponent, rounded to nearest with ties away from zero. */
TG_INLINE int32_t tg_rounding_divide_by_pot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift, multiplier a Q31 mantissa (TFLite MultiplyByQuantizedMultiplier). */
TG_INLINE int32_t tg_requantize(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? (int)shift : 0;
    const int right = shift > 0 ? 0 : (int)-shift;
    /* shift in unsigned arithmetic: the reference wraps where signed overflow would be UB */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return tg_rounding_divide_by_pot(tg_sat_rounding_doubling_high_mul(shifted, multiplier), right);
}

/*
 * TFLite's MultiplyByQuantizedMultiplier for a 64-bit accumulator (the 16x8 layers): the
 * Q31 multiplier rounded to 16 bits, then one rounding right shift by 15 - shift
 * (shift in [-31, 7]).  Unsigned arithmetic where the reference's may wrap; the result is
 * the low 32 bits, as the reference's conversion to int32 keeps them.
 */
TG_INLINE int32_t tg_requantize64(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
    const int total = 15 - (int)shift;
    const uint64_t rounded = (uint64_t)x * (uint64_t)reduced + ((uint64_t)1 << (total - 1));
    return (int32_t)(uint32_t)((uint64_t)((int64_t)rounded >> total));
}

/* Saturating left shift used with multipliers smaller than one (shift <= 0). */
TG_INLINE int32_t tg_requantize_le1(int32_t x, int32_t multiplier, int32_t shift)
{
    return tg_rounding_divide_by_pot(tg_sat_rounding_doubling_high_mul(x, multiplier), (int)-shift);
}

#endif /* TG_COMMON_H */
