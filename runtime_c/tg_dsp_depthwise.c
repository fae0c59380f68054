/*
 * tg_dsp_depthwise.c - int8 depthwise convolution with the DSP extension (tg_dsp_depthwise.h).
 *
 * Same arithmetic as TFLite's reference DepthwiseConv: for each output value, the bias
 * plus the sum over the filter taps of filter * (input + input_offset), taps in the
 * padding contributing nothing, then MultiplyByQuantizedMultiplier, the output offset and
 * the activation clamp.
 *
 * One output channel at a time, one output line (an image row, or a column when the
 * lowering transposed the layer for longer lines) after the other.  The input lines of
 * its input channel are gathered into a ring of band_lines int16 lines (the band, at least
 * filter_lines; output lines whose band lines follow each other in it run in one pass)
 * holding input + input_offset, with zeros in the padding columns and for lines outside
 * the image: a padded tap then adds 0, exactly as the reference skips it, so no pixel
 * needs a bounds check.  In a band line the taps of one filter line are neighbours, so one
 * word holds two of them and SMLAD multiplies and adds both against two filter values
 * prepared (as int16 pairs) once per channel.
 *
 * Requantization: the filter and bias are scaled by 2^L, L = left shift + 1 (the lowering
 * checks |accumulator| * 2^L < 2^30 and |filter| * 2^L < 2^15), so the accumulator is
 * 2^L * acc exactly and SMMULR(2^L * acc, multiplier) = floor((2^left * acc * multiplier
 * + 2^30) / 2^31), which is SaturatingRoundingDoublingHighMul (tg_dsp_requant.h shows
 * both of its roundings are that floor; it cannot saturate here).  RoundingDivideByPOT by
 * r >= 1 is (h + 2^(r-1) - (h < 0)) >> r; the output offset is added before the shift as
 * output_offset * 2^r (the lowering checks that nothing overflows).
 *
 * On Thumb-2 cores built with GCC the 3x3 walks (tg_dsp_dw_3x3_thumb2, strides 1 and 2)
 * and the 4-channel gathering (tg_dsp_dw_fill4_thumb2)
 * run in assembly: the same arithmetic, the
 * same loads and stores in the same order (the C stays their twin on the host, with other
 * compilers and with -DTG_DSP_DW_NO_ASM).
 */
#include "tg_dsp_depthwise.h"

#include <stddef.h>

#include "tg_acle.h"
#include "tg_bytes.h"       /* fills without the C library's memset */
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_DW_*) */

/* tg_config.h's flags under names of this file: cppcheck checks each combination of the
 * symbols an #if tests that the file does not define as a configuration of its own */
#define TG_DSP_DW_S1 TG_CFG_DSP_DW_3X3_S1
#define TG_DSP_DW_S2 TG_CFG_DSP_DW_3X3_S2
#define TG_DSP_DW_ANY TG_CFG_DSP_DW_ANY
#define TG_DSP_DW_ONE TG_CFG_DSP_DW_ONE
#define TG_DSP_DW_P1 TG_CFG_DSP_DW_ANY_P1
#define TG_DSP_DW_P2 TG_CFG_DSP_DW_ANY_P2
#define TG_DSP_DW_P3 TG_CFG_DSP_DW_ANY_P3
#define TG_DSP_DW_P4 TG_CFG_DSP_DW_ANY_P4

#if !(TG_DSP_DW_S1 || TG_DSP_DW_S2 || TG_DSP_DW_ANY)
#error "tg_config.h compiles out every path of tg_dsp_depthwise_s8: generate it again"
#endif

/* The loops stay functions of their own: inlined into the driver, which has many live
 * values of its own, their registers spill (measured: slower). */
/* The 3x3 walks in Thumb-2 assembly (tg_dsp_dw_3x3_thumb2) with
 * GCC on Arm cores with the DSP extension; the C everywhere else (and with
 * -DTG_DSP_DW_NO_ASM). */
#if TG_ACLE_DSP && defined(__GNUC__) && !defined(__clang__) && defined(__thumb2__) && \
    !defined(TG_DSP_DW_NO_ASM)
#define TG_DSP_DW_ASM 1
#else
#define TG_DSP_DW_ASM 0
#endif

#define TG_DSP_DW_OWN TG_NOINLINE

/* One output channel's filter and requantization, prepared once. */
typedef struct {
    /* int16 pairs of filter * 2^L: 3-tap loops: per row (w0, w1), (w1, w2); otherwise per
     * row (w0, w1), (w2, w3), ..., the last (w[fw - 1], 0) when the width is odd */
    uint32_t *w;       /* in the scratch, after the band and the accumulator line */
    uint32_t bias;     /* bias * 2^L */
    int32_t mult;
    int32_t add;       /* 2^(r-1) + output_offset * 2^r (r >= 1), output_offset (r = 0) */
    int32_t neg;       /* -1 when r >= 1 (the - (h < 0) term), else 0 */
    int32_t r;
    int32_t act_min;
    int32_t act_max;
} tg_dsp_dw_ch_t;

/* The requantization constants in locals: outputs are int8 stores, which may alias
 * anything, so reading them through the struct would reload them after every store. */
#define TG_DSP_DW_RQ_LOCALS(q) \
    const uint32_t bias = (q)->bias; \
    const int32_t mult = (q)->mult, add = (q)->add, neg = (q)->neg, rsh = (q)->r; \
    const int32_t lo = (q)->act_min, hi = (q)->act_max

#if TG_DSP_DW_ANY
TG_INLINE int32_t tg_dsp_dw_rq(uint32_t acc, int32_t mult, int32_t add, int32_t neg,
                               int32_t rsh, int32_t lo, int32_t hi)
{
    const int32_t h = tg_smmulr((int32_t)acc, mult);
    const int32_t v = (h + add + (h < 0 ? neg : 0)) >> rsh;
    return tg_clamp(v, lo, hi);
}
#endif

#if TG_DSP_DW_S1 || TG_DSP_DW_S2
/* The 3-tap loops' requantization: the lowering chose them only for layers whose
 * right shifts are all >= 1 (neg = -1) and whose activation range is all of int8 (one
 * SSAT). */
TG_INLINE int32_t tg_dsp_dw_rq3(uint32_t acc, int32_t mult, int32_t add, int32_t rsh)
{
    /* SMMLAR adds `add` to the rounded high word h; [h < 0] may be read as [acc < 0]
     * (tg_dsp_requant.h, tg_dsp_requantize_hm, point 3: mult >= 0, and where acc < 0 but
     * h = 0 both round to the output offset) */
    const uint32_t t = (uint32_t)tg_smmlar((int32_t)acc, mult, add) - (acc >> 31);
    return tg_ssat8((int32_t)t >> rsh);
}
#endif

#define TG_DSP_DW_RQ(acc) tg_dsp_dw_rq((acc), mult, add, neg, rsh, lo, hi)
#define TG_DSP_DW_RQ3(acc) (int8_t)tg_dsp_dw_rq3((acc), mult, add, rsh)

