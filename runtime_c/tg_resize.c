/* tg_resize.c - nearest-neighbor resize by table lookup (see tg_resize.h). */
#include "tg_bytes.h"
#include "tg_resize.h"

void tg_resize_nearest(const tg_resize_nearest_params_t *p, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const size_t out_row_bytes = (size_t)p->out_width * (size_t)p->pixel_bytes;
    int32_t b, y, x;
    for (b = 0; b < p->batches; ++b) {
        for (y = 0; y < p->out_height; ++y) {
            if (y > 0 && p->row_offset[y] == p->row_offset[y - 1]) {
                /* same source row as the previous output row: repeat it */
                tg_bytes_copy(out, out - out_row_bytes, out_row_bytes);
            } else {
                const uint8_t *src = in + p->row_offset[y];
                for (x = 0; x < p->out_width; ++x) {
                    tg_bytes_copy(out + (size_t)x * (size_t)p->pixel_bytes,
                                  src + p->col_offset[x], (size_t)p->pixel_bytes);
                }
            }
            out += out_row_bytes;
        }
        in += p->in_batch_bytes;
    }
}
