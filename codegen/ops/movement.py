"""Data movement (PAD, PADV2, TRANSPOSE, STRIDED_SLICE, and the helpers of every operator
that moves elements without changing them): what a layer means, checked, kernel-neutral.

Shapes are static, so every index input (paddings, perm, begin/end/strides) must be a
constant; these functions read and check them the way TFLM's Prepare does.  The
constant-folding pass uses the same strided-slice arithmetic.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import DTYPE_BYTES, Graph, Op, Tensor
from codegen.ops.checks import require_dtype, unsupported


def contiguous_strides(shape) -> list[int]:
    """Element strides of a row-major tensor of `shape`."""
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * int(shape[k + 1])
    return strides


def require_same_type(op: Op, g: Graph, inp: Tensor | None, out: Tensor,
                      allowed: tuple[str, ...]) -> None:
    """Input and output of one element type that TFLM's kernel of this operator accepts."""
    require_dtype(op, g, inp, allowed, "input")
    require_dtype(op, g, out, allowed, "output")
    if inp.dtype != out.dtype:
        raise unsupported(op, g, f"input is {inp.dtype} but output '{out.name}' is {out.dtype}; "
                          "they must be the same type")


def require_nonempty(op: Op, g: Graph, tensors: list[Tensor]) -> None:
    for t in tensors:
        if t.num_elements == 0:
            raise unsupported(op, g, f"tensor '{t.name}' has no elements (shape {list(t.shape)})")


def const_ints(op: Op, g: Graph, t: Tensor | None, role: str,
               count: int | None = None) -> list[int]:
    """The values of a constant int32 index tensor (TFLM reads them as int32)."""
    if t is None:
        raise unsupported(op, g, f"its {role} tensor is missing")
    if not t.is_const:
        raise unsupported(op, g, f"{role} '{t.name}' is not a constant (TFLM requires a "
                          "constant: output shapes are fixed when the model is prepared)")
    if t.dtype != "int32":
        raise unsupported(op, g, f"{role} '{t.name}' is {t.dtype}; TFLM reads it as int32")
    values = [int(v) for v in np.asarray(t.data).reshape(-1)]
    if count is not None and len(values) != count:
        raise unsupported(op, g, f"{role} '{t.name}' has {len(values)} values, expected {count}")
    return values


def quant_pair(t: Tensor) -> tuple[float, int]:
    """(scale, zero point) as TFLM holds them for a per-tensor tensor; (0, 0) when absent."""
    if t.quant is None:
        return 0.0, 0
    return float(np.float32(t.quant.scale[0])), int(t.quant.zero_point[0])


def elem_bytes(t: Tensor) -> int:
    return DTYPE_BYTES[t.dtype]


# -- PAD, PADV2 -------------------------------------------------------------------------------

PAD_TYPES = ("int8", "int16", "int32", "float32")
PAD_MAX_DIMS = 5     # PadKernelMaxDimensionCount


@dataclass
class PadLayer:
    inp: Tensor
    out: Tensor
    left: list[int]       # padding before, per dimension
    right: list[int]      # padding after, per dimension
    value: object         # the pad value as TFLM's kernel picks it (int, or float32)
    value_why: str        # "output zero point", "zero", "given constant"

    @property
    def pads(self) -> list[int]:
        return [v for pair in zip(self.left, self.right) for v in pair]

    @property
    def value_text(self) -> str:
        if self.value is None:
            return ""
        return repr(float(self.value)) if self.inp.dtype == "float32" else str(int(self.value))

    def comment(self, opcode: str) -> str:
        text = self.value_text
        return (f"{opcode} {self.inp.shape_str()} -> {self.out.shape_str()}, paddings "
                f"{[[l, r] for l, r in zip(self.left, self.right)]}"
                + (f", pad value {text}" if text else " (a copy)"))


def _pad_value(op: Op, g: Graph, inp: Tensor, out: Tensor, const_t: Tensor | None):
    """The pad value as TFLM's kernel picks it, and where it comes from."""
    if const_t is None:
        # PAD: int8 pads with the output zero point; the other types with 0
        if inp.dtype == "int8":
            return quant_pair(out)[1], "output zero point"
        return 0, "zero"
    if const_t.dtype != inp.dtype:
        raise unsupported(op, g, f"constant value '{const_t.name}' is {const_t.dtype}, "
                          f"the input is {inp.dtype}; they must be the same type")
    if const_t.num_elements != 1:
        raise unsupported(op, g, f"constant value '{const_t.name}' must be a scalar "
                          f"(it has {const_t.num_elements} values)")
    if not const_t.is_const:
        raise unsupported(op, g, f"constant value '{const_t.name}' is computed at run time; "
                          "tinygen needs it constant")
    if inp.dtype == "int8" and quant_pair(const_t) != quant_pair(out):
        raise unsupported(op, g, f"constant value '{const_t.name}' is quantized with "
                          f"{quant_pair(const_t)} but the output with {quant_pair(out)}; "
                          "TFLM requires the same scale and zero point")
    return np.asarray(const_t.data).reshape(-1)[0], "given constant"


