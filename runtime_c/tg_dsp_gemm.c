/*
 * tg_dsp_gemm.c - int8 GEMM for FULLY_CONNECTED and pointwise CONV_2D with SMLAD.
 *
 * Same arithmetic as TFLite's reference FullyConnected / Conv (1x1, no padding): a
 * 32-bit sum of int8 products (the input offset folded into the bias, exact modulo
 * 2^32), then MultiplyByQuantizedMultiplier and the output offset (tg_dsp_requantize_hm in
 * tg_dsp_requant.h: the same values in five instructions), and the activation clamp.
 *
 * Two rows at a time: the rows are sign-extended once into `scratch` as int16 pairs
 * (SXTB16: the even and the odd values of each 4-value word), interleaved so that one
 * pointer walks both; then for each output channel triple, per 4-value step, the rows'
 * four words stay in registers while each channel's weight word is sign-extended once
 * (2 SXTB16) and serves 4 SMLAD (24 MACs a step); a last odd row is taken as a pair of
 * itself (its outputs written twice), so that a pair's input is always copied before its
 * outputs are written (tg_dsp_gemm.h).  Without a scratch (fewer than 3 rows: a batch-1
 * fully connected layer) a row runs a channel triple at a time from the int8 row itself:
 * there every weight is used once.  On Thumb-2 cores built with GCC the row pairs run in
 * the assembly of tg_dsp_gemm_2x3_thumb2 (below), the same arithmetic; for rows of whole
 * 4-value steps without a gather (or with one within an output line)
 * tg_dsp_gemm_2x3_rows_thumb2 also expands and walks the pairs itself (the same order:
 * each pair expanded before its outputs are written).
 */
#include "tg_dsp_gemm.h"

#include "tg_acle.h"
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_GEMM_*) */
#include "tg_dsp_gemm_rows.h"
#include "tg_dsp_requant.h"

#if !(TG_CFG_DSP_GEMM_PAIRS || TG_CFG_DSP_GEMM_ROW1)
#error "tg_config.h compiles out every path of tg_dsp_gemm_s8: generate it again"
#endif

/* The 2-row inner kernel in Thumb-2 assembly (below) with GCC on Arm cores with the DSP
 * extension; the C everywhere else (and with -DTG_DSP_GEMM_NO_ASM). */
#if TG_ACLE_DSP && defined(__GNUC__) && !defined(__clang__) && defined(__thumb2__) && \
    !defined(TG_DSP_GEMM_NO_ASM)
#define TG_DSP_GEMM_ASM 1
#else
#define TG_DSP_GEMM_ASM 0
#endif

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* keeps GCC from hoisting the next step's loads (which would spill registers) */
#define TG_DSP_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define TG_DSP_BARRIER() ((void)0)
#endif

/* One channel's constants of tg_dsp_requantize_hm (tg_dsp_requant.h). */
typedef struct {
    int32_t m;          /* 2 M - 2^32 */
    int32_t shift;      /* s */
    uint32_t half;      /* 2^(s-1) + f * 2^s */
    int32_t post;       /* offset - f */
} tg_dsp_rq2_t;

TG_INLINE tg_dsp_rq2_t tg_dsp_gemm_rq(const int32_t *q, int32_t ch, int32_t post)
{
    tg_dsp_rq2_t r;
    r.m = q[ch];
    r.shift = q[3 + ch];
    r.half = (uint32_t)q[6 + ch];
    r.post = post;
    return r;
}

TG_INLINE int8_t tg_dsp_gemm_out(uint32_t acc, const tg_dsp_rq2_t *q)
{
    return (int8_t)tg_dsp_requantize_hm(acc, q->m, q->shift, q->half, q->post);
}

/* The per-pair pass of tg_dsp_gemm_s8 (rows expanded in C, one call a pair): always
 * without the assembly; with it, only for row gathers across output lines and depths not
 * a multiple of 4 (TG_CFG_DSP_GEMM_PAIR_CALL: the others walk all their rows in the
 * assembly). */
#define TG_DSP_GEMM_PAIR_CALLS \
    (TG_CFG_DSP_GEMM_PAIRS && (!TG_DSP_GEMM_ASM || TG_CFG_DSP_GEMM_PAIR_CALL))

#if TG_DSP_GEMM_PAIR_CALLS || TG_CFG_DSP_GEMM_ROW1
/* Where input row r starts (the gather of tg_dsp_gemm.h; row r itself without strides). */
static const int8_t *tg_dsp_gemm_row(const tg_dsp_gemm_params_t *p, const int8_t *input,
                                     int32_t r)
{
    const int32_t row = tg_gather_row(r, p->out_w, p->out_h, p->in_w, p->in_h, p->stride_w,
                                      p->stride_h);
    return input + (size_t)row * (size_t)p->depth;
}
#endif

#if TG_DSP_GEMM_PAIR_CALLS      /* rows two at a time (with a scratch), expanded in C */
/* Rows x0 and x1 sign-extended into dst, 4 words per 4 values: x0's even and odd values,
 * x1's even and odd values. */
static void tg_dsp_gemm_expand2(const int8_t *x0, const int8_t *x1, int32_t depth,
                                uint32_t *dst)
{
    int32_t k;
    for (k = 0; k + 8 <= depth; k += 8) {       /* 8 values a pass: one run of 4 loads */
        const uint32_t v0 = tg_read_s8x4(x0 + k), v1 = tg_read_s8x4(x1 + k);
        const uint32_t u0 = tg_read_s8x4(x0 + k + 4), u1 = tg_read_s8x4(x1 + k + 4);
        tg_dsp_gemm_widen4(v0, v1, dst);
        tg_dsp_gemm_widen4(u0, u1, dst + 4);
        dst += 8;
    }
    tg_dsp_gemm_widen_rest(x0, x1, k, depth, dst);
}

#endif

/* acc += the two int16 products of a and b */
#define TG_DSP_MAC2(acc, a, b) ((acc) = tg_smlad_acc((a), (b), (acc)))

