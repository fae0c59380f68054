"""PAD, PADV2, TRANSPOSE, STRIDED_SLICE on the portable strided-copy kernel.

These operators move elements without changing them: every loop bound, byte stride and
offset is computed here (codegen/lowering/strided_copy.py) and the kernel only walks
them.  The index inputs (paddings, perm, begin/end/strides) are constants consumed here,
checked by the operator spec (codegen/ops/movement.py); they are not passed to the kernel.
Every element type TFLM's kernel accepts is supported: the kernel moves bytes.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import ConstArray, ConstRef, LayerCall
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.reshape.portable import alias_call
from codegen.lowering.strided_copy import copy_call, strided_copy_params
from codegen.ops.checks import unsupported
from codegen.ops.movement import (SLICE_MAX_DIMS, SLICE_TYPES, PadLayer, analyse_pad,
                                  analyse_transpose, const_ints, contiguous_strides, elem_bytes,
                                  end_for_axis, iterations, keeps_data_order, require_nonempty,
                                  require_same_type, start_for_axis)


@register("PAD", "PADV2")
def lower_pad(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    pad = analyse_pad(op, g)
    inp, out, left = pad.inp, pad.out, pad.left
    es = elem_bytes(inp)
    out_strides = contiguous_strides(out.shape)
    params = strided_copy_params(inp.shape, contiguous_strides(inp.shape), out_strides, 0,
                                 sum(l * s for l, s in zip(left, out_strides)), es)
    consts = []
    if any(pad.pads):
        arr, ref = _pad_value_const(ctx, pad)
        consts.append(arr)
        params.update(fill_bytes=out.nbytes, fill_value=ref)
    return copy_call(op, inp, out, params, pad.comment(op.opcode), consts)


def _pad_value_const(ctx: LowerContext, pad: PadLayer) -> tuple[ConstArray, ConstRef]:
    """The pad value as a one-element constant array."""
    value, why, dtype = pad.value, pad.value_why, pad.inp.dtype
    if dtype == "float32":
        v = np.float32(value)
        if np.isfinite(v):
            arr, ref = ctx.const("pad_value", "float", np.array([v], np.float32),
                                 f"pad value ({why})")
        else:   # no C literal: keep the bits
            arr, ref = ctx.const("pad_value", "uint32_t",
                                 np.array([v], np.float32).view(np.uint32),
                                 f"pad value {float(v)} ({why}), float32 bit pattern")
    else:
        ctype = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}[dtype]
        arr, ref = ctx.const("pad_value", ctype, np.array([value]).astype(np.int64),
                             f"pad value ({why})")
    return arr, ref


@register("TRANSPOSE")
def lower_transpose(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp, out, perm = analyse_transpose(op, g)
    if keeps_data_order(inp.shape, perm):       # moves only axes of size 1: a reshape
        return alias_call(op, inp, out, f"TRANSPOSE {inp.shape_str()} perm {perm} -> "
                          f"{out.shape_str()}, the data in the same order")
    want = tuple(out.shape)
    in_strides = contiguous_strides(inp.shape)
    params = strided_copy_params(want, [in_strides[p] for p in perm], contiguous_strides(want),
                                 0, 0, elem_bytes(inp))
    return copy_call(op, inp, out, params,
                     f"TRANSPOSE {inp.shape_str()} perm {perm} -> {out.shape_str()}")


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
        start = start_for_axis(begin[k], strides[k], size, bool(begin_mask >> k & 1))
        stop = end_for_axis(end[k], strides[k], size, bool(end_mask >> k & 1), shrink, start)
        if shrink and not 0 <= start < size:
            raise unsupported(op, g, f"axis {k} is shrunk at index {begin[k]}, outside its "
                              f"size {size}")
        if shrink and strides[k] < 0:
            raise unsupported(op, g, f"axis {k} is shrunk with stride {strides[k]}: TFLM's "
                              "kernel writes no output for that (use stride 1)")
        n = iterations(start, stop, strides[k])
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