#if TG_DSP_DW_ANY
TG_INLINE uint32_t tg_dsp_dw_pair(int32_t lo, int32_t hi, int32_t scale)
{
    return ((uint32_t)(lo * scale) & 0xFFFFu) | ((uint32_t)(hi * scale) << 16);
}
#endif

#if TG_DSP_DW_S1 || TG_DSP_DW_S2
/* One filter line of the 3-tap loops from the word `v` holding its 3 values at bytes
 * `at`, at + 1, at + 2 (at 0: bytes 0-2; at 1: bytes 1-3): (w0, w1), (w1, w2) * 2 as int16
 * pairs (SXTAB16 adds the lanes to themselves). */
TG_INLINE void tg_dsp_dw_taps3(uint32_t *w, uint32_t v, int at)
{
    const uint32_t e = tg_sxtab16(tg_sxtb16(v), v);              /* 2 (v0, v2) */
    const uint32_t o = tg_sxtab16_ror8(tg_sxtb16_ror8(v), v);    /* 2 (v1, v3) */
    if (at == 0) {
        w[0] = tg_pkhbt16(e, o);
        w[1] = (o & 0xFFFFu) | (e & 0xFFFF0000u);
    } else {
        w[0] = (o & 0xFFFFu) | (e & 0xFFFF0000u);
        w[1] = tg_pkhtb16(o, e);
    }
}
#endif

/* A 3x3 filter's 9 values from f as words at bytes 0, 3 and 5 (not past the channel's
 * last) into its 6 filter pairs at w. */
#define TG_DSP_DW_TAPS3(w, f) do { \
        tg_dsp_dw_taps3((w), tg_read_s8x4(f), 0); \
        tg_dsp_dw_taps3((w) + 2, tg_read_s8x4((f) + 3), 0); \
        tg_dsp_dw_taps3((w) + 4, tg_read_s8x4((f) + 5), 1); \
    } while (0)

/* The filters and requantization of the `count` output channels from `co` on into q[0 ..
 * count - 1], their filter pairs one after the other from `w`. */
static void tg_dsp_dw_setup(const tg_dsp_depthwise_params_t *p, int32_t co, int32_t count,
                            tg_dsp_dw_ch_t *q, uint32_t *w)
{
    const int32_t *const shifts = p->shift + co, *const mults = p->multiplier + co;
    const int32_t *const biases = p->bias ? p->bias + co : NULL;
    const uint32_t out_off = (uint32_t)p->output_offset;
    const int32_t lo = p->act_min, hi = p->act_max;
    const int32_t fh = p->filter_lines, fw = p->filter_length;
    const int8_t *f = p->filter + (size_t)co * (size_t)(fh * fw);
    int32_t i;
#if TG_DSP_DW_ANY
    for (i = 0; i < count; ++i, ++q) {
        /* L = max(shift, 0) + 1 and r = max(-shift, 0), without a branch on the shift
         * (GCC would copy the loop for each sign) */
        const uint32_t shift = (uint32_t)shifts[i];
        const int32_t lsh = (int32_t)(shift & ((shift >> 31) - 1u)) + 1;
        const int32_t r = lsh - 1 - (int32_t)shift;
        const int32_t scale = (int32_t)1 << lsh;
        int32_t ky, kx;
        q->w = w;
        q->bias = biases ? (uint32_t)biases[i] * (uint32_t)scale : 0u;
        q->mult = mults[i];
        q->r = r;
        q->neg = -(int32_t)(r > 0);
        q->add = (int32_t)(((1u << r) >> 1) + (out_off << r));   /* 2^(r-1): 0 when r = 0 */
        q->act_min = lo;
        q->act_max = hi;
#if TG_DSP_DW_S1 || TG_DSP_DW_S2
        if (p->taps3) {
            TG_DSP_DW_TAPS3(w, f);
            w += 6;
            f += 9;
            continue;
        }
#endif
        for (ky = 0; ky < fh; ++ky, f += fw) {
            for (kx = 0; kx + 1 < fw; kx += 2) {
                *w++ = tg_dsp_dw_pair(f[kx], f[kx + 1], scale);
            }
            if (kx < fw) {      /* an odd length's last, with a zero weight */
                *w++ = tg_dsp_dw_pair(f[kx], 0, scale);
            }
        }
    }
#else
    if (p->taps3) {     /* every shift <= -1 (the lowering's choice): scale 2, r >= 1 */
        for (i = 0; i < count; ++i, ++q, w += 6, f += 9) {
            const int32_t r = -shifts[i];
            q->w = w;
            q->bias = biases ? (uint32_t)biases[i] * 2u : 0u;
            q->mult = mults[i];
            q->r = r;
            q->neg = -1;
            q->add = (int32_t)((1u << (r - 1)) + (out_off << r));
            q->act_min = lo;
            q->act_max = hi;
            TG_DSP_DW_TAPS3(w, f);
        }
        return;
    }
#endif
}

/* Where the 3-tap loops run: n outputs `step` apart along each of `m` output lines
 * (`out_down` apart), whose band lines start at r0, r1, r2 and move `down` int16 values
 * from one output line to the next (a ring: one line at a time); for each of `chans`
 * output channels in turn (channel c: filter q[c], band lines ch_band * c int16 values
 * further on, outputs c bytes further on). */
typedef struct {
    const int16_t *r0, *r1, *r2;
    size_t down;
    int32_t m;
    int8_t *out;
    size_t out_down;
    int32_t n;
    int32_t step;
    int32_t chans;
    size_t ch_band;
} tg_dsp_dw_walk_t;

#define TG_DSP_DW_3X3_LOCALS(c) \
    const uint32_t a01 = q->w[0], a12 = q->w[1], b01 = q->w[2], b12 = q->w[3]; \
    const uint32_t c01 = q->w[4], c12 = q->w[5]; \
    const uint32_t bias = q->bias; \
    const int32_t mult = q->mult, add = q->add, rsh = q->r; \
    const int32_t n = wk->n, step = wk->step; \
    const size_t down = wk->down, out_down = wk->out_down; \
    const size_t pairs = (size_t)(n & ~1) * (size_t)step; \
    const size_t at = (size_t)(c) * wk->ch_band; \
    const int16_t *l0 = wk->r0 + at, *l1 = wk->r1 + at, *l2 = wk->r2 + at; \
    int8_t *line = wk->out + (c); \
    int32_t m

/* One output from the band words (v0, v1) and (v2, v3) of each line: (v0, v1).(w0, w1) +
 * v2 * w2 (the tails of both 3-tap loops). */
