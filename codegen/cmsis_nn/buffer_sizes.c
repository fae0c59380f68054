/*
 * buffer_sizes.c - host entry points to the user's CMSIS-NN *_get_buffer_size functions.
 *
 * tinygen compiles this file on the host together with CMSIS-NN's get_buffer_sizes sources
 * and calls it through cffi at generation time, once per layer, so that each scratch buffer
 * is planned in the arena with the size the target's CMSIS-NN build will ask for:
 *   - plain C path: built without ARM_MATH_* defines, calls <kernel>_get_buffer_size
 *   - DSP path:     built with -DARM_MATH_DSP, calls <kernel>_get_buffer_size
 *   - MVE path:     built with -DTG_SIZES_MVE, calls CMSIS-NN's host variant
 *                   <kernel>_get_buffer_size_mve (Helium headers do not build on a host)
 * Arguments are plain int32 arrays so that CMSIS-NN's struct layouts stay its own business;
 * the structs are filled here by field name (fields this file does not name are zero).
 */
#include "arm_nnfunctions.h"

#if defined(TG_SIZES_MVE)
#define TG_GET_BUFFER_SIZE(kernel) kernel##_get_buffer_size_mve
#else
#define TG_GET_BUFFER_SIZE(kernel) kernel##_get_buffer_size
#endif

/* conv: input_offset, output_offset, stride.h, stride.w, padding.h, padding.w,
 *       dilation.h, dilation.w, activation.min, activation.max (s8 and s16) */
static cmsis_nn_conv_params tg_conv_params(const int32_t *conv)
{
    const cmsis_nn_conv_params params = {
        .input_offset = conv[0], .output_offset = conv[1],
        .stride = {.h = conv[2], .w = conv[3]},
        .padding = {.h = conv[4], .w = conv[5]},
        .dilation = {.h = conv[6], .w = conv[7]},
        .activation = {.min = conv[8], .max = conv[9]},
    };
    return params;
}

/* dw: input_offset, output_offset, ch_mult, stride.h, stride.w, padding.h, padding.w,
 *     dilation.h, dilation.w, activation.min, activation.max (s8 and s16) */
static cmsis_nn_dw_conv_params tg_dw_conv_params(const int32_t *dw)
{
    const cmsis_nn_dw_conv_params params = {
        .input_offset = dw[0], .output_offset = dw[1], .ch_mult = dw[2],
        .stride = {.h = dw[3], .w = dw[4]},
        .padding = {.h = dw[5], .w = dw[6]},
        .dilation = {.h = dw[7], .w = dw[8]},
        .activation = {.min = dw[9], .max = dw[10]},
    };
    return params;
}

int32_t tg_fully_connected_s8(const int32_t *filter);
int32_t tg_convolve_wrapper_s8(const int32_t *conv, const int32_t *input, const int32_t *filter,
                               const int32_t *output);
int32_t tg_depthwise_conv_wrapper_s8(const int32_t *dw, const int32_t *input,
                                     const int32_t *filter, const int32_t *output);
int32_t tg_avgpool_s8(int32_t dim_dst_width, int32_t ch_src);
int32_t tg_fully_connected_s16(const int32_t *filter);
int32_t tg_convolve_wrapper_s16(const int32_t *conv, const int32_t *input, const int32_t *filter,
                                const int32_t *output);
int32_t tg_depthwise_conv_wrapper_s16(const int32_t *dw, const int32_t *input,
                                      const int32_t *filter, const int32_t *output);
int32_t tg_avgpool_s16(int32_t dim_dst_width, int32_t ch_src);

static cmsis_nn_dims tg_dims(const int32_t *d)
{
    const cmsis_nn_dims dims = {.n = d[0], .h = d[1], .w = d[2], .c = d[3]};
    return dims;
}

int32_t tg_fully_connected_s8(const int32_t *filter)
{
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    return TG_GET_BUFFER_SIZE(arm_fully_connected_s8)(&filter_dims);
}

int32_t tg_convolve_wrapper_s8(const int32_t *conv, const int32_t *input, const int32_t *filter,
                               const int32_t *output)
{
    const cmsis_nn_conv_params params = tg_conv_params(conv);
    const cmsis_nn_dims input_dims = tg_dims(input);
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    const cmsis_nn_dims output_dims = tg_dims(output);
    return TG_GET_BUFFER_SIZE(arm_convolve_wrapper_s8)(&params, &input_dims, &filter_dims,
                                                       &output_dims);
}

int32_t tg_depthwise_conv_wrapper_s8(const int32_t *dw, const int32_t *input,
                                     const int32_t *filter, const int32_t *output)
{
    const cmsis_nn_dw_conv_params params = tg_dw_conv_params(dw);
    const cmsis_nn_dims input_dims = tg_dims(input);
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    const cmsis_nn_dims output_dims = tg_dims(output);
    return TG_GET_BUFFER_SIZE(arm_depthwise_conv_wrapper_s8)(&params, &input_dims, &filter_dims,
                                                             &output_dims);
}

int32_t tg_avgpool_s8(int32_t dim_dst_width, int32_t ch_src)
{
    return TG_GET_BUFFER_SIZE(arm_avgpool_s8)(dim_dst_width, ch_src);
}

/* 16x8 (int16 activations): the same argument arrays as their s8 counterparts */
int32_t tg_fully_connected_s16(const int32_t *filter)
{
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    return TG_GET_BUFFER_SIZE(arm_fully_connected_s16)(&filter_dims);
}

int32_t tg_convolve_wrapper_s16(const int32_t *conv, const int32_t *input, const int32_t *filter,
                                const int32_t *output)
{
    const cmsis_nn_conv_params params = tg_conv_params(conv);
    const cmsis_nn_dims input_dims = tg_dims(input);
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    const cmsis_nn_dims output_dims = tg_dims(output);
    return TG_GET_BUFFER_SIZE(arm_convolve_wrapper_s16)(&params, &input_dims, &filter_dims,
                                                        &output_dims);
}

int32_t tg_depthwise_conv_wrapper_s16(const int32_t *dw, const int32_t *input,
                                      const int32_t *filter, const int32_t *output)
{
    const cmsis_nn_dw_conv_params params = tg_dw_conv_params(dw);
    const cmsis_nn_dims input_dims = tg_dims(input);
    const cmsis_nn_dims filter_dims = tg_dims(filter);
    const cmsis_nn_dims output_dims = tg_dims(output);
    return TG_GET_BUFFER_SIZE(arm_depthwise_conv_wrapper_s16)(&params, &input_dims, &filter_dims,
                                                              &output_dims);
}

int32_t tg_avgpool_s16(int32_t dim_dst_width, int32_t ch_src)
{
    return TG_GET_BUFFER_SIZE(arm_avgpool_s16)(dim_dst_width, ch_src);
}