#if TG_CFG_DSP_GEMM_PAIRS
#if !TG_DSP_GEMM_ASM
/* Channel w's 4-value weight word into the sums a0 (row 0) and a1 (row 1). */
#define TG_DSP_CH_2ROWS(w, a0, a1)                                     \
    do {                                                               \
        uint32_t we_ = (w), wo_ = tg_sxtb16_ror8(we_);                 \
        we_ = tg_sxtb16(we_);                                          \
        TG_DSP_MAC2(a0, x0e, we_);                                     \
        TG_DSP_MAC2(a0, x0o, wo_);                                     \
        TG_DSP_MAC2(a1, x1e, we_);                                     \
        TG_DSP_MAC2(a1, x1o, wo_);                                     \
    } while (0)

/* 2 rows (x: 4 words, row j's even/odd pairs at 2j) x 1 channel triple (w: 3 words) x 4 depth. */
TG_INLINE void tg_dsp_step_2x3(const uint32_t *x, const uint32_t *w, uint32_t *a00,
                               uint32_t *a01, uint32_t *a02, uint32_t *a10, uint32_t *a11,
                               uint32_t *a12)
{
    /* five single loads in a row: each after the first costs 1 cycle (volatile keeps GCC
     * from pairing them into LDRDs, which cost 3 each) */
    const volatile uint32_t *xv = x;
    const uint32_t w0 = w[0], x0e = xv[0], x0o = xv[1], x1e = xv[2], x1o = xv[3];
    TG_DSP_BARRIER();
    TG_DSP_CH_2ROWS(w0, *a00, *a10);
    TG_DSP_BARRIER();
    TG_DSP_CH_2ROWS(w[1], *a01, *a11);
    TG_DSP_BARRIER();
    TG_DSP_CH_2ROWS(w[2], *a02, *a12);
}

#endif /* !TG_DSP_GEMM_ASM */

#if TG_DSP_GEMM_ASM
/*
 * On Thumb-2 cores a row pair's channel triples run in the assembly below instead of
 * tg_dsp_gemm_rows2: the same products and requantization (tg_dsp_step_2x3,
 * tg_dsp_gemm_out) on the same values, so the same bits (the sums wrap modulo 2^32 in any
 * order), but with its 14 live values (6 sums, 2 row words, 3 weight words, a temporary,
 * the row and weight pointers) in r0-r12 and lr, which GCC cannot do without spilling, and
 * its state in a stack frame.  The values loaded and their temporaries are in r0-r5, the
 * pointers in r6 and r7, the sums in r8-r12 and lr, so that the loads, stores and most
 * moves have 16-bit encodings.  One 4-value step (27 cycles for 24 MACs): the rows' even
 * pairs and the three weight words in one run of loads (each after the first 1 cycle),
 * then the odd pairs; each weight word sign-extended twice (SXTB16, SXTB16 ROR #8) for 4
 * SMLAD; 8 steps a loop pass, whose first step's loads move the row and weight pointers
 * on to the pass (pre-indexed with write-back: the other loads are at offsets 4..124 from
 * them) and ended by comparing the row pointer; a first pass of 1 to 7 steps enters the
 * body at a later step, through an entry address and weight rewind computed once per call;
 * then the six requantizations (tg_dsp_requantize_hm) and stores.
 * A triple that is neither the last nor has an offset to add after the shift (post 0: the
 * generator folds the offset into `half` where it fits) takes the short epilogue: the
 * weight pointer stays in r7 and the next triple starts without a branch but its entry's.
 * (A project none of whose layers has a post compiles only the last triple's part of the
 * long one: TG_CFG_DSP_GEMM_POST.)  A lone last channel (channels % 3 == 1) runs in a 1-channel loop (2 rows x 1 channel,
 * without its padding channels' products) of 4-step passes.
 *
 * tg_dsp_gemm_2x3_thumb2(p, xs, out, row1) runs one pair of rows expanded in xs (row 0's
 * outputs at out, row 1's row1 bytes after them); tg_dsp_gemm_2x3_rows_thumb2(p, input,
 * output, xs) walks every row pair of a GEMM of whole 4-value steps whose row r is at
 * input + r * stride_w * depth (no gather, or one within an output line: rows <= out_w),
 * expanding each into xs as tg_dsp_gemm_expand2 does.  Both read p's first eight words
 * (and the walk stride_w) and keep their state in a frame of 31 words: 0 the row pointer a first pass
 * starts with (xs less 16 bytes a skipped step, less a pass, 128, when none is skipped: the
 * step 0 that moves it on runs then), 4 the row pointer of the last pass, 8 weights less 96
 * (advanced), 12 biases (advanced), 16 quant (advanced), 20 quant step in bytes, 24 row 0's
 * output (advanced), 28 row 1's output offset, 32 post, 36 the channel triples of 2 or 3
 * channels, 40 the steps the first pass skips (-quads & 7: it enters the loop body there),
 * 44 channels % 3 (2: the last triple stores 2 channels; 1: a last channel runs alone),
 * 48 the 3-channel loop's entry, 52 the 1-channel loop's, 56 the last triple's row 0 output
 * (0 when post is not 0: no triple takes the short epilogue), 60 the same, 64 the weights'
 * rewind (12 bytes a skipped step, less 96 when steps are skipped); the walk's: 68 the next
 * pair's row 0, 72 the rows left (0 for one pair), 76 depth, 80, 84, 88 the first triple's
 * weights, biases and quant (reset for each pair), 92 xs, 96 channels, 100 the next pair's
 * row 0 output, 112 the rows' step; and for the 1-channel loop (it enters at step
 * skip & 3): 104 its row pointer's start, 108 its weights' rewind.
 */
void tg_dsp_gemm_2x3_thumb2(const tg_dsp_gemm_params_t *p, const uint32_t *xs, int8_t *out,
                            size_t row1);
void tg_dsp_gemm_2x3_rows_thumb2(const tg_dsp_gemm_params_t *p, const int8_t *input,
                                 int8_t *output, uint32_t *xs);

