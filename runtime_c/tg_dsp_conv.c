/*
 * tg_dsp_conv.c - int8 CONV_2D (any filter, stride, padding, dilation) with SMLAD on an
 * int16 im2col of two output pixels.
 *
 * Same arithmetic as TFLite's reference ConvPerChannel: acc = bias + the sum over the
 * taps inside the image of w * (x + input_offset) (exact modulo 2^32, in any order), then
 * MultiplyByQuantizedMultiplier (tg_requantize's values, in fewer instructions), the
 * output offset and the activation clamp.  A tap outside the image is written to the
 * column as the input zero point (x + input_offset = 0), so it adds nothing, exactly like
 * TFLM's skipped tap.
 *
 * The columns of two pixels are interleaved, one 16-byte block per 4 window values:
 * pixel 0's pairs (v0, v2), (v1, v3), then pixel 1's.  One pass runs 2 pixels x 2 output
 * channels: per block 4 column words, 2 weight words, 4 SXTB16, 8 SMLAD (16 MACs); or,
 * for the channel triples at the front of full-range layers (`triples`), 2 pixels x 3
 * channels: 4 column words, 3 weight words, 6 SXTB16, 12 SMLAD (24 MACs).
 * Where the generator proved it equal (`quant`, codegen/lowering/conv/dsp_im2col.py
 * short_quant), the pass's outputs are requantized by tg_dsp_requantize_hm from
 * per-channel rows (M', s, half), in asm on Arm (~7 instructions an output), instead of
 * the general multiplier/shift form below; on Thumb-2 with GCC, all of a full-range
 * layer's channel triples and whole pairs run in the assembly tg_dsp_conv_2x2_thumb2 (its
 * C twins: tg_dsp_conv_triples, tg_dsp_conv_channels).  A window inside the image is widened straight from the input
 * (tg_dsp_conv_im2col_inside, tg_dsp_conv_im2col_3x9: the same column, first layers'
 * shapes unrolled).
 *
 * In-place order (the planner's contract): output pixels in raster order, two at a time;
 * both pixels' columns are filled before either's outputs are written, and a later pair
 * reads only input rows at or below out_y * stride_h - pad_top.
 */
#include "tg_dsp_conv.h"

#include "tg_acle.h"
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_CONV_*) */
#include "tg_dsp_requant.h"

/* a function of its own: inlined into the pixel loop it spills registers every pass, or
 * is copied at each of its calls */
#define TG_DSP_CONV_NOINLINE TG_NOINLINE

#if defined(__GNUC__) || defined(__clang__)
/* hides p from GCC's loop idiom recognition: a byte loop stays a loop (no memcpy or memset
 * call, which would link 470 bytes of libc for a few border windows) */
#define TG_DSP_CONV_OPAQUE(p) __asm__("" : "+r"(p))
#else
#define TG_DSP_CONV_OPAQUE(p) ((void)0)
#endif

/* n bytes at dst copied from src, or the input zero point zp where src is NULL (a row's
 * taps outside the image); the end of them returned.  A byte loop: a first layer's few
 * values. */
TG_INLINE int8_t *tg_dsp_conv_put(int8_t *dst, const int8_t *src, int8_t zp, int32_t n)
{
    for (; n > 0; --n) {
        TG_DSP_CONV_OPAQUE(dst);
        *dst++ = src != NULL ? *src++ : zp;
    }
    return dst;
}

#if TG_CFG_DSP_CONV_DILATED
/* One input row of the window (input row `row`, first column x0) as int8 values into
 * `dst`, the input zero point for taps left or right of the image. */
static void tg_dsp_conv_gather_row(const tg_dsp_conv_params_t *p, const int8_t *row,
                                   int32_t x0, int8_t zp, int8_t *dst)
{
    const int32_t depth = p->input_depth;
    int32_t fx;
    for (fx = 0; fx < p->filter_width; ++fx) {
        const int32_t x = x0 + fx * p->dilation_width;
        dst = tg_dsp_conv_put(dst, x >= 0 && x < p->input_width ?
                              row + (size_t)x * (size_t)depth : NULL, zp, depth);
    }
}
#endif /* TG_CFG_DSP_CONV_DILATED */

/* Widen `quads` groups of 4 int8 values at src into one pixel's column blocks at dst, one
 * group a step (tg_dsp_conv_widen: two, for the windows inside the image). */
TG_INLINE uint32_t *tg_dsp_conv_widen1(const int8_t *src, int32_t quads, uint32_t *dst,
                                       uint32_t off2)
{
    for (; quads > 0; --quads) {
        const uint32_t v = tg_read_s8x4(src);
        dst[0] = tg_sxtab16(off2, v);
        dst[1] = tg_sxtab16_ror8(off2, v);
        dst += 4;
        src += 4;
    }
    return dst;
}

/* Zeros for `quads` column blocks of one pixel at dst (taps outside the image). */
TG_INLINE uint32_t *tg_dsp_conv_zero(uint32_t *dst, int32_t quads)
{
    for (; quads > 0; --quads) {
        dst[0] = 0;
        dst[1] = 0;
        dst += 4;
    }
    return dst;
}

/* An output pixel: its image and the input position of its window's top left tap. */
typedef struct {
    const int8_t *image;
    int32_t y0;
    int32_t x0;
} tg_dsp_conv_pos_t;

/*
 * The column of the output pixel at `at` into the column blocks at dst (pixel slot 0 or 1
 * of the pair), for a window not wholly inside the image (tg_dsp_conv_column, its one
 * caller, gives those to tg_dsp_conv_im2col_inside or _3x9).  A window row outside the
 * image is zeros.  Input depths of 4n (filters not dilated along the width): the blocks of
 * the taps inside the image widened straight from the input, zeros for the others.  Other
 * rows: their row_len / 4 whole blocks widened from the input when its taps are all
 * inside, else from `stage` (the row gathered, the input zero point for taps outside the
 * image); their row_len % 4 last values go to `tail`, widened after the last row.
 */
static void tg_dsp_conv_im2col(const tg_dsp_conv_params_t *p, int32_t height,
                               const tg_dsp_conv_pos_t *at, uint32_t *dst, int8_t *stage)
{
    const int32_t depth = p->input_depth;
    const size_t row_bytes = (size_t)p->input_width * (size_t)depth;
    const int32_t y0 = at->y0;
    const int32_t x0 = at->x0;
    const int32_t row_len = p->filter_width * depth;
    const int32_t quads = row_len >> 2;
    const int32_t rest = TG_CFG_DSP_CONV_REST ? row_len & 3 : 0;   /* (tg_config.h) */
    const int8_t zp = (int8_t)-p->input_offset;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    /* (dilation_width 1) taps [0, lo) left of the image, [lo, hi) inside, [hi, fw) right */
    const int32_t lo = TG_MIN(TG_MAX(-x0, 0), p->filter_width);
    const int32_t hi = TG_MAX(TG_MIN(p->input_width - x0, p->filter_width), lo);
    int8_t *const tail = stage + (rest ? row_len : 0);    /* (no stage: 4n depths) */
    int8_t *t = tail;
    int32_t fy, k, n, right = 0;
    for (fy = 0; fy < p->filter_height; ++fy) {
        const int32_t y = y0 + fy * p->dilation_height;
        const int8_t *row, *src = stage;
        if (y < 0 || y >= height) {
            dst = tg_dsp_conv_zero(dst, quads);
            for (k = rest; k > 0; --k) {
                TG_DSP_CONV_OPAQUE(t);
                *t++ = zp;
            }
            continue;
        }
        row = at->image + (size_t)y * row_bytes;
        n = quads;
        if (p->dilation_width == 1) {
            src = row + (size_t)(x0 + lo) * (size_t)depth;
            if (TG_CFG_DSP_CONV_EDGE_4N && (depth & 3) == 0) {  /* whole blocks a tap */
                dst = tg_dsp_conv_zero(dst, lo * depth >> 2);
                n = (hi - lo) * depth >> 2;
                right = (p->filter_width - hi) * depth >> 2;
            } else if (lo != 0 || hi != p->filter_width) {
                int8_t *s = tg_dsp_conv_put(stage, NULL, zp, lo * depth);
                s = tg_dsp_conv_put(s, src, zp, (hi - lo) * depth);
                (void)tg_dsp_conv_put(s, NULL, zp, (p->filter_width - hi) * depth);
                src = stage;
            }
        }
#if TG_CFG_DSP_CONV_DILATED
        else {
            tg_dsp_conv_gather_row(p, row, x0, zp, stage);
        }
#endif
        dst = tg_dsp_conv_zero(tg_dsp_conv_widen1(src, n, dst, off2), right);
        for (k = 0; k < rest; ++k) {
            TG_DSP_CONV_OPAQUE(t);
            *t++ = src[4 * quads + k];
        }
    }
    if (rest) {
        while ((t - tail) & 3) {     /* meets zero weights; any defined value does */
            *t++ = zp;
        }
        (void)tg_dsp_conv_widen1(tail, (int32_t)(t - tail) >> 2, dst, off2);
    }
}

