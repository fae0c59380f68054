"""CONV_2D and DEPTHWISE_CONV_2D through CMSIS-NN's wrappers.

arm_convolve_wrapper_s8 and arm_depthwise_conv_wrapper_s8 pick a kernel from the layer's
shape (1x1, 1xN, 3x3 depthwise, channel multiplier 1, generic) and code path.  Every one of
them accumulates bias + sum (x + input_offset) * w over the taps inside the image, as TFLM's
reference does (padded taps are skipped or filled with the input zero point, which adds
nothing), and requantizes with TFLM's double rounding.  So the checks, window and per-channel
multipliers are the portable lowering's (`analyse_conv`), and what this module adds is the
CMSIS-NN calling convention:
  - filter OHWI (depthwise 1HWC) and int32 bias exactly as in the model; per-tensor filters
    get their multiplier repeated per channel, as TFLM's CMSIS-NN glue does;
  - a zero bias where the model has none but the kernel would step a NULL bias pointer per
    group (grouped convolution) or per block of 124 channels (Helium depthwise);
  - every cmsis_nn_* params and dims struct as `static const` data;
  - the scratch buffer CMSIS-NN's own `*_get_buffer_size` asks for on the target's code path,
    planned in the arena.
Layers it declines (raises Declined with the reason; the next variant takes them):
  - sizes beyond the 16-bit counters some CMSIS-NN kernels use;
  - with CMSIS-NN before V.19 (v7.0.0): grouped convolutions that the wrapper runs with
    arm_convolve_s8 but sizes the scratch buffer for its 1x1 or 1xN kernel;
  - on Helium (MVE): 1xN convolutions whose VALID window leaves input columns unused
    (negative total padding), which arm_convolve_1_x_n_s8's Helium path does not handle
    (it pads a column that has no padding, or fails).
On Helium a depthwise layer with one input channel becomes the convolution CMSIS-NN would
turn it into at run time, with its filter transposed at generation time.

16x8 layers (int16 activations) go to arm_convolve_wrapper_s16 / arm_depthwise_conv_wrapper_s16
with the bias in its own width (cmsis_nn_bias_data for the convolution, int64 only for the
depthwise); codegen/lowering/cmsis_nn_s16.py checks the layer is bit-exact with TFLM there,
and these lowerings also decline grouped 16x8 convolutions (arm_convolve_s16 has no groups)
and int32-bias depthwise layers.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import (CExpr, ConstRef, ConstStruct, LayerCall, ScratchArg, StructRef,
                        TensorArg)
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_s16 import (MAX_COL_COUNT, accumulator_bounds, bias64,
                                           bias_data_struct, check_int32_accumulator,
                                           check_int32_partial_sums, check_requantize_s64)
from codegen.lowering.cmsis_nn_support import (HEADER, SUCCESS, VARIANT, dims,
                                               require_backend)
from codegen.ops.conv import ConvLayer, analyse_conv, analyse_depthwise_conv

# CMSIS-NN keeps sizes, strides and paddings in uint16_t / int16_t locals in places
SIZE_LIMIT = 0x7FFF
# first CMSIS-NN header revision whose conv wrapper sizes grouped 1x1 / 1xN layers right
GROUPED_SIZES_FIXED = (19, 0, 0)


def _check_16_bits(layer: ConvLayer) -> None:
    win = layer.win
    sizes = [layer.batches, layer.in_h, layer.in_w, layer.in_d, layer.out_d, layer.f_h,
             layer.f_w, win.out_h * win.stride_h, win.out_w * win.stride_w,
             win.pad_top, win.pad_left,
             (layer.f_h - 1) * win.dilation_h + 1, (layer.f_w - 1) * win.dilation_w + 1,
             layer.f_h * layer.f_w * layer.filter_depth // 4]
    if max(sizes) > SIZE_LIMIT:
        raise Declined(f"a size of {max(sizes)} exceeds the 16-bit counters of CMSIS-NN's "
                       f"kernels ({SIZE_LIMIT})")


def _tile(h: int, w: int) -> dict:
    return dict(h=int(h), w=int(w))


def _window_fields(layer: ConvLayer) -> dict:
    win = layer.win
    return dict(stride=_tile(win.stride_h, win.stride_w),
                padding=_tile(win.pad_top, win.pad_left),
                dilation=_tile(win.dilation_h, win.dilation_w),
                activation=dict(min=layer.act_min, max=layer.act_max))


def _is_1x1(layer: ConvLayer) -> bool:
    """The wrapper's 1x1 branch (without its same-depth condition)."""
    win = layer.win
    return (win.pad_top == 0 and win.pad_left == 0 and layer.f_h == 1 and layer.f_w == 1
            and win.dilation_h == 1 and win.dilation_w == 1)


