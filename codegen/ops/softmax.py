"""SOFTMAX and LOG_SOFTMAX over the last axis: the layer's meaning and TFLM's Prepare maths.

int8 SOFTMAX writes int8 (scale 1/256, zero point -128) or int16 (scale 1/65536, zero
point -32768), the only output quantizations TFLM accepts.  int8 LOG_SOFTMAX writes int8
with scale 16/256 and zero point 127.  The input multiplier, its shift, diff_min and
LOG_SOFTMAX's reverse scaling are computed exactly as TFLM's Prepare computes them (in
double).  Float32 softmaxes need no setup maths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.float_lut import libm_f32
from codegen.ops.lut_s16 import lut_populate_s16

SCALED_DIFF_INTEGER_BITS = 5   # the exp() input is Q5.26


def rows_and_depth(op: Op, g: Graph, inp: Tensor, out: Tensor) -> tuple[int, int]:
    if len(inp.shape) < 1:
        raise unsupported(op, g, "the input must have at least one dimension")
    if tuple(out.shape) != tuple(inp.shape):
        raise unsupported(op, g, f"output shape {list(out.shape)} differs from input shape "
                          f"{list(inp.shape)}")
    depth = inp.shape[-1]
    if depth < 1:
        raise unsupported(op, g, "the last dimension is empty")
    return inp.num_elements // depth, depth


def softmax_input_scaling(beta: float, input_scale: float) -> tuple[int, int, int]:
    """(input_multiplier, input_left_shift, diff_min) as TFLM's int8 softmax Prepare.

    PreprocessSoftmaxScaling: beta * input_scale * 2^26 in double, capped at
    2^31 - 1, as a Q31 multiplier greater than one; CalculateInputRadius: the
    largest |diff| whose rescaled value still fits in Q5.26.
    """
    real = min(float(beta) * float(input_scale) * float(1 << (31 - SCALED_DIFF_INTEGER_BITS)),
               float((1 << 31) - 1))
    if not real > 1.0:
        raise ValueError(f"beta * input_scale * 2^26 = {real:g} must be greater than 1 "
                         "(TFLM's QuantizeMultiplierGreaterThanOne)")
    multiplier, left_shift = quant.quantize_multiplier(real)
    radius = math.floor(((1 << SCALED_DIFF_INTEGER_BITS) - 1) *
                        float(1 << (31 - SCALED_DIFF_INTEGER_BITS)) / float(1 << left_shift))
    return multiplier, left_shift, -radius


def log_softmax_reverse_scaling(multiplier: int, left_shift: int) -> tuple[int, int]:
    """PreprocessLogSoftmaxScalingExp's reverse scaling divisor as (Q31 mantissa, shift <= 0)."""
    real = float(1 << (31 - left_shift)) / float(multiplier)
    if not 0.0 < real < 1.0:
        raise ValueError(f"the reverse scaling {real!r} must be in (0, 1)")
    return quant.quantize_multiplier(real)


def softmax_beta(op: Op) -> float:
    """beta as float32; without a SoftmaxOptions table TFLM's parser leaves it at 0, like
    the schema default."""
    return float(np.float32(op.options.get("beta", 0.0)))


@dataclass
class SoftmaxS8:
    """An int8-input SOFTMAX layer, checked, with TFLM's int8 Prepare numbers."""

    inp: Tensor
    out: Tensor
    rows: int
    depth: int
    beta: float
    multiplier: int
    left_shift: int
    diff_min: int

    def shape_text(self) -> str:
        return (f"{self.inp.shape_str()}, {self.rows} row(s) of {self.depth}, "
                f"beta {self.beta:g}")


