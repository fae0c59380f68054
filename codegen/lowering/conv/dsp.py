"""CONV_2D on tinygen's DSP-extension kernels: pointwise (1x1, any stride, no padding, one
group) convolutions as the GEMM tg_dsp_gemm_s8 over every output pixel
(lowering/dsp_support.py); other convolutions of one group on tg_dsp_conv_s8, an int16
im2col (lowering/conv/dsp_im2col.py); other layers are declined (the next variant runs
them).  DEPTHWISE_CONV_2D: dsp_depthwise.py."""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.conv.dsp_im2col import im2col_call
from codegen.lowering.dsp_support import VARIANT, gemm_call, require_dsp
from codegen.ops.conv import analyse_conv


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
