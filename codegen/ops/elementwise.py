"""ADD, SUB and MUL, int8 (and int16, for 16x8 models), with TFLite broadcasting.

Quantization parameters are computed as TFLM's Prepare does (see
tensorflow/lite/micro/kernels/add_common.cc, sub_common.cc, mul_common.cc):

ADD/SUB: both inputs are shifted left by 20 bits (15 for int16) and rescaled to a common
scale of twice the larger input scale (multipliers < 1), summed, then
rescaled to the output.  The ratios are computed in double precision for
both.  (sub_common.cc on tflite-micro's main branch at 90b983c2 still divides
in float32, which rounds some multipliers differently; the tflite_micro
package tinygen verifies against computes SUB in double like ADD, as TFLM's
commit 0ad70939 "Fixed all foubles" does, and bit-exact tests confirm it.)

MUL: one multiplier in1_scale * in2_scale / out_scale, in double.

Broadcasting follows numpy/TFLite rules (shapes aligned on the right, a
dimension of 1 stretches).  This module holds the layer's meaning and
TFLM's Prepare numbers for every kernel variant.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import activation_suffix, fused_activation_bounds

TFLM_MAX_RANK = 8      # BroadcastBinaryOpSimple's kMaxRank
# ADD/SUB shift both inputs left by this before rescaling (TFLM's add_common.cc)
ADD_SUB_LEFT_SHIFT = {"int8": 20, "int16": 15}
INT16_MAX_RANK = 4     # BroadcastAdd4DSlow, BroadcastMul4DSlow: TFLM's int16 broadcasts


def broadcast_shape(shape1: tuple, shape2: tuple) -> tuple | None:
    """numpy's broadcast result of two shapes, or None if they do not broadcast."""
    n = max(len(shape1), len(shape2))
    a = (1,) * (n - len(shape1)) + tuple(shape1)
    b = (1,) * (n - len(shape2)) + tuple(shape2)
    out = []
    for da, db in zip(a, b):
        if da != db and da != 1 and db != 1:
            return None
        out.append(db if da == 1 else da)
    return tuple(out)


def add_sub_multipliers(s1: float, s2: float, s_out: float, left_shift: int) -> dict[str, int]:
    """Input and output rescales of quantized ADD and SUB (ratios in double)."""
    twice_max = 2.0 * float(max(np.float32(s1), np.float32(s2)))
    r1 = float(np.float32(s1)) / twice_max
    r2 = float(np.float32(s2)) / twice_max
    r_out = twice_max / ((1 << left_shift) * float(np.float32(s_out)))
    out = {}
    for name, real in (("input1", r1), ("input2", r2), ("output", r_out)):
        if not 0.0 < real < 1.0:
            raise ValueError(f"the {name} rescale factor {real:.9g} is not in (0, 1)")
        m, e = quant.quantize_multiplier(real)
        if e > 0:
            raise ValueError(f"the {name} rescale factor {real:.9g} rounds up to 1")
        out[f"{name}_multiplier"], out[f"{name}_shift"] = m, e
    return out


def mul_multiplier(s1: float, s2: float, s_out: float) -> tuple[int, int]:
    """Output (multiplier, shift) of quantized MUL: in1_scale * in2_scale / out_scale in double."""
    real = float(np.float32(s1)) * float(np.float32(s2)) / float(np.float32(s_out))
    return quant.quantize_multiplier(real)


def _operands(op: Op, g: Graph, activations: tuple[str, ...]):
    ins = g.op_inputs(op)
    outs = g.op_outputs(op)
    if len(ins) != 2 or len(outs) != 1:
        raise unsupported(op, g, f"expected 2 inputs and 1 output, got {len(ins)} and {len(outs)}")
    x1, x2 = ins
    y = outs[0]
    require_dtype(op, g, x1, activations, "input1")
    for t, role in ((x2, "input2"), (y, "output")):
        require_dtype(op, g, t, (x1.dtype,), role)
    q1 = require_quant(op, g, x1, "input1")
    q2 = require_quant(op, g, x2, "input2")
    qo = require_quant(op, g, y, "output")
    for t, q, role in ((x1, q1, "input1"), (x2, q2, "input2"), (y, qo, "output")):
        if not q.scalar_scale > 0.0:
            raise unsupported(op, g, f"{role} '{t.name}' has scale {q.scalar_scale}; "
                              "it must be positive")
    return x1, x2, y, q1, q2, qo


