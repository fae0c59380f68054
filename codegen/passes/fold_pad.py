"""Fold a PAD into the convolution (or max pooling) that reads it: that layer pads instead.

A PAD (or PADV2) whose value is its input's zero point, padding height and width only,
whose result only one CONV_2D or DEPTHWISE_CONV_2D reads (as its input), disappears: the
convolution reads the PAD's input with its padding grown by the PAD's (`pad_top` and
`pad_left` grow; the output size is the one over the padded input).  This is exact: a
padded tap holds the zero point z, and contributes (z + input_offset) * w = (z - z) * w = 0
to the accumulator, which is what every convolution kernel does with a tap outside the
image (skipped, or filled with the zero point).  The layer's output, requantization and
activation are unchanged, for any stride and dilation.  The materialised padded tensor
(often the largest buffer of an early stage) is never written.

The layer records it in `op.options["folded_pad"]` (`ops/window.py` `make_window` reads
it; the layer table and tinygen.json list the folded PAD).

Kept (the PAD runs as before) when the kernels could not all take the resulting window.
tinygen's portable and dsp kernels compute the range of taps inside the image per output
position (any padding), but CMSIS-NN's are narrower, so a fold is done only when, along
each axis:
  * every window position covers at least one input element (a padding larger than the
    filter would leave windows wholly in the padding, which some kernels' pointer maths
    and CMSIS-NN's 1x1 path, which takes no padding at all, do not expect);
  * width, 3-wide undilated filter with at most 1 column of leading padding: at most 1 of
    trailing padding (arm_depthwise_conv_3x3_s8 reads the middle column of every window
    unchecked);
  * width, one-row input and a one-row filter (a 1xN convolution): the trailing padding is
    the leading padding or one more (Helium's arm_convolve_1_x_n_s8 derives the right
    padding from the left one and fails otherwise), or no padding at all.

MAX_POOL_2D folds a PAD whose value is -128, the smallest int8: max(-128, v) = v for every
v, and every window keeps an input element (checked as above), so skipping the padded taps,
as the pooling kernels do, gives the same maximum.  A PAD with any other value (the zero
point, say) can raise the maximum of a window whose real values are all below it: kept.
AVERAGE_POOL_2D is never folded: it divides by the number of taps inside the image (TFLM's
reference counts only those), so taps that the PAD made real would change the divisor.
"""
from __future__ import annotations

import dataclasses

from codegen.errors import TinygenError
from codegen.graph import Graph, Op
from codegen.ops.movement import analyse_pad, quant_pair
from codegen.ops.window import (PADDING_NAMES, PADDING_SAME, compute_out_size, compute_padding,
                                effective_filter_size)

CONVOLUTIONS = ("CONV_2D", "DEPTHWISE_CONV_2D")
FOLDS_INTO = CONVOLUTIONS + ("MAX_POOL_2D",)
INT8_MIN = -128


@dataclasses.dataclass(frozen=True)
class AxisWindow:
    """A window along one axis over the unpadded input: output positions, padding before
    the first input element and after the last (negative: input left unread)."""

    out: int
    before: int
    after: int


def folded_axis(size: int, before: int, after: int, filt: int, stride: int, dilation: int,
                padding: int = PADDING_SAME) -> AxisWindow:
    """The window of a layer (`padding` SAME or VALID) over an input of `size` padded by
    `before`/`after`, as a window over the unpadded input."""
    padded = size + before + after
    out = compute_out_size(padding, padded, filt, stride, dilation)
    lead = compute_padding(stride, dilation, padded, filt, max(out, 1)) + before
    total = (out - 1) * stride + effective_filter_size(filt, dilation) - size
    return AxisWindow(out, lead, total - lead)


def axis_refusal(size: int, win: AxisWindow, filt: int, stride: int, dilation: int,
                 width: bool = False, one_row: bool = False, conv: bool = True) -> str | None:
    """Why the kernels could not all run `win` along this axis, or None (`conv`: a
    convolution's, with CMSIS-NN's limits; else a pooling window's)."""
    if win.out < 1:
        return "the output would be empty"
    for o in range(win.out):
        origin = o * stride - win.before
        if not any(0 <= origin + k * dilation < size for k in range(filt)):
            return (f"output position {o} would cover only padding (padding "
                    f"{win.before}+{win.after} around {size} with a filter of {filt})")
    if not conv:
        return None
    if width and filt == 3 and dilation == 1 and win.before <= 1 and win.after > 1:
        return ("CMSIS-NN's 3x3 depthwise kernel takes at most 1 column of trailing "
                f"padding, the fold would give {win.after}")
    if width and one_row:
        total = win.before + win.after
        if not (win.before == 0 and win.after <= 0) and \
                not (total >= 0 and win.after in (win.before, win.before + 1)):
            return (f"CMSIS-NN's 1xN convolution takes only symmetric padding (or one more "
                    f"at the end), the fold would give {win.before}+{win.after}")
    return None


