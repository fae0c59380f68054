"""AVERAGE_POOL_2D and MAX_POOL_2D, int8 NHWC: what the layer means and its setup maths.

TFLM requires the input and output of an int8 pooling layer to share scale and zero
point, so kernels never rescale: the average is the rounded mean of the raw int8 values
and the maximum is the largest raw value.  The window (output size, SAME/VALID padding)
is TFLite's ComputePaddingHeightWidth (codegen/ops/window.py); every window must overlap
the input (TFLM's AveragePool fails on an empty window).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.common import activation_suffix, fused_activation_bounds
from codegen.ops.window import Window, folded_note, make_window

# TFLM's PoolingPrepare accepts input and output scales this close (float32 difference).
SCALE_TOLERANCE = 1.0e-6


def pool_window(op: Op, g: Graph, in_h: int, in_w: int) -> Window:
    o = op.options
    win = make_window(op, g, in_h, in_w, int(o.get("filter_height", 0)),
                      int(o.get("filter_width", 0)), int(o.get("stride_h", 0)),
                      int(o.get("stride_w", 0)))
    if win.out_h <= 0 or win.out_w <= 0:
        raise unsupported(op, g, f"a {win.filter_h}x{win.filter_w} VALID window does not fit "
                          f"in the {in_h}x{in_w} input (output would be "
                          f"{win.out_h}x{win.out_w})")
    return win


@dataclass
class PoolLayer:
    """An int8 pooling layer checked and analysed: geometry and activation, kernel-neutral."""

    op: Op
    inp: Tensor
    out: Tensor
    batches: int
    in_h: int
    in_w: int
    depth: int
    win: Window
    act_min: int
    act_max: int
    activation: str

    def comment(self, suffix: str = "") -> str:
        w = self.win
        return (f"{self.op.opcode} {self.inp.shape_str()} -> {self.out.shape_str()}, "
                f"{w.filter_h}x{w.filter_w} window, stride {w.stride_h}x{w.stride_w}, "
                f"{w.padding_name}{folded_note(self.op)}{activation_suffix(self.activation)}"
                f"{suffix}")


def analyse_pool(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> PoolLayer:
    """Check an AVERAGE_POOL_2D / MAX_POOL_2D layer (raising a clear error); its geometry.

    `activations`: the types the calling kernel takes (int8; int16 for 16x8 models)."""
    inp = g.op_inputs(op)[0]
    out = g.op_outputs(op)[0]
    require_dtype(op, g, inp, activations, "input")
    require_dtype(op, g, out, (inp.dtype,), "output")
    in_q = require_quant(op, g, inp, "input")
    out_q = require_quant(op, g, out, "output")
    if len(inp.shape) != 4:
        raise unsupported(op, g, f"input must be 4-D NHWC, got shape {list(inp.shape)}")
    in_s, out_s = np.float32(in_q.scalar_scale), np.float32(out_q.scalar_scale)
    if float(abs(in_s - out_s)) > SCALE_TOLERANCE or \
            in_q.scalar_zero_point != out_q.scalar_zero_point:
        raise unsupported(op, g, f"{inp.dtype} pooling needs the output quantization equal to the "
                          f"input's (TFLM requires it): input scale {float(in_s):.9g} zero point "
                          f"{in_q.scalar_zero_point}, output scale {float(out_s):.9g} zero point "
                          f"{out_q.scalar_zero_point}")
    batches, in_h, in_w, depth = inp.shape
    win = pool_window(op, g, in_h, in_w)
    want = (batches, win.out_h, win.out_w, depth)
    if tuple(out.shape) != want:
        raise unsupported(op, g, f"output shape {list(out.shape)} does not match the "
                          f"{win.padding_name} pooling result {list(want)}")
    if not win.always_overlaps_input(in_h, in_w):
        raise unsupported(op, g, "some pooling window lies entirely in the padding")
    act_min, act_max, act = fused_activation_bounds(op, g, out)
    return PoolLayer(op=op, inp=inp, out=out, batches=batches, in_h=in_h, in_w=in_w,
                     depth=depth, win=win, act_min=act_min, act_max=act_max, activation=act)
