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
 * (2 SXTB16) and serves 4 SMLAD (24 MACs a step).  A row left over (odd rows, a batch-1
 * fully connected layer) runs a channel triple at a time from the int8 row itself: there
 * every weight is used once.
 */
#include "tg_dsp_gemm.h"

#include "tg_acle.h"
#include "tg_dsp_requant.h"

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

/* The first n (1..3) int8 values at x as a word, zero above. */
static uint32_t tg_dsp_gemm_tail(const int8_t *x, int32_t n)
{
    uint32_t v = 0;
    while (n-- > 0) {
        v = (v << 8) | (uint8_t)x[n];
    }
    return v;
}

/* Where input row r starts (the gather of tg_dsp_gemm.h; row r itself without strides). */
static const int8_t *tg_dsp_gemm_row(const tg_dsp_gemm_params_t *p, const int8_t *input,
                                     int32_t r)
{
    int32_t row = r;
    if (p->out_w != 1 || p->out_h != 1) {
        const int32_t q = r / p->out_w;
        const int32_t ox = r - q * p->out_w;
        const int32_t b = q / p->out_h;
        const int32_t oy = q - b * p->out_h;
        row = (b * p->in_h + oy * p->stride_h) * p->in_w + ox * p->stride_w;
    }
    return input + (size_t)row * (size_t)p->depth;
}

/* Rows x0 and x1 sign-extended into dst, 4 words per 4 values: x0's even and odd values,
 * x1's even and odd values. */
static void tg_dsp_gemm_expand2(const int8_t *x0, const int8_t *x1, int32_t depth,
                                uint32_t *dst)
{
    int32_t k;
    for (k = 0; k + 4 <= depth; k += 4) {
        const uint32_t v0 = tg_read_s8x4(x0 + k), v1 = tg_read_s8x4(x1 + k);
        dst[0] = tg_sxtb16(v0);
        dst[1] = tg_sxtb16_ror8(v0);
        dst[2] = tg_sxtb16(v1);
        dst[3] = tg_sxtb16_ror8(v1);
        dst += 4;
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

/* acc += the two int16 products of a and b */
#define TG_DSP_MAC2(acc, a, b) ((acc) = tg_smlad_acc((a), (b), (acc)))

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

/* Rows r and r+1 (expanded in xs) for every channel triple. */
static void tg_dsp_gemm_rows2(const tg_dsp_gemm_params_t *p, const uint32_t *xs, int32_t quads,
                              int8_t *out)
{
    const int32_t channels = p->channels;
    const size_t ch = (size_t)channels;
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
            const tg_dsp_rq2_t q0 = tg_dsp_gemm_rq(q, 0, p->output_offset);
            out[c] = tg_dsp_gemm_out(a0, &q0);
        }
        if (c + 1 < channels) {
            const tg_dsp_rq2_t q1 = tg_dsp_gemm_rq(q, 1, p->output_offset);
            out[c + 1] = tg_dsp_gemm_out(a1, &q1);
        }
        if (c + 2 < channels) {
            const tg_dsp_rq2_t q2 = tg_dsp_gemm_rq(q, 2, p->output_offset);
            out[c + 2] = tg_dsp_gemm_out(a2, &q2);
        }
    }
}

void tg_dsp_gemm_s8(const tg_dsp_gemm_params_t *p, const int8_t *input, int8_t *output,
                    void *scratch)
{
    const int32_t quads = (p->depth + 3) >> 2;
    const size_t ch = (size_t)p->channels;
    uint32_t *xs = (uint32_t *)scratch;
    int32_t r;
    for (r = 0; xs != NULL && r + 2 <= p->rows; r += 2) {
        tg_dsp_gemm_expand2(tg_dsp_gemm_row(p, input, r), tg_dsp_gemm_row(p, input, r + 1),
                            p->depth, xs);
        tg_dsp_gemm_rows2(p, xs, quads, output + (size_t)r * ch);
    }
    for (; r < p->rows; ++r) {
        tg_dsp_gemm_row1(p, tg_dsp_gemm_row(p, input, r), output + (size_t)r * ch);
    }
    if (p->act_min > -128 || p->act_max < 127) {
        const size_t n = (size_t)p->rows * ch;
        size_t i;
        for (i = 0; i < n; ++i) {
            output[i] = (int8_t)tg_clamp(output[i], p->act_min, p->act_max);
        }
    }
}