/* Half a step: the row words r0 (row 0) and r1 (row 1) times the three weight words r2-r4
 * sign-extended (SXTB16, ROT: ROR #8 for the odd values) into the sums r8-r10 (row 0) and
 * r11, r12, lr (row 1). */
#define TG_G_HALF(ROT)                                                  \
    "sxtb16  r5, r2" ROT "\n\t"                                         \
    "smlad   r8, r0, r5, r8\n\t"                                        \
    "smlad   r11, r1, r5, r11\n\t"                                      \
    "sxtb16  r5, r3" ROT "\n\t"                                         \
    "smlad   r9, r0, r5, r9\n\t"                                        \
    "smlad   r12, r1, r5, r12\n\t"                                      \
    "sxtb16  r5, r4" ROT "\n\t"                                         \
    "smlad   r10, r0, r5, r10\n\t"                                      \
    "smlad   lr, r1, r5, lr\n\t"

/* One 4-value step at byte offsets X (rows, r6) and W (weights, r7) in two halves: the
 * rows' even pairs with the three channels' weight words (loaded in the same run), then
 * the odd pairs.  MID goes between the odd pairs' loads and their products (the loop
 * end's comparison). */
#define TG_G_STEP_(X0E, W0, X, W, MID)                                  \
    X0E                                                                 \
    "ldr     r1, [r6, #" X "+8]\n\t"                                    \
    W0                                                                  \
    "ldr     r3, [r7, #" W "+4]\n\t"                                    \
    "ldr     r4, [r7, #" W "+8]\n\t"                                    \
    TG_G_HALF("")                                                       \
    "ldr     r0, [r6, #" X "+4]\n\t"                                    \
    "ldr     r1, [r6, #" X "+12]\n\t"                                   \
    MID                                                                 \
    TG_G_HALF(", ror #8")

/* The first step's loads move the pointers on by a pass (128 and 96 bytes, pre-indexed),
 * so the loop end needs no adds. */
#define TG_G_STEP_MID(X, W, MID)                                        \
    TG_G_STEP_("ldr     r0, [r6, #" X "]\n\t",                           \
               "ldr     r2, [r7, #" W "]\n\t", X, W, MID)
#define TG_G_STEP(X, W) TG_G_STEP_MID(X, W, "")
#define TG_G_STEP0                                                      \
    TG_G_STEP_("ldr     r0, [r6, #128]!\n\t", "ldr     r2, [r7, #96]!\n\t", "0", "0", "")

/* channel J's constants (M', s, half) from the quant words at r6 into r2-r4 */
#define TG_G_QUANT(J)                                                   \
    "ldr     r2, [r6, #4*" J "]\n\t"                                    \
    "ldr     r3, [r6, #12+4*" J "]\n\t"                                 \
    "ldr     r4, [r6, #24+4*" J "]\n\t"

/* tg_dsp_requantize_hm (TG_DSP_RQ_HM_ASM in tg_dsp_requant.h) of the sum A with the
 * constants in r2-r4, in r5, stored at DST; POST is the add of the offset (in r7) after
 * the shift, or nothing; S "s" (a 16-bit shift that sets the flags) or "" (keeps them) */
#define TG_G_RQ(A, POST, S, DST)                                        \
    "smmlar  r5, " A ", r2, " A "\n\t"                                  \
    "add     r5, r5, " A ", asr #31\n\t"                                \
    "add     r5, r5, r4\n\t"                                            \
    "asr" S "    r5, r5, r3\n\t"                                        \
    POST                                                                \
    "ssat    r5, #8, r5\n\t"                                            \
    "strb    r5, " DST "\n\t"

/* channel J's sums A0, A1 requantized and stored at r0[J] and r1[J] */
#define TG_G_REQ(J, A0, A1, POST, S)                                    \
    TG_G_RQ(A0, POST, S, "[r0, #" J "]")                                \
    TG_G_RQ(A1, POST, S, "[r1, #" J "]")

#define TG_G_POST "add     r5, r5, r7\n\t"
#if TG_CFG_DSP_GEMM_POST
#define TG_G_POSTQ TG_G_POST
#else
#define TG_G_POSTQ ""                       /* every post 0 */
#endif
#define TG_G_OUT_(J, A0, A1, POST, S) TG_G_QUANT(J) TG_G_REQ(J, A0, A1, POST, S)

/* The 1-channel step (a last triple of one channel: its padding channels' products
 * skipped): the rows' even pairs and the weight word, then the odd pairs, into r8 and
 * r11.  Its loop passes are 4 steps (64 and 48 bytes: it runs once a row pair, the
 * 3-channel loop once a triple), the pointers moved on as there. */
#define TG_G_STEP1_(X0E, W0, X, MID)                                    \
    X0E                                                                 \
    "ldr     r1, [r6, #" X "+8]\n\t"                                    \
    W0                                                                  \
    "sxtb16  r5, r2\n\t"                                                \
    "smlad   r8, r0, r5, r8\n\t"                                        \
    "smlad   r11, r1, r5, r11\n\t"                                      \
    "ldr     r0, [r6, #" X "+4]\n\t"                                    \
    "ldr     r1, [r6, #" X "+12]\n\t"                                   \
    MID                                                                 \
    "sxtb16  r5, r2, ror #8\n\t"                                        \
    "smlad   r8, r0, r5, r8\n\t"                                        \
    "smlad   r11, r1, r5, r11\n\t"

#define TG_G_STEP1_MID(X, W, MID)                                       \
    TG_G_STEP1_("ldr     r0, [r6, #" X "]\n\t",                          \
                "ldr     r2, [r7, #" W "]\n\t", X, MID)
#define TG_G_STEP1(X, W) TG_G_STEP1_MID(X, W, "")
#define TG_G_STEP1_0                                                    \
    TG_G_STEP1_("ldr     r0, [r6, #64]!\n\t", "ldr     r2, [r7, #48]!\n\t", "0", "")

