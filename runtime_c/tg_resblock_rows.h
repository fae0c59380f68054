/*
 * tg_resblock_rows.h - the row pipeline of a fused basic residual block (MCUNetV2-style):
 * out = ADD(x, conv2(conv1(x))), or with a downsampling block's projection shortcut
 * out = ADD(shortcut(x), conv2(conv1(x))) (shortcut a 1x1 convolution with conv1's stride);
 * conv2 stride 1 with its output as large as its input.
 *
 * The intermediate a = conv1(x) lives only as a rolling window of conv2's filter-height
 * rows (`window`), b = conv2(a) as one row (`b_row`), the shortcut's output as one row
 * (`s_row`).  For output row y, the rows of a that conv2's row y reads (y - pad2 .. y -
 * pad2 + kh2 - 1, those inside the image) are computed into the window (each from the rows
 * of x it reads), then b's row y, then the output row y = x row y (or the shortcut's row y,
 * from x row y * stride1) + b row y.  Rows are handed to the convolution kernels as a small
 * image (first row, row count) with the rows above it as padding, so they compute exactly
 * what they compute over the whole tensor.
 *
 * Access order (identity blocks in place: `output` may be `x`): output row y is written
 * after every row of x that the pipeline reads at or before step y; rows of x read later
 * are rows >= y + 1 provided stride1 == 1 and kh2 - 1 - pad2 >= pad1 (conv2's padding below
 * covers conv1's above; true of SAME padding with equal filter heights), which the
 * generator checks (codegen/passes/fuse_residual.py).  x's row y is read (by the ADD)
 * before output row y is written, element by element.
 */
#ifndef TG_RESBLOCK_ROWS_H
#define TG_RESBLOCK_ROWS_H

#include "tg_bytes.h"
#include "tg_common.h"

/* One output row of a convolution over `rows` rows of input starting at `in`, with
   `pad_top` rows of padding above them (rows past `rows` are padding too). */
typedef void (*tg_rb_conv_row_fn)(const void *conv, const int8_t *in, int32_t rows,
                                  int32_t pad_top, int8_t *out, void *scratch);
/* One output row of the shortcut (a 1x1 convolution) from one row of x. */
typedef void (*tg_rb_short_row_fn)(const void *shortcut, const int8_t *in, int8_t *out,
                                   void *scratch);
/* One row of the ADD (its params hold one row's loop nest): out = input1 + input2. */
typedef void (*tg_rb_add_row_fn)(const void *add, const int8_t *input1,
                                 const int8_t *input2, int8_t *out_row);

typedef struct {
    int32_t height;     /* rows of a, b and the output */
    int32_t in_height;  /* rows of x */
    size_t x_row;       /* bytes of a row of x */
    size_t a_row;       /* bytes of a row of a */
    size_t out_row;     /* bytes of a row of b and the output */
    int32_t kh1, pad1;  /* conv1's filter height and rows of padding above */
    int32_t stride1;    /* conv1's (and the shortcut's) stride along the height */
    int32_t kh2, pad2;  /* conv2's */
    int32_t x_first;    /* 1: the ADD's first input is x (or the shortcut), 0: b */
} tg_rb_geometry_t;

/* The geometry of a block from its convolutions' `c1`, `c2` (pointers to any struct with
   the convolution fields: tg_conv_geometry_t, tg_dsp_conv_params_t). */
#define TG_RB_GEOMETRY(g, h, xf, c1, c2) do {                                          \
        (g)->height = (h);                                                              \
        (g)->in_height = (c1)->input_height;                                            \
        (g)->x_row = (size_t)(c1)->input_width * (size_t)(c1)->input_depth;             \
        (g)->a_row = (size_t)(c1)->output_width * (size_t)(c1)->output_depth;           \
        (g)->out_row = (size_t)(c2)->output_width * (size_t)(c2)->output_depth;         \
        (g)->kh1 = (c1)->filter_height;                                                 \
        (g)->pad1 = (c1)->pad_top;                                                      \
        (g)->stride1 = (c1)->stride_height;                                             \
        (g)->kh2 = (c2)->filter_height;                                                 \
        (g)->pad2 = (c2)->pad_top;                                                      \
        (g)->x_first = (xf);                                                            \
    } while (0)

static inline int32_t tg_rb_max(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t tg_rb_min(int32_t a, int32_t b) { return a < b ? a : b; }

/* `short_row` NULL: an identity block (the ADD reads x's rows; s_row unused). */
static inline void tg_resblock_rows(const tg_rb_geometry_t *g,
                                    tg_rb_conv_row_fn conv_row, const void *conv1,
                                    const void *conv2, tg_rb_short_row_fn short_row,
                                    const void *shortcut, tg_rb_add_row_fn add_row,
                                    const void *add, const int8_t *x, int8_t *output,
                                    int8_t *window, int8_t *b_row, int8_t *s_row,
                                    void *scratch)
{
    const int32_t h = g->height;
    int32_t lo = 0;        /* the row of a in window slot 0 */
    int32_t next = 0;      /* the next row of a to compute */
    int32_t y;
    for (y = 0; y < h; ++y) {
        const int32_t need_lo = tg_rb_max(0, y - g->pad2);
        const int32_t need_hi = tg_rb_min(h - 1, y - g->pad2 + g->kh2 - 1);
        for (; next <= need_hi; ++next) {
            const int32_t top = next * g->stride1 - g->pad1;   /* its window's first row */
            const int32_t first = tg_rb_max(0, top);
            const int32_t last = tg_rb_min(g->in_height - 1, top + g->kh1 - 1);
            if (next - lo == g->kh2) {          /* full: drop the oldest row */
                /* a move down: tg_bytes_copy copies forward */
                tg_bytes_copy(window, window + g->a_row, (size_t)(g->kh2 - 1) * g->a_row);
                ++lo;
            }
            conv_row(conv1, x + (size_t)first * g->x_row, last - first + 1, first - top,
                     window + (size_t)(next - lo) * g->a_row, scratch);
        }
        conv_row(conv2, window + (size_t)(need_lo - lo) * g->a_row, need_hi - need_lo + 1,
                 need_lo - (y - g->pad2), b_row, scratch);
        {
            const int8_t *xs = x + (size_t)y * g->x_row;
            int8_t *out = output + (size_t)y * g->out_row;
            if (short_row != NULL) {
                short_row(shortcut, x + (size_t)y * (size_t)g->stride1 * g->x_row, s_row,
                          scratch);
                xs = s_row;
            }
            if (g->x_first) {
                add_row(add, xs, b_row, out);
            } else {
                add_row(add, b_row, xs, out);
            }
        }
    }
}

#endif /* TG_RESBLOCK_ROWS_H */
