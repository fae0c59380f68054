"""Constant folding: evaluate at generation time what does not depend on the inputs.

Shapes are static, so SHAPE is a constant, and so is everything computed only
from shapes and constants (the FILL of an LSTM's zero state, a reshape of a
constant, ...).  Each operator below has a small numpy evaluator that gives
the bytes TFLM's kernel would write; an operator whose inputs are all constant
(or, for SHAPE and ZEROS_LIKE, whose output depends on shapes alone) is run
here, its outputs become constant tensors and the operator disappears.

An evaluator returns None when the operator is outside what it models exactly
(an unusual option, a type TFLM would not accept, an index out of range); the
operator then stays in the graph, where its lowering runs it on the device or
reports what is wrong.  All-constant operators without an evaluator (ADD of two
constants, a FULLY_CONNECTED of a constant, ...) stay too: their arithmetic
lives in the lowering, and is not guessed here.

A model output that becomes constant still has to reach the caller's buffer:
it gets a constant source tensor and a RESHAPE (a copy) writes it out.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.movement import end_for_axis, start_for_axis
from codegen.ops.slice import slice_bounds

NP_DTYPE = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
            "int64": np.int64, "float32": np.float32, "bool": np.bool_}

# An evaluator gets (op, input tensors, output tensors, input values: each input's constant
# data, None where it has none) and returns one array per output, or None to leave the
# operator in the graph.
Evaluator = Callable[[Op, list, list, list], "list[np.ndarray] | None"]

EVALUATORS: dict[str, Evaluator] = {}
# Operators whose output depends on the input's shape only: they fold whatever the input.
SHAPE_ONLY = {"SHAPE", "ZEROS_LIKE"}


def evaluator(*opcodes: str):
    def deco(fn: Evaluator) -> Evaluator:
        for oc in opcodes:
            EVALUATORS[oc] = fn
        return fn
    return deco


def _axis(axis: int, rank: int) -> int | None:
    a = axis + rank if axis < 0 else axis
    return a if 0 <= a < rank else None


def _ints(v: np.ndarray | None) -> list[int] | None:
    """An index tensor's values; None unless it is an int32/int64 constant."""
    if v is None or v.dtype not in (np.int32, np.int64):
        return None
    return [int(x) for x in v.reshape(-1)]


# -- shapes and fills -----------------------------------------------------------------------

@evaluator("SHAPE")
def _shape(op, ins, outs, vals):
    # TFLM writes int32 only; an int64 SHAPE means the same numbers.
    return [np.array(ins[0].shape, dtype=NP_DTYPE[outs[0].dtype])]


@evaluator("ZEROS_LIKE")
def _zeros_like(op, ins, outs, vals):
    if ins[0].dtype != outs[0].dtype:
        return None
    return [np.zeros(outs[0].shape, dtype=NP_DTYPE[outs[0].dtype])]   # raw 0, whatever the zero point


@evaluator("FILL")
def _fill(op, ins, outs, vals):
    dims, value = _ints(vals[0]), vals[1]
    out = outs[0]
    # TFLM requires the dims to equal the output shape and the value to have the output's type
    if dims != list(out.shape) or value is None or value.size != 1 or ins[1].dtype != out.dtype:
        return None
    return [np.full(out.shape, value.reshape(-1)[0], dtype=NP_DTYPE[out.dtype])]


# -- pure data movement: the bytes are the input's, rearranged --------------------------------

