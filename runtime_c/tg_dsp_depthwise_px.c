/*
 * tg_dsp_depthwise_px.c - int8 depthwise convolution of small images with the DSP
 * extension (tg_dsp_depthwise_px.h).
 *
 * Same arithmetic as TFLite's reference DepthwiseConv: for each output value the bias plus
 * the sum over the filter taps of filter * (input + input_offset), taps in the padding
 * contributing nothing (zeros in the plane), then MultiplyByQuantizedMultiplier, the
 * output offset and the activation clamp.  Channels 0 and 2 of a group of four share a
 * word of int16 lanes, 1 and 3 another (SXTAB16 adds the input offset to both lanes), so
 * SMLABB/SMLATT multiply each channel's value by its own filter lane.  Requantization as
 * in tg_dsp_depthwise.c: the filter and bias scaled by 2^L (L = left shift + 1) make the
 * accumulator 2^L * acc, and SMMLAR(2^L * acc, multiplier, add) is
 * SaturatingRoundingDoublingHighMul plus the rounding add; RoundingDivideByPOT's
 * [h < 0] may be read as [acc < 0] (tg_dsp_requant.h, tg_dsp_requantize_hm, point 3).
 * On Thumb-2 cores built with GCC, 3x3 filters with the whole int8 range run their pixels in
 * assembly (tg_dsp_dw_px3_thumb2; the C stays its twin on the host, with other compilers and
 * with -DTG_DSP_DW_NO_ASM).
 */
#include "tg_dsp_depthwise_px.h"

#include <stddef.h>

#include "tg_acle.h"
#include "tg_bytes.h"       /* fills without the C library's memset */
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_DW_PX_*) */

#if !(TG_CFG_DSP_DW_PX_FULL || TG_CFG_DSP_DW_PX_CLAMP)
#error "tg_config.h compiles out every path of tg_dsp_depthwise_px_s8: generate it again"
#endif

/* 3x3 filters with the whole int8 range in Thumb-2 assembly (tg_dsp_dw_px3_thumb2) with GCC
 * on Arm cores with the DSP extension; the C everywhere else (and with -DTG_DSP_DW_NO_ASM). */
#if TG_ACLE_DSP && defined(__GNUC__) && !defined(__clang__) && defined(__thumb2__) && \
    !defined(TG_DSP_DW_NO_ASM)
#define TG_DSP_DW_PX_ASM 1
#else
#define TG_DSP_DW_PX_ASM 0
#endif

/* Requantization of one channel from its [multiplier, add, right shift, mask] (mask -1
 * when the right shift is >= 1, else 0): floor((h + add - [acc < 0] * mask) / 2^r) with
 * h + add from SMMLAR; then the int8 range, and [lo, hi] unless `full`. */
TG_INLINE int8_t tg_dsp_dw_px_rq(uint32_t acc, const int32_t *k, int32_t lo, int32_t hi,
                                 int full)
{
    const uint32_t neg = (0u - (acc >> 31)) & (uint32_t)k[3];
    int32_t v = tg_ssat8((int32_t)((uint32_t)tg_smmlar((int32_t)acc, k[0], k[1]) + neg) >>
                         k[2]);
    if (!full) {
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
    }
    return (int8_t)v;
}

/* Two int16 lanes (lo in bits 0-15). */
TG_INLINE uint32_t tg_dsp_dw_px_lanes(int32_t lo, int32_t hi)
{
    return ((uint32_t)lo & 0xFFFFu) | ((uint32_t)hi << 16);
}

/* One tap: the plane's two words at x against the filter's two words at w. */
#define TG_DSP_DW_PX_TAP(x, w) do { \
        const uint32_t ie_ = (x)[0], io_ = (x)[1], we_ = (w)[0], wo_ = (w)[1]; \
        acc0 = tg_smlabb(ie_, we_, acc0); \
        acc2 = tg_smlatt(ie_, we_, acc2); \
        acc1 = tg_smlabb(io_, wo_, acc1); \
        acc3 = tg_smlatt(io_, wo_, acc3); \
    } while (0)

