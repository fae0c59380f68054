/* tg_gather.c - GATHER: one memcpy per gathered slice. */
#include <string.h>

#include "tg_gather.h"

int tg_gather(const tg_gather_params_t *p, const void *input, const int32_t *positions,
              void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t slice = (size_t)p->inner_bytes;
    int32_t b, o, c;
    for (b = 0; b < p->batch; ++b) {
        const int32_t *pos = positions + (ptrdiff_t)b * p->count;
        for (o = 0; o < p->outer; ++o) {
            const uint8_t *src = in + ((size_t)b * (size_t)p->outer + (size_t)o) *
                                          (size_t)p->axis_size * slice;
            for (c = 0; c < p->count; ++c) {
                if (pos[c] < 0 || pos[c] >= p->axis_size) {
                    return -1;
                }
                memcpy(out, src + (size_t)pos[c] * slice, slice);
                out += slice;
            }
        }
    }
    return 0;
}
