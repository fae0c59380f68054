"""RELU, RELU6, RELU_N1_TO_1 and LEAKY_RELU as standalone int8 operators (lookup tables).

Each table entry is the reference kernel's integer arithmetic on one input value:

RELU (TFLM ReluQuantized): requantize from the input to the output scale with
    a multiplier of float32(in_scale / out_scale), then clamp to
    [max(-128, out_zp + round(0 / out_scale)), 127].
RELU6 (TFLM Relu6Quantized): no requantization at all.  TFLM clamps the raw
    input to [in_zp, quantize(6.0, input scale)]; the output's quantization
    parameters are not read (the converter always gives both the same ones).
RELU_N1_TO_1: TFLM has no kernel for it.  LiteRT's reference kernel uses the
    RELU arithmetic with bounds quantize(-1) and quantize(1) on the output scale;
    tinygen does the same.
LEAKY_RELU (TFLM QuantizeLeakyRelu): inputs at or above the zero point are
    requantized with float32(in_scale / out_scale), the others with
    float32(in_scale * alpha / out_scale); a negative alpha keeps its sign
    outside the multiplier.
"""
from __future__ import annotations

import math

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.lowering.lut import elementwise_s8_tensors, lut_layer, quant_desc
from codegen.ops.common import INT8_MAX, INT8_MIN, build_table

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _clamp(v: int, lo: int, hi: int) -> int:
    return lo if v < lo else (hi if v > hi else v)


def _wrap32(v: int) -> int:
    return (v + (1 << 31)) % (1 << 32) - (1 << 31)


def _f32_div(a: float, b: float) -> float:
    """a / b in float32, as the C++ kernels' Prepare computes scale ratios."""
    return float(np.float32(a) / np.float32(b))


def _quantize_to(value: float, scale: float, zero_point: int) -> int:
    """zero_point + roundf(value / scale) with float32 division, not yet clamped."""
    q = _f32_div(value, scale)
    if not math.isfinite(q) or abs(q) >= 2.0 ** 31:
        raise ValueError(f"{value} / {scale} does not fit in int32")
    return zero_point + quant.round_half_away(q)


def quantize_multiplier_signed(real: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier, negative multipliers included (LEAKY_RELU's alpha)."""
    if real == 0.0:
        return 0, 0
    mantissa, exponent = math.frexp(real)
    q = quant.round_half_away(mantissa * (1 << 31))
    if q == (1 << 31):
        q //= 2
        exponent += 1
    if exponent < -31:
        return 0, 0
    return _wrap32(q), exponent


def relu_x_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int,
                 act_min: int, act_max: int) -> np.ndarray:
    """The quantized ReluX of TFLite: requantize, then clamp to [act_min, act_max]."""
    mult, shift = quant.quantize_multiplier(_f32_div(in_scale, out_scale))
    return build_table(lambda x: _clamp(
        out_zp + quant.multiply_by_quantized_multiplier(x - in_zp, mult, shift),
        act_min, act_max))


def relu_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    act_min = max(INT8_MIN, _quantize_to(0.0, out_scale, out_zp))
    return relu_x_table(in_scale, in_zp, out_scale, out_zp, act_min, INT8_MAX)


def relu_n1_to_1_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    act_min = max(INT8_MIN, _quantize_to(-1.0, out_scale, out_zp))
    act_max = min(INT8_MAX, _quantize_to(1.0, out_scale, out_zp))
    return relu_x_table(in_scale, in_zp, out_scale, out_zp, act_min, act_max)


def relu6_table(in_scale, in_zp) -> np.ndarray:
    lower = in_zp
    upper = _clamp(_quantize_to(6.0, in_scale, in_zp), INT8_MIN, INT8_MAX)
    return build_table(lambda x: upper if x > upper else (lower if x < lower else x))


def leaky_relu_table(in_scale, in_zp, out_scale, out_zp, alpha: float) -> np.ndarray:
    f32 = np.float32
    alpha_real = float(f32(f32(in_scale) * f32(alpha)) / f32(out_scale))
    m_alpha, s_alpha = quantize_multiplier_signed(alpha_real)
    m_id, s_id = quant.quantize_multiplier(_f32_div(in_scale, out_scale))
    negative = m_alpha < 0
    m_alpha_abs = _wrap32(-m_alpha) if negative else m_alpha

    def f(x: int) -> int:
        v = x - in_zp
        if v >= 0:
            y = out_zp + quant.multiply_by_quantized_multiplier(v, m_id, s_id)
        else:
            s = quant.multiply_by_quantized_multiplier(v, m_alpha_abs, s_alpha)
            y = out_zp + (-s if negative else s)
        return _clamp(y, INT8_MIN, INT8_MAX)

    return build_table(f)


@register("RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU")
def lower_relu(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp, out = elementwise_s8_tensors(op, g)
    in_s, in_zp = inp.quant.scalar_scale, inp.quant.scalar_zero_point
    out_s, out_zp = out.quant.scalar_scale, out.quant.scalar_zero_point
    what = f"{op.opcode}, input {quant_desc(inp)} -> output {quant_desc(out)}"
    try:
        if op.opcode == "RELU":
            table = relu_table(in_s, in_zp, out_s, out_zp)
        elif op.opcode == "RELU_N1_TO_1":
            table = relu_n1_to_1_table(in_s, in_zp, out_s, out_zp)
        elif op.opcode == "RELU6":
            table = relu6_table(in_s, in_zp)
            what = (f"RELU6 on the input's quantization ({quant_desc(inp)}); TFLM does not "
                    "requantize to the output's")
        else:
            alpha = float(op.options.get("alpha", 0.0))
            table = leaky_relu_table(in_s, in_zp, out_s, out_zp, alpha)
            what = f"LEAKY_RELU alpha {alpha:.9g}, input {quant_desc(inp)} -> output {quant_desc(out)}"
    except ValueError as e:
        raise unsupported(op, g, f"quantization parameters out of range: {e}") from None
    return lut_layer(op, g, ctx, inp, out, table, what)
