"""LOGISTIC and TANH, int8 -> int8, as 256-entry tables (int16 -> int16: tg_logistic_s16,
tg_tanh_s16, TFLM's interpolated sigmoid table).

TFLM's int8 kernels rescale (x - zero_point) to a fixed-point number with 4
integer bits and evaluate gemmlowp's fixed-point logistic / tanh
(reference_integer_ops::Logistic / Tanh).  The result depends on the input
byte only, so the generator runs that exact integer arithmetic
(codegen/fixedpoint.py) on all 256 inputs and the device does one table
lookup per element.

The output quantization is implied by the kernels: LOGISTIC writes steps of
1/256 from zero point -128 (TFLM requires that zero point but not the scale),
TANH steps of 1/128 around 0 (TFLM checks neither).  Models with other output
parameters get TFLM's bytes and a warning.
"""
from __future__ import annotations

import math

import numpy as np

from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.lowering.lut import lut_layer
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.activations import (S16_OUTPUT_SCALE_LOG2, checked_log2, input_rescaling,
                                     logistic_table, s16_input_scaling, tanh_table)
from codegen.ops.lstm import SIGMOID_TABLE


def _lower_s16(op: Op, g: Graph, ctx: LowerContext, name: str) -> LayerCall:
    """int16 -> int16 (16x8 models): TFLM's interpolated sigmoid table (tg_sigmoid_s16.h)."""
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the input's")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if in_q.scalar_zero_point != 0 or out_q.scalar_zero_point != 0:
        raise unsupported(op, g, f"int16 {name} needs zero points 0 (TFLM requires them), got "
                          f"input {in_q.scalar_zero_point}, output {out_q.scalar_zero_point}")
    if not (math.isfinite(in_q.scalar_scale) and in_q.scalar_scale > 0):
        raise unsupported(op, g, f"input '{inp.name}' has scale {in_q.scalar_scale!r}; it "
                          "must be positive")
    log2, pot = checked_log2(out_q.scalar_scale)
    if not pot or log2 != S16_OUTPUT_SCALE_LOG2:
        raise unsupported(op, g, f"int16 {name} needs the output scale 2^-15 (TFLM requires "
                          f"it), got {out_q.scalar_scale:g}")
    multiplier, shift = s16_input_scaling(in_q.scalar_scale, tanh=name == "TANH")
    c_t, r_t = ctx.const("sigmoid_table", "uint16_t", np.array(SIGMOID_TABLE, dtype=np.uint16),
                         "sigmoid(k / 24) in Q0.16, k = 0..256 (TFLite's sigmoid_table_uint16)")
    return LayerCall(
        op=op, kernel=f"tg_{name.lower()}_s16", params_type="tg_activation_s16_params_t",
        params=dict(count=inp.num_elements, input_multiplier=multiplier, input_shift=shift,
                    table=r_t),
        args=[TensorArg(inp.index), TensorArg(out.index)], consts=[c_t],
        overlaps=[Overlap(output=out.index, input=inp.index)],
        comment=f"{name} int16 {inp.shape_str()}, input scale {in_q.scalar_scale:.9g} "
                "(interpolated table)")


def _lower(op: Op, g: Graph, ctx: LowerContext, name: str) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8", "int16"), "input")
    require_dtype(op, g, out, (inp.dtype,), "output")
    if inp.dtype == "int16":
        return _lower_s16(op, g, ctx, name)
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the input's")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    in_scale = in_q.scalar_scale
    if not (math.isfinite(in_scale) and in_scale > 0):
        raise unsupported(op, g, f"input '{inp.name}' has scale {in_scale!r}; it must be positive")
    if input_rescaling(in_scale)[1] < 0:
        raise unsupported(op, g, f"input scale {in_scale:g} is below 2^-28, where TFLM's input "
                          "rescaling is undefined")
    zp = in_q.scalar_zero_point
    out_s, out_zp = np.float32(out_q.scalar_scale), out_q.scalar_zero_point
    if name == "LOGISTIC":
        if out_zp != -128:
            raise unsupported(op, g, f"output '{out.name}' has zero point {out_zp}; TFLM's int8 "
                              "LOGISTIC requires -128 (and computes in steps of 1/256)")
        if out_s != np.float32(1.0 / 256):
            g.warnings.append(f"{op.describe()}: output scale {float(out_s):g} is not 1/256; the "
                              "int8 kernel (like TFLM's) writes steps of 1/256 regardless")
        table = logistic_table(in_scale, zp)
        meaning = "logistic(x) in steps of 1/256 from -128"
    else:
        if out_zp != 0 or out_s != np.float32(1.0 / 128):
            g.warnings.append(f"{op.describe()}: output scale {float(out_s):g} / zero point "
                              f"{out_zp} is not 1/128 / 0; the int8 kernel (like TFLM's) writes "
                              "steps of 1/128 around 0 regardless")
        table = tanh_table(in_scale, zp)
        meaning = "tanh(x) in steps of 1/128"
    call = lut_layer(op, g, ctx, inp, out, table, meaning)
    call.comment = (f"{name} int8 {inp.shape_str()}, input scale {in_scale:.9g}, zero point {zp} "
                    "(table)")
    return call


@register("LOGISTIC")
def lower_logistic(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "LOGISTIC")


@register("TANH")
def lower_tanh(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "TANH")
