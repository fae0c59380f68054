/*
 * tg_dsp_sparse_gemm.c - GEMM over the non-zero weights with the DSP extension.
 *
 * Same arithmetic as tg_dsp_gemm_s8 (TFLite's reference FullyConnected / 1x1 Conv with the
 * input zero point folded into the bias, exact modulo 2^32; the requantization of
 * tg_dsp_requant.h): TFLite int8 filters have zero point 0, so a zero weight's product is
 * exactly 0 and skipping it changes nothing.  The cost follows the entries (non-zero
 * weights, fillers for gaps over 15, padding to groups of 4), not the depth; a channel of
 * zeros costs its bias and requantization only.
 *
 * Four rows at a time: the rows are copied once into `scratch` as int16 pairs, per depth
 * value d two words (rows 0 and 1, rows 2 and 3), so one pointer walks all four; per
 * entry the pointer moves on by 8 bytes times the delta, two words are loaded and the
 * weight (one SXTB16 lane) serves four SMLAxy.  One row left over (a batch-1 fully
 * connected layer) reads its int8 values in place, one SMLAxy per entry; two or three
 * left over run as four rows, the last row repeated.
 *
 * Access order (in-place contract of tg_dsp_gemm_s8): output rows in increasing order, in
 * blocks of four (or one); a block's input rows are copied to the scratch before any of its
 * outputs is written, except the single-row block, which reads its row while writing it.
 */
#include "tg_dsp_sparse_gemm.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

/* The inner loops in Thumb-2 assembly where the compiler optimizes (at -O0 the frame
 * pointer leaves too few registers; GCC's own code for them spills the pointers): the
 * same instructions as the C below, which every other build runs. */
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__)) && defined(__OPTIMIZE__) && \
    defined(__thumb2__)
#define TG_SPARSE_ASM 1
#else
#define TG_SPARSE_ASM 0
#endif

/* The first n (0..3) int8 values at x as a word, zero above. */
static uint32_t tg_dsp_sparse_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | (uint8_t)x[n];
    }
    return v;
}

/* Where input row r starts (the gather of tg_dsp_gemm.h). */
static const int8_t *tg_dsp_sparse_row(const tg_dsp_sparse_gemm_params_t *p,
                                       const int8_t *input, int32_t r)
{
    const int32_t row = tg_gather_row(r, p->out_w, p->out_h, p->in_w, p->in_h, p->stride_w,
                                      p->stride_h);
    return input + (size_t)row * (size_t)p->depth;
}

/* Four 4-value words of rows 0..3 (v0..v3) as the 8 scratch words of 4 depth values. */
TG_INLINE void tg_dsp_sparse_put4(uint32_t v0, uint32_t v1, uint32_t v2, uint32_t v3,
                                  uint32_t *dst)
{
    const uint32_t e0 = tg_sxtb16(v0), e1 = tg_sxtb16(v1);
    const uint32_t e2 = tg_sxtb16(v2), e3 = tg_sxtb16(v3);
    const uint32_t o0 = tg_sxtb16_ror8(v0), o1 = tg_sxtb16_ror8(v1);
    const uint32_t o2 = tg_sxtb16_ror8(v2), o3 = tg_sxtb16_ror8(v3);
    dst[0] = tg_pkhbt16(e0, e1);          /* value 0 of rows 0, 1 */
    dst[1] = tg_pkhbt16(e2, e3);          /* value 0 of rows 2, 3 */
    dst[2] = tg_pkhbt16(o0, o1);          /* value 1 */
    dst[3] = tg_pkhbt16(o2, o3);
    dst[4] = tg_pkhtb16(e1, e0);          /* value 2 */
    dst[5] = tg_pkhtb16(e3, e2);
    dst[6] = tg_pkhtb16(o1, o0);          /* value 3 */
    dst[7] = tg_pkhtb16(o3, o2);
}

/* Rows x0..x3 into xs: per depth value d, xs[2d] = (x0[d], x1[d]), xs[2d+1] = (x2, x3). */
static void tg_dsp_sparse_expand4(const int8_t *x0, const int8_t *x1, const int8_t *x2,
                                  const int8_t *x3, int32_t depth, uint32_t *xs)
{
    int32_t k;
    for (k = 0; k + 4 <= depth; k += 4) {
        tg_dsp_sparse_put4(tg_read_s8x4(x0 + k), tg_read_s8x4(x1 + k), tg_read_s8x4(x2 + k),
                           tg_read_s8x4(x3 + k), xs);
        xs += 8;
    }
    if (k < depth) {
        const int32_t n = depth - k;
        tg_dsp_sparse_put4(tg_dsp_sparse_tail(x0 + k, n), tg_dsp_sparse_tail(x1 + k, n),
                           tg_dsp_sparse_tail(x2 + k, n), tg_dsp_sparse_tail(x3 + k, n), xs);
    }
}

