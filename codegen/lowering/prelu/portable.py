"""PRELU, int8 and int16 (int8 alpha), on tinygen's portable kernels `tg_prelu_s8` and
`tg_prelu_s16`: a loop nest over the output
with one stride per operand (0 where alpha, or the input, is broadcast)."""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.elementwise.portable import broadcast_loops
from codegen.ops.prelu import analyse_prelu

MAX_LOOPS = C_LIMITS["TG_PRELU_MAX_DIMS"]


@register("PRELU")
def lower_prelu(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    p = analyse_prelu(op, g, activations=("int8", "int16"))
    dims, s_in, s_alpha = broadcast_loops(p.x.shape, p.alpha.shape, p.y.shape, MAX_LOOPS)
    return LayerCall(
        op=op,
        kernel="tg_prelu_s8" if p.x.dtype == "int8" else "tg_prelu_s16",
        params_type="tg_prelu_params_t",
        params=dict(input_offset=p.input_offset, alpha_offset=p.alpha_offset,
                    output_offset=p.output_offset,
                    multiplier_pos=p.multiplier_pos, shift_pos=p.shift_pos,
                    multiplier_neg=p.multiplier_neg, shift_neg=p.shift_neg,
                    dims=dims, input_strides=s_in, alpha_strides=s_alpha),
        args=[TensorArg(p.x.index), TensorArg(p.alpha.index), TensorArg(p.y.index)],
        comment=p.comment(),
    )
