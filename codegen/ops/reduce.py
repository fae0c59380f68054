"""MEAN, SUM, REDUCE_MAX, REDUCE_MIN: the reduced axes as TFLM resolves them, merged
dimension groups, and MEAN's multiplier, kernel-neutral.
"""
from __future__ import annotations


from dataclasses import dataclass

from codegen.graph import Graph, Op, Tensor
from codegen.graph import Quantization
from codegen.ops.checks import require_dtype, require_quant, unsupported

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


@dataclass
class Reduction:
    """An int8 (or int16) reduction (MEAN, SUM, REDUCE_MAX, REDUCE_MIN) checked: its tensors, the reduced
    axes, how many inputs each output gathers, and the merged loop groups."""

    inp: Tensor
    out: Tensor
    in_q: Quantization
    out_q: Quantization
    axes: list[int]
    count: int                              # input elements per output element
    outer: list[tuple[int, int]]            # (extent, stride) of the kept loops, outermost first
    reduce: list[tuple[int, int]]           # (extent, stride) of the reduced loops


def analyse_reduction(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> Reduction:
    """Check a reduction whose input is one of `activations` (output of the same type)."""
    ins = g.op_inputs(op)
    if len(ins) != 2 or ins[1] is None:
        raise unsupported(op, g, "expected an input and an axis tensor")
    inp, axis = ins
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, activations, "input")
    require_dtype(op, g, out, (inp.dtype,), "output")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if any(d <= 0 for d in inp.shape):
        raise unsupported(op, g, f"input shape [{inp.shape_str()}] has an empty dimension")
    axes = resolve_axes(op, g, axis, len(inp.shape))
    count = 1
    for a in axes:
        count *= inp.shape[a]
    kept = inp.num_elements // count
    if out.num_elements != kept:
        raise unsupported(op, g, f"output [{out.shape_str()}] should hold {kept} elements "
                          f"(input [{inp.shape_str()}] reduced over axes {axes})")
    groups = merge_dims(inp.shape, set(axes))
    return Reduction(inp=inp, out=out, in_q=in_q, out_q=out_q, axes=axes, count=count,
                     outer=[(d, s) for d, red, s in groups if not red],
                     reduce=[(d, s) for d, red, s in groups if red])


def pad_groups(groups: list[tuple[int, int]], max_dims: int) -> tuple[list[int], list[int]]:
    """(extents, strides) of loop groups, padded in front with loops of one to `max_dims`."""
    groups = [(1, 0)] * (max_dims - len(groups)) + groups
    return [d for d, _ in groups], [s for _, s in groups]
