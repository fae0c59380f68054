"""FULLY_CONNECTED, int8 activations and weights (per-tensor or per-channel): the layer's
meaning and TFLM's Prepare maths (one requantization per output unit, activation bounds),
kernel-neutral.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import (accumulates_in_32_bits, activation_suffix,
                                conv_output_multipliers, fused_activation_bounds,
                                require_16x8_zero_points)


@dataclass
class FcLayer:
    """A FULLY_CONNECTED layer checked and analysed: shapes and requantization, kernel-neutral."""

    op: Op
    inp: Tensor
    filt: Tensor
    bias: Tensor | None
    out: Tensor
    batches: int
    depth: int
    units: int
    per_channel: bool
    bias_values: np.ndarray      # int64[units], zeros when the layer has no bias
    multiplier: np.ndarray       # int32[units if per_channel else 1]
    shift: np.ndarray
    act_min: int
    act_max: int
    activation: str

    @property
    def is_16x8(self) -> bool:
        """int16 activations with int8 weights (TFLite's 16x8 quantization)."""
        return self.inp.dtype == "int16"

    @property
    def accumulate32(self) -> bool:
        """16x8: whether TFLM sums in 32 bits (an int32 bias) rather than 64 (tg_s16.h)."""
        return accumulates_in_32_bits(self.op, self.bias)

    @property
    def input_zero_point(self) -> int:
        return self.inp.quant.scalar_zero_point

    @property
    def output_zero_point(self) -> int:
        return self.out.quant.scalar_zero_point

    def comment(self, suffix: str = "") -> str:
        return (f"FULLY_CONNECTED {self.inp.shape_str()} x weights {self.units}x{self.depth} -> "
                f"{self.out.shape_str()}{activation_suffix(self.activation)}{suffix}")


def analyse_fully_connected(op: Op, g: Graph,
                            activations: tuple[str, ...] = ("int8",)) -> FcLayer:
    """Check a FULLY_CONNECTED layer (raising a clear error) and compute its requantization.

    `activations`: the input/output types the calling kernel takes (int8; int16 for 16x8).
    """
    ins = g.op_inputs(op)
    inp, filt = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, activations, "input")
    require_dtype(op, g, filt, ("int8",), "weights")
    require_dtype(op, g, out, (inp.dtype,), "output")
    if not filt.is_const:
        raise unsupported(op, g, f"weights '{filt.name}' are not constant")
    if op.options.get("weights_format", 0) != 0:
        raise unsupported(op, g, "shuffled weights format is not supported")
    require_quant(op, g, inp, "input")
    require_quant(op, g, filt, "weights", per_tensor=False)
    require_quant(op, g, out, "output")
    if np.any(filt.quant.zero_point != 0):
        raise unsupported(op, g, "weights must be symmetrically quantized (zero point 0), as TFLM requires")
    if inp.dtype == "int16":
        require_16x8_zero_points(op, g, inp, out)
    if len(filt.shape) != 2:
        raise unsupported(op, g, f"weights must be 2-D [units, depth], got {list(filt.shape)}")
    units, depth = filt.shape
    if units == 0 or depth == 0:
        raise unsupported(op, g, f"weights of shape {list(filt.shape)} hold no values")
    if filt.quant.per_channel and filt.quant.axis != 0:
        raise unsupported(op, g, f"weights are per-channel quantized along dimension "
                          f"{filt.quant.axis}; FULLY_CONNECTED needs them along the output "
                          "units (dimension 0)")
    if inp.num_elements % depth:
        raise unsupported(op, g, f"input of {inp.num_elements} elements is not a whole number "
                          f"of rows of depth {depth}")
    batches = inp.num_elements // depth
    if out.num_elements != batches * units:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not hold "
                          f"{batches}x{units} values")
    if bias is not None:
        require_dtype(op, g, bias, ("int32", "int64") if inp.dtype == "int16" else ("int32",),
                      "bias")
        if not bias.is_const or bias.num_elements != units:
            raise unsupported(op, g, f"bias '{bias.name}' must be a constant of {units} "
                              f"{bias.dtype} values")
        b = bias.data.astype(np.int64).reshape(units)
    else:
        b = np.zeros(units, dtype=np.int64)
    per_channel = filt.quant.per_channel
    mult, shift = conv_output_multipliers(inp, filt, out,
                                          units if per_channel else 1)
    act_min, act_max, act = fused_activation_bounds(op, g, out)
    return FcLayer(op=op, inp=inp, filt=filt, bias=bias, out=out, batches=batches, depth=depth,
                   units=units, per_channel=per_channel, bias_values=b, multiplier=mult,
                   shift=shift, act_min=act_min, act_max=act_max, activation=act)


def wrap_int32(values: np.ndarray) -> np.ndarray:
    """int64 values as the int32 a C int32 accumulator would hold."""
    return ((values.astype(np.int64) + (1 << 31)) % (1 << 32) - (1 << 31)).astype(np.int32)


def folded_bias(bias, weights: np.ndarray, input_zero_point: int) -> np.ndarray:
    """bias[c] - input_zero_point * sum_d weights[c, d], as the int32 an accumulator holds.

    Folding the input zero point into the bias makes a kernel's inner loop a plain dot
    product: sum_d w (x - zp) + b = sum_d w x + (b - zp * sum_d w).  `bias` may be 0.
    """
    w = np.asarray(weights).astype(np.int64)
    return wrap_int32(np.asarray(bias, dtype=np.int64) - int(input_zero_point) * w.sum(axis=1))
