"""DIV, int8: x1 / x2 with TFLite broadcasting (TFLM's kernel; LiteRT has no int8 DIV).

TFLM's Prepare (CalculateOpDataDiv):
  multiplier, shift = QuantizeMultiplier(double(float32(s1 / float32(s2 * s_out))))
  activation bounds from the fused activation.
Per element (reference_ops::DivElementwise), n = x1 - zp1, d = x2 - zp2:
  if d < 0: n, d = -n, -d
  inv, recip_shift = GetReciprocal(d, 31)          1/d as Q0.31 in [1/2, 1], d's bits above 1
  headroom = CountLeadingSignBits(n)               31 for n == 0
  q = SaturatingRoundingDoublingHighMul(n * 2^headroom, inv)
  e = shift - recip_shift - headroom               (<= 0)
  out = clamp(RoundingDivideByPOT(SRDHM(q, multiplier), -e) + out_zp, act_min, act_max)

Where TFLM's C++ is undefined, and what tinygen computes there (both modes: there is no
TFLM behaviour to reproduce, only whatever a compiler made of it):
  * -e >= 32, which small numerators reach for most divisors (n == 0 and d >= 4 already,
    with shift 0): gemmlowp's RoundingDivideByPOT shifts an int32 by 32 or more.  On x86
    the shift count wraps (the pinned tflite_micro package then returns garbage such as
    out_zp + 1 for 0 / d, or a saturated value); on Cortex-M it gives 0 or -1.  The
    rounded quotient of an int32 by 2^32 or more is 0 (|SRDHM| < 2^31), which is what
    the integer arithmetic means: tinygen computes 0 there, i.e. out = clamp(out_zp).
  * d == 0 (TFLM only DCHECKs it; GetReciprocal then shifts by 32): division by zero.
    tinygen saturates like the real quotient's sign: n > 0 gives act_max, n < 0 act_min,
    and 0 / 0 gives clamp(out_zp) (the value 0).
  * e > 0 (a left shift, asserted against by gemmlowp) would need shift > 23; such layers
    are refused.
Everywhere else tinygen equals TFLM bit for bit.  Verify judges the layer with `div_s8`
below (LayerCall.oracle "spec"): tests check it equals TFLM wherever TFLM is defined.
Broadcasting shapes up to 5-D (TFLM's BroadcastDivSlow), equal shapes any rank.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import fixedpoint, quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import activation_suffix, fused_activation_bounds
from codegen.ops.elementwise import broadcast_shape

MAX_RANK = 5            # TFLM's BroadcastDivSlow<N = 5>
MAX_SHIFT = 23          # beyond, some quotient needs a left shift (module docstring)


@dataclass
class DivLayer:
    op: Op
    x1: Tensor
    x2: Tensor
    y: Tensor
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    activation: str

    def comment(self) -> str:
        def name(t: Tensor) -> str:
            return f"const {t.shape_str()}" if t.is_const else t.shape_str()
        bc = "" if tuple(self.x1.shape) == tuple(self.x2.shape) else " (broadcast)"
        return (f"DIV {name(self.x1)} / {name(self.x2)}{bc} -> {self.y.shape_str()}"
                f"{activation_suffix(self.activation)}")

    def divisor_can_be_zero(self) -> bool:
        zp2 = self.x2.quant.scalar_zero_point
        if self.x2.is_const:
            return bool(np.any(np.asarray(self.x2.data).astype(np.int32) == zp2))
        return True

    def tflm_undefined_possible(self) -> bool:
        """Whether some input reaches a case TFLM leaves undefined (d == 0 or -e >= 32)."""
        if self.divisor_can_be_zero():
            return True
        zp1, zp2 = self.x1.quant.scalar_zero_point, self.x2.quant.scalar_zero_point
        if self.x1.is_const:
            ns = {int(v) - zp1 for v in np.asarray(self.x1.data).reshape(-1)}
        else:
            ns = {v - zp1 for v in range(-128, 128)}
        if self.x2.is_const:
            ds = {abs(int(v) - zp2) for v in np.asarray(self.x2.data).reshape(-1)}
        else:
            ds = {abs(v - zp2) for v in range(-128, 128)} - {0}
        max_headroom = max(_clrsb(n) for n in ns)
        max_recip_shift = max(31 - fixedpoint.clz32(d) for d in ds)
        return self.output_shift - max_recip_shift - max_headroom <= -32

    def params(self) -> dict:
        return dict(input1_offset=self.input1_offset, input2_offset=self.input2_offset,
                    output_offset=self.output_offset, output_multiplier=self.output_multiplier,
                    output_shift=self.output_shift, act_min=self.act_min, act_max=self.act_max)


def _clrsb(n: int) -> int:
    """CountLeadingSignBits of an int32 (31 for 0 and -1)."""
    return 31 - (n if n >= 0 else ~n).bit_length()


def div_quotient(n: int, d: int, multiplier: int, shift: int, out_zp: int, act_min: int,
                 act_max: int) -> int:
    """One output element from n = x1 - zp1, d = x2 - zp2 (the module docstring)."""
    if d == 0:
        v = act_max if n > 0 else (act_min if n < 0 else out_zp)
        return min(max(v, act_min), act_max)
    if d < 0:
        n, d = -n, -d
    inv, recip_shift = fixedpoint.reciprocal(d, 31)
    headroom = _clrsb(n)
    q = quant.saturating_rounding_doubling_high_mul(fixedpoint.wrap32(n << headroom), inv)
    right = recip_shift + headroom - shift
    r = quant.saturating_rounding_doubling_high_mul(q, multiplier)
    r = quant.rounding_divide_by_pot(r, right) if right < 32 else 0
    return min(max(r + out_zp, act_min), act_max)


def div_s8(layer: DivLayer, x1: np.ndarray, x2: np.ndarray) -> np.ndarray:
    """The layer on int8 arrays (verify's oracle), each distinct (n, d) pair computed once."""
    n = np.asarray(x1, dtype=np.int64) + layer.input1_offset
    d = np.asarray(x2, dtype=np.int64) + layer.input2_offset
    n, d = np.broadcast_arrays(n, d)
    pairs, where = np.unique(np.stack([n.reshape(-1), d.reshape(-1)], axis=1), axis=0,
                             return_inverse=True)
    values = np.array([div_quotient(a, b, layer.output_multiplier, layer.output_shift,
                                    layer.output_offset, layer.act_min, layer.act_max)
                       for a, b in pairs.tolist()], dtype=np.int8)
    return values[np.asarray(where).reshape(-1)].reshape(layer.y.shape)


def analyse_div(op: Op, g: Graph) -> DivLayer:
    """Check an int8 DIV (clear errors) and compute TFLM's Prepare numbers."""
    x1, x2 = g.op_inputs(op)
    y = g.op_outputs(op)[0]
    for t, role in ((x1, "input1"), (x2, "input2"), (y, "output")):
        require_dtype(op, g, t, ("int8",), role)
        require_quant(op, g, t, role)
        if t.num_elements == 0:
            raise unsupported(op, g, f"tensor '{t.name}' has no elements ({list(t.shape)})")
    if tuple(x1.shape) != tuple(x2.shape):
        for t in (x1, x2, y):
            if len(t.shape) > MAX_RANK:
                raise unsupported(op, g, f"tensor '{t.name}' has {len(t.shape)} dimensions; "
                                  f"supported with broadcasting: up to {MAX_RANK}, as TFLM")
        want = broadcast_shape(x1.shape, x2.shape)
        if want is None or tuple(y.shape) != want:
            raise unsupported(op, g, f"output shape {list(y.shape)} is not the broadcast of "
                              f"{list(x1.shape)} and {list(x2.shape)}")
    elif tuple(y.shape) != tuple(x1.shape):
        raise unsupported(op, g, f"output shape {list(y.shape)} is not the inputs' "
                          f"{list(x1.shape)}")
    s1, s2, so = (np.float32(t.quant.scalar_scale) for t in (x1, x2, y))
    real = float(np.float32(s1 / np.float32(s2 * so)))
    mult, shift = quant.quantize_multiplier(real)
    if shift > MAX_SHIFT:
        raise unsupported(op, g, f"the scales give a quotient multiplier of {real:g} "
                          f"(2^{shift}); supported: below 2^{MAX_SHIFT}, where TFLM's "
                          "arithmetic needs no left shift")
    act_min, act_max, act = fused_activation_bounds(op, g, y)
    return DivLayer(op, x1, x2, y, -x1.quant.scalar_zero_point, -x2.quant.scalar_zero_point,
                    y.quant.scalar_zero_point, mult, shift, act_min, act_max, act)


def div_reference(g: Graph, op: Op, values: dict[int, np.ndarray]) -> list[np.ndarray]:
    """The layer's output from its non-constant inputs (graph index -> array): verify's
    oracle for DIV layers TFLM leaves undefined for some inputs."""
    layer = analyse_div(op, g)
    x1, x2 = (t.data if t.is_const else values[t.index] for t in (layer.x1, layer.x2))
    return [div_s8(layer, np.asarray(x1).reshape(layer.x1.shape),
                   np.asarray(x2).reshape(layer.x2.shape))]