/* A triple's start (its weights in r7, or loaded by LOADW): the biases into both rows'
 * sums, rows (r6) and weights (r7) moved back by the skipped steps, and the jump to the
 * step the first pass enters at. */
#define TG_G_START TG_G_START_("")
#define TG_G_START_(LOADW)                                              \
    "ldr     r0, [sp, #12]\n\t"                                         \
    "ldr     r6, [sp, #0]\n\t"                                          \
    "ldr     r1, [sp, #64]\n\t"                                         \
    "ldr     r2, [sp, #48]\n\t"                                         \
    LOADW                                                               \
    "ldmia   r0!, {r8, r9, r10}\n\t"                                    \
    "str     r0, [sp, #12]\n\t"                                         \
    "subs    r7, r7, r1\n\t"                                            \
    "mov     r11, r8\n\t"                                               \
    "mov     r12, r9\n\t"                                               \
    "mov     lr, r10\n\t"                                               \
    "bx      r2\n\t"

/* quant and row 0's output (r6, r0) moved on to the next triple (the quant step in STEP) */
#define TG_G_NEXT_(STEP)                                                \
    "add     r6, r6, " STEP "\n\t"                                      \
    "str     r6, [sp, #16]\n\t"                                         \
    "adds    r0, r0, #3\n\t"                                            \
    "str     r0, [sp, #24]\n\t"

/* the long epilogue's channel 2 and the step to the next triple */
#define TG_G_CH2                                                        \
    TG_G_QUANT("2")                                                     \
    "ldr     r8, [sp, #20]\n\t"                                         \
    TG_G_REQ("2", "r10", "lr", TG_G_POST, "s")                          \
    TG_G_NEXT_("r8")

#define TG_G_LOOP_END                                                   \
    "ldr     r5, [sp, #4]\n\tcmp     r6, r5\n\t"

