"""MAXIMUM and MINIMUM through CMSIS-NN: arm_maximum_s8 / arm_minimum_s8.

They compare the stored int8 values as TFLM does, for inputs of equal shapes or where
one is a single value; other broadcasts are declined (the portable loop nest runs them).
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import CExpr, ConstStruct, LayerCall, StructRef, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT, cmsis_call, dims, require_backend
from codegen.ops.maximum_minimum import analyse_maximum_minimum


@register("MAXIMUM", "MINIMUM", variant=VARIANT)
def lower_maximum_minimum_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_backend(ctx)
    mm = analyse_maximum_minimum(op, g)
    a, b, y = mm.a, mm.b, mm.out
    n = y.num_elements
    if a.num_elements == b.num_elements == n:
        a_n = b_n = n
    elif a.num_elements == 1 and b.num_elements == n:
        a_n, b_n = 1, n
    elif b.num_elements == 1 and a.num_elements == n:
        a_n, b_n = n, 1
    else:
        raise Declined("a broadcast other than equal shapes or a single value")
    return cmsis_call(
        op, "arm_maximum_s8" if op.opcode == "MAXIMUM" else "arm_minimum_s8",
        [CExpr("NULL"), TensorArg(a.index), StructRef("input_1_dims"),
         TensorArg(b.index), StructRef("input_2_dims"),
         TensorArg(y.index), StructRef("output_dims")],
        mm.comment(),
        structs=[ConstStruct("input_1_dims", "cmsis_nn_dims", dims(1, 1, 1, a_n)),
                 ConstStruct("input_2_dims", "cmsis_nn_dims", dims(1, 1, 1, b_n)),
                 ConstStruct("output_dims", "cmsis_nn_dims", dims(1, 1, 1, n))])
