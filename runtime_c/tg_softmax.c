/*
 * tg_softmax.c - SOFTMAX and LOG_SOFTMAX over the last axis.
 *
 * The int8 kernels follow TFLite's reference_ops::Softmax and
 * reference_ops::LogSoftmax (int8) step by step, with the multipliers, shifts
 * and diff_min computed by the generator as TFLM's Prepare does:
 *   diff      = x - max(row)                     (<= 0, in input steps)
 *   diff_q5   = diff * beta * input_scale        (fixed point, 5 integer bits)
 *   sum       = sum over the row of exp(diff_q5) (12 integer bits)
 * Softmax outputs exp(diff_q5) / sum; log-softmax outputs diff_q5 - log(sum).
 * Entries with diff < diff_min have exp() == 0 at this precision and are skipped.
 */
#include "tg_softmax.h"

#include "tg_common.h"

/* Softmax runs once per row of a few classes: its fixed-point products go through one
 * function instead of being inlined twenty times. */
TG_NOINLINE static int32_t softmax_fp_mul(int32_t a, int32_t b)
{
    return tg_sat_rounding_doubling_high_mul(a, b);
}
#define TG_FP_MUL softmax_fp_mul
#include "tg_fixedpoint.h"

#define TG_SOFTMAX_DIFF_INTEGER_BITS 5   /* diff_q5 in [-32, 0]: exp(-32) is negligible */
#define TG_SOFTMAX_ACCUM_INTEGER_BITS 12 /* the sum of up to 4096 values <= 1 */
#define TG_LOG_SOFTMAX_OUTPUT_INTEGER_BITS 4

static int32_t row_max_s8(const int8_t *row, int32_t depth)
{
    int8_t m = INT8_MIN;
    int32_t c;
    for (c = 0; c < depth; ++c) {
        m = TG_MAX(m, row[c]);
    }
    return m;
}

/* exp(diff * input scale [* beta]) as Q0, for diff <= 0 (TFLite's diff rescale then exp). */
static int32_t exp_of_diff(int32_t diff, int32_t multiplier, int32_t left_shift)
{
    const int32_t diff_q5 = tg_requantize(diff, multiplier, left_shift);
    return tg_fp_exp_on_negative_values(diff_q5, TG_SOFTMAX_DIFF_INTEGER_BITS);
}

/* The row's sum of exp(), with 12 integer bits; at least 1.0 (the max entry). */
static int32_t sum_of_exps(const int8_t *row, int32_t depth, int32_t max, int32_t multiplier,
                           int32_t left_shift, int32_t diff_min)
{
    int32_t sum = 0;
    int32_t c;
    for (c = 0; c < depth; ++c) {
        const int32_t diff = (int32_t)row[c] - max;
        if (diff >= diff_min) {
            const int32_t e = exp_of_diff(diff, multiplier, left_shift);
            sum = tg_fp_add(sum, tg_fp_rescale(e, 0, TG_SOFTMAX_ACCUM_INTEGER_BITS));
        }
    }
    return sum;
}

/*
 * Softmax of a whole tensor: `out_bits` is 8 or 16; each result, in units of
 * 2^-out_bits, is shifted by -2^(out_bits-1) (the output zero point),
 * clamped and stored as int8 or int16.
 */
static void softmax_s8(const tg_softmax_params_t *p, const int8_t *input, int out_bits,
                       int8_t *out8, int16_t *out16)
{
    const int32_t out_min = -((int32_t)1 << (out_bits - 1));
    const int32_t out_max = ((int32_t)1 << (out_bits - 1)) - 1;
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const size_t base = (size_t)r * (size_t)p->depth;
        const int8_t *row = input + base;
        const int32_t max = row_max_s8(row, p->depth);
        const int32_t sum = sum_of_exps(row, p->depth, max, p->input_multiplier,
                                        p->input_left_shift, p->diff_min);
        int num_bits_over_unit;
        const int32_t inv_sum = tg_fp_reciprocal(sum, TG_SOFTMAX_ACCUM_INTEGER_BITS,
                                                 &num_bits_over_unit);
        /* inv_sum = 2^num_bits_over_unit / sum (in [1/2, 1], Q0), so the probability
         * exp * inv_sum / 2^num_bits_over_unit in steps of 2^-out_bits is the raw
         * Q0 product divided by 2^exponent: */
        const int exponent = num_bits_over_unit + 31 - out_bits;
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max;
            int32_t v = 0;
            /* exponent > 31 happens only for 8-bit outputs when the sum reaches 512
             * (TFLM stops on a check there): every output then rounds to 0. */
            if (diff >= p->diff_min && exponent <= 31) {
                const int32_t e = exp_of_diff(diff, p->input_multiplier, p->input_left_shift);
                v = tg_rounding_divide_by_pot(tg_fp_mul(inv_sum, e), exponent);
            }
            v = tg_clamp(v + out_min, out_min, out_max);
            if (out8 != NULL) {
                out8[base + (size_t)c] = (int8_t)v;
            } else if (out16 != NULL) {
                out16[base + (size_t)c] = (int16_t)v;
            }
        }
    }
}

void tg_softmax_s8(const tg_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    softmax_s8(p, input, 8, output, NULL);
}

void tg_softmax_s8_s16(const tg_softmax_params_t *p, const int8_t *input, int16_t *output)
{
    softmax_s8(p, input, 16, NULL, output);
}

void tg_log_softmax_s8(const tg_log_softmax_params_t *p, const int8_t *input, int8_t *output)
{
    int32_t r, c;
    for (r = 0; r < p->rows; ++r) {
        const size_t base = (size_t)r * (size_t)p->depth;
        const int8_t *row = input + base;
        const int32_t max = row_max_s8(row, p->depth);
        const int32_t sum = sum_of_exps(row, p->depth, max, p->input_multiplier,
                                        p->input_left_shift, p->diff_min);
        const int32_t log_sum_q5 = tg_fp_log_x_for_x_greater_than_or_equal_to_1(
            sum, TG_SOFTMAX_ACCUM_INTEGER_BITS, TG_SOFTMAX_DIFF_INTEGER_BITS);
        /* Below this diff, diff_q5 - log_sum would not fit in 5 integer bits. */
        const int32_t adjusted_diff_min = TG_MAX(
            p->diff_min - 1,
            tg_requantize(tg_fp_add(log_sum_q5, INT32_MIN), p->reverse_scaling_divisor,
                          p->reverse_scaling_shift));
        for (c = 0; c < p->depth; ++c) {
            const int32_t diff = (int32_t)row[c] - max;
            int32_t v = INT8_MIN;
            if (diff > adjusted_diff_min) {
                const int32_t diff_q5 = tg_requantize(diff, p->input_multiplier,
                                                      p->input_left_shift);
                /* Q5.26 -> output steps of 16/256 (4 integer bits), zero point 127 */
                v = tg_rounding_divide_by_pot(
                        tg_fp_sub(diff_q5, log_sum_q5),
                        31 - TG_SOFTMAX_DIFF_INTEGER_BITS - TG_LOG_SOFTMAX_OUTPUT_INTEGER_BITS) +
                    INT8_MAX;
                v = tg_clamp(v, INT8_MIN, INT8_MAX);
            }
            output[base + (size_t)c] = (int8_t)v;
        }
    }
}

