"""CONV_2D and DEPTHWISE_CONV_2D with a compressed filter (codegen/encoding.py) read from
flash: the portable kernels tg_cw_conv_s8 / tg_cw_depthwise_conv_s8 (int4 and palettes),
and on cores with the DSP extension pointwise convolutions (1x1, stride 1, no padding, one
group) as the GEMMs of lowering/compressed_support.dsp_gemm_call, the others of one group
on tg_dsp_cw_conv_s8 and depthwise ones on tg_dsp_cw_depthwise_s8 (lowering/conv/dsp_cw.py);
sparse pointwise filters
on tg_sparse_gemm_s8 (portable) and 1x1 ones, strided too, on tg_dsp_sparse_gemm_s8
(lowering/dsp_sparse.py).  Asked only for layers whose
filter is compressed."""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, ScratchArg, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.compressed_support import (ALL, SPARSE, cw_field, dsp_gemm_call,
                                                  require_filter, sparse_call)
from codegen.lowering.conv.dsp_cw import cw_depthwise_call, cw_im2col_call
from codegen.lowering.conv.portable import geometry_params, quant_params
from codegen.lowering.dsp_sparse import dsp_sparse_call
from codegen.lowering.dsp_support import VARIANT as DSP, require_dsp
from codegen.ops.conv import analyse_conv, analyse_depthwise_conv


@register("CONV_2D", reads=ALL)
def lower_conv_2d_compressed(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx)
    layer = analyse_conv(op, g)
    filt = layer.filt
    out_d, f_h, f_w, f_d = filt.shape
    w, c_w = cw_field(ctx, enc, f"{out_d}x{f_h}x{f_w}x{f_d} filter (OHWI)")
    quant, q_consts = quant_params(ctx, layer)
    return LayerCall(
        op=op,
        kernel="tg_cw_conv_s8",
        params_type="tg_cw_conv_params_t",
        params=dict(geometry=geometry_params(layer), filter_depth=f_d, groups=layer.groups,
                    filters_per_group=out_d // layer.groups, filter=w, quant=quant),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[*c_w, *q_consts],
        scratch=[f_h * f_w * f_d],      # one output channel's filter, decoded
        comment=layer.comment() + f"; filter {enc.label()}",
        macs=layer.macs,
    )


@register("DEPTHWISE_CONV_2D", reads=ALL)
def lower_depthwise_conv_2d_compressed(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx)
    layer = analyse_depthwise_conv(op, g)
    filt = layer.filt
    _, f_h, f_w, out_d = filt.shape
    w, c_w = cw_field(ctx, enc, f"{f_h}x{f_w}x{out_d} depthwise filter (HWC)")
    quant, q_consts = quant_params(ctx, layer)
    return LayerCall(
        op=op,
        kernel="tg_cw_depthwise_conv_s8",
        params_type="tg_cw_depthwise_params_t",
        params=dict(geometry=geometry_params(layer), depth_multiplier=layer.depth_multiplier,
                    filter=w, quant=quant),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[*c_w, *q_consts],
        comment=layer.comment() + f"; filter {enc.label()}",
        macs=layer.macs,
    )


def _pointwise(layer) -> None:
    win = layer.win
    if (layer.f_h, layer.f_w) != (1, 1) or (win.stride_h, win.stride_w) != (1, 1) \
            or (win.pad_top, win.pad_left) != (0, 0) or layer.groups != 1 \
            or (win.out_h, win.out_w) != (layer.in_h, layer.in_w):
        raise Declined("only pointwise convolutions (1x1 filter, stride 1, no padding, one "
                       "group)")


def _gemm_args(layer) -> dict:
    out_d = layer.out_d
    bias = (layer.bias.data.astype(np.int64).reshape(out_d) if layer.bias is not None
            else np.zeros(out_d, np.int64))
    return dict(rows=layer.batches * layer.in_h * layer.in_w,
                weights=layer.filt.data.reshape(out_d, layer.in_d), bias=bias,
                input_zero_point=-layer.input_offset, multiplier=layer.multiplier,
                shift=layer.shift, per_channel=True, output_offset=layer.output_offset,
                act_min=layer.act_min, act_max=layer.act_max, inp=layer.inp.index,
                out=layer.out.index, comment=layer.comment(), macs=layer.macs)


@register("CONV_2D", variant=DSP, reads=ALL)
def lower_conv_2d_compressed_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx)
    layer = analyse_conv(op, g)
    try:
        _pointwise(layer)
    except Declined:
        return cw_im2col_call(op, layer, ctx, enc)      # lowering/conv/dsp_cw.py
    return dsp_gemm_call(op, ctx, enc, **_gemm_args(layer),
                         what=f"{layer.out_d}x{layer.in_d} pointwise filter")


@register("DEPTHWISE_CONV_2D", variant=DSP, reads=ALL)
def lower_depthwise_conv_2d_compressed_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx)
    return cw_depthwise_call(op, analyse_depthwise_conv(op, g), ctx, enc)  # dsp_cw.py


@register("CONV_2D", reads=SPARSE)
def lower_conv_2d_sparse(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    enc = require_filter(ctx, SPARSE)
    layer = analyse_conv(op, g)
    _pointwise(layer)
    return sparse_call(op, ctx, enc, **_gemm_args(layer))


@register("CONV_2D", variant=DSP, reads=SPARSE)
def lower_conv_2d_sparse_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    enc = require_filter(ctx, SPARSE)
    layer = analyse_conv(op, g)
    win = layer.win
    if (layer.f_h, layer.f_w) != (1, 1) or (win.pad_top, win.pad_left) != (0, 0) \
            or layer.groups != 1:
        raise Declined("only 1x1 convolutions without padding, one group")
    gather = None
    if (win.out_h, win.out_w) != (layer.in_h, layer.in_w):      # strided: every n-th pixel
        gather = dict(out_w=win.out_w, out_h=win.out_h, in_w=layer.in_w, in_h=layer.in_h,
                      stride_w=win.stride_w, stride_h=win.stride_h)
    args = _gemm_args(layer)
    args["rows"] = layer.batches * win.out_h * win.out_w
    return dsp_sparse_call(op, ctx, enc, **args, gather=gather)
