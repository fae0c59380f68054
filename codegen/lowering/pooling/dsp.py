"""AVERAGE_POOL_2D and MAX_POOL_2D on the dsp variant's kernels (tg_dsp_avg_pool_s8,
tg_dsp_max_pool_s8: 4 channels per word); the same checks and geometry as the portable
lowering (`analyse_pool`)."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.dsp_support import VARIANT, require_dsp
from codegen.ops.pooling import analyse_pool

AVG_MAX_WINDOW = 256    # pixels whose int8 sum a 16-bit lane holds exactly


def _lower(op: Op, g: Graph, ctx: LowerContext, kind: str) -> LayerCall:
    require_dsp(ctx)
    pool = analyse_pool(op, g)
    win = pool.win
    if kind == "avg" and win.filter_h * win.filter_w > AVG_MAX_WINDOW:
        raise Declined(f"a {win.filter_h}x{win.filter_w} window: the dsp average pool sums "
                       f"at most {AVG_MAX_WINDOW} pixels in 16-bit lanes")
    return LayerCall(
        op=op,
        kernel="tg_dsp_avg_pool_s8" if kind == "avg" else "tg_dsp_max_pool_s8",
        params_type="tg_dsp_pool_params_t",
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


@register("AVERAGE_POOL_2D", variant=VARIANT)
def lower_average_pool_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "avg")


@register("MAX_POOL_2D", variant=VARIANT)
def lower_max_pool_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "max")
