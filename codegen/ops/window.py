"""Sliding-window geometry: output size and padding of convolutions and pooling (one copy).

TFLite's padding.h: for SAME padding the output has ceil(input / stride) positions, for
VALID (input + stride - effective filter) / stride in C++ integer division; the total
implicit padding is what makes the last window reach the end of the input, and the
leading padding is half of it (an odd total puts the extra zero after the image, where a
kernel's bounds take care of it).  CONV_2D, DEPTHWISE_CONV_2D, AVERAGE_POOL_2D and
MAX_POOL_2D all use these functions.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen.graph import Graph, Op
from codegen.ops.checks import unsupported

PADDING_SAME, PADDING_VALID = 0, 1
PADDING_NAMES = {PADDING_SAME: "SAME", PADDING_VALID: "VALID"}


def c_div(a: int, b: int) -> int:
    """C++ integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def effective_filter_size(filter_size: int, dilation: int) -> int:
    return (filter_size - 1) * dilation + 1


def compute_out_size(padding: int, image_size: int, filter_size: int, stride: int,
                     dilation: int = 1) -> int:
    """Output positions along one axis (ComputeOutSize); may be <= 0 for a VALID window
    larger than the image, which callers reject."""
    if padding == PADDING_SAME:
        return c_div(image_size + stride - 1, stride)
    return c_div(image_size + stride - effective_filter_size(filter_size, dilation), stride)


def compute_padding(stride: int, dilation: int, in_size: int, filter_size: int,
                    out_size: int) -> int:
    """Implicit zeros before the first input position (ComputePaddingWithOffset)."""
    eff = effective_filter_size(filter_size, dilation)
    total = max((out_size - 1) * stride + eff - in_size, 0)
    return total // 2


@dataclass
class Window:
    """Stride, dilation, padding and output size of a 2-D window over an image."""

    padding: int
    filter_h: int
    filter_w: int
    stride_h: int
    stride_w: int
    dilation_h: int
    dilation_w: int
    out_h: int
    out_w: int
    pad_top: int
    pad_left: int

    @property
    def padding_name(self) -> str:
        return PADDING_NAMES[self.padding]

    def params(self) -> dict:
        return dict(stride_height=self.stride_h, stride_width=self.stride_w,
                    dilation_height=self.dilation_h, dilation_width=self.dilation_w,
                    pad_top=self.pad_top, pad_left=self.pad_left)

    def describe(self) -> str:
        s = self.padding_name
        if (self.stride_h, self.stride_w) != (1, 1):
            s += f", stride {self.stride_h}x{self.stride_w}"
        if (self.dilation_h, self.dilation_w) != (1, 1):
            s += f", dilation {self.dilation_h}x{self.dilation_w}"
        return s

    def always_overlaps_input(self, in_h: int, in_w: int) -> bool:
        """True when every window position covers at least one input element."""
        def axis(in_size, f, stride, dil, pad, out):
            for o in range(out):
                origin = o * stride - pad
                if not any(0 <= origin + k * dil < in_size for k in range(f)):
                    return False
            return True
        return (axis(in_h, self.filter_h, self.stride_h, self.dilation_h, self.pad_top,
                     self.out_h) and
                axis(in_w, self.filter_w, self.stride_w, self.dilation_w, self.pad_left,
                     self.out_w))


def folded_note(op: Op) -> str:
    """', PAD #n folded: padding t,b,l,r' for a layer with a PAD folded into it, else ''."""
    fold = op.options.get("folded_pad")
    if not fold:
        return ""
    return (f", {fold['opcode']} #{fold['op']} folded: padding "
            f"{fold['top']},{fold['bottom']},{fold['left']},{fold['right']}")


def make_window(op: Op, g: Graph, in_h: int, in_w: int, filter_h: int, filter_w: int,
                stride_h: int, stride_w: int, dilation_h: int = 1,
                dilation_w: int = 1) -> Window:
    """The window of `op` over an in_h x in_w image, checked (clear errors), padding from
    the operator's `padding` option; with a PAD folded into the operator
    (`op.options["folded_pad"]`, passes/fold_pad.py) the window over the padded image, its
    leading padding grown by the PAD's."""
    fold = op.options.get("folded_pad") or dict(top=0, bottom=0, left=0, right=0)
    in_h += fold["top"] + fold["bottom"]
    in_w += fold["left"] + fold["right"]
    padding = int(op.options.get("padding", PADDING_SAME))
    if padding not in PADDING_NAMES:
        raise unsupported(op, g, f"padding type {padding} is not supported "
                          "(supported: SAME, VALID)")
    if min(stride_h, stride_w) < 1:
        raise unsupported(op, g, f"stride {stride_h}x{stride_w} must be at least 1")
    if min(dilation_h, dilation_w) < 1:
        raise unsupported(op, g, f"dilation {dilation_h}x{dilation_w} must be at least 1")
    if min(filter_h, filter_w) < 1:
        raise unsupported(op, g, f"filter size {filter_h}x{filter_w} must be at least 1")
    out_h = compute_out_size(padding, in_h, filter_h, stride_h, dilation_h)
    out_w = compute_out_size(padding, in_w, filter_w, stride_w, dilation_w)
    return Window(padding=padding, filter_h=filter_h, filter_w=filter_w,
                  stride_h=stride_h, stride_w=stride_w,
                  dilation_h=dilation_h, dilation_w=dilation_w, out_h=out_h, out_w=out_w,
                  pad_top=compute_padding(stride_h, dilation_h, in_h, filter_h, max(out_h, 1))
                  + fold["top"],
                  pad_left=compute_padding(stride_w, dilation_w, in_w, filter_w, max(out_w, 1))
                  + fold["left"])
