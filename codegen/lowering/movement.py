"""PAD, PADV2, TRANSPOSE, STRIDED_SLICE: one strided copy each.

These operators move elements without changing them.  Shapes are static, so
every loop bound, byte stride and offset is computed here and the kernel
(`tg_strided_copy`) only walks them: for each index of a block of up to five
loops, copy a run of bytes from input offset sum(i*in_stride) to output offset
sum(i*out_stride).  Dimensions that are contiguous in both tensors are merged,
so most layers become a few memcpy calls.  The shape and index inputs
(paddings, perm, begin/end/strides) are constants consumed here; they are not
passed to the kernel.

Every element type TFLM's kernel accepts is supported: the kernel moves bytes.
"""
from __future__ import annotations

import numpy as np

from codegen.cheaders import C_LIMITS
from codegen.graph import DTYPE_BYTES, Graph, Op, Tensor
from codegen.lowering import register
from codegen.lowering.base import (CExpr, ConstArray, ConstRef, LayerCall, LowerContext,
                                   TensorArg, require_dtype, unsupported)

COPY_LOOPS = C_LIMITS["TG_STRIDED_COPY_DIMS"]   # loops of tg_strided_copy


# -- helpers shared by the data-movement lowerings ----------------------------------------

def contiguous_strides(shape) -> list[int]:
    """Element strides of a row-major tensor of `shape`."""
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * int(shape[k + 1])
    return strides


def strided_copy_params(shape, in_strides, out_strides, in_offset: int, out_offset: int,
                        elem_bytes: int) -> dict:
    """Params of tg_strided_copy for a block of `shape` with element strides and offsets.

    Loops of one iteration are dropped, neighbours that are contiguous in both
    tensors are merged, and an innermost loop of unit strides becomes the run
    of bytes copied at once.
    """
    dims = [(int(n), int(si), int(so)) for n, si, so in zip(shape, in_strides, out_strides)]
    if any(n == 0 for n, _, _ in dims):
        dims = [(0, 0, 0)]
    dims = [d for d in dims if d[0] != 1]
    merged: list[tuple[int, int, int]] = []
    for n, si, so in dims:
        if merged:
            pn, psi, pso = merged[-1]
            if psi == si * n and pso == so * n:
                merged[-1] = (pn * n, si, so)
                continue
        merged.append((n, si, so))
    run = 1
    if merged and merged[-1][1] == 1 and merged[-1][2] == 1:
        run = merged.pop()[0]
    if len(merged) > COPY_LOOPS:
        raise ValueError(f"strided copy needs {len(merged)} loops; the kernel has {COPY_LOOPS}")
    merged = [(1, 0, 0)] * (COPY_LOOPS - len(merged)) + merged
    return dict(
        shape=[n for n, _, _ in merged],
        in_stride=[si * elem_bytes for _, si, _ in merged],
        out_stride=[so * elem_bytes for _, _, so in merged],
        in_offset=in_offset * elem_bytes,
        out_offset=out_offset * elem_bytes,
        run_bytes=run * elem_bytes,
        fill_bytes=0, elem_bytes=elem_bytes, fill_value=CExpr("NULL"),
    )


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


def copy_call(op: Op, inp: Tensor, out: Tensor, params: dict, comment: str,
              consts: list[ConstArray] | None = None) -> LayerCall:
    return LayerCall(op=op, kernel="tg_strided_copy", params_type="tg_strided_copy_params_t",
                     params=params, args=[TensorArg(inp.index), TensorArg(out.index)],
                     runtime=["tg_movement"], consts=consts or [], comment=comment)


# -- PAD, PADV2 -------------------------------------------------------------------------------

PAD_TYPES = ("int8", "int16", "int32", "float32")
PAD_MAX_DIMS = 5     # PadKernelMaxDimensionCount


def _pad_value(op: Op, g: Graph, inp: Tensor, out: Tensor, ctx: LowerContext,
               const_t: Tensor | None) -> tuple[ConstArray, ConstRef, str]:
    """The pad value as TFLM's kernel picks it, as a one-element constant array."""
    if const_t is None:
        # PAD: int8 pads with the output zero point; the other types with 0
        value = quant_pair(out)[1] if inp.dtype == "int8" else 0
        why = "output zero point" if inp.dtype == "int8" else "zero"
    else:
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
        value = np.asarray(const_t.data).reshape(-1)[0]
        why = "given constant"
    if inp.dtype == "float32":
        v = np.float32(value)
        if np.isfinite(v):
            arr, ref = ctx.const("pad_value", "float", np.array([v], np.float32),
                                 f"pad value ({why})")
        else:   # no C literal: keep the bits
            arr, ref = ctx.const("pad_value", "uint32_t",
                                 np.array([v], np.float32).view(np.uint32),
                                 f"pad value {float(v)} ({why}), float32 bit pattern")
    else:
        ctype = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}[inp.dtype]
        arr, ref = ctx.const("pad_value", ctype, np.array([value]).astype(np.int64),
                             f"pad value ({why})")
    return arr, ref, (repr(float(value)) if inp.dtype == "float32" else str(int(value)))