/* What the column of a window inside the image needs, computed once a call. */
typedef struct {
    size_t row_bytes;       /* input_width * input_depth */
    size_t step;            /* between the window's rows: dilation_height * row_bytes */
    int32_t rows;           /* filter_height */
    int32_t quads;          /* whole 4-value groups of a window row */
    int32_t rest;           /* a window row's last values (row length % 4) */
    uint32_t off2;          /* input_offset in both halves */
    uint32_t zp4;           /* the input zero point in every byte */
    int32_t x_max;          /* last x0 whose window ends inside the image */
    int32_t y_max;          /* last y0 whose window ends inside the image */
    int inside_ok;          /* dilation_width == 1: a window row is contiguous */
    int rows3x9;            /* 3 rows of 9 values (3x3 filters on 3 channels) */
    int32_t height;         /* input rows (the call's: tg_dsp_conv_rows_s8) */
    int32_t pad_top;        /* implicit rows above them (the call's) */
} tg_dsp_conv_win_t;

static void tg_dsp_conv_win(const tg_dsp_conv_params_t *p, int32_t height, int32_t pad_top,
                            tg_dsp_conv_win_t *win)
{
    const int32_t row_len = p->filter_width * p->input_depth;
    win->row_bytes = (size_t)p->input_width * (size_t)p->input_depth;
    win->step = (size_t)p->dilation_height * win->row_bytes;
    win->rows = p->filter_height;
    win->quads = row_len >> 2;
    win->rest = row_len & 3;
    win->off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    win->zp4 = ((uint32_t)-p->input_offset & 0xFFu) * 0x01010101u;
    win->x_max = p->input_width - p->filter_width;
    win->y_max = height - 1 - (p->filter_height - 1) * p->dilation_height;
    win->inside_ok = p->dilation_width == 1;
    win->rows3x9 = p->filter_height == 3 && row_len == 9;
    win->height = height;
    win->pad_top = pad_top;
}

/* The windows inside the image: 3 rows of 9 values (TG_CFG_DSP_CONV_3X9), any other
 * (TG_CFG_DSP_CONV_ROWS; also when tg_config.h has neither), by the rows' length: 4
 * values (TG_CFG_DSP_CONV_ROWS_4), 9 (_9), whole blocks, 4 or more (_4N), any other
 * (_ANY; also when tg_config.h has none of them) */
#define TG_DSP_CONV_ROWS (TG_CFG_DSP_CONV_ROWS || !TG_CFG_DSP_CONV_3X9)
#define TG_DSP_CONV_ROWS_ANY (TG_CFG_DSP_CONV_ROWS_ANY || !(TG_CFG_DSP_CONV_ROWS_4 || \
                              TG_CFG_DSP_CONV_ROWS_9 || TG_CFG_DSP_CONV_ROWS_4N))

#if TG_CFG_DSP_CONV_3X9
/* The column of a 3x3 window on 3 channels inside the image (rows at step from src): the
 * 2 blocks of each row, then the tail block of the rows' last values and the zero point,
 * as tg_dsp_conv_im2col_inside makes it, without a loop. */
static void tg_dsp_conv_im2col_3x9(const int8_t *src, size_t step, uint32_t off2,
                                   uint32_t zp4, uint32_t *dst)
{
    const int8_t *const r1 = src + step, *const r2 = r1 + step;
    uint32_t v = tg_read_s8x4(src), u = tg_read_s8x4(src + 4);
    dst[0] = tg_sxtab16(off2, v);
    dst[1] = tg_sxtab16_ror8(off2, v);
    dst[4] = tg_sxtab16(off2, u);
    dst[5] = tg_sxtab16_ror8(off2, u);
    v = tg_read_s8x4(r1);
    u = tg_read_s8x4(r1 + 4);
    dst[8] = tg_sxtab16(off2, v);
    dst[9] = tg_sxtab16_ror8(off2, v);
    dst[12] = tg_sxtab16(off2, u);
    dst[13] = tg_sxtab16_ror8(off2, u);
    v = tg_read_s8x4(r2);
    u = tg_read_s8x4(r2 + 4);
    dst[16] = tg_sxtab16(off2, v);
    dst[17] = tg_sxtab16_ror8(off2, v);
    dst[20] = tg_sxtab16(off2, u);
    dst[21] = tg_sxtab16_ror8(off2, u);
    v = (uint32_t)(uint8_t)src[8] | (uint32_t)(uint8_t)r1[8] << 8 |
        (uint32_t)(uint8_t)r2[8] << 16 | (zp4 & 0xFF000000u);
    dst[24] = tg_sxtab16(off2, v);
    dst[25] = tg_sxtab16_ror8(off2, v);
}
#endif

#if TG_DSP_CONV_ROWS

/* Widen `quads` groups of 4 int8 values at src into one pixel's column blocks at dst. */
TG_INLINE uint32_t *tg_dsp_conv_widen(const int8_t *src, int32_t quads, uint32_t *dst,
                                      uint32_t off2)
{
    if (quads & 1) {
        const uint32_t v = tg_read_s8x4(src);
        dst[0] = tg_sxtab16(off2, v);
        dst[1] = tg_sxtab16_ror8(off2, v);
        dst += 4;
        src += 4;
    }
    for (quads >>= 1; quads > 0; --quads) {     /* two loads back to back */
        const uint32_t v = tg_read_s8x4(src), u = tg_read_s8x4(src + 4);
        dst[0] = tg_sxtab16(off2, v);
        dst[1] = tg_sxtab16_ror8(off2, v);
        dst[4] = tg_sxtab16(off2, u);
        dst[5] = tg_sxtab16_ror8(off2, u);
        dst += 8;
        src += 8;
    }
    return dst;
}

#if TG_CFG_DSP_CONV_ROWS_9 || TG_DSP_CONV_ROWS_ANY
/* The rows' last values (row lengths not a multiple of 4), packed into the column's tail
 * blocks four at a time as they come. */
typedef struct {
    uint32_t *at;       /* the next tail block */
    uint32_t word;      /* the values so far, int8 lanes from the bottom */
    int32_t bits;       /* 8 per value so far */
} tg_dsp_conv_tail_t;

/* Widens the packed word into the block at `at` and moves on. */
TG_INLINE void tg_dsp_conv_tail_flush(tg_dsp_conv_tail_t *t, uint32_t off2)
{
    t->at[0] = tg_sxtab16(off2, t->word);
    t->at[1] = tg_sxtab16_ror8(off2, t->word);
    t->at += 4;
}