def analyse_pad(op: Op, g: Graph) -> PadLayer:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) not in (2, 3) or (op.opcode == "PADV2" and len(ins) != 3):
        raise unsupported(op, g, f"expected {'3' if op.opcode == 'PADV2' else '2 or 3'} "
                          f"inputs, got {len(ins)}")
    inp, pad_t = ins[0], ins[1]
    const_t = ins[2] if len(ins) == 3 else None
    require_same_type(op, g, inp, out, PAD_TYPES)
    require_nonempty(op, g, [inp, out])
    rank = len(inp.shape)
    if rank > PAD_MAX_DIMS:
        raise unsupported(op, g, f"input has {rank} dimensions; TFLM pads at most {PAD_MAX_DIMS}")
    if len(out.shape) != rank:
        raise unsupported(op, g, f"output has {len(out.shape)} dimensions, input {rank}")
    pads = const_ints(op, g, pad_t, "paddings", 2 * rank)
    left, right = pads[0::2], pads[1::2]
    if any(p < 0 for p in pads):
        raise unsupported(op, g, f"negative paddings {pads} are not supported")
    for k in range(rank):
        if out.shape[k] != inp.shape[k] + left[k] + right[k]:
            raise unsupported(op, g, f"output dimension {k} is {out.shape[k]}, but input "
                              f"{inp.shape[k]} + paddings {left[k]}+{right[k]} = "
                              f"{inp.shape[k] + left[k] + right[k]}")
    value, why = (None, "") if not any(pads) else _pad_value(op, g, inp, out, const_t)
    return PadLayer(inp=inp, out=out, left=left, right=right, value=value, value_why=why)


# -- TRANSPOSE --------------------------------------------------------------------------------

TRANSPOSE_TYPES = ("int8", "int16", "float32")
TRANSPOSE_MAX_DIMS = 5


def analyse_transpose(op: Op, g: Graph) -> tuple[Tensor, Tensor, list[int]]:
    """(input, output, permutation) of a TRANSPOSE layer, checked."""
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 2:
        raise unsupported(op, g, f"expected 2 inputs (input, perm), got {len(ins)}")
    inp = ins[0]
    require_same_type(op, g, inp, out, TRANSPOSE_TYPES)
    require_nonempty(op, g, [inp, out])
    rank = len(inp.shape)
    if not 1 <= rank <= TRANSPOSE_MAX_DIMS:
        raise unsupported(op, g, f"input has {rank} dimensions; TFLM transposes 1-D to 5-D")
    perm = const_ints(op, g, ins[1], "perm", rank)
    if sorted(perm) != list(range(rank)):
        raise unsupported(op, g, f"perm {perm} is not a permutation of 0..{rank - 1}")
    want = tuple(inp.shape[p] for p in perm)
    if tuple(out.shape) != want:
        raise unsupported(op, g, f"output shape {list(out.shape)} is not the permuted input "
                          f"shape {list(want)}")
    return inp, out, perm


def keeps_data_order(shape, perm) -> bool:
    """Whether a transpose of `shape` by `perm` leaves every element where it is: it moves
    only axes of size 1 among the others (1x49x10 -> 49x1x10), a reshape."""
    moved = [p for p in perm if shape[p] != 1]
    return moved == sorted(moved)


# -- STRIDED_SLICE ----------------------------------------------------------------------------

SLICE_TYPES = ("int8", "int16", "int32", "float32", "bool")
SLICE_MAX_DIMS = 4   # TFLM's kMaxDim
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else (lo if v < lo else v)


def start_for_axis(begin: int, stride: int, size: int, masked: bool) -> int:
    """Where the walk along one axis starts (StridedSliceStartForAxis)."""
    start = begin
    if start < 0:
        start += size
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if masked:
        start = 0 if stride > 0 else size - 1
    return start


def end_for_axis(end: int, stride: int, size: int, masked: bool, shrink: bool,
                  start: int) -> int:
    """Where the walk along one axis stops, exclusive (StridedSliceEndForAxis)."""
    if shrink:
        return start if start >= size else start + 1
    if end < 0:
        end += size
    end = _clamp(end, 0, size) if stride > 0 else _clamp(end, -1, size - 1)
    if masked:
        end = size if stride > 0 else -1
    return end


def iterations(start: int, stop: int, stride: int) -> int:
    if stride > 0:
        return max(0, -(-(stop - start) // stride))
    return max(0, -(-(start - stop) // -stride))
