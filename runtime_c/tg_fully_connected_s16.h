/* tg_fully_connected_s16.h - 16x8 fully connected layer (int16 activations, int8 weights). */
#ifndef TG_FULLY_CONNECTED_S16_H
#define TG_FULLY_CONNECTED_S16_H

#include "tg_common.h"

typedef struct {
    int32_t batches;            /* rows of input */
    int32_t depth;              /* input values per row */
    int32_t units;              /* output values per row */
    const int8_t *weights;      /* [units][depth] */
    const int64_t *bias64;      /* [units] int64 bias, or NULL */
    const int32_t *bias32;      /* [units] int32 bias, or NULL */
    int32_t acc32;              /* 1: accumulate in 32 bits, as TFLM does with an int32 bias */
    const int32_t *multiplier;  /* [units] if per_channel, else [1] */
    const int32_t *shift;       /* same length as multiplier */
    int32_t per_channel;
    int32_t act_min;
    int32_t act_max;
} tg_fully_connected_s16_params_t;

void tg_fully_connected_s16(const tg_fully_connected_s16_params_t *p,
                            const int16_t *input, int16_t *output);

#endif /* TG_FULLY_CONNECTED_S16_H */
