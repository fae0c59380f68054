/*
 * tg_dsp_elementwise.c - int8 ADD, SUB and MUL with broadcasting, dsp variant.
 *
 * The values of tg_elementwise.c (TFLite's reference Add, Sub and Mul) in fewer
 * instructions, by two identities on the ranges these operators reach:
 *
 * (1) SaturatingRoundingDoublingHighMul(a, b) = floor((a * b + 2^30) / 2^31) for every pair
 *     but a = b = INT32_MIN (tg_dsp_requant.h), which is floor((2a * b + 2^31) / 2^32):
 *     SMMULR(2a, b), one instruction, whenever 2a fits in 32 bits (|a| < 2^30).
 * (2) RoundingDivideByPOT(x, r) (ties away from zero) = (x + round(x)) >> r, arithmetic
 *     shift, with round(x) = 2^(r-1) for x >= 0 and 2^(r-1) - 1 for x < 0 when r > 0, and 0
 *     when r = 0: for x >= 0 it is floor((x + 2^(r-1)) / 2^r), half rounded up; for x < 0,
 *     minus that of -x, i.e. ceil((x - 2^(r-1)) / 2^r) = floor((x + 2^(r-1) - 1) / 2^r).
 *     It holds while x + 2^(r-1) fits in 32 bits (|x| < 2^30 covers every r <= 31).
 *
 * ADD/SUB: an input v = x + offset (|v| <= 255) is shifted left by 20 and rescaled by a
 * multiplier < 1: 2a = v * 2^21 and the result stay below 2^28; their sum or difference
 * below 2^29, so the output rescale meets (1) and (2) too.  MUL: the product p of the
 * offset inputs (|p| <= 2^16) shifted left by output_shift <= 14 stays below 2^30.
 * tests/test_dsp_misc.py sweeps both against tg_requantize.
 *
 * A large ADD/SUB layer (tg_dsp_add_table_s8) reads each input's rescaled value (doubled)
 * from a table of the 256 the generator computed, with TFLite's arithmetic; where the
 * generator found the one-SMMLAR output requantization (tg_dsp_elementwise.h, `fast`)
 * equal to TFLite's on all 65,536 input pairs, contiguous rows of the full int8 range run
 * an asm loop on Arm (8 outputs a pass, ~10 cycles each), the same arithmetic in C elsewhere.
 *
 * Table rows whose inputs both advance by one element run two elements per loop pass
 * (eight in the asm loop); the small layers' rows without tables, and other strides, one by
 * one.  Element i of both inputs is read before output i is written.
 */
#include "tg_dsp_elementwise.h"

#include "tg_acle.h"
#include "tg_config.h"      /* the paths this project's layers take (TG_CFG_DSP_ADD_*) */

/* the one-SMMLAR requantization with (fast 1) or without (fast 2) the tie correction */
#define TG_DSP_ADD_FAST (TG_CFG_DSP_ADD_TABLE_FAST || TG_CFG_DSP_ADD_TABLE_FAST_FIX)

#if !(TG_DSP_ADD_FAST || TG_CFG_DSP_ADD_TABLE_EXACT)
#error "tg_config.h compiles out every path of tg_dsp_add_table_s8: generate it again"
#endif

/* (a * b + 2^31) >> 32, the rounded high word of the product (SMMULR). */
TG_INLINE int32_t tg_dsp_ew_mulhr(int32_t a, int32_t b)
{
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
#else
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 31)) >> 32);
#endif
}

/* One rescale, prepared: identity (1) then (2). */
typedef struct {
    int32_t multiplier;
    int32_t right;
    int32_t round_pos;      /* 2^(right-1), or 0 */
    int32_t round_neg;      /* 2^(right-1) - 1, or 0 */
} tg_dsp_ew_rq_t;

static tg_dsp_ew_rq_t tg_dsp_ew_rq(int32_t multiplier, int32_t shift)
{
    tg_dsp_ew_rq_t q;
    q.multiplier = multiplier;
    q.right = -shift;                                   /* shift <= 0 */
    q.round_pos = q.right > 0 ? (int32_t)(1u << (q.right - 1)) : 0;
    q.round_neg = q.right > 0 ? q.round_pos - 1 : 0;
    return q;
}

/* RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x2 / 2, multiplier), right),
 * x2 = twice the value to rescale. */
TG_INLINE int32_t tg_dsp_ew_rescale(int32_t x2, const tg_dsp_ew_rq_t *q)
{
    const int32_t high = tg_dsp_ew_mulhr(x2, q->multiplier);
    return (high + (high < 0 ? q->round_neg : q->round_pos)) >> q->right;
}

/* The same for right >= 1 (ADD/SUB: the generator checked it), identity (2) with
 * round(x) = 2^(right-1) - (x < 0). */
TG_INLINE int32_t tg_dsp_ew_rescale_r1(int32_t x2, const tg_dsp_ew_rq_t *q)
{
    const int32_t high = tg_dsp_ew_mulhr(x2, q->multiplier);
    return (high - (high < 0 ? 1 : 0) + q->round_pos) >> q->right;
}

/*
 * The ADD/SUB constants of one call.  One input is "plain": its rescale multiplier is 2^30
 * with shift 0 (TFLM rescales both inputs to twice the larger scale, so the larger one's
 * ratio is exactly 1/2), and (x + offset) * 2^20 rescaled by it is exactly
 * (x + offset) * 2^19 (the doubling high multiply halves an even number).  The sum
 * a + b (ADD) or the difference a - b (SUB) is then
 *     coef_p * (x_p + offset_p) + sign_g * G(x_g)
 * with G the other ("general") input's rescale, coef_p = +/-2^19 and sign_g = +/-1.
 */
typedef struct {
    int32_t swap;           /* input2 is the plain input, input1 the general one */
    int32_t offset_p;
    int32_t coef_p;
    int32_t offset_g;
    tg_dsp_ew_rq_t g;       /* right >= 1, unless g_plain */
    int32_t sign_g;
    int32_t g_plain;        /* both inputs plain (equal scales): G(x) = (x + offset_g) * 2^19 */
    tg_dsp_ew_rq_t out;
    int32_t out_offset;
    int32_t act_min;
    int32_t act_max;
} tg_dsp_add_k_t;

/* The general input's value at the common scale: (x + offset) * 2^20 rescaled. */
TG_INLINE int32_t tg_dsp_add_general(int32_t x, const tg_dsp_add_k_t *k)
{
    return tg_dsp_ew_rescale_r1((x + k->offset_g) * (1 << 21), &k->g) * k->sign_g;
}

TG_INLINE int32_t tg_dsp_add_plain(int32_t x, const tg_dsp_add_k_t *k)
{
    return (x + k->offset_p) * k->coef_p;
}

TG_INLINE int8_t tg_dsp_add_out(int32_t sum, const tg_dsp_add_k_t *k)
{
    const int32_t y = tg_dsp_ew_rescale_r1(sum * 2, &k->out) + k->out_offset;
    return (int8_t)tg_clamp(y, k->act_min, k->act_max);
}

#if TG_CFG_DSP_ADD_TABLE_EXACT
/* The same of the doubled sum (the tables hold doubled values). */
TG_INLINE int8_t tg_dsp_add_out2(int32_t sum2, const tg_dsp_add_k_t *k)
{
    const int32_t y = tg_dsp_ew_rescale_r1(sum2, &k->out) + k->out_offset;
    return (int8_t)tg_clamp(y, k->act_min, k->act_max);
}
#endif

/* One row of `n` outputs: input k advances by step k (0: broadcast).  Only layers below
 * the table size (TABLE_MIN_ELEMENTS in codegen/lowering/elementwise/dsp.py) come here:
 * contiguous rows two elements a pass, any other row in one short loop. */
