"""PAD / PADV2 and TRANSPOSE of int8 tensors through CMSIS-NN: arm_pad_s8, arm_transpose_s8.

Both only move bytes, so the one question is whether CMSIS-NN's kernel can express the
layer.  Up to four dimensions it can: shapes of lower rank get leading dimensions of 1
(a permutation keeps them in place), as TFLM's CMSIS-NN glue does.  The checks and the
pad value (PAD: the output zero point; PADV2: the given constant) come from the operator
spec (codegen/ops/movement.py); layers of other types or ranks are declined.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import CExpr, ConstStruct, LayerCall, StructRef, TensorArg
from codegen.lowering import PORTABLE, register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT, cmsis_call, require_backend
from codegen.ops.movement import analyse_pad, analyse_transpose, keeps_data_order

RANK = 4                      # cmsis_nn_dims: n, h, w, c


def _dims(values) -> dict:
    n, h, w, c = (int(v) for v in values)
    return dict(n=n, h=h, w=w, c=c)


def _padded(values, fill: int) -> list[int]:
    values = [int(v) for v in values]
    return [fill] * (RANK - len(values)) + values


def _check_int8_rank(inp) -> None:
    if inp.dtype != "int8":
        raise Declined(f"CMSIS-NN moves int8 only; this layer is {inp.dtype}")
    if len(inp.shape) > RANK:
        raise Declined(f"{len(inp.shape)} dimensions; CMSIS-NN takes at most {RANK}")


@register("PAD", "PADV2", variant=VARIANT)
def lower_pad_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_backend(ctx)
    pad = analyse_pad(op, g)
    inp, out = pad.inp, pad.out
    _check_int8_rank(inp)
    pad_value = int(pad.value) if pad.value is not None else int(out.quant.scalar_zero_point)
    return cmsis_call(
        op, "arm_pad_s8",
        [TensorArg(inp.index), TensorArg(out.index), CExpr(f"{pad_value} /* pad value */"),
         StructRef("input_size"), StructRef("pre_pad"), StructRef("post_pad")],
        pad.comment(op.opcode),
        structs=[ConstStruct("input_size", "cmsis_nn_dims", _dims(_padded(inp.shape, 1))),
                 ConstStruct("pre_pad", "cmsis_nn_dims", _dims(_padded(pad.left, 0))),
                 ConstStruct("post_pad", "cmsis_nn_dims", _dims(_padded(pad.right, 0)))])


@register("TRANSPOSE", variant=VARIANT)
def lower_transpose_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_backend(ctx)
    inp, out, perm = analyse_transpose(op, g)
    if keeps_data_order(inp.shape, perm) and PORTABLE in ctx.preference:
        raise Declined("it moves only axes of size 1: a reshape, which the portable "
                       "lowering makes an alias of its input (no copy)")
    _check_int8_rank(inp)
    rank = len(inp.shape)
    lead = RANK - rank
    perm4 = list(range(lead)) + [lead + p for p in perm]
    c_p, r_p = ctx.const("perm", "uint32_t", np.array(perm4, np.uint32),
                         "permutation over (n, h, w, c)")
    return cmsis_call(
        op, "arm_transpose_s8",
        [TensorArg(inp.index), TensorArg(out.index), StructRef("input_dims"),
         StructRef("output_dims"), StructRef("transpose_params")],
        f"TRANSPOSE {inp.shape_str()} perm {perm} -> {out.shape_str()}",
        consts=[c_p],
        structs=[ConstStruct("input_dims", "cmsis_nn_dims", _dims(_padded(inp.shape, 1))),
                 ConstStruct("output_dims", "cmsis_nn_dims", _dims(_padded(out.shape, 1))),
                 ConstStruct("transpose_params", "cmsis_nn_transpose_params",
                             dict(num_dims=RANK, permutations=r_p))])
