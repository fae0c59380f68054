"""ADD, MUL, MAXIMUM and MINIMUM through CMSIS-NN, for layers without broadcasting.

arm_elementwise_add_s8 and arm_elementwise_mul_s8 take one flat block of equally shaped
inputs and the same scalars TFLM's reference kernels use (ADD: both inputs offset,
shifted left by 20 and rescaled to twice the larger input scale, summed, rescaled to the
output; MUL: one rescale of the product), with the same double rounding, so they are
bit-exact.  tinygen computes those scalars once, in the operator spec
(codegen/ops/elementwise.py), and passes the very same numbers to either kernel.

CMSIS-NN v7 has no int8 broadcasting add or mul: a layer whose inputs do not both have
the output's number of elements is declined.  (Its DSP code path also
relies on the left shift of 20 pushing the sign extension bits out of the 32-bit word,
which holds for int8 ADD.)
(MAXIMUM and MINIMUM: codegen/lowering/maximum_minimum/cmsis_nn.py.)
SUB has no int8 kernel in CMSIS-NN (adding a negated input would round differently).

16x8 (int16) layers go to arm_elementwise_add_s16 / arm_elementwise_mul_s16: TFLM's
arithmetic with a left shift of 15 for ADD, but no offsets at all (they ignore the zero
points), so a layer with a zero point other than 0 is declined, as is a MUL whose output
shift is positive (the product shifted left could leave int32, where TFLM and CMSIS-NN
overflow differently).
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT, cmsis_call, require_backend
from codegen.ops.elementwise import BinaryLayer, analyse_binary


def _analyse(op: Op, g: Graph, ctx: LowerContext) -> BinaryLayer:
    """The layer's spec, when CMSIS-NN is here and the layer does not broadcast."""
    require_backend(ctx)
    b = analyse_binary(op, g, ("int8", "int16"))
    if b.broadcasts:
        raise Declined(f"broadcasting: CMSIS-NN v7 has no {b.x1.dtype} broadcast kernel")
    if b.x1.dtype == "int16":
        if (b.input1_offset, b.input2_offset, b.output_offset) != (0, 0, 0):
            raise Declined(f"a zero point other than 0: CMSIS-NN's int16 {op.opcode.lower()} "
                           "ignores them")
        if op.opcode == "MUL" and b.output_shift > 0:
            raise Declined(f"output shift {b.output_shift} > 0: a product shifted left can "
                           "leave int32, where arm_elementwise_mul_s16 and TFLM differ")
    return b


def _kernel(b: BinaryLayer, name: str) -> str:
    return f"arm_elementwise_{name}_{'s16' if b.x1.dtype == 'int16' else 's8'}"


def _scalar(value: int, what: str) -> CExpr:
    return CExpr(f"{int(value)} /* {what} */")


@register("ADD", variant=VARIANT)
def lower_add_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    b = _analyse(op, g, ctx)
    return cmsis_call(
        op, _kernel(b, "add"),
        [TensorArg(b.x1.index), TensorArg(b.x2.index),
         _scalar(b.input1_offset, "input 1 offset (-zero point)"),
         _scalar(b.input1_multiplier, "input 1 Q31 multiplier"),
         _scalar(b.input1_shift, "input 1 shift"),
         _scalar(b.input2_offset, "input 2 offset"),
         _scalar(b.input2_multiplier, "input 2 Q31 multiplier"),
         _scalar(b.input2_shift, "input 2 shift"),
         _scalar(b.left_shift, "left shift of the offset inputs"),
         TensorArg(b.y.index),
         _scalar(b.output_offset, "output zero point"),
         _scalar(b.output_multiplier, "output Q31 multiplier"),
         _scalar(b.output_shift, "output shift"),
         _scalar(b.act_min, "activation min"),
         _scalar(b.act_max, "activation max"),
         _scalar(b.y.num_elements, "elements")],
        b.comment())


@register("MUL", variant=VARIANT)
def lower_mul_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    b = _analyse(op, g, ctx)
    return cmsis_call(
        op, _kernel(b, "mul"),
        [TensorArg(b.x1.index), TensorArg(b.x2.index),
         _scalar(b.input1_offset, "input 1 offset (-zero point)"),
         _scalar(b.input2_offset, "input 2 offset"),
         TensorArg(b.y.index),
         _scalar(b.output_offset, "output zero point"),
         _scalar(b.output_multiplier, "output Q31 multiplier"),
         _scalar(b.output_shift, "output shift"),
         _scalar(b.act_min, "activation min"),
         _scalar(b.act_max, "activation max"),
         _scalar(b.y.num_elements, "elements")],
        b.comment())