@register("PAD", "PADV2")
def lower_pad(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
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
    es = elem_bytes(inp)
    out_strides = contiguous_strides(out.shape)
    params = strided_copy_params(inp.shape, contiguous_strides(inp.shape), out_strides, 0,
                                 sum(l * s for l, s in zip(left, out_strides)), es)
    consts = []
    pad_text = ""
    if any(pads):
        arr, ref, pad_text = _pad_value(op, g, inp, out, ctx, const_t)
        consts.append(arr)
        params.update(fill_bytes=out.nbytes, fill_value=ref)
    return copy_call(op, inp, out, params,
                     f"{op.opcode} {inp.shape_str()} -> {out.shape_str()}, paddings "
                     f"{[[l, r] for l, r in zip(left, right)]}"
                     + (f", pad value {pad_text}" if pad_text else " (a copy)"),
                     consts)


# -- TRANSPOSE --------------------------------------------------------------------------------

TRANSPOSE_TYPES = ("int8", "int16", "float32")
TRANSPOSE_MAX_DIMS = 5


@register("TRANSPOSE")
def lower_transpose(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
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
    in_strides = contiguous_strides(inp.shape)
    params = strided_copy_params(want, [in_strides[p] for p in perm], contiguous_strides(want),
                                 0, 0, elem_bytes(inp))
    return copy_call(op, inp, out, params,
                     f"TRANSPOSE {inp.shape_str()} perm {perm} -> {out.shape_str()}")


# -- STRIDED_SLICE ----------------------------------------------------------------------------

SLICE_TYPES = ("int8", "int16", "int32", "float32", "bool")
SLICE_MAX_DIMS = 4   # TFLM's kMaxDim
INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


def _clamp(v: int, lo: int, hi: int) -> int:
    return hi if v > hi else (lo if v < lo else v)


def _start_for_axis(begin: int, stride: int, size: int, masked: bool) -> int:
    """Where the walk along one axis starts (StridedSliceStartForAxis)."""
    start = begin
    if start < 0:
        start += size
    start = _clamp(start, 0, size) if stride > 0 else _clamp(start, -1, size - 1)
    if masked:
        start = 0 if stride > 0 else size - 1
    return start


def _end_for_axis(end: int, stride: int, size: int, masked: bool, shrink: bool,
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


def _iterations(start: int, stop: int, stride: int) -> int:
    if stride > 0:
        return max(0, -(-(stop - start) // stride))
    return max(0, -(-(start - stop) // -stride))


@register("STRIDED_SLICE")
def lower_strided_slice(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    if len(ins) != 4:
        raise unsupported(op, g, f"expected 4 inputs (input, begin, end, strides), got {len(ins)}")
    inp = ins[0]
    require_same_type(op, g, inp, out, SLICE_TYPES)
    require_nonempty(op, g, [inp, out])
    rank = len(inp.shape)
    if not 1 <= rank <= SLICE_MAX_DIMS:
        raise unsupported(op, g, f"input has {rank} dimensions; TFLM slices 1-D to 4-D")
    begin = const_ints(op, g, ins[1], "begin", rank)
    end = const_ints(op, g, ins[2], "end", rank)
    strides = const_ints(op, g, ins[3], "strides", rank)
    if any(s == 0 for s in strides):
        raise unsupported(op, g, f"strides {strides} contain 0")
    o = op.options
    begin_mask, end_mask = int(o.get("begin_mask", 0)), int(o.get("end_mask", 0))
    shrink_mask = int(o.get("shrink_axis_mask", 0))
    ignored = [k for k in ("ellipsis_mask", "new_axis_mask", "offset") if o.get(k)]
    if ignored:
        # TFLM's kernel builds its parameters without these; do as it does, loudly.
        g.warnings.append(f"{op.describe()}: {', '.join(ignored)} set in the model are ignored, "
                          "as TFLM ignores them")

    in_strides = contiguous_strides(inp.shape)
    counts, steps, kept = [], [], []
    offset = 0
    for k in range(rank):
        size = int(inp.shape[k])
        shrink = bool(shrink_mask >> k & 1)
        start = _start_for_axis(begin[k], strides[k], size, bool(begin_mask >> k & 1))
        stop = _end_for_axis(end[k], strides[k], size, bool(end_mask >> k & 1), shrink, start)
        if shrink and not 0 <= start < size:
            raise unsupported(op, g, f"axis {k} is shrunk at index {begin[k]}, outside its "
                              f"size {size}")
        if shrink and strides[k] < 0:
            raise unsupported(op, g, f"axis {k} is shrunk with stride {strides[k]}: TFLM's "
                              "kernel writes no output for that (use stride 1)")
        n = _iterations(start, stop, strides[k])
        counts.append(n)
        steps.append(strides[k] * in_strides[k])
        offset += start * in_strides[k]
        if not shrink:
            kept.append(n)
    if tuple(kept) != tuple(out.shape):
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the slice, "
                          f"which has shape {kept}")
    params = strided_copy_params(counts, steps, contiguous_strides(counts), offset, 0,
                                 elem_bytes(inp))
    desc = ", ".join(f"{b}:{e}:{s}" for b, e, s in zip(begin, end, strides))
    masks = "".join(f", {name} {m:#x}" for name, m in
                    (("begin_mask", begin_mask), ("end_mask", end_mask),
                     ("shrink_axis_mask", shrink_mask)) if m)
    return copy_call(op, inp, out, params,
                     f"STRIDED_SLICE {inp.shape_str()} [{desc}]{masks} -> {out.shape_str()}")
