"""TILE: the input repeated `multiples[k]` times along each dimension k (`tg_tile`).

Keras 3's UpSampling2D converts to RESHAPE [N, H, 1, W, 1, C] + TILE [1, 1, s, 1, s, 1]
(+ RESHAPE), not RESIZE_NEAREST_NEIGHBOR.  TFLM has no TILE kernel; the reference is
TFLite's (tile.cc): output[i0, ..., ir] = input[i0 mod d0, ..., ir mod dr], raw values
copied (no requantization).  `multiples` must be a constant (int32 or int64).

Dimensions are simplified here: those of extent 1 tiled once are dropped, and a
dimension tiled once merges into the one before it (their rows stay contiguous), so
the UpSampling2D pattern becomes at most 4 dimensions.
"""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.movement import elem_bytes, require_nonempty, require_same_type
from codegen.ops.slice import index_values


TILE_TYPES = ("int8", "int16", "int32", "float32")
MAX_DIMS = C_LIMITS["TG_TILE_MAX_DIMS"]   # merged dimensions of tg_tile


def merge_tile_dims(shape, multiples) -> list[tuple[int, int]]:
    """(extent, multiple) per dimension after dropping and merging (see module docstring)."""
    dims: list[list[int]] = []
    for d, m in zip(shape, multiples):
        d, m = int(d), int(m)
        if d == 1 and m == 1:
            continue
        if dims and m == 1:
            dims[-1][0] *= d
        else:
            dims.append([d, m])
    return [(d, m) for d, m in dims] or [(1, 1)]


@register("TILE")
def lower_tile(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 2:
        raise unsupported(op, g, f"expected 2 inputs (input, multiples), got {len(ins)}")
    inp = ins[0]
    require_same_type(op, g, inp, out, TILE_TYPES)
    require_nonempty(op, g, [inp, out])
    rank = len(inp.shape)
    if rank == 0:
        raise unsupported(op, g, "the input is a scalar; TILE needs at least one dimension")
    multiples = index_values(op, g, ins[1], "multiples", rank)
    if any(m < 1 for m in multiples):
        raise unsupported(op, g, f"multiples {multiples} must all be at least 1")
    want = [d * m for d, m in zip(inp.shape, multiples)]
    if list(out.shape) != want:
        raise unsupported(op, g, f"output shape {list(out.shape)} is not the input's "
                          f"[{inp.shape_str()}] tiled by {multiples} ({want})")
    dims = merge_tile_dims(inp.shape, multiples)
    if len(dims) > MAX_DIMS:
        raise unsupported(op, g, f"tiling {multiples} of [{inp.shape_str()}] needs {len(dims)} "
                          f"dimensions after merging; at most {MAX_DIMS} are supported")
    pad = [(1, 1)] * (MAX_DIMS - len(dims))
    return LayerCall(
        op=op, kernel="tg_tile", params_type="tg_tile_params_t",
        params=dict(dims=len(dims), in_shape=[d for d, _ in dims] + [d for d, _ in pad],
                    multiples=[m for _, m in dims] + [m for _, m in pad],
                    elem_bytes=elem_bytes(inp)),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"TILE {inp.shape_str()} x {multiples} -> {out.shape_str()}",
    )
