/*
 * tg_dsp_resblock.h - fused basic residual blocks on the dsp kernels: ADD(x, CONV(CONV(x)))
 * with tg_dsp_conv_s8 and tg_dsp_add_s8 (or tg_dsp_add_table_s8) called row by row, and
 * downsampling blocks whose 1x1 shortcut runs on tg_dsp_gemm_s8.
 */
#ifndef TG_DSP_RESBLOCK_H
#define TG_DSP_RESBLOCK_H

#include "tg_common.h"
#include "tg_dsp_conv.h"
#include "tg_dsp_elementwise.h"
#include "tg_dsp_gemm.h"

/*
 * As tg_resblock.h (the row pipeline of tg_resblock_rows.h; the output of an identity
 * block may be x itself): `conv1`, `conv2` describe one output row (output_height 1;
 * input_height and pad_top are set per row, the whole image's given), `add` one row's
 * elements.  window: conv2.filter_height * conv1.output_width * conv1.output_depth bytes;
 * b_row (and s_row): conv2.output_width * conv2.output_depth bytes; scratch: the largest of
 * the convolutions' (and the shortcut GEMM's) scratch, 4-byte aligned.
 */
typedef struct {
    int32_t height;             /* rows of the intermediates and the output */
    int32_t x_is_input1;        /* 1: the ADD's first input is x, 0: its second */
    tg_dsp_conv_params_t conv1;
    tg_dsp_conv_params_t conv2;
    tg_dsp_add_params_t add;
} tg_dsp_resblock_params_t;

/* The same with the ADD reading its inputs' rescales from tables (tg_dsp_add_table_s8). */
typedef struct {
    int32_t height;
    int32_t x_is_input1;
    tg_dsp_conv_params_t conv1;
    tg_dsp_conv_params_t conv2;
    tg_dsp_add_table_params_t add;
} tg_dsp_resblock_table_params_t;

/* Downsampling blocks: out = ADD(shortcut(x), b), `shortcut` the 1x1 convolution's GEMM
   for one output row (rows = its width, out_h = in_h = 1), from one row of x. */
typedef struct {
    int32_t height;
    int32_t x_is_input1;        /* 1: the ADD's first input is the shortcut's, 0: b */
    tg_dsp_conv_params_t conv1;
    tg_dsp_conv_params_t conv2;
    tg_dsp_gemm_params_t shortcut;
    tg_dsp_add_params_t add;
} tg_dsp_resblock_down_params_t;

typedef struct {
    int32_t height;
    int32_t x_is_input1;
    tg_dsp_conv_params_t conv1;
    tg_dsp_conv_params_t conv2;
    tg_dsp_gemm_params_t shortcut;
    tg_dsp_add_table_params_t add;
} tg_dsp_resblock_down_table_params_t;

void tg_dsp_resblock_s8(const tg_dsp_resblock_params_t *p, const int8_t *x, int8_t *output,
                        int8_t *window, int8_t *b_row, void *scratch);

void tg_dsp_resblock_table_s8(const tg_dsp_resblock_table_params_t *p, const int8_t *x,
                              int8_t *output, int8_t *window, int8_t *b_row, void *scratch);

void tg_dsp_resblock_down_s8(const tg_dsp_resblock_down_params_t *p, const int8_t *x,
                             int8_t *output, int8_t *window, int8_t *b_row, int8_t *s_row,
                             void *scratch);

void tg_dsp_resblock_down_table_s8(const tg_dsp_resblock_down_table_params_t *p,
                                   const int8_t *x, int8_t *output, int8_t *window,
                                   int8_t *b_row, int8_t *s_row, void *scratch);

#endif /* TG_DSP_RESBLOCK_H */