#define TG_DSP_DW_3X3_ONE(x) do { \
        uint32_t s0 = tg_smlad(tg_read_s16x2(r0 + (x)), a01, bias); \
        s0 = tg_smlabt(tg_read_s16x2(r0 + (x) + 2), a12, s0); \
        s0 = tg_smlad(tg_read_s16x2(r1 + (x)), b01, s0); \
        s0 = tg_smlabt(tg_read_s16x2(r1 + (x) + 2), b12, s0); \
        s0 = tg_smlad(tg_read_s16x2(r2 + (x)), c01, s0); \
        s0 = tg_smlabt(tg_read_s16x2(r2 + (x) + 2), c12, s0); \
        *out = TG_DSP_DW_RQ3(s0); \
    } while (0)

/* 3x3, stride 1: outputs ox and ox + 1 from the band values ox .. ox + 3 of each line:
 * out0 = (v0, v1).(w0, w1) + v2 * w2, out1 = v1 * w0 + (v2, v3).(w1, w2); one output line
 * from r0, r1, r2 to `out` (its pairs end at `end`). */
#define TG_DSP_DW_3X3_S1_LINE \
    while (out != end) { \
        uint32_t x01 = tg_read_s16x2(r0), x23 = tg_read_s16x2(r0 + 2); \
        uint32_t s0 = tg_smlad(x01, a01, bias), s1 = tg_smlatb(x01, a01, bias); \
        s0 = tg_smlabt(x23, a12, s0); \
        s1 = tg_smlad(x23, a12, s1); \
        x01 = tg_read_s16x2(r1); \
        x23 = tg_read_s16x2(r1 + 2); \
        s0 = tg_smlad(x01, b01, s0); \
        s1 = tg_smlatb(x01, b01, s1); \
        s0 = tg_smlabt(x23, b12, s0); \
        s1 = tg_smlad(x23, b12, s1); \
        x01 = tg_read_s16x2(r2); \
        x23 = tg_read_s16x2(r2 + 2); \
        s0 = tg_smlad(x01, c01, s0); \
        s1 = tg_smlatb(x01, c01, s1); \
        s0 = tg_smlabt(x23, c12, s0); \
        s1 = tg_smlad(x23, c12, s1); \
        *out = TG_DSP_DW_RQ3(s0); \
        out += step; \
        *out = TG_DSP_DW_RQ3(s1); \
        out += step; \
        r0 += 2; \
        r1 += 2; \
        r2 += 2; \
    } \
    if (n & 1) { \
        TG_DSP_DW_3X3_ONE(0); \
    }

/* 3x3, stride 2: output ox from the band values 2 ox .. 2 ox + 2 of each line; two
 * outputs share the word (v2, v3). */
#define TG_DSP_DW_3X3_S2_LINE \
    while (out != end) { \
        uint32_t x23 = tg_read_s16x2(r0 + 2); \
        uint32_t s0 = tg_smlad(tg_read_s16x2(r0), a01, bias); \
        uint32_t s1 = tg_smlad(x23, a01, bias); \
        s0 = tg_smlabt(x23, a12, s0); \
        s1 = tg_smlabt(tg_read_s16x2(r0 + 4), a12, s1); \
        x23 = tg_read_s16x2(r1 + 2); \
        s0 = tg_smlad(tg_read_s16x2(r1), b01, s0); \
        s1 = tg_smlad(x23, b01, s1); \
        s0 = tg_smlabt(x23, b12, s0); \
        s1 = tg_smlabt(tg_read_s16x2(r1 + 4), b12, s1); \
        x23 = tg_read_s16x2(r2 + 2); \
        s0 = tg_smlad(tg_read_s16x2(r2), c01, s0); \
        s1 = tg_smlad(x23, c01, s1); \
        s0 = tg_smlabt(x23, c12, s0); \
        s1 = tg_smlabt(tg_read_s16x2(r2 + 4), c12, s1); \
        *out = TG_DSP_DW_RQ3(s0); \
        out += step; \
        *out = TG_DSP_DW_RQ3(s1); \
        out += step; \
        r0 += 4; \
        r1 += 4; \
        r2 += 4; \
    } \
    if (n & 1) { \
        TG_DSP_DW_3X3_ONE(0); \
    }

/* The walks: all their output lines with the filter and requantization in locals. */
#define TG_DSP_DW_3X3_WALK(LINE) \
    int32_t c; \
    for (c = 0; c < wk->chans; ++c, ++q) { \
        TG_DSP_DW_3X3_LOCALS(c); \
        for (m = wk->m; m > 0; --m, l0 += down, l1 += down, l2 += down, line += out_down) { \
            const int16_t *r0 = l0, *r1 = l1, *r2 = l2; \
            int8_t *out = line, *const end = line + pairs; \
            LINE \
        } \
    }

#if TG_DSP_DW_ASM
/*
 * The 3x3 walks in Thumb-2 assembly (tg_dsp_dw_3x3_thumb2; stride 1 or 2, the pair loops
 * of the strides tg_config.h compiles in): the arithmetic and the order of the loads and
 * stores of TG_DSP_DW_3X3_S1_LINE / TG_DSP_DW_3X3_S2_LINE and TG_DSP_DW_3X3_ONE (a line's
 * last odd output).  In the pair loop r0-r2 walk the band lines, r3-r8 hold the filter
 * pairs, r9/r10 the sums, r11/r12 the band words, lr the output; the requantization, the
 * output step, the line's end, c12 (r8 serves the requantization) and the bias come from
 * the stack.  SMMLAR adds `add - [acc < 0]` (the same word as tg_dsp_dw_rq3's subtraction
 * after it: both are exact mod 2^32); the output step and r share a word (ASR reads its
 * bottom byte).  The strides differ only in the pair loop (each line enters the stride's
 * through the address at sp + 44) and in how far a line's band pointers move.
 *
 * Its arguments: q (wk->chans channels' of 32 bytes), wk (read as 32-bit words: the
 * layout checked below) and the stride.  The stack: 0 mult, 4 add, 8 step << 8 | r, 12 the
 * line's end, 16 c12, 20 bias, 24 the bytes from where a line leaves the band lines to the
 * next line's, 28 the same for the output, 32 the output after the channel's last line
 * (out + m * out_down), 36 (n & ~1) * step, 40 n & 1, 44 the pair loop's entry (Thumb bit
 * set; an odd pair count: the loop, two pairs a pass, enters at its second), 48 the
 * channels left, 52 the next channel's q, 56 and 60 the bytes from where a channel leaves
 * the band lines and the output to the next channel's (ch_band * 2 - m * down * 2, 1 - m *
 * out_down), 64 m * out_down, 68 step << 8.
 */
void tg_dsp_dw_3x3_thumb2(const tg_dsp_dw_ch_t *q, const tg_dsp_dw_walk_t *wk,
                          int32_t stride);

