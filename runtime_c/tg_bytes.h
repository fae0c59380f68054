/*
 * tg_bytes.h - byte copies and fills of run-time lengths, without the C library.
 *
 * A variable-length memcpy or memset call links the C library's (about 300 and 160 bytes
 * with newlib-nano on Cortex-M) into a firmware that may not otherwise need them.  The
 * kernels' copies (rows of CONCATENATION, SPLIT and RESIZE, padding fills, the rolling
 * window of a fused residual block) are short, so these two loops (a 4-byte step, then
 * bytes) serve them at a fraction of that.
 * tg_bytes_copy copies forward, in increasing addresses, each step read before it is
 * written: the regions may overlap where dst lies below src (memmove's move down, as the
 * rolling window does), not otherwise.
 */
#ifndef TG_BYTES_H
#define TG_BYTES_H

#include "tg_common.h"

void tg_bytes_copy(void *dst, const void *src, size_t n);
void tg_bytes_fill(void *dst, uint8_t value, size_t n);

#endif /* TG_BYTES_H */
