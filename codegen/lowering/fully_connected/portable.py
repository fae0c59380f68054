"""FULLY_CONNECTED on tinygen's portable kernel (tg_fully_connected_s8).

The input zero point is folded into the bias at generation time:
    acc = bias[c] + sum_d (w[c,d]) * (x[d] - zp_in)
        = (bias[c] - zp_in * sum_d w[c,d]) + sum_d w[c,d] * x[d]
so the kernel's inner loop is a plain int8 dot product.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.fully_connected import analyse_fully_connected, folded_bias


@register("FULLY_CONNECTED")
def lower_fully_connected(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    fc = analyse_fully_connected(op, g)
    units, depth, batches = fc.units, fc.depth, fc.batches
    folded32 = folded_bias(fc.bias_values, fc.filt.data, fc.input_zero_point)

    c_w, r_w = ctx.const("weights", "int8_t", fc.filt.data, f"{units}x{depth} int8 weights")
    c_b, r_b = ctx.const("bias", "int32_t", folded32,
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", fc.multiplier, "Q31 output multiplier per "
                         "channel" if fc.per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", fc.shift, "output shift (power of two)")
    return LayerCall(
        op=op,
        kernel="tg_fully_connected_s8",
        params_type="tg_fully_connected_params_t",
        params=dict(batches=batches, depth=depth, units=units,
                    weights=r_w, bias=r_b, multiplier=r_m, shift=r_s,
                    per_channel=int(fc.per_channel),
                    output_offset=fc.output_zero_point,
                    act_min=fc.act_min, act_max=fc.act_max),
        args=[TensorArg(fc.inp.index), TensorArg(fc.out.index)],
        consts=[c_w, c_b, c_m, c_s],
        comment=fc.comment(),
        macs=batches * units * depth,
    )
