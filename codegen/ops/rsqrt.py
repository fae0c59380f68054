"""RSQRT, int8: 1 / sqrt(x), TFLM's integer kernel (elementwise.cc), as a lookup table.

TFLM's Prepare: multiplier, shift = QuantizeMultiplier(1 / (sqrt(in_scale) * out_scale)),
in double.  Per input value q, v = q - in_zp:
  v == 0:  127 (TFLM's stand-in for the largest output)
  else:    inv, s = GetInvSqrtQuantizedMultiplierExp(v, reverse_shift=-1)
           data = MBQM(1, inv, s + 20)
           out  = clamp(MBQM(data, multiplier, shift - 20) + out_zp, -128, 127)
GetInvSqrtQuantizedMultiplierExp normalises v by pairs of bits and runs five
Newton-Raphson steps in gemmlowp fixed point with 3 integer bits
(codegen/fixedpoint.py).  TFLM refuses inputs below the zero point at run time
("Rsqrt is only defined for positive values"); their table entries (unreachable in
a valid model) are 127 too.
"""
from __future__ import annotations

import math

import numpy as np

from codegen import fixedpoint as fp
from codegen import quant
from codegen.ops.common import INT8_MAX, INT8_MIN, INT8_VALUES

SHIFT = 20                      # TFLM's kShift, keeping the intermediate an integer
HALF_SQRT_2 = 1518500250        # sqrt(2) / 2 in Q0.31
F3_ONE = 1 << 28                # 1.0 with 3 integer bits
F3_THREE_HALVES = (1 << 28) + (1 << 27)


def inv_sqrt_multiplier_exp(value: int, reverse_shift: int = -1) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp: 1/sqrt(value) as (Q31 multiplier, shift)."""
    if value <= 1:
        return fp.INT32_MAX, 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    pairs = (fp.clz32(value) - 1) // 2 - 1
    shift -= pairs
    value <<= 2 * pairs
    half_input = fp.mul_by_pot(value >> 1, -1)
    x = F3_ONE
    for _ in range(5):
        x3 = fp.rescale(fp.mul(fp.mul(x, x), x), 9, 3)
        x = fp.rescale(fp.wrap32(fp.mul(F3_THREE_HALVES, x) - fp.mul(half_input, x3)), 6, 3)
    inv = fp.mul(x, HALF_SQRT_2)
    if shift < 0:
        inv = fp.wrap32(inv << -shift)
        shift = 0
    return inv, shift * reverse_shift


def rsqrt_table(in_scale: float, in_zp: int, out_scale: float, out_zp: int) -> np.ndarray:
    """The int8 table of TFLM's RSQRT between the two quantizations, input -128 first."""
    real = 1.0 / (math.sqrt(float(np.float32(in_scale))) * float(np.float32(out_scale)))
    multiplier, shift = quant.quantize_multiplier(real)
    values = []
    for q in INT8_VALUES:
        v = q - in_zp
        if v <= 0:
            values.append(INT8_MAX)
            continue
        inv, s = inv_sqrt_multiplier_exp(v)
        data = quant.multiply_by_quantized_multiplier(1, inv, s + SHIFT)
        y = quant.multiply_by_quantized_multiplier(data, multiplier, shift - SHIFT) + out_zp
        values.append(min(max(y, INT8_MIN), INT8_MAX))
    return np.array(values, dtype=np.int8)
