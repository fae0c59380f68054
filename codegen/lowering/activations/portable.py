"""LOGISTIC and TANH, int8 -> int8, as 256-entry tables.

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
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.activations import input_rescaling, logistic_table, tanh_table


def _lower(op: Op, g: Graph, ctx: LowerContext, name: str) -> LayerCall:
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8",), "input")
    require_dtype(op, g, out, ("int8",), "output")
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