/* the word offsets the assembly reads */
typedef char tg_dsp_dw_asm_layout[(sizeof(size_t) == 4 && sizeof(void *) == 4 &&
                                   offsetof(tg_dsp_dw_ch_t, bias) == 4 &&
                                   offsetof(tg_dsp_dw_ch_t, mult) == 8 &&
                                   offsetof(tg_dsp_dw_ch_t, add) == 12 &&
                                   offsetof(tg_dsp_dw_ch_t, r) == 20 &&
                                   offsetof(tg_dsp_dw_walk_t, down) == 12 &&
                                   offsetof(tg_dsp_dw_walk_t, m) == 16 &&
                                   offsetof(tg_dsp_dw_walk_t, out) == 20 &&
                                   offsetof(tg_dsp_dw_walk_t, out_down) == 24 &&
                                   offsetof(tg_dsp_dw_walk_t, n) == 28 &&
                                   offsetof(tg_dsp_dw_walk_t, step) == 32 &&
                                   offsetof(tg_dsp_dw_walk_t, chans) == 36 &&
                                   offsetof(tg_dsp_dw_walk_t, ch_band) == 40 &&
                                   sizeof(tg_dsp_dw_ch_t) == 32) ? 1 : -1];

/* The sums of outputs ox (r9) and ox + 1 (r10) from the band words at r0, r1, r2 (each
 * advanced one word); the bias and c12 loaded after band words (pipelined). */
#define TG_DW_SUMS                                                      \
    "ldr     r11, [r0], #4\n\t"                                         \
    "ldr     r12, [r0]\n\t"                                             \
    "ldr     r9, [sp, #20]\n\t"                                         \
    "smlatb  r10, r11, r3, r9\n\t"                                      \
    "smlad   r9, r11, r3, r9\n\t"                                       \
    "smlabt  r9, r12, r4, r9\n\t"                                       \
    "smlad   r10, r12, r4, r10\n\t"                                     \
    "ldr     r11, [r1], #4\n\t"                                         \
    "ldr     r12, [r1]\n\t"                                             \
    "smlad   r9, r11, r5, r9\n\t"                                       \
    "smlatb  r10, r11, r5, r10\n\t"                                     \
    "smlabt  r9, r12, r6, r9\n\t"                                       \
    "smlad   r10, r12, r6, r10\n\t"                                     \
    "ldr     r11, [r2], #4\n\t"                                         \
    "ldr     r12, [r2]\n\t"                                             \
    "ldr     r8, [sp, #16]\n\t"                                         \
    "smlad   r9, r11, r7, r9\n\t"                                       \
    "smlatb  r10, r11, r7, r10\n\t"                                     \
    "smlabt  r9, r12, r8, r9\n\t"                                       \
    "smlad   r10, r12, r8, r10\n\t"

/* Stride 2: the sums of outputs ox (r9, band values 2 ox .. 2 ox + 2 of each line) and
 * ox + 1 (r10, 2 ox + 2 .. 2 ox + 4) from the band words at r0, r1, r2 (each advanced two
 * words; the third word read after; rows 0 and 1 read it with the others, into r10 before
 * row 0's sum and into r8). */
#define TG_DW_SUMS_S2                                                   \
    "ldr     r11, [r0], #8\n\t"                                         \
    "ldr     r12, [r0, #-4]\n\t"                                        \
    "ldr     r10, [r0]\n\t"                                             \
    "ldr     r9, [sp, #20]\n\t"                                         \
    "smlabt  r10, r10, r4, r9\n\t"                                      \
    "smlad   r10, r12, r3, r10\n\t"                                     \
    "smlad   r9, r11, r3, r9\n\t"                                       \
    "smlabt  r9, r12, r4, r9\n\t"                                       \
    "ldr     r11, [r1], #8\n\t"                                         \
    "ldr     r12, [r1, #-4]\n\t"                                        \
    "ldr     r8, [r1]\n\t"                                              \
    "smlad   r9, r11, r5, r9\n\t"                                       \
    "smlad   r10, r12, r5, r10\n\t"                                     \
    "smlabt  r9, r12, r6, r9\n\t"                                       \
    "smlabt  r10, r8, r6, r10\n\t"                                      \
    "ldr     r11, [r2], #8\n\t"                                         \
    "ldr     r12, [r2, #-4]\n\t"                                        \
    "ldr     r8, [sp, #16]\n\t"                                         \
    "smlad   r9, r11, r7, r9\n\t"                                       \
    "smlad   r10, r12, r7, r10\n\t"                                     \
    "smlabt  r9, r12, r8, r9\n\t"                                       \
    "ldr     r11, [r2]\n\t"                                             \
    "smlabt  r10, r11, r8, r10\n\t"

/* The sum of output ox alone (r9), from the same band words as TG_DW_SUMS. */
#define TG_DW_SUM1                                                      \
    "ldr     r11, [r0], #4\n\t"                                         \
    "ldr     r12, [r0]\n\t"                                             \
    "ldr     r9, [sp, #20]\n\t"                                         \
    "smlad   r9, r11, r3, r9\n\t"                                       \
    "smlabt  r9, r12, r4, r9\n\t"                                       \
    "ldr     r11, [r1], #4\n\t"                                         \
    "ldr     r12, [r1]\n\t"                                             \
    "smlad   r9, r11, r5, r9\n\t"                                       \
    "smlabt  r9, r12, r6, r9\n\t"                                       \
    "ldr     r11, [r2], #4\n\t"                                         \
    "ldr     r12, [r2]\n\t"                                             \
    "ldr     r8, [sp, #16]\n\t"                                         \
    "smlad   r9, r11, r7, r9\n\t"                                       \
    "smlabt  r9, r12, r8, r9\n\t"

/* A pair of outputs: the sums (SUMS), requantized and stored; STEP loads the word of the output
 * step and r into r11 (and the line's end into r12, for the loop's test). */
#define TG_DW_PAIR(SUMS, STEP)                                          \
    SUMS                                                                \
    "ldrd    r11, r12, [sp]\n\t"                                        \
    "sub     r8, r12, r9, lsr #31\n\t"                                  \
    "smmlar  r9, r9, r11, r8\n\t"                                       \
    "sub     r8, r12, r10, lsr #31\n\t"                                 \
    "smmlar  r10, r10, r11, r8\n\t"                                     \
    STEP                                                                \
    "asr     r9, r9, r11\n\t"                                           \
    "asr     r10, r10, r11\n\t"                                         \
    "ssat    r9, #8, r9\n\t"                                            \
    "ssat    r10, #8, r10\n\t"                                          \
    "strb    r9, [lr]\n\t"                                              \
    "add     lr, lr, r11, lsr #8\n\t"                                   \
    "strb    r10, [lr]\n\t"                                             \
    "add     lr, lr, r11, lsr #8\n\t"

/* A stride's pair loop (L: its label), two pairs a pass: from the second when the pair
 * count is odd. */
#define TG_DW_PAIRS(L, SUMS)                                                    \
    ".Ldw3_" L ":\n\t"                                                          \
    TG_DW_PAIR(SUMS, "ldr     r11, [sp, #8]\n\t")                           \
    ".Ldw3_" L "_odd:\n\t"                                                      \
    TG_DW_PAIR(SUMS, "ldrd    r11, r12, [sp, #8]\n\t")                      \
    "cmp     lr, r12\n\t"                                                   \
    "bne     .Ldw3_" L "\n\t"