TG_INLINE void tg_dsp_conv_tail_put(tg_dsp_conv_tail_t *t, int8_t v, uint32_t off2)
{
    t->word |= (uint32_t)(uint8_t)v << t->bits;
    t->bits += 8;
    if (t->bits == 32) {
        tg_dsp_conv_tail_flush(t, off2);
        t->word = 0;
        t->bits = 0;
    }
}
#endif

/*
 * tg_dsp_conv_im2col for a window inside the image (its rows at a fixed step from src),
 * without the staging: each row's whole blocks widened straight from the input, its last
 * values packed into a word (little-endian, as tg_read_s8x4 reads them) that is widened
 * to the tail blocks after the rows' blocks whenever it holds 4; a last partial word
 * padded with the input zero point (meets zero weights).  Same column as
 * tg_dsp_conv_im2col.
 */
static TG_DSP_CONV_NOINLINE void tg_dsp_conv_im2col_inside(const tg_dsp_conv_win_t *win,
                                                           const int8_t *src, uint32_t *dst)
{
    const uint32_t off2 = win->off2;
    const int32_t quads = win->quads;
    int32_t fy;
    if (TG_CFG_DSP_CONV_ROWS_4 && win->rest == 0 && quads == 1) {
        /* one block a row (kws's 10x4 filter on one channel): nothing else to do */
        for (fy = win->rows; fy > 0; --fy) {
            const uint32_t v = tg_read_s8x4(src);
            dst[0] = tg_sxtab16(off2, v);
            dst[1] = tg_sxtab16_ror8(off2, v);
            dst += 4;
            src += win->step;
        }
        return;
    }
    if (TG_CFG_DSP_CONV_ROWS_4N && win->rest == 0 && quads >= 4) {
        /* rows of whole blocks (k x k filters on 4n channels): 4 blocks a step, the loads
         * back to back */
        for (fy = win->rows; fy > 0; --fy) {
            const int8_t *s = src;
            int32_t k;
            for (k = quads >> 2; k > 0; --k) {
                const uint32_t v0 = tg_read_s8x4(s), v1 = tg_read_s8x4(s + 4);
                const uint32_t v2 = tg_read_s8x4(s + 8), v3 = tg_read_s8x4(s + 12);
                dst[0] = tg_sxtab16(off2, v0);
                dst[1] = tg_sxtab16_ror8(off2, v0);
                dst[4] = tg_sxtab16(off2, v1);
                dst[5] = tg_sxtab16_ror8(off2, v1);
                dst[8] = tg_sxtab16(off2, v2);
                dst[9] = tg_sxtab16_ror8(off2, v2);
                dst[12] = tg_sxtab16(off2, v3);
                dst[13] = tg_sxtab16_ror8(off2, v3);
                dst += 16;
                s += 16;
            }
            dst = tg_dsp_conv_widen(s, quads & 3, dst, off2);
            src += win->step;
        }
        return;
    }
#if TG_CFG_DSP_CONV_ROWS_9 || TG_DSP_CONV_ROWS_ANY
    {
        tg_dsp_conv_tail_t tail;
        tail.at = dst + 4 * (size_t)quads * (size_t)win->rows;
        tail.word = 0;
        tail.bits = 0;
        if (TG_CFG_DSP_CONV_ROWS_9 && win->rest == 1 && quads == 2) {
            /* 9 values a row (3x3 filters on 3 channels): two blocks and a tail value */
            for (fy = win->rows; fy > 0; --fy) {
                dst = tg_dsp_conv_widen(src, 2, dst, off2);
                tg_dsp_conv_tail_put(&tail, src[8], off2);
                src += win->step;
            }
        } else {
#if TG_DSP_CONV_ROWS_ANY
            const int32_t rest = win->rest;
            int32_t k;
            for (fy = win->rows; fy > 0; --fy) {
                dst = tg_dsp_conv_widen(src, quads, dst, off2);
                for (k = 0; k < rest; ++k) {
                    tg_dsp_conv_tail_put(&tail, src[4 * quads + k], off2);
                }
                src += win->step;
            }
#endif
        }
        if (tail.bits) {     /* the last block's missing values: the input zero point */
            tail.word |= win->zp4 << tail.bits;
            tg_dsp_conv_tail_flush(&tail, off2);
        }
    }
#endif
}
#endif /* TG_DSP_CONV_ROWS */

/* The column of the pixel at `at` into dst: tg_dsp_conv_im2col_inside for a window inside
 * the image, else tg_dsp_conv_im2col. */
static TG_DSP_CONV_NOINLINE void tg_dsp_conv_column(const tg_dsp_conv_params_t *p,
                                                   const tg_dsp_conv_win_t *win,
                                                   const tg_dsp_conv_pos_t *at, uint32_t *dst,
                                                   int8_t *stage)
{
    /* (x_max and y_max are negative for a window larger than the image: rows by rows) */
    if (win->inside_ok && at->x0 >= 0 && at->x0 <= win->x_max && at->y0 >= 0 &&
        at->y0 <= win->y_max) {
        const int8_t *const src = at->image + (size_t)at->y0 * win->row_bytes +
                                  (size_t)at->x0 * (size_t)p->input_depth;
#if TG_CFG_DSP_CONV_3X9 && TG_DSP_CONV_ROWS
        if (win->rows3x9) {
            tg_dsp_conv_im2col_3x9(src, win->step, win->off2, win->zp4, dst);
        } else {
            tg_dsp_conv_im2col_inside(win, src, dst);
        }
#elif TG_CFG_DSP_CONV_3X9
        tg_dsp_conv_im2col_3x9(src, win->step, win->off2, win->zp4, dst);
#else
        tg_dsp_conv_im2col_inside(win, src, dst);
#endif
    } else {
        tg_dsp_conv_im2col(p, win->height, at, dst, stage);
    }
}

/*
 * MultiplyByQuantizedMultiplier, the output offset and the clamp.  The generator checks
 * that |acc| * 2^left < 2^30 for every accumulator the layer can produce and that the
 * multiplier m is in [0, 2^31) (codegen/lowering/conv/dsp_im2col.py, requant_fits).  Then:
 * SaturatingRoundingDoublingHighMul(a, m) = floor((a * m + 2^30) / 2^31) (tg_dsp_requant.h)
 * = floor((2a * m + 2^31) / 2^32) = SMMULR(2a, m), with 2a = acc << (left + 1) exact and the
 * saturating case impossible; and RoundingDivideByPOT(h, right), for right >= 1,
 * = (h >> right) + ((h & mask) > mask / 2 + (h < 0)) = (h + 2^(right-1) - (h < 0)) >> right
 * (write h = q 2^right + r: both add 1 to q exactly when r >= 2^(right-1) + (h < 0)), where
 * |h| < 2^30 keeps the sum in range; for right = 0 both are h (rnd = neg = 0).
 */
/* The output offset added and the activation clamp, as two conditional moves (no branch). */
TG_INLINE int8_t tg_dsp_conv_clamp(int32_t r, int32_t offset, int32_t lo, int32_t hi)
{
    r += offset;
    r = r < lo ? lo : r;
    r = r > hi ? hi : r;
    return (int8_t)r;
}

typedef struct {
    int32_t m;
    int32_t left1;      /* max(shift, 0) + 1 */
    int32_t right;      /* max(-shift, 0) */
    int32_t rnd;        /* 2^(right-1), or 0 */
    uint32_t neg;       /* 1 if right > 0 */
} tg_dsp_conv_rq_t;

TG_INLINE tg_dsp_conv_rq_t tg_dsp_conv_rq(int32_t m, int32_t shift)
{
    tg_dsp_conv_rq_t q;
    q.m = m;
    q.left1 = TG_MAX(shift, 0) + 1;
    q.right = q.left1 - 1 - shift;
    q.neg = q.right > 0 ? 1u : 0u;
    q.rnd = (int32_t)((q.neg << q.right) >> 1);
    return q;
}