/* The requantization of tg_dsp_requant.h with one channel's constants in registers (the
 * activation's clamp is a pass of its own, where it is narrower than int8). */
#define TG_SPARSE_OUT(acc) \
    ((int8_t)tg_dsp_requantize_hm((acc), q_m, q_s, q_half, post))

/* One entry on four rows: move x on by `delta` values, weight lane `lane` of w. */
#define TG_SPARSE_E4(delta, w, TOP)                                              \
    do {                                                                         \
        x += 2u * (delta);                                                       \
        a01 = x[0];                                                              \
        a23 = x[1];                                                              \
        TG_SPARSE_MAC4(w, TOP);                                                  \
    } while (0)
#define TG_SPARSE_MAC4_B(w)                                                      \
    acc0 = tg_smlabb(a01, (w), acc0); acc1 = tg_smlatb(a01, (w), acc1);          \
    acc2 = tg_smlabb(a23, (w), acc2); acc3 = tg_smlatb(a23, (w), acc3)
#define TG_SPARSE_MAC4_T(w)                                                      \
    acc0 = tg_smlabt(a01, (w), acc0); acc1 = tg_smlatt(a01, (w), acc1);          \
    acc2 = tg_smlabt(a23, (w), acc2); acc3 = tg_smlatt(a23, (w), acc3)
#define TG_SPARSE_MAC4(w, TOP) TG_SPARSE_MAC4_##TOP(w)

#if TG_SPARSE_ASM
/* One group of 4 entries on four rows (operands named as in tg_dsp_sparse_rows4's asm). */
#define TG_SPARSE_ROWS4_GROUP \
    "ldrh   %[d], [%[ix]], #2\n\t"                                            \
    "ldr    %[w], [%[v]], #4\n\t"                                             \
    "and    %[a], %[d], #15\n\t"                                              \
    "sxtb16 %[wo], %[w], ror #8\n\t"                                          \
    "sxtb16 %[w], %[w]\n\t"                                                   \
    "add    %[x], %[x], %[a], lsl #3\n\t"                                     \
    "ldrd   %[a], %[b], [%[x]]\n\t"                                           \
    "smlabb %[c0], %[a], %[w], %[c0]\n\t"                                     \
    "smlatb %[c1], %[a], %[w], %[c1]\n\t"                                     \
    "smlabb %[c2], %[b], %[w], %[c2]\n\t"                                     \
    "smlatb %[c3], %[b], %[w], %[c3]\n\t"                                     \
    "ubfx   %[a], %[d], #4, #4\n\t"                                           \
    "add    %[x], %[x], %[a], lsl #3\n\t"                                     \
    "ldrd   %[a], %[b], [%[x]]\n\t"                                           \
    "smlabb %[c0], %[a], %[wo], %[c0]\n\t"                                    \
    "smlatb %[c1], %[a], %[wo], %[c1]\n\t"                                    \
    "smlabb %[c2], %[b], %[wo], %[c2]\n\t"                                    \
    "smlatb %[c3], %[b], %[wo], %[c3]\n\t"                                    \
    "ubfx   %[a], %[d], #8, #4\n\t"                                           \
    "add    %[x], %[x], %[a], lsl #3\n\t"                                     \
    "ldrd   %[a], %[b], [%[x]]\n\t"                                           \
    "smlabt %[c0], %[a], %[w], %[c0]\n\t"                                     \
    "smlatt %[c1], %[a], %[w], %[c1]\n\t"                                     \
    "smlabt %[c2], %[b], %[w], %[c2]\n\t"                                     \
    "smlatt %[c3], %[b], %[w], %[c3]\n\t"                                     \
    "lsrs   %[d], %[d], #12\n\t"                                              \
    "add    %[x], %[x], %[d], lsl #3\n\t"                                     \
    "ldrd   %[a], %[b], [%[x]]\n\t"                                           \
    "smlabt %[c0], %[a], %[wo], %[c0]\n\t"                                    \
    "smlatt %[c1], %[a], %[wo], %[c1]\n\t"                                    \
    "smlabt %[c2], %[b], %[wo], %[c2]\n\t"                                    \
    "smlatt %[c3], %[b], %[wo], %[c3]\n\t"
#endif