__asm__(
    ".pushsection .text.tg_dsp_gemm_2x3_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_gemm_2x3_thumb2\n\t"
    ".type   tg_dsp_gemm_2x3_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_gemm_2x3_thumb2:\n\t"           /* one row pair: (p, xs, out, row1) */
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #124\n\t"
    "str     r2, [sp, #24]\n\t"             /* row 0's outputs */
    "str     r3, [sp, #28]\n\t"             /* row 1's offset */
    "movs    r2, #0\n\t"
    "str     r2, [sp, #72]\n\t"             /* no rows left after it */
    "b       .Ltg_g_derive\n\t"
    ".global tg_dsp_gemm_2x3_rows_thumb2\n\t"
    ".type   tg_dsp_gemm_2x3_rows_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_gemm_2x3_rows_thumb2:\n\t"      /* all rows: (p, input, output, xs) */
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #124\n\t"
    "str     r1, [sp, #68]\n\t"             /* the next pair's first input row */
    "str     r2, [sp, #100]\n\t"            /* the next pair's outputs */
    "ldr     r2, [r0, #0]\n\t"
    "str     r2, [sp, #72]\n\t"             /* rows left */
    "ldr     r2, [r0, #4]\n\t"
    "str     r2, [sp, #76]\n\t"             /* depth */
    "ldr     r4, [r0, #56]\n\t"
    "muls    r4, r2, r4\n\t"
    "str     r4, [sp, #112]\n\t"            /* the rows' step: depth x stride_w */
    "ldr     r2, [r0, #8]\n\t"
    "str     r2, [sp, #96]\n\t"             /* channels */
    "mov     r1, r3\n"                      /* xs */
    ".Ltg_g_derive:\n\t"                    /* the frame from p (r0) and xs (r1) */
    "ldm     r0, {r2-r9}\n\t"               /* rows, depth, channels, weights, bias, quant, */
    "str     r1, [sp, #92]\n\t"             /* quant_step, output_offset */
    "subs    r5, r5, #96\n\t"
    "str     r5, [sp, #8]\n\t"
    "str     r5, [sp, #80]\n\t"
    "str     r6, [sp, #12]\n\t"
    "str     r6, [sp, #84]\n\t"
    "str     r7, [sp, #16]\n\t"
    "str     r7, [sp, #88]\n\t"
    "lsls    r8, r8, #2\n\t"
    "str     r8, [sp, #20]\n\t"
    "str     r9, [sp, #32]\n\t"
    "adds    r3, r3, #3\n\t"
    "asrs    r3, r3, #2\n\t"                /* quads */
    "lsls    r3, r3, #4\n\t"
    "adds    r6, r1, r3\n\t"
    "subs    r6, r6, #128\n\t"
    "str     r6, [sp, #4]\n\t"              /* the last pass's rows: xs + 16 quads - 128 */
    "negs    r3, r3\n\t"
    "ubfx    r0, r3, #4, #3\n\t"            /* skip: -quads & 7 */
    "str     r0, [sp, #40]\n\t"
    "sub     r1, r1, r0, lsl #4\n\t"
    "cmp     r0, #0\n\t"
    "it      eq\n\t"
    "subeq   r1, r1, #128\n\t"
    "str     r1, [sp, #0]\n\t"              /* the first pass's rows */
    "movs    r2, #3\n\t"
    "udiv    r2, r4, r2\n\t"
    "add     r3, r2, r2, lsl #1\n\t"
    "subs    r3, r4, r3\n\t"
    "str     r3, [sp, #44]\n\t"             /* channels % 3 */
    "cmp     r3, #2\n\t"
    "it      eq\n\t"
    "addeq   r2, r2, #1\n\t"
    "str     r2, [sp, #36]\n\t"             /* triples: a last channel alone runs on its own */
    "adr.w   r2, .Ltg_g_tab\n\t"            /* the loops' entries for this skip */
    "ldrsh   r3, [r2, r0, lsl #1]\n\t"
    "add     r3, r3, r2\n\t"
    "str     r3, [sp, #48]\n\t"
    "adds    r2, r2, #16\n\t"
    "and     r4, r0, #3\n\t"                /* the 1-channel loop's skip */
    "ldrsh   r3, [r2, r4, lsl #1]\n\t"
    "add     r3, r3, r2\n\t"
    "str     r3, [sp, #52]\n\t"
    "subs    r3, r0, #1\n\t"
    "cmp     r3, #4\n\t"
    "it      hs\n\t"                        /* skip 0 or 5..7: 64 bytes more than word 0 */
    "addhs   r1, r1, #64\n\t"
    "str     r1, [sp, #104]\n\t"            /* its rows' start */
    "add     r3, r0, r0, lsl #1\n\t"
    "lsls    r3, r3, #2\n\t"
    "it      ne\n\t"
    "subne   r3, r3, #96\n\t"
    "str     r3, [sp, #64]\n\t"             /* the weights' rewind */
    "add     r3, r4, r4, lsl #1\n\t"
    "lsls    r3, r3, #2\n\t"
    "ite     ne\n\t"
    "subne   r3, r3, #96\n\t"
    "subeq   r3, r3, #48\n\t"
    "str     r3, [sp, #108]\n\t"            /* the 1-channel loop's */
    "ldr     r2, [sp, #72]\n\t"
    "cmp     r2, #0\n\t"
    "beq     .Ltg_g_run\n"
    ".Ltg_g_pair:\n\t"                      /* the next row pair into xs (r2: rows left) */
    "ldr     r1, [sp, #68]\n\t"
    "ldr     r3, [sp, #76]\n\t"
    "ldr     r4, [sp, #92]\n\t"
    "ldr     r5, [sp, #96]\n\t"
    "ldr     r0, [sp, #100]\n\t"
    "str     r0, [sp, #24]\n\t"             /* row 0's outputs */
    "add     r0, r0, r5, lsl #1\n\t"
    "str     r0, [sp, #100]\n\t"
    "ldr     r7, [sp, #112]\n\t"
    "adds    r6, r1, r7\n\t"                /* row 1 */
    "cmp     r2, #2\n\t"
    "itt     lt\n\t"                        /* a last odd row: a pair of itself */
    "movlt   r6, r1\n\t"
    "movlt   r5, #0\n\t"
    "str     r5, [sp, #28]\n\t"             /* row 1's output offset */
    "adds    r0, r6, r7\n\t"
    "str     r0, [sp, #68]\n\t"
    "subs    r2, r2, #2\n\t"
    "str     r2, [sp, #72]\n\t"
    "adds    r7, r1, r3\n\t"                /* the end of row 0 (depth % 4 == 0) */
    "lsls    r0, r3, #29\n\t"               /* an odd number of 4-value steps: one first */
    "bpl     .Ltg_g_x2\n\t"
    "ldr     r8, [r1], #4\n\t"
    "ldr     r10, [r6], #4\n\t"
    "sxtb16  r0, r8\n\t"
    "sxtb16  r2, r8, ror #8\n\t"
    "sxtb16  r3, r10\n\t"
    "sxtb16  r5, r10, ror #8\n\t"
    "stmia   r4!, {r0, r2, r3, r5}\n\t"
    "cmp     r1, r7\n\t"
    "beq     .Ltg_g_x0\n"
    ".Ltg_g_x2:\n\t"                        /* two steps a pass */
    "ldr     r8, [r1], #4\n\t"
    "ldr     r10, [r6], #4\n\t"
    "ldr     r9, [r1], #4\n\t"
    "ldr     r11, [r6], #4\n\t"
    "sxtb16  r0, r8\n\t"
    "sxtb16  r2, r8, ror #8\n\t"
    "sxtb16  r3, r10\n\t"
    "sxtb16  r5, r10, ror #8\n\t"
    "stmia   r4!, {r0, r2, r3, r5}\n\t"
    "sxtb16  r0, r9\n\t"
    "sxtb16  r2, r9, ror #8\n\t"
    "sxtb16  r3, r11\n\t"
    "sxtb16  r5, r11, ror #8\n\t"
    "stmia   r4!, {r0, r2, r3, r5}\n\t"
    "cmp     r1, r7\n\t"
    "bne     .Ltg_g_x2\n"
    ".Ltg_g_x0:\n\t"
    "ldr     r3, [sp, #80]\n\t"
    "ldr     r4, [sp, #84]\n\t"
    "ldr     r5, [sp, #88]\n\t"
    "str     r3, [sp, #8]\n\t"
    "str     r4, [sp, #12]\n\t"
    "str     r5, [sp, #16]\n"
    ".Ltg_g_run:\n\t"                       /* the row pair's channel triples */
    "ldr     r0, [sp, #24]\n\t"
#if TG_CFG_DSP_GEMM_POST
    "ldr     r2, [sp, #32]\n\t"
#endif
    "ldr     r3, [sp, #36]\n\t"
    "ldr     r7, [sp, #8]\n\t"              /* weights */
    "add     r1, r3, r3, lsl #1\n\t"
    "add     r1, r1, r0\n\t"
    "subs    r1, r1, #3\n\t"                /* the last triple's row 0 output */
#if TG_CFG_DSP_GEMM_POST
    "str     r1, [sp, #60]\n\t"
    "cmp     r2, #0\n\t"
    "it      ne\n\t"
    "movne   r1, #0\n\t"                    /* ... or 0: no short epilogue with a post */
#endif
    "str     r1, [sp, #56]\n\t"
    "cmp     r3, #0\n\t"                    /* word 36: no triple but one of 1 channel */
    "beq     .Ltg_g_one\n\t"
    TG_G_START
    ".Ltg_g_s0:\n\t"
    TG_G_STEP0
    ".Ltg_g_s1:\n\t"
    TG_G_STEP("16", "12")
    ".Ltg_g_s2:\n\t"
    TG_G_STEP("32", "24")
    ".Ltg_g_s3:\n\t"
    TG_G_STEP("48", "36")
    ".Ltg_g_s4:\n\t"
    TG_G_STEP("64", "48")
    ".Ltg_g_s5:\n\t"
    TG_G_STEP("80", "60")
    ".Ltg_g_s6:\n\t"
    TG_G_STEP("96", "72")
    ".Ltg_g_s7:\n\t"
    TG_G_STEP_MID("112", "84", TG_G_LOOP_END)
    "bne     .Ltg_g_s0\n\t"
    /* the short epilogue (r7: the next triple's weights) */
    "ldr     r6, [sp, #16]\n\t"             /* quant */
    "ldr     r0, [sp, #24]\n\t"             /* row 0's outputs */
    "ldr     r5, [sp, #56]\n\t"
    "ldr     r1, [sp, #28]\n\t"
    TG_G_QUANT("0")                         /* in the same run of loads */
    "cmp     r0, r5\n\t"                    /* the last triple, or a post: the long one */
    "bhs     .Ltg_g_long\n\t"
    "add     r1, r1, r0\n\t"                /* row 1's outputs */
    TG_G_REQ("0", "r8", "r11", "", "s")
    TG_G_OUT_("1", "r9", "r12", "", "s")
    TG_G_QUANT("2")
    "ldr     r8, [sp, #20]\n\t"             /* the quant step, in the same run */
    TG_G_REQ("2", "r10", "lr", "", "s")
    TG_G_NEXT_("r8")
    TG_G_START
#if TG_CFG_DSP_GEMM_POST
    /* the long one (channel 0's constants in r2-r4): the offset (r7) added after the
     * shift, and the last triple's stores */
    ".Ltg_g_long:\n\t"
    "str     r7, [sp, #8]\n\t"
    "add     r1, r1, r0\n\t"
    "ldr     r7, [sp, #32]\n\t"             /* post */
    "ldr     r5, [sp, #60]\n\t"
    "cmp     r0, r5\n\t"                    /* Z: the last triple (the flags survive */
    TG_G_REQ("0", "r8", "r11", TG_G_POST, "")    /* the stores, loads and adds below) */
    TG_G_OUT_("1", "r9", "r12", TG_G_POST, "")
    "beq     .Ltg_g_last\n\t"               /* maybe partial */
    TG_G_CH2
    TG_G_START_("ldr     r7, [sp, #8]\n\t")
    ".Ltg_g_last:\n\t"
    "ldr     r12, [sp, #44]\n\t"            /* channels in it: 0 (3), 1 (3, then 1) or 2 */
    "cmp     r12, #2\n\t"
    "beq     .Ltg_g_done\n\t"
    TG_G_CH2
    "cmp     r12, #1\n\t"
    "bne     .Ltg_g_done\n\t"
#else
    /* the last triple's (no layer adds an offset after the shift: TG_CFG_DSP_GEMM_POST) */
    ".Ltg_g_long:\n\t"
    "str     r7, [sp, #8]\n\t"
    "add     r1, r1, r0\n\t"
    TG_G_REQ("0", "r8", "r11", "", "s")
    TG_G_OUT_("1", "r9", "r12", "", "s")
    "ldr     r12, [sp, #44]\n\t"            /* channels in it: 0 (3), 1 (3, then 1) or 2 */
    "cmp     r12, #2\n\t"
    "beq     .Ltg_g_done\n\t"
    TG_G_QUANT("2")
    "ldr     r8, [sp, #20]\n\t"
    TG_G_REQ("2", "r10", "lr", "", "s")
    TG_G_NEXT_("r8")
    "cmp     r12, #1\n\t"
    "bne     .Ltg_g_done\n\t"
#endif
    ".Ltg_g_one:\n\t"                       /* a last channel alone: 2 rows x 1 channel */
    "ldr     r0, [sp, #12]\n\t"
    "ldr     r7, [sp, #8]\n\t"
    "ldr     r6, [sp, #104]\n\t"
    "ldr     r1, [sp, #108]\n\t"
    "ldr     r2, [sp, #52]\n\t"
    "ldr     r4, [sp, #4]\n\t"
    "ldr     r8, [r0]\n\t"
    "adds    r4, r4, #64\n\t"               /* its last pass's rows */
    "subs    r7, r7, r1\n\t"
    "mov     r11, r8\n\t"
    "bx      r2\n\t"
    ".Ltg_g_o0:\n\t"
    TG_G_STEP1_0
    ".Ltg_g_o1:\n\t"
    TG_G_STEP1("16", "12")
    ".Ltg_g_o2:\n\t"
    TG_G_STEP1("32", "24")
    ".Ltg_g_o3:\n\t"
    TG_G_STEP1_MID("48", "36", "cmp     r6, r4\n\t")
    "bne     .Ltg_g_o0\n\t"
    "ldr     r6, [sp, #16]\n\t"
    "ldr     r0, [sp, #24]\n\t"
    "ldr     r1, [sp, #28]\n\t"
#if TG_CFG_DSP_GEMM_POST
    "ldr     r7, [sp, #32]\n\t"
#endif
    "add     r1, r1, r0\n\t"
    TG_G_OUT_("0", "r8", "r11", TG_G_POSTQ, "s")
    ".Ltg_g_done:\n\t"
    "ldr     r2, [sp, #72]\n\t"
    "cmp     r2, #0\n\t"
    "bgt     .Ltg_g_pair\n\t"
    "add     sp, sp, #124\n\t"
    "pop     {r4-r11, pc}\n\t"
    ".p2align 2\n"
    ".Ltg_g_tab:\n\t"                       /* entry offsets (Thumb bit set) by skip */
    ".hword  .Ltg_g_s0-.Ltg_g_tab+1, .Ltg_g_s1-.Ltg_g_tab+1, .Ltg_g_s2-.Ltg_g_tab+1\n\t"
    ".hword  .Ltg_g_s3-.Ltg_g_tab+1, .Ltg_g_s4-.Ltg_g_tab+1, .Ltg_g_s5-.Ltg_g_tab+1\n\t"
    ".hword  .Ltg_g_s6-.Ltg_g_tab+1, .Ltg_g_s7-.Ltg_g_tab+1\n\t"
    ".hword  .Ltg_g_o0-.Ltg_g_tab-15, .Ltg_g_o1-.Ltg_g_tab-15, .Ltg_g_o2-.Ltg_g_tab-15\n\t"
    ".hword  .Ltg_g_o3-.Ltg_g_tab-15\n\t"
    ".size   tg_dsp_gemm_2x3_thumb2, .-tg_dsp_gemm_2x3_thumb2\n\t"
    ".size   tg_dsp_gemm_2x3_rows_thumb2, .-tg_dsp_gemm_2x3_rows_thumb2\n\t"
    ".popsection\n");
