"""FULLY_CONNECTED with a compressed filter (codegen/encoding.py) read from flash: the
portable kernel tg_cw_fully_connected_s8 (int4 and palettes), and on cores with the DSP
extension tg_dsp_s4_gemm_s8 (int4).  Asked only for layers whose filter is compressed."""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.compressed_support import (ALL, INT4, check_s4_depth, cw_field,
                                                  require_filter)
from codegen.lowering.dsp_support import VARIANT as DSP, require_dsp
from codegen.ops.fully_connected import analyse_fully_connected, folded_bias


def _fc_call(op: Op, ctx: LowerContext, kernel: str, params_type: str, rows_key: str,
             depth_key: str, units_key: str, enc, quads: bool = False) -> LayerCall:
    fc = analyse_fully_connected(op, ctx.graph)
    w, c_w = cw_field(ctx, enc, f"{fc.units}x{fc.depth} weights", quads=quads)
    c_b, r_b = ctx.const("bias", "int32_t",
                         folded_bias(fc.bias_values, fc.filt.data, fc.input_zero_point),
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", fc.multiplier, "Q31 output multiplier per "
                         "channel" if fc.per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", fc.shift, "output shift (power of two)")
    return LayerCall(
        op=op, kernel=kernel, params_type=params_type,
        params={rows_key: fc.batches, depth_key: fc.depth, units_key: fc.units,
                "weights": w, "bias": r_b, "multiplier": r_m, "shift": r_s,
                "per_channel": int(fc.per_channel), "output_offset": fc.output_zero_point,
                "act_min": fc.act_min, "act_max": fc.act_max},
        args=[TensorArg(fc.inp.index), TensorArg(fc.out.index)],
        consts=[*c_w, c_b, c_m, c_s],
        comment=fc.comment() + f"; filter {enc.label()}",
        macs=fc.batches * fc.units * fc.depth)


@register("FULLY_CONNECTED", reads=ALL)
def lower_fully_connected_compressed(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx)
    return _fc_call(op, ctx, "tg_cw_fully_connected_s8", "tg_cw_fc_params_t", "batches",
                    "depth", "units", enc)


@register("FULLY_CONNECTED", variant=DSP, reads=INT4)
def lower_fully_connected_s4_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx, INT4)
    check_s4_depth(analyse_fully_connected(op, g).depth)
    return _fc_call(op, ctx, "tg_dsp_s4_gemm_s8", "tg_dsp_s4_gemm_params_t", "rows",
                    "depth", "channels", enc, quads=True)