def _is_1xn(layer: ConvLayer, in_d: int) -> bool:
    """The wrapper's 1xN branch (without its same-depth condition)."""
    win = layer.win
    return (layer.in_h == 1 and layer.f_h == 1 and win.dilation_w == 1
            and (win.stride_w * in_d) % 4 == 0)


def _mve_1xn_unsafe(layer: ConvLayer) -> bool:
    """arm_convolve_1_x_n_s8's Helium path with a VALID window that ends before the input.

    It splits the output row into left-padded, unpadded and right-padded columns from the
    total padding (out_w - 1) * stride + filter_w - in_w; when that is negative it pads a
    column that has no padding (or gives up with ARM_CMSIS_NN_FAILURE).
    """
    win = layer.win
    total = (win.out_w - 1) * win.stride_w + layer.f_w - layer.in_w
    return _is_1xn(layer, layer.in_d) and not _is_1x1(layer) and total < 0


def _context_struct(size: int) -> tuple[ConstStruct, list[int]]:
    if size > 0:
        return ConstStruct("ctx", "cmsis_nn_context", dict(buf=ScratchArg(0), size=size)), [size]
    return ConstStruct("ctx", "cmsis_nn_context", dict(buf=CExpr("NULL"), size=0)), []


def _quant_struct(ctx: LowerContext, layer: ConvLayer):
    how = "per channel" if layer.filt.quant.per_channel \
        else "per channel (the one filter scale repeated)"
    c_m, r_m = ctx.const("multiplier", "int32_t", layer.multiplier, f"Q31 output multiplier {how}")
    c_s, r_s = ctx.const("shift", "int32_t", layer.shift, "output shift per channel")
    struct = ConstStruct("quant_params", "cmsis_nn_per_channel_quant_params", dict(
        multiplier=ConstRef(r_m.name, cast="int32_t *"),
        shift=ConstRef(r_s.name, cast="int32_t *")))
    return struct, [c_m, c_s]


def _bias(ctx: LowerContext, layer: ConvLayer, needed: bool):
    """The bias argument: the model's, zeros when `needed` and the model has none, or NULL."""
    if layer.bias is not None:
        values = layer.bias.data.astype(np.int32).reshape(layer.out_d)
        c, r = ctx.const("bias", "int32_t", values, "int32 bias per output channel")
        return r, [c]
    if needed:
        c, r = ctx.const("bias", "int32_t", np.zeros(layer.out_d, np.int32),
                         "zero bias: the model has none, and this CMSIS-NN kernel offsets "
                         "the bias pointer per block of channels")
        return r, [c]
    return CExpr("NULL"), []


def _call(op: Op, layer: ConvLayer, kernel: str, ctx: LowerContext, params: ConstStruct,
          filters: np.ndarray, filter_dims: dict, filter_comment: str, size: int,
          bias_needed: bool, note: str = "") -> LayerCall:
    c_w, r_w = ctx.const("filter", "int8_t", filters, filter_comment)
    r_b, c_b = _bias(ctx, layer, bias_needed)
    quant, c_q = _quant_struct(ctx, layer)
    context, scratch = _context_struct(size)
    win = layer.win
    structs = [
        context, params, quant,
        ConstStruct("input_dims", "cmsis_nn_dims",
                    dims(layer.batches, layer.in_h, layer.in_w, layer.in_d)),
        ConstStruct("filter_dims", "cmsis_nn_dims", filter_dims),
        ConstStruct("bias_dims", "cmsis_nn_dims", dims(1, 1, 1, layer.out_d)),
        ConstStruct("output_dims", "cmsis_nn_dims",
                    dims(layer.batches, win.out_h, win.out_w, layer.out_d)),
    ]
    return LayerCall(
        op=op,
        kernel=kernel,
        args=[StructRef("ctx"), StructRef(params.name), StructRef("quant_params"),
              StructRef("input_dims"), TensorArg(layer.inp.index),
              StructRef("filter_dims"), r_w,
              StructRef("bias_dims"), r_b,
              StructRef("output_dims"), TensorArg(layer.out.index)],
        consts=[c_w, *c_b, *c_q],
        structs=structs,
        scratch=scratch,
        headers=[HEADER],
        status_ok=SUCCESS,
        comment=layer.comment(f" (CMSIS-NN{note})"),
        macs=layer.macs,
    )


