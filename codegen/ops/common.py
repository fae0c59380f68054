"""Maths shared by the operator specs: requantization multipliers, activation bounds,
int8 lookup tables."""
from __future__ import annotations

from typing import Callable

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import unsupported

INT8_MIN, INT8_MAX = -128, 127
INT8_VALUES = range(INT8_MIN, INT8_MAX + 1)


def build_table(fn: Callable[[int], int]) -> np.ndarray:
    """fn evaluated on every int8 value, -128 first; fn must already saturate to int8."""
    values = [fn(x) for x in INT8_VALUES]
    bad = [v for v in values if not INT8_MIN <= v <= INT8_MAX]
    if bad:
        raise ValueError(f"lookup table value {bad[0]} is outside int8")
    return np.array(values, dtype=np.int8)


def conv_output_multipliers(inp: Tensor, filt: Tensor, out: Tensor,
                            channels: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (multiplier, shift) of a conv/FC layer, as TFLM computes them.

    effective scale = input_scale * filter_scale / output_scale, in double.  (The
    tflite-micro source at the models' commit rounds the product to float32 for
    per-tensor layers without bias; the pinned tflite_micro package computes it in
    double, and that package is the reference we match.)
    """
    in_s = float(inp.quant.scale[0])
    out_s = float(out.quant.scale[0])
    f_scales = filt.quant.scale
    mults = np.zeros(channels, dtype=np.int32)
    shifts = np.zeros(channels, dtype=np.int32)
    for c in range(channels):
        fs = float(f_scales[c] if f_scales.size > 1 else f_scales[0])
        mults[c], shifts[c] = quant.quantize_multiplier(in_s * fs / out_s)
    return mults, shifts


def fused_activation_bounds(op: Op, graph: Graph, out: Tensor) -> tuple[int, int, str]:
    code = op.options.get("fused_activation_function", 0)
    name = quant.fused_activation_name(code)
    if name not in ("NONE", "RELU", "RELU6", "RELU_N1_TO_1"):
        raise unsupported(op, graph, f"fused activation {name} is not supported "
                          "(supported: NONE, RELU, RELU6, RELU_N1_TO_1)")
    lo, hi = quant.activation_range(name, out.quant.scalar_scale,
                                    out.quant.scalar_zero_point, out.dtype)
    return lo, hi, name


def activation_suffix(name: str) -> str:
    return "" if name == "NONE" else f", fused {name}"


# --- 16x8: int16 activations, int8 weights ----------------------------------------------

TFLITE_INT32 = 2      # TensorType INT32, the value of an operator's quantized_bias_type


def require_16x8_zero_points(op: Op, graph: Graph, inp: Tensor, out: Tensor) -> None:
    """TFLite's 16x8 scheme quantizes activations symmetrically: TFLM's int16 kernels take
    no input or output offset, so a zero point other than 0 would be ignored."""
    for t, role in ((inp, "input"), (out, "output")):
        if t.quant is not None and np.any(t.quant.zero_point != 0):
            raise unsupported(op, graph, f"16-bit {role} '{t.name}' has zero point "
                              f"{int(np.ravel(t.quant.zero_point)[0])}; TFLite's 16x8 "
                              "quantization (and TFLM's int16 kernels) need zero point 0")


def accumulates_in_32_bits(op: Op, bias: Tensor | None) -> bool:
    """16x8 layers: TFLM accumulates in 32 bits with an int32 bias, or with none when the
    operator's quantized_bias_type says INT32; in 64 bits otherwise (codegen docs: tg_s16.h)."""
    if bias is not None:
        return bias.dtype == "int32"
    return int(op.options.get("quantized_bias_type", 0)) == TFLITE_INT32
