/*
 * tg_cw_fc.c - fully connected layer reading a compressed filter from flash.
 *
 * The arithmetic of tg_fully_connected_s8 (TFLite's reference FullyConnected with the
 * input zero point folded into the bias), each weight decoded where it is used (a palette
 * unit's table taken once, tg_cw_table).
 */
#include "tg_cw_fc.h"

void tg_cw_fully_connected_s8(const tg_cw_fc_params_t *p, const int8_t *input, int8_t *output)
{
    int32_t b, u, d;
    tg_cw_tab_t tab;
    tab.which = -1;
    for (b = 0; b < p->batches; ++b) {
        const int8_t *row = input + (size_t)b * (size_t)p->depth;
        int8_t *out_row = output + (size_t)b * (size_t)p->units;
        for (u = 0; u < p->units; ++u) {
            const uint8_t *w = tg_cw_row(&p->weights, u);
            const int8_t *t = tg_cw_table(&p->weights, u, &tab);   /* NULL: int4 */
            const int32_t q = p->per_channel ? u : 0;
            uint32_t acc = (uint32_t)p->bias[u];   /* modulo 2^32, as tg_fully_connected_s8 */
            int32_t res;
            for (d = 0; d < p->depth; ++d) {
                const int32_t v = t ? (int32_t)t[tg_cw_index(&p->weights, w, d)]
                                    : tg_cw_s4(w, d);
                acc += (uint32_t)(v * (int32_t)row[d]);
            }
            res = tg_requantize((int32_t)acc, p->multiplier[q], p->shift[q]);
            res = (int32_t)((uint32_t)res + (uint32_t)p->output_offset);
            out_row[u] = (int8_t)tg_clamp(res, p->act_min, p->act_max);
        }
    }
}
