"""ADD, SUB and MUL, int8, with TFLite broadcasting.

Quantization parameters are computed as TFLM's Prepare does (see
tensorflow/lite/micro/kernels/add_common.cc, sub_common.cc, mul_common.cc):

ADD/SUB: both inputs are shifted left by 20 bits and rescaled to a common
scale of twice the larger input scale (multipliers < 1), summed, then
rescaled to the output.  The ratios are computed in double precision for
both.  (sub_common.cc on tflite-micro's main branch at 90b983c2 still divides
in float32, which rounds some multipliers differently; the tflite_micro
package tinygen verifies against computes SUB in double like ADD, as TFLM's
commit 0ad70939 "Fixed all foubles" does, and bit-exact tests confirm it.)

MUL: one multiplier in1_scale * in2_scale / out_scale, in double.

Broadcasting follows numpy/TFLite rules (shapes aligned on the right, a
dimension of 1 stretches).  The generator turns the three shapes into a
loop nest over the output with one stride per input (0 where broadcast),
merging dimensions that can be walked as one, so the kernel needs no shape
logic.
"""
from __future__ import annotations

import numpy as np

from codegen import quant
from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op, Tensor
from codegen.lowering import register
from codegen.lowering.base import (LayerCall, LowerContext, TensorArg, require_dtype,
                                   require_quant, unsupported)
from codegen.lowering.common import activation_suffix, fused_activation_bounds

MAX_LOOPS = C_LIMITS["TG_ELEMENTWISE_MAX_DIMS"]   # loops of tg_elementwise.h's params
TFLM_MAX_RANK = 8      # BroadcastBinaryOpSimple's kMaxRank
ADD_SUB_LEFT_SHIFT_INT8 = 20


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


def broadcast_loops(shape1: tuple, shape2: tuple, out_shape: tuple,
                    max_loops: int = MAX_LOOPS) -> tuple[list[int], list[int], list[int]]:
    """The output loop nest of a broadcast binary op: (dims, input1 strides, input2 strides).

    Outermost loop first, padded in front with loops of extent 1 to `max_loops`.
    Neighbouring dimensions are merged when both inputs walk them as one
    (contiguously, or both broadcast).  Raises ValueError when the nest needs
    more than `max_loops` loops.
    """
    n = max(len(shape1), len(shape2), len(out_shape))
    a = (1,) * (n - len(shape1)) + tuple(shape1)
    b = (1,) * (n - len(shape2)) + tuple(shape2)
    o = (1,) * (n - len(out_shape)) + tuple(out_shape)
    loops: list[list[int]] = []   # innermost first: [extent, stride1, stride2]
    acc1 = acc2 = 1               # elements of each input inside the dimensions seen so far
    for i in reversed(range(n)):
        extent = o[i]
        if extent == 1:
            continue              # a size-1 output dimension has size-1 inputs too
        s1 = 0 if a[i] == 1 else acc1
        s2 = 0 if b[i] == 1 else acc2
        if loops:
            ext, p1, p2 = loops[-1]
            if (s1 == p1 * ext) and (s2 == p2 * ext):   # both contiguous or both broadcast
                loops[-1][0] *= extent
                acc1 *= a[i]
                acc2 *= b[i]
                continue
        loops.append([extent, s1, s2])
        acc1 *= a[i]
        acc2 *= b[i]
    if not loops:
        loops = [[1, 0, 0]]
    if len(loops) > max_loops:
        raise ValueError(f"the broadcast needs {len(loops)} nested loops; the kernel has "
                         f"{max_loops}")
    loops = [[1, 0, 0]] * (max_loops - len(loops)) + loops[::-1]
    return ([int(l[0]) for l in loops], [int(l[1]) for l in loops], [int(l[2]) for l in loops])


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