@evaluator("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(op, ins, outs, vals):
    x = vals[0]
    if x.size != outs[0].num_elements or ins[0].dtype != outs[0].dtype:
        return None
    return [x.reshape(outs[0].shape)]


@evaluator("TRANSPOSE")
def _transpose(op, ins, outs, vals):
    perm = _ints(vals[1])
    if perm is None or sorted(perm) != list(range(vals[0].ndim)):
        return None
    return [np.transpose(vals[0], perm)]


@evaluator("CONCATENATION")
def _concatenation(op, ins, outs, vals):
    out = outs[0]
    if op.options.get("fused_activation_function", 0) != 0 or not vals:
        return None
    if out.dtype == "int8" and any(_quant(t) != _quant(out) for t in ins):
        return None     # TFLM refuses int8 inputs quantized unlike the output
    axis = _axis(int(op.options.get("axis", 0)), len(out.shape))
    if axis is None or any(v.ndim != len(out.shape) for v in vals):
        return None
    return [np.concatenate(vals, axis=axis)]


@evaluator("PACK")
def _pack(op, ins, outs, vals):
    axis = _axis(int(op.options.get("axis", 0)), len(outs[0].shape))
    if axis is None or len({v.shape for v in vals}) != 1:
        return None
    return [np.stack(vals, axis=axis)]


@evaluator("UNPACK")
def _unpack(op, ins, outs, vals):
    x = vals[0]
    axis = _axis(int(op.options.get("axis", 0)), x.ndim)
    if axis is None or x.shape[axis] != len(outs):
        return None
    return [np.take(x, i, axis=axis) for i in range(len(outs))]


def _split_at(x: np.ndarray, axis_v: np.ndarray | None, outs: list[Tensor]):
    """Cut x along the axis into the sizes of the outputs (TFLM takes them from the outputs)."""
    axis = _ints(axis_v)
    if axis is None or len(axis) != 1:
        return None
    a = _axis(axis[0], x.ndim)
    if a is None or len(outs[0].shape) != x.ndim:
        return None
    sizes = [t.shape[a] for t in outs]
    if sum(sizes) != x.shape[a]:
        return None
    return np.split(x, np.cumsum(sizes)[:-1], axis=a)


@evaluator("SPLIT")
def _split(op, ins, outs, vals):
    return _split_at(vals[1], vals[0], outs)


@evaluator("SPLIT_V")
def _split_v(op, ins, outs, vals):
    return _split_at(vals[0], vals[2], outs)


@evaluator("STRIDED_SLICE")
def _strided_slice(op, ins, outs, vals):
    x = vals[0]
    begin, end, strides = _ints(vals[1]), _ints(vals[2]), _ints(vals[3])
    o = op.options
    if any(o.get(k) for k in ("ellipsis_mask", "new_axis_mask", "offset")):
        return None     # TFLM ignores these; the lowering says so in a warning
    if begin is None or end is None or strides is None or x.ndim == 0:
        return None
    if not len(begin) == len(end) == len(strides) == x.ndim or 0 in strides:
        return None
    kept, index = [], []
    for k in range(x.ndim):
        size, stride = x.shape[k], strides[k]
        shrink = bool(int(o.get("shrink_axis_mask", 0)) >> k & 1)
        start = start_for_axis(begin[k], stride, size, bool(int(o.get("begin_mask", 0)) >> k & 1))
        stop = end_for_axis(end[k], stride, size, bool(int(o.get("end_mask", 0)) >> k & 1),
                             shrink, start)
        if shrink and (not 0 <= start < size or stride < 0):
            return None
        idx = np.arange(start, stop, stride)
        index.append(idx)
        if not shrink:
            kept.append(idx.size)
    return [x[np.ix_(*index)].reshape(kept)]


@evaluator("GATHER")
def _gather(op, ins, outs, vals):
    x, coords = vals[0], vals[1]
    if coords is None or coords.dtype not in (np.int32, np.int64):
        return None
    batch_dims = int(op.options.get("batch_dims", 0))
    if batch_dims < 0:
        batch_dims += coords.ndim
    axis = _axis(int(op.options.get("axis", 0)), x.ndim)
    if axis is None or np.any(coords < 0) or np.any(coords >= x.shape[axis]):
        return None
    if batch_dims == 0:
        return [np.take(x, coords, axis=axis)]
    if not 0 < batch_dims <= min(axis, coords.ndim) or \
            x.shape[:batch_dims] != coords.shape[:batch_dims]:
        return None
    lead = x.shape[:batch_dims]
    xb = x.reshape((-1,) + x.shape[batch_dims:])
    cb = coords.reshape((-1,) + coords.shape[batch_dims:])
    parts = [np.take(xb[k], cb[k], axis=axis - batch_dims) for k in range(xb.shape[0])]
    return [np.stack(parts).reshape(lead + parts[0].shape)]


@evaluator("SLICE")
def _slice(op, ins, outs, vals):
    x, begin, size = vals[0], _ints(vals[1]), _ints(vals[2])
    if begin is None or size is None or not len(begin) == len(size) == x.ndim:
        return None
    bounds = slice_bounds(x.shape, begin, size)
    if bounds is None:
        return None
    return [x[tuple(slice(b, b + n) for b, n in bounds)]]


@evaluator("TILE")
def _tile(op, ins, outs, vals):
    multiples = _ints(vals[1])
    if multiples is None or len(multiples) != vals[0].ndim or min(multiples, default=1) < 1:
        return None
    return [np.tile(vals[0], multiples)]


@evaluator("REDUCE_MAX", "REDUCE_MIN")
def _reduce_minmax(op, ins, outs, vals):
    x, axes = vals[0], _ints(vals[1])
    if axes is None or x.size == 0 or ins[0].dtype != "int8" or _quant(ins[0]) != _quant(outs[0]):
        return None
    resolved = {_axis(a, x.ndim) for a in axes}
    if None in resolved:
        return None
    fn = np.max if op.opcode == "REDUCE_MAX" else np.min
    y = fn(x, axis=tuple(sorted(resolved)), keepdims=True)
    return [y.reshape(outs[0].shape)] if y.size == outs[0].num_elements else None


@evaluator("ARG_MAX", "ARG_MIN")
def _arg_minmax(op, ins, outs, vals):
    x, axis = vals[0], _ints(vals[1])
    if axis is None or len(axis) != 1 or x.size == 0 or outs[0].dtype not in ("int32", "int64"):
        return None
    a = _axis(axis[0], x.ndim)
    if a is None:
        return None
    fn = np.argmax if op.opcode == "ARG_MAX" else np.argmin   # first index on ties, as TFLite
    return [fn(x, axis=a).astype(NP_DTYPE[outs[0].dtype])]


# -- element type changes -------------------------------------------------------------------

CAST_FROM = ("int8", "int16", "int32", "float32", "bool")   # what TFLM's CAST reads
CAST_TO = ("int8", "int16", "int32", "float32")             # and writes


@evaluator("CAST")
def _cast(op, ins, outs, vals):
    x, to = vals[0], outs[0].dtype
    if ins[0].dtype not in CAST_FROM or to not in CAST_TO:
        return None
    if x.dtype.kind == "f" and to != "float32":
        # C++ truncates toward zero; out of range (or NaN) it is undefined: do not fold
        info = np.iinfo(NP_DTYPE[to])
        if not np.all(np.isfinite(x)) or np.any(np.trunc(x) < info.min) or \
                np.any(np.trunc(x) > info.max):
            return None
        return [np.trunc(x).astype(NP_DTYPE[to])]
    # integer narrowing wraps (two's complement); int -> float rounds to nearest
    return [x.astype(NP_DTYPE[to])]


def _quant(t: Tensor) -> tuple[float, int]:
    if t.quant is None:
        return 0.0, 0
    return float(t.quant.scale[0]), int(t.quant.zero_point[0])


# -- the pass ---------------------------------------------------------------------------------

def _evaluate(op: Op, tensors: list[Tensor]) -> list[np.ndarray] | None:
    """The op's output values if it can be folded exactly, else None."""
    fn = EVALUATORS.get(op.opcode)
    if fn is None:
        return None
    ins = [tensors[i] if i >= 0 else None for i in op.inputs]
    outs = [tensors[i] for i in op.outputs]
    if any(t.is_variable for t in outs) or any(t is not None and t.is_variable for t in ins):
        return None
    if op.opcode in SHAPE_ONLY:
        if len(ins) != 1 or ins[0] is None:
            return None
    elif not ins or any(t is None or not t.is_const for t in ins):
        return None
    vals = [t.data if t is not None else None for t in ins]
    results = fn(op, ins, outs, vals)
    if results is None or len(results) != len(outs):
        return None
    for r, t in zip(results, outs):
        # what the model declares must be what was computed; otherwise the lowering decides
        if r.dtype != NP_DTYPE[t.dtype] or tuple(r.shape) != tuple(t.shape):
            return None
    return [np.array(r, order="C") for r in results]   # (ascontiguousarray makes 0-d 1-d)


def fold_constants(graph: Graph) -> Graph:
    tensors = list(graph.tensors)
    outputs = set(graph.outputs)
    # Each step is an Op kept as is, or (tensor index, op index): a model output that is a
    # constant, to be copied into the caller's buffer where its producer was.
    first_free = max((op.index for op in graph.ops), default=-1) + 1
    steps: list = [(t, first_free + k) for k, t in enumerate(dict.fromkeys(graph.outputs))
                   if tensors[t].is_const]          # constant in the file already
    folded = False
    for op in graph.ops:
        results = _evaluate(op, tensors)
        if results is None:
            steps.append(op)
            continue
        folded = True
        for t_idx, r in zip(op.outputs, results):
            tensors[t_idx] = dataclasses.replace(tensors[t_idx], data=r)
            if t_idx in outputs:
                steps.append((t_idx, op.index))
    if not folded and len(steps) == len(graph.ops):
        return graph

    # Constant model outputs: readers take a constant copy, a RESHAPE fills the caller's buffer.
    source: dict[int, int] = {}
    ops: list[Op] = []
    for step in steps:
        if isinstance(step, Op):
            ops.append(dataclasses.replace(step, inputs=[source.get(i, i) for i in step.inputs]))
            continue
        t_idx, op_index = step
        const = dataclasses.replace(tensors[t_idx], index=len(tensors))
        tensors.append(const)
        tensors[t_idx] = dataclasses.replace(tensors[t_idx], data=None)
        source[t_idx] = const.index
        ops.append(Op(index=op_index, opcode="RESHAPE", inputs=[const.index], outputs=[t_idx]))
    return dataclasses.replace(graph, tensors=tensors, ops=ops)