static void tg_dsp_add_row_fn(const void *kv, const int8_t *in1, int32_t step1,
                              const int8_t *in2, int32_t step2, int8_t *out, int32_t n)
{
    const tg_dsp_add_k_t k = *(const tg_dsp_add_k_t *)kv;   /* the int8 stores cannot
                                                               alias a local copy */
    const int8_t *xp = k.swap ? in2 : in1;
    const int8_t *xg = k.swap ? in1 : in2;
    const int32_t sp = k.swap ? step2 : step1;
    const int32_t sg = k.swap ? step1 : step2;
    int32_t i = 0;
    if (!k.g_plain && sp == 1 && sg == 1) {     /* the common row (an LSTM's gates) */
        for (; i + 2 <= n; i += 2) {
            const int32_t s0 = tg_dsp_add_plain(xp[i], &k) + tg_dsp_add_general(xg[i], &k);
            const int32_t s1 = tg_dsp_add_plain(xp[i + 1], &k) +
                               tg_dsp_add_general(xg[i + 1], &k);
            out[i] = tg_dsp_add_out(s0, &k);
            out[i + 1] = tg_dsp_add_out(s1, &k);
        }
    }
    for (; i < n; ++i) {
        const int32_t x = xg[(ptrdiff_t)i * sg];
        const int32_t g = k.g_plain ? (x + k.offset_g) * k.sign_g * (1 << 19)
                                    : tg_dsp_add_general(x, &k);
        out[i] = tg_dsp_add_out(tg_dsp_add_plain(xp[(ptrdiff_t)i * sp], &k) + g, &k);
    }
}

/* The constants of one call with input tables. */
typedef struct {
    const int32_t *t1;      /* tables offset by 128: indexed by the int8 value */
    const int32_t *t2;
    tg_dsp_add_k_t k;       /* the output's rescale and bounds (fast = 0) */
    int32_t multiplier;     /* fast > 0: the output multiplier, */
    int32_t bias;           /* output_bias, */
    int32_t right;          /* -output_shift */
    int32_t fast;
} tg_dsp_add_table_k_t;

#if TG_DSP_ADD_FAST
/* The output of the doubled sum a2 = t1[x1] + t2[x2] when fast > 0 (the header). */
TG_INLINE int8_t tg_dsp_add_fast_out(int32_t a2, const tg_dsp_add_table_k_t *k, int fix)
{
    const int32_t h = tg_smmlar(a2, k->multiplier, k->bias) - (fix && a2 < 0 ? 1 : 0);
    return (int8_t)tg_clamp(tg_ssat8(h >> k->right), k->k.act_min, k->k.act_max);
}

#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
/* Two outputs of contiguous rows, for the asm loops below: the four int8 loads and the
 * four table loads in one run (each load after the first pipelined), then per output
 * the sum, SMMLAR, [the tie correction,] the shift and SSAT. */
#define TG_DSP_ADD_PAIR_LOADS                                                              \
    "ldrsb   %[a0], [%[p1]], #1\n\t"                                                      \
    "ldrsb   %[a1], [%[p1]], #1\n\t"                                                      \
    "ldrsb   %[b0], [%[p2]], #1\n\t"                                                      \
    "ldrsb   %[b1], [%[p2]], #1\n\t"                                                      \
    "ldr     %[a0], [%[t1], %[a0], lsl #2]\n\t"                                           \
    "ldr     %[b0], [%[t2], %[b0], lsl #2]\n\t"                                           \
    "ldr     %[a1], [%[t1], %[a1], lsl #2]\n\t"                                           \
    "ldr     %[b1], [%[t2], %[b1], lsl #2]\n\t"                                           \
    "add     %[a0], %[a0], %[b0]\n\t"                                                     \
    "add     %[a1], %[a1], %[b1]\n\t"                                                     \
    "smmlar  %[b0], %[a0], %[m], %[bias]\n\t"                                             \
    "smmlar  %[b1], %[a1], %[m], %[bias]\n\t"
#define TG_DSP_ADD_PAIR_FIX                                                                \
    "add     %[b0], %[b0], %[a0], asr #31\n\t"                                            \
    "add     %[b1], %[b1], %[a1], asr #31\n\t"
#define TG_DSP_ADD_PAIR_STORE                                                              \
    "asr     %[b0], %[b0], %[r]\n\t"                                                      \
    "asr     %[b1], %[b1], %[r]\n\t"                                                      \
    "ssat    %[b0], #8, %[b0]\n\t"                                                        \
    "ssat    %[b1], #8, %[b1]\n\t"                                                        \
    "strb    %[b0], [%[out]], #1\n\t"                                                     \
    "strb    %[b1], [%[out]], #1\n\t"
