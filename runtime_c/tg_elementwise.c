/*
 * tg_elementwise.c - int8 (and int16) ADD, SUB and MUL with broadcasting.
 *
 * Per element, the same arithmetic as TFLite's reference kernels:
 *   ADD/SUB (reference_integer_ops::Add, reference_ops::Sub, quantized):
 *     a = rescale((x1 + input1_offset) * 2^left_shift, input1_multiplier, input1_shift)
 *     b = rescale((x2 + input2_offset) * 2^left_shift, input2_multiplier, input2_shift)
 *     y = clamp(rescale(a +/- b, output_multiplier, output_shift) + output_offset)
 *     with rescale = MultiplyByQuantizedMultiplierSmallerThanOneExp.
 *   MUL (reference_integer_ops::Mul):
 *     y = clamp(MultiplyByQuantizedMultiplier((x1 + input1_offset) * (x2 + input2_offset),
 *                                            output_multiplier, output_shift) + output_offset)
 * Broadcasting only changes which input elements meet, not the arithmetic.
 */
#include "tg_elementwise.h"

/* Combines `count` elements: out[i] = f(in1[i * step1], in2[i * step2]); the pointers are
   to int8_t (the _s8 kernels) or int16_t (the _s16 ones). */
typedef void (*tg_row_fn)(const void *params, const void *in1, int32_t step1,
                          const void *in2, int32_t step2, void *out, int32_t count);

/* Walks the loop nest of dims/strides (in elements of `size` bytes), handing each innermost
   row to `row`. */
static void broadcast_rows(const int32_t *dims, const int32_t *strides1,
                           const int32_t *strides2, const void *params, tg_row_fn row,
                           const void *input1, const void *input2, void *output, size_t size)
{
    const uint8_t *in1_bytes = (const uint8_t *)input1;
    const uint8_t *in2_bytes = (const uint8_t *)input2;
    uint8_t *out_bytes = (uint8_t *)output;
    enum { OUTER = TG_ELEMENTWISE_MAX_DIMS - 1 };
    const int32_t inner = dims[OUTER];
    int32_t index[OUTER];
    int32_t rows = 1;
    int32_t r, d;
    for (d = 0; d < OUTER; ++d) {
        index[d] = 0;
        rows *= dims[d];
    }
    for (r = 0; r < rows; ++r) {
        ptrdiff_t off1 = 0, off2 = 0;
        for (d = 0; d < OUTER; ++d) {
            off1 += (ptrdiff_t)index[d] * strides1[d];
            off2 += (ptrdiff_t)index[d] * strides2[d];
        }
        row(params, in1_bytes + off1 * (ptrdiff_t)size, strides1[OUTER],
            in2_bytes + off2 * (ptrdiff_t)size, strides2[OUTER], out_bytes, inner);
        out_bytes += (size_t)inner * size;
        /* next row: advance the innermost outer index, carrying outward */
        for (d = OUTER - 1; d >= 0; --d) {
            if (++index[d] < dims[d]) {
                break;
            }
            index[d] = 0;
        }
    }
}

/* ---- ADD / SUB ---------------------------------------------------------- */

/* One input brought to the common scale (shifted left, then scaled by a multiplier < 1). */
TG_INLINE int32_t add_sub_rescale_input(int32_t x, int32_t offset, int32_t left_shift,
                                        int32_t multiplier, int32_t shift)
{
    const int32_t shifted = (x + offset) * ((int32_t)1 << left_shift);
    return tg_requantize_le1(shifted, multiplier, shift);
}

/* a - b (sign -1) or a + b (sign 1) of two input elements, before the output clamp. */
TG_INLINE int32_t add_sub_value(const tg_add_sub_params_t *p, int32_t x1, int32_t x2,
                                int32_t sign)
{
    const int32_t a = add_sub_rescale_input(x1, p->input1_offset, p->left_shift,
                                            p->input1_multiplier, p->input1_shift);
    const int32_t b = add_sub_rescale_input(x2, p->input2_offset, p->left_shift,
                                            p->input2_multiplier, p->input2_shift);
    const int32_t y = tg_requantize_le1(a + sign * b, p->output_multiplier, p->output_shift) +
                      p->output_offset;
    return tg_clamp(y, p->act_min, p->act_max);
}

