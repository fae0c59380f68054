/*
 * tg_dsp_lstm.c - int8 UNIDIRECTIONAL_SEQUENCE_LSTM with int16 cell state, dsp variant.
 *
 * The same values as tg_lstm.c (TFLM's integer LSTM step): per unit, the four gates'
 * products with x_t and with h_{t-1} are computed together, 4 depth values per step: one
 * word of x (or h) split by SXTB16 into its even and odd int8 lanes as int16 pairs, and
 * for each gate two SMLADs with two words of weights the generator widened to int16 pairs
 * in that order.  The sums are modulo 2^32 as in tg_lstm.c (the zero points are folded
 * into the biases); each is requantized to int16 Q3.12 with tg_dsp_requant.h (equal to
 * tg_requantize), and the sigmoid/tanh and cell updates are tg_lstm.c's (tg_lstm_act.h).
 */
#include "tg_dsp_lstm.h"

#include <string.h>

#include "tg_acle.h"
#include "tg_dsp_requant.h"
#include "tg_lstm_act.h"

/* keeps the step out of its caller: GCC would otherwise copy the prepared
 * requantizations into registers and spill them for every row */
#define TG_DSP_LSTM_NOINLINE TG_NOINLINE

/* 4 depth values of v into the four gates' sums; w: the group's 8 weight words. */
#define TG_DSP_LSTM_QUAD(v, w)                                                   \
    do {                                                                         \
        const uint32_t xw_ = tg_read_s8x4(v);                                    \
        const uint32_t xe_ = tg_sxtb16(xw_), xo_ = tg_sxtb16_ror8(xw_);          \
        a0 = tg_smlad(xo_, (uint32_t)(w)[1], tg_smlad(xe_, (uint32_t)(w)[0], a0)); \
        a1 = tg_smlad(xo_, (uint32_t)(w)[3], tg_smlad(xe_, (uint32_t)(w)[2], a1)); \
        a2 = tg_smlad(xo_, (uint32_t)(w)[5], tg_smlad(xe_, (uint32_t)(w)[4], a2)); \
        a3 = tg_smlad(xo_, (uint32_t)(w)[7], tg_smlad(xe_, (uint32_t)(w)[6], a3)); \
    } while (0)

/*
 * bias[2g] + sum_d w[g][d] * v[d] for the four gates g (bias: the unit's [gate][source]
 * biases, offset to the source), w: the unit's weight block (tg_dsp_lstm.h).
 */
TG_INLINE void tg_dsp_lstm_dot(const int32_t *w, const int8_t *v, int32_t depth,
                                const int32_t *bias, uint32_t *sums)
{
    uint32_t a0 = (uint32_t)bias[0], a1 = (uint32_t)bias[2];
    uint32_t a2 = (uint32_t)bias[4], a3 = (uint32_t)bias[6];
    const int32_t tail = depth & 3;
    const int8_t *end8 = v + (depth & ~7);
    int32_t j;
    while (v < end8) {                  /* 8 depth values per pass */
        TG_DSP_LSTM_QUAD(v, w);
        TG_DSP_LSTM_QUAD(v + 4, w + 8);
        v += 8;
        w += 16;
    }
    if (depth & 4) {
        TG_DSP_LSTM_QUAD(v, w);
        v += 4;
        w += 8;
    }
    for (j = 0; j < tail; ++j) {
        const int32_t x = v[j];
        a0 += (uint32_t)(w[j] * x);
        a1 += (uint32_t)(w[tail + j] * x);
        a2 += (uint32_t)(w[2 * tail + j] * x);
        a3 += (uint32_t)(w[3 * tail + j] * x);
    }
    sums[0] = a0;
    sums[1] = a1;
    sums[2] = a2;
    sums[3] = a3;
}

/* The prepared requantizations of one call. */
typedef struct {
    tg_dsp_rq_t fc[2 * TG_DSP_LSTM_GATES];   /* [gate][from x, from h] */
    tg_dsp_rq_t forget;
    tg_dsp_rq_t input;
    tg_dsp_rq_t hidden;
} tg_dsp_lstm_rq_t;

/* x saturated to int16 (SSAT on the DSP extension) */
TG_INLINE int32_t tg_dsp_lstm_sat16(int32_t x)
{
#if TG_ACLE_DSP
    return __ssat(x, 16);
#else
    return tg_clamp(x, INT16_MIN, INT16_MAX);
#endif
}

/* A gate's activation input: its two FC parts requantized, saturated and added, times 3. */
TG_INLINE int32_t tg_dsp_lstm_gate(const tg_dsp_lstm_rq_t *q, int32_t gate, uint32_t from_x,
                                   uint32_t from_h)
{
    const int32_t a = tg_dsp_lstm_sat16(tg_dsp_requantize_rq((int32_t)from_x, &q->fc[2 * gate]));
    const int32_t b = tg_dsp_lstm_sat16(
        tg_dsp_requantize_rq((int32_t)from_h, &q->fc[2 * gate + 1]));
    return TG_LSTM_TABLE_SCALE * tg_dsp_lstm_sat16(a + b);
}