/* Rows r..r+n-1 (n = 1..4; expanded in xs, the last repeated) for every channel. */
static void tg_dsp_sparse_rows4(const tg_dsp_sparse_gemm_params_t *p, const uint32_t *xs,
                                int32_t n, int8_t *out)
{
    const size_t ch = (size_t)p->channels;
    const int32_t channels = p->channels, q_step = p->quant_step, post = p->output_offset;
    const int32_t *bias = p->bias;
    const uint16_t *ix = p->index;
    const int32_t *v = p->weights;
    const int32_t *q = p->quant;
    int32_t c;
    for (c = 0; c < channels; ++c, q += q_step) {
        int32_t g = (int32_t)*ix++;
        const uint32_t *x = xs;
        uint32_t acc0 = (uint32_t)bias[c], acc1 = acc0, acc2 = acc0, acc3 = acc0;
#if TG_SPARSE_ASM
        if (g > 0) {
            /* per group of 4 entries: 41 cycles (16 multiplies) on the m4run model, two
             * groups a pass (+4 for the loop), an odd one first */
            uint32_t d, w, wo, a, b;
            __asm__ volatile(
                "tst    %[g], #1\n\t"
                "beq    2f\n\t"
                TG_SPARSE_ROWS4_GROUP
                "2:\n\t"
                "lsrs   %[g], %[g], #1\n\t"
                "beq    3f\n"
                "1:\n\t"
                TG_SPARSE_ROWS4_GROUP
                TG_SPARSE_ROWS4_GROUP
                "subs   %[g], %[g], #1\n\t"
                "bne    1b\n"
                "3:"
                : [c0] "+r"(acc0), [c1] "+r"(acc1), [c2] "+r"(acc2), [c3] "+r"(acc3),
                  [x] "+r"(x), [ix] "+r"(ix), [v] "+r"(v), [g] "+r"(g), [d] "=&r"(d),
                  [w] "=&r"(w), [wo] "=&r"(wo), [a] "=&r"(a), [b] "=&r"(b)
                :
                : "cc", "memory");
        }
#else
        for (; g > 0; --g) {
            const uint32_t d = *ix++;
            const uint32_t w = (uint32_t)*v;
            const uint32_t we = tg_sxtb16(w), wo = tg_sxtb16_ror8(w);
            uint32_t a01, a23;
            ++v;
            TG_SPARSE_E4(d & 15u, we, B);
            TG_SPARSE_E4((d >> 4) & 15u, wo, B);
            TG_SPARSE_E4((d >> 8) & 15u, we, T);
            TG_SPARSE_E4(d >> 12, wo, T);
        }
#endif
        {
            const int32_t q_m = q[0], q_s = q[1];
            const uint32_t q_half = (uint32_t)q[2];
            out[c] = TG_SPARSE_OUT(acc0);
            out[ch + c] = TG_SPARSE_OUT(acc1);       /* n >= 2 */
            if (n > 2) {
                out[2 * ch + c] = TG_SPARSE_OUT(acc2);
            }
            if (n > 3) {
                out[3 * ch + c] = TG_SPARSE_OUT(acc3);
            }
        }
    }
}

#if TG_SPARSE_ASM
/* One group of 4 entries on one row (operands named as in tg_dsp_sparse_row1's asm). */
#define TG_SPARSE_ROW1_GROUP                                                     \
    "ldrh   %[d], [%[ix]], #2\n\t"                                               \
    "ldr    %[w], [%[v]], #4\n\t"                                                \
    "and    %[p0], %[d], #15\n\t"                                                \
    "add    %[p0], %[x], %[p0]\n\t"                                              \
    "ubfx   %[p1], %[d], #4, #4\n\t"                                             \
    "add    %[p1], %[p0], %[p1]\n\t"                                             \
    "ubfx   %[p2], %[d], #8, #4\n\t"                                             \
    "add    %[p2], %[p1], %[p2]\n\t"                                             \
    "add    %[x], %[p2], %[d], lsr #12\n\t"                                      \
    "ldrsb  %[p0], [%[p0]]\n\t"                                                  \
    "ldrsb  %[p1], [%[p1]]\n\t"                                                  \
    "ldrsb  %[p2], [%[p2]]\n\t"                                                  \
    "ldrsb  %[d], [%[x]]\n\t"                                                    \
    "sxtb16 %[wo], %[w], ror #8\n\t"                                             \
    "sxtb16 %[w], %[w]\n\t"                                                      \
    "smlabb %[acc], %[p0], %[w], %[acc]\n\t"                                     \
    "smlabb %[acc], %[p1], %[wo], %[acc]\n\t"                                    \
    "smlabt %[acc], %[p2], %[w], %[acc]\n\t"                                     \
    "smlabt %[acc], %[d], %[wo], %[acc]\n\t"
#endif