/* Four channels' requantization, prepared once: [4 biases * 2^L][per channel: multiplier,
 * 2^(r-1) + output_offset * 2^r (output_offset when r = 0), r, -1 when r >= 1 else 0]
 * [4 L], with L = max(shift, 0) + 1 and r = max(-shift, 0). */
TG_INLINE void tg_dsp_dw_px_quant(const tg_dsp_depthwise_px_params_t *p, int32_t c, int32_t *k)
{
    int32_t j;
    for (j = 0; j < 4; ++j) {
        const int32_t shift = p->shift[c + j];
        const int32_t r = shift > 0 ? 0 : -shift, l = (shift > 0 ? shift : 0) + 1;
        k[j] = p->bias ? (int32_t)((uint32_t)p->bias[c + j] << l) : 0;
        k[4 + 4 * j] = p->multiplier[c + j];
        k[5 + 4 * j] = (int32_t)((r > 0 ? 1u << (r - 1) : 0u) +
                                 ((uint32_t)p->output_offset << r));
        k[6 + 4 * j] = r;
        k[7 + 4 * j] = r > 0 ? -1 : 0;
        k[20 + j] = l;
    }
}

/* The four channels' outputs at every pixel (`out` at channel 0 of the four). */
TG_INLINE void tg_dsp_dw_px_block(const tg_dsp_depthwise_px_params_t *p,
                                  const uint32_t *plane, int32_t plane_w,
                                  const uint32_t *wc, const int32_t *qc, int8_t *out,
                                  int full)
{
    const int32_t fh = p->filter_h, fw = p->filter_w, depth = p->depth;
    const int32_t lo = p->act_min, hi = p->act_max;
    const size_t down = 2u * (size_t)plane_w * (size_t)p->stride_h;   /* words */
    const size_t along = 2u * (size_t)p->stride_w, line = 2u * (size_t)plane_w;
    /* (the whole range's 3x3 filters run in the assembly when there is one) */
    const int three = fh == 3 && fw == 3 && !(TG_DSP_DW_PX_ASM && full);
    int32_t oy, ox, ky, kx;
    for (oy = 0; oy < p->out_h; ++oy, plane += down) {
        const uint32_t *x = plane;
        for (ox = 0; ox < p->out_w; ++ox, x += along, out += depth) {
            uint32_t acc0 = (uint32_t)qc[0], acc1 = (uint32_t)qc[1];
            uint32_t acc2 = (uint32_t)qc[2], acc3 = (uint32_t)qc[3];
            if (three) {
                const uint32_t *x1 = x + line, *x2 = x1 + line;
                TG_DSP_DW_PX_TAP(x, wc);
                TG_DSP_DW_PX_TAP(x + 2, wc + 2);
                TG_DSP_DW_PX_TAP(x + 4, wc + 4);
                TG_DSP_DW_PX_TAP(x1, wc + 6);
                TG_DSP_DW_PX_TAP(x1 + 2, wc + 8);
                TG_DSP_DW_PX_TAP(x1 + 4, wc + 10);
                TG_DSP_DW_PX_TAP(x2, wc + 12);
                TG_DSP_DW_PX_TAP(x2 + 2, wc + 14);
                TG_DSP_DW_PX_TAP(x2 + 4, wc + 16);
            } else {
                const uint32_t *w = wc;
                for (ky = 0; ky < fh; ++ky) {
                    const uint32_t *xk = x + (size_t)ky * line;
                    for (kx = 0; kx < fw; ++kx, xk += 2, w += 2) {
                        TG_DSP_DW_PX_TAP(xk, w);
                    }
                }
            }
            out[0] = tg_dsp_dw_px_rq(acc0, qc + 4, lo, hi, full);
            out[1] = tg_dsp_dw_px_rq(acc1, qc + 8, lo, hi, full);
            out[2] = tg_dsp_dw_px_rq(acc2, qc + 12, lo, hi, full);
            out[3] = tg_dsp_dw_px_rq(acc3, qc + 16, lo, hi, full);
        }
    }
}

/* The block loops in functions of their own (inlined into the driver, their registers
 * spill: measured slower), one for each activation case. */
