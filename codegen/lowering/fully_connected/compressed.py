"""FULLY_CONNECTED with a compressed filter (codegen/encoding.py) read from flash: the
portable kernel tg_cw_fully_connected_s8 (int4 and palettes), and on cores with the DSP
extension the GEMMs tg_dsp_cw_gemm_s8 (int4 and palettes, several rows) and
tg_dsp_s4_gemm_s8 (int4, fewer rows); sparse: tg_sparse_gemm_s8
(portable), tg_dsp_sparse_gemm_s8 (lowering/dsp_sparse.py).  Asked
only for layers whose filter is compressed."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.compressed_support import (ALL, SPARSE, cw_field, dsp_gemm_call,
                                                  require_filter, sparse_call)
from codegen.lowering.dsp_sparse import dsp_sparse_call
from codegen.lowering.dsp_support import VARIANT as DSP, require_dsp
from codegen.ops.fully_connected import analyse_fully_connected, folded_bias


@register("FULLY_CONNECTED", reads=ALL)
def lower_fully_connected_compressed(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx)
    fc = analyse_fully_connected(op, g)
    w, c_w = cw_field(ctx, enc, f"{fc.units}x{fc.depth} weights")
    c_b, r_b = ctx.const("bias", "int32_t",
                         folded_bias(fc.bias_values, fc.filt.data, fc.input_zero_point),
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", fc.multiplier, "Q31 output multiplier per "
                         "channel" if fc.per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", fc.shift, "output shift (power of two)")
    return LayerCall(
        op=op, kernel="tg_cw_fully_connected_s8", params_type="tg_cw_fc_params_t",
        params=dict(batches=fc.batches, depth=fc.depth, units=fc.units, weights=w, bias=r_b,
                    multiplier=r_m, shift=r_s, per_channel=int(fc.per_channel),
                    output_offset=fc.output_zero_point, act_min=fc.act_min,
                    act_max=fc.act_max),
        args=[TensorArg(fc.inp.index), TensorArg(fc.out.index)],
        consts=[*c_w, c_b, c_m, c_s],
        comment=fc.comment() + f"; filter {enc.label()}",
        macs=fc.batches * fc.units * fc.depth)


@register("FULLY_CONNECTED", variant=DSP, reads=ALL)
def lower_fully_connected_compressed_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx)
    fc = analyse_fully_connected(op, g)
    return dsp_gemm_call(op, ctx, enc, rows=fc.batches,
                         weights=fc.filt.data.reshape(fc.units, fc.depth),
                         bias=fc.bias_values, input_zero_point=fc.input_zero_point,
                         multiplier=fc.multiplier, shift=fc.shift, per_channel=fc.per_channel,
                         output_offset=fc.output_zero_point, act_min=fc.act_min,
                         act_max=fc.act_max, inp=fc.inp.index, out=fc.out.index,
                         comment=fc.comment(), macs=fc.batches * fc.units * fc.depth,
                         what=f"{fc.units}x{fc.depth} weights")


def _fc_sparse(op: Op, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx, SPARSE)
    fc = analyse_fully_connected(op, ctx.graph)
    return sparse_call(op, ctx, enc, rows=fc.batches,
                       weights=fc.filt.data.reshape(fc.units, fc.depth),
                       bias=fc.bias_values, input_zero_point=fc.input_zero_point,
                       multiplier=fc.multiplier, shift=fc.shift, per_channel=fc.per_channel,
                       output_offset=fc.output_zero_point, act_min=fc.act_min,
                       act_max=fc.act_max, inp=fc.inp.index, out=fc.out.index,
                       comment=fc.comment(), macs=fc.batches * fc.units * fc.depth)


@register("FULLY_CONNECTED", reads=SPARSE)
def lower_fully_connected_sparse(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    return _fc_sparse(op, ctx)


@register("FULLY_CONNECTED", variant=DSP, reads=SPARSE)
def lower_fully_connected_sparse_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx, SPARSE)
    fc = analyse_fully_connected(op, g)
    return dsp_sparse_call(op, ctx, enc, rows=fc.batches,
                           weights=fc.filt.data.reshape(fc.units, fc.depth),
                           bias=fc.bias_values, input_zero_point=fc.input_zero_point,
                           multiplier=fc.multiplier, shift=fc.shift,
                           output_offset=fc.output_zero_point, act_min=fc.act_min,
                           act_max=fc.act_max, inp=fc.inp.index, out=fc.out.index,
                           comment=fc.comment(), macs=fc.batches * fc.units * fc.depth)
