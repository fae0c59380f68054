"""SOFTMAX through CMSIS-NN: arm_softmax_s8, int8 in and out, over the last dimension.

The scaling is TFLM's SoftmaxPrepare for int8 (codegen/ops/softmax.py, shared with the
portable kernel): the input scale times beta becomes a Q5.26 multiplier and left shift,
and diff_min is the most negative input difference whose exponential still counts.
arm_softmax_s8 takes these as scalars, so they are emitted as commented
literals at the call.

int16 -> int16 (16x8) goes to arm_softmax_s16 with TFLM's two tables (exp on [-10, 0] and
1 / (1 + x) on [0, 1], built as the portable lowering builds them) and TFLM's input
scaling.  Its arithmetic is TFLM's except in two places, which bound the rows it can take:
  - it forms the reciprocal's table index from (sum << (headroom - 1)) + 2^13 in 32 bits
    and does not saturate it: a row sum whose top 18 bits are all ones (262143, 524286, ...:
    reachable from 9 entries on, as each exp is at most 32762) wraps, where TFLM saturates;
  - it does not clamp the result to 32767: a row of one entry gives 32768 (-32768 in
    int16) where TFLM writes 32767.
So it takes rows of 2 to 8 entries (checked exhaustively over every reachable sum), and
input scalings whose left shift keeps the largest difference (65535) in int32.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import CExpr, ConstStruct, LayerCall, StructRef, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import HEADER, VARIANT, cmsis_call, require_backend
from codegen.ops.softmax import analyse_softmax_s8, analyse_softmax_s16, softmax_s16_tables

S16 = "arm_softmax_s16"
S16_ROWS = (2, 8)       # row sizes arm_softmax_s16 computes as TFLM does (see above)


def _lower_s16(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    sm = analyse_softmax_s16(op, g)
    lo, hi = S16_ROWS
    if not lo <= sm.depth <= hi:
        why = ("its result of 32768 is not clamped to 32767" if sm.depth < lo else
               "a row sum can wrap its 32-bit reciprocal index, where TFLM saturates")
        raise Declined(f"rows of {sm.depth} entries: {S16} is bit-exact with TFLM for rows "
                       f"of {lo} to {hi} only ({why})")
    if sm.shift > 15:
        raise Declined(f"input left shift {sm.shift}: input differences would leave int32")
    exp_lut, recip_lut = softmax_s16_tables()
    c_exp, r_exp = ctx.const("exp_lut", "int16_t", exp_lut,
                             "exp on [-10, 0] in Q0.15, 513 entries (TFLM's Prepare)")
    c_rec, r_rec = ctx.const("recip_lut", "int16_t", recip_lut,
                             "1 / (1 + x) on [0, 1] in Q0.15, 513 entries (TFLM's Prepare)")
    lut = ConstStruct("luts", "cmsis_nn_softmax_lut_s16",
                      dict(exp_lut=r_exp, one_by_one_lut=r_rec))
    return cmsis_call(
        op, S16,
        [TensorArg(sm.inp.index), CExpr(f"{sm.rows} /* rows */"),
         CExpr(f"{sm.depth} /* row size */"),
         CExpr(f"{sm.multiplier} /* Q31 multiplier of beta * input scale / (10 / 65535) */"),
         CExpr(f"{sm.shift} /* and its left shift */"),
         StructRef("luts"), TensorArg(sm.out.index)],
        f"SOFTMAX int16 {sm.inp.shape_str()}, {sm.rows} row(s) of {sm.depth}, "
        f"beta {sm.beta:g}", consts=[c_exp, c_rec], structs=[lut])


@register("SOFTMAX", variant=VARIANT)
def lower_softmax_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_backend(ctx)
    inp = g.op_inputs(op)[0]
    if inp is not None and inp.dtype == "int16":
        return _lower_s16(op, g, ctx)
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
