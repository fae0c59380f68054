"""CONV_2D and DEPTHWISE_CONV_2D on tinygen's portable kernels (tg_conv_s8, tg_depthwise_conv_s8).

The kernels keep the reference arithmetic (input offset added per tap, taps in the
padding skipped), so nothing about the input zero point is folded here; the layer's
meaning and numbers come from `codegen.ops.conv`.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.s16_support import bias_16x8
from codegen.ops.conv import ConvLayer, analyse_conv, analyse_depthwise_conv


# --- the operators -----------------------------------------------------------------------

def _requant_params(ctx: LowerContext, layer: ConvLayer):
    how = "per channel" if layer.filt.quant.per_channel \
        else "per channel (one filter scale broadcast)"
    c_m, r_m = ctx.const("multiplier", "int32_t", layer.multiplier, f"Q31 output multiplier {how}")
    c_s, r_s = ctx.const("shift", "int32_t", layer.shift, "output shift (power of two) per channel")
    params = dict(multiplier=r_m, shift=r_s, input_offset=layer.input_offset,
                  output_offset=layer.output_offset,
                  act_min=layer.act_min, act_max=layer.act_max)
    return params, [c_m, c_s]


def _bias_param(ctx: LowerContext, layer: ConvLayer):
    if layer.bias is None:
        return CExpr("NULL"), []
    c, r = ctx.const("bias", "int32_t", layer.bias.data.astype(np.int32).reshape(layer.out_d),
                     "int32 bias per output channel")
    return r, [c]


def quant_params(ctx: LowerContext, layer: ConvLayer):
    """The fields of tg_conv_quant_t (runtime_c/tg_conv_window.h), the `quant` of the int8
    convolutions' params, and their constants."""
    r_b, c_b = _bias_param(ctx, layer)
    q_params, q_consts = _requant_params(ctx, layer)
    return dict(bias=r_b, **q_params), [*c_b, *q_consts]


def geometry_params(layer: ConvLayer) -> dict:
    """The fields of tg_conv_geometry_t (runtime_c/tg_conv_window.h), the `geometry` of every
    portable convolution's params."""
    win = layer.win
    return dict(batches=layer.batches, input_height=layer.in_h, input_width=layer.in_w,
                input_depth=layer.in_d, filter_height=layer.f_h, filter_width=layer.f_w,
                output_height=win.out_h, output_width=win.out_w, output_depth=layer.out_d,
                **win.params())


def _bias_values(layer: ConvLayer) -> np.ndarray | None:
    return None if layer.bias is None else layer.bias.data.reshape(layer.out_d)


def _lower_conv_16x8(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    filt = layer.filt
    out_d, f_h, f_w, f_d = filt.shape
    c_w, r_w = ctx.const("filter", "int8_t", filt.data,
                         f"{out_d}x{f_h}x{f_w}x{f_d} int8 filter (OHWI)")
    acc32 = layer.accumulate32
    r_b64, r_b32, c_b = bias_16x8(ctx, _bias_values(layer), acc32, " per output channel")
    q_params, q_consts = _requant_params(ctx, layer)
    del q_params["input_offset"], q_params["output_offset"]     # zero points 0
    return LayerCall(
        op=op,
        kernel="tg_conv_s16",
        params_type="tg_conv_s16_params_t",
        params=dict(geometry=geometry_params(layer), filter_depth=f_d, groups=layer.groups,
                    filters_per_group=out_d // layer.groups, filter=r_w, bias64=r_b64,
                    bias32=r_b32, acc32=int(acc32), **q_params),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[c_w, *c_b, *q_consts],
        comment=layer.comment(" (16x8)"),
        macs=layer.macs,
    )


def _lower_depthwise_16x8(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    filt = layer.filt
    _, f_h, f_w, out_d = filt.shape
    c_w, r_w = ctx.const("filter", "int8_t", filt.data,
                         f"{f_h}x{f_w}x{out_d} int8 depthwise filter (HWC)")
    r_b64, _, c_b = bias_16x8(ctx, _bias_values(layer), False, " per output channel")
    q_params, q_consts = _requant_params(ctx, layer)
    del q_params["input_offset"], q_params["output_offset"]
    return LayerCall(
        op=op,
        kernel="tg_depthwise_conv_s16",
        params_type="tg_depthwise_conv_s16_params_t",
        params=dict(geometry=geometry_params(layer), depth_multiplier=layer.depth_multiplier,
                    filter=r_w, bias64=r_b64, **q_params),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[c_w, *c_b, *q_consts],
        comment=layer.comment(" (16x8)"),
        macs=layer.macs,
    )


ACTIVATIONS = ("int8", "int16")      # int16: TFLite's 16x8 quantization


@register("CONV_2D")
def lower_conv_2d(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    layer = analyse_conv(op, g, ACTIVATIONS)
    if layer.is_16x8:
        return _lower_conv_16x8(op, layer, ctx)
    filt = layer.filt
    out_d, f_h, f_w, f_d = filt.shape
    c_w, r_w = ctx.const("filter", "int8_t", filt.data,
                         f"{out_d}x{f_h}x{f_w}x{f_d} int8 filter (OHWI)")
    quant, q_consts = quant_params(ctx, layer)
    return LayerCall(
        op=op,
        kernel="tg_conv_s8",
        params_type="tg_conv_params_t",
        params=dict(geometry=geometry_params(layer), filter_depth=f_d, groups=layer.groups,
                    filters_per_group=out_d // layer.groups, filter=r_w, quant=quant),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[c_w, *q_consts],
        comment=layer.comment(),
        macs=layer.macs,
    )


@register("DEPTHWISE_CONV_2D")
def lower_depthwise_conv_2d(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    layer = analyse_depthwise_conv(op, g, ACTIVATIONS)
    if layer.is_16x8:
        return _lower_depthwise_16x8(op, layer, ctx)
    filt = layer.filt
    _, f_h, f_w, out_d = filt.shape
    c_w, r_w = ctx.const("filter", "int8_t", filt.data,
                         f"{f_h}x{f_w}x{out_d} int8 depthwise filter (HWC)")
    quant, q_consts = quant_params(ctx, layer)
    return LayerCall(
        op=op,
        kernel="tg_depthwise_conv_s8",
        params_type="tg_depthwise_conv_params_t",
        params=dict(geometry=geometry_params(layer), depth_multiplier=layer.depth_multiplier,
                    filter=r_w, quant=quant),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[c_w, *q_consts],
        comment=layer.comment(),
        macs=layer.macs,
    )
