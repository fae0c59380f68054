/*
 * tg_resblock_rows.h - the row pipeline of a fused basic residual block (MCUNetV2-style):
 * out = ADD(x, conv2(conv1(x))), both convolutions stride 1, output as large as the input.
 *
 * The intermediate a = conv1(x) lives only as a rolling window of conv2's filter-height
 * rows (`window`), and b = conv2(a) as one row (`b_row`).  For output row y, the rows of a
 * that conv2's row y reads (y - pad2 .. y - pad2 + kh2 - 1, those inside the image) are
 * computed into the window (each from the rows of x it reads), then b's row y, then the
 * output row y = x row y + b row y.  Rows are handed to the row kernels as a small image
 * (first row, row count) with the rows above it as padding, so the convolution kernels
 * compute exactly what they compute over the whole tensor.
 *
 * Access order (in place: `output` may be `x`): output row y is written after every row
 * of x that the pipeline reads at or before step y; rows of x read later are rows >= y + 1
 * provided kh2 - 1 - pad2 >= pad1 (conv2's padding below covers conv1's above; true of
 * SAME padding with equal filter heights), which the generator checks
 * (codegen/passes/fuse_residual.py).  x's row y is read (by the ADD) before output row y
 * is written, element by element.
 */
#ifndef TG_RESBLOCK_ROWS_H
#define TG_RESBLOCK_ROWS_H

#include <string.h>

#include "tg_common.h"

/* One output row of a convolution over `rows` rows of input starting at `in`, with
   `pad_top` rows of padding above them (rows past `rows` are padding too). */
typedef void (*tg_rb_conv_row_fn)(const void *conv, const int8_t *in, int32_t rows,
                                  int32_t pad_top, int8_t *out, void *scratch);
/* One row of the ADD (the params hold one row's loop nest). */
typedef void (*tg_rb_add_row_fn)(const void *params, const int8_t *x_row,
                                 const int8_t *b_row, int8_t *out_row);

typedef struct {
    int32_t height;     /* rows of x, a, b and the output */
    size_t x_row;       /* bytes of a row of x (and of b and the output) */
    size_t a_row;       /* bytes of a row of a */
    int32_t kh1, pad1;  /* conv1's filter height and rows of padding above */
    int32_t kh2, pad2;  /* conv2's */
} tg_rb_geometry_t;

static inline int32_t tg_rb_max(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t tg_rb_min(int32_t a, int32_t b) { return a < b ? a : b; }

static inline void tg_resblock_rows(const tg_rb_geometry_t *g,
                                    tg_rb_conv_row_fn conv_row, const void *conv1,
                                    const void *conv2, tg_rb_add_row_fn add_row,
                                    const void *add, const int8_t *x, int8_t *output,
                                    int8_t *window, int8_t *b_row, void *scratch)
{
    const int32_t h = g->height;
    int32_t lo = 0;        /* the row of a in window slot 0 */
    int32_t next = 0;      /* the next row of a to compute */
    int32_t y;
    for (y = 0; y < h; ++y) {
        const int32_t need_lo = tg_rb_max(0, y - g->pad2);
        const int32_t need_hi = tg_rb_min(h - 1, y - g->pad2 + g->kh2 - 1);
        for (; next <= need_hi; ++next) {
            const int32_t first = tg_rb_max(0, next - g->pad1);
            const int32_t last = tg_rb_min(h - 1, next - g->pad1 + g->kh1 - 1);
            if (next - lo == g->kh2) {          /* full: drop the oldest row */
                memmove(window, window + g->a_row, (size_t)(g->kh2 - 1) * g->a_row);
                ++lo;
            }
            conv_row(conv1, x + (size_t)first * g->x_row, last - first + 1,
                     first - (next - g->pad1), window + (size_t)(next - lo) * g->a_row,
                     scratch);
        }
        conv_row(conv2, window + (size_t)(need_lo - lo) * g->a_row, need_hi - need_lo + 1,
                 need_lo - (y - g->pad2), b_row, scratch);
        add_row(add, x + (size_t)y * g->x_row, b_row, output + (size_t)y * g->x_row);
    }
}

#endif /* TG_RESBLOCK_ROWS_H */
