"""CONCATENATION, PACK, SPLIT, SPLIT_V, UNPACK: tensors joined or cut along one axis.

Along an axis, a tensor is `rows` (the product of the dimensions before the
axis) rows of contiguous bytes.  Joining interleaves the rows of the inputs,
cutting de-interleaves them: the kernels `tg_concat` and `tg_split` take the
row count and each tensor's bytes per row, computed here.  PACK is a
concatenation of inputs that each contribute one index of a new axis, UNPACK
the inverse split.  The axis inputs of SPLIT and SPLIT_V are constants
consumed here.
"""
from __future__ import annotations

import math

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.movement import (const_ints, elem_bytes, quant_pair, require_nonempty,
                                    require_same_type)

CONCAT_TYPES = ("int8", "int16", "int32", "int64", "float32", "bool")
CONCAT_MAX_INPUTS = 10     # TFLM's kMaxInputNum
CONCAT_MAX_DIMS = 6        # RuntimeShape::kMaxSmallSize
PACK_TYPES = ("int8", "int16", "int32", "int64", "float32")
SPLIT_TYPES = ("int8", "int16", "int32", "float32")
UNPACK_TYPES = ("int8", "int16", "int32", "float32")


def _rows_call(op: Op, ctx: LowerContext, joined: Tensor, parts: list[Tensor], axis: int,
               part_rows: list[int], join: bool, comment: str) -> LayerCall:
    """A tg_concat / tg_split layer: `parts` each give part_rows[i] rows of the axis."""
    rows = math.prod(joined.shape[:axis])
    inner = math.prod(joined.shape[axis + 1:])
    es = elem_bytes(joined)
    row_bytes = np.array([n * inner * es for n in part_rows], dtype=np.int32)
    arr, ref = ctx.const("row_bytes", "int32_t", row_bytes,
                         "bytes per row of each " + ("input" if join else "output"))
    return LayerCall(
        op=op, kernel="tg_concat" if join else "tg_split", params_type="tg_concat_params_t",
        params=dict(count=len(parts), rows=rows, row_bytes=ref),
        # tg_concat(&p, output, inputs...) and tg_split(&p, input, outputs...)
        args=[TensorArg(joined.index), *[TensorArg(t.index) for t in parts]],
        consts=[arr], comment=comment)


def _norm_axis(op: Op, g: Graph, axis: int, rank: int, what: str) -> int:
    a = axis + rank if axis < 0 else axis
    if not 0 <= a < rank:
        raise unsupported(op, g, f"{what} {axis} is out of range for {rank} dimensions")
    return a


def _check_parts(op: Op, g: Graph, joined: Tensor, parts: list[Tensor], axis: int,
                 role: str) -> None:
    """Every part has the joined tensor's shape except along the axis; the axis sizes add up."""
    for t in parts:
        if len(t.shape) != len(joined.shape) or any(
                t.shape[k] != joined.shape[k] for k in range(len(t.shape)) if k != axis):
            raise unsupported(op, g, f"{role} '{t.name}' has shape {list(t.shape)}, which does "
                              f"not match {list(joined.shape)} outside axis {axis}")
    total = sum(t.shape[axis] for t in parts)
    if total != joined.shape[axis]:
        raise unsupported(op, g, f"the {role}s have {total} entries along axis {axis}, "
                          f"'{joined.name}' has {joined.shape[axis]}")


def _shapes(ts: list[Tensor]) -> str:
    return ", ".join(t.shape_str() for t in ts)


# -- CONCATENATION, PACK ----------------------------------------------------------------------

