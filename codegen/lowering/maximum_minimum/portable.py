"""MAXIMUM and MINIMUM, int8 and int16, on tinygen's portable kernel: a loop nest over the merged
broadcast dimensions that the operator spec (codegen/ops/maximum_minimum.py) computes."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.cheaders import C_LIMITS
from codegen.ops.maximum_minimum import analyse_maximum_minimum

MAX_DIMS = C_LIMITS["TG_MAXMIN_MAX_DIMS"]   # loops of tg_maximum_minimum.h's params (TFLM's 8)


@register("MAXIMUM", "MINIMUM")
def lower_maximum_minimum(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    mm = analyse_maximum_minimum(op, g, activations=("int8", "int16"))
    loops = mm.loops
    pad = [0] * (MAX_DIMS - len(loops))
    kernel = ("tg_maximum_" if op.opcode == "MAXIMUM" else "tg_minimum_") + \
        ("s8" if mm.a.dtype == "int8" else "s16")
    return LayerCall(
        op=op,
        kernel=kernel,
        params_type="tg_maximum_minimum_params_t",
        params=dict(num_dims=len(loops),
                    dims=[e for e, _ in loops] + pad,
                    input1_strides=[s[0] for _, s in loops] + pad,
                    input2_strides=[s[1] for _, s in loops] + pad),
        args=[TensorArg(mm.a.index), TensorArg(mm.b.index), TensorArg(mm.out.index)],
        comment=mm.comment(),
    )
