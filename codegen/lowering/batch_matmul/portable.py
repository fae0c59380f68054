"""BATCH_MATMUL, int8, on tinygen's portable kernel `tg_batch_matmul_s8`: strided loops over
the output's batch dimensions (0 stride where an operand is broadcast), rows and columns."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.batch_matmul import analyse_batch_matmul


@register("BATCH_MATMUL")
def lower_batch_matmul(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    b = analyse_batch_matmul(op, g)
    return LayerCall(
        op=op,
        kernel="tg_batch_matmul_s8",
        params_type="tg_batch_matmul_params_t",
        params=dict(batch_dims=b.batch_dims, lhs_batch_strides=b.lhs_batch_strides,
                    rhs_batch_strides=b.rhs_batch_strides, rows=b.rows, cols=b.cols,
                    depth=b.depth, **b.strides(), lhs_offset=b.lhs_offset,
                    rhs_offset=b.rhs_offset, output_offset=b.output_offset,
                    multiplier=b.multiplier, shift=b.shift),
        args=[TensorArg(b.lhs.index), TensorArg(b.rhs.index), TensorArg(b.out.index)],
        comment=b.comment(),
        macs=b.macs,
    )
