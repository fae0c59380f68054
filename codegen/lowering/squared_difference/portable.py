"""SQUARED_DIFFERENCE, int8 and int16, on tinygen's portable kernels
`tg_squared_difference_s8` / `_s16`: a loop
nest over the output with one stride per input (0 where broadcast)."""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.elementwise.portable import broadcast_loops
from codegen.ops.squared_difference import analyse_squared_difference

MAX_LOOPS = C_LIMITS["TG_SQDIFF_MAX_DIMS"]


@register("SQUARED_DIFFERENCE")
def lower_squared_difference(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    s = analyse_squared_difference(op, g, activations=("int8", "int16"))
    dims, s1, s2 = broadcast_loops(s.x1.shape, s.x2.shape, s.y.shape, MAX_LOOPS)
    return LayerCall(
        op=op,
        kernel="tg_squared_difference_s8" if s.x1.dtype == "int8" else
        "tg_squared_difference_s16",
        params_type="tg_squared_difference_params_t",
        params=dict(left_shift=s.left_shift,
                    input1_offset=s.input1_offset, input1_multiplier=s.input1_multiplier,
                    input1_shift=s.input1_shift,
                    input2_offset=s.input2_offset, input2_multiplier=s.input2_multiplier,
                    input2_shift=s.input2_shift,
                    output_offset=s.output_offset, output_multiplier=s.output_multiplier,
                    output_shift=s.output_shift,
                    dims=dims, input1_strides=s1, input2_strides=s2),
        args=[TensorArg(s.x1.index), TensorArg(s.x2.index), TensorArg(s.y.index)],
        comment=s.comment(),
    )