def _operands(op: Op, g: Graph):
    ins = g.op_inputs(op)
    outs = g.op_outputs(op)
    if len(ins) != 2 or len(outs) != 1:
        raise unsupported(op, g, f"expected 2 inputs and 1 output, got {len(ins)} and {len(outs)}")
    x1, x2 = ins
    y = outs[0]
    for t, role in ((x1, "input1"), (x2, "input2"), (y, "output")):
        if t is not None and t.dtype == "int16":
            raise unsupported(op, g, f"{role} '{t.name}' is int16; only the int8 variant of "
                              f"{op.opcode} is supported")
        require_dtype(op, g, t, ("int8",), role)
    q1 = require_quant(op, g, x1, "input1")
    q2 = require_quant(op, g, x2, "input2")
    qo = require_quant(op, g, y, "output")
    for t, q, role in ((x1, q1, "input1"), (x2, q2, "input2"), (y, qo, "output")):
        if not q.scalar_scale > 0.0:
            raise unsupported(op, g, f"{role} '{t.name}' has scale {q.scalar_scale}; "
                              "it must be positive")
    return x1, x2, y, q1, q2, qo


def _broadcast(op: Op, g: Graph, x1: Tensor, x2: Tensor, y: Tensor):
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
    try:
        dims, s1, s2 = broadcast_loops(x1.shape, x2.shape, y.shape)
    except ValueError as e:
        raise unsupported(op, g, str(e)) from None
    return dict(dims=dims, input1_strides=s1, input2_strides=s2), same


def _comment(op: Op, x1: Tensor, x2: Tensor, y: Tensor, same: bool, act: str) -> str:
    sym = {"ADD": "+", "SUB": "-", "MUL": "*"}[op.opcode]

    def name(t: Tensor) -> str:
        return f"const {t.shape_str()}" if t.is_const else t.shape_str()

    bc = "" if same else " (broadcast)"
    return f"{op.opcode} {name(x1)} {sym} {name(x2)}{bc} -> {y.shape_str()}{activation_suffix(act)}"


@register("ADD", "SUB")
def lower_add_sub(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    x1, x2, y, q1, q2, qo = _operands(op, g)
    loops, same = _broadcast(op, g, x1, x2, y)
    left_shift = ADD_SUB_LEFT_SHIFT_INT8
    try:
        mults = add_sub_multipliers(q1.scalar_scale, q2.scalar_scale, qo.scalar_scale,
                                    left_shift)
    except ValueError as e:
        raise unsupported(op, g, f"{e} (TFLM rejects this quantization)") from None
    act_min, act_max, act = fused_activation_bounds(op, g, y)
    params = dict(left_shift=left_shift,
                  input1_offset=-q1.scalar_zero_point,
                  input1_multiplier=mults["input1_multiplier"],
                  input1_shift=mults["input1_shift"],
                  input2_offset=-q2.scalar_zero_point,
                  input2_multiplier=mults["input2_multiplier"],
                  input2_shift=mults["input2_shift"],
                  output_offset=qo.scalar_zero_point,
                  output_multiplier=mults["output_multiplier"],
                  output_shift=mults["output_shift"],
                  act_min=act_min, act_max=act_max, **loops)
    return LayerCall(
        op=op,
        kernel="tg_add_s8" if op.opcode == "ADD" else "tg_sub_s8",
        params_type="tg_add_sub_params_t",
        params=params,
        args=[TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)],
        runtime=["tg_elementwise"],
        comment=_comment(op, x1, x2, y, same, act),
    )


@register("MUL")
def lower_mul(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    x1, x2, y, q1, q2, qo = _operands(op, g)
    loops, same = _broadcast(op, g, x1, x2, y)
    mult, shift = mul_multiplier(q1.scalar_scale, q2.scalar_scale, qo.scalar_scale)
    act_min, act_max, act = fused_activation_bounds(op, g, y)
    return LayerCall(
        op=op,
        kernel="tg_mul_s8",
        params_type="tg_mul_params_t",
        params=dict(input1_offset=-q1.scalar_zero_point,
                    input2_offset=-q2.scalar_zero_point,
                    output_offset=qo.scalar_zero_point,
                    output_multiplier=mult, output_shift=shift,
                    act_min=act_min, act_max=act_max, **loops),
        args=[TensorArg(x1.index), TensorArg(x2.index), TensorArg(y.index)],
        runtime=["tg_elementwise"],
        comment=_comment(op, x1, x2, y, same, act),
    )