def analyse_softmax_s8(op: Op, g: Graph) -> SoftmaxS8:
    """Check an int8 SOFTMAX (int8 or int16 output) and compute its scaling."""
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8",), "input")
    rows, depth = rows_and_depth(op, g, inp, out)
    beta = softmax_beta(op)
    require_dtype(op, g, out, ("int8", "int16"), "output")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    out_scale, out_zp = np.float32(out_q.scalar_scale), out_q.scalar_zero_point
    if out.dtype == "int8":
        if out_zp != -128 or out_scale != np.float32(1.0 / 256):
            raise unsupported(op, g, f"int8 output '{out.name}' has scale {float(out_scale):g} and "
                              f"zero point {out_zp}; TFLM's int8 softmax requires scale 1/256 "
                              "and zero point -128")
    else:
        target = np.float32(1.0 / 65536)
        if out_zp != -32768 or abs(out_scale - target) > np.float32(0.001) * target:
            raise unsupported(op, g, f"int16 output '{out.name}' has scale {float(out_scale):g} "
                              f"and zero point {out_zp}; TFLM's int8->int16 softmax requires "
                              "scale 1/65536 and zero point -32768")
    try:
        multiplier, left_shift, diff_min = softmax_input_scaling(beta, in_q.scalar_scale)
    except ValueError as e:
        raise unsupported(op, g, f"input scale {in_q.scalar_scale:g} with beta {beta:g}: "
                          f"{e}") from None
    return SoftmaxS8(inp=inp, out=out, rows=rows, depth=depth, beta=beta,
                     multiplier=multiplier, left_shift=left_shift, diff_min=diff_min)


# --- int16 -> int16 (16x8 models) --------------------------------------------------------

S16_DIFF_RANGE = 65535          # TFLM scales an input difference so [-65535, 0] is [-10, 0]
S16_MAX_DEPTH = 65536           # the row's sum of Q0.15 exps must fit in int32


def softmax_s16_tables() -> tuple[np.ndarray, np.ndarray]:
    """TFLM's int16 softmax tables, built in its Prepare (softmax_common.cc): exp on
    [-10, 0] and 1 / (1 + x) on [0, 1], both to Q0.15 (513 entries each, codegen/ops/lut_s16)."""
    f32 = np.float32
    step = f32(f32(2) / f32(S16_DIFF_RANGE))
    exp_lut = lut_populate_s16(libm_f32("expf"), f32(f32(10) / f32(S16_DIFF_RANGE)), 32767,
                               step, 0)
    recip_lut = lut_populate_s16(lambda v: f32(f32(1) / f32(f32(1) + v)),
                                 f32(f32(1) / f32(S16_DIFF_RANGE)), -32768, step, 0)
    return exp_lut, recip_lut


@dataclass
class SoftmaxS16:
    """An int16 SOFTMAX layer, checked, with TFLM's int16 Prepare numbers."""

    inp: Tensor
    out: Tensor
    rows: int
    depth: int
    beta: float
    multiplier: int
    shift: int


def analyse_softmax_s16(op: Op, g: Graph) -> SoftmaxS16:
    """Check an int16 -> int16 SOFTMAX as TFLM's Prepare does and compute its scaling:
    input_scale * beta / (10 / 65535) in double, as QuantizeMultiplier's (mantissa, shift)."""
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int16",), "input")
    require_dtype(op, g, out, ("int16",), "output")
    rows, depth = rows_and_depth(op, g, inp, out)
    if depth > S16_MAX_DEPTH:
        raise unsupported(op, g, f"the last dimension is {depth}; the int16 softmax sums a row "
                          f"in 32 bits, which holds at most {S16_MAX_DEPTH} entries")
    beta = softmax_beta(op)
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if in_q.scalar_zero_point != 0 or out_q.scalar_zero_point != 0:
        raise unsupported(op, g, f"int16 SOFTMAX needs zero points 0 (TFLM requires them), got "
                          f"input {in_q.scalar_zero_point}, output {out_q.scalar_zero_point}")
    out_scale, target = np.float32(out_q.scalar_scale), np.float32(1.0 / 32768)
    if abs(out_scale - target) > np.float32(0.001) * target:
        raise unsupported(op, g, f"int16 output '{out.name}' has scale {float(out_scale):g}; "
                          "TFLM's int16 softmax requires scale 1/32768 (within 0.1%)")
    real = (float(np.float32(in_q.scalar_scale)) * beta) / (10.0 / S16_DIFF_RANGE)
    try:
        multiplier, shift = quant.quantize_multiplier(real)
    except quant.QuantRangeError as e:
        raise unsupported(op, g, f"input scale {in_q.scalar_scale:g} with beta {beta:g}: "
                          f"{e}") from None
    return SoftmaxS16(inp=inp, out=out, rows=rows, depth=depth, beta=beta,
                      multiplier=multiplier, shift=shift)
