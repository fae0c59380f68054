/*
 * tg_dsp_elementwise.h - int8 ADD, SUB and MUL with broadcasting, dsp variant: the values
 * of tg_elementwise.h's kernels (TFLite's reference arithmetic) in fewer instructions.
 */
#ifndef TG_DSP_ELEMENTWISE_H
#define TG_DSP_ELEMENTWISE_H

#include "tg_common.h"

/*
 * Broadcasting as in tg_elementwise.h: the output written in order as a nest of
 * TG_DSP_ELEMENTWISE_MAX_DIMS loops, outermost first; loop d runs dims[d] times and
 * advances input k by inputK_strides[d] elements (0 where input k is broadcast).
 */
#define TG_DSP_ELEMENTWISE_MAX_DIMS 6

/*
 * ADD and SUB (int8: both inputs shifted left by 20, as TFLM's Prepare sets it).  One
 * input's rescale is exactly 1/2 (multiplier 2^30, shift 0: the larger scale's), the
 * other's 1/2 too or below (shift <= -1).
 */
typedef struct {
    int32_t input1_offset;      /* minus input1's zero point */
    int32_t input1_multiplier;  /* Q31 rescale of input1 to the common scale, < 1 */
    int32_t input1_shift;       /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_offset;      /* output zero point */
    int32_t output_multiplier;  /* Q31 rescale of the sum to the output scale, < 1/2 */
    int32_t output_shift;       /* <= -1 */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input1_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input2_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
} tg_dsp_add_params_t;

/* MUL: the product of the offset inputs requantized once (output_shift <= 14). */
typedef struct {
    int32_t input1_offset;      /* minus input1's zero point */
    int32_t input2_offset;
    int32_t output_offset;      /* output zero point */
    int32_t output_multiplier;  /* Q31 mantissa of in1_scale * in2_scale / out_scale */
    int32_t output_shift;       /* its power-of-two exponent */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input1_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input2_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
} tg_dsp_mul_params_t;

/*
 * ADD and SUB of a large layer: each input's rescale read from a table of its 256 values
 * the generator computed (for SUB the second input's negated), so a + b is two loads.
 * The table entries are twice the rescaled values (what the output's SMMULR takes).
 *
 * `fast` 1 or 2: the output requantization as one SMMLAR with output_bias =
 * 2^(r-1) + output_offset * 2^r (r = -output_shift), the rounding's tie correction
 * (-1 for a negative sum; fast = 1 only), one shift and SSAT: the generator evaluated it,
 * and TFLite's arithmetic, on all 65,536 pairs of input values and found them equal (and
 * every intermediate in int32); fast = 2 where the tie correction never changes a value.
 * fast = 0: TFLite's two-step rounding (tg_dsp_ew_rescale_r1, then + output_offset).
 */
typedef struct {
    const int32_t *input1_table;   /* [256]: 2 x input1's rescaled value for x = -128..127 */
    const int32_t *input2_table;   /* [256]: input2's (negated for SUB) */
    int32_t output_offset;
    int32_t output_multiplier;
    int32_t output_shift;          /* <= -1 */
    int32_t output_bias;           /* 2^(r-1) + output_offset * 2^r where fast > 0, else 0 */
    int32_t fast;                  /* 0, 1 or 2 (above) */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input1_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
    int32_t input2_strides[TG_DSP_ELEMENTWISE_MAX_DIMS];
} tg_dsp_add_table_params_t;

void tg_dsp_add_s8(const tg_dsp_add_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output);

/* output = input1 - input2 */
void tg_dsp_sub_s8(const tg_dsp_add_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output);

/* ADD (or SUB, by its tables) with the inputs' rescales from tables. */
void tg_dsp_add_table_s8(const tg_dsp_add_table_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output);

void tg_dsp_mul_s8(const tg_dsp_mul_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output);

#endif /* TG_DSP_ELEMENTWISE_H */
