"""CONV_2D and DEPTHWISE_CONV_2D: what the layer means and its setup maths (TFLM's Prepare).

Mirrors TFLM's conv / depthwise Prepare (conv_common.cc, depthwise_conv_common.cc):
  * output size and padding as TFLite's ComputePaddingHeightWidth (codegen/ops/window.py);
  * one (multiplier, shift) per output channel as PopulateConvolutionQuantizationParams,
    in double: input_scale * filter_scale / output_scale; a per-tensor filter scale is
    broadcast to every channel, so kernels always index the tables by channel;
  * activation bounds as CalculateActivationRangeQuantized.
Every kernel variant (portable, CMSIS-NN, ...) lowers from a `ConvLayer`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import (accumulates_in_32_bits, activation_suffix,
                                conv_output_multipliers, fused_activation_bounds,
                                require_16x8_zero_points)
from codegen.ops.window import Window, folded_note, make_window


def conv_window(op: Op, g: Graph, in_h: int, in_w: int, f_h: int, f_w: int) -> Window:
    o = op.options
    return make_window(op, g, in_h, in_w, f_h, f_w,
                       int(o.get("stride_h", 1)), int(o.get("stride_w", 1)),
                       int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1)))


# --- checks and constants shared by both operators ---------------------------------------

def _tensors(op: Op, g: Graph, activations: tuple[str, ...]):
    ins = g.op_inputs(op)
    if len(ins) < 2:
        raise unsupported(op, g, "expected input, filter and optional bias")
    inp, filt = ins[0], ins[1]
    bias = ins[2] if len(ins) > 2 else None
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, activations, "input")
    require_dtype(op, g, filt, ("int8",), "filter")
    require_dtype(op, g, out, (inp.dtype,), "output")
    if not filt.is_const:
        raise unsupported(op, g, f"filter '{filt.name}' is not constant")
    for t, role in ((inp, "input"), (filt, "filter"), (out, "output")):
        if len(t.shape) != 4:
            raise unsupported(op, g, f"{role} '{t.name}' must be 4-D, got shape {list(t.shape)}")
        if t.num_elements == 0:
            raise unsupported(op, g, f"{role} '{t.name}' is empty (shape {list(t.shape)})")
    require_quant(op, g, inp, "input")
    require_quant(op, g, filt, "filter", per_tensor=False)
    require_quant(op, g, out, "output")
    if np.any(filt.quant.zero_point != 0):
        raise unsupported(op, g, "filter must be symmetrically quantized (zero point 0): "
                          "TFLM's int8 kernels ignore a filter zero point")
    if inp.dtype == "int16":
        require_16x8_zero_points(op, g, inp, out)
    if inp.shape[0] != out.shape[0]:
        raise unsupported(op, g, f"input batch {inp.shape[0]} differs from output batch "
                          f"{out.shape[0]}")
    return inp, filt, bias, out


def _check_filter_quant(op: Op, g: Graph, filt: Tensor, axis: int, channels: int) -> None:
    q = filt.quant
    if q.per_channel and (q.scale.size != channels or q.axis != axis):
        raise unsupported(op, g, f"filter '{filt.name}' has {q.scale.size} scales along axis "
                          f"{q.axis}; per-channel filters need one scale per output channel "
                          f"along axis {axis} ({channels})")


def _check_output_shape(op: Op, g: Graph, out: Tensor, win: Window, depth: int) -> None:
    want = (out.shape[0], win.out_h, win.out_w, depth)
    if tuple(out.shape) != want:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the "
                          f"{win.describe()} window, which gives {list(want)}")


def _quant_note(filt: Tensor) -> str:
    return "per-channel" if filt.quant.per_channel else "per-tensor"


# --- analysis shared by the portable and the library lowerings -------------------------

@dataclass
class ConvLayer:
    """A CONV_2D or DEPTHWISE_CONV_2D layer checked and analysed, independent of any kernel.

    For CONV_2D `filter_depth` is the filter's input depth (input depth / groups); for
    DEPTHWISE_CONV_2D `depth_multiplier` says how many outputs each input channel feeds.
    """

    op: Op
    inp: Tensor
    filt: Tensor
    bias: Tensor | None
    out: Tensor
    win: Window
    batches: int
    in_h: int
    in_w: int
    in_d: int
    f_h: int
    f_w: int
    out_d: int
    filter_depth: int = 1
    groups: int = 1
    depth_multiplier: int = 1
    multiplier: np.ndarray | None = None    # int32[out_d], one per output channel
    shift: np.ndarray | None = None
    act_min: int = -128
    act_max: int = 127
    activation: str = "NONE"

    @property
    def is_16x8(self) -> bool:
        """int16 activations with int8 filters (TFLite's 16x8 quantization)."""
        return self.inp.dtype == "int16"

    @property
    def accumulate32(self) -> bool:
        """16x8: whether TFLM sums in 32 bits (an int32 bias) rather than 64 (tg_s16.h)."""
        return accumulates_in_32_bits(self.op, self.bias) and not self.depthwise

    @property
    def depthwise(self) -> bool:
        return self.op.opcode == "DEPTHWISE_CONV_2D"

    @property
    def input_offset(self) -> int:
        return -self.inp.quant.scalar_zero_point

    @property
    def output_offset(self) -> int:
        return self.out.quant.scalar_zero_point

    @property
    def macs(self) -> int:
        taps = self.f_h * self.f_w * (1 if self.depthwise else self.filter_depth)
        return self.batches * self.win.out_h * self.win.out_w * self.out_d * taps

    def comment(self, suffix: str = "") -> str:
        if self.depthwise:
            extra = f", depth multiplier {self.depth_multiplier}" \
                if self.depth_multiplier > 1 else ""
        else:
            extra = f", {self.groups} groups" if self.groups > 1 else ""
        extra += folded_note(self.op)
        return (f"{self.op.opcode} {self.inp.shape_str()} * filter {self.filt.shape_str()} "
                f"({_quant_note(self.filt)}, {self.win.describe()}{extra}) -> "
                f"{self.out.shape_str()}{activation_suffix(self.activation)}{suffix}")


def _analyse_quant(op: Op, g: Graph, layer: ConvLayer) -> ConvLayer:
    layer.multiplier, layer.shift = conv_output_multipliers(layer.inp, layer.filt, layer.out,
                                                            layer.out_d)
    layer.act_min, layer.act_max, layer.activation = fused_activation_bounds(op, g, layer.out)
    if layer.bias is None and layer.is_16x8 and layer.depthwise:
        # TFLM's int16 depthwise kernel crashes without one (a segmentation fault in its
        # Prepare, in the tflite_micro package) and LiteRT's refuses it: no reference runs it
        raise unsupported(op, g, "a 16x8 depthwise convolution needs a bias (TFLM's kernel "
                          "crashes without one and LiteRT's refuses it, so no reference can "
                          "check it; the converter always writes one): add an int64 bias of "
                          "zeros")
    if layer.bias is not None:
        kinds = ("int32",)
        if layer.is_16x8:   # TFLM's 16x8 depthwise kernel reads its bias as int64 only
            kinds = ("int64",) if layer.depthwise else ("int32", "int64")
        require_dtype(op, g, layer.bias, kinds, "bias")
        if not layer.bias.is_const or layer.bias.num_elements != layer.out_d:
            raise unsupported(op, g, f"bias '{layer.bias.name}' must be a constant of "
                              f"{layer.out_d} {layer.bias.dtype} values")
    return layer


def analyse_conv(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> ConvLayer:
    """Check a CONV_2D layer (raising a clear error) and compute its window and requantization.

    `activations`: the input/output types the calling kernel takes (int8; int16 for 16x8).
    """
    inp, filt, bias, out = _tensors(op, g, activations)
    batches, in_h, in_w, in_d = inp.shape
    out_d, f_h, f_w, f_d = filt.shape
    if in_d % f_d:
        raise unsupported(op, g, f"input depth {in_d} is not a multiple of the filter depth "
                          f"{f_d}")
    groups = in_d // f_d
    if out_d % groups:
        raise unsupported(op, g, f"grouped convolution: {out_d} filters cannot be split "
                          f"evenly over {groups} groups of {f_d} input channels")
    _check_filter_quant(op, g, filt, 0, out_d)
    win = conv_window(op, g, in_h, in_w, f_h, f_w)
    _check_output_shape(op, g, out, win, out_d)
    return _analyse_quant(op, g, ConvLayer(
        op=op, inp=inp, filt=filt, bias=bias, out=out, win=win, batches=batches, in_h=in_h,
        in_w=in_w, in_d=in_d, f_h=f_h, f_w=f_w, out_d=out_d, filter_depth=f_d, groups=groups))


def analyse_depthwise_conv(op: Op, g: Graph,
                           activations: tuple[str, ...] = ("int8",)) -> ConvLayer:
    """Check a DEPTHWISE_CONV_2D layer and compute its window and requantization."""
    inp, filt, bias, out = _tensors(op, g, activations)
    batches, in_h, in_w, in_d = inp.shape
    one, f_h, f_w, out_d = filt.shape
    if one != 1:
        raise unsupported(op, g, f"filter shape {list(filt.shape)}: expected [1, height, "
                          "width, channels]")
    mult = int(op.options.get("depth_multiplier", 1))
    if mult < 1 or out_d != in_d * mult:
        raise unsupported(op, g, f"depth_multiplier {mult} with input depth {in_d} does not "
                          f"give the filter's {out_d} output channels")
    _check_filter_quant(op, g, filt, 3, out_d)
    win = conv_window(op, g, in_h, in_w, f_h, f_w)
    _check_output_shape(op, g, out, win, out_d)
    return _analyse_quant(op, g, ConvLayer(
        op=op, inp=inp, filt=filt, bias=bias, out=out, win=win, batches=batches, in_h=in_h,
        in_w=in_w, in_d=in_d, f_h=f_h, f_w=f_w, out_d=out_d, depth_multiplier=mult))
