/* tg_dsp_resblock.c - fused basic residual blocks on the dsp kernels (tg_dsp_resblock.h). */
#include "tg_dsp_resblock.h"

#include "tg_resblock_rows.h"

static void tg_dsp_resblock_conv_row(const void *conv, const int8_t *in, int32_t rows,
                                     int32_t pad_top, int8_t *out, void *scratch)
{
    tg_dsp_conv_rows_s8((const tg_dsp_conv_params_t *)conv, rows, pad_top, in, out, scratch);
}

static void tg_dsp_resblock_gemm_row(const void *gemm, const int8_t *in, int8_t *out,
                                     void *scratch)
{
    tg_dsp_gemm_s8((const tg_dsp_gemm_params_t *)gemm, in, out, scratch);
}

static void tg_dsp_resblock_add_row(const void *add, const int8_t *input1,
                                    const int8_t *input2, int8_t *out_row)
{
    tg_dsp_add_s8((const tg_dsp_add_params_t *)add, input1, input2, out_row);
}

static void tg_dsp_resblock_add_table_row(const void *add, const int8_t *input1,
                                          const int8_t *input2, int8_t *out_row)
{
    tg_dsp_add_table_s8((const tg_dsp_add_table_params_t *)add, input1, input2, out_row);
}

/* Every block kind: its geometry from conv1 and conv2, then the row pipeline (one copy of
 * both for the four entries below, which differ only in the row functions they pass). */
TG_NOINLINE static void tg_dsp_resblock_run(int32_t height, int32_t x_first,
                                            const tg_dsp_conv_params_t *conv1,
                                            const tg_dsp_conv_params_t *conv2,
                                            tg_rb_short_row_fn short_row,
                                            const void *shortcut, tg_rb_add_row_fn add_row,
                                            const void *add, const int8_t *x, int8_t *output,
                                            int8_t *window, int8_t *b_row, int8_t *s_row,
                                            void *scratch)
{
    tg_rb_geometry_t g;
    TG_RB_GEOMETRY(&g, height, x_first, conv1, conv2);
    tg_resblock_rows(&g, tg_dsp_resblock_conv_row, conv1, conv2, short_row, shortcut, add_row,
                     add, x, output, window, b_row, s_row, scratch);
}

void tg_dsp_resblock_s8(const tg_dsp_resblock_params_t *p, const int8_t *x, int8_t *output,
                        int8_t *window, int8_t *b_row, void *scratch)
{
    tg_dsp_resblock_run(p->height, p->x_is_input1, &p->conv1, &p->conv2, NULL, NULL,
                        tg_dsp_resblock_add_row, &p->add, x, output, window, b_row, NULL,
                        scratch);
}

void tg_dsp_resblock_table_s8(const tg_dsp_resblock_table_params_t *p, const int8_t *x,
                              int8_t *output, int8_t *window, int8_t *b_row, void *scratch)
{
    tg_dsp_resblock_run(p->height, p->x_is_input1, &p->conv1, &p->conv2, NULL, NULL,
                        tg_dsp_resblock_add_table_row, &p->add, x, output, window, b_row,
                        NULL, scratch);
}

void tg_dsp_resblock_down_s8(const tg_dsp_resblock_down_params_t *p, const int8_t *x,
                             int8_t *output, int8_t *window, int8_t *b_row, int8_t *s_row,
                             void *scratch)
{
    tg_dsp_resblock_run(p->height, p->x_is_input1, &p->conv1, &p->conv2,
                        tg_dsp_resblock_gemm_row, &p->shortcut, tg_dsp_resblock_add_row,
                        &p->add, x, output, window, b_row, s_row, scratch);
}

void tg_dsp_resblock_down_table_s8(const tg_dsp_resblock_down_table_params_t *p,
                                   const int8_t *x, int8_t *output, int8_t *window,
                                   int8_t *b_row, int8_t *s_row, void *scratch)
{
    tg_dsp_resblock_run(p->height, p->x_is_input1, &p->conv1, &p->conv2,
                        tg_dsp_resblock_gemm_row, &p->shortcut, tg_dsp_resblock_add_table_row,
                        &p->add, x, output, window, b_row, s_row, scratch);
}