#define TG_DSP_ADD_LOOP(BODY)                                                              \
    __asm__ volatile("1:\n\t" BODY BODY BODY BODY                                          \
                     "subs    %[n], %[n], #1\n\t"                                          \
                     "bne     1b\n\t"                                                      \
                     : [p1] "+r"(in1), [p2] "+r"(in2), [out] "+r"(out), [n] "+r"(blocks),  \
                       [a0] "=&r"(a0), [a1] "=&r"(a1), [b0] "=&r"(b0), [b1] "=&r"(b1)      \
                     : [t1] "r"(t1), [t2] "r"(t2), [m] "r"(m), [bias] "r"(bias),           \
                       [r] "r"(r)                                                          \
                     : "cc", "memory")

/* Outputs 0 .. 8 * blocks - 1 of contiguous rows, the full int8 range (blocks >= 1). */
static void tg_dsp_add_fast_asm(const tg_dsp_add_table_k_t *k, const int8_t *in1,
                                const int8_t *in2, int8_t *out, int32_t blocks, int fix)
{
    const int32_t *t1 = k->t1, *t2 = k->t2;
    const int32_t m = k->multiplier, bias = k->bias, r = k->right;
    int32_t a0, a1, b0, b1;
    /* one loop of each kind a layer of the project takes (tg_config.h) */
#if TG_CFG_DSP_ADD_TABLE_FAST_FIX
    if (fix) {
        TG_DSP_ADD_LOOP(TG_DSP_ADD_PAIR_LOADS TG_DSP_ADD_PAIR_FIX TG_DSP_ADD_PAIR_STORE);
        return;
    }
#endif
#if TG_CFG_DSP_ADD_TABLE_FAST
    TG_DSP_ADD_LOOP(TG_DSP_ADD_PAIR_LOADS TG_DSP_ADD_PAIR_STORE);
#endif
    (void)fix;
}
#endif

/* One row, the requantization of fast = 1 or 2. */
static void tg_dsp_add_fast_row(const tg_dsp_add_table_k_t *k, const int8_t *in1,
                                int32_t step1, const int8_t *in2, int32_t step2, int8_t *out,
                                int32_t n)
{
    /* a constant when the project has one kind */
    const int fix = !TG_CFG_DSP_ADD_TABLE_FAST || (TG_CFG_DSP_ADD_TABLE_FAST_FIX && k->fast == 1);
    int32_t i = 0;
    if (step1 == 1 && step2 == 1) {
#if TG_ACLE_DSP && (defined(__GNUC__) || defined(__clang__))
        if (k->k.act_min == -128 && k->k.act_max == 127 && n >= 8) {
            tg_dsp_add_fast_asm(k, in1, in2, out, n / 8, fix);
            i = n & ~7;
        }
#endif
        for (; i + 2 <= n; i += 2) {
            const int32_t s0 = k->t1[in1[i]] + k->t2[in2[i]];
            const int32_t s1 = k->t1[in1[i + 1]] + k->t2[in2[i + 1]];
            out[i] = tg_dsp_add_fast_out(s0, k, fix);
            out[i + 1] = tg_dsp_add_fast_out(s1, k, fix);
        }
    }
    for (; i < n; ++i) {
        out[i] = tg_dsp_add_fast_out(k->t1[in1[(ptrdiff_t)i * step1]] +
                                     k->t2[in2[(ptrdiff_t)i * step2]], k, fix);
    }
}
#endif /* TG_DSP_ADD_FAST */