def _conv_call(op: Op, layer: ConvLayer, ctx: LowerContext, filters: np.ndarray,
               filter_depth: int, note: str = "") -> LayerCall:
    """arm_convolve_wrapper_s8 with `filters` (OHWI, `filter_depth` input channels each)."""
    kernel = "arm_convolve_wrapper_s8"
    params = dict(input_offset=layer.input_offset, output_offset=layer.output_offset,
                  **_window_fields(layer))
    input_dims = (layer.batches, layer.in_h, layer.in_w, layer.in_d)
    filter_dims = dims(layer.out_d, layer.f_h, layer.f_w, filter_depth)
    output_dims = (layer.batches, layer.win.out_h, layer.win.out_w, layer.out_d)
    size = ctx.backend.buffer_size(kernel, params, input_dims, tuple(filter_dims.values()),
                                   output_dims)
    return _call(op, layer, kernel, ctx, ConstStruct("conv_params", "cmsis_nn_conv_params",
                                                     params),
                 filters, filter_dims,
                 f"{layer.out_d}x{layer.f_h}x{layer.f_w}x{filter_depth} int8 filter (OHWI)",
                 size, bias_needed=layer.groups > 1, note=note)


ACTIVATIONS = ("int8", "int16")      # int16: TFLite's 16x8 quantization


def _s16_call(op: Op, layer: ConvLayer, ctx: LowerContext, kernel: str, params: ConstStruct,
              filter_dims: dict, filter_comment: str, bias_arg, bias_consts: list,
              extra_structs: list) -> LayerCall:
    """A 16x8 call: `kernel`(ctx, params, quant, input, filter, bias, output)."""
    size = ctx.backend.buffer_size(
        kernel, params.fields, (layer.batches, layer.in_h, layer.in_w, layer.in_d),
        tuple(filter_dims.values()),
        (layer.batches, layer.win.out_h, layer.win.out_w, layer.out_d))
    c_w, r_w = ctx.const("filter", "int8_t", layer.filt.data, filter_comment)
    quant, c_q = _quant_struct(ctx, layer)
    context, scratch = _context_struct(size)
    win = layer.win
    structs = [
        context, params, quant,
        ConstStruct("input_dims", "cmsis_nn_dims",
                    dims(layer.batches, layer.in_h, layer.in_w, layer.in_d)),
        ConstStruct("filter_dims", "cmsis_nn_dims", filter_dims),
        ConstStruct("bias_dims", "cmsis_nn_dims", dims(1, 1, 1, layer.out_d)),
        ConstStruct("output_dims", "cmsis_nn_dims",
                    dims(layer.batches, win.out_h, win.out_w, layer.out_d)),
        *extra_structs,
    ]
    return LayerCall(
        op=op, kernel=kernel,
        args=[StructRef("ctx"), StructRef(params.name), StructRef("quant_params"),
              StructRef("input_dims"), TensorArg(layer.inp.index),
              StructRef("filter_dims"), r_w,
              StructRef("bias_dims"), bias_arg,
              StructRef("output_dims"), TensorArg(layer.out.index)],
        consts=[c_w, *bias_consts, *c_q], structs=structs, scratch=scratch,
        headers=[HEADER], status_ok=SUCCESS,
        comment=layer.comment(" (16x8, CMSIS-NN)"), macs=layer.macs)


def _s16_bias(layer: ConvLayer):
    return None if layer.bias is None else layer.bias.data.reshape(layer.out_d)