#define TG_DSP_DW_PX_OWN TG_NOINLINE


#if TG_DSP_DW_PX_ASM && TG_CFG_DSP_DW_PX_FULL
/* What tg_dsp_dw_px3_thumb2 reads (32-bit words; the layout checked below). */
typedef struct {
    const uint32_t *wc;     /* the widened filter: 9 taps of 2 words */
    const int32_t *qc;      /* tg_dsp_dw_px_quant's constants */
    int8_t *out;            /* channel 0 of the four at the first pixel */
    int32_t out_h;
    int32_t out_w;
    int32_t depth;          /* bytes from one output pixel to the next */
    int32_t along;          /* plane bytes from one output pixel to the next */
    int32_t line;           /* plane bytes from one plane row to the next */
    int32_t down;           /* plane bytes from one output row to the next */
} tg_dsp_dw_px3_t;

typedef char tg_dsp_dw_px3_layout[(sizeof(void *) == 4 &&
                                   offsetof(tg_dsp_dw_px3_t, out) == 8 &&
                                   offsetof(tg_dsp_dw_px3_t, down) == 32) ? 1 : -1];

/*
 * tg_dsp_dw_px_block for a 3x3 filter and the whole int8 range (full): the same sums (r2-r5
 * the four channels' accumulators, from their biases), the same requantization and the
 * same stores in the same order.  r0 the pixel's plane words, r1 the filter (two words a
 * tap, post-incremented), r12 the tap row, r10 the output, r11 the plane's row bytes, lr
 * the pixels left in the row.  The stack: 0 wc, 4 qc, 8 qc + 4 words (the per-channel
 * [multiplier, add, r, mask]), 12 depth, 16 along, 20 down - out_w * along, 24 out_w,
 * 28 the output rows left.
 */
void tg_dsp_dw_px3_thumb2(const uint32_t *plane, const tg_dsp_dw_px3_t *a);

/* One tap: the plane's words at BASE + OFF against the filter's next two words. */
#define TG_DW_PX3_TAP(BASE, OFF)                                        \
    "ldrd    r6, r7, [" BASE ", #" OFF "]\n\t"                          \
    "ldrd    r8, r9, [r1], #8\n\t"                                      \
    "smlabb  r2, r6, r8, r2\n\t"                                        \
    "smlatt  r4, r6, r8, r4\n\t"                                        \
    "smlabb  r3, r7, r9, r3\n\t"                                        \
    "smlatt  r5, r7, r9, r5\n\t"

/* Channel C's output from its accumulator ACC and its constants at r12 (which moves on). */
#define TG_DW_PX3_RQ(ACC, C)                                            \
    "ldm     r12!, {r6-r9}\n\t"                                         \
    "and     r9, r9, " ACC ", asr #31\n\t"                              \
    "smmlar  " ACC ", " ACC ", r6, r7\n\t"                              \
    "add     " ACC ", " ACC ", r9\n\t"                                  \
    "asr     " ACC ", " ACC ", r8\n\t"                                  \
    "ssat    " ACC ", #8, " ACC "\n\t"                                  \
    "strb    " ACC ", [r10, #" C "]\n\t"

