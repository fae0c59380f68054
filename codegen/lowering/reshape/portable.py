"""RESHAPE, SQUEEZE, EXPAND_DIMS: no data moves.

The call is a copy that declares its output an alias of its input: normally the
planner grants that, output and input share storage and the call disappears.
Where it cannot (the input is a model input and the output a model output, or
both are model outputs, or the input is a constant), the copy runs.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported


def alias_call(op: Op, inp, out, what: str) -> LayerCall:
    """The copy of `inp` into `out` that declares the output an alias of the input (the
    planner drops it where the two can share storage)."""
    return LayerCall(
        op=op, kernel="tg_copy", params_type=None, params={},
        args=[TensorArg(inp.index), TensorArg(out.index), inp.nbytes],
        reads=[inp.index],
        overlaps=[Overlap(output=out.index, input=inp.index, alias=True)],
        comment=f"{what} (copy: input and output are separate model buffers)",
    )


@register("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def lower_reshape_copy(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    if inp.nbytes != out.nbytes or inp.dtype != out.dtype:
        raise unsupported(op, g, f"reshape changes the data size ({inp.dtype}[{inp.shape_str()}] "
                          f"-> {out.dtype}[{out.shape_str()}])")
    return alias_call(op, inp, out, f"{op.opcode} {inp.shape_str()} -> {out.shape_str()}")