__asm__(
    ".pushsection .text.tg_dsp_dw_3x3_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_dw_3x3_thumb2\n\t"
    ".type   tg_dsp_dw_3x3_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_dw_3x3_thumb2:\n\t"
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #72\n\t"
    "ldr     r7, [r1, #32]\n\t"                 /* step */
    "ldr     r6, [r1, #28]\n\t"                 /* n */
    "lsl     r8, r7, #8\n\t"
    "str     r8, [sp, #68]\n\t"
    "str     r0, [sp, #52]\n\t"                 /* q */
    "ldr     r3, [r1, #12]\n\t"                 /* down */
    "ldr     r4, [r1, #24]\n\t"                 /* out_down */
    "ldr     r5, [r1, #16]\n\t"                 /* m */
    "and     r9, r6, #1\n\t"
    /* the stride's pair loop (r11) and its second pair (r12) */
#if TG_DSP_DW_S1 && TG_DSP_DW_S2
    "cmp     r2, #1\n\t"
    "bne     7f\n\t"
#endif
#if TG_DSP_DW_S1
    "adr     r11, .Ldw3_s1\n\t"
    "adr     r12, .Ldw3_s1_odd\n\t"
#endif
#if TG_DSP_DW_S1 && TG_DSP_DW_S2
    "b       8f\n"
    "7:\n\t"
#endif
#if TG_DSP_DW_S2
    "adr     r11, .Ldw3_s2\n\t"
    "adr     r12, .Ldw3_s2_odd\n"
#endif
    "8:\n\t"
    "tst     r6, #2\n\t"
    "it      ne\n\t"
    "movne   r11, r12\n\t"
    "orr     r11, r11, #1\n\t"
    "str     r11, [sp, #44]\n\t"
    "bic     r6, r6, #1\n\t"
    "mul     r10, r6, r7\n\t"                   /* (n & ~1) * step */
    "mul     r6, r6, r2\n\t"                    /* the int16 values a line moves: */
    "add     r6, r6, r9, lsl #1\n\t"            /* (n & ~1) * stride + 2 (n & 1) */
    "lsl     r3, r3, #1\n\t"
    "mul     r12, r5, r3\n\t"                   /* m * down bytes */
    "sub     r3, r3, r6, lsl #1\n\t"
    "mul     r5, r5, r4\n\t"                    /* m * out_down */
    "sub     r4, r4, r10\n\t"
    "str     r3, [sp, #24]\n\t"
    "str     r4, [sp, #28]\n\t"
    "str     r5, [sp, #64]\n\t"
    "str     r10, [sp, #36]\n\t"
    "str     r9, [sp, #40]\n\t"
    "rsb     r5, r5, #1\n\t"
    "str     r5, [sp, #60]\n\t"
    "ldr     r3, [r1, #36]\n\t"                 /* chans */
    "ldr     r4, [r1, #40]\n\t"                 /* ch_band */
    "str     r3, [sp, #48]\n\t"
    "rsb     r4, r12, r4, lsl #1\n\t"
    "str     r4, [sp, #56]\n\t"
    "ldr     lr, [r1, #20]\n\t"                 /* out */
    "ldm     r1, {r0-r2}\n"                      /* the band lines */
    "0:\n\t"                                    /* a channel */
    "ldr     r12, [sp, #52]\n\t"
    "ldr     r8, [sp, #68]\n\t"
    "ldr     r9, [r12]\n\t"                     /* q->w */
    "ldr     r3, [r12, #4]\n\t"
    "ldr     r4, [r12, #8]\n\t"
    "ldr     r5, [r12, #12]\n\t"
    "ldr     r6, [r12, #20]\n\t"
    "ldr     r7, [r9, #20]\n\t"                 /* c12 */
    "add     r12, r12, #32\n\t"                 /* the next channel's q */
    "str     r12, [sp, #52]\n\t"
    "orr     r6, r6, r8\n\t"
    "str     r4, [sp]\n\t"
    "str     r5, [sp, #4]\n\t"
    "str     r6, [sp, #8]\n\t"
    "str     r7, [sp, #16]\n\t"
    "str     r3, [sp, #20]\n\t"
    "ldm     r9, {r3-r7}\n\t"                   /* a01 .. c01 */
    "ldr     r10, [sp, #64]\n\t"
    "add     r10, r10, lr\n\t"
    "str     r10, [sp, #32]\n"                   /* out + m * out_down */
    "1:\n\t"                                    /* an output line */
    "ldr     r10, [sp, #36]\n\t"
    "add     r10, r10, lr\n\t"
    "str     r10, [sp, #12]\n\t"
    "cmp     lr, r10\n\t"
    "beq     3f\n\t"
    "ldr     pc, [sp, #44]\n\t"                 /* the stride's pairs */
#if TG_DSP_DW_S2
    TG_DW_PAIRS("s2", TG_DW_SUMS_S2)
#if TG_DSP_DW_S1
    "b       3f\n\t"
#endif
#endif
#if TG_DSP_DW_S1
    TG_DW_PAIRS("s1", TG_DW_SUMS)
#endif
    "3:\n\t"                                    /* an odd last output */
    "ldr     r11, [sp, #40]\n\t"
    "cmp     r11, #0\n\t"
    "beq     4f\n\t"
    TG_DW_SUM1
    "ldrd    r11, r12, [sp]\n\t"
    "sub     r8, r12, r9, lsr #31\n\t"
    "smmlar  r9, r9, r11, r8\n\t"
    "ldr     r11, [sp, #8]\n\t"
    "asr     r9, r9, r11\n\t"
    "ssat    r9, #8, r9\n\t"
    "strb    r9, [lr]\n"
    "4:\n\t"                                    /* the next line */
    "ldrd    r11, r12, [sp, #24]\n\t"
    "add     r0, r0, r11\n\t"
    "add     r1, r1, r11\n\t"
    "add     r2, r2, r11\n\t"
    "add     lr, lr, r12\n\t"
    "ldr     r10, [sp, #32]\n\t"
    "cmp     lr, r10\n\t"
    "bne     1b\n\t"
    "ldr     r11, [sp, #48]\n\t"                /* the next channel */
    "subs    r11, r11, #1\n\t"
    "beq     6f\n\t"
    "str     r11, [sp, #48]\n\t"
    "ldrd    r11, r12, [sp, #56]\n\t"
    "add     r0, r0, r11\n\t"
    "add     r1, r1, r11\n\t"
    "add     r2, r2, r11\n\t"
    "add     lr, lr, r12\n\t"
    "b       0b\n"
    "6:\n\t"
    "add     sp, sp, #72\n\t"
    "pop     {r4-r11, pc}\n\t"
    ".size   tg_dsp_dw_3x3_thumb2, .-tg_dsp_dw_3x3_thumb2\n\t"
    ".popsection\n");

