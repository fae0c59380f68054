/* tg_resblock.h - fused basic residual blocks on the portable kernels: ADD(x, CONV(CONV(x))). */
#ifndef TG_RESBLOCK_H
#define TG_RESBLOCK_H

#include "tg_common.h"
#include "tg_conv.h"
#include "tg_elementwise.h"

/*
 * out = ADD(x, conv2(conv1(x))) (or ADD(conv2(conv1(x)), x)), both convolutions stride 1
 * with the output as large as the input, computed row by row (tg_resblock_rows.h): a is
 * kept as conv2.filter_height rows in `window`, b as one row in `b_row`.  The output may
 * be x itself (each output row written once no later step reads that row of x).
 * `conv1` and `conv2` describe one output row (output_height 1; input_height and pad_top
 * are set per row, the whole image's input_height and pad_top given), `add` one row's
 * elements.
 * window: conv2.filter_height * conv1.output_width * conv1.output_depth bytes;
 * b_row: conv2.output_width * conv2.output_depth bytes.
 */
typedef struct {
    int32_t height;             /* rows of the intermediates and the output */
    int32_t x_is_input1;        /* 1: the ADD's first input is x, 0: its second */
    tg_conv_params_t conv1;
    tg_conv_params_t conv2;
    tg_add_sub_params_t add;
} tg_resblock_params_t;

/*
 * A downsampling block: out = ADD(shortcut(x), conv2(conv1(x))) (either order), conv1 of
 * any stride, `shortcut` a 1x1 convolution of the same stride (one output row from one
 * row of x: input_height 1).  The output is not x.  s_row: as b_row.
 */
typedef struct {
    int32_t height;
    int32_t x_is_input1;        /* 1: the ADD's first input is the shortcut's, 0: b */
    tg_conv_params_t conv1;
    tg_conv_params_t conv2;
    tg_conv_params_t shortcut;
    tg_add_sub_params_t add;
} tg_resblock_down_params_t;

void tg_resblock_s8(const tg_resblock_params_t *p, const int8_t *x, int8_t *output,
                    int8_t *window, int8_t *b_row);

void tg_resblock_down_s8(const tg_resblock_down_params_t *p, const int8_t *x, int8_t *output,
                         int8_t *window, int8_t *b_row, int8_t *s_row);

#endif /* TG_RESBLOCK_H */
