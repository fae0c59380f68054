"""RSQRT, int8: TFLM's integer arithmetic on all 256 inputs, one lookup table
(tg_lookup_s8_s8); see codegen/ops/rsqrt.py."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.lut import elementwise_s8_tensors, lut_layer, quant_desc
from codegen.ops.rsqrt import rsqrt_table


@register("RSQRT")
def lower_rsqrt(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp, out = elementwise_s8_tensors(op, g)
    table = rsqrt_table(inp.quant.scalar_scale, inp.quant.scalar_zero_point,
                        out.quant.scalar_scale, out.quant.scalar_zero_point)
    return lut_layer(op, g, ctx, inp, out, table,
                     f"RSQRT, input {quant_desc(inp)} -> output {quant_desc(out)}")