__asm__(
    ".pushsection .text.tg_dsp_dw_px3_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_dw_px3_thumb2\n\t"
    ".type   tg_dsp_dw_px3_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_dw_px3_thumb2:\n\t"
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #32\n\t"
    "ldr     r2, [r1]\n\t"                      /* wc */
    "str     r2, [sp]\n\t"
    "ldr     r2, [r1, #4]\n\t"                  /* qc */
    "str     r2, [sp, #4]\n\t"
    "add     r2, r2, #16\n\t"
    "str     r2, [sp, #8]\n\t"
    "ldr     r10, [r1, #8]\n\t"                 /* out */
    "ldr     r2, [r1, #12]\n\t"                 /* out_h */
    "str     r2, [sp, #28]\n\t"
    "ldr     r3, [r1, #16]\n\t"                 /* out_w */
    "str     r3, [sp, #24]\n\t"
    "ldr     r4, [r1, #20]\n\t"                 /* depth */
    "str     r4, [sp, #12]\n\t"
    "ldr     r5, [r1, #24]\n\t"                 /* along */
    "str     r5, [sp, #16]\n\t"
    "ldr     r11, [r1, #28]\n\t"                /* line */
    "ldr     r6, [r1, #32]\n\t"                 /* down */
    "mul     r7, r3, r5\n\t"
    "sub     r6, r6, r7\n\t"
    "str     r6, [sp, #20]\n"
    "1:\n\t"                                    /* an output row */
    "ldr     lr, [sp, #24]\n"
    "2:\n\t"                                    /* an output pixel */
    "ldr     r12, [sp, #4]\n\t"
    "ldr     r1, [sp]\n\t"
    "ldm     r12, {r2-r5}\n\t"                  /* the biases */
    TG_DW_PX3_TAP("r0", "0")
    TG_DW_PX3_TAP("r0", "8")
    TG_DW_PX3_TAP("r0", "16")
    "add     r12, r0, r11\n\t"
    TG_DW_PX3_TAP("r12", "0")
    TG_DW_PX3_TAP("r12", "8")
    TG_DW_PX3_TAP("r12", "16")
    "add     r12, r12, r11\n\t"
    TG_DW_PX3_TAP("r12", "0")
    TG_DW_PX3_TAP("r12", "8")
    TG_DW_PX3_TAP("r12", "16")
    "ldr     r12, [sp, #8]\n\t"
    TG_DW_PX3_RQ("r2", "0")
    TG_DW_PX3_RQ("r3", "1")
    TG_DW_PX3_RQ("r4", "2")
    TG_DW_PX3_RQ("r5", "3")
    "ldrd    r6, r7, [sp, #12]\n\t"             /* depth, along */
    "add     r10, r10, r6\n\t"
    "add     r0, r0, r7\n\t"
    "subs    lr, lr, #1\n\t"
    "bne     2b\n\t"
    "ldr     r6, [sp, #20]\n\t"
    "add     r0, r0, r6\n\t"
    "ldr     r6, [sp, #28]\n\t"
    "subs    r6, r6, #1\n\t"
    "str     r6, [sp, #28]\n\t"
    "bne     1b\n\t"
    "add     sp, sp, #32\n\t"
    "pop     {r4-r11, pc}\n\t"
    ".size   tg_dsp_dw_px3_thumb2, .-tg_dsp_dw_px3_thumb2\n\t"
    ".popsection\n");
#endif

#if TG_CFG_DSP_DW_PX_FULL
#if !TG_DSP_DW_PX_ASM || TG_CFG_DSP_DW_PX_FULL_C
TG_DSP_DW_PX_OWN        /* (only the assembly's call: inlined) */
#endif
static void tg_dsp_dw_px_full(const tg_dsp_depthwise_px_params_t *p, const uint32_t *plane,
                              int32_t plane_w, const uint32_t *wc, const int32_t *qc,
                              int8_t *out)
{
#if TG_DSP_DW_PX_ASM
    if (p->filter_h == 3 && p->filter_w == 3) {
        tg_dsp_dw_px3_t a;
        a.wc = wc;
        a.qc = qc;
        a.out = out;
        a.out_h = p->out_h;
        a.out_w = p->out_w;
        a.depth = p->depth;
        a.along = 8 * p->stride_w;
        a.line = 8 * plane_w;
        a.down = 8 * plane_w * p->stride_h;
        tg_dsp_dw_px3_thumb2(plane, &a);
        return;
    }
#endif
#if !TG_DSP_DW_PX_ASM || TG_CFG_DSP_DW_PX_FULL_C
    tg_dsp_dw_px_block(p, plane, plane_w, wc, qc, out, 1);
#endif
}
#endif

#if TG_CFG_DSP_DW_PX_CLAMP
TG_DSP_DW_PX_OWN
static void tg_dsp_dw_px_clamp(const tg_dsp_depthwise_px_params_t *p, const uint32_t *plane,
                               int32_t plane_w, const uint32_t *wc, const int32_t *qc,
                               int8_t *out)
{
    tg_dsp_dw_px_block(p, plane, plane_w, wc, qc, out, 0);
}
#endif