TG_INLINE int32_t tg_dsp_conv_requantize(uint32_t acc, const tg_dsp_conv_rq_t *q)
{
    const int32_t h = tg_smmulr((int32_t)(acc << q->left1), q->m);
    return (h + q->rnd - (int32_t)(((uint32_t)h >> 31) & q->neg)) >> q->right;
}

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next block's loads (which would spill registers) */
#define TG_DSP_CONV_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_DSP_CONV_BARRIER() ((void)0)
#endif

/*
 * One block: 4 window values of 2 pixels (column words at x, 16 bytes) x 2 channels (w[0..7]).
 * The column is read through byte pointers so that the compiler issues single LDRs (back
 * to back, pipelined) rather than LDRD, which takes longer followed by a load.
 */
TG_INLINE void tg_dsp_conv_block(const int8_t *x, const int8_t *w, uint32_t *a00,
                                 uint32_t *a01, uint32_t *a10, uint32_t *a11)
{
    const uint32_t x0a = tg_read_s8x4(x), x0b = tg_read_s8x4(x + 4);
    const uint32_t x1a = tg_read_s8x4(x + 8), x1b = tg_read_s8x4(x + 12);
    uint32_t ww = tg_read_s8x4(w);
    uint32_t e = tg_sxtb16(ww);
    *a00 = tg_smlad(x0a, e, *a00);
    *a10 = tg_smlad(x1a, e, *a10);
    e = tg_sxtb16_ror8(ww);
    *a00 = tg_smlad(x0b, e, *a00);
    *a10 = tg_smlad(x1b, e, *a10);
    ww = tg_read_s8x4(w + 4);
    e = tg_sxtb16(ww);
    *a01 = tg_smlad(x0a, e, *a01);
    *a11 = tg_smlad(x1a, e, *a11);
    e = tg_sxtb16_ror8(ww);
    *a01 = tg_smlad(x0b, e, *a01);
    *a11 = tg_smlad(x1b, e, *a11);
}

/*
 * The 2 pixels x 2 channels of a pass requantized in place by tg_dsp_requantize_hm
 * (tg_dsp_requant.h) with the quant rows q0 (channel c) and q1 (c + 1): each accumulator
 * becomes its output, saturated to int8, before the activation clamp.
 */
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
#define TG_DSP_CONV_ASM_RQ(A)                                                              \
    "smmlar  %[t], %[" #A "], %[m], %[" #A "]\n\t"                                        \
    "sub     %[" #A "], %[t], %[" #A "], lsr #31\n\t"                                     \
    "add     %[" #A "], %[" #A "], %[half]\n\t"                                           \
    "asr     %[" #A "], %[" #A "], %[s]\n\t"                                              \
    "add     %[" #A "], %[" #A "], %[post]\n\t"                                           \
    "ssat    %[" #A "], #8, %[" #A "]\n\t"
#endif

TG_INLINE void tg_dsp_conv_rq4(uint32_t *a00, uint32_t *a01, uint32_t *a10, uint32_t *a11,
                               const int32_t *q0, const int32_t *q1, int32_t post)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    uint32_t c00 = *a00, c01 = *a01, c10 = *a10, c11 = *a11;
    int32_t m, s, half, t;
    __asm__(
        "ldr     %[m], [%[q0]]\n\t"
        "ldr     %[s], [%[q0], #4]\n\t"
        "ldr     %[half], [%[q0], #8]\n\t"
        TG_DSP_CONV_ASM_RQ(a00)
        TG_DSP_CONV_ASM_RQ(a10)
        "ldr     %[m], [%[q1]]\n\t"
        "ldr     %[s], [%[q1], #4]\n\t"
        "ldr     %[half], [%[q1], #8]\n\t"
        TG_DSP_CONV_ASM_RQ(a01)
        TG_DSP_CONV_ASM_RQ(a11)
        : [m] "=&r"(m), [s] "=&r"(s), [half] "=&r"(half), [t] "=&r"(t),
          [a00] "+r"(c00), [a01] "+r"(c01), [a10] "+r"(c10), [a11] "+r"(c11)
        : [q0] "r"(q0), [q1] "r"(q1), [post] "r"(post)
        : "memory");
    *a00 = c00;
    *a01 = c01;
    *a10 = c10;
    *a11 = c11;
#else
    *a00 = (uint32_t)tg_dsp_requantize_hm(*a00, q0[0], q0[1], (uint32_t)q0[2], post);
    *a10 = (uint32_t)tg_dsp_requantize_hm(*a10, q0[0], q0[1], (uint32_t)q0[2], post);
    *a01 = (uint32_t)tg_dsp_requantize_hm(*a01, q1[0], q1[1], (uint32_t)q1[2], post);
    *a11 = (uint32_t)tg_dsp_requantize_hm(*a11, q1[0], q1[1], (uint32_t)q1[2], post);
#endif
}

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* The same into t, A unchanged, for post = 0. */
#define TG_DSP_CONV_ASM_RQT(A)                                                             \
    "smmlar  %[t], %[" #A "], %[m], %[" #A "]\n\t"                                        \
    "sub     %[t], %[t], %[" #A "], lsr #31\n\t"                                          \
    "add     %[t], %[t], %[half]\n\t"                                                     \
    "asr     %[t], %[t], %[s]\n\t"                                                        \
    "ssat    %[t], #8, %[t]\n\t"

/* The same, stored straight to o0[0..1] and o1[0..1] (layers of the full int8 range whose
 * output offset is folded into half: post = 0). */
TG_INLINE void tg_dsp_conv_rq4_store(uint32_t a00, uint32_t a01, uint32_t a10, uint32_t a11,
                                     const int32_t *q0, const int32_t *q1, int8_t *o0,
                                     int8_t *o1)
{
    int32_t m, s, half, t;
    __asm__ volatile(
        "ldr     %[m], [%[q0]]\n\t"
        "ldr     %[s], [%[q0], #4]\n\t"
        "ldr     %[half], [%[q0], #8]\n\t"
        TG_DSP_CONV_ASM_RQT(a00)
        "strb    %[t], [%[o0]]\n\t"
        TG_DSP_CONV_ASM_RQT(a10)
        "strb    %[t], [%[o1]]\n\t"
        "ldr     %[m], [%[q1]]\n\t"
        "ldr     %[s], [%[q1], #4]\n\t"
        "ldr     %[half], [%[q1], #8]\n\t"
        TG_DSP_CONV_ASM_RQT(a01)
        "strb    %[t], [%[o0], #1]\n\t"
        TG_DSP_CONV_ASM_RQT(a11)
        "strb    %[t], [%[o1], #1]\n\t"
        : [m] "=&r"(m), [s] "=&r"(s), [half] "=&r"(half), [t] "=&r"(t)
        : [a00] "r"(a00), [a01] "r"(a01), [a10] "r"(a10), [a11] "r"(a11), [q0] "r"(q0),
          [q1] "r"(q1), [o0] "r"(o0), [o1] "r"(o1)
        : "memory");
}
#endif

/* The channel pairs of full-range layers (quant rows, post 0) in the Thumb-2 assembly below
 * with GCC on Arm cores with the DSP extension; the C passes everywhere else (and with
 * -DTG_DSP_CONV_NO_ASM, or when no layer of the project takes them: tg_config.h). */
#if TG_ACLE_DSP && defined(__GNUC__) && !defined(__clang__) && defined(__thumb2__) && \
    !defined(TG_DSP_CONV_NO_ASM) && TG_CFG_DSP_CONV_ASM_PAIRS
#define TG_DSP_CONV_ASM 1
#else
#define TG_DSP_CONV_ASM 0
#endif

