"""AVERAGE_POOL_2D and MAX_POOL_2D on tinygen's portable kernels (tg_avg_pool_s8,
tg_max_pool_s8; tg_avg_pool_s16, tg_max_pool_s16 for 16x8 models)."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.pooling import analyse_pool


def _lower_pool(op: Op, g: Graph, ctx: LowerContext, kind: str) -> LayerCall:
    pool = analyse_pool(op, g, ("int8", "int16"))
    win = pool.win
    kernel = f"tg_{kind}_pool_{'s16' if pool.inp.dtype == 'int16' else 's8'}"
    return LayerCall(
        op=op,
        kernel=kernel,
        params_type="tg_pool_params_t",
        params=dict(batches=pool.batches, input_height=pool.in_h, input_width=pool.in_w,
                    depth=pool.depth,
                    output_height=win.out_h, output_width=win.out_w,
                    filter_height=win.filter_h, filter_width=win.filter_w,
                    stride_height=win.stride_h, stride_width=win.stride_w,
                    pad_top=win.pad_top, pad_left=win.pad_left,
                    act_min=pool.act_min, act_max=pool.act_max),
        args=[TensorArg(pool.inp.index), TensorArg(pool.out.index)],
        comment=pool.comment(),
    )


@register("AVERAGE_POOL_2D")
def lower_average_pool(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower_pool(op, g, ctx, "avg")


@register("MAX_POOL_2D")
def lower_max_pool(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower_pool(op, g, ctx, "max")
