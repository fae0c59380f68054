"""AVERAGE_POOL_2D and MAX_POOL_2D through CMSIS-NN: arm_avgpool_s8 and arm_max_pool_s8.

Same checks and geometry as the portable lowering (`analyse_pool`).  Both CMSIS-NN kernels
walk the part of each window inside the image exactly as TFLM's reference does, and
arm_avgpool_s8 divides the window sum by the number of elements it added with TFLM's
rounding, (sum +- count / 2) / count by the sign of the sum, on every code path.  The
DSP path keeps one int32 sum per channel in a scratch buffer that CMSIS-NN's
arm_avgpool_s8_get_buffer_size sizes; it is planned in the arena.

Windows that lie entirely in the padding are refused by the analysis itself (as TFLM's
average pool refuses them): CMSIS-NN's average pool fails on them and its
max pool leaves such outputs unwritten.

16x8 (int16) layers go to arm_avgpool_s16 / arm_max_pool_s16, the same walk and rounding
over int16 values (an int32 sum, as TFLM's).
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import CExpr, ConstStruct, LayerCall, ScratchArg, StructRef, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT, cmsis_call, dims, require_backend
from codegen.ops.pooling import analyse_pool


def _lower(op: Op, g: Graph, ctx: LowerContext, kernel: str) -> LayerCall:
    backend = require_backend(ctx)
    pool = analyse_pool(op, g, ("int8", "int16"))
    if pool.inp.dtype == "int16":
        kernel = kernel[:-2] + "s16"
    win = pool.win
    size = 0
    if kernel.startswith("arm_avgpool_"):
        size = backend.buffer_size(kernel, win.out_w, pool.depth)
    if size > 0:
        context, scratch = dict(buf=ScratchArg(0), size=size), [size]
    else:
        context, scratch = dict(buf=CExpr("NULL"), size=0), []
    structs = [
        ConstStruct("ctx", "cmsis_nn_context", context),
        ConstStruct("pool_params", "cmsis_nn_pool_params", dict(
            stride=dict(h=win.stride_h, w=win.stride_w),
            padding=dict(h=win.pad_top, w=win.pad_left),
            activation=dict(min=pool.act_min, max=pool.act_max))),
        ConstStruct("input_dims", "cmsis_nn_dims",
                    dims(pool.batches, pool.in_h, pool.in_w, pool.depth)),
        ConstStruct("filter_dims", "cmsis_nn_dims", dims(1, win.filter_h, win.filter_w, 1)),
        ConstStruct("output_dims", "cmsis_nn_dims",
                    dims(pool.batches, win.out_h, win.out_w, pool.depth)),
    ]
    return cmsis_call(
        op, kernel,
        [StructRef("ctx"), StructRef("pool_params"), StructRef("input_dims"),
         TensorArg(pool.inp.index), StructRef("filter_dims"), StructRef("output_dims"),
         TensorArg(pool.out.index)],
        pool.comment(), structs=structs, scratch=scratch)


@register("AVERAGE_POOL_2D", variant=VARIANT)
def lower_average_pool_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "arm_avgpool_s8")


@register("MAX_POOL_2D", variant=VARIANT)
def lower_max_pool_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _lower(op, g, ctx, "arm_max_pool_s8")