/* One time step over `rows` rows: reads x, h and c, writes c and this step's output. */
TG_DSP_LSTM_NOINLINE static void tg_dsp_lstm_step(const tg_dsp_lstm_params_t *p, const tg_dsp_lstm_rq_t *q,
                             const int8_t *x, int8_t *out, int8_t *hidden, int16_t *cell)
{
    const int32_t n_in = p->input_size;
    const int32_t n = p->units;
    const size_t x_block = 2u * (size_t)n_in + 2u * (size_t)(n_in & 3);
    const size_t h_block = 2u * (size_t)n + 2u * (size_t)(n & 3);
    const uint16_t *table = p->cell.sigmoid_table;
    int32_t row, u;
    for (row = 0; row < p->rows; ++row) {
        const int8_t *x_row = x + (size_t)row * (size_t)n_in;
        const int8_t *h_row = hidden + (size_t)row * (size_t)n;
        int16_t *c_row = cell + (size_t)row * (size_t)n;
        int8_t *out_row = out + (size_t)row * (size_t)n;
        const int32_t *wx = p->input_weights;
        const int32_t *wh = p->recurrent_weights;
        const int32_t *bias = p->bias;
        for (u = 0; u < n; ++u) {
            uint32_t sx[TG_DSP_LSTM_GATES], sh[TG_DSP_LSTM_GATES];
            int32_t i, f, g, o, kept, added, c, t, h;
            tg_dsp_lstm_dot(wx, x_row, n_in, bias, sx);
            tg_dsp_lstm_dot(wh, h_row, n, bias + 1, sh);
            i = tg_sigmoid_q15(
                tg_dsp_lstm_gate(q, 0, sx[0], sh[0]), table);
            f = tg_sigmoid_q15(
                tg_dsp_lstm_gate(q, 1, sx[1], sh[1]), table);
            g = tg_tanh_q15(
                tg_dsp_lstm_gate(q, 2, sx[2], sh[2]), table);
            o = tg_sigmoid_q15(
                tg_dsp_lstm_gate(q, 3, sx[3], sh[3]), table);
            /* c = f * c + i * g, each product and the sum saturated to int16 */
            kept = tg_dsp_lstm_sat16(tg_dsp_requantize_rq(f * c_row[u], &q->forget));
            added = tg_dsp_lstm_sat16(tg_dsp_requantize_rq(i * g, &q->input));
            c = tg_dsp_lstm_sat16(kept + added);
            if (p->cell.use_cell_clip) {
                c = tg_clamp(c, -p->cell.cell_clip, p->cell.cell_clip);
            }
            c_row[u] = (int16_t)c;
            /* h = o * tanh(c) */
            t = tg_tanh_q15(tg_lstm_prescale(c, p->cell.cell_tanh_multiplier,
                                             p->cell.cell_tanh_shift), table);
            h = p->cell.hidden_offset + tg_dsp_requantize_rq(t * o, &q->hidden);
            out_row[u] = (int8_t)tg_clamp(h, INT8_MIN, INT8_MAX);
            wx += x_block;
            wh += h_block;
            bias += 2 * TG_DSP_LSTM_GATES;
        }
    }
    /* every unit has read h_{t-1}: now it becomes h_t */
    memcpy(hidden, out, (size_t)p->rows * (size_t)n);
}

void tg_dsp_lstm_s8_s16(const tg_dsp_lstm_params_t *p, const int8_t *input, int8_t *output,
                        int8_t *hidden, int16_t *cell)
{
    const size_t state = (size_t)p->rows * (size_t)p->units;
    const size_t x_step = (size_t)p->rows * (size_t)p->input_size;
    tg_dsp_lstm_rq_t q;
    int32_t s, t;
    for (s = 0; s < 2 * TG_DSP_LSTM_GATES; ++s) {
        q.fc[s] = tg_dsp_rq(p->fc_multiplier[s], p->fc_shift[s]);
    }
    q.forget = tg_dsp_rq(p->cell.forget_multiplier, p->cell.forget_shift);
    q.input = tg_dsp_rq(p->cell.input_multiplier, p->cell.input_shift);
    q.hidden = tg_dsp_rq(p->cell.hidden_multiplier, p->cell.hidden_shift);
    for (s = 0; s < p->sequences; ++s) {
        for (t = 0; t < p->time_steps; ++t) {
            const size_t step = (size_t)s * (size_t)p->time_steps + (size_t)t;
            tg_dsp_lstm_step(p, &q, input + step * x_step, output + step * state,
                             hidden + (size_t)s * state, cell + (size_t)s * state);
        }
    }
}
