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
 * 4-value steps without a gather tg_dsp_gemm_2x3_rows_thumb2 also expands and walks the
 * pairs itself (the same order: each pair expanded before its outputs are written).
 */
#include "tg_dsp_gemm.h"

#include "tg_acle.h"
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_GEMM_*) */
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
 * without the assembly; with it, only for row gathers and depths not a multiple of 4
 * (TG_CFG_DSP_GEMM_PAIR_CALL: the others walk all their rows in the assembly). */
#define TG_DSP_GEMM_PAIR_CALLS \
    (TG_CFG_DSP_GEMM_PAIRS && (!TG_DSP_GEMM_ASM || TG_CFG_DSP_GEMM_PAIR_CALL))

#if TG_DSP_GEMM_PAIR_CALLS || TG_CFG_DSP_GEMM_ROW1
/* The first n (1..3) int8 values at x as a word, zero above. */
static uint32_t tg_dsp_gemm_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | (uint8_t)x[n];
    }
    return v;
}
#endif

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
        dst[0] = tg_sxtb16(v0);
        dst[1] = tg_sxtb16_ror8(v0);
        dst[2] = tg_sxtb16(v1);
        dst[3] = tg_sxtb16_ror8(v1);
        dst[4] = tg_sxtb16(u0);
        dst[5] = tg_sxtb16_ror8(u0);
        dst[6] = tg_sxtb16(u1);
        dst[7] = tg_sxtb16_ror8(u1);
        dst += 8;
    }
    if (k + 4 <= depth) {
        const uint32_t v0 = tg_read_s8x4(x0 + k), v1 = tg_read_s8x4(x1 + k);
        dst[0] = tg_sxtb16(v0);
        dst[1] = tg_sxtb16_ror8(v0);
        dst[2] = tg_sxtb16(v1);
        dst[3] = tg_sxtb16_ror8(v1);
        dst += 4;
        k += 4;
    }
    if (k < depth) {
        const uint32_t v0 = tg_dsp_gemm_tail(x0 + k, depth - k);
        const uint32_t v1 = tg_dsp_gemm_tail(x1 + k, depth - k);
        dst[0] = tg_sxtb16(v0);
        dst[1] = tg_sxtb16_ror8(v0);
        dst[2] = tg_sxtb16(v1);
        dst[3] = tg_sxtb16_ror8(v1);
    }
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
 * its state in a stack frame.  One 4-value step (27 cycles for 24 MACs): the rows' even
 * pairs and the three weight words in one run of loads (each after the first 1 cycle),
 * then the odd pairs; each weight word sign-extended twice (SXTB16, SXTB16 ROR #8) for 4
 * SMLAD; 8 steps a loop pass, whose first step's loads move the row and weight pointers
 * on by a pass (post-indexed: the other loads are at negative offsets) and ended by
 * comparing the row pointer; a first pass of 1 to 7 steps enters the body at a later step,
 * through an entry address and weight rewind computed once per call; then the six
 * requantizations (tg_dsp_requantize_hm) and stores.
 * A triple that is neither the last nor has an offset to add after the shift (post 0: the
 * generator folds the offset into `half` where it fits) takes the short epilogue: the
 * weight pointer stays in r7 and the next triple starts without a branch but its entry's.
 *
 * Its argument: 12 words, copied to the stack: 0 the row pointer a first pass starts with
 * (xs less 16 bytes a skipped step, plus a pass, 128, when it skips steps: the step 0 that
 * moves it on is skipped too), 4 the row pointer at the end of the last pass, 8 weights
 * (advanced, only stored when leaving the short epilogue), 12 biases (advanced), 16 quant
 * (advanced), 20 quant step in bytes, 24 row 0's output (advanced), 28 row 1's output
 * offset, 32 post, 36 the channel triples of 2 or 3 channels, 40 the steps the first pass
 * skips (-quads & 7: it enters the loop body there), 44 channels % 3 (2: the last triple
 * stores 2 channels; 1: a last channel runs alone, 2 rows x 1 channel, without its padding
 * channels' products).  Computed below them once per call: 48 the 3-channel loop's entry, 52
 * the 1-channel loop's, 64 the weights' rewind (12 bytes a skipped step, less 96 when steps
 * are skipped); once per row pair: 56 the last triple's row 0 output (0 when post is not 0:
 * no triple takes the short epilogue), 60 the same.
 * tg_dsp_gemm_2x3_rows_thumb2(frame, input, rows, depth) takes words 6 and 7 as the first
 * pair's outputs and the channel count, and walks every row pair (depth % 4 == 0, row r at
 * input + r * depth), expanding each into xs as tg_dsp_gemm_expand2 does; its state: 68 the
 * next pair's row 0, 72 the rows left (0 for tg_dsp_gemm_2x3_thumb2: one pair), 76 depth,
 * 80, 84, 88 the first triple's weights, biases and quant (reset for each pair), 92 xs, 96
 * channels, 100 the next pair's row 0 output; and once per call, for the 1-channel loop's
 * 4-step passes (it enters at step skip & 3): 104 its row pointer's start, 108 its weights'
 * rewind (29 words in all).
 */
