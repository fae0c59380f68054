"""SLICE: a block of the input at constant offsets, as one strided copy (`tg_strided_copy`).

TFLM (slice.cc) reads `begin` and `size` as int32 or int64 constants; a size of -1
means "to the end of that dimension".  The block must lie inside the input.  The
kernel is the data-movement one of tg_movement (the loops are computed here, as
for STRIDED_SLICE), so every element type TFLM's SLICE accepts is supported.
"""
from __future__ import annotations


from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.movement import (contiguous_strides, elem_bytes, require_nonempty, require_same_type)
from codegen.lowering.strided_copy import copy_call, strided_copy_params
from codegen.ops.slice import (SLICE_TYPES, SLICE_MAX_DIMS, index_values, slice_bounds)


@register("SLICE")
def lower_slice(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 3:
        raise unsupported(op, g, f"expected 3 inputs (input, begin, size), got {len(ins)}")
    inp = ins[0]
    require_same_type(op, g, inp, out, SLICE_TYPES)
    require_nonempty(op, g, [inp, out])
    rank = len(inp.shape)
    if not 1 <= rank <= SLICE_MAX_DIMS:
        raise unsupported(op, g, f"input has {rank} dimensions; TFLM slices 1-D to "
                          f"{SLICE_MAX_DIMS}-D")
    begin = index_values(op, g, ins[1], "begin", rank)
    size = index_values(op, g, ins[2], "size", rank)
    bounds = slice_bounds(inp.shape, begin, size)
    if bounds is None:
        raise unsupported(op, g, f"the block begin {begin} size {size} does not lie inside the "
                          f"input [{inp.shape_str()}] (sizes may be -1: to the end)")
    counts = [n for _, n in bounds]
    if tuple(counts) != tuple(out.shape):
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the slice, "
                          f"which has shape {counts}")
    in_strides = contiguous_strides(inp.shape)
    offset = sum(b * s for (b, _), s in zip(bounds, in_strides))
    params = strided_copy_params(counts, in_strides, contiguous_strides(counts), offset, 0,
                                 elem_bytes(inp))
    desc = ", ".join(f"{b}:{b + n}" for b, n in bounds)
    return copy_call(op, inp, out, params, f"SLICE {inp.shape_str()} [{desc}] -> "
                     f"{out.shape_str()}")
