/* tg_config.h - the kernel paths compiled in (tinygen writes it for each project). */
/*
 * Each TG_CFG_ flag compiles one path of a kernel in (1) or out (0).  tinygen sets
 * it to whether a layer of the project takes the path (codegen/kernel_config.py),
 * so paths no layer takes cost no flash (`tinygen --all-kernel-paths`: all in).
 * runtime_c's copy, in a stand-alone runtime, has every path in.
 */
#ifndef TG_CONFIG_H
#define TG_CONFIG_H

#include "tg_common.h"

/* tg_dsp_depthwise_s8: 3x3 filters at stride 1 */
#define TG_CFG_DSP_DW_3X3_S1 1
/* tg_dsp_depthwise_s8: 3x3 filters at stride 2 */
#define TG_CFG_DSP_DW_3X3_S2 1
/* tg_dsp_depthwise_s8: other filters (the general loop) */
#define TG_CFG_DSP_DW_ANY 1
/* tg_dsp_depthwise_s8: the general loop's passes of 1 tap pair */
#define TG_CFG_DSP_DW_ANY_P1 1
/* tg_dsp_depthwise_s8: the general loop's passes of 2 tap pairs */
#define TG_CFG_DSP_DW_ANY_P2 1
/* tg_dsp_depthwise_s8: the general loop's passes of 3 tap pairs */
#define TG_CFG_DSP_DW_ANY_P3 1
/* tg_dsp_depthwise_s8: the general loop's passes of 4 tap pairs */
#define TG_CFG_DSP_DW_ANY_P4 1
/* tg_dsp_depthwise_s8: channels gathered one at a time */
#define TG_CFG_DSP_DW_ONE 1
/* tg_dsp_depthwise_px_s8: no activation clamp */
#define TG_CFG_DSP_DW_PX_FULL 1
/* tg_dsp_depthwise_px_s8: an activation clamp */
#define TG_CFG_DSP_DW_PX_CLAMP 1
/* tg_dsp_depthwise_px_s8: no clamp, filters other than 3x3 (always without the assembly) */
#define TG_CFG_DSP_DW_PX_FULL_C 1
/* tg_dsp_conv_s8: channel pairs in Thumb-2 assembly (GCC) */
#define TG_CFG_DSP_CONV_ASM_PAIRS 1
/* tg_dsp_conv_s8: channels in C (always, without the assembly) */
#define TG_CFG_DSP_CONV_CHANNELS 1
/* tg_dsp_conv_s8: blocks of a layer's channels into its output (tg_dsp_conv_slice_s8) */
#define TG_CFG_DSP_CONV_SLICE 1
/* tg_dsp_conv_s8: 3x3 windows on 3 channels */
#define TG_CFG_DSP_CONV_3X9 1
/* tg_dsp_conv_s8: other windows, row by row */
#define TG_CFG_DSP_CONV_ROWS 1
/* tg_dsp_conv_s8: ... rows of 4 values */
#define TG_CFG_DSP_CONV_ROWS_4 1
/* tg_dsp_conv_s8: ... rows of 9 values */
#define TG_CFG_DSP_CONV_ROWS_9 1
/* tg_dsp_conv_s8: ... rows of 4n values (n >= 4) */
#define TG_CFG_DSP_CONV_ROWS_4N 1
/* tg_dsp_conv_s8: ... rows of other lengths */
#define TG_CFG_DSP_CONV_ROWS_ANY 1
/* tg_dsp_conv_s8: windows across the image's edge with rows of 4n + 1..3 values */
#define TG_CFG_DSP_CONV_REST 1
/* tg_dsp_conv_s8: windows across the image's edge on 4n input channels */
#define TG_CFG_DSP_CONV_EDGE_4N 1
/* tg_dsp_conv_s8: filters dilated along the width */
#define TG_CFG_DSP_CONV_DILATED 1
/* tg_dsp_add_table_s8: the one-SMMLAR output requantization (no tie correction) */
#define TG_CFG_DSP_ADD_TABLE_FAST 1
/* tg_dsp_add_table_s8: the one-SMMLAR output requantization with the tie correction */
#define TG_CFG_DSP_ADD_TABLE_FAST_FIX 1
/* tg_dsp_add_table_s8: TFLite's output requantization */
#define TG_CFG_DSP_ADD_TABLE_EXACT 1
/* tg_dsp_gemm_s8: rows two at a time (with a scratch) */
#define TG_CFG_DSP_GEMM_PAIRS 1
/* tg_dsp_gemm_s8: row pairs expanded in C, one assembly call a pair (always without the assembly) */
#define TG_CFG_DSP_GEMM_PAIR_CALL 1
/* tg_dsp_gemm_s8: an offset added after the shift (the assembly's long epilogue) */
#define TG_CFG_DSP_GEMM_POST 1
/* tg_dsp_gemm_s8: rows one at a time (no scratch) */
#define TG_CFG_DSP_GEMM_ROW1 1
/* tg_dsp_gemm_s8: the activation clamp */
#define TG_CFG_DSP_GEMM_CLAMP 1
/* tg_dsp_cw_gemm_s8: int4 blocks decoded once for all rows */
#define TG_CFG_DSP_CW_GEMM_ONCE_S4 1
/* tg_dsp_cw_gemm_s8: palette blocks decoded once for all rows */
#define TG_CFG_DSP_CW_GEMM_ONCE_PAL 1
/* tg_dsp_cw_gemm_s8: blocks decoded channel by channel for chunks of rows */
#define TG_CFG_DSP_CW_GEMM_BLOCKS 1
/* tg_dsp_s4_gemm_s8: rows two at a time */
#define TG_CFG_DSP_S4_GEMM_PAIRS 1
/* tg_dsp_conv_s8: blocks a loop pass of the assembly (2..16) */
#define TG_CFG_DSP_CONV_PASS 16
/* tg_dsp_conv_s8: every column is whole passes (the assembly skips no blocks) */
#define TG_CFG_DSP_CONV_WHOLE 0

#endif /* TG_CONFIG_H */