TG_INLINE void tg_dsp_add_table_row(const tg_dsp_add_table_k_t *kp, const int8_t *in1,
                                    int32_t step1, const int8_t *in2, int32_t step2,
                                    int8_t *out, int32_t n)
{
    const tg_dsp_add_table_k_t k = *kp;
    int32_t i = 0;
#if TG_DSP_ADD_FAST
    if (k.fast) {
        tg_dsp_add_fast_row(&k, in1, step1, in2, step2, out, n);
        return;
    }
#endif
#if TG_CFG_DSP_ADD_TABLE_EXACT
    if (step1 == 1 && step2 == 1) {
        for (; i + 2 <= n; i += 2) {
            const int32_t s0 = k.t1[in1[i]] + k.t2[in2[i]];
            const int32_t s1 = k.t1[in1[i + 1]] + k.t2[in2[i + 1]];
            out[i] = tg_dsp_add_out2(s0, &k.k);
            out[i + 1] = tg_dsp_add_out2(s1, &k.k);
        }
    }
    for (; i < n; ++i) {
        out[i] = tg_dsp_add_out2(k.t1[in1[(ptrdiff_t)i * step1]] +
                                 k.t2[in2[(ptrdiff_t)i * step2]], &k.k);
    }
#else
    (void)i;
#endif
}

/* The MUL constants of one call. */
typedef struct {
    int32_t offset1;
    int32_t offset2;
    int32_t left;           /* output_shift > 0 */
    tg_dsp_ew_rq_t out;
    int32_t out_offset;
    int32_t act_min;
    int32_t act_max;
} tg_dsp_mul_k_t;

TG_INLINE int8_t tg_dsp_mul_one(int32_t x1, int32_t x2, const tg_dsp_mul_k_t *k)
{
    const int32_t p = (x1 + k->offset1) * (x2 + k->offset2);
    const int32_t y = tg_dsp_ew_rescale(p * (2 << k->left), &k->out) + k->out_offset;
    return (int8_t)tg_clamp(y, k->act_min, k->act_max);
}

TG_INLINE void tg_dsp_mul_row(const tg_dsp_mul_k_t *kp, const int8_t *in1, int32_t step1,
                              const int8_t *in2, int32_t step2, int8_t *out, int32_t n)
{
    const tg_dsp_mul_k_t k = *kp;
    int32_t i = 0;
    if (step1 == 1 && step2 == 1) {
        for (; i + 2 <= n; i += 2) {
            out[i] = tg_dsp_mul_one(in1[i], in2[i], &k);
            out[i + 1] = tg_dsp_mul_one(in1[i + 1], in2[i + 1], &k);
        }
    }
    for (; i < n; ++i) {
        out[i] = tg_dsp_mul_one(in1[(ptrdiff_t)i * step1], in2[(ptrdiff_t)i * step2], &k);
    }
}

/* Computes one row: out[i] = f(in1[i * step1], in2[i * step2]) for i < n. */
typedef void (*tg_dsp_ew_row_fn)(const void *k, const int8_t *in1, int32_t step1,
                                 const int8_t *in2, int32_t step2, int8_t *out, int32_t n);

static void tg_dsp_add_table_row_fn(const void *k, const int8_t *in1, int32_t step1,
                                    const int8_t *in2, int32_t step2, int8_t *out, int32_t n)
{
    tg_dsp_add_table_row((const tg_dsp_add_table_k_t *)k, in1, step1, in2, step2, out, n);
}

static void tg_dsp_mul_row_fn(const void *k, const int8_t *in1, int32_t step1,
                              const int8_t *in2, int32_t step2, int8_t *out, int32_t n)
{
    tg_dsp_mul_row((const tg_dsp_mul_k_t *)k, in1, step1, in2, step2, out, n);
}

/* Walks the loop nest of dims/strides, handing each innermost row to `row` (one function
 * per operator, so a program keeps only the rows it calls). */
static void tg_dsp_ew_walk(const int32_t *dims, const int32_t *strides1,
                           const int32_t *strides2, tg_dsp_ew_row_fn row, const void *k,
                           const int8_t *input1, const int8_t *input2, int8_t *output)
{
    enum { OUTER = TG_DSP_ELEMENTWISE_MAX_DIMS - 1 };
    const int32_t inner = dims[OUTER];
    int32_t index[OUTER];
    int32_t rows = 1;
    int32_t r, d;
    for (d = 0; d < OUTER; ++d) {
        index[d] = 0;
        rows *= dims[d];
    }
    for (r = 0; r < rows; ++r) {
        ptrdiff_t off1 = 0, off2 = 0;
        for (d = 0; d < OUTER; ++d) {
            off1 += (ptrdiff_t)index[d] * strides1[d];
            off2 += (ptrdiff_t)index[d] * strides2[d];
        }
        row(k, input1 + off1, strides1[OUTER], input2 + off2, strides2[OUTER], output, inner);
        output += inner;
        for (d = OUTER - 1; d >= 0; --d) {     /* next row, carrying outward */
            if (++index[d] < dims[d]) {
                break;
            }
            index[d] = 0;
        }
    }
}

