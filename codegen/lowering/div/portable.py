"""DIV, int8, on tinygen's portable kernel `tg_div_s8`: a loop nest over the output with one
stride per input (0 where broadcast).

TFLM's int8 DIV is undefined C++ for small numerators and zero divisors (codegen/ops/div.py);
tinygen computes a defined result there in both modes (--match-tflm has nothing to
reproduce), warns when the layer can reach such inputs, and has verify judge the layer
with the Python model of the arithmetic (`oracle = "spec"`), which equals TFLM wherever
TFLM is defined.
"""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.cnames import display_text
from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.elementwise.portable import broadcast_loops
from codegen.ops.div import analyse_div

MAX_LOOPS = C_LIMITS["TG_DIV_MAX_DIMS"]


@register("DIV")
def lower_div(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    s = analyse_div(op, g)
    dims, s1, s2 = broadcast_loops(s.x1.shape, s.x2.shape, s.y.shape, MAX_LOOPS)
    call = LayerCall(
        op=op,
        kernel="tg_div_s8",
        params_type="tg_div_params_t",
        params=dict(**s.params(), dims=dims, input1_strides=s1, input2_strides=s2),
        args=[TensorArg(s.x1.index), TensorArg(s.x2.index), TensorArg(s.y.index)],
        comment=s.comment(),
    )
    if s.tflm_undefined_possible():
        call.oracle = "spec"
        zero = " or a zero divisor" if s.divisor_can_be_zero() else ""
        tflm = (" (--match-tflm cannot reproduce TFLM there: its result depends on the "
                "compiler and the CPU)") if ctx.match_tflm else ""
        call.warnings.append(
            f"layer {ctx.layer_name} ({op.describe()} -> '{display_text(s.y.name)}'): for "
            f"small numerators{zero}, TFLM's int8 DIV is undefined behaviour in C++ (a shift "
            "by 32 or more, a division by zero); the pinned TFLM on x86 returns wrong values "
            "there. tinygen computes the rounded quotient (0) and saturates division by "
            f"zero (codegen/ops/div.py){tflm}; verify judges this layer with tinygen's model "
            "of TFLM's arithmetic, which equals TFLM wherever TFLM is defined")
    return call
