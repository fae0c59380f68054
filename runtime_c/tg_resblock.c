/* tg_resblock.c - a fused basic residual block on the portable kernels (tg_resblock.h). */
#include "tg_resblock.h"

#include "tg_resblock_rows.h"

static void tg_resblock_conv_row(const void *conv, const int8_t *in, int32_t rows,
                                 int32_t pad_top, int8_t *out, void *scratch)
{
    tg_conv_params_t c = *(const tg_conv_params_t *)conv;
    (void)scratch;
    c.input_height = rows;
    c.pad_top = pad_top;
    tg_conv_s8(&c, in, out);
}

static void tg_resblock_add_row(const void *params, const int8_t *x_row, const int8_t *b_row,
                                int8_t *out_row)
{
    const tg_resblock_params_t *p = (const tg_resblock_params_t *)params;
    if (p->x_is_input1) {
        tg_add_s8(&p->add, x_row, b_row, out_row);
    } else {
        tg_add_s8(&p->add, b_row, x_row, out_row);
    }
}

void tg_resblock_s8(const tg_resblock_params_t *p, const int8_t *x, int8_t *output,
                    int8_t *window, int8_t *b_row)
{
    tg_rb_geometry_t g;
    g.height = p->height;
    g.x_row = (size_t)p->conv1.input_width * (size_t)p->conv1.input_depth;
    g.a_row = (size_t)p->conv1.output_width * (size_t)p->conv1.output_depth;
    g.kh1 = p->conv1.filter_height;
    g.pad1 = p->conv1.pad_top;
    g.kh2 = p->conv2.filter_height;
    g.pad2 = p->conv2.pad_top;
    tg_resblock_rows(&g, tg_resblock_conv_row, &p->conv1, &p->conv2, tg_resblock_add_row, p,
                     x, output, window, b_row, NULL);
}