#define TG_DSP_DW_ROW3(p, q, wk) tg_dsp_dw_3x3_thumb2((q), (wk), (p)->stride)
#else
#if TG_DSP_DW_S1
TG_DSP_DW_OWN
static void tg_dsp_dw_row3_s1(const tg_dsp_dw_ch_t *q, const tg_dsp_dw_walk_t *wk)
{
    TG_DSP_DW_3X3_WALK(TG_DSP_DW_3X3_S1_LINE)
}
#endif

#if TG_DSP_DW_S2
TG_DSP_DW_OWN
static void tg_dsp_dw_row3_s2(const tg_dsp_dw_ch_t *q, const tg_dsp_dw_walk_t *wk)
{
    TG_DSP_DW_3X3_WALK(TG_DSP_DW_3X3_S2_LINE)
}
#endif
#endif

/* The 3x3 walk of the layer's stride (the walks compiled in: tg_config.h) */
#if TG_DSP_DW_ASM
#elif TG_DSP_DW_S1 && TG_DSP_DW_S2
#define TG_DSP_DW_ROW3(p, q, wk) \
    ((p)->stride == 1 ? tg_dsp_dw_row3_s1((q), (wk)) : tg_dsp_dw_row3_s2((q), (wk)))
#elif TG_DSP_DW_S1
#define TG_DSP_DW_ROW3(p, q, wk) tg_dsp_dw_row3_s1((q), (wk))
#elif TG_DSP_DW_S2
#define TG_DSP_DW_ROW3(p, q, wk) tg_dsp_dw_row3_s2((q), (wk))
#endif

/* Any filter: two taps of a line per SMLAD (an odd length's last pair has a zero weight;
 * the band has a spare column for its other value), one filter line at a time over the
 * whole output line, whose accumulators wait in `acc`; then the requantization. */
#if TG_DSP_DW_ANY
TG_DSP_DW_OWN
static void tg_dsp_dw_row_any(const tg_dsp_depthwise_params_t *p, const tg_dsp_dw_ch_t *q,
                              const int16_t *const *rows, size_t at, uint32_t *acc,
                              int8_t *out)
{
    const int32_t fh = p->filter_lines, pairs = (p->filter_length + 1) / 2;
    const int32_t n = p->out_length, sw = p->stride, step = p->out_step;
    uint32_t *const end = acc + n;
    const uint32_t *w = q->w;
    uint32_t *a;
    int32_t ox, ky, kx, np;
    TG_DSP_DW_RQ_LOCALS(q);
    for (a = acc; a != end; ++a) {
        *a = bias;
    }
    /* up to 4 pairs of one filter line at a time (more: in several passes), one loop each
     * (the pass lengths the project's filters take: tg_config.h) */
    for (ky = 0; ky < fh; ++ky) {
        const int16_t *const line = rows[ky] + at;
        for (kx = 0; kx < pairs; kx += np, w += np) {
            const int16_t *x = line + 2 * kx;
            const uint32_t w0 = w[0];
            np = pairs - kx < 4 ? pairs - kx : 4;
            switch (np) {
#if TG_DSP_DW_P4
            case 4: {
                const uint32_t w1 = w[1], w2 = w[2], w3 = w[3];
                for (a = acc; a != end; ++a, x += sw) {
                    uint32_t s = tg_smlad(tg_read_s16x2(x), w0, *a);
                    s = tg_smlad(tg_read_s16x2(x + 2), w1, s);
                    s = tg_smlad(tg_read_s16x2(x + 4), w2, s);
                    *a = tg_smlad(tg_read_s16x2(x + 6), w3, s);
                }
                break;
            }
#endif
#if TG_DSP_DW_P3
            case 3: {
                const uint32_t w1 = w[1], w2 = w[2];
                for (a = acc; a != end; ++a, x += sw) {
                    const uint32_t s = tg_smlad(tg_read_s16x2(x), w0, *a);
                    *a = tg_smlad(tg_read_s16x2(x + 4), w2,
                                  tg_smlad(tg_read_s16x2(x + 2), w1, s));
                }
                break;
            }
#endif
#if TG_DSP_DW_P2
            case 2: {
                const uint32_t w1 = w[1];
                for (a = acc; a != end; ++a, x += sw) {
                    *a = tg_smlad(tg_read_s16x2(x + 2), w1,
                                  tg_smlad(tg_read_s16x2(x), w0, *a));
                }
                break;
            }
#endif
            default:        /* 1 */
#if TG_DSP_DW_P1
                for (a = acc; a != end; ++a, x += sw) {
                    *a = tg_smlad(tg_read_s16x2(x), w0, *a);
                }
#else
                (void)x;
                (void)w0;
                (void)sw;
#endif
                break;
            }
        }
    }
    for (ox = 0; ox < n; ++ox) {
        out[(size_t)ox * (size_t)step] = (int8_t)TG_DSP_DW_RQ(acc[ox]);
    }
}
#endif /* TG_DSP_DW_ANY */

#if TG_DSP_DW_ASM
/* tg_dsp_dw_fill's 4-channel gathering in Thumb-2 assembly, the same instructions and
 * stores as its C (four pixels a pass, then two, then an odd last one): n pixels `step`
 * bytes apart from `channel`, plus input_offset, into the band lines dst, dst +
 * stride_bytes, ... (four); then, `lines` in all, the next input line (src_line bytes on)
 * into the next band lines (dst_line bytes on).  tg_dsp_depthwise_s8 calls it itself for
 * the image's lines. */
void tg_dsp_dw_fill4_thumb2(int16_t *dst, uint32_t stride_bytes, const int8_t *channel,
                            uint32_t step, uint32_t n, uint32_t input_offset, uint32_t lines,
                            uint32_t src_line, uint32_t dst_line);

/* Two pixels (r2, r2 + r3; r2 then moves two) into the four lines (r0, r6, r7, r8). */
#define TG_DW_FILL2                                                     \
    "ldr     r9, [r2]\n\t"                                              \
    "ldr     r10, [r2, r3]\n\t"                                         \
    "add     r2, r2, r1\n\t"                                            \
    "sxtab16 r12, r5, r9\n\t"                                           \
    "sxtab16 lr, r5, r10\n\t"                                           \
    "sxtab16 r9, r5, r9, ror #8\n\t"                                    \
    "sxtab16 r10, r5, r10, ror #8\n\t"                                  \
    "pkhbt   r11, r12, lr, lsl #16\n\t"                                 \
    "pkhtb   r12, lr, r12, asr #16\n\t"                                 \
    "str     r11, [r0], #4\n\t"                                         \
    "str     r12, [r7], #4\n\t"                                         \
    "pkhbt   r11, r9, r10, lsl #16\n\t"                                 \
    "pkhtb   r12, r10, r9, asr #16\n\t"                                 \
    "str     r11, [r6], #4\n\t"                                         \
    "str     r12, [r8], #4\n\t"