def _check_broadcast(op: Op, g: Graph, x1: Tensor, x2: Tensor, y: Tensor) -> bool:
    """Check the shapes broadcast to the output; True when the inputs have equal shapes."""
    for t in (x1, x2, y):
        if t.num_elements == 0:
            raise unsupported(op, g, f"tensor '{t.name}' has no elements ({list(t.shape)})")
    want = broadcast_shape(x1.shape, x2.shape)
    if want is None:
        raise unsupported(op, g, f"input shapes {list(x1.shape)} and {list(x2.shape)} do not "
                          "broadcast (each dimension must match or be 1)")
    n = max(len(want), len(y.shape))
    if (1,) * (n - len(want)) + want != (1,) * (n - len(y.shape)) + tuple(y.shape):
        raise unsupported(op, g, f"output shape {list(y.shape)} is not the broadcast of "
                          f"{list(x1.shape)} and {list(x2.shape)} ({list(want)})")
    same = tuple(x1.shape) == tuple(x2.shape)
    if not same and max(len(x1.shape), len(x2.shape), len(y.shape)) > TFLM_MAX_RANK:
        raise unsupported(op, g, f"broadcasting supports up to {TFLM_MAX_RANK}-D shapes, as TFLM")
    return same


def _comment(op: Op, x1: Tensor, x2: Tensor, y: Tensor, same: bool, act: str) -> str:
    sym = {"ADD": "+", "SUB": "-", "MUL": "*"}[op.opcode]

    def name(t: Tensor) -> str:
        return f"const {t.shape_str()}" if t.is_const else t.shape_str()

    bc = "" if same else " (broadcast)"
    return f"{op.opcode} {name(x1)} {sym} {name(x2)}{bc} -> {y.shape_str()}{activation_suffix(act)}"


@dataclass
class BinaryLayer:
    """An int8 ADD, SUB or MUL checked, with TFLM's Prepare scalars (kernel-neutral).

    ADD/SUB: `left_shift` and input1/input2/output multiplier+shift; MUL: output
    multiplier+shift only (the input ones stay 0).
    """

    op: Op
    x1: Tensor
    x2: Tensor
    y: Tensor
    same_shape: bool
    input1_offset: int
    input2_offset: int
    output_offset: int
    output_multiplier: int
    output_shift: int
    act_min: int
    act_max: int
    activation: str
    left_shift: int = 0
    input1_multiplier: int = 0
    input1_shift: int = 0
    input2_multiplier: int = 0
    input2_shift: int = 0

    @property
    def broadcasts(self) -> bool:
        """Not every operand has the output's number of elements."""
        return not (self.x1.num_elements == self.x2.num_elements == self.y.num_elements)

    def comment(self) -> str:
        return _comment(self.op, self.x1, self.x2, self.y, self.same_shape, self.activation)


def analyse_binary(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> BinaryLayer:
    """Check an ADD, SUB or MUL (clear errors) and compute its scalars as TFLM does.

    `activations`: the types the calling kernel takes (int8; int16 for 16x8 models)."""
    x1, x2, y, q1, q2, qo = _operands(op, g, activations)
    same = _check_broadcast(op, g, x1, x2, y)
    if x1.dtype == "int16":
        if not same and max(len(x1.shape), len(x2.shape), len(y.shape)) > INT16_MAX_RANK:
            raise unsupported(op, g, f"int16 broadcasting supports up to {INT16_MAX_RANK}-D "
                              "shapes, as TFLM's int16 kernels")
        if op.opcode == "MUL":      # TFLM's int16 MUL requires them (mul_common.cc)
            for t, q, role in ((x1, q1, "input1"), (x2, q2, "input2"), (y, qo, "output")):
                if q.scalar_zero_point != 0:
                    raise unsupported(op, g, f"int16 {role} '{t.name}' has zero point "
                                      f"{q.scalar_zero_point}; TFLM's int16 MUL needs 0")
    extra = {}
    if op.opcode in ("ADD", "SUB"):
        left_shift = ADD_SUB_LEFT_SHIFT[x1.dtype]
        try:
            m = add_sub_multipliers(q1.scalar_scale, q2.scalar_scale, qo.scalar_scale,
                                    left_shift)
        except ValueError as e:
            raise unsupported(op, g, f"{e} (TFLM rejects this quantization)") from None
        out_mult, out_shift = m.pop("output_multiplier"), m.pop("output_shift")
        extra = dict(left_shift=left_shift, **m)
    else:
        out_mult, out_shift = mul_multiplier(q1.scalar_scale, q2.scalar_scale, qo.scalar_scale)
    act_min, act_max, act = fused_activation_bounds(op, g, y)
    return BinaryLayer(op=op, x1=x1, x2=x2, y=y, same_shape=same,
                       input1_offset=-q1.scalar_zero_point, input2_offset=-q2.scalar_zero_point,
                       output_offset=qo.scalar_zero_point, output_multiplier=out_mult,
                       output_shift=out_shift, act_min=act_min, act_max=act_max,
                       activation=act, **extra)