#if TG_DSP_CONV_ASM
/*
 * Every whole channel group of a pixel pair in one call: the channel triples (2 pixels x 3
 * channels a pass), then the pairs (2 x 2), with the same products (tg_dsp_conv_block3,
 * tg_dsp_conv_block: the sums wrap modulo 2^32 in any order) and requantization
 * (tg_dsp_conv_out, tg_dsp_conv_rq4_store) as the C passes, so the same bits.  The pass's
 * state is in a stack frame, its live values in r0-r12 and lr:
 * - a triple block (27 cycles for 24 MACs): 6 sums r0-r5, column and weight pointers r6,
 *   r7; the two pixels' even pairs (r8, r9) and the three weight words (r10-r12) in one run
 *   of loads, per weight word SXTB16 (into lr) for 2 SMLAD; then the odd pairs' two loads
 *   and SXTB16 ROR #8 of the same weight words; 100 bytes (every instruction 32-bit).
 * - a pair block (19 cycles for 16 MACs): 4 sums r0-r3, pointers r4, r5, the 4 column
 *   words and both weight words in one run of loads, then per weight word SXTB16 and SXTB16
 *   ROR #8 (into r12) for 4 SMLAD; 72 bytes.
 * TG_DSP_CONV_PASS (2..16) blocks a loop pass, ended by comparing the column pointer
 * with the last pass's start (the triples load it in the run of loads of their last block);
 * the first pass skips (-blocks) mod the pass blocks by branching into the body that many
 * blocks in, with both pointers
 * moved back as far, so a first layer's few blocks run without a loop.  Each pass ends
 * with its 6 (4) requantizations (tg_dsp_requantize_hm) and stores.
 *
 * Its argument: 14 words, copied to the stack: 0 the column less 16 bytes a skipped block,
 * 4 the column's last pass (its end less 16 bytes a pass block), 8 weights (advanced), 12
 * biases (advanced), 16 quant rows (advanced), 20 quant step in bytes, 24 pixel 0's output
 * (advanced), 28 pixel 1's output less pixel 0's, 32 channel triples (counted down, >= 0),
 * 36 channel pairs after them (counted down, >= 0; triples + pairs >= 1), 40 12 bytes a
 * skipped block (the triples' weights step back), 44 100 bytes a skipped block + 1 (the
 * triples' entry, a Thumb address, from their body's start), 48 8 bytes a skipped block, 52
 * 72 bytes a skipped block + 1 (the pairs' weights step back and entry); 40-52 unread
 * with TG_CFG_DSP_CONV_WHOLE.
 */
#define TG_DSP_CONV_BLOCK_BYTES 72u
#define TG_DSP_CONV_BLOCK3_BYTES 100u
/* Blocks a loop pass (tg_config.h): the fewest that take no layer more passes than 16-block
 * passes would (8-block ones when no column has more than 16 blocks), give or take one per
 * 48 blocks, so that a first layer's few blocks cost no more code than they run (kws's 10:
 * 5 a pass, 2 passes, 516 bytes less code than 8; codegen/kernel_config.py conv_pass).  Any
 * length from 2 to 16 runs every layer.  (Flags and values are read in C conditions or
 * compound #if's: a bare #if FLAG is one more configuration for cppcheck.) */
#define TG_DSP_CONV_PASS TG_CFG_DSP_CONV_PASS
#if TG_DSP_CONV_PASS < 2 || TG_DSP_CONV_PASS > 16
#error "tg_dsp_conv.c: tg_config.h's TG_CFG_DSP_CONV_PASS must be 2..16 (regenerate it)"
#endif
/* The first pass entered that many blocks in (a computed branch), unless every layer's
 * column is whole passes (tg_config.h TG_CFG_DSP_CONV_WHOLE 1: every pass runs from its
 * start, 9 cycles less a channel group). */
#define TG_DSP_CONV_SKIP (!TG_CFG_DSP_CONV_WHOLE)
#define TG_C_STR_(x) #x
#define TG_C_STR(x) TG_C_STR_(x)        /* a number as assembly text */
void tg_dsp_conv_2x2_thumb2(const uint32_t *frame);

/* one pair block at column byte offset X (r4) and weight byte offset W (r5) */
#define TG_C_BLOCK(X, W)                                                \
    "ldr.w   r6, [r4, #" X "]\n\t"                                      \
    "ldr.w   r7, [r4, #" X "+4]\n\t"                                    \
    "ldr.w   r8, [r4, #" X "+8]\n\t"                                    \
    "ldr.w   r9, [r4, #" X "+12]\n\t"                                   \
    "ldr.w   r10, [r5, #" W "]\n\t"                                     \
    "ldr.w   r11, [r5, #" W "+4]\n\t"                                   \
    "sxtb16  r12, r10\n\t"                                              \
    "smlad   r0, r6, r12, r0\n\t"                                       \
    "smlad   r2, r8, r12, r2\n\t"                                       \
    "sxtb16  r12, r10, ror #8\n\t"                                      \
    "smlad   r0, r7, r12, r0\n\t"                                       \
    "smlad   r2, r9, r12, r2\n\t"                                       \
    "sxtb16  r12, r11\n\t"                                              \
    "smlad   r1, r6, r12, r1\n\t"                                       \
    "smlad   r3, r8, r12, r3\n\t"                                       \
    "sxtb16  r12, r11, ror #8\n\t"                                      \
    "smlad   r1, r7, r12, r1\n\t"                                       \
    "smlad   r3, r9, r12, r3\n\t"

/* one triple block at column byte offset X (r6) and weight byte offset W (r7); MID between
 * the odd pairs' loads and their products */
#define TG_C3_BLOCK_MID(X, W, MID)                                      \
    "ldr.w   r8, [r6, #" X "]\n\t"                                      \
    "ldr.w   r9, [r6, #" X "+8]\n\t"                                    \
    "ldr.w   r10, [r7, #" W "]\n\t"                                     \
    "ldr.w   r11, [r7, #" W "+4]\n\t"                                   \
    "ldr.w   r12, [r7, #" W "+8]\n\t"                                   \
    TG_ASM_2X3_HALF("")                                                 \
    "ldr.w   r8, [r6, #" X "+4]\n\t"                                    \
    "ldr.w   r9, [r6, #" X "+12]\n\t"                                   \
    MID                                                                 \
    TG_ASM_2X3_HALF(", ror #8")

#define TG_C3_BLOCK(X, W) TG_C3_BLOCK_MID(X, W, "")

/* a pair's sum A (m r7, s r8, half r9) */
#define TG_C_OUT(A, DST) TG_DSP_RQ_HM_ASM(A, "r7", "r8", "r9", "", DST)

/* a triple's channel J: its quant row (r6, then advanced by the step r10) and sums A0, A1
 * stored at r7[J] and r8[J] */
#define TG_C3_OUT(J, A0, A1)                                            \
    "ldr     r11, [r6]\n\t"                                             \
    "ldr     r12, [r6, #4]\n\t"                                         \
    "ldr     r9, [r6, #8]\n\t"                                          \
    "add     r6, r6, r10\n\t"                                           \
    TG_DSP_RQ_HM_ASM(A0, "r11", "r12", "r9", "", "[r7, #" J "]")        \
    TG_DSP_RQ_HM_ASM(A1, "r11", "r12", "r9", "", "[r8, #" J "]")