@register("CONCATENATION")
def lower_concatenation(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if any(t is None for t in ins) or not ins:
        raise unsupported(op, g, "an input is missing")
    if len(ins) > CONCAT_MAX_INPUTS:
        raise unsupported(op, g, f"{len(ins)} inputs; TFLM concatenates at most "
                          f"{CONCAT_MAX_INPUTS}")
    for t in ins:
        require_same_type(op, g, t, out, CONCAT_TYPES)
    require_nonempty(op, g, [*ins, out])
    if op.options.get("fused_activation_function", 0) != 0:
        raise unsupported(op, g, "a fused activation is set; TFLM's CONCATENATION supports "
                          "none")
    rank = len(out.shape)
    if rank > CONCAT_MAX_DIMS:
        raise unsupported(op, g, f"{rank} dimensions; TFLM concatenates at most "
                          f"{CONCAT_MAX_DIMS}")
    axis = _norm_axis(op, g, int(op.options.get("axis", 0)), rank, "axis")
    if out.dtype == "int8":
        for t in ins:
            if quant_pair(t) != quant_pair(out):
                s, z = quant_pair(t)
                so, zo = quant_pair(out)
                raise unsupported(op, g, f"int8 input '{t.name}' has scale {s:.9g}, zero point "
                                  f"{z} but the output scale {so:.9g}, zero point {zo}; TFLM "
                                  "requires every input to be quantized like the output")
    elif out.dtype == "int16":
        for t in [*ins, out]:
            if quant_pair(t)[1] != 0:
                raise unsupported(op, g, f"int16 tensor '{t.name}' has zero point "
                                  f"{quant_pair(t)[1]}; TFLM requires 0")
    _check_parts(op, g, out, ins, axis, "input")
    return _rows_call(op, ctx, out, ins, axis, [t.shape[axis] for t in ins], True,
                      f"CONCATENATION {_shapes(ins)} on axis {axis} -> {out.shape_str()}")


@register("PACK")
def lower_pack(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if any(t is None for t in ins) or not ins:
        raise unsupported(op, g, "an input is missing")
    count = int(op.options.get("values_count", len(ins)))
    if count != len(ins):
        raise unsupported(op, g, f"values_count is {count} but there are {len(ins)} inputs")
    for t in ins:
        require_same_type(op, g, t, out, PACK_TYPES)
    require_nonempty(op, g, [*ins, out])
    rank = len(out.shape)
    axis = _norm_axis(op, g, int(op.options.get("axis", 0)), rank, "axis")
    want = tuple(out.shape[:axis]) + tuple(out.shape[axis + 1:])
    for t in ins:
        if tuple(t.shape) != want:
            raise unsupported(op, g, f"input '{t.name}' has shape {list(t.shape)}; packing "
                              f"into {list(out.shape)} on axis {axis} needs {list(want)}")
    if out.shape[axis] != count:
        raise unsupported(op, g, f"output dimension {axis} is {out.shape[axis]}, not the "
                          f"{count} inputs")
    return _rows_call(op, ctx, out, ins, axis, [1] * count, True,
                      f"PACK {count} x {ins[0].shape_str()} on axis {axis} -> {out.shape_str()}")


# -- SPLIT, SPLIT_V, UNPACK -------------------------------------------------------------------

def _lower_split(op: Op, g: Graph, ctx: LowerContext, inp: Tensor, axis_t: Tensor | None
                 ) -> LayerCall:
    outs = g.op_outputs(op)
    for t in outs:
        require_same_type(op, g, inp, t, SPLIT_TYPES)
    require_nonempty(op, g, [inp, *outs])
    rank = len(inp.shape)
    axis = _norm_axis(op, g, const_ints(op, g, axis_t, "axis", 1)[0], rank, "axis")
    if op.opcode == "SPLIT" and len({t.shape[axis] for t in outs}) != 1:
        raise unsupported(op, g, f"SPLIT outputs differ in size along axis {axis}: "
                          f"{[t.shape[axis] for t in outs]}")
    _check_parts(op, g, inp, outs, axis, "output")
    return _rows_call(op, ctx, inp, outs, axis, [t.shape[axis] for t in outs], False,
                      f"{op.opcode} {inp.shape_str()} on axis {axis} -> {_shapes(outs)}")


@register("SPLIT")
def lower_split(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    if len(ins) != 2 or ins[1] is None:
        raise unsupported(op, g, "expected 2 inputs (axis, input)")
    return _lower_split(op, g, ctx, ins[1], ins[0])


@register("SPLIT_V")
def lower_split_v(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    if len(ins) != 3 or ins[0] is None:
        raise unsupported(op, g, "expected 3 inputs (input, size_splits, axis)")
    # The sizes come from the output shapes, as in TFLM; size_splits is not read.
    return _lower_split(op, g, ctx, ins[0], ins[2])


@register("UNPACK")
def lower_unpack(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    outs = g.op_outputs(op)
    for t in outs:
        require_same_type(op, g, inp, t, UNPACK_TYPES)
    require_nonempty(op, g, [inp, *outs])
    rank = len(inp.shape)
    axis = _norm_axis(op, g, int(op.options.get("axis", 0)), rank, "axis")
    num = int(op.options.get("num", len(outs)))
    if num != len(outs) or inp.shape[axis] != num:
        raise unsupported(op, g, f"num is {num}, with {len(outs)} outputs and input dimension "
                          f"{axis} of {inp.shape[axis]}; all three must agree")
    want = tuple(inp.shape[:axis]) + tuple(inp.shape[axis + 1:])
    for t in outs:
        if tuple(t.shape) != want:
            raise unsupported(op, g, f"output '{t.name}' has shape {list(t.shape)}; unpacking "
                              f"{list(inp.shape)} on axis {axis} gives {list(want)}")
    return _rows_call(op, ctx, inp, outs, axis, [1] * num, False,
                      f"UNPACK {inp.shape_str()} on axis {axis} -> {num} x {outs[0].shape_str()}")