/* `sub`: a - b instead of a + b.  The generator checked that one input is plain. */
static tg_dsp_add_k_t tg_dsp_add_prepare(const tg_dsp_add_params_t *p, int sub)
{
    tg_dsp_add_k_t k;
    k.swap = !(p->input1_multiplier == (1 << 30) && p->input1_shift == 0);
    k.offset_p = k.swap ? p->input2_offset : p->input1_offset;
    k.coef_p = sub && k.swap ? -(1 << 19) : (1 << 19);
    k.offset_g = k.swap ? p->input1_offset : p->input2_offset;
    k.g = k.swap ? tg_dsp_ew_rq(p->input1_multiplier, p->input1_shift)
                 : tg_dsp_ew_rq(p->input2_multiplier, p->input2_shift);
    k.sign_g = sub && !k.swap ? -1 : 1;
    k.g_plain = k.g.multiplier == (1 << 30) && k.g.right == 0;
    k.out = tg_dsp_ew_rq(p->output_multiplier, p->output_shift);
    k.out_offset = p->output_offset;
    k.act_min = p->act_min;
    k.act_max = p->act_max;
    return k;
}

void tg_dsp_add_s8(const tg_dsp_add_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output)
{
    const tg_dsp_add_k_t k = tg_dsp_add_prepare(p, 0);
    tg_dsp_ew_walk(p->dims, p->input1_strides, p->input2_strides, tg_dsp_add_row_fn, &k,
                   input1, input2, output);
}

void tg_dsp_sub_s8(const tg_dsp_add_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output)
{
    const tg_dsp_add_k_t k = tg_dsp_add_prepare(p, 1);
    tg_dsp_ew_walk(p->dims, p->input1_strides, p->input2_strides, tg_dsp_add_row_fn, &k,
                   input1, input2, output);
}

void tg_dsp_add_table_s8(const tg_dsp_add_table_params_t *p, const int8_t *input1,
                         const int8_t *input2, int8_t *output)
{
    tg_dsp_add_table_k_t k;
    k.t1 = p->input1_table + 128;
    k.t2 = p->input2_table + 128;
    k.k.swap = 0;
    k.k.offset_p = 0;
    k.k.coef_p = 0;
    k.k.offset_g = 0;
    k.k.g = tg_dsp_ew_rq(0, 0);
    k.k.sign_g = 0;
    k.k.g_plain = 0;
    k.k.out = tg_dsp_ew_rq(p->output_multiplier, p->output_shift);
    k.k.out_offset = p->output_offset;
    k.k.act_min = p->act_min;
    k.k.act_max = p->act_max;
    k.multiplier = p->output_multiplier;
    k.bias = p->output_bias;
    k.right = -p->output_shift;
    k.fast = p->fast;
    tg_dsp_ew_walk(p->dims, p->input1_strides, p->input2_strides, tg_dsp_add_table_row_fn, &k,
                   input1, input2, output);
}

void tg_dsp_mul_s8(const tg_dsp_mul_params_t *p, const int8_t *input1, const int8_t *input2,
                   int8_t *output)
{
    tg_dsp_mul_k_t k;
    k.offset1 = p->input1_offset;
    k.offset2 = p->input2_offset;
    k.left = p->output_shift > 0 ? p->output_shift : 0;
    k.out = tg_dsp_ew_rq(p->output_multiplier, p->output_shift > 0 ? 0 : p->output_shift);
    k.out_offset = p->output_offset;
    k.act_min = p->act_min;
    k.act_max = p->act_max;
    tg_dsp_ew_walk(p->dims, p->input1_strides, p->input2_strides, tg_dsp_mul_row_fn, &k,
                   input1, input2, output);
}
