"""FULLY_CONNECTED on tinygen's portable kernel (tg_fully_connected_s8).

The input zero point is folded into the bias at generation time:
    acc = bias[c] + sum_d (w[c,d]) * (x[d] - zp_in)
        = (bias[c] - zp_in * sum_d w[c,d]) + sum_d w[c,d] * x[d]
so the kernel's inner loop is a plain int8 dot product.  16x8 layers (int16 activations,
zero point 0) run tg_fully_connected_s16.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.s16_support import bias_16x8
from codegen.ops.fully_connected import FcLayer, analyse_fully_connected, folded_bias


def _lower_16x8(op: Op, fc: FcLayer, ctx: LowerContext) -> LayerCall:
    """int16 activations, int8 weights: no offsets; the bias keeps its type (tg_s16.h)."""
    units, depth, batches = fc.units, fc.depth, fc.batches
    c_w, r_w = ctx.const("weights", "int8_t", fc.filt.data, f"{units}x{depth} int8 weights")
    r_b64, r_b32, c_b = bias_16x8(ctx, fc.bias_values if fc.bias is not None else None,
                                  fc.accumulate32)
    c_m, r_m = ctx.const("multiplier", "int32_t", fc.multiplier, "Q31 output multiplier per "
                         "channel" if fc.per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", fc.shift, "output shift (power of two)")
    return LayerCall(
        op=op,
        kernel="tg_fully_connected_s16",
        params_type="tg_fully_connected_s16_params_t",
        params=dict(batches=batches, depth=depth, units=units, weights=r_w, bias64=r_b64,
                    bias32=r_b32, acc32=int(fc.accumulate32), multiplier=r_m, shift=r_s,
                    per_channel=int(fc.per_channel), act_min=fc.act_min, act_max=fc.act_max),
        args=[TensorArg(fc.inp.index), TensorArg(fc.out.index)],
        consts=[c_w, *c_b, c_m, c_s],
        comment=fc.comment(" (16x8)"),
        macs=batches * units * depth,
    )


@register("FULLY_CONNECTED")
def lower_fully_connected(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    fc = analyse_fully_connected(op, g, ("int8", "int16"))
    if fc.is_16x8:
        return _lower_16x8(op, fc, ctx)
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
