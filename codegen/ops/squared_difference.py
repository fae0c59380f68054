"""SQUARED_DIFFERENCE, int8 and int16: (x1 - x2)^2, with TFLite broadcasting (TFLM's kernel).

TFLM's Prepare (PrepareQuantized, left_shift 7), ratios in double:
  twice_max = 2 * max(s1, s2)                      (the max of the float32 scales)
  input_k multiplier, shift = QuantizeMultiplierSmallerThanOneExp(s_k / twice_max)
  output multiplier, shift  = QuantizeMultiplier(twice_max^2 / (2^14 * s_out))
                              (2^14 * s_out a float32 product)
Per element:
  a_k = MBQMSmallerThanOneExp((x_k - zp_k) * 2^7, input_k multiplier, shift)
  out = clamp(MBQM((a_1 - a_2)^2, output multiplier, shift) + out_zp, -128, 127)
int16 (16x8 models): left_shift 0 (2^0 * s_out in the output rescale), zero points 0 (TFLM
requires them), clamped to int16.
Broadcasting shapes up to 4-D (TFLM's BroadcastBinaryFunction4DSlow); equal shapes any rank.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.prelu import check_broadcast_4d

LEFT_SHIFT = 7
LEFT_SHIFTS = {"int8": 7, "int16": 0}


@dataclass
class SquaredDifferenceLayer:
    op: Op
    x1: Tensor
    x2: Tensor
    y: Tensor
    left_shift: int
    input1_offset: int
    input1_multiplier: int
    input1_shift: int
    input2_offset: int
    input2_multiplier: int
    input2_shift: int
    output_offset: int
    output_multiplier: int
    output_shift: int

    def comment(self) -> str:
        def name(t: Tensor) -> str:
            return f"const {t.shape_str()}" if t.is_const else t.shape_str()
        bc = "" if tuple(self.x1.shape) == tuple(self.x2.shape) else " (broadcast)"
        return (f"SQUARED_DIFFERENCE ({name(self.x1)} - {name(self.x2)})^2{bc} -> "
                f"{self.y.shape_str()}")


def squared_difference_multipliers(s1: float, s2: float, s_out: float,
                                   left_shift: int = LEFT_SHIFT) -> dict[str, int]:
    """The three rescales of TFLM's Prepare (see the module docstring)."""
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    out = {}
    for name, real in (("input1", float(np.float32(s1)) / twice_max),
                       ("input2", float(np.float32(s2)) / twice_max)):
        out[f"{name}_multiplier"], out[f"{name}_shift"] = \
            quant.quantize_multiplier_smaller_than_one(real)
    denom = float(np.float32(1 << (2 * left_shift)) * np.float32(s_out))
    out["output_multiplier"], out["output_shift"] = \
        quant.quantize_multiplier(twice_max * twice_max / denom)
    return out


def analyse_squared_difference(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)
                               ) -> SquaredDifferenceLayer:
    """Check a SQUARED_DIFFERENCE on one of `activations` (clear errors) and compute TFLM's
    Prepare numbers."""
    x1, x2 = g.op_inputs(op)
    y = g.op_outputs(op)[0]
    require_dtype(op, g, x1, activations, "input1")
    for t, role in ((x1, "input1"), (x2, "input2"), (y, "output")):
        require_dtype(op, g, t, (x1.dtype,), role)
        require_quant(op, g, t, role)
    if x1.dtype == "int16":
        zps = [t.quant.scalar_zero_point for t in (x1, x2, y)]
        if any(zps):
            raise unsupported(op, g, f"int16 SQUARED_DIFFERENCE needs zero points 0 (TFLM "
                              f"requires them), got {zps[0]}, {zps[1]} and output {zps[2]}")
    if tuple(x1.shape) != tuple(x2.shape):
        check_broadcast_4d(op, g, x1, x2, y)
    elif tuple(y.shape) != tuple(x1.shape):
        raise unsupported(op, g, f"output shape {list(y.shape)} is not the inputs' "
                          f"{list(x1.shape)}")
    left_shift = LEFT_SHIFTS[x1.dtype]
    m = squared_difference_multipliers(x1.quant.scalar_scale, x2.quant.scalar_scale,
                                       y.quant.scalar_scale, left_shift)
    return SquaredDifferenceLayer(op, x1, x2, y, left_shift,
                                  input1_offset=-x1.quant.scalar_zero_point,
                                  input2_offset=-x2.quant.scalar_zero_point,
                                  output_offset=y.quant.scalar_zero_point, **m)