@dataclasses.dataclass(frozen=True)
class FoldDecision:
    pad: int                      # the PAD's operator index
    into: int                     # the convolution's operator index, -1 when none
    pads: tuple = (0, 0, 0, 0)    # top, bottom, left, right
    reason: str = ""              # why it stays (empty: folded)
    value: int = 0                # the pad value


def _decide(g: Graph, pad_op: Op, consumers: dict[int, list[Op]]) -> FoldDecision:
    def keep(why: str, into: int = -1) -> FoldDecision:
        return FoldDecision(pad_op.index, into, reason=why)
    try:
        pad = analyse_pad(pad_op, g)
    except TinygenError as e:       # its lowering reports the problem
        return keep(f"not analysable: {e}")
    inp, out = pad.inp, pad.out
    if inp.dtype != "int8" or len(inp.shape) != 4:
        return keep("only 4-D int8 tensors")
    if pad.left[0] or pad.right[0] or pad.left[3] or pad.right[3]:
        return keep("it pads the batch or channel dimension")
    if inp.quant is None or out.quant is None or inp.quant.per_channel or \
            out.quant.per_channel or quant_pair(inp) != quant_pair(out):
        return keep("its input and output are quantized differently")
    if out.index in g.outputs or out.index in g.inputs:
        return keep("its result is a model output")
    users = consumers.get(out.index, [])
    if len(users) != 1 or users[0].opcode not in FOLDS_INTO:
        return keep("its result is not read by one convolution or max pooling only")
    conv = users[0]
    is_conv = conv.opcode in CONVOLUTIONS
    zp = quant_pair(inp)[1]
    value = int(pad.value) if any(pad.pads) else (zp if is_conv else INT8_MIN)
    if is_conv and value != zp:
        return keep(f"its pad value {value} is not the input zero point {zp}", conv.index)
    if not is_conv and value != INT8_MIN:
        return keep(f"its pad value {value} is not -128 (a maximum could take it)",
                    conv.index)
    if conv.inputs[0] != out.index or out.index in conv.inputs[1:]:
        return keep("the layer reads it as other than its input", conv.index)
    if "folded_pad" in conv.options:
        return keep("the layer already folds a PAD", conv.index)
    o = conv.options
    if is_conv:
        filt = g.tensors[conv.inputs[1]] if len(conv.inputs) > 1 and conv.inputs[1] >= 0 \
            else None
        if filt is None or len(filt.shape) != 4:
            return keep("the convolution's filter is not 4-D", conv.index)
        f_h, f_w = int(filt.shape[1]), int(filt.shape[2])
        d_h, d_w = int(o.get("dilation_h_factor", 1)), int(o.get("dilation_w_factor", 1))
    else:
        f_h, f_w = int(o.get("filter_height", 0)), int(o.get("filter_width", 0))
        d_h = d_w = 1
    padding = int(o.get("padding", PADDING_SAME))
    if padding not in PADDING_NAMES:
        return keep("the layer's padding type is unknown", conv.index)
    s_h, s_w = int(o.get("stride_h", 1)), int(o.get("stride_w", 1))
    if min(f_h, f_w, s_h, s_w, d_h, d_w) < 1:
        return keep("the layer's window is malformed", conv.index)
    _, in_h, in_w, _ = inp.shape
    top, bottom, left, right = pad.left[1], pad.right[1], pad.left[2], pad.right[2]
    one_row = in_h == 1 and f_h == 1
    for size, b, a, f, s, d, width in ((in_h, top, bottom, f_h, s_h, d_h, False),
                                       (in_w, left, right, f_w, s_w, d_w, True)):
        why = axis_refusal(size, folded_axis(size, b, a, f, s, d, padding), f, s, d,
                           width=width, one_row=one_row, conv=is_conv)
        if why:
            return keep(why, conv.index)
    return FoldDecision(pad_op.index, conv.index, (top, bottom, left, right), value=value)


def plan_pad_folds(g: Graph) -> list[FoldDecision]:
    """For each PAD/PADV2 of `g`: folded into which layer, or why not."""
    consumers = g.consumers()
    return [_decide(g, op, consumers) for op in g.ops if op.opcode in ("PAD", "PADV2")]


def fold_pads(graph: Graph) -> Graph:
    """`graph` with every foldable PAD folded into the layer reading it (a new Graph; the
    input graph and its operators are not modified)."""
    folds = {d.into: d for d in plan_pad_folds(graph) if not d.reason}
    if not folds:
        return graph
    dropped = {d.pad for d in folds.values()}
    by_index = {op.index: op for op in graph.ops}
    ops = []
    for op in graph.ops:
        if op.index in dropped:
            continue
        d = folds.get(op.index)
        if d is not None:
            pad_op = by_index[d.pad]
            top, bottom, left, right = d.pads
            op = dataclasses.replace(
                op, inputs=[pad_op.inputs[0], *op.inputs[1:]],
                options=dict(op.options, folded_pad=dict(
                    op=pad_op.index, opcode=pad_op.opcode, top=top, bottom=bottom,
                    left=left, right=right, value=d.value)))
        ops.append(op)
    return dataclasses.replace(graph, ops=ops)
