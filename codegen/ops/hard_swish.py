"""HARD_SWISH, int8: TFLM's Prepare parameters and its 16-bit fixed-point arithmetic, run on
all 256 inputs at generation time, kernel-neutral.
"""
from __future__ import annotations

import numpy as np

from codegen import quant
from codegen.ops.common import INT8_MAX, INT8_MIN, build_table

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1

def to_int16(v: int) -> int:
    """C conversion of an int to int16_t (wraps modulo 2^16)."""
    return (v + (1 << 15)) % (1 << 16) - (1 << 15)


def _c_div(a: int, b: int) -> int:
    """C integer division: truncates toward zero."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return to_int16(_c_div(ab + nudge, 1 << 15))


def sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16: like srdhm16, truncating."""
    if a == b == INT16_MIN:
        return INT16_MAX
    return to_int16(_c_div(a * b, 1 << 15))


def rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT on int16 (the mask is truncated to int16)."""
    mask = to_int16((1 << exponent) - 1)
    remainder = to_int16(x & mask)
    threshold = to_int16((mask >> 1) + (1 if x < 0 else 0))
    return to_int16((x >> exponent) + (1 if remainder > threshold else 0))


def saturating_left_shift16(value: int, amount: int) -> int:
    return max(INT16_MIN, min(INT16_MAX, value * (1 << amount)))


def downscale_multiplier_to_int16(m32: int) -> int:
    """DownScaleInt32ToInt16Multiplier: Q31 -> Q15 with rounding."""
    if m32 >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX
    return (m32 + (1 << 15)) >> 16


def hard_swish_params(in_scale: float, out_scale: float) -> dict:
    """The four multiplier fields of TFLM's HardSwishParams."""
    f32 = np.float32
    hires_input_scale = f32(1.0 / 128.0) * f32(in_scale)
    reluish_scale = f32(3.0) / f32(32768.0)
    out_m32, out_exp = quant.quantize_multiplier(float(hires_input_scale / f32(out_scale)))
    rel_m32, rel_exp = quant.quantize_multiplier(float(hires_input_scale / reluish_scale))
    return dict(output_multiplier=downscale_multiplier_to_int16(out_m32),
                output_exponent=out_exp,
                reluish_multiplier=downscale_multiplier_to_int16(rel_m32),
                reluish_exponent=rel_exp)


def hard_swish_value(x: int, in_zp: int, out_zp: int, p: dict) -> int:
    input_value = to_int16(x - in_zp)
    hires = to_int16(input_value * (1 << 7))
    pre_out = srdhm16(hires, p["output_multiplier"])
    reluish = hires
    rexp = p["reluish_exponent"]
    if rexp > 0:
        reluish = saturating_left_shift16(reluish, rexp - 1)
    reluish = srdhm16(reluish, p["reluish_multiplier"])
    if rexp > 0:
        reluish = saturating_left_shift16(reluish, 1)
    if rexp < 0:
        reluish = rdbpot16(reluish, -rexp)
    reluish = to_int16((reluish + (1 << 15)) >> 1)
    pre_shift = sdhm16(reluish, pre_out)
    out = rdbpot16(pre_shift, -p["output_exponent"])
    out = to_int16(out + out_zp)
    return max(INT8_MIN, min(INT8_MAX, out))


def hard_swish_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    p = hard_swish_params(in_scale, out_scale)
    if p["output_exponent"] > 0:
        raise ValueError("the output multiplier in_scale / (128 * out_scale) must not exceed 1 "
                         f"(TFLM rejects it too); got exponent {p['output_exponent']}")
    if not -31 <= p["reluish_exponent"] <= 30:
        raise ValueError(f"reluish exponent {p['reluish_exponent']} is outside [-31, 30]")
    return build_table(lambda x: hard_swish_value(x, in_zp, out_zp, p))
