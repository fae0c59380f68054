"""LOGISTIC and TANH: TFLM's Prepare rescaling; for int8 the 256-entry tables its integer
arithmetic gives (codegen/fixedpoint.py), for int16 the scaling into the interpolated
sigmoid table (tg_sigmoid_s16.h); kernel-neutral.
"""
from __future__ import annotations

import math

import numpy as np

from codegen import fixedpoint as fp
from codegen import quant

INPUT_INTEGER_BITS = 4


def input_rescaling(input_scale: float) -> tuple[int, int, int]:
    """(multiplier, left_shift, input_range_radius) as TFLM's LOGISTIC/TANH Prepare.

    input_scale * 2^27 in double, split by frexp into a Q31 mantissa (rounded
    half away from zero) and a power of two; the radius is the largest
    |x - zero_point| whose rescaled value still fits 4 integer bits.
    """
    real = float(input_scale) * float(1 << (31 - INPUT_INTEGER_BITS))
    mantissa, left_shift = math.frexp(real)
    multiplier = quant.round_half_away(mantissa * (1 << 31))
    radius = math.floor(((1 << INPUT_INTEGER_BITS) - 1) *
                        float(1 << (31 - INPUT_INTEGER_BITS)) / float(2 ** left_shift))
    return multiplier, left_shift, radius


def _table(input_scale: float, input_zero_point: int, fn, out_fraction_bits: int,
           out_offset: int) -> np.ndarray:
    """TFLite's int8 LOGISTIC/TANH for inputs -128..127: inputs beyond the radius saturate,
    the rest are rescaled to Q4.27, mapped by the fixed-point `fn` (a Q0.31 result) and
    rounded to steps of 2^-out_fraction_bits, plus `out_offset`."""
    multiplier, left_shift, radius = input_rescaling(input_scale)
    out = []
    for v in range(-128, 128):
        x = v - input_zero_point
        if x <= -radius:
            y = -128
        elif x >= radius:
            y = 127
        else:
            x_q4 = quant.multiply_by_quantized_multiplier(x, multiplier, left_shift)
            y_q0 = fn(x_q4, INPUT_INTEGER_BITS)
            y = min(max(fp.rdivpot(y_q0, 31 - out_fraction_bits) + out_offset, -128), 127)
        out.append(y)
    return np.array(out, dtype=np.int8)


def logistic_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """reference_integer_ops::Logistic (int8): steps of 1/256 from -128."""
    return _table(input_scale, input_zero_point, fp.logistic, 8, -128)


def tanh_table(input_scale: float, input_zero_point: int) -> np.ndarray:
    """reference_integer_ops::Tanh (int8): steps of 1/128 around 0."""
    return _table(input_scale, input_zero_point, fp.tanh, 7, 0)


# --- int16 (16x8 models) -----------------------------------------------------------------

S16_OUTPUT_SCALE_LOG2 = -15          # TFLM requires the int16 output scale 2^-15


def checked_log2(x: float) -> tuple[int, bool]:
    """TFLite's CheckedLog2 (in float32): (round(log2 x), whether x is that power of two
    within 1e-3 of an octave)."""
    lg = np.float32(np.log(np.float32(x))) * (np.float32(1.0) / np.float32(np.log(np.float32(2))))
    rounded = np.round(lg)
    return int(rounded), bool(abs(np.float32(lg - rounded)) < np.float32(1e-3))


def s16_input_scaling(input_scale: float, tanh: bool) -> tuple[int, int]:
    """(multiplier, right shift) taking an int16 LOGISTIC/TANH input to the table's input,
    as TFLM's Prepare (logistic_common.cc, tanh.cc): a power-of-two scale with shift 0
    (tanh: 0 or 1) multiplies by 3 << shift; any other scale by int(scale * 4096 * 3 * 2^s)
    with s the smallest shift bringing it above 32767 / 2 (at most 31)."""
    log2, pot = checked_log2(input_scale)
    left = (15 - 3) + log2
    if pot and left in ((0, 1) if tanh else (0,)):
        return 3 << left, 0
    multiplier = float(np.float32(input_scale)) * 4096.0 * 3.0
    shift = 0
    while multiplier <= 32767.0 / 2.0 and shift <= 30:
        shift += 1
        multiplier *= 2.0
    return int(multiplier), shift