void tg_dsp_gemm_2x3_thumb2(const uint32_t *frame);
void tg_dsp_gemm_2x3_rows_thumb2(const uint32_t *frame, const int8_t *input, int32_t rows,
                                 int32_t depth);

/* One 4-value step at byte offsets X (rows, r6) and W (weights, r7) in two halves: the
 * rows' even pairs (r8, r9) with the three channels' weight words (r10-r12, loaded in the
 * same run) sign-extended by SXTB16, then the odd pairs with SXTB16 ROR #8 of the same words.
 * MID goes between the odd pairs' loads and their products (the loop end's comparison). */
#define TG_G_STEP_(X0E, W0, X, W, MID)                                  \
    X0E                                                                 \
    "ldr     r9, [r6, #" X "+8-128]\n\t"                                \
    W0                                                                  \
    "ldr     r11, [r7, #" W "+4-96]\n\t"                                \
    "ldr     r12, [r7, #" W "+8-96]\n\t"                                \
    TG_ASM_2X3_HALF("")                                                 \
    "ldr     r8, [r6, #" X "+4-128]\n\t"                                \
    "ldr     r9, [r6, #" X "+12-128]\n\t"                               \
    MID                                                                 \
    TG_ASM_2X3_HALF(", ror #8")

/* The pointers are a pass (128 and 96 bytes) ahead of the step offsets X and W: the
 * first step's loads move them on (post-indexed), so the loop end needs no adds. */
#define TG_G_STEP_MID(X, W, MID)                                        \
    TG_G_STEP_("ldr     r8, [r6, #" X "-128]\n\t",                       \
               "ldr     r10, [r7, #" W "-96]\n\t", X, W, MID)
#define TG_G_STEP(X, W) TG_G_STEP_MID(X, W, "")
#define TG_G_STEP0                                                      \
    TG_G_STEP_("ldr     r8, [r6], #128\n\t", "ldr     r10, [r7], #96\n\t", "0", "0", "")

/* channel J's constants (M', s, half) from the quant words at r6 into r10-r12 */
#define TG_G_QUANT(J)                                                   \
    "ldr     r10, [r6, #4*" J "]\n\t"                                   \
    "ldr     r11, [r6, #12+4*" J "]\n\t"                                \
    "ldr     r12, [r6, #24+4*" J "]\n\t"

/* channel J's sums A0, A1 requantized (its constants in r10-r12) and stored at r8[J] and
 * r9[J]; POST is the add of the offset (in r7) after the shift, or nothing */
#define TG_G_REQ(J, A0, A1, POST)                                       \
    TG_DSP_RQ_HM_ASM(A0, "r10", "r11", "r12", POST, "[r8, #" J "]")     \
    TG_DSP_RQ_HM_ASM(A1, "r10", "r11", "r12", POST, "[r9, #" J "]")

