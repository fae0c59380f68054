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
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.reduce import merge_dims, resolve_axes



MAX_DIMS = C_LIMITS["TG_REDUCE_MINMAX_DIMS"]   # outer and reduced loops of tg_reduce_max/min

def _pad(groups: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    groups = [(1, 0)] * (MAX_DIMS - len(groups)) + groups
    return [d for d, _ in groups], [s for _, s in groups]


@register("REDUCE_MAX", "REDUCE_MIN")
def lower_reduce_minmax(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    if len(ins) != 2 or ins[1] is None:
        raise unsupported(op, g, "expected an input and an axis tensor")
    inp, axis = ins
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8",), "input")
    require_dtype(op, g, out, ("int8",), "output")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if (in_q.scalar_scale, in_q.scalar_zero_point) != (out_q.scalar_scale,
                                                       out_q.scalar_zero_point):
        raise unsupported(op, g, f"output '{out.name}' is quantized differently from the input "
                          f"(scale {out_q.scalar_scale:.9g} zp {out_q.scalar_zero_point} vs "
                          f"{in_q.scalar_scale:.9g} zp {in_q.scalar_zero_point}); TFLM's "
                          f"{op.opcode} requires the same scale and zero point")
    if any(d <= 0 for d in inp.shape):
        raise unsupported(op, g, f"input shape [{inp.shape_str()}] has an empty dimension")
    axes = resolve_axes(op, g, axis, len(inp.shape))
    count = 1
    for a in axes:
        count *= inp.shape[a]
    kept = inp.num_elements // count
    if out.num_elements != kept:
        raise unsupported(op, g, f"output [{out.shape_str()}] should hold {kept} elements "
                          f"(input [{inp.shape_str()}] reduced over axes {axes})")
    groups = merge_dims(inp.shape, set(axes))
    outer = [(d, s) for d, red, s in groups if not red]
    reduce = [(d, s) for d, red, s in groups if red]
    if len(outer) > MAX_DIMS or len(reduce) > MAX_DIMS:
        raise unsupported(op, g, f"axes {axes} of [{inp.shape_str()}] alternate between kept "
                          f"and reduced more than {MAX_DIMS} times")
    outer_dims, outer_strides = _pad(outer)
    reduce_dims, reduce_strides = _pad(reduce)
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
