"""SLICE: the begin and size inputs read and checked as TFLM does (int32 or int64, size -1
meaning to the end), kernel-neutral.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import unsupported

SLICE_TYPES = ("int8", "int16", "int32", "float32")


SLICE_MAX_DIMS = 5   # TFLM's kMaxDim for SLICE


def index_values(op: Op, g: Graph, t: Tensor | None, role: str, count: int) -> list[int]:
    """A constant int32/int64 index tensor of `count` values."""
    if t is None:
        raise unsupported(op, g, f"its {role} tensor is missing")
    if not t.is_const:
        raise unsupported(op, g, f"{role} '{t.name}' is not a constant (output shapes are "
                          "fixed when the model is prepared)")
    if t.dtype not in ("int32", "int64"):
        raise unsupported(op, g, f"{role} '{t.name}' is {t.dtype}; supported: int32, int64")
    values = [int(v) for v in np.asarray(t.data).reshape(-1)]
    if len(values) != count:
        raise unsupported(op, g, f"{role} '{t.name}' has {len(values)} values, expected {count} "
                          "(one per input dimension)")
    return values


def slice_bounds(shape, begin: list[int], size: list[int]) -> list[tuple[int, int]] | None:
    """(start, count) per dimension, or None when the block leaves the input."""
    out = []
    for d, b, s in zip(shape, begin, size):
        n = d - b if s == -1 else s
        if b < 0 or n < 0 or b + n > d:
            return None
        out.append((b, n))
    return out