__asm__(
    ".pushsection .text.tg_dsp_dw_fill4_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_dw_fill4_thumb2\n\t"
    ".type   tg_dsp_dw_fill4_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_dw_fill4_thumb2:\n\t"
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #16\n\t"                   /* dst, channel, stride, lines left */
    "ldr     r5, [sp, #56]\n\t"                 /* input_offset, in both halves */
    "pkhbt   r5, r5, r5, lsl #16\n\t"
    "ldr     r4, [sp, #60]\n\t"                 /* lines */
    "str     r1, [sp, #8]\n\t"
    "str     r4, [sp, #12]\n"
    "7:\n\t"                                    /* a line */
    "str     r0, [sp]\n\t"
    "str     r2, [sp, #4]\n\t"
    "ldr     r1, [sp, #8]\n\t"
    "ldr     r4, [sp, #52]\n\t"                 /* n */
    "add     r6, r0, r1\n\t"                    /* channel 1's line */
    "add     r7, r6, r1\n\t"                    /* 2 */
    "add     r8, r7, r1\n\t"                    /* 3 */
    "lsl     r1, r3, #1\n\t"
    "subs    r4, r4, #4\n\t"
    "blt     6f\n"
    "1:\n\t"                                    /* four pixels */
    TG_DW_FILL2
    TG_DW_FILL2
    "subs    r4, r4, #4\n\t"
    "bge     1b\n"
    "6:\n\t"
    "adds    r4, r4, #2\n\t"                    /* two more */
    "blt     2f\n\t"
    TG_DW_FILL2
    "subs    r4, r4, #2\n"
    "2:\n\t"
    "adds    r4, r4, #2\n\t"                    /* an odd last pixel */
    "beq     3f\n\t"
    "ldr     r9, [r2]\n\t"
    "sxtab16 r12, r5, r9\n\t"
    "sxtab16 r9, r5, r9, ror #8\n\t"
    "strh    r12, [r0]\n\t"
    "lsr     r12, r12, #16\n\t"
    "strh    r12, [r7]\n\t"
    "strh    r9, [r6]\n\t"
    "lsr     r9, r9, #16\n\t"
    "strh    r9, [r8]\n"
    "3:\n\t"
    "ldr     r4, [sp, #12]\n\t"                 /* the next line */
    "subs    r4, r4, #1\n\t"
    "beq     8f\n\t"
    "str     r4, [sp, #12]\n\t"
    "ldrd    r0, r2, [sp]\n\t"
    "ldrd    r9, r10, [sp, #64]\n\t"            /* src_line, dst_line */
    "add     r2, r2, r9\n\t"
    "add     r0, r0, r10\n\t"
    "b       7b\n"
    "8:\n\t"
    "add     sp, sp, #16\n\t"
    "pop     {r4-r11, pc}\n\t"
    ".size   tg_dsp_dw_fill4_thumb2, .-tg_dsp_dw_fill4_thumb2\n\t"
    ".popsection\n");
#endif

/* Input line `iy` of `group` channels (1, or 4 neighbours) into a band line of each
 * (`stride` int16 values apart), plus input_offset; zeros when the line is outside the
 * image.  Four channels come from one word per pixel: SXTAB16 adds the offset to channels
 * 0 and 2 (and, rotated, 1 and 3) as int16 lanes, and two pixels' lanes pack into one
 * word per channel (with the assembly, tg_dsp_depthwise_s8 gathers the image's lines of
 * four channels itself: tg_dsp_dw_fill4_thumb2). */
TG_DSP_DW_OWN
static void tg_dsp_dw_fill(const tg_dsp_depthwise_params_t *p, int16_t *dst, size_t stride,
                           int32_t group, const int8_t *channel, int32_t iy)
{
    const int32_t n = p->length, off = p->input_offset;
    const size_t step = (size_t)p->in_step;
    int32_t ix = 0;
    dst += p->pad;
    if (iy < 0 || iy >= p->lines) {
        int32_t k;
        for (k = 0; k < group; ++k) {
            tg_bytes_fill(dst + (size_t)k * stride, 0, (size_t)n * sizeof *dst);
        }
        return;
    }
    channel += (size_t)iy * (size_t)p->in_line_step;
#if !TG_DSP_DW_ASM
    if (group == 4) {
        const uint32_t off2 = ((uint32_t)off & 0xFFFFu) * 0x10001u;
        int16_t *d1 = dst + stride, *d2 = dst + 2 * stride, *d3 = dst + 3 * stride;
        for (; ix + 2 <= n; ix += 2) {
            const uint32_t a = tg_read_s8x4(channel), b = tg_read_s8x4(channel + step);
            const uint32_t ae = tg_sxtab16(off2, a), be = tg_sxtab16(off2, b);
            const uint32_t ao = tg_sxtab16_ror8(off2, a), bo = tg_sxtab16_ror8(off2, b);
            tg_write_s16x2(dst + ix, tg_pkhbt16(ae, be));
            tg_write_s16x2(d2 + ix, tg_pkhtb16(be, ae));
            tg_write_s16x2(d1 + ix, tg_pkhbt16(ao, bo));
            tg_write_s16x2(d3 + ix, tg_pkhtb16(bo, ao));
            channel += 2 * step;
        }
        if (ix < n) {
            const uint32_t a = tg_read_s8x4(channel);
            const uint32_t ae = tg_sxtab16(off2, a), ao = tg_sxtab16_ror8(off2, a);
            dst[ix] = (int16_t)(ae & 0xFFFFu);
            d2[ix] = (int16_t)(ae >> 16);
            d1[ix] = (int16_t)(ao & 0xFFFFu);
            d3[ix] = (int16_t)(ao >> 16);
        }
        return;
    }
#endif
#if TG_DSP_DW_ONE
    if (step == 1) {    /* one input channel: four neighbouring values per word load */
        const uint32_t off2 = ((uint32_t)off & 0xFFFFu) * 0x10001u;
        for (; ix + 4 <= n; ix += 4, channel += 4) {
            const uint32_t a = tg_read_s8x4(channel);
            const uint32_t e = tg_sxtab16(off2, a), o = tg_sxtab16_ror8(off2, a);
            tg_write_s16x2(dst + ix, tg_pkhbt16(e, o));
            tg_write_s16x2(dst + ix + 2, tg_pkhtb16(o, e));
        }
    }
    for (; ix + 2 <= n; ix += 2) {     /* two values per (unaligned) word store */
        const uint32_t a = (uint32_t)(channel[0] + off), b = (uint32_t)(channel[step] + off);
        tg_write_s16x2(dst + ix, (a & 0xFFFFu) | (b << 16));
        channel += 2 * step;
    }
    if (ix < n) {
        dst[ix] = (int16_t)(channel[0] + off);
    }
#else
    (void)off;
    (void)step;
    (void)ix;
    (void)channel;
#endif
}

