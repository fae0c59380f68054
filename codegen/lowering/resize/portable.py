"""RESIZE_NEAREST_NEIGHBOR: every output pixel copies one input pixel.

The source row of each output row and the source column of each output
column are computed here with the reference's float32 arithmetic
(GetNearestNeighbor in TFLite's reference kernel) and emitted as tables of
byte offsets; the kernel only copies pixels.  The size input is a constant
consumed here.
"""
from __future__ import annotations


import numpy as np

from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.movement import (const_ints, elem_bytes, require_nonempty,
                                    require_same_type)
from codegen.ops.resize import nearest_indices

RESIZE_TYPES = ("int8", "int16", "float32")


@register("RESIZE_NEAREST_NEIGHBOR")
def lower_resize_nearest(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 2:
        raise unsupported(op, g, f"expected 2 inputs (input, size), got {len(ins)}")
    inp = ins[0]
    require_same_type(op, g, inp, out, RESIZE_TYPES)
    require_nonempty(op, g, [inp, out])
    if len(inp.shape) != 4 or len(out.shape) != 4:
        raise unsupported(op, g, "input and output must be 4-D (batch, height, width, "
                          "channels), as TFLM requires")
    if ins[1] is not None and len(ins[1].shape) != 1:
        raise unsupported(op, g, f"size '{ins[1].name}' must be 1-D [height, width], as TFLM "
                          f"requires (it has shape {list(ins[1].shape)})")
    out_h, out_w = const_ints(op, g, ins[1], "size", 2)
    batches, in_h, in_w, depth = (int(d) for d in inp.shape)
    if tuple(out.shape) != (batches, out_h, out_w, depth):
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match size "
                          f"[{out_h}, {out_w}] of input {list(inp.shape)}")
    align = bool(op.options.get("align_corners", False))
    half = bool(op.options.get("half_pixel_centers", False))
    es = elem_bytes(inp)
    pixel = depth * es
    rows = np.array(nearest_indices(in_h, out_h, align, half), dtype=np.int64) * in_w * pixel
    cols = np.array(nearest_indices(in_w, out_w, align, half), dtype=np.int64) * pixel
    c_r, r_r = ctx.const("row_offset", "int32_t", rows.astype(np.int32),
                         "input byte offset of the source row of each output row")
    c_c, r_c = ctx.const("col_offset", "int32_t", cols.astype(np.int32),
                         "byte offset in its row of each output pixel's source")
    flags = "".join([", align_corners" if align else "", ", half_pixel_centers" if half else ""])
    return LayerCall(
        op=op, kernel="tg_resize_nearest", params_type="tg_resize_nearest_params_t",
        params=dict(batches=batches, out_height=out_h, out_width=out_w, pixel_bytes=pixel,
                    in_batch_bytes=in_h * in_w * pixel, row_offset=r_r, col_offset=r_c),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        consts=[c_r, c_c],
        comment=f"RESIZE_NEAREST_NEIGHBOR {inp.shape_str()} -> {out.shape_str()}{flags}")