void tg_dsp_depthwise_px_s8(const tg_dsp_depthwise_px_params_t *p, const int8_t *input,
                            int8_t *output, void *scratch)
{
    const int32_t depth = p->depth, taps = p->filter_h * p->filter_w;
    const int32_t plane_h = (p->out_h - 1) * p->stride_h + p->filter_h;
    const int32_t plane_w = (p->out_w - 1) * p->stride_w + p->filter_w;
    /* the image's rows and columns that some tap reads */
    const int32_t rows = TG_MIN(p->in_h, plane_h - p->pad_top);
    const int32_t cols = TG_MIN(p->in_w, plane_w - p->pad_left);
    const int full = p->act_min == -128 && p->act_max == 127;
    const size_t in_image = (size_t)p->in_h * (size_t)p->in_w * (size_t)depth;
    const size_t out_image = (size_t)p->out_h * (size_t)p->out_w * (size_t)depth;
    const uint32_t off2 = ((uint32_t)p->input_offset & 0xFFFFu) * 0x10001u;
    uint32_t *const plane = (uint32_t *)scratch;
    uint32_t *const wc = plane + (size_t)plane_h * (size_t)plane_w * 2u;
    int32_t b, c, iy, ix;
    /* the padding stays zero: the gathers write only the image's pixels */
    tg_bytes_fill(plane, 0, (size_t)plane_h * (size_t)plane_w * 2u * sizeof *plane);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * in_image;
        int8_t *out = output + (size_t)b * out_image;
        for (c = 0; c < depth; c += 4) {
            int32_t qc[24];
            tg_dsp_dw_px_quant(p, c, qc);
            /* the four channels' filter as int16 lanes scaled by 2^L: (0, 2), (1, 3);
             * |filter| * 2^L < 2^15 (the lowering checks it) */
            const uint32_t s02 = tg_dsp_dw_px_lanes(1 << qc[20], 1 << qc[22]);
            const uint32_t s13 = tg_dsp_dw_px_lanes(1 << qc[21], 1 << qc[23]);
            const int8_t *f = p->filter + c;
            int32_t t;
            for (t = 0; t < taps; ++t, f += depth) {
                const uint32_t w = tg_read_s8x4(f);
                const uint32_t e = tg_sxtb16(w), o = tg_sxtb16_ror8(w);
                wc[2 * t] = tg_pkhbt16(tg_smlabb(e, s02, 0), tg_smlatt(e, s02, 0));
                wc[2 * t + 1] = tg_pkhbt16(tg_smlabb(o, s13, 0), tg_smlatt(o, s13, 0));
            }
            /* all the four channels' input before any of their outputs (in place) */
            for (iy = 0; iy < rows; ++iy) {
                const int8_t *src = image + ((size_t)iy * (size_t)p->in_w) * (size_t)depth +
                                    (size_t)c;
                uint32_t *dst = plane + 2u * ((size_t)(iy + p->pad_top) * (size_t)plane_w +
                                              (size_t)p->pad_left);
                for (ix = 0; ix < cols; ++ix, src += depth, dst += 2) {
                    const uint32_t in = tg_read_s8x4(src);
                    dst[0] = tg_sxtab16(off2, in);
                    dst[1] = tg_sxtab16_ror8(off2, in);
                }
            }
#if TG_CFG_DSP_DW_PX_FULL && TG_CFG_DSP_DW_PX_CLAMP
            if (full) {
                tg_dsp_dw_px_full(p, plane, plane_w, wc, qc, out + c);
            } else {
                tg_dsp_dw_px_clamp(p, plane, plane_w, wc, qc, out + c);
            }
#elif TG_CFG_DSP_DW_PX_FULL
            (void)full;
            tg_dsp_dw_px_full(p, plane, plane_w, wc, qc, out + c);
#else
            (void)full;
            tg_dsp_dw_px_clamp(p, plane, plane_w, wc, qc, out + c);
#endif
        }
    }
}