def _conv_s16(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    """arm_convolve_wrapper_s16 (it always runs arm_convolve_s16)."""
    kernel = "arm_convolve_wrapper_s16"
    if layer.groups > 1:
        raise Declined(f"{kernel} has no grouped form ({layer.groups} groups)")
    rows = layer.filt.data.reshape(layer.out_d, -1)
    bias = _s16_bias(layer)
    bounds = accumulator_bounds(rows, bias)
    acc32 = layer.accumulate32
    if acc32:
        check_int32_accumulator(bounds, kernel)
    else:
        # 32-bit partial sums: the first 512 columns in the matrix kernels, every column
        # for the last odd output position of the plain C / DSP path
        odd = (layer.win.out_h * layer.win.out_w) % 2 == 1 and ctx.backend.arch != "mve"
        check_int32_partial_sums(rows, None if odd else MAX_COL_COUNT, kernel)
        check_requantize_s64(bounds, layer.multiplier, layer.shift, kernel)
    bias_struct, c_b = bias_data_struct(ctx, bias, acc32)
    params = ConstStruct("conv_params", "cmsis_nn_conv_params", dict(
        input_offset=0, output_offset=0, **_window_fields(layer)))
    return _s16_call(op, layer, ctx, kernel, params,
                     dims(layer.out_d, layer.f_h, layer.f_w, layer.in_d),
                     f"{layer.out_d}x{layer.f_h}x{layer.f_w}x{layer.in_d} int8 filter (OHWI)",
                     StructRef("bias_data"), c_b, [bias_struct])


def _depthwise_s16(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    """arm_depthwise_conv_wrapper_s16 (arm_depthwise_conv_fast_s16 or arm_depthwise_conv_s16)."""
    kernel = "arm_depthwise_conv_wrapper_s16"
    if layer.bias is not None and layer.bias.dtype != "int64":
        raise Declined(f"{kernel} takes only an int64 bias")
    # [1, h, w, C] -> one row of taps per output channel
    rows = np.ascontiguousarray(layer.filt.data.reshape(-1, layer.out_d).T)
    bias = _s16_bias(layer)
    check_int32_partial_sums(rows, None, kernel)
    check_requantize_s64(accumulator_bounds(rows, bias), layer.multiplier, layer.shift, kernel)
    r_b, c_b = bias64(ctx, bias)
    params = ConstStruct("dw_conv_params", "cmsis_nn_dw_conv_params", dict(
        input_offset=0, output_offset=0, ch_mult=layer.depth_multiplier,
        **_window_fields(layer)))
    return _s16_call(op, layer, ctx, kernel, params, dims(1, layer.f_h, layer.f_w, layer.out_d),
                     f"{layer.f_h}x{layer.f_w}x{layer.out_d} int8 depthwise filter (HWC)",
                     r_b, c_b, [])


MVE_1XN = ("Helium's arm_convolve_1_x_n_s8 mishandles a 1xN VALID window that ends before "
           "the input's last column")


@register("CONV_2D", variant=VARIANT)
def lower_conv_2d_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    backend = require_backend(ctx)
    layer = analyse_conv(op, g, ACTIVATIONS)
    _check_16_bits(layer)
    if layer.is_16x8:
        return _conv_s16(op, layer, ctx)
    grouped = layer.groups > 1
    if grouped and backend.lib.revision < GROUPED_SIZES_FIXED and \
            (_is_1x1(layer) or _is_1xn(layer, layer.in_d)):
        raise Declined("this CMSIS-NN (before V.19) sizes the scratch buffer of a grouped "
                       "1x1/1xN convolution wrongly")
    if backend.arch == "mve" and not grouped and _mve_1xn_unsafe(layer):
        raise Declined(MVE_1XN)
    return _conv_call(op, layer, ctx, layer.filt.data, layer.filter_depth)


@register("DEPTHWISE_CONV_2D", variant=VARIANT)
def lower_depthwise_conv_2d_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    backend = require_backend(ctx)
    layer = analyse_depthwise_conv(op, g, ACTIVATIONS)
    _check_16_bits(layer)
    if layer.is_16x8:
        return _depthwise_s16(op, layer, ctx)
    if backend.arch == "mve" and layer.in_d == 1 and layer.out_d > 1:
        # On Helium, arm_depthwise_conv_wrapper_s8 runs a depthwise layer of one input
        # channel as a convolution, after transposing the filter into its scratch buffer on
        # every call (GCC builds; armclang from 9 outputs on).  tinygen makes that call
        # itself with the filter transposed here, [1, h, w, M] -> [M, h, w, 1]: the same
        # arithmetic, without the scratch copy.
        if _mve_1xn_unsafe(layer):
            raise Declined(MVE_1XN)
        filters = np.ascontiguousarray(np.transpose(layer.filt.data, (3, 1, 2, 0)))
        return _conv_call(op, layer, ctx, filters, 1, note=", as a convolution")
    kernel = "arm_depthwise_conv_wrapper_s8"
    params = dict(input_offset=layer.input_offset, output_offset=layer.output_offset,
                  ch_mult=layer.depth_multiplier, **_window_fields(layer))
    input_dims = (layer.batches, layer.in_h, layer.in_w, layer.in_d)
    # n = 1: CMSIS-NN reads the depthwise filter's batch as its input depth when it
    # transposes one into a convolution filter
    filter_dims = dims(1, layer.f_h, layer.f_w, layer.out_d)
    output_dims = (layer.batches, layer.win.out_h, layer.win.out_w, layer.out_d)
    size = backend.buffer_size(kernel, params, input_dims, tuple(filter_dims.values()),
                               output_dims)
    return _call(op, layer, kernel, ctx,
                 ConstStruct("dw_conv_params", "cmsis_nn_dw_conv_params", params),
                 layer.filt.data, filter_dims,
                 f"{layer.f_h}x{layer.f_w}x{layer.out_d} int8 depthwise filter (HWC)",
                 size, bias_needed=backend.arch == "mve")
