"""QUANTIZE and DEQUANTIZE, per-tensor, for the type pairs TFLM supports.

QUANTIZE float32 -> int8/int16 divides by the scale in float32 and rounds
halves away from zero (TFLite's AffineQuantize).  QUANTIZE between integer
types is TFLite's Requantize with the multiplier of in_scale / out_scale
(computed in double); from an 8-bit input it is folded here into a
256-entry table.  DEQUANTIZE int8/uint8/int16 -> float32.
"""
from __future__ import annotations

import math

import numpy as np

from codegen.graph import DTYPE_CTYPE, Graph, Op, Tensor
from codegen.lowering import register
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.quantize import (requantize_multiplier, requantize_table)

# input dtype -> output dtypes TFLM's QUANTIZE accepts
QUANTIZE_PAIRS = {
    "float32": ("int8", "int16"),
    "int8": ("int8", "uint8", "int16", "int32"),
    "uint8": ("int8",),
    "int16": ("int8", "int16", "int32"),
    "int32": ("int8", "int16"),
}
SHORT = {"int8": "s8", "uint8": "u8", "int16": "s16", "int32": "s32", "float32": "f32"}


def _quant_str(t: Tensor) -> str:
    return f"scale {t.quant.scalar_scale:.9g}, zero point {t.quant.scalar_zero_point}"


def _check_scale(op: Op, g: Graph, t: Tensor, role: str) -> float:
    s = t.quant.scalar_scale
    if not (math.isfinite(s) and s > 0):
        raise unsupported(op, g, f"{role} '{t.name}' has scale {s!r}; it must be positive")
    return s


@register("QUANTIZE")
def lower_quantize(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, tuple(QUANTIZE_PAIRS), "input")
    require_dtype(op, g, out, QUANTIZE_PAIRS[inp.dtype], "output")
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the input's")
    out_q = require_quant(op, g, out, "output")
    out_scale = _check_scale(op, g, out, "output")
    count = inp.num_elements
    what = f"QUANTIZE {inp.dtype} -> {out.dtype} {inp.shape_str()}"
    args = [TensorArg(inp.index), TensorArg(out.index)]

    if inp.dtype == "float32":
        return LayerCall(
            op=op, kernel=f"tg_quantize_f32_{SHORT[out.dtype]}", params_type="tg_quantize_params_t",
            params=dict(count=count, scale=float(np.float32(out_scale)),
                        zero_point=out_q.scalar_zero_point),
            args=args, comment=f"{what}, {_quant_str(out)}")

    in_q = require_quant(op, g, inp, "input")
    in_scale = _check_scale(op, g, inp, "input")
    multiplier, shift = requantize_multiplier(in_scale, out_scale)
    if shift > 31:
        raise unsupported(op, g, f"input scale {in_scale:g} is more than 2^31 times the output "
                          f"scale {out_scale:g}")
    what += f", {_quant_str(inp)} -> {_quant_str(out)}"
    # The lookup and requantize kernels read element i, then write element i, in order; an
    # 8-bit output (a character type, which may alias anything) of elements no wider than
    # the input's only ever overwrites input bytes already read: in place is safe.
    overlaps = ([Overlap(output=out.index, input=inp.index)]
                if out.dtype in ("int8", "uint8") else [])
    if inp.dtype in ("int8", "uint8"):
        table = requantize_table(inp.dtype, out.dtype, in_q.scalar_zero_point, multiplier, shift,
                                 out_q.scalar_zero_point)
        c_t, r_t = ctx.const("table", DTYPE_CTYPE[out.dtype], table,
                             f"{out.dtype} result for each {inp.dtype} input, in increasing order")
        return LayerCall(
            op=op, kernel=f"tg_lookup_{SHORT[inp.dtype]}_{SHORT[out.dtype]}",
            params_type=f"tg_lookup_to_{SHORT[out.dtype]}_params_t",
            params=dict(count=count, table=r_t),
            args=args, consts=[c_t], overlaps=overlaps,
            comment=f"{what} (table)")
    return LayerCall(
        op=op, kernel=f"tg_requantize_{SHORT[inp.dtype]}_{SHORT[out.dtype]}",
        params_type="tg_requantize_params_t",
        params=dict(count=count, input_offset=in_q.scalar_zero_point, multiplier=multiplier,
                    shift=shift, output_offset=out_q.scalar_zero_point),
        args=args, overlaps=overlaps, comment=what)


@register("DEQUANTIZE")
def lower_dequantize(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8", "uint8", "int16"), "input")
    require_dtype(op, g, out, ("float32",), "output")
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the input's")
    in_q = require_quant(op, g, inp, "input")
    scale = _check_scale(op, g, inp, "input")
    return LayerCall(
        op=op, kernel=f"tg_dequantize_{SHORT[inp.dtype]}_f32", params_type="tg_dequantize_params_t",
        params=dict(count=inp.num_elements, scale=float(np.float32(scale)),
                    zero_point=in_q.scalar_zero_point),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"DEQUANTIZE {inp.dtype} -> float32 {inp.shape_str()}, {_quant_str(inp)}")