#else


/* Rows r and r+1 (expanded in xs; row 1's outputs ch bytes after row 0's) for every
 * channel triple. */
static void tg_dsp_gemm_rows2(const tg_dsp_gemm_params_t *p, const uint32_t *xs, int32_t quads,
                              int8_t *out, size_t ch)
{
    const int32_t channels = p->channels;
    const int32_t post = p->output_offset;
    const uint32_t *w = (const uint32_t *)p->weights;
    const int32_t *b = p->bias;
    const int32_t *q = p->quant;
    const int32_t q_step = p->quant_step;
    int8_t *o = out;                            /* row 0's next output; row 1's at o + ch */
    int32_t left;                               /* channels from o on */
    for (left = channels; left > 0; left -= 3, b += 3, q += q_step, o += 3) {
        const uint32_t *x = xs;
        uint32_t a00 = (uint32_t)b[0], a01 = (uint32_t)b[1], a02 = (uint32_t)b[2];
        uint32_t a10 = a00, a11 = a01, a12 = a02;     /* a<row><channel> */
        int32_t k;
        for (k = quads >> 2; k > 0; --k) {         /* 16 depth values a pass */
            TG_DSP_BARRIER();
            tg_dsp_step_2x3(x, w, &a00, &a01, &a02, &a10, &a11, &a12);
            TG_DSP_BARRIER();
            tg_dsp_step_2x3(x + 4, w + 3, &a00, &a01, &a02, &a10, &a11, &a12);
            TG_DSP_BARRIER();
            tg_dsp_step_2x3(x + 8, w + 6, &a00, &a01, &a02, &a10, &a11, &a12);
            TG_DSP_BARRIER();
            tg_dsp_step_2x3(x + 12, w + 9, &a00, &a01, &a02, &a10, &a11, &a12);
            x += 16;
            w += 12;
        }
        for (k = quads & 3; k > 0; --k) {
            TG_DSP_BARRIER();
            tg_dsp_step_2x3(x, w, &a00, &a01, &a02, &a10, &a11, &a12);
            x += 4;
            w += 3;
        }
        {
            const tg_dsp_rq2_t q0 = tg_dsp_gemm_rq(q, 0, post);
            o[0] = tg_dsp_gemm_out(a00, &q0);
            o[ch] = tg_dsp_gemm_out(a10, &q0);
        }
        if (left > 1) {
            const tg_dsp_rq2_t q1 = tg_dsp_gemm_rq(q, 1, post);
            o[1] = tg_dsp_gemm_out(a01, &q1);
            o[ch + 1] = tg_dsp_gemm_out(a11, &q1);
        }
        if (left > 2) {
            const tg_dsp_rq2_t q2 = tg_dsp_gemm_rq(q, 2, post);
            o[2] = tg_dsp_gemm_out(a02, &q2);
            o[ch + 2] = tg_dsp_gemm_out(a12, &q2);
        }
    }
}

