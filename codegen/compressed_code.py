"""The code each compressed-filter kernel adds to a firmware image (bytes, by
function: codegen/compression.py's code units), as a --gc-sections link keeps
it beside the int8 kernel of the same layer.

Written by `python3 benchmarks/code_units.py --write` (do not edit: rerun it).
Measured with arm-none-eabi-gcc 12.2.1,
-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 -O2 -ffunction-sections -fdata-sections;
other cores and compilers differ by some tens of percent (Thumb-1 cores:
larger)."""

UNITS = {
    "tg_dsp_cw_gemm_s8/once-int4": {
        "memcpy": 308,
        "tg_cwg_rows_once": 616,
        "tg_cwg_s4": 688,
        "tg_dsp_cw_gemm_s8": 250,
        "tg_dsp_gemm_xrows_s8": 74,
    },
    "tg_dsp_cw_gemm_s8/once-palette": {
        "memcpy": 308,
        "tg_cw_table_coded": 328,
        "tg_cwg_pal": 1310,
        "tg_cwg_rows_once": 616,
        "tg_dsp_cw_gemm_s8": 250,
        "tg_dsp_gemm_xrows_s8": 74,
    },
    "tg_dsp_cw_gemm_s8/blocks": {
        "memcpy": 308,
        "tg_cw_table_coded": 328,
        "tg_dsp_cw_channel": 1028,
        "tg_dsp_cw_gemm_s8": 488,
        "tg_dsp_gemm_row": 64,
        "tg_dsp_gemm_s8+": 580,
    },
    "tg_dsp_cw_conv_s8": {
        "memcpy": 308,
        "tg_cw_table_coded": 328,
        "tg_dsp_conv_run": 688,
        "tg_dsp_conv_slice_s8": 28,
        "tg_dsp_cw_channel": 1028,
        "tg_dsp_cw_conv_s8": 612,
    },
    "tg_dsp_cw_depthwise_s8": {
        "memcpy": 308,
        "tg_cw_table_coded": 328,
        "tg_dsp_cw_depthwise_s8": 672,
    },
    "tg_dsp_s4_gemm_s8/row": {
        "tg_dsp_s4_gemm_s8": 1356,
    },
    "tg_dsp_s4_gemm_s8/pairs": {
        "tg_dsp_s4_gemm_s8": 2528,
    },
    "tg_dsp_sparse_gemm_s8": {
        "tg_dsp_sparse_block": 1100,
        "tg_dsp_sparse_gemm_s8": 540,
        "tg_dsp_sparse_row": 64,
    },
    "tg_cw_fully_connected_s8": {
        "tg_cw_fully_connected_s8": 620,
        "tg_cw_table_coded": 328,
    },
    "tg_cw_conv_s8": {
        "tg_cw_conv_s8": 1272,
        "tg_cw_table_coded": 328,
    },
    "tg_cw_depthwise_conv_s8": {
        "tg_cw_depthwise_conv_s8": 1168,
        "tg_cw_table_coded": 328,
    },
    "tg_sparse_gemm_s8": {
        "tg_sparse_gemm_s8": 632,
    },
}
