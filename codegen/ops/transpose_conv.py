"""TRANSPOSE_CONV, int8: the transpose (gradient) of a 2-D convolution (Keras Conv2DTranspose).

Inputs, as TFLite orders them: output_shape (int32[4], constant: TFLM ignores it and uses
the output tensor's shape; tinygen checks the two agree), filter ([out_d, f_h, f_w, in_d],
int8, per-channel or per-tensor, zero point 0), input (NHWC int8), bias (optional, int32
[out_d]).  Options: padding, stride_h, stride_w, fused_activation_function.

TFLM's Prepare:
  * padding as ComputePaddingHeightWidth with the OUTPUT as the image (dilation 1):
      n = ComputeOutSize(padding, out, f, stride); pad = max((n - 1) * stride + f - out, 0) / 2
  * per-channel (multiplier, shift) as PopulateConvolutionQuantizationParams, in double
    (the same as CONV_2D: ops/common.conv_output_multipliers);
  * activation bounds from the fused activation (the pinned TFLM applies it to int8 layers).
Per output element (reference_integer_ops::TransposeConv, which scatters every input
element into an int32 buffer of the output's size):
  acc = sum over input (iy, ix) and tap (fy, fx) with iy * stride_h - pad_h + fy == oy and
        ix * stride_w - pad_w + fx == ox, and every input channel ic, of
        (input + input_offset) * filter[oc][fy][fx][ic]
  out = clamp(MBQM(acc + bias[oc], multiplier[oc], shift[oc]) + out_zp, act_min, act_max)
The sum is exact in int32 (`max_abs_sum` is checked at generation time), so a kernel may
gather each output's terms in any order: it needs no int32 buffer of the output's size.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import activation_suffix, conv_output_multipliers, fused_activation_bounds
from codegen.ops.window import PADDING_NAMES, PADDING_SAME, compute_out_size

INT32_MAX = (1 << 31) - 1


def transpose_conv_padding(padding: int, out_size: int, filter_size: int, stride: int) -> int:
    """Leading padding along one axis, as TFLM's Prepare computes it (the output as image)."""
    n = compute_out_size(padding, out_size, filter_size, stride)
    return max((n - 1) * stride + filter_size - out_size, 0) // 2