__asm__(
    ".pushsection .text.tg_dsp_conv_2x2_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_conv_2x2_thumb2\n\t"
    ".type   tg_dsp_conv_2x2_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_conv_2x2_thumb2:\n\t"
    "push    {r4-r11, lr}\n\t"
    "ldr     r1, [r0, #52]\n\t"
    "push    {r1}\n\t"
    "ldm     r0, {r1-r12, lr}\n\t"
    "push    {r1-r12, lr}\n\t"
    "cmp     r9, #0\n\t"                    /* word 32: no triple */
    "beq     .Ltg_c_pairs\n"
    ".Ltg_c3_pass:\n\t"
    "ldr     r8, [sp, #12]\n\t"             /* biases */
    "ldr     r6, [sp, #0]\n\t"              /* the column less the skipped blocks */
    "ldr     r7, [sp, #8]\n\t"              /* weights */
#if TG_DSP_CONV_SKIP
    "ldr     r12, [sp, #40]\n\t"
    "ldr     lr, [sp, #44]\n\t"
#endif
    "ldm     r8!, {r0, r1, r2}\n\t"
    "str     r8, [sp, #12]\n\t"
    "mov     r3, r0\n\t"
    "mov     r4, r1\n\t"
    "mov     r5, r2\n\t"
#if TG_DSP_CONV_SKIP
    "sub     r7, r7, r12\n\t"
    "adr     r12, .Ltg_c3_body\n\t"
    "add     r12, r12, lr\n\t"
    "bx      r12\n\t"
    ".p2align 2\n"
#endif
    ".Ltg_c3_body:\n\t"
    TG_C3_BLOCK("0", "0")
    ".Ltg_c3_body1:\n\t"
    /* blocks 1 .. PASS - 2 (.Ltg_c_k: the block), then the last with the loop's test */
    ".set    .Ltg_c_k, 1\n\t"
    ".rept   " TG_C_STR(TG_DSP_CONV_PASS) " - 2\n\t"
    TG_C3_BLOCK("16*.Ltg_c_k", "12*.Ltg_c_k")
    ".set    .Ltg_c_k, .Ltg_c_k + 1\n\t"
    ".endr\n\t"
    TG_C3_BLOCK_MID("16*.Ltg_c_k", "12*.Ltg_c_k", "ldr     lr, [sp, #4]\n\tcmp     r6, lr\n\t")
    "add.w   r6, r6, #16*" TG_C_STR(TG_DSP_CONV_PASS) "\n\t"
    "add.w   r7, r7, #12*" TG_C_STR(TG_DSP_CONV_PASS) "\n\t"
    "bne     .Ltg_c3_body\n\t"
    "str     r7, [sp, #8]\n\t"              /* the next group's weights */
    "ldr     r6, [sp, #16]\n\t"             /* quant rows */
    "ldr     r10, [sp, #20]\n\t"
    "ldr     r7, [sp, #24]\n\t"             /* pixel 0's output */
    "ldr     r8, [sp, #28]\n\t"
    "add     r8, r8, r7\n\t"                /* pixel 1's output */
    TG_C3_OUT("0", "r0", "r3")
    TG_C3_OUT("1", "r1", "r4")
    TG_C3_OUT("2", "r2", "r5")
    "str     r6, [sp, #16]\n\t"
    "add     r7, r7, #3\n\t"
    "str     r7, [sp, #24]\n\t"
    "ldr     r12, [sp, #32]\n\t"
    "subs    r12, r12, #1\n\t"
    "str     r12, [sp, #32]\n\t"
    "bne     .Ltg_c3_pass\n"
    ".Ltg_c_pairs:\n\t"
    "ldr     r12, [sp, #36]\n\t"
    "cmp     r12, #0\n\t"
    "beq     .Ltg_c_done\n\t"
    "ldr     r5, [sp, #8]\n"                /* weights */
    ".Ltg_c_pass:\n\t"
    "ldr     r12, [sp, #12]\n\t"            /* biases */
    "ldm     r12!, {r0, r1}\n\t"
    "str     r12, [sp, #12]\n\t"
    "mov     r2, r0\n\t"
    "mov     r3, r1\n\t"
    "ldr     r4, [sp, #0]\n\t"
    "ldr     lr, [sp, #4]\n\t"
#if TG_DSP_CONV_SKIP
    "ldr     r12, [sp, #48]\n\t"
    "ldr     r6, [sp, #52]\n\t"
    "sub     r5, r5, r12\n\t"
    "adr     r12, .Ltg_c_body\n\t"
    "add     r12, r12, r6\n\t"
    "bx      r12\n\t"
    ".p2align 2\n"
#endif
    ".Ltg_c_body:\n\t"
    TG_C_BLOCK("0", "0")
    ".Ltg_c_body1:\n\t"
    /* blocks 1 .. PASS - 1 */
    ".set    .Ltg_c_k, 1\n\t"
    ".rept   " TG_C_STR(TG_DSP_CONV_PASS) " - 1\n\t"
    TG_C_BLOCK("16*.Ltg_c_k", "8*.Ltg_c_k")
    ".set    .Ltg_c_k, .Ltg_c_k + 1\n\t"
    ".endr\n\t"
    "cmp     r4, lr\n\t"
    "add.w   r4, r4, #16*" TG_C_STR(TG_DSP_CONV_PASS) "\n\t"
    "add.w   r5, r5, #8*" TG_C_STR(TG_DSP_CONV_PASS) "\n\t"
    "bne     .Ltg_c_body\n\t"
    "ldr     r6, [sp, #16]\n\t"             /* quant rows */
    "ldr     r10, [sp, #20]\n\t"
    "ldr     r11, [sp, #24]\n\t"            /* pixel 0's output */
    "ldr     r12, [sp, #28]\n\t"
    "ldr     r7, [r6]\n\t"
    "ldr     r8, [r6, #4]\n\t"
    "ldr     r9, [r6, #8]\n\t"
    "add     r12, r12, r11\n\t"             /* pixel 1's output */
    TG_C_OUT("r0", "[r11]")
    TG_C_OUT("r2", "[r12]")
    "add     r6, r6, r10\n\t"
    "ldr     r7, [r6]\n\t"
    "ldr     r8, [r6, #4]\n\t"
    "ldr     r9, [r6, #8]\n\t"
    TG_C_OUT("r1", "[r11, #1]")
    TG_C_OUT("r3", "[r12, #1]")
    "add     r6, r6, r10\n\t"
    "str     r6, [sp, #16]\n\t"
    "add     r11, r11, #2\n\t"
    "str     r11, [sp, #24]\n\t"
    "ldr     r12, [sp, #36]\n\t"
    "subs    r12, r12, #1\n\t"
    "str     r12, [sp, #36]\n\t"
    "bne     .Ltg_c_pass\n"
    ".Ltg_c_done:\n\t"
    "add     sp, sp, #56\n\t"
    "pop     {r4-r11, pc}\n\t"
    /* the computed entries need blocks of these sizes */
    ".if (.Ltg_c3_body1 - .Ltg_c3_body) - 100\n\t"
    ".error \"tg_dsp_conv_2x2_thumb2: a triple block is not 100 bytes\"\n\t"
    ".endif\n\t"
    ".if (.Ltg_c_body1 - .Ltg_c_body) - 72\n\t"
    ".error \"tg_dsp_conv_2x2_thumb2: a pair block is not 72 bytes\"\n\t"
    ".endif\n\t"
    ".size   tg_dsp_conv_2x2_thumb2, .-tg_dsp_conv_2x2_thumb2\n\t"
    ".popsection");
#endif /* TG_DSP_CONV_ASM */

/* With the assembly, the C channels only when a layer of the project has some for them
 * (tg_config.h). */
#define TG_DSP_CONV_C_CHANNELS (!TG_DSP_CONV_ASM || TG_CFG_DSP_CONV_CHANNELS)

#if TG_DSP_CONV_C_CHANNELS
/* The output channels from `first` (3 triples + an even count: in pairs) of the pixel pair
 * whose columns are at col, into out0 and out1 (the same pixel twice for a last odd one:
 * then out1 == out0, written twice alike). */