#define TG_G_POST "add     lr, lr, r7\n\t"
#define TG_G_OUT_(J, A0, A1, POST) TG_G_QUANT(J) TG_G_REQ(J, A0, A1, POST)
#define TG_G_OUT(J, A0, A1) TG_G_OUT_(J, A0, A1, "")
#define TG_G_OUTP(J, A0, A1) TG_G_OUT_(J, A0, A1, TG_G_POST)

/* The 1-channel step (a last triple of one channel: its padding channels' products
 * skipped): the rows' even pairs and the weight word, then the odd pairs.  Its loop
 * passes are 4 steps (64 and 48 bytes: it runs once a row pair, the 3-channel loop once
 * a triple), the pointers a pass ahead of the step offsets X and W as there. */
#define TG_G_STEP1_(X0E, W0, X, MID)                                    \
    X0E                                                                 \
    "ldr     r9, [r6, #" X "+8-64]\n\t"                                 \
    W0                                                                  \
    "sxtb16  lr, r10\n\t"                                               \
    "smlad   r0, r8, lr, r0\n\t"                                        \
    "smlad   r3, r9, lr, r3\n\t"                                        \
    "ldr     r8, [r6, #" X "+4-64]\n\t"                                 \
    "ldr     r9, [r6, #" X "+12-64]\n\t"                                \
    MID                                                                 \
    "sxtb16  lr, r10, ror #8\n\t"                                       \
    "smlad   r0, r8, lr, r0\n\t"                                        \
    "smlad   r3, r9, lr, r3\n\t"

#define TG_G_STEP1_MID(X, W, MID)                                       \
    TG_G_STEP1_("ldr     r8, [r6, #" X "-64]\n\t",                       \
                "ldr     r10, [r7, #" W "-48]\n\t", X, MID)
#define TG_G_STEP1(X, W) TG_G_STEP1_MID(X, W, "")
#define TG_G_STEP1_0                                                    \
    TG_G_STEP1_("ldr     r8, [r6], #64\n\t", "ldr     r10, [r7], #48\n\t", "0", "")

/* A triple's start (its weights in r7, or loaded by LOADW): the biases into both rows'
 * sums, rows (r6) and weights (r7) moved back by the skipped steps, and the jump to the
 * step the first pass enters at. */
#define TG_G_START TG_G_START_("")
#define TG_G_START_(LOADW)                                              \
    "ldr     r8, [sp, #12]\n\t"                                         \
    "ldr     r6, [sp, #0]\n\t"                                          \
    "ldr     r12, [sp, #64]\n\t"                                        \
    "ldr     lr, [sp, #48]\n\t"                                         \
    LOADW                                                               \
    "ldm     r8!, {r0, r1, r2}\n\t"                                     \
    "str     r8, [sp, #12]\n\t"                                         \
    "sub     r7, r7, r12\n\t"                                           \
    "mov     r3, r0\n\t"                                                \
    "mov     r4, r1\n\t"                                                \
    "mov     r5, r2\n\t"                                                \
    "bx      lr\n\t"

/* quant and row 0's output (r6, r8) moved on to the next triple (the quant step in STEP) */
#define TG_G_NEXT_(STEP)                                                \
    "add     r6, r6, " STEP "\n\t"                                      \
    "str     r6, [sp, #16]\n\t"                                         \
    "add     r8, r8, #3\n\t"                                            \
    "str     r8, [sp, #24]\n\t"

/* the long epilogue's channel 2 and the step to the next triple (the flags survive) */
#define TG_G_CH2                                                        \
    TG_G_QUANT("2")                                                     \
    "ldr     r0, [sp, #20]\n\t"                                         \
    TG_G_REQ("2", "r2", "r5", TG_G_POST)                                \
    TG_G_NEXT_("r0")

