"""RELU, RELU6, RELU_N1_TO_1, LEAKY_RELU, int8: the 256-entry tables of TFLite's reference
arithmetic and of TFLM's (which differ where the output quantization differs from the
input's), kernel-neutral.
"""
from __future__ import annotations

import math

import numpy as np

from codegen import quant
from codegen.ops.common import INT8_MAX, INT8_MIN, build_table

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
                 act_min: int, act_max: int, double_ratio: bool = False) -> np.ndarray:
    """The quantized ReluX of TFLite: requantize, then clamp to [act_min, act_max].
    `double_ratio`: divide the scales in double, as TFLM's RELU does (TFLite: float32)."""
    ratio = (float(np.float32(in_scale)) / float(np.float32(out_scale)) if double_ratio
             else _f32_div(in_scale, out_scale))
    mult, shift = quant.quantize_multiplier(ratio)
    return build_table(lambda x: _clamp(
        out_zp + quant.multiply_by_quantized_multiplier(x - in_zp, mult, shift),
        act_min, act_max))


def relu_table(in_scale, in_zp, out_scale, out_zp, tflm: bool = False) -> np.ndarray:
    """TFLite's RELU (tflm=False) or TFLM's (tflm=True)."""
    act_min = max(INT8_MIN, _quantize_to(0.0, out_scale, out_zp))
    return relu_x_table(in_scale, in_zp, out_scale, out_zp, act_min, INT8_MAX,
                        double_ratio=tflm)


def relu_n1_to_1_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    act_min = max(INT8_MIN, _quantize_to(-1.0, out_scale, out_zp))
    act_max = min(INT8_MAX, _quantize_to(1.0, out_scale, out_zp))
    return relu_x_table(in_scale, in_zp, out_scale, out_zp, act_min, act_max)


def relu6_tflite_table(in_scale, in_zp, out_scale, out_zp) -> np.ndarray:
    """TFLite's RELU6: requantized to the output, clamped to [quantize(0), quantize(6)]."""
    act_min = max(INT8_MIN, _quantize_to(0.0, out_scale, out_zp))
    act_max = min(INT8_MAX, _quantize_to(6.0, out_scale, out_zp))
    return relu_x_table(in_scale, in_zp, out_scale, out_zp, act_min, act_max)


def relu6_table(in_scale, in_zp) -> np.ndarray:
    """TFLM's RELU6: the raw input clamped on the input's quantization."""
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


# --- int16 (16x8 models): one requantize-and-clamp kernel instead of a table ---------------

INT16_MIN, INT16_MAX = -32768, 32767


def relu_s16_params(opcode: str, in_scale: float, in_zp: int, out_scale: float, out_zp: int,
                    alpha: float = 0.0) -> dict:
    """tg_relu_s16's parameters for TFLM's int16 RELU, RELU6 and LEAKY_RELU:
    out = clamp(out_zp + (v >= 0 ? v * positive : v * negative)), v = x - in_zp, each product
    MultiplyByQuantizedMultiplier (the negative side's sign kept outside, as LEAKY_RELU's
    alpha).  RELU requantizes by float32(in_scale / out_scale) and clamps below at
    quantize(0); RELU6 clamps the raw input to [in_zp, quantize(6, input)] (multiplier 1.0:
    2^30 with shift 1 is exact; the output quantization is not read); LEAKY_RELU's negative side is float32(in_scale * alpha /
    out_scale).  Raises ValueError for out-of-range quantization."""
    m_pos, s_pos = quant.quantize_multiplier(_f32_div(in_scale, out_scale))
    m_neg, s_neg, negate = m_pos, s_pos, 0
    act_min, act_max = INT16_MIN, INT16_MAX
    if opcode == "RELU":
        act_min = max(INT16_MIN, _quantize_to(0.0, out_scale, out_zp))
    elif opcode == "RELU6":
        six = _clamp(_quantize_to(6.0, in_scale, in_zp), INT16_MIN, INT16_MAX)
        return dict(input_offset=0, output_offset=0, positive_multiplier=1 << 30,
                    positive_shift=1, negative_multiplier=1 << 30, negative_shift=1,
                    negate_negative=0, act_min=in_zp, act_max=six)
    elif opcode == "LEAKY_RELU":
        f32 = np.float32
        real = float(f32(f32(in_scale) * f32(alpha)) / f32(out_scale))
        m_neg, s_neg = quantize_multiplier_signed(real)
        if m_neg < 0:
            m_neg, negate = _wrap32(-m_neg), 1
    else:
        raise ValueError(f"{opcode} has no int16 kernel")
    return dict(input_offset=in_zp, output_offset=out_zp, positive_multiplier=m_pos,
                positive_shift=s_pos, negative_multiplier=m_neg, negative_shift=s_neg,
                negate_negative=negate, act_min=act_min, act_max=act_max)