TG_INLINE void add_sub_row_s8(const tg_add_sub_params_t *p, int32_t sign, const void *in1,
                           int32_t step1, const void *in2, int32_t step2, void *out,
                           int32_t count)
{
    const int8_t *x1 = (const int8_t *)in1;
    const int8_t *x2 = (const int8_t *)in2;
    int8_t *y = (int8_t *)out;
    int32_t i;
    for (i = 0; i < count; ++i) {
        y[i] = (int8_t)add_sub_value(p, x1[(ptrdiff_t)i * step1], x2[(ptrdiff_t)i * step2],
                                     sign);
    }
}

TG_INLINE void add_sub_row_s16(const tg_add_sub_params_t *p, int32_t sign, const void *in1,
                            int32_t step1, const void *in2, int32_t step2, void *out,
                            int32_t count)
{
    const int16_t *x1 = (const int16_t *)in1;
    const int16_t *x2 = (const int16_t *)in2;
    int16_t *y = (int16_t *)out;
    int32_t i;
    for (i = 0; i < count; ++i) {
        y[i] = (int16_t)add_sub_value(p, x1[(ptrdiff_t)i * step1], x2[(ptrdiff_t)i * step2],
                                      sign);
    }
}

static void add_row(const void *params, const void *in1, int32_t step1, const void *in2,
                    int32_t step2, void *out, int32_t count)
{
    add_sub_row_s8((const tg_add_sub_params_t *)params, 1, in1, step1, in2, step2, out, count);
}

static void sub_row(const void *params, const void *in1, int32_t step1, const void *in2,
                    int32_t step2, void *out, int32_t count)
{
    add_sub_row_s8((const tg_add_sub_params_t *)params, -1, in1, step1, in2, step2, out, count);
}

static void add_row_s16(const void *params, const void *in1, int32_t step1, const void *in2,
                        int32_t step2, void *out, int32_t count)
{
    add_sub_row_s16((const tg_add_sub_params_t *)params, 1, in1, step1, in2, step2, out, count);
}

static void sub_row_s16(const void *params, const void *in1, int32_t step1, const void *in2,
                        int32_t step2, void *out, int32_t count)
{
    add_sub_row_s16((const tg_add_sub_params_t *)params, -1, in1, step1, in2, step2, out,
                    count);
}

void tg_add_s8(const tg_add_sub_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, add_row,
                   input1, input2, output, sizeof *output);
}

void tg_sub_s8(const tg_add_sub_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, sub_row,
                   input1, input2, output, sizeof *output);
}

void tg_add_s16(const tg_add_sub_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, add_row_s16,
                   input1, input2, output, sizeof *output);
}

void tg_sub_s16(const tg_add_sub_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, sub_row_s16,
                   input1, input2, output, sizeof *output);
}

/* ---- MUL ---------------------------------------------------------------- */

TG_INLINE int32_t mul_value(const tg_mul_params_t *p, int32_t x1, int32_t x2)
{
    const int32_t y = tg_requantize((x1 + p->input1_offset) * (x2 + p->input2_offset),
                                    p->output_multiplier, p->output_shift) + p->output_offset;
    return tg_clamp(y, p->act_min, p->act_max);
}

static void mul_row(const void *params, const void *in1, int32_t step1, const void *in2,
                    int32_t step2, void *out, int32_t count)
{
    const tg_mul_params_t *p = (const tg_mul_params_t *)params;
    const int8_t *x1 = (const int8_t *)in1;
    const int8_t *x2 = (const int8_t *)in2;
    int8_t *y = (int8_t *)out;
    int32_t i;
    for (i = 0; i < count; ++i) {
        y[i] = (int8_t)mul_value(p, x1[(ptrdiff_t)i * step1], x2[(ptrdiff_t)i * step2]);
    }
}

static void mul_row_s16(const void *params, const void *in1, int32_t step1, const void *in2,
                        int32_t step2, void *out, int32_t count)
{
    const tg_mul_params_t *p = (const tg_mul_params_t *)params;
    const int16_t *x1 = (const int16_t *)in1;
    const int16_t *x2 = (const int16_t *)in2;
    int16_t *y = (int16_t *)out;
    int32_t i;
    for (i = 0; i < count; ++i) {
        y[i] = (int16_t)mul_value(p, x1[(ptrdiff_t)i * step1], x2[(ptrdiff_t)i * step2]);
    }
}

void tg_mul_s8(const tg_mul_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, mul_row,
                   input1, input2, output, sizeof *output);
}

void tg_mul_s16(const tg_mul_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output)
{
    broadcast_rows(p->dims, p->input1_strides, p->input2_strides, p, mul_row_s16,
                   input1, input2, output, sizeof *output);
}
