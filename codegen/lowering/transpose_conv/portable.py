"""TRANSPOSE_CONV, int8, on tinygen's portable kernel `tg_transpose_conv_s8`.

TFLM's kernel scatters into an int32 buffer of the output's size (4 bytes per output
element in the arena); `tg_transpose_conv_s8` gathers each output element's exact integer
sum instead, so the layer needs no scratch buffer (see codegen/ops/transpose_conv.py).
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.transpose_conv import analyse_transpose_conv


@register("TRANSPOSE_CONV")
def lower_transpose_conv(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    t = analyse_transpose_conv(op, g)
    out_d, f_h, f_w, in_d = t.filt.shape
    batches, in_h, in_w, _ = t.inp.shape
    _, out_h, out_w, _ = t.out.shape
    c_w, r_w = ctx.const("filter", "int8_t", t.filt.data,
                         f"{out_d}x{f_h}x{f_w}x{in_d} int8 filter (OHWI)")
    consts = [c_w]
    r_b = CExpr("NULL")
    if t.bias is not None:
        c_b, r_b = ctx.const("bias", "int32_t", t.bias.data.astype(np.int32).reshape(out_d),
                             "int32 bias per output channel")
        consts.append(c_b)
    c_m, r_m = ctx.const("multiplier", "int32_t", t.multiplier, "Q31 output multiplier per "
                         "channel")
    c_s, r_s = ctx.const("shift", "int32_t", t.shift, "output shift (power of two) per channel")
    return LayerCall(
        op=op,
        kernel="tg_transpose_conv_s8",
        params_type="tg_transpose_conv_params_t",
        params=dict(batches=batches, input_height=in_h, input_width=in_w, input_depth=in_d,
                    filter_height=f_h, filter_width=f_w, output_height=out_h,
                    output_width=out_w, output_depth=out_d, stride_height=t.stride_h,
                    stride_width=t.stride_w, pad_top=t.pad_top, pad_left=t.pad_left,
                    filter=r_w, bias=r_b, multiplier=r_m, shift=r_s,
                    input_offset=t.input_offset, output_offset=t.output_offset,
                    act_min=t.act_min, act_max=t.act_max),
        args=[TensorArg(t.inp.index), TensorArg(t.out.index)],
        consts=[*consts, c_m, c_s],
        comment=t.comment(),
        macs=t.macs,
    )
