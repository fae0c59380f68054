"""ARG_MAX and ARG_MIN of int8 along one constant axis (`tg_arg_minmax.h`).

As TFLite's reference ArgMinMax: along the axis, the index of the first largest
(smallest) raw int8 value, written as int32 or int64 as the output tensor says
(the options' output_type must agree).  TFLM writes int32 only and reads an int32
axis; int64 outputs are checked against LiteRT's reference kernels.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, unsupported


_OUTPUT_TYPE = {2: "int32", 4: "int64"}   # TensorType values of the options' output_type


@register("ARG_MAX", "ARG_MIN")
def lower_arg_minmax(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    if len(ins) != 2 or ins[1] is None:
        raise unsupported(op, g, "expected an input and an axis tensor")
    inp, axis_t = ins
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8",), "input")
    require_dtype(op, g, out, ("int32", "int64"), "output")
    declared = op.options.get("output_type")
    if declared is not None and _OUTPUT_TYPE.get(int(declared), out.dtype) != out.dtype:
        raise unsupported(op, g, f"its output_type option says "
                          f"{_OUTPUT_TYPE.get(int(declared), declared)} but output "
                          f"'{out.name}' is {out.dtype}")
    if not axis_t.is_const or axis_t.dtype not in ("int32", "int64") or \
            axis_t.num_elements != 1:
        raise unsupported(op, g, f"axis '{axis_t.name}' must be one constant int32/int64 value "
                          f"(it is {'a constant' if axis_t.is_const else 'not constant'}, "
                          f"{axis_t.dtype}[{axis_t.shape_str()}])")
    rank = len(inp.shape)
    a = int(np.asarray(axis_t.data).reshape(-1)[0])
    axis = a + rank if a < 0 else a
    if not 0 <= axis < rank:
        raise unsupported(op, g, f"axis {a} is out of range for a rank-{rank} input")
    if any(d <= 0 for d in inp.shape):
        raise unsupported(op, g, f"input shape [{inp.shape_str()}] has an empty dimension")
    want = [d for k, d in enumerate(inp.shape) if k != axis]
    if [int(d) for d in out.shape] != want:
        raise unsupported(op, g, f"output shape {list(out.shape)} should be {want} (the input "
                          f"without axis {axis})")
    outer = int(np.prod(inp.shape[:axis], dtype=np.int64))
    inner = int(np.prod(inp.shape[axis + 1:], dtype=np.int64))
    return LayerCall(
        op=op, kernel="tg_arg_minmax_s8", params_type="tg_arg_minmax_params_t",
        params=dict(outer=outer, axis_size=int(inp.shape[axis]), inner=inner,
                    is_max=int(op.opcode == "ARG_MAX"), output_int64=int(out.dtype == "int64")),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"{op.opcode} {inp.shape_str()} along axis {axis} -> {out.dtype} "
                f"{out.shape_str()}",
    )
