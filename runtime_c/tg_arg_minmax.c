/* tg_arg_minmax.c - ARG_MAX / ARG_MIN: on ties the first index wins, as in TFLite. */
#include "tg_arg_minmax.h"

void tg_arg_minmax_s8(const tg_arg_minmax_params_t *p, const int8_t *input, void *output)
{
    int32_t o, i, a;
    int32_t *out32 = (int32_t *)output;
    int64_t *out64 = (int64_t *)output;
    for (o = 0; o < p->outer; ++o) {
        const int8_t *block = input + (ptrdiff_t)o * p->axis_size * p->inner;
        for (i = 0; i < p->inner; ++i) {
            int8_t best = block[i];
            int32_t best_index = 0;
            for (a = 1; a < p->axis_size; ++a) {
                const int8_t v = block[(ptrdiff_t)a * p->inner + i];
                if (p->is_max ? v > best : v < best) {
                    best = v;
                    best_index = a;
                }
            }
            if (p->output_int64) {
                *out64++ = best_index;
            } else {
                *out32++ = best_index;
            }
        }
    }
}
