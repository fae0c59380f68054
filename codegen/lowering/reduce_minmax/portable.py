"""REDUCE_MAX and REDUCE_MIN, int8, over any constant set of axes (`tg_reduce_minmax.h`).

Keras's GlobalMaxPooling2D converts to REDUCE_MAX over axes [1, 2].  TFLM
(reduce_common.cc) compares the raw int8 values, starting from the lowest (max) or
highest (min) int8 value, and requires the output to have the input's scale and
zero point (it refuses the layer otherwise); so does tinygen.  The axes are
simplified as for MEAN/SUM (`reduce.merge_dims`).
"""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.reduce import analyse_reduction, pad_groups

MAX_DIMS = C_LIMITS["TG_REDUCE_MINMAX_DIMS"]   # outer and reduced loops of tg_reduce_max/min


@register("REDUCE_MAX", "REDUCE_MIN")
def lower_reduce_minmax(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    r = analyse_reduction(op, g)
    inp, out, axes, count = r.inp, r.out, r.axes, r.count
    in_q, out_q = r.in_q, r.out_q
    if (in_q.scalar_scale, in_q.scalar_zero_point) != (out_q.scalar_scale,
                                                       out_q.scalar_zero_point):
        raise unsupported(op, g, f"output '{out.name}' is quantized differently from the input "
                          f"(scale {out_q.scalar_scale:.9g} zp {out_q.scalar_zero_point} vs "
                          f"{in_q.scalar_scale:.9g} zp {in_q.scalar_zero_point}); TFLM's "
                          f"{op.opcode} requires the same scale and zero point")
    if len(r.outer) > MAX_DIMS or len(r.reduce) > MAX_DIMS:
        raise unsupported(op, g, f"axes {axes} of [{inp.shape_str()}] alternate between kept "
                          f"and reduced more than {MAX_DIMS} times")
    outer_dims, outer_strides = pad_groups(r.outer, MAX_DIMS)
    reduce_dims, reduce_strides = pad_groups(r.reduce, MAX_DIMS)
    kw = "keep_dims" if op.options.get("keep_dims") else "no keep_dims"
    return LayerCall(
        op=op,
        kernel="tg_reduce_max_s8" if op.opcode == "REDUCE_MAX" else "tg_reduce_min_s8",
        params_type="tg_reduce_minmax_params_t",
        params=dict(outer_dims=outer_dims, outer_strides=outer_strides,
                    reduce_dims=reduce_dims, reduce_strides=reduce_strides),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"{op.opcode} {inp.shape_str()} over axes {axes} ({count} elements each, {kw}) "
                f"-> {out.shape_str()}",
    )
