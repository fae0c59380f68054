/*
 * tg_tile.c - TILE.
 *
 * Dimension by dimension, outermost first: the block of the output that one
 * input index of dimension d produces is built once (recursively, from the
 * inner dimensions), then copied multiples[d] - 1 more times right after
 * itself.  The innermost dimension copies its input row multiples times.
 * Recursion depth is at most TG_TILE_MAX_DIMS.
 */
#include <string.h>

#include "tg_tile.h"

/* Writes the tiled block of dimensions d.. for the input block at `in`; returns the
   bytes written to `out`.  *in_bytes receives the input bytes of that block. */
static size_t tile_block(const tg_tile_params_t *p, int32_t d, const uint8_t *in,
                         uint8_t *out, size_t *in_bytes)
{
    size_t written = 0;
    size_t used = 0;
    int32_t k;
    if (d == p->dims - 1) {
        written = (size_t)p->in_shape[d] * (size_t)p->elem_bytes;
        used = written;
        for (k = 0; k < p->multiples[d]; ++k) {
            memcpy(out + (size_t)k * written, in, written);
        }
    } else {
        for (k = 0; k < p->in_shape[d]; ++k) {
            size_t u = 0;
            written += tile_block(p, d + 1, in + used, out + written, &u);
            used += u;
        }
        for (k = 1; k < p->multiples[d]; ++k) {
            memcpy(out + (size_t)k * written, out, written);
        }
    }
    *in_bytes = used;
    return written * (size_t)p->multiples[d];
}

void tg_tile(const tg_tile_params_t *p, const void *input, void *output)
{
    size_t used = 0;
    (void)tile_block(p, 0, (const uint8_t *)input, (uint8_t *)output, &used);
}