#endif /* !TG_DSP_GEMM_ASM */
#endif /* TG_CFG_DSP_GEMM_PAIRS */

#if TG_CFG_DSP_GEMM_ROW1        /* rows one at a time (no scratch) */
/* Channel w's 4-value weight word into the sum a of the row's pairs xe, xo. */
#define TG_DSP_CH_1ROW(w, a)                                           \
    do {                                                               \
        uint32_t we_ = (w), wo_ = tg_sxtb16_ror8(we_);                 \
        we_ = tg_sxtb16(we_);                                          \
        TG_DSP_MAC2(a, xe, we_);                                       \
        TG_DSP_MAC2(a, xo, wo_);                                       \
    } while (0)

/* 1 row (the int8 word xw) x 1 channel triple (words w[0..2]) x 4 depth. */
TG_INLINE void tg_dsp_step_1x3(uint32_t xw, const uint32_t *w, uint32_t *a0, uint32_t *a1,
                               uint32_t *a2)
{
    const volatile uint32_t *wv = w;      /* three single loads in a row (not LDRD) */
    const uint32_t w0 = wv[0], w1 = wv[1], w2 = wv[2];
    const uint32_t xe = tg_sxtb16(xw), xo = tg_sxtb16_ror8(xw);
    TG_DSP_CH_1ROW(w0, *a0);
    TG_DSP_CH_1ROW(w1, *a1);
    TG_DSP_CH_1ROW(w2, *a2);
}

/* One row x for every channel, a channel triple at a time (every weight used once). */
static void tg_dsp_gemm_row1(const tg_dsp_gemm_params_t *p, const int8_t *x, int8_t *out)
{
    const int32_t channels = p->channels;
    const int32_t full = p->depth >> 2;
    const int32_t tail = p->depth & 3;
    const uint32_t xt = tg_dsp_gemm_tail(x + 4 * full, tail);
    const uint32_t *w = (const uint32_t *)p->weights;
    const int32_t *b = p->bias;
    const int32_t *q = p->quant;
    const int32_t q_step = p->quant_step;
    const int32_t post = p->output_offset;
    int32_t c, k;
    for (c = 0; c < channels; c += 3, b += 3, q += q_step) {
        const int8_t *xp = x;
        uint32_t a0 = (uint32_t)b[0], a1 = (uint32_t)b[1], a2 = (uint32_t)b[2];
        if (full & 1) {
            tg_dsp_step_1x3(tg_read_s8x4(xp), w, &a0, &a1, &a2);
            xp += 4;
            w += 3;
        }
        for (k = full >> 1; k > 0; --k) {
            TG_DSP_BARRIER();
            tg_dsp_step_1x3(tg_read_s8x4(xp), w, &a0, &a1, &a2);
            TG_DSP_BARRIER();
            tg_dsp_step_1x3(tg_read_s8x4(xp + 4), w + 3, &a0, &a1, &a2);
            xp += 8;
            w += 6;
        }
        if (tail) {
            tg_dsp_step_1x3(xt, w, &a0, &a1, &a2);
            w += 3;
        }
        {
            const tg_dsp_rq2_t q0 = tg_dsp_gemm_rq(q, 0, post);
            out[c] = tg_dsp_gemm_out(a0, &q0);
        }
        if (c + 1 < channels) {
            const tg_dsp_rq2_t q1 = tg_dsp_gemm_rq(q, 1, post);
            out[c + 1] = tg_dsp_gemm_out(a1, &q1);
        }
        if (c + 2 < channels) {
            const tg_dsp_rq2_t q2 = tg_dsp_gemm_rq(q, 2, post);
            out[c + 2] = tg_dsp_gemm_out(a2, &q2);
        }
    }
}
#endif /* TG_CFG_DSP_GEMM_ROW1 */

