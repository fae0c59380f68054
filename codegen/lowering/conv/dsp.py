"""CONV_2D and DEPTHWISE_CONV_2D on tinygen's DSP-extension kernels: pointwise (1x1,
any stride, no padding, one group) convolutions as the GEMM tg_dsp_gemm_s8 over every
output pixel (lowering/dsp_support.py); other convolutions of one group on tg_dsp_conv_s8, an
int16 im2col (lowering/conv/dsp_im2col.py); depthwise convolutions with depth multiplier 1 (or one input
channel) and no dilation
on tg_dsp_depthwise_s8 (any filter size, stride, padding); other layers are declined (the
next variant runs them)."""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT as CMSIS_NN
from codegen.lowering.conv.dsp_im2col import im2col_call
from codegen.lowering.dsp_support import VARIANT, gemm_call, require_dsp
from codegen.ops.conv import analyse_conv, analyse_depthwise_conv


@register("CONV_2D", variant=VARIANT)
def lower_conv_2d_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    layer = analyse_conv(op, g)
    win = layer.win
    if (layer.f_h, layer.f_w) != (1, 1) or (win.pad_top, win.pad_left) != (0, 0) \
            or layer.groups != 1:
        return im2col_call(op, layer, ctx)     # lowering/conv/dsp_im2col.py
    out_d = layer.out_d
    bias = (layer.bias.data.astype(np.int64).reshape(out_d) if layer.bias is not None
            else np.zeros(out_d, np.int64))
    gather = None
    if (win.out_h, win.out_w) != (layer.in_h, layer.in_w):
        # a strided 1x1 convolution: the kernel gathers every stride-th pixel
        gather = dict(out_w=win.out_w, out_h=win.out_h, in_w=layer.in_w, in_h=layer.in_h,
                      stride_w=win.stride_w, stride_h=win.stride_h)
    return gemm_call(op, ctx, rows=layer.batches * win.out_h * win.out_w,
                     weights=layer.filt.data.reshape(out_d, layer.in_d), bias=bias,
                     input_zero_point=-layer.input_offset, multiplier=layer.multiplier,
                     shift=layer.shift, output_offset=layer.output_offset,
                     act_min=layer.act_min, act_max=layer.act_max, inp=layer.inp.index,
                     out=layer.out.index, comment=layer.comment(), gather=gather)


@register("DEPTHWISE_CONV_2D", variant=VARIANT)
def lower_depthwise_conv_2d_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    layer = analyse_depthwise_conv(op, g)
    win, filt = layer.win, layer.filt
    _, f_h, f_w, out_d = filt.shape
    if out_d != layer.in_d and layer.in_d != 1:
        raise Declined("only depth multiplier 1, or one input channel, so far")
    if (win.dilation_h, win.dilation_w) != (1, 1):
        raise Declined("only undilated filters so far")
    pref = ctx.preference
    if CMSIS_NN in pref and VARIANT in pref and pref.index(CMSIS_NN) > pref.index(VARIANT):
        # measured: arm_depthwise_conv_3x3_s8 and friends take fewer cycles than this kernel
        raise Declined("CMSIS-NN, next in the preference, runs depthwise layers faster "
                       "(benchmarks/RESULTS.md); --kernel N=dsp forces this one")
    c_w, r_w = ctx.const("filter", "int8_t", filt.data,
                         f"{f_h}x{f_w}x{out_d} int8 depthwise filter (HWC)")
    if layer.bias is None:
        r_b, c_b = CExpr("NULL"), []
    else:
        c, r_b = ctx.const("bias", "int32_t", layer.bias.data.astype(np.int32).reshape(out_d),
                           "int32 bias per output channel")
        c_b = [c]
    c_m, r_m = ctx.const("multiplier", "int32_t", layer.multiplier,
                         "Q31 output multiplier per channel")
    c_s, r_s = ctx.const("shift", "int32_t", layer.shift, "output shift (power of two) per channel")
    return LayerCall(
        op=op,
        kernel="tg_dsp_depthwise_s8",
        params_type="tg_dsp_depthwise_params_t",
        params=dict(batches=layer.batches, input_height=layer.in_h, input_width=layer.in_w,
                    channels=out_d, input_depth=layer.in_d, filter_height=f_h, filter_width=f_w,
                    output_height=win.out_h, output_width=win.out_w,
                    stride_height=win.stride_h, stride_width=win.stride_w,
                    pad_top=win.pad_top, pad_left=win.pad_left, filter=r_w, bias=r_b,
                    multiplier=r_m, shift=r_s, input_offset=layer.input_offset,
                    output_offset=layer.output_offset, act_min=layer.act_min,
                    act_max=layer.act_max),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index)],
        consts=[c_w, *c_b, c_m, c_s],
        comment=layer.comment(),
        macs=layer.macs,
    )
