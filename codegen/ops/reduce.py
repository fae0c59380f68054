"""MEAN, SUM, REDUCE_MAX, REDUCE_MIN: the reduced axes as TFLM resolves them, merged
dimension groups, and MEAN's multiplier, kernel-neutral.
"""
from __future__ import annotations


from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, unsupported

def resolve_axes(op: Op, g: Graph, axis: Tensor, rank: int) -> list[int]:
    """TFLite's ResolveAxis: negative axes count from the end, duplicates are dropped."""
    if not axis.is_const:
        raise unsupported(op, g, f"axis tensor '{axis.name}' is not constant")
    require_dtype(op, g, axis, ("int32",), "axis")
    out: list[int] = []
    if rank == 0:
        return out
    for a in axis.data.reshape(-1).tolist():
        r = a + rank if a < 0 else a
        if not 0 <= r < rank:
            raise unsupported(op, g, f"axis {a} is out of range for a rank-{rank} input")
        if r not in out:
            out.append(r)
    return out


def merge_dims(shape: tuple[int, ...], reduced: set[int]) -> list[tuple[int, bool, int]]:
    """(extent, is_reduced, input stride) groups: extent-1 dims dropped, neighbours merged."""
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    groups: list[list] = []
    for k, d in enumerate(shape):
        if d == 1:
            continue
        red = k in reduced
        if groups and groups[-1][1] == red and groups[-1][2] == d * strides[k]:
            groups[-1][0] *= d
            groups[-1][2] = strides[k]
        else:
            groups.append([d, red, strides[k]])
    return [tuple(x) for x in groups]


def mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """Fold 1/count into (multiplier, shift) exactly as QuantizedMeanOrSum does."""
    k = count.bit_length() - 1          # 63 - CountLeadingZeros(count)
    k = min(k, 32, 31 + shift)
    if k < 0:
        raise ValueError(f"output shift {shift} leaves no room to divide by {count}")
    return (multiplier << k) // count, shift - k