#define TG_G_LOOP_END                                                   \
    "ldr     lr, [sp, #4]\n\tcmp     r6, lr\n\t"

__asm__(
    ".pushsection .text.tg_dsp_gemm_2x3_thumb2,\"ax\",%progbits\n\t"
    ".syntax unified\n\t"
    ".thumb\n\t"
    ".p2align 2\n\t"
    ".global tg_dsp_gemm_2x3_thumb2\n\t"
    ".type   tg_dsp_gemm_2x3_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_gemm_2x3_thumb2:\n\t"           /* one row pair (words 6 and 7 set) */
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #116\n\t"
    "movs    r1, #0\n\t"
    "str     r1, [sp, #72]\n\t"             /* no rows left after it */
    "ldm     r0, {r1-r12}\n\t"
    "stm     sp, {r1-r12}\n\t"
    "b       .Ltg_g_derive\n\t"
    ".global tg_dsp_gemm_2x3_rows_thumb2\n\t"
    ".type   tg_dsp_gemm_2x3_rows_thumb2, %function\n\t"
    ".thumb_func\n"
    "tg_dsp_gemm_2x3_rows_thumb2:\n\t"      /* all rows, expanded a pair at a time */
    "push    {r4-r11, lr}\n\t"
    "sub     sp, sp, #116\n\t"
    "str     r1, [sp, #68]\n\t"             /* the next pair's first input row */
    "str     r2, [sp, #72]\n\t"             /* rows left */
    "str     r3, [sp, #76]\n\t"             /* depth */
    "ldm     r0, {r1-r12}\n\t"
    "stm     sp, {r1-r12}\n\t"
    "str     r3, [sp, #80]\n\t"             /* the first triple's weights, biases, quant */
    "str     r4, [sp, #84]\n\t"
    "str     r5, [sp, #88]\n\t"
    "add     r0, r1, r11, lsl #4\n\t"
    "cmp     r11, #0\n\t"
    "it      ne\n\t"
    "subne   r0, r0, #128\n\t"
    "str     r0, [sp, #92]\n\t"             /* xs */
    "str     r8, [sp, #96]\n\t"             /* channels (word 7) */
    "str     r7, [sp, #100]\n"               /* the next pair's outputs (word 6) */
    ".Ltg_g_derive:\n\t"
    "adr.w   r0, .Ltg_g_tab\n\t"            /* the loops' entries for this skip */
    "ldr     lr, [r0, r11, lsl #2]\n\t"
    "add     lr, lr, r0\n\t"
    "str     lr, [sp, #48]\n\t"
    "add     r0, r0, #32\n\t"
    "and     r1, r11, #3\n\t"               /* the 1-channel loop's skip */
    "ldr     lr, [r0, r1, lsl #2]\n\t"
    "add     lr, lr, r0\n\t"
    "str     lr, [sp, #52]\n\t"
    "ldr     r0, [sp, #0]\n\t"
    "sub     r2, r11, #1\n\t"
    "cmp     r2, #4\n\t"
    "it      lo\n\t"                        /* skip 1..4: 64 bytes less than word 0 */
    "sublo   r0, r0, #64\n\t"
    "str     r0, [sp, #104]\n\t"            /* its rows' start */
    "add     r1, r1, r1, lsl #1\n\t"
    "lsls    r1, r1, #2\n\t"
    "it      ne\n\t"
    "subne   r1, r1, #48\n\t"
    "str     r1, [sp, #108]\n\t"            /* its weights' rewind */
    "cmp     r11, #0\n\t"
    "add     r11, r11, r11, lsl #1\n\t"
    "lsl     r11, r11, #2\n\t"
    "it      ne\n\t"
    "subne   r11, r11, #96\n\t"
    "str     r11, [sp, #64]\n\t"            /* the weights' rewind */
    "ldr     r2, [sp, #72]\n\t"
    "cmp     r2, #0\n\t"
    "beq     .Ltg_g_run\n"
    ".Ltg_g_pair:\n\t"                      /* the next row pair into xs (r2: rows left) */
    "ldr     r1, [sp, #68]\n\t"
    "ldr     r3, [sp, #76]\n\t"
    "ldr     r4, [sp, #92]\n\t"
    "ldr     r12, [sp, #96]\n\t"
    "ldr     r0, [sp, #100]\n\t"
    "str     r0, [sp, #24]\n\t"             /* row 0's outputs */
    "add     r0, r0, r12, lsl #1\n\t"
    "str     r0, [sp, #100]\n\t"
    "add     r5, r1, r3\n\t"                /* row 1 */
    "cmp     r2, #2\n\t"
    "itt     lt\n\t"                        /* a last odd row: a pair of itself */
    "movlt   r5, r1\n\t"
    "movlt   r12, #0\n\t"
    "str     r12, [sp, #28]\n\t"            /* row 1's output offset */
    "add     r0, r5, r3\n\t"
    "str     r0, [sp, #68]\n\t"
    "subs    r2, r2, #2\n\t"
    "str     r2, [sp, #72]\n\t"
    "add     r6, r1, r3\n\t"                /* the end of row 0 (depth % 4 == 0) */
    "lsls    r0, r3, #29\n\t"               /* an odd number of 4-value steps: one first */
    "bpl     .Ltg_g_x2\n\t"
    "ldr     r11, [r1], #4\n\t"
    "ldr     lr, [r5], #4\n\t"
    "sxtb16  r7, r11\n\t"
    "sxtb16  r8, r11, ror #8\n\t"
    "sxtb16  r9, lr\n\t"
    "sxtb16  r10, lr, ror #8\n\t"
    "stmia   r4!, {r7-r10}\n\t"
    "cmp     r1, r6\n\t"
    "beq     .Ltg_g_x0\n"
    ".Ltg_g_x2:\n\t"                        /* two steps a pass */
    "ldr     r11, [r1], #4\n\t"
    "ldr     lr, [r5], #4\n\t"
    "ldr     r0, [r1], #4\n\t"
    "ldr     r2, [r5], #4\n\t"
    "sxtb16  r7, r11\n\t"
    "sxtb16  r8, r11, ror #8\n\t"
    "sxtb16  r9, lr\n\t"
    "sxtb16  r10, lr, ror #8\n\t"
    "stmia   r4!, {r7-r10}\n\t"
    "sxtb16  r7, r0\n\t"
    "sxtb16  r8, r0, ror #8\n\t"
    "sxtb16  r9, r2\n\t"
    "sxtb16  r10, r2, ror #8\n\t"
    "stmia   r4!, {r7-r10}\n\t"
    "cmp     r1, r6\n\t"
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
    "ldr     r9, [sp, #32]\n\t"
    "ldr     r10, [sp, #36]\n\t"
    "ldr     r7, [sp, #8]\n\t"              /* weights */
    "add     r1, r10, r10, lsl #1\n\t"
    "add     r1, r1, r0\n\t"
    "sub     r1, r1, #3\n\t"
    "str     r1, [sp, #60]\n\t"             /* the last triple's row 0 output */
    "cmp     r9, #0\n\t"
    "it      ne\n\t"
    "movne   r1, #0\n\t"
    "str     r1, [sp, #56]\n\t"             /* ... or 0: no short epilogue with a post */
    "cmp     r10, #0\n\t"                   /* word 36: no triple but one of 1 channel */
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
    "ldr     r8, [sp, #24]\n\t"             /* row 0's outputs */
    "ldr     r9, [sp, #56]\n\t"
    "ldr     lr, [sp, #28]\n\t"
    TG_G_QUANT("0")                         /* in the same run of loads */
    "cmp     r8, r9\n\t"                    /* the last triple, or a post: the long one */
    "bhs     .Ltg_g_long\n\t"
    "add     r9, lr, r8\n\t"                /* row 1's outputs */
    TG_G_REQ("0", "r0", "r3", "")
    TG_G_OUT("1", "r1", "r4")
    TG_G_QUANT("2")
    "ldr     r0, [sp, #20]\n\t"             /* the quant step, in the same run */
    TG_G_REQ("2", "r2", "r5", "")
    TG_G_NEXT_("r0")
    TG_G_START
    /* the long one (channel 0's constants in r10-r12): the offset (r7) added after the
     * shift, and the last triple's stores */
    ".Ltg_g_long:\n\t"
    "str     r7, [sp, #8]\n\t"
    "add     r9, lr, r8\n\t"
    "ldr     r7, [sp, #32]\n\t"             /* post */
    "ldr     lr, [sp, #60]\n\t"
    "cmp     r8, lr\n\t"                    /* Z: the last triple (the flags survive */
    TG_G_REQ("0", "r0", "r3", TG_G_POST)    /* the stores, loads and adds below) */
    TG_G_OUTP("1", "r1", "r4")
    "beq     .Ltg_g_last\n\t"               /* maybe partial */
    TG_G_CH2
    TG_G_START_("ldr     r7, [sp, #8]\n\t")
    ".Ltg_g_last:\n\t"
    "ldr     r1, [sp, #44]\n\t"             /* channels in it: 0 (3), 1 (3, then 1) or 2 */
    "cmp     r1, #2\n\t"
    "beq     .Ltg_g_done\n\t"
    TG_G_CH2
    "cmp     r1, #1\n\t"
    "bne     .Ltg_g_done\n\t"
    ".Ltg_g_one:\n\t"                       /* a last channel alone: 2 rows x 1 channel */
    "ldr     r8, [sp, #12]\n\t"
    "ldr     r7, [sp, #8]\n\t"
    "ldr     r6, [sp, #104]\n\t"
    "ldr     r12, [sp, #108]\n\t"
    "ldr     lr, [sp, #52]\n\t"
    "ldr     r11, [sp, #4]\n\t"             /* the rows' end */
    "ldr     r0, [r8]\n\t"
    "sub     r7, r7, r12\n\t"
    "mov     r3, r0\n\t"
    "bx      lr\n\t"
    ".Ltg_g_o0:\n\t"
    TG_G_STEP1_0
    ".Ltg_g_o1:\n\t"
    TG_G_STEP1("16", "12")
    ".Ltg_g_o2:\n\t"
    TG_G_STEP1("32", "24")
    ".Ltg_g_o3:\n\t"
    TG_G_STEP1_MID("48", "36", "cmp     r6, r11\n\t")
    "bne     .Ltg_g_o0\n\t"
    "ldr     r6, [sp, #16]\n\t"
    "ldr     r8, [sp, #24]\n\t"
    "ldr     r12, [sp, #28]\n\t"
    "ldr     r7, [sp, #32]\n\t"
    "add     r9, r12, r8\n\t"
    TG_G_OUTP("0", "r0", "r3")
    ".Ltg_g_done:\n\t"
    "ldr     r2, [sp, #72]\n\t"
    "cmp     r2, #0\n\t"
    "bgt     .Ltg_g_pair\n\t"
    "add     sp, sp, #116\n\t"
    "pop     {r4-r11, pc}\n\t"
    ".p2align 2\n"
    ".Ltg_g_tab:\n\t"                       /* entry offsets (Thumb bit set) by skip */
    ".word   .Ltg_g_s0-.Ltg_g_tab+1, .Ltg_g_s1-.Ltg_g_tab+1, .Ltg_g_s2-.Ltg_g_tab+1\n\t"
    ".word   .Ltg_g_s3-.Ltg_g_tab+1, .Ltg_g_s4-.Ltg_g_tab+1, .Ltg_g_s5-.Ltg_g_tab+1\n\t"
    ".word   .Ltg_g_s6-.Ltg_g_tab+1, .Ltg_g_s7-.Ltg_g_tab+1\n\t"
    ".word   .Ltg_g_o0-.Ltg_g_tab-31, .Ltg_g_o1-.Ltg_g_tab-31, .Ltg_g_o2-.Ltg_g_tab-31\n\t"
    ".word   .Ltg_g_o3-.Ltg_g_tab-31\n\t"
    ".size   tg_dsp_gemm_2x3_thumb2, .-tg_dsp_gemm_2x3_thumb2\n\t"
    ".size   tg_dsp_gemm_2x3_rows_thumb2, .-tg_dsp_gemm_2x3_rows_thumb2\n\t"
    ".popsection\n");

