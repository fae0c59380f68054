/* tg_movement.c - strided copies and row interleaving (see tg_movement.h). */
#include <string.h>

#include "tg_bytes.h"
#include "tg_movement.h"

/* The innermost loop: `count` runs of `run_bytes`, with byte steps. */
static void copy_line(uint8_t *out, int32_t out_step, const uint8_t *in, int32_t in_step,
                      int32_t count, int32_t run_bytes)
{
    int32_t i;
    int32_t o = 0;
    int32_t s = 0;
    switch (run_bytes) {
    case 1:
        for (i = 0; i < count; ++i, o += out_step, s += in_step) {
            out[o] = in[s];
        }
        break;
    case 2:
        for (i = 0; i < count; ++i, o += out_step, s += in_step) {
            memcpy(&out[o], &in[s], 2);
        }
        break;
    case 4:
        for (i = 0; i < count; ++i, o += out_step, s += in_step) {
            memcpy(&out[o], &in[s], 4);
        }
        break;
    default:
        for (i = 0; i < count; ++i, o += out_step, s += in_step) {
            tg_bytes_copy(&out[o], &in[s], (size_t)run_bytes);
        }
        break;
    }
}

static void fill(uint8_t *out, int32_t nbytes, const void *value, int32_t elem_bytes)
{
    int32_t o;
    if (elem_bytes == 1) {
        tg_bytes_fill(out, *(const uint8_t *)value, (size_t)nbytes);
        return;
    }
    for (o = 0; o + elem_bytes <= nbytes; o += elem_bytes) {
        tg_bytes_copy(&out[o], value, (size_t)elem_bytes);
    }
}

void tg_strided_copy(const tg_strided_copy_params_t *p, const void *input, void *output)
{
    const uint8_t *in = (const uint8_t *)input;
    uint8_t *out = (uint8_t *)output;
    const int32_t *n = p->shape;
    const int32_t *in_step = p->in_stride;
    const int32_t *out_step = p->out_stride;
    int32_t i0, i1, i2, i3;
    /* byte offsets, kept as integers: a backward walk never forms an out-of-range pointer */
    int32_t s0, s1, s2, s3;
    int32_t o0, o1, o2, o3;

    if (p->fill_bytes > 0) {
        fill(out, p->fill_bytes, p->fill_value, p->elem_bytes);
    }
    s0 = p->in_offset;
    o0 = p->out_offset;
    for (i0 = 0; i0 < n[0]; ++i0, s0 += in_step[0], o0 += out_step[0]) {
        s1 = s0;
        o1 = o0;
        for (i1 = 0; i1 < n[1]; ++i1, s1 += in_step[1], o1 += out_step[1]) {
            s2 = s1;
            o2 = o1;
            for (i2 = 0; i2 < n[2]; ++i2, s2 += in_step[2], o2 += out_step[2]) {
                s3 = s2;
                o3 = o2;
                for (i3 = 0; i3 < n[3]; ++i3, s3 += in_step[3], o3 += out_step[3]) {
                    copy_line(&out[o3], out_step[4], &in[s3], in_step[4], n[4], p->run_bytes);
                }
            }
        }
    }
}

void tg_concat_impl(const tg_concat_params_t *p, void *output, const void *const *inputs)
{
    uint8_t *out = (uint8_t *)output;
    int32_t row;
    int32_t t;
    for (row = 0; row < p->rows; ++row) {
        for (t = 0; t < p->count; ++t) {
            const int32_t n = p->row_bytes[t];
            tg_bytes_copy(out, (const uint8_t *)inputs[t] + (size_t)row * (size_t)n, (size_t)n);
            out += n;
        }
    }
}

void tg_split_impl(const tg_concat_params_t *p, const void *input, void *const *outputs)
{
    const uint8_t *in = (const uint8_t *)input;
    int32_t row;
    int32_t t;
    for (row = 0; row < p->rows; ++row) {
        for (t = 0; t < p->count; ++t) {
            const int32_t n = p->row_bytes[t];
            tg_bytes_copy((uint8_t *)outputs[t] + (size_t)row * (size_t)n, in, (size_t)n);
            in += n;
        }
    }
}