@dataclass
class TransposeConvLayer:
    op: Op
    inp: Tensor
    filt: Tensor
    bias: Tensor | None
    out: Tensor
    padding: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    multiplier: np.ndarray       # int32[out_d]
    shift: np.ndarray            # int32[out_d]
    act_min: int
    act_max: int
    activation: str

    @property
    def input_offset(self) -> int:
        return -self.inp.quant.scalar_zero_point

    @property
    def output_offset(self) -> int:
        return self.out.quant.scalar_zero_point

    @property
    def macs(self) -> int:
        b, in_h, in_w, in_d = self.inp.shape
        out_d, f_h, f_w, _ = self.filt.shape
        return b * in_h * in_w * in_d * f_h * f_w * out_d

    def comment(self) -> str:
        stride = f", stride {self.stride_h}x{self.stride_w}" \
            if (self.stride_h, self.stride_w) != (1, 1) else ""
        q = "per-channel" if self.filt.quant.per_channel else "per-tensor"
        return (f"TRANSPOSE_CONV {self.inp.shape_str()} * filter {self.filt.shape_str()} ({q}, "
                f"{PADDING_NAMES[self.padding]}{stride}) -> {self.out.shape_str()}"
                f"{activation_suffix(self.activation)}")


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def analyse_transpose_conv(op: Op, g: Graph) -> TransposeConvLayer:
    """Check an int8 TRANSPOSE_CONV (clear errors) and compute TFLM's Prepare numbers."""
    ins = g.op_inputs(op)
    out_shape, filt, inp = ins[0], ins[1], ins[2]
    bias = ins[3] if len(ins) > 3 else None
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, ("int8",), "input")
    require_dtype(op, g, filt, ("int8",), "filter (int16 activations are not supported)")
    require_dtype(op, g, out, ("int8",), "output")
    for t, role in ((inp, "input"), (filt, "filter"), (out, "output")):
        if len(t.shape) != 4:
            raise unsupported(op, g, f"{role} '{t.name}' must be 4-D, got shape {list(t.shape)}")
        if t.num_elements == 0:
            raise unsupported(op, g, f"{role} '{t.name}' is empty (shape {list(t.shape)})")
    require_quant(op, g, inp, "input")
    require_quant(op, g, filt, "filter", per_tensor=False)
    require_quant(op, g, out, "output")
    require_dtype(op, g, out_shape, ("int32",), "output_shape")
    if not out_shape.is_const:
        raise unsupported(op, g, "output_shape is computed at run time (a dynamic shape); "
                          "supported: a constant output_shape, as TFLM")
    if [int(v) for v in np.asarray(out_shape.data).reshape(-1)] != list(out.shape):
        raise unsupported(op, g, f"output_shape {np.asarray(out_shape.data).tolist()} differs "
                          f"from the output tensor's shape {list(out.shape)}")
    batches, in_h, in_w, in_d = inp.shape
    out_d, f_h, f_w, f_d = filt.shape
    if f_d != in_d:
        raise unsupported(op, g, f"filter depth {f_d} differs from the input depth {in_d}")
    if out.shape[0] != batches or out.shape[3] != out_d:
        raise unsupported(op, g, f"output shape {list(out.shape)} must have the input's batch "
                          f"{batches} and the filter's {out_d} output channels")
    q = filt.quant
    if np.any(q.zero_point != 0):
        raise unsupported(op, g, "filter must be symmetrically quantized (zero point 0): "
                          "TFLM's int8 kernel ignores a filter zero point")
    if q.per_channel and (q.scale.size != out_d or q.axis != 0):
        raise unsupported(op, g, f"filter '{filt.name}' has {q.scale.size} scales along axis "
                          f"{q.axis}; per-channel filters need one scale per output channel "
                          f"along axis 0 ({out_d})")
    if bias is not None:
        require_dtype(op, g, bias, ("int32",), "bias")
        if not bias.is_const or bias.num_elements != out_d:
            raise unsupported(op, g, f"bias '{bias.name}' must be a constant of {out_d} int32 "
                              "values")
    o = op.options
    padding = int(o.get("padding", PADDING_SAME))
    if padding not in PADDING_NAMES:
        raise unsupported(op, g, f"padding type {padding} is not supported (supported: SAME, "
                          "VALID)")
    stride_h, stride_w = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    if min(stride_h, stride_w) < 1:
        raise unsupported(op, g, f"stride {stride_h}x{stride_w} must be at least 1")
    # every output element sums at most this many products of |input + offset| <= 255 and
    # |filter| <= 128: the int32 accumulator of the reference must not overflow
    terms = _ceil_div(f_h, stride_h) * _ceil_div(f_w, stride_w) * in_d
    bias_max = int(np.abs(bias.data.astype(np.int64)).max()) if bias is not None else 0
    if terms * 255 * 128 + bias_max > INT32_MAX:
        raise unsupported(op, g, f"up to {terms} products per output element could overflow "
                          "the 32-bit accumulator")
    _, out_h, out_w, _ = out.shape
    mult, shift = conv_output_multipliers(inp, filt, out, out_d)
    act_min, act_max, act = fused_activation_bounds(op, g, out)
    return TransposeConvLayer(
        op=op, inp=inp, filt=filt, bias=bias, out=out, padding=padding, stride_h=stride_h,
        stride_w=stride_w, pad_top=transpose_conv_padding(padding, out_h, f_h, stride_h),
        pad_left=transpose_conv_padding(padding, out_w, f_w, stride_w), multiplier=mult,
        shift=shift, act_min=act_min, act_max=act_max, activation=act)
