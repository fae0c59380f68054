/* tg_resblock.c - fused basic residual blocks on the portable kernels (tg_resblock.h). */
#include "tg_resblock.h"

#include "tg_resblock_rows.h"

static void tg_resblock_conv_row(const void *conv, const int8_t *in, int32_t rows,
                                 int32_t pad_top, int8_t *out, void *scratch)
{
    tg_conv_params_t c = *(const tg_conv_params_t *)conv;
    (void)scratch;
    c.geometry.input_height = rows;
    c.geometry.pad_top = pad_top;
    tg_conv_s8(&c, in, out);
}

static void tg_resblock_short_row(const void *conv, const int8_t *in, int8_t *out,
                                  void *scratch)
{
    tg_resblock_conv_row(conv, in, 1, 0, out, scratch);
}

static void tg_resblock_add_row(const void *add, const int8_t *input1, const int8_t *input2,
                                int8_t *out_row)
{
    tg_add_s8((const tg_add_sub_params_t *)add, input1, input2, out_row);
}

static void tg_resblock_geometry(tg_rb_geometry_t *g, int32_t height, int32_t x_first,
                                 const tg_conv_params_t *c1, const tg_conv_params_t *c2)
{
    TG_RB_GEOMETRY(g, height, x_first, &c1->geometry, &c2->geometry);
}

void tg_resblock_s8(const tg_resblock_params_t *p, const int8_t *x, int8_t *output,
                    int8_t *window, int8_t *b_row)
{
    tg_rb_geometry_t g;
    tg_resblock_geometry(&g, p->height, p->x_is_input1, &p->conv1, &p->conv2);
    tg_resblock_rows(&g, tg_resblock_conv_row, &p->conv1, &p->conv2, NULL, NULL,
                     tg_resblock_add_row, &p->add, x, output, window, b_row, NULL, NULL);
}

void tg_resblock_down_s8(const tg_resblock_down_params_t *p, const int8_t *x, int8_t *output,
                         int8_t *window, int8_t *b_row, int8_t *s_row)
{
    tg_rb_geometry_t g;
    tg_resblock_geometry(&g, p->height, p->x_is_input1, &p->conv1, &p->conv2);
    tg_resblock_rows(&g, tg_resblock_conv_row, &p->conv1, &p->conv2, tg_resblock_short_row,
                     &p->shortcut, tg_resblock_add_row, &p->add, x, output, window, b_row,
                     s_row, NULL);
}
