/* tg_elementwise.h - int8 ADD, SUB and MUL with broadcasting (TFLite ADD, SUB, MUL). */
#ifndef TG_ELEMENTWISE_H
#define TG_ELEMENTWISE_H

#include "tg_common.h"

/*
 * Broadcasting: the output is written in order as a loop nest of
 * TG_ELEMENTWISE_MAX_DIMS loops, outermost first.  Loop d runs dims[d] times
 * and advances input k by inputK_strides[d] elements (0 where input k is
 * broadcast along that loop).  The generator merges dimensions that can be
 * walked as one and pads the nest with loops of extent 1 in front.
 */
#define TG_ELEMENTWISE_MAX_DIMS 6

/* ADD and SUB: both inputs are brought to a common scale, then combined. */
typedef struct {
    int32_t left_shift;          /* inputs are multiplied by 2^left_shift before rescaling */
    int32_t input1_offset;       /* minus input1's zero point */
    int32_t input1_multiplier;   /* Q31 rescale of input1 to the common scale, < 1 */
    int32_t input1_shift;        /* <= 0 */
    int32_t input2_offset;
    int32_t input2_multiplier;
    int32_t input2_shift;
    int32_t output_offset;       /* output zero point */
    int32_t output_multiplier;   /* Q31 rescale of the sum to the output scale, < 1 */
    int32_t output_shift;        /* <= 0 */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_ELEMENTWISE_MAX_DIMS];
    int32_t input1_strides[TG_ELEMENTWISE_MAX_DIMS];
    int32_t input2_strides[TG_ELEMENTWISE_MAX_DIMS];
} tg_add_sub_params_t;

/* MUL: the product of the offset inputs is requantized once. */
typedef struct {
    int32_t input1_offset;       /* minus input1's zero point */
    int32_t input2_offset;
    int32_t output_offset;       /* output zero point */
    int32_t output_multiplier;   /* Q31 mantissa of in1_scale * in2_scale / out_scale */
    int32_t output_shift;        /* its power-of-two exponent */
    int32_t act_min;
    int32_t act_max;
    int32_t dims[TG_ELEMENTWISE_MAX_DIMS];
    int32_t input1_strides[TG_ELEMENTWISE_MAX_DIMS];
    int32_t input2_strides[TG_ELEMENTWISE_MAX_DIMS];
} tg_mul_params_t;

void tg_add_s8(const tg_add_sub_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

/* output = input1 - input2 */
void tg_sub_s8(const tg_add_sub_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

void tg_mul_s8(const tg_mul_params_t *p, const int8_t *input1, const int8_t *input2,
               int8_t *output);

/* The same on int16 activations (16x8 models: left_shift 15 for ADD/SUB). */
void tg_add_s16(const tg_add_sub_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output);
void tg_sub_s16(const tg_add_sub_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output);
void tg_mul_s16(const tg_mul_params_t *p, const int16_t *input1, const int16_t *input2,
                int16_t *output);

#endif /* TG_ELEMENTWISE_H */
