/*
 * tg_fixedpoint.h - gemmlowp-style 32-bit fixed-point math (exp, 1/(1+x), log).
 *
 * TFLite's int8 SOFTMAX and LOG_SOFTMAX compute exp() and log() on fixed-point
 * numbers with gemmlowp's rounding rules; these helpers give the same raw
 * results bit for bit.  A fixed-point value with IB integer bits is a raw
 * int32_t r meaning r * 2^(IB - 31); "Q0" below means IB = 0, i.e. [-1, 1).
 * The integer-bit counts are passed explicitly where gemmlowp has them as
 * template parameters.  Plain additions wrap modulo 2^32 like the reference
 * does in practice (done on uint32_t here, so there is no undefined
 * behaviour); products are tg_sat_rounding_doubling_high_mul.
 *
 * The Python twin of every function is in codegen/fixedpoint.py.
 */
#ifndef TG_FIXEDPOINT_H
#define TG_FIXEDPOINT_H

#include "tg_common.h"

/* Q0.31 constants of the polynomials and Newton-Raphson steps below. */
#define TG_FP_EXP_MINUS_ONE_EIGHTH 1895147668       /* exp(-1/8) */
#define TG_FP_ONE_THIRD 715827883                   /* 1/3 */
#define TG_FP_48_OVER_17_Q2 1515870810              /* 48/17, 2 integer bits */
#define TG_FP_MINUS_32_OVER_17_Q2 (-1010580540)     /* -32/17, 2 integer bits */
#define TG_FP_LOG_2 1488522236                      /* log(2) */
#define TG_FP_SQRT_SQRT_HALF 1805811301             /* 0.5^(1/4) */
#define TG_FP_SQRT_HALF 1518500250                  /* 0.5^(1/2) */
#define TG_FP_ONE_QUARTER 536870912                 /* 1/4 */
#define TG_FP_LOG_ALPHA_N 117049297                 /* 11/240 * 2^(1/4) */
#define TG_FP_LOG_ALPHA_D 127690142                 /* 1/20 * 2^(1/4) */
#define TG_FP_LOG_ALPHA_I 1057819769                /* 2/2^(1/4) - 2^(1/4) */
#define TG_FP_LOG_ALPHA_F 638450708                 /* 1/4 * 2^(1/4) */