/* One row x (int8, read in place) for every channel. */
static void tg_dsp_sparse_row1(const tg_dsp_sparse_gemm_params_t *p, const int8_t *x0,
                               int8_t *out)
{
    const int32_t channels = p->channels, q_step = p->quant_step, post = p->output_offset;
    const int32_t *bias = p->bias;
    const uint16_t *ix = p->index;
    const int32_t *v = p->weights;
    const int32_t *q = p->quant;
    int32_t c;
    for (c = 0; c < channels; ++c, q += q_step) {
        int32_t g = (int32_t)*ix++;
        const int8_t *x = x0;
        uint32_t acc = (uint32_t)bias[c];
#if TG_SPARSE_ASM
        if (g > 0) {
            /* per group of 4 entries: 21 cycles on the m4run model (the four byte loads
             * in a row), two groups a pass (+4 for the loop), an odd one first */
            uint32_t d, w, wo, p0, p1, p2;
            __asm__ volatile(
                "tst    %[g], #1\n\t"
                "beq    2f\n\t"
                TG_SPARSE_ROW1_GROUP
                "2:\n\t"
                "lsrs   %[g], %[g], #1\n\t"
                "beq    3f\n"
                "1:\n\t"
                TG_SPARSE_ROW1_GROUP
                TG_SPARSE_ROW1_GROUP
                "subs   %[g], %[g], #1\n\t"
                "bne    1b\n"
                "3:"
                : [acc] "+r"(acc), [x] "+r"(x), [ix] "+r"(ix), [v] "+r"(v), [g] "+r"(g),
                  [d] "=&r"(d), [w] "=&r"(w), [wo] "=&r"(wo), [p0] "=&r"(p0),
                  [p1] "=&r"(p1), [p2] "=&r"(p2)
                :
                : "cc", "memory");
        }
#else
        for (; g > 0; --g) {
            const uint32_t d = *ix++;
            const uint32_t w = (uint32_t)*v;
            const int8_t *p0 = x + (d & 15u);
            const int8_t *p1 = p0 + ((d >> 4) & 15u);
            const int8_t *p2 = p1 + ((d >> 8) & 15u);
            const int8_t *p3 = p2 + (d >> 12);
            const uint32_t x0v = (uint32_t)(int32_t)*p0, x1v = (uint32_t)(int32_t)*p1;
            const uint32_t x2v = (uint32_t)(int32_t)*p2, x3v = (uint32_t)(int32_t)*p3;
            const uint32_t we = tg_sxtb16(w), wo = tg_sxtb16_ror8(w);
            ++v;
            x = p3;
            acc = tg_smlabb(x0v, we, acc);
            acc = tg_smlabb(x1v, wo, acc);
            acc = tg_smlabt(x2v, we, acc);
            acc = tg_smlabt(x3v, wo, acc);
        }
#endif
        {
            const int32_t q_m = q[0], q_s = q[1];
            const uint32_t q_half = (uint32_t)q[2];
            out[c] = TG_SPARSE_OUT(acc);
        }
    }
}

/* Rows r..r+n-1 (n = 2..4) through the scratch. */
static void tg_dsp_sparse_block(const tg_dsp_sparse_gemm_params_t *p, const int8_t *input,
                                int32_t r, int32_t n, uint32_t *xs, int8_t *out)
{
    const int8_t *x0 = tg_dsp_sparse_row(p, input, r);
    const int8_t *x1 = tg_dsp_sparse_row(p, input, r + 1);
    const int8_t *x2 = n > 2 ? tg_dsp_sparse_row(p, input, r + 2) : x1;
    const int8_t *x3 = n > 3 ? tg_dsp_sparse_row(p, input, r + 3) : x2;
    tg_dsp_sparse_expand4(x0, x1, x2, x3, p->depth, xs);
    tg_dsp_sparse_rows4(p, xs, n, out);
}

void tg_dsp_sparse_gemm_s8(const tg_dsp_sparse_gemm_params_t *p, const int8_t *input,
                           int8_t *output, void *scratch)
{
    const size_t ch = (size_t)p->channels;
    uint32_t *xs = (uint32_t *)scratch;
    int32_t r;
    for (r = 0; r + 4 <= p->rows; r += 4) {
        tg_dsp_sparse_block(p, input, r, 4, xs, output + (size_t)r * ch);
    }
    if (r + 1 == p->rows) {
        tg_dsp_sparse_row1(p, tg_dsp_sparse_row(p, input, r), output + (size_t)r * ch);
    } else if (r < p->rows) {
        tg_dsp_sparse_block(p, input, r, p->rows - r, xs, output + (size_t)r * ch);
    }
    if (p->act_min > -128 || p->act_max < 127) {
        const size_t n = (size_t)p->rows * ch;
        size_t i;
        for (i = 0; i < n; ++i) {
            output[i] = (int8_t)tg_clamp(output[i], p->act_min, p->act_max);
        }
    }
}
