/* tg_config.h - the kernel paths compiled in (tinygen writes it for each project). */
/*
 * Each TG_CFG_ flag compiles one path of a kernel in (1) or out (0).  tinygen sets
 * it to whether a layer of the project takes the path (codegen/kernel_config.py),
 * so paths no layer takes cost no flash.  Define a flag to 1 (-DTG_CFG_...=1) to
 * compile its path in anyway.  runtime_c's copy, in a stand-alone runtime, has
 * every path in.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include "tg_common.h"

/* tg_dsp_depthwise_s8: 3x3 filters at stride 1 */
#ifndef TG_CFG_DSP_DW_3X3_S1
#define TG_CFG_DSP_DW_3X3_S1 1
#endif
/* tg_dsp_depthwise_s8: 3x3 filters at stride 2 */
#ifndef TG_CFG_DSP_DW_3X3_S2
#define TG_CFG_DSP_DW_3X3_S2 1
#endif
/* tg_dsp_depthwise_s8: other filters (the general loop) */
#ifndef TG_CFG_DSP_DW_ANY
#define TG_CFG_DSP_DW_ANY 1
#endif
/* tg_dsp_depthwise_s8: a ring of filter_lines band lines */
#ifndef TG_CFG_DSP_DW_RING
#define TG_CFG_DSP_DW_RING 1
#endif
/* tg_dsp_depthwise_s8: runs of lines in a larger band */
#ifndef TG_CFG_DSP_DW_BAND
#define TG_CFG_DSP_DW_BAND 1
#endif
/* tg_dsp_depthwise_px_s8: no activation clamp */
#ifndef TG_CFG_DSP_DW_PX_FULL
#define TG_CFG_DSP_DW_PX_FULL 1
#endif
/* tg_dsp_depthwise_px_s8: an activation clamp */
#ifndef TG_CFG_DSP_DW_PX_CLAMP
#define TG_CFG_DSP_DW_PX_CLAMP 1
#endif
/* tg_dsp_conv_s8: channel pairs in Thumb-2 assembly (GCC) */
#ifndef TG_CFG_DSP_CONV_ASM_PAIRS
#define TG_CFG_DSP_CONV_ASM_PAIRS 1
#endif
/* tg_dsp_conv_s8: channels in C (always, without the assembly) */
#ifndef TG_CFG_DSP_CONV_CHANNELS
#define TG_CFG_DSP_CONV_CHANNELS 1
#endif
/* tg_dsp_conv_s8: 3x3 windows on 3 channels */
#ifndef TG_CFG_DSP_CONV_3X9
#define TG_CFG_DSP_CONV_3X9 1
#endif
/* tg_dsp_conv_s8: other windows, row by row */
#ifndef TG_CFG_DSP_CONV_ROWS
#define TG_CFG_DSP_CONV_ROWS 1
#endif
/* tg_dsp_conv_s8: filters dilated along the width */
#ifndef TG_CFG_DSP_CONV_DILATED
#define TG_CFG_DSP_CONV_DILATED 1
#endif
/* tg_dsp_add_table_s8: the one-SMMLAR output requantization */
#ifndef TG_CFG_DSP_ADD_TABLE_FAST
#define TG_CFG_DSP_ADD_TABLE_FAST 1
#endif
/* tg_dsp_add_table_s8: TFLite's output requantization */
#ifndef TG_CFG_DSP_ADD_TABLE_EXACT
#define TG_CFG_DSP_ADD_TABLE_EXACT 1
#endif
/* tg_dsp_gemm_s8: rows two at a time (with a scratch) */
#ifndef TG_CFG_DSP_GEMM_PAIRS
#define TG_CFG_DSP_GEMM_PAIRS 1
#endif
/* tg_dsp_gemm_s8: rows one at a time (no scratch) */
#ifndef TG_CFG_DSP_GEMM_ROW1
#define TG_CFG_DSP_GEMM_ROW1 1
#endif
/* tg_dsp_gemm_s8: the activation clamp */
#ifndef TG_CFG_DSP_GEMM_CLAMP
#define TG_CFG_DSP_GEMM_CLAMP 1
#endif

#endif /* TG_CONFIG_H */