#if TG_CFG_DSP_GEMM_CLAMP
/* The activation clamp of n outputs at o, a value at a time: a rare pass (the quantization
 * of most layers makes their activation the whole int8 range), kept short. */
static void tg_dsp_gemm_clamp(int8_t *o, size_t n, int32_t lo, int32_t hi)
{
    size_t k;
    for (k = 0; k < n; ++k) {
        o[k] = (int8_t)tg_clamp(o[k], lo, hi);
    }
}
#endif

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output,
                    void *scratch)
{
    const int32_t rows = p->rows, depth = p->depth;    /* kept across the calls below */
    const int32_t quads = (depth + 3) >> 2;
    const size_t ch = (size_t)p->channels;
    uint32_t *xs = (uint32_t *)scratch;
    int32_t r;
    const int gather = p->out_w != 1 || p->out_h != 1;
#if TG_CFG_DSP_GEMM_PAIRS
#if TG_DSP_GEMM_ASM
    r = 0;
    if (xs != NULL && (depth & 3) == 0 && (!gather || rows <= p->out_w)) {
        /* every row pair in the assembly, expansion included (row r at input +
         * r * stride_w * depth: a gather within one output line, as a fused residual
         * block's shortcut runs it) */
        tg_dsp_gemm_2x3_rows_thumb2(p, input, output, xs);
        r = rows;
    }
#else
    r = 0;
#endif
#if TG_DSP_GEMM_PAIR_CALLS
    for (; xs != NULL && r < rows; r += 2) {
        /* a last odd row is taken as a pair of itself, its outputs written twice in place */
        const size_t row1 = r + 1 < rows ? ch : 0;
        const int8_t *x0 = input + (size_t)r * (size_t)depth;
        const int8_t *x1 = row1 ? x0 + depth : x0;
        int8_t *out = output + (size_t)r * ch;
        if (gather) {
            x0 = tg_dsp_gemm_row(p, input, r);
            x1 = row1 ? tg_dsp_gemm_row(p, input, r + 1) : x0;
        }
        tg_dsp_gemm_expand2(x0, x1, depth, xs);
#if TG_DSP_GEMM_ASM
        tg_dsp_gemm_2x3_thumb2(p, xs, out, row1);
#else
        tg_dsp_gemm_rows2(p, xs, quads, out, row1);
#endif
    }
#else
    (void)gather;
#endif /* TG_DSP_GEMM_PAIR_CALLS */
#else
    r = 0;
    (void)xs;
    (void)gather;
#endif /* TG_CFG_DSP_GEMM_PAIRS */
#if TG_CFG_DSP_GEMM_ROW1
    for (; r < rows; ++r) {
        tg_dsp_gemm_row1(p, tg_dsp_gemm_row(p, input, r), output + (size_t)r * ch);
    }
#endif
#if TG_CFG_DSP_GEMM_CLAMP
    if (p->act_min > -128 || p->act_max < 127) {
        tg_dsp_gemm_clamp(output, (size_t)p->rows * ch, p->act_min, p->act_max);
    }
#endif
    (void)r;
    (void)quads;
    (void)ch;
}

#if TG_CFG_DSP_GEMM_PAIRS       /* tg_dsp_cw_gemm_s8 sets it (kernel_config.GEMM_CALLERS) */
/* p->rows rows already sign-extended in xs as pairs (the layout tg_dsp_gemm_expand2
 * writes: per 4-value step, row 0's even and odd pairs, then row 1's; a last odd row as a
 * pair of itself), for every channel of p (its row gather unused): row r's outputs at
 * out + r * stride, clamped.  Kernels that reuse expanded rows across calls
 * (tg_dsp_cw_gemm.c) run the same pass as tg_dsp_gemm_s8 through it. */
void tg_dsp_gemm_xrows_s8(const tg_dsp_gemm_params_t *p, const uint32_t *xs, int8_t *out,
                          size_t stride)
{
    const int32_t quads = (p->depth + 3) >> 2;
    int32_t r;
    for (r = 0; r < p->rows; r += 2, out += 2 * stride) {
        const size_t row1 = r + 1 < p->rows ? stride : 0;
#if TG_DSP_GEMM_ASM
        tg_dsp_gemm_2x3_thumb2(p, xs + (size_t)(r >> 1) * 4u * (size_t)quads, out, row1);
#else
        tg_dsp_gemm_rows2(p, xs + (size_t)(r >> 1) * 4u * (size_t)quads, quads, out, row1);
#endif
#if TG_CFG_DSP_GEMM_CLAMP
        if (p->act_min > -128 || p->act_max < 127) {
            tg_dsp_gemm_clamp(out, (size_t)p->channels, p->act_min, p->act_max);
            tg_dsp_gemm_clamp(out + row1, (size_t)p->channels, p->act_min, p->act_max);
        }
#endif
    }
}
#endif /* TG_CFG_DSP_GEMM_PAIRS */
