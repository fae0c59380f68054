"""GATHER: slices of the input picked along one axis by int32 positions (`tg_gather`).

As TFLM's gather.cc, with batch_dims: for each batch index b (the first batch_dims
dimensions, shared by input and positions), each outer index o (input dimensions
between batch_dims and the axis) and each position p of that batch:

    output[b, o, p, ...] = input[b, o, positions[b, p], ...]

raw values copied.  A position outside [0, axis size) makes TFLM fail the call; the
kernel returns an error then (the model's invoke returns non-zero), and constant
positions are checked here, at generation time.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, unsupported
from codegen.ops.movement import elem_bytes, require_same_type
from codegen.ops.gather import GATHER_TYPES, product


@register("GATHER")
def lower_gather(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 2 or ins[1] is None:
        raise unsupported(op, g, "expected 2 inputs (input, positions)")
    inp, pos = ins
    require_same_type(op, g, inp, out, GATHER_TYPES)
    require_dtype(op, g, pos, ("int32",), "positions")
    rank, prank = len(inp.shape), len(pos.shape)
    batch_dims = int(op.options.get("batch_dims", 0))
    if batch_dims < 0:
        batch_dims += prank
    a = int(op.options.get("axis", 0))
    axis = a + rank if a < 0 else a
    if not 0 <= axis < rank:
        raise unsupported(op, g, f"axis {a} is out of range for a rank-{rank} input")
    if not 0 <= batch_dims <= min(axis, prank) or \
            list(inp.shape[:batch_dims]) != list(pos.shape[:batch_dims]):
        raise unsupported(op, g, f"batch_dims {op.options.get('batch_dims', 0)} must be at most "
                          f"the axis ({axis}) and the positions' rank, with equal leading "
                          f"dimensions in input [{inp.shape_str()}] and positions "
                          f"[{pos.shape_str()}]")
    want = list(inp.shape[:axis]) + list(pos.shape[batch_dims:]) + list(inp.shape[axis + 1:])
    if [int(d) for d in out.shape] != [int(d) for d in want]:
        raise unsupported(op, g, f"output shape {list(out.shape)} should be {want}")
    if inp.num_elements == 0 or out.num_elements == 0:
        raise unsupported(op, g, "empty tensors are not supported")
    axis_size = int(inp.shape[axis])
    if pos.is_const:
        bad = [int(v) for v in np.asarray(pos.data).reshape(-1) if not 0 <= v < axis_size]
        if bad:
            raise unsupported(op, g, f"position {bad[0]} is outside [0, {axis_size}) (TFLM "
                              "fails such a call)")
    return LayerCall(
        op=op, kernel="tg_gather", params_type="tg_gather_params_t",
        params=dict(batch=product(inp.shape[:batch_dims]),
                    outer=product(inp.shape[batch_dims:axis]),
                    axis_size=axis_size,
                    inner_bytes=product(inp.shape[axis + 1:]) * elem_bytes(inp),
                    count=product(pos.shape[batch_dims:])),
        args=[TensorArg(inp.index), TensorArg(pos.index), TensorArg(out.index)],
        status_ok="0",
        comment=f"GATHER {inp.shape_str()} axis {axis} batch_dims {batch_dims} at "
                f"[{pos.shape_str()}] -> {out.shape_str()}",
    )