static TG_DSP_CONV_NOINLINE void tg_dsp_conv_channels(const tg_dsp_conv_params_t *p,
                                                      const uint32_t *col, int8_t *out0,
                                                      int8_t *out1, int32_t first)
{
    /* everything from p in locals: the int8 stores below may alias it for the compiler */
    const int32_t blocks = p->depth4 >> 2;
    const int32_t channels = p->output_depth;
    const int32_t step = p->per_channel ? 1 : 0;
    const int32_t offset = p->output_offset, lo = p->act_min, hi = p->act_max;
    const int8_t *w = p->weights;
    const int32_t *bias = p->bias;
    const int32_t *mult = p->multiplier;
    const int32_t *shift = p->shift;
    const int32_t *quant = p->quant;
    const int32_t quant_step = p->quant_step, post = p->post;
    const int full = lo == -128 && hi == 127;
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    const int fast = full && post == 0;     /* tg_dsp_conv_rq4_store */
#endif
    int32_t c = first;
    if (c > 0) {            /* (multiplier and shift are NULL with quant rows) */
        w += (size_t)c * (size_t)p->depth4;
        if (quant) {
            quant += c * quant_step;
        } else {
            mult += c * step;
            shift += c * step;
        }
    }
    for (; c < channels; c += 2) {
        uint32_t a00 = (uint32_t)bias[c], a01 = (uint32_t)bias[c + 1];  /* a<pixel><ch> */
        uint32_t a10 = a00, a11 = a01;
        const int8_t *x = (const int8_t *)col;
        tg_dsp_conv_rq_t q;
        int32_t k;
        for (k = blocks >> 2; k > 0; --k) {
            tg_dsp_conv_block(x, w, &a00, &a01, &a10, &a11);
            TG_DSP_CONV_BARRIER();
            tg_dsp_conv_block(x + 16, w + 8, &a00, &a01, &a10, &a11);
            TG_DSP_CONV_BARRIER();
            tg_dsp_conv_block(x + 32, w + 16, &a00, &a01, &a10, &a11);
            TG_DSP_CONV_BARRIER();
            tg_dsp_conv_block(x + 48, w + 24, &a00, &a01, &a10, &a11);
            x += 64;
            w += 32;
        }
        for (k = blocks & 3; k > 0; --k) {
            tg_dsp_conv_block(x, w, &a00, &a01, &a10, &a11);
            x += 16;
            w += 8;
        }
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
        if (quant && fast && c + 1 < channels) {
            tg_dsp_conv_rq4_store(a00, a01, a10, a11, quant, quant + quant_step, out0 + c,
                                  out1 + c);
            quant += 2 * quant_step;
            continue;
        }
#endif
        if (quant) {
            tg_dsp_conv_rq4(&a00, &a01, &a10, &a11, quant, quant + quant_step, post);
            quant += 2 * quant_step;
            if (!full) {
                a00 = (uint32_t)tg_clamp((int32_t)a00, lo, hi);
                a01 = (uint32_t)tg_clamp((int32_t)a01, lo, hi);
                a10 = (uint32_t)tg_clamp((int32_t)a10, lo, hi);
                a11 = (uint32_t)tg_clamp((int32_t)a11, lo, hi);
            }
            out0[c] = (int8_t)a00;
            out1[c] = (int8_t)a10;
            if (c + 1 < channels) {
                out0[c + 1] = (int8_t)a01;
                out1[c + 1] = (int8_t)a11;
            }
            continue;
        }
        q = tg_dsp_conv_rq(mult[0], shift[0]);
        out0[c] = tg_dsp_conv_clamp(tg_dsp_conv_requantize(a00, &q), offset, lo, hi);
        out1[c] = tg_dsp_conv_clamp(tg_dsp_conv_requantize(a10, &q), offset, lo, hi);
        mult += step;
        shift += step;
        if (c + 1 < channels) {
            q = tg_dsp_conv_rq(mult[0], shift[0]);
            out0[c + 1] = tg_dsp_conv_clamp(tg_dsp_conv_requantize(a01, &q), offset, lo, hi);
            out1[c + 1] = tg_dsp_conv_clamp(tg_dsp_conv_requantize(a11, &q), offset, lo, hi);
        }
        mult += step;
        shift += step;
    }
}
#endif /* TG_DSP_CONV_C_CHANNELS */

/* The C twin of the assembly's triples: only layers the assembly would run have triples
 * (kernel_config.conv_asm_pairs counts them), so only with TG_CFG_DSP_CONV_ASM_PAIRS. */
#define TG_DSP_CONV_C_TRIPLES (!TG_DSP_CONV_ASM && TG_CFG_DSP_CONV_ASM_PAIRS)

#if TG_DSP_CONV_C_TRIPLES
/* Accumulator a of channel c requantized (its quant row, or its multiplier and shift),
 * offset and clamped: the output tg_dsp_conv_channels gives it. */
static int8_t tg_dsp_conv_out(const tg_dsp_conv_params_t *p, uint32_t a, int32_t c)
{
    if (p->quant != NULL) {
        const int32_t *q = p->quant + c * p->quant_step;
        return (int8_t)tg_clamp(tg_dsp_requantize_hm(a, q[0], q[1], (uint32_t)q[2], p->post),
                                p->act_min, p->act_max);
    } else {
        const int32_t k = p->per_channel ? c : 0;
        const tg_dsp_conv_rq_t q = tg_dsp_conv_rq(p->multiplier[k], p->shift[k]);
        return tg_dsp_conv_clamp(tg_dsp_conv_requantize(a, &q), p->output_offset, p->act_min,
                                 p->act_max);
    }
}

/* One block of 2 pixels x 3 channels: 4 window values of both pixels (column words at x)
 * times the triple's 4-weight words w[0..3], w[4..7], w[8..11]; a[j] pixel 0's sum of
 * channel j, a[3 + j] pixel 1's. */
TG_INLINE void tg_dsp_conv_block3(const int8_t *x, const int8_t *w, uint32_t *a)
{
    const uint32_t x0a = tg_read_s8x4(x), x0b = tg_read_s8x4(x + 4);
    const uint32_t x1a = tg_read_s8x4(x + 8), x1b = tg_read_s8x4(x + 12);
    int32_t j;
    for (j = 0; j < 3; ++j) {
        const uint32_t ww = tg_read_s8x4(w + 4 * j);
        uint32_t e = tg_sxtb16(ww);
        a[j] = tg_smlad(x0a, e, a[j]);
        a[3 + j] = tg_smlad(x1a, e, a[3 + j]);
        e = tg_sxtb16_ror8(ww);
        a[j] = tg_smlad(x0b, e, a[j]);
        a[3 + j] = tg_smlad(x1b, e, a[3 + j]);
    }
}

/* The channel triples (channels 0 .. 3 triples - 1) of the pixel pair whose columns are at
 * col, into out0 and out1: the C twin of tg_dsp_conv_2x2_thumb2's triples (the generator
 * makes triples only for the layers the assembly runs, so builds with the assembly leave
 * it out; any requantization works here). */
static TG_DSP_CONV_NOINLINE void tg_dsp_conv_triples(const tg_dsp_conv_params_t *p,
                                                     const uint32_t *col, int8_t *out0,
                                                     int8_t *out1)
{
    const int32_t blocks = p->depth4 >> 2;
    const int8_t *w = p->weights;
    int32_t c, j, k;
    for (c = 0; c < 3 * p->triples; c += 3) {
        uint32_t a[6];
        const int8_t *x = (const int8_t *)col;
        for (j = 0; j < 3; ++j) {
            a[j] = (uint32_t)p->bias[c + j];
            a[3 + j] = a[j];
        }
        for (k = blocks; k > 0; --k) {
            tg_dsp_conv_block3(x, w, a);
            x += 16;
            w += 12;
        }
        for (j = 0; j < 3; ++j) {
            out0[c + j] = tg_dsp_conv_out(p, a[j], c + j);
            out1[c + j] = tg_dsp_conv_out(p, a[3 + j], c + j);
        }
    }
}
#endif

