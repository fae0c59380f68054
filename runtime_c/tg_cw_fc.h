/* tg_cw_fc.h - fully connected layer with a compressed filter (tg_cw.h). */
#ifndef TG_CW_FC_H
#define TG_CW_FC_H

#include "tg_common.h"
#include "tg_cw.h"

typedef struct {
    int32_t batches;            /* rows of input */
    int32_t depth;              /* input values per row */
    int32_t units;              /* output values per row */
    tg_cw_t weights;            /* [units][depth], compressed */
    const int32_t *bias;        /* [units], input zero point folded in */
    const int32_t *multiplier;  /* [units] if per_channel, else [1] */
    const int32_t *shift;       /* same length as multiplier */
    int32_t per_channel;
    int32_t output_offset;      /* output zero point */
    int32_t act_min;
    int32_t act_max;
} tg_cw_fc_params_t;

void tg_cw_fully_connected_s8(const tg_cw_fc_params_t *p, const int8_t *input, int8_t *output);

#endif /* TG_CW_FC_H */
