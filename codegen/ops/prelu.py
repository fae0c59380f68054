"""PRELU, int8 (and int16 input and output with int8 alpha, as TFLM requires in 16x8
models): x >= 0 ? x : alpha * x, alpha broadcast onto the input (TFLM's prelu).

TFLM's Prepare (CalculatePreluParams), in double:
  multiplier_pos, shift_pos = QuantizeMultiplier(in_scale / out_scale)
  multiplier_neg, shift_neg = QuantizeMultiplier(in_scale * alpha_scale / out_scale)
Per element (reference_ops::BroadcastPrelu4DSlow), v = x - in_zp:
  y = v >= 0 ? MBQM(v, multiplier_pos, shift_pos)
             : MBQM(v * (alpha - alpha_zp), multiplier_neg, shift_neg)
  out = clamp(y + out_zp) to the output type
Shapes up to 4-D (TFLM's limit); the output is the broadcast of input and alpha.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.elementwise import broadcast_shape

MAX_RANK = 4     # TFLM's 4-D broadcast kernels


def check_broadcast_4d(op: Op, g: Graph, x1: Tensor, x2: Tensor, y: Tensor) -> None:
    """The output must be the broadcast of the two inputs, with at most 4 dimensions."""
    for t in (x1, x2, y):
        if t.num_elements == 0:
            raise unsupported(op, g, f"tensor '{t.name}' has no elements ({list(t.shape)})")
        if len(t.shape) > MAX_RANK:
            raise unsupported(op, g, f"tensor '{t.name}' has {len(t.shape)} dimensions; "
                              f"supported: up to {MAX_RANK}, as TFLM")
    want = broadcast_shape(x1.shape, x2.shape)
    if want is None or tuple(y.shape) != want:
        raise unsupported(op, g, f"output shape {list(y.shape)} is not the broadcast of "
                          f"{list(x1.shape)} and {list(x2.shape)}")


@dataclass
class PreluLayer:
    op: Op
    x: Tensor
    alpha: Tensor
    y: Tensor
    input_offset: int
    alpha_offset: int
    output_offset: int
    multiplier_pos: int
    shift_pos: int
    multiplier_neg: int
    shift_neg: int

    def comment(self) -> str:
        a = f"const {self.alpha.shape_str()}" if self.alpha.is_const else self.alpha.shape_str()
        return f"PRELU {self.x.shape_str()}, alpha {a} -> {self.y.shape_str()}"


def analyse_prelu(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> PreluLayer:
    """Check a PRELU whose input is one of `activations` (alpha int8) with clear errors, and
    compute TFLM's Prepare numbers."""
    x, alpha = g.op_inputs(op)
    y = g.op_outputs(op)[0]
    require_dtype(op, g, x, activations, "input")
    for t, role, dtype in ((x, "input", x.dtype), (alpha, "alpha", "int8"),
                           (y, "output", x.dtype)):
        require_dtype(op, g, t, (dtype,), role)
        require_quant(op, g, t, role)
    check_broadcast_4d(op, g, x, alpha, y)
    s_in, s_a, s_out = (t.quant.scalar_scale for t in (x, alpha, y))
    m_pos, e_pos = quant.quantize_multiplier(s_in / s_out)
    m_neg, e_neg = quant.quantize_multiplier(s_in * s_a / s_out)
    return PreluLayer(op, x, alpha, y, -x.quant.scalar_zero_point,
                      -alpha.quant.scalar_zero_point, y.quant.scalar_zero_point,
                      m_pos, e_pos, m_neg, e_neg)