/* The frame of tg_dsp_gemm_2x3_thumb2 (above) for rows expanded in xs; words 6 and 7 (the
 * outputs) are set for each row pair. */
static void tg_dsp_gemm_2x3_frame(const tg_dsp_gemm_params_t *p, const uint32_t *xs,
                                  int32_t quads, uint32_t *f)
{
    /* the first pass starts `skip` steps into the 8-step loop body: its pointers are moved
     * back by as many steps (integers, never dereferenced there) */
    const uint32_t skip = (uint32_t)(-quads & 7);
    const uint32_t x0 = (uint32_t)(uintptr_t)xs - 16u * skip;
    f[0] = skip ? x0 + 128u : x0;           /* a pass ahead, as after the first step */
    f[1] = x0 + 128u * ((uint32_t)(quads + 7) / 8u);
    f[2] = (uint32_t)(uintptr_t)p->weights;
    f[3] = (uint32_t)(uintptr_t)p->bias;
    f[4] = (uint32_t)(uintptr_t)p->quant;
    f[5] = (uint32_t)p->quant_step * 4u;
    f[6] = 0u;
    f[7] = 0u;
    f[8] = (uint32_t)p->output_offset;
    f[9] = (uint32_t)(p->channels + 1) / 3u;      /* a last channel alone runs on its own */
    f[10] = skip;
    f[11] = (uint32_t)(p->channels % 3);
}
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
/* The activation clamp of n outputs at o, four at a time (SSUB8 + SEL). */
static void tg_dsp_gemm_clamp(int8_t *o, size_t n, int32_t lo, int32_t hi)
{
    const uint32_t lo4 = 0x01010101u * (uint32_t)(uint8_t)lo;
    const uint32_t hi4 = 0x01010101u * (uint32_t)(uint8_t)hi;
    const int8_t *const end4 = o + (n & ~(size_t)3);
    size_t k;
    for (; o != end4; o += 4) {
        tg_write_s8x4(o, tg_clamp_s8x4(tg_read_s8x4(o), lo4, hi4));
    }
    for (k = 0; k < (n & 3); ++k) {
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
    uint32_t f[12];
    r = 0;
    if (xs != NULL) {
        tg_dsp_gemm_2x3_frame(p, xs, quads, f);
        if (!gather && (depth & 3) == 0) {
            /* every row pair in the assembly, expansion included */
            f[6] = (uint32_t)(uintptr_t)output;
            f[7] = (uint32_t)ch;
            tg_dsp_gemm_2x3_rows_thumb2(f, input, rows, depth);
            r = rows;
        }
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
        f[6] = (uint32_t)(uintptr_t)out;
        f[7] = (uint32_t)row1;
        tg_dsp_gemm_2x3_thumb2(f);
#else
        tg_dsp_gemm_rows2(p, xs, quads, out, row1);
#endif
    }
#else
    (void)gather;
#endif /* TG_DSP_GEMM_PAIR_CALLS */
#else
    r = 0;
    (void)quads;
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
        uint32_t f[12];     /* the frame made afresh per pair (its words are the asm's) */
        tg_dsp_gemm_2x3_frame(p, xs + (size_t)(r >> 1) * 4u * (size_t)quads, quads, f);
        f[6] = (uint32_t)(uintptr_t)out;
        f[7] = (uint32_t)row1;
        tg_dsp_gemm_2x3_thumb2(f);
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