void tg_dsp_depthwise_s8(const tg_dsp_depthwise_params_t *p, const int8_t *input,
                         int8_t *output, void *band)
{
    const int32_t fh = p->filter_lines, bw = p->band_width, sh = p->stride_lines;
    const int32_t in_d = p->depth, mult = p->depth_multiplier, group = p->group;
    const int32_t out_d = in_d * mult, slots = p->band_lines;
    const size_t in_image = (size_t)p->lines * (size_t)p->length * (size_t)in_d;
    const size_t out_image = (size_t)p->out_lines * (size_t)p->out_length * (size_t)out_d;
    const size_t ring_size = (size_t)slots * (size_t)bw;     /* one channel's band */
    int16_t *const ring = (int16_t *)band;
    /* after the group's rings: one output line of accumulators (the general loop) */
    uint32_t *const line = (uint32_t *)(void *)(ring + (size_t)group * ring_size);
    const int16_t *rows[TG_DSP_DW_MAX_K];
    tg_dsp_dw_ch_t q[TG_DSP_DW_MULTS > 4 ? TG_DSP_DW_MULTS : 4];
    /* the filter pairs of up to 4 channels (or TG_DSP_DW_MULTS outputs of an input
     * channel), after the accumulator line */
    uint32_t *const pairs = line + (p->taps3 ? 0 : p->out_length);
    /* whether a slot holds several lines (else the padding lines stay zero) */
    const int reuse = slots < (p->out_lines - 1) * sh + fh;
    /* the outputs whose filters are prepared once per group of input channels: the
     * group's (depth multiplier 1), or, 3-tap loops, an input channel's (up to
     * TG_DSP_DW_MULTS); the general loop's multipliers: one output at a time */
    const int32_t ahead = mult == 1 ? group : (p->taps3 ? mult : 0);
    int32_t b, ci, k, oy, ky;
#if TG_DSP_DW_S1 || TG_DSP_DW_S2
    tg_dsp_dw_walk_t wk;
    wk.out_down = (size_t)p->out_line_step;
    wk.n = p->out_length;
    wk.step = p->out_step;
    wk.ch_band = mult == 1 ? ring_size : 0;
    wk.chans = ahead;
#endif
    /* the padding columns stay zero; the fills write only the image's columns */
    tg_bytes_fill(ring, 0, (size_t)group * ring_size * sizeof *ring);
    for (b = 0; b < p->batches; ++b) {
        const int8_t *image = input + (size_t)b * in_image;
        for (ci = 0; ci < in_d; ci += group) {
            int8_t *out = output + (size_t)b * out_image + (size_t)ci * (size_t)mult;
            /* padded input line i (image line i - pad_lines) lives in slot i % slots */
            int32_t next = 0;       /* the first padded line not gathered yet */
            int32_t fill_slot = 0;  /* its slot */
            int32_t slot = 0;       /* the slot of output line oy's first band line */
            if (ahead) {
                tg_dsp_dw_setup(p, ci * mult, ahead, q, pairs);
            }
            for (oy = 0; oy < p->out_lines;) {
                /* the output lines oy .. oy + n - 1 whose band lines follow each other in
                 * the slots without wrapping; or, where they wrap, line oy alone */
                const int32_t first = oy * sh;
                int32_t n = 1, need;
                size_t down = 0;
                if (slot + fh <= slots) {
                    n = (slots - slot - fh) / sh + 1;
                    n = n < p->out_lines - oy ? n : p->out_lines - oy;
                    down = (size_t)sh * (size_t)bw;
                    for (ky = 0; ky < fh; ++ky) {
                        rows[ky] = ring + (size_t)(slot + ky) * (size_t)bw;
                    }
                } else {
                    for (ky = 0, k = slot; ky < fh; ++ky) {
                        rows[ky] = ring + (size_t)k * (size_t)bw;
                        k = k + 1 == slots ? 0 : k + 1;
                    }
                }
                /* gather their lines (each overwrites one at least `slots` lines older,
                 * which none of them needs); lines the stride skips are not gathered */
                need = first + (n - 1) * sh + fh;
                if (next <= first) {
                    next = first;
                    fill_slot = slot;
                }
                while (next < need) {
                    const int32_t iy = next - p->pad_lines;
#if TG_DSP_DW_ASM
                    if (group == 4 && iy >= 0 && iy < p->lines) {   /* its gathering itself */
                        /* the image lines from here on whose slots follow each other */
                        int32_t run = TG_MIN(need - next, p->lines - iy);
                        run = TG_MIN(run, slots - fill_slot);
                        tg_dsp_dw_fill4_thumb2(
                            ring + (size_t)fill_slot * (size_t)bw + p->pad,
                            (uint32_t)(ring_size * sizeof *ring),
                            image + ci + (size_t)iy * (size_t)p->in_line_step,
                            (uint32_t)p->in_step, (uint32_t)p->length,
                            (uint32_t)p->input_offset, (uint32_t)run,
                            (uint32_t)p->in_line_step, (uint32_t)((size_t)bw * sizeof *ring));
                        next += run;
                        fill_slot += run;
                        fill_slot = fill_slot == slots ? 0 : fill_slot;
                        continue;
                    }
#endif
                    if (reuse || (iy >= 0 && iy < p->lines)) {
                        tg_dsp_dw_fill(p, ring + (size_t)fill_slot * (size_t)bw, ring_size,
                                       group, image + ci, iy);
                    }
                    fill_slot = fill_slot + 1 == slots ? 0 : fill_slot + 1;
                    ++next;
                }
#if TG_DSP_DW_S1 || TG_DSP_DW_S2
                if (p->taps3) {     /* all the lines and channels in one walk (or a few) */
                    wk.r0 = rows[0];
                    wk.r1 = rows[1];
                    wk.r2 = rows[2];
                    wk.down = down;
                    wk.m = n;
                    wk.out = out;
                    TG_DSP_DW_ROW3(p, q, &wk);
                }
#endif
#if TG_DSP_DW_ANY
                if (!p->taps3) {
                    int32_t j;
                    for (k = 0; k < group; ++k) {       /* the channels of the group */
                        for (j = 0; j < mult; ++j) {    /* the outputs of an input channel */
                            size_t at = (size_t)k * ring_size;
                            int8_t *o = out + k * mult + j;
                            int32_t m;
                            if (mult > 1) {
                                tg_dsp_dw_setup(p, ci * mult + j, 1, q, pairs);
                            }
                            for (m = n; m > 0; --m, at += down, o += p->out_line_step) {
                                tg_dsp_dw_row_any(p, &q[k], rows, at, line, o);
                            }
                        }
                    }
                }
#endif
                oy += n;
                out += (size_t)n * (size_t)p->out_line_step;
                for (slot += n * sh; slot >= slots; slot -= slots) {
                }
            }
        }
    }
}
