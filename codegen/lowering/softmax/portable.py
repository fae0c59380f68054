"""SOFTMAX and LOG_SOFTMAX on tinygen's portable kernels: int8 (fixed point, as TFLM), int16
SOFTMAX (16x8 models: TFLM's two interpolated tables, tg_softmax_s16) and float32 (exp/log through tg_mathf, which reproduces glibc's expf/logf, the reference's).
The numbers come from the operator spec, codegen/ops/softmax.py.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.softmax import (analyse_softmax_s8, analyse_softmax_s16,
                                 log_softmax_reverse_scaling, rows_and_depth, softmax_beta,
                                 softmax_input_scaling, softmax_s16_tables)


@register("SOFTMAX")
def lower_softmax(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8", "int16", "float32"), "input")
    if inp.dtype == "int16":
        return _lower_softmax_s16(op, g, ctx)
    if inp.dtype == "float32":
        rows, depth = rows_and_depth(op, g, inp, out)
        beta = softmax_beta(op)
        require_dtype(op, g, out, ("float32",), "output")
        return LayerCall(
            op=op, kernel="tg_softmax_f32", params_type="tg_softmax_f32_params_t",
            params=dict(rows=rows, depth=depth, beta=beta),
            args=[TensorArg(inp.index), TensorArg(out.index)],
            comment=f"SOFTMAX float32 {inp.shape_str()}, {rows} row(s) of {depth}, "
                    f"beta {beta:g}")
    sm = analyse_softmax_s8(op, g)
    return LayerCall(
        op=op, kernel="tg_softmax_s8" if sm.out.dtype == "int8" else "tg_softmax_s8_s16",
        params_type="tg_softmax_params_t",
        params=dict(rows=sm.rows, depth=sm.depth, input_multiplier=sm.multiplier,
                    input_left_shift=sm.left_shift, diff_min=sm.diff_min),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"SOFTMAX int8 -> {out.dtype} {sm.shape_text()}")


def _lower_softmax_s16(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    sm = analyse_softmax_s16(op, g)
    exp_lut, recip_lut = softmax_s16_tables()
    c_exp, r_exp = ctx.const("exp_lut", "int16_t", exp_lut,
                             "exp on [-10, 0] in Q0.15, 513 entries (TFLM's Prepare)")
    c_rec, r_rec = ctx.const("recip_lut", "int16_t", recip_lut,
                             "1 / (1 + x) on [0, 1] in Q0.15, 513 entries (TFLM's Prepare)")
    return LayerCall(
        op=op, kernel="tg_softmax_s16", params_type="tg_softmax_s16_params_t",
        params=dict(rows=sm.rows, depth=sm.depth, input_multiplier=sm.multiplier,
                    input_shift=sm.shift, exp_lut=r_exp, recip_lut=r_rec),
        args=[TensorArg(sm.inp.index), TensorArg(sm.out.index)], consts=[c_exp, c_rec],
        overlaps=[Overlap(output=sm.out.index, input=sm.inp.index)],
        comment=f"SOFTMAX int16 {sm.inp.shape_str()}, {sm.rows} row(s) of {sm.depth}, "
                f"beta {sm.beta:g}")


@register("LOG_SOFTMAX")
def lower_log_softmax(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8", "float32"), "input")
    require_dtype(op, g, out, (inp.dtype,), "output")
    rows, depth = rows_and_depth(op, g, inp, out)
    shape = f"{inp.shape_str()}, {rows} row(s) of {depth}"

    if inp.dtype == "float32":
        return LayerCall(
            op=op, kernel="tg_log_softmax_f32", params_type="tg_log_softmax_f32_params_t",
            params=dict(rows=rows, depth=depth),
            args=[TensorArg(inp.index), TensorArg(out.index)],
            comment=f"LOG_SOFTMAX float32 {shape}")

    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if out_q.scalar_zero_point != 127 or np.float32(out_q.scalar_scale) != np.float32(16.0 / 256):
        raise unsupported(op, g, f"output '{out.name}' has scale {out_q.scalar_scale:g} and zero "
                          f"point {out_q.scalar_zero_point}; TFLM's int8 log-softmax requires "
                          "scale 16/256 and zero point 127")
    try:
        multiplier, left_shift, diff_min = softmax_input_scaling(1.0, in_q.scalar_scale)
        rev_mult, rev_shift = log_softmax_reverse_scaling(multiplier, left_shift)
    except ValueError as e:
        raise unsupported(op, g, f"input scale {in_q.scalar_scale:g}: {e}") from None
    return LayerCall(
        op=op, kernel="tg_log_softmax_s8", params_type="tg_log_softmax_params_t",
        params=dict(rows=rows, depth=depth, input_multiplier=multiplier,
                    input_left_shift=left_shift, reverse_scaling_divisor=rev_mult,
                    reverse_scaling_shift=rev_shift, diff_min=diff_min),
        args=[TensorArg(inp.index), TensorArg(out.index)], comment=f"LOG_SOFTMAX int8 {shape}")