/* The next output pixel (row by row, image by image). */
static void tg_dsp_conv_next(const tg_dsp_conv_params_t *p, const tg_dsp_conv_win_t *win,
                             tg_dsp_conv_pos_t *at, int32_t *ox)
{
    at->x0 += p->stride_width;
    if (++*ox == p->output_width) {
        *ox = 0;
        at->x0 = -p->pad_left;
        at->y0 += p->stride_height;
        if (at->y0 == p->output_height * p->stride_height - win->pad_top) {
            at->y0 = -win->pad_top;
            at->image += (size_t)win->height * (size_t)p->input_width *
                         (size_t)p->input_depth;
        }
    }
}

void tg_dsp_conv_s8(const tg_dsp_conv_params_t *p, const int8_t *input, int8_t *output,
                    void *scratch)
{
    tg_dsp_conv_rows_s8(p, p->input_height, p->pad_top, input, output, scratch);
}

/* The pixel loop; output pixels out_stride bytes apart (output_depth, or the whole layer's
 * depth for tg_dsp_conv_slice_s8's block of its channels).  (Inlined into its one
 * caller without TG_CFG_DSP_CONV_SLICE.) */
#if TG_CFG_DSP_CONV_SLICE
#define TG_DSP_CONV_RUN static void
#define TG_DSP_CONV_OUT_STRIDE out_stride
#else       /* (read where used: the loop's code as it was before the slices) */
#define TG_DSP_CONV_RUN TG_INLINE void
#define TG_DSP_CONV_OUT_STRIDE ((void)out_stride, (size_t)p->output_depth)
#endif

TG_DSP_CONV_RUN tg_dsp_conv_run(const tg_dsp_conv_params_t *p, int32_t input_height,
                                int32_t pad_top, const int8_t *input, int8_t *output,
                                size_t out_stride, void *scratch)
{
    uint32_t *col = (uint32_t *)scratch;
    int8_t *stage = (int8_t *)(col + p->depth4);
    const int32_t pixels = p->batches * p->output_height * p->output_width;
    tg_dsp_conv_pos_t at;
    tg_dsp_conv_win_t win;
    int32_t n, ox = 0;
    int32_t first = 0;      /* the channels before it in the assembly */
#if TG_DSP_CONV_ASM
    uint32_t f[14];         /* tg_dsp_conv_2x2_thumb2's argument */
    const int asm_pairs = p->quant != NULL && p->act_min == -128 && p->act_max == 127 &&
                          p->post == 0 && p->output_depth >= 2;
    if (asm_pairs) {
        const int32_t blocks = p->depth4 >> 2;
        const int32_t skip = TG_DSP_CONV_SKIP ? TG_DSP_CONV_PASS - 1 -
            (int32_t)((uint32_t)(blocks - 1) % TG_DSP_CONV_PASS) : 0;
        const int32_t pairs = (p->output_depth - 3 * p->triples) >> 1;
        f[0] = (uint32_t)(uintptr_t)col - 16u * (uint32_t)skip;
        f[1] = (uint32_t)(uintptr_t)(col + 4 * blocks) - 16u * TG_DSP_CONV_PASS;
        f[2] = (uint32_t)(uintptr_t)p->weights;
        f[3] = (uint32_t)(uintptr_t)p->bias;
        f[4] = (uint32_t)(uintptr_t)p->quant;
        f[5] = 4u * (uint32_t)p->quant_step;
        f[8] = (uint32_t)p->triples;
        f[9] = (uint32_t)pairs;
#if TG_DSP_CONV_SKIP
        f[10] = 12u * (uint32_t)skip;
        f[11] = TG_DSP_CONV_BLOCK3_BYTES * (uint32_t)skip + 1u;
        f[12] = 8u * (uint32_t)skip;
        f[13] = TG_DSP_CONV_BLOCK_BYTES * (uint32_t)skip + 1u;
#else
        f[10] = f[11] = f[12] = f[13] = 0u;     /* (unread) */
#endif
        first = 3 * p->triples + 2 * pairs;
    }
#endif
    tg_dsp_conv_win(p, input_height, pad_top, &win);
    at.image = input;
    at.y0 = -pad_top;
    at.x0 = -p->pad_left;
    for (n = 0; n < pixels; n += 2) {
        const int two = n + 1 < pixels;
        if (two && ox + 1 < p->output_width && win.inside_ok && at.y0 >= 0 &&
            at.y0 <= win.y_max && at.x0 >= 0 && at.x0 + p->stride_width <= win.x_max) {
            /* both windows inside the image, on one output row: one address */
            const int8_t *const src = at.image + (size_t)at.y0 * win.row_bytes +
                                      (size_t)at.x0 * (size_t)p->input_depth;
            const size_t dx = (size_t)p->stride_width * (size_t)p->input_depth;
#if TG_CFG_DSP_CONV_3X9 && TG_DSP_CONV_ROWS
            if (win.rows3x9) {
                tg_dsp_conv_im2col_3x9(src, win.step, win.off2, win.zp4, col);
                tg_dsp_conv_im2col_3x9(src + dx, win.step, win.off2, win.zp4, col + 2);
            } else {
                tg_dsp_conv_im2col_inside(&win, src, col);
                tg_dsp_conv_im2col_inside(&win, src + dx, col + 2);
            }
#elif TG_CFG_DSP_CONV_3X9
            tg_dsp_conv_im2col_3x9(src, win.step, win.off2, win.zp4, col);
            tg_dsp_conv_im2col_3x9(src + dx, win.step, win.off2, win.zp4, col + 2);
#else
            tg_dsp_conv_im2col_inside(&win, src, col);
            tg_dsp_conv_im2col_inside(&win, src + dx, col + 2);
#endif
            at.x0 += p->stride_width;
            ++ox;
        } else {
            tg_dsp_conv_column(p, &win, &at, col, stage);
            if (two) {
                tg_dsp_conv_next(p, &win, &at, &ox);
            }
            /* a last odd pixel fills both slots */
            tg_dsp_conv_column(p, &win, &at, col + 2, stage);
        }
        tg_dsp_conv_next(p, &win, &at, &ox);
        {
            int8_t *const out0 = output + (size_t)n * TG_DSP_CONV_OUT_STRIDE;
            int8_t *const out1 = output + (size_t)(two ? n + 1 : n) * TG_DSP_CONV_OUT_STRIDE;
            int32_t c = first;
#if TG_DSP_CONV_ASM
            if (asm_pairs) {
                f[6] = (uint32_t)(uintptr_t)out0;
                f[7] = (uint32_t)(out1 - out0);
                tg_dsp_conv_2x2_thumb2(f);
            }
#endif
#if TG_DSP_CONV_C_TRIPLES
            if (c < 3 * p->triples) {           /* the C twin of the assembly's triples */
                tg_dsp_conv_triples(p, col, out0, out1);
                c = 3 * p->triples;
            }
#endif
#if TG_DSP_CONV_C_CHANNELS
            if (c < p->output_depth) {
                tg_dsp_conv_channels(p, col, out0, out1, c);
            }
#else
            (void)c;
#endif
        }
    }
}

void tg_dsp_conv_rows_s8(const tg_dsp_conv_params_t *p, int32_t input_height, int32_t pad_top,
                         const int8_t *input, int8_t *output, void *scratch)
{
    tg_dsp_conv_run(p, input_height, pad_top, input, output, (size_t)p->output_depth,
                    scratch);
}

#if TG_CFG_DSP_CONV_SLICE
void tg_dsp_conv_slice_s8(const tg_dsp_conv_params_t *p, int32_t out_stride,
                          const int8_t *input, int8_t *output, void *scratch)
{
    tg_dsp_conv_run(p, p->input_height, p->pad_top, input, output, (size_t)out_stride,
                    scratch);
}
#endif