TG_INLINE int32_t tg_fp_add(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

TG_INLINE int32_t tg_fp_sub(int32_t a, int32_t b)
{
    return (int32_t)((uint32_t)a - (uint32_t)b);
}

/* The product every function below uses.  A cold kernel (tg_softmax.c) may define
 * TG_FP_MUL, before including this header, as one out-of-line function of the same
 * arithmetic, so that its twenty-odd products are calls instead of inlined copies. */
#ifndef TG_FP_MUL
#define TG_FP_MUL tg_sat_rounding_doubling_high_mul
#endif
TG_INLINE int32_t tg_fp_mul(int32_t a, int32_t b)
{
    return TG_FP_MUL(a, b);
}

/* Number of leading zero bits of x seen as a uint32 (32 for 0). */
TG_INLINE int tg_fp_clz(int32_t x)
{
    uint32_t u = (uint32_t)x;
    int n = 0;
    if (u == 0u) {
        return 32;
    }
#if defined(__GNUC__) || defined(__clang__)
    n = __builtin_clz(u);
#else
    while ((u & 0x80000000u) == 0u) {
        u <<= 1;
        ++n;
    }
#endif
    return n;
}

/* x * 2^exponent for 0 <= exponent <= 31, saturating to the int32 range. */
TG_INLINE int32_t tg_fp_sat_shift_left(int32_t x, int exponent)
{
    int32_t threshold;
    if (exponent == 0) {
        return x;
    }
    threshold = (int32_t)(((uint32_t)1 << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* Change the number of integer bits from src_bits to dst_bits (gemmlowp Rescale). */
TG_INLINE int32_t tg_fp_rescale(int32_t x, int src_bits, int dst_bits)
{
    const int exponent = src_bits - dst_bits;
    if (exponent > 0) {
        return tg_fp_sat_shift_left(x, exponent);
    }
    if (exponent < 0) {
        return tg_rounding_divide_by_pot(x, -exponent);
    }
    return x;
}

/* (a + b) / 2 rounded to nearest, ties away from zero. */
TG_INLINE int32_t tg_fp_rounding_half_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

TG_INLINE int32_t tg_fp_saturating_add(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    return sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : (int32_t)sum);
}

/* exp(a) for a in [-1/4, 0), Q0 in and out: Taylor expansion around -1/8. */
TG_INLINE int32_t tg_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(int32_t a)
{
    const int32_t x = tg_fp_add(a, (int32_t)1 << 28); /* a + 1/8 */
    const int32_t x2 = tg_fp_mul(x, x);
    const int32_t x3 = tg_fp_mul(x2, x);
    const int32_t x4 = tg_fp_mul(x2, x2);
    const int32_t x4_over_4 = tg_rounding_divide_by_pot(x4, 2);
    /* x^4/24 + x^3/6 + x^2/2 */
    const int32_t poly = tg_rounding_divide_by_pot(
        tg_fp_add(tg_fp_mul(tg_fp_add(x4_over_4, x3), TG_FP_ONE_THIRD), x2), 1);
    return tg_fp_add(TG_FP_EXP_MINUS_ONE_EIGHTH,
                     tg_fp_mul(TG_FP_EXP_MINUS_ONE_EIGHTH, tg_fp_add(x, poly)));
}

/*
 * exp(a) for a <= 0 given with `integer_bits` integer bits (1..29); result Q0.
 * exp of the part in [-1/4, 0) by polynomial, then one multiplication by
 * exp(-2^k) for every bit k >= -2 set in the rest.
 */
TG_INLINE int32_t tg_fp_exp_on_negative_values(int32_t a, int integer_bits)
{
    static const int32_t exp_minus_pow2[7] = {
        1672461947, /* exp(-1/4) */
        1302514674, /* exp(-1/2) */
        790015084,  /* exp(-1) */
        290630308,  /* exp(-2) */
        39332535,   /* exp(-4) */
        720401,     /* exp(-8) */
        242,        /* exp(-16) */
    };
    const int frac_bits = 31 - integer_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod_quarter_minus_one_quarter =
        tg_fp_sub(a & (one_quarter - 1), one_quarter);
    const int32_t remainder = tg_fp_sub(a_mod_quarter_minus_one_quarter, a);
    int32_t result = tg_fp_exp_on_interval_between_negative_one_quarter_and_0_excl(
        tg_fp_rescale(a_mod_quarter_minus_one_quarter, integer_bits, 0));
    int k;
    for (k = -2; k <= 4; ++k) {
        if (integer_bits > k &&
            ((uint32_t)remainder & ((uint32_t)1 << (frac_bits + k))) != 0u) {
            result = tg_fp_mul(result, exp_minus_pow2[k + 2]);
        }
    }
    if (integer_bits > 5 && a < -((int32_t)1 << (36 - integer_bits))) {
        result = 0; /* below -32 */
    }
    if (a == 0) {
        result = INT32_MAX; /* 1.0 */
    }
    return result;
}

/* Newton-Raphson 1/half_denominator for half_denominator in [1/2, 1); result Q2. */
TG_INLINE int32_t tg_fp_newton_reciprocal_q2(int32_t half_denominator)
{
    int32_t x = tg_fp_add(TG_FP_48_OVER_17_Q2,
                          tg_fp_mul(half_denominator, TG_FP_MINUS_32_OVER_17_Q2));
    int i;
    for (i = 0; i < 3; ++i) {
        const int32_t one_minus_hd_x =
            tg_fp_sub((int32_t)1 << 29, tg_fp_mul(half_denominator, x));
        x = tg_fp_add(x, tg_fp_rescale(tg_fp_mul(x, one_minus_hd_x), 4, 2));
    }
    return x;
}

/* 1 / (1 + a) for a in [0, 1), Q0 in and out. */
TG_INLINE int32_t tg_fp_one_over_one_plus_x_for_x_in_0_1(int32_t a)
{
    const int32_t x = tg_fp_newton_reciprocal_q2(tg_fp_rounding_half_sum(a, INT32_MAX));
    return tg_fp_rescale(x, 1, 0); /* x / 2 */
}

/*
 * log(a) for a >= 1; a has `input_bits` integer bits, the result `output_bits`.
 * Splits a = 2^z * r with r near 1 and evaluates a rational approximation of log(r).
 */
TG_INLINE int32_t tg_fp_log_x_for_x_greater_than_or_equal_to_1(int32_t a, int input_bits,
                                                               int output_bits)
{
    const int accum_bits = output_bits + 1;
    const int32_t shifted_quarter = tg_fp_rescale(TG_FP_ONE_QUARTER, 0, accum_bits);
    const int z_a_headroom_plus_1 = tg_fp_clz(a);
    const int32_t r_a_tmp = tg_fp_sat_shift_left(a, z_a_headroom_plus_1 - 1);
    const int32_t r_a_raw = tg_fp_sat_shift_left(tg_fp_mul(r_a_tmp, TG_FP_SQRT_HALF), 1);
    const int32_t z_a_pow_2_adj = tg_fp_saturating_add(
        tg_fp_sat_shift_left(input_bits - z_a_headroom_plus_1, 31 - accum_bits), shifted_quarter);
    const int32_t z_b = tg_fp_mul(a, TG_FP_SQRT_HALF);
    const int z_b_headroom = tg_fp_clz(z_b) - 1;
    const int32_t r_b_raw = tg_fp_sat_shift_left(a, z_b_headroom);
    const int32_t z_b_pow_2_adj = tg_fp_saturating_add(
        tg_fp_sat_shift_left(input_bits - z_b_headroom, 31 - accum_bits), -shifted_quarter);
    const int32_t r = TG_MIN(r_a_raw, r_b_raw);
    const int32_t z_pow_2_adj = TG_MAX(z_a_pow_2_adj, z_b_pow_2_adj);
    const int32_t p = tg_fp_rounding_half_sum(r, TG_FP_SQRT_SQRT_HALF);
    const int32_t q_half = tg_fp_sub(r, TG_FP_SQRT_SQRT_HALF);
    const int32_t q = tg_fp_add(q_half, q_half);
    const int32_t common_sq = tg_fp_mul(q, q);
    const int32_t num = tg_fp_add(tg_fp_mul(q, r),
                                  tg_fp_mul(tg_fp_mul(q, common_sq), TG_FP_LOG_ALPHA_N));
    const int32_t denom_minus_one = tg_fp_add(
        tg_fp_mul(p, tg_fp_add(tg_fp_add(TG_FP_LOG_ALPHA_I, q),
                               tg_fp_mul(TG_FP_LOG_ALPHA_D, common_sq))),
        tg_fp_mul(TG_FP_LOG_ALPHA_F, q));
    const int32_t recip_denom = tg_fp_one_over_one_plus_x_for_x_in_0_1(denom_minus_one);
    const int32_t num_scaled = tg_fp_rescale(num, 0, accum_bits);
    return tg_fp_rescale(tg_fp_add(tg_fp_mul(z_pow_2_adj, TG_FP_LOG_2),
                                   tg_fp_mul(num_scaled, recip_denom)),
                         accum_bits, output_bits);
}

/*
 * 1/x for x > 0 with `x_integer_bits` integer bits: returns 1/x scaled into
 * [1/2, 1] as Q0 and stores in *num_bits_over_unit how many bits x has above 1.0
 * (TFLite GetReciprocal).
 */
TG_INLINE int32_t tg_fp_reciprocal(int32_t x, int x_integer_bits, int *num_bits_over_unit)
{
    const int headroom_plus_one = tg_fp_clz(x);
    const int32_t shifted_minus_one =
        (int32_t)(((uint32_t)x << headroom_plus_one) - ((uint32_t)1 << 31));
    *num_bits_over_unit = x_integer_bits - headroom_plus_one;
    return tg_fp_one_over_one_plus_x_for_x_in_0_1(shifted_minus_one);
}

#endif /* TG_FIXEDPOINT_H */
