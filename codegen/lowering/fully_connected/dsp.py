"""FULLY_CONNECTED on tinygen's DSP-extension GEMM (tg_dsp_gemm_s8; lowering/dsp_support.py)."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.dsp_support import VARIANT, gemm_call, require_dsp
from codegen.ops.fully_connected import analyse_fully_connected


@register("FULLY_CONNECTED", variant=VARIANT)
def lower_fully_connected_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    fc = analyse_fully_connected(op, g)
    return gemm_call(op, ctx, rows=fc.batches, weights=fc.filt.data.reshape(fc.units, fc.depth),
                     bias=fc.bias_values, input_zero_point=fc.input_zero_point,
                     multiplier=fc.multiplier, shift=fc.shift,
                     output_offset=fc.output_zero_point, act_min=fc.act_min,
                     act_max=fc.act_max, inp=fc.inp.index, out=fc.out.index,
                     comment=fc.comment())
