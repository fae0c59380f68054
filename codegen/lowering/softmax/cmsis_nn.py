"""SOFTMAX through CMSIS-NN: arm_softmax_s8, int8 in and out, over the last dimension.

The scaling is TFLM's SoftmaxPrepare for int8 (codegen/ops/softmax.py, shared with the
portable kernel): the input scale times beta becomes a Q5.26 multiplier and left shift,
and diff_min is the most negative input difference whose exponential still counts.
arm_softmax_s8 takes these as scalars, so they are emitted as commented
literals at the call.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import HEADER, VARIANT, require_backend
from codegen.ops.softmax import analyse_softmax_s8


@register("SOFTMAX", variant=VARIANT)
def lower_softmax_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_backend(ctx)
    inp = g.op_inputs(op)[0]
    if inp is not None and inp.dtype != "int8":
        raise Declined(f"arm_softmax_s8 takes int8 input, not {inp.dtype}")
    sm = analyse_softmax_s8(op, g)
    out = sm.out
    if out.dtype != "int8":
        raise Declined(f"arm_softmax_s8 writes int8, not {out.dtype}")
    return LayerCall(
        op=op,
        kernel="arm_softmax_s8",
        args=[TensorArg(inp.index),
              CExpr(f"{sm.rows} /* rows */"),
              CExpr(f"{sm.depth} /* row size */"),
              CExpr(f"{sm.multiplier} /* Q31 multiplier of beta * input scale * 2^26 */"),
              CExpr(f"{sm.left_shift} /* and its left shift */"),
              CExpr(f"{sm.diff_min} /* diff_min: smaller differences give 0 */"),
              TensorArg(out.index)],
        headers=[HEADER],
        comment=f"SOFTMAX {inp.shape_str()} -> {out.shape_str()}, beta {sm.beta:g} (CMSIS-NN)",
    )
