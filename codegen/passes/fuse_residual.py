"""Find basic residual blocks to run fused, row by row: ADD(x, CONV(CONV(x))).

Layer by layer, a residual block x -> a = CONV(x) -> b = CONV(a) -> ADD(x, b) keeps x, a and
b live at once (three tensors of the block's size).  Fused (MCUNetV2-style row
pipelining: runtime_c/tg_resblock_rows.h), a is kept as a window of the second
convolution's filter-height rows, b as one row, and the output rows are written over x's
once no later step reads them: the block needs x, a few rows and the convolutions' scratch.

A block is fused when (`find_residual_blocks`):
  * the ADD reads x and b = CONV_2D(a), a = CONV_2D(x), each tensor with one producer;
  * x is read by the first convolution and the ADD only, a by the second convolution only,
    b by the ADD only; a and b are not model outputs;
  * x, a, b and the output are int8, one image (batch 1), x, b and the output of one shape
    (no broadcasting);
  * both convolutions have stride 1, dilation 1 and an output as large as their input
    (SAME padding), and the second's padding below (filter height - 1 - padding above) is
    at least the first's padding above: then every row of x the pipeline still reads after
    writing output row y lies below y (tg_resblock_rows.h), and the output is written
    over x.
A downsampling block (ResNet's projection shortcut) is fused too: the ADD reads
s = CONV_2D 1x1(x) instead of x, with the first convolution's stride (any; not dilated),
s read by the ADD only, x by the first convolution and the shortcut only; the second
convolution as above.  Its output is smaller than x and is not written over it; the block
needs x, the output and a few rows instead of x, a, s and b.
Which kernels run it is decided after kernel selection (codegen/lowering/resblock.py):
when one of the three layers gets a kernel that cannot compute rows, the block stays three
layers, and the first one's table row says why.

This module only finds blocks (pure: a Graph in, decisions out); the graph is not changed,
so the reference and every other reader still see the model's operators.
"""
from __future__ import annotations

import dataclasses

from codegen.errors import TinygenError
from codegen.graph import Graph, Op
from codegen.ops.conv import analyse_conv
from codegen.ops.elementwise import analyse_binary

FUSED_OPCODE = "CONV+CONV+ADD"


@dataclasses.dataclass(frozen=True)
class ResidualBlock:
    conv1: Op
    conv2: Op
    add: Op
    x: int          # the block's input (tensor index)
    out: int        # the ADD's output
    shortcut: Op | None = None    # a downsampling block's 1x1 convolution of x

    @property
    def ops(self) -> tuple[Op, ...]:
        """Its layers: conv1, conv2, (shortcut,) add."""
        return (self.conv1, self.conv2) + ((self.shortcut,) if self.shortcut else ()) + \
            (self.add,)


@dataclasses.dataclass(frozen=True)
class BlockRefusal:
    layer: int      # the first convolution's layer number
    reason: str


def _candidate(add: Op, producers: dict[int, Op]) -> tuple[Op, Op, int, Op | None] | None:
    """(conv1, conv2, x, shortcut) when `add` reads CONV_2D(CONV_2D(x)) and x (shortcut
    None) or CONV_2D(x) (the shortcut), else None."""
    if add.opcode != "ADD" or len(add.inputs) != 2 or len(add.outputs) != 1:
        return None
    for other, b in (add.inputs, add.inputs[::-1]):
        conv2 = producers.get(b)
        if conv2 is None or conv2.opcode != "CONV_2D":
            continue
        conv1 = producers.get(conv2.inputs[0])
        if conv1 is None or conv1.opcode != "CONV_2D":
            continue
        x = conv1.inputs[0]
        if other == x:
            return conv1, conv2, x, None
        short = producers.get(other)
        if short is not None and short.opcode == "CONV_2D" and short.inputs[0] == x:
            return conv1, conv2, x, short
    return None


def _why_not(g: Graph, conv1: Op, conv2: Op, add: Op, x: int, short: Op | None,
             consumers: dict[int, list[Op]]) -> str | None:
    a, b, out = conv1.outputs[0], conv2.outputs[0], add.outputs[0]
    convs = (conv1, conv2) + ((short,) if short else ())
    if any(len(c.outputs) != 1 for c in convs):
        return "a convolution has more than one output"
    x_readers = (conv1.index, short.index if short else add.index)
    if sorted(op.index for op in consumers.get(x, [])) != sorted(x_readers):
        return "the block's input is read by other layers too"
    inner = [(a, conv2), (b, add)] + ([(short.outputs[0], add)] if short else [])
    if any([op.index for op in consumers.get(t, [])] != [user.index] for t, user in inner):
        return "an intermediate is read by other layers too"
    if any(t in g.outputs for t, _ in inner):
        return "an intermediate is a model output"
    if any(g.tensors[t].dtype != "int8" for t in (x, out, *(t for t, _ in inner))):
        return "not all int8"
    shape = g.tensors[x].shape
    if len(shape) != 4 or shape[0] != 1:
        return "only one 4-D image (batch 1)"
    oshape = g.tensors[out].shape
    if g.tensors[b].shape != oshape or (short is None and oshape != shape) or \
            (short is not None and g.tensors[short.outputs[0]].shape != oshape):
        return "the ADD broadcasts (its inputs and output differ in shape)"
    try:
        c1, c2 = analyse_conv(conv1, g), analyse_conv(conv2, g)
        cs = analyse_conv(short, g) if short else None
        analyse_binary(add, g)
    except TinygenError as e:           # the layers' own lowering reports it
        return f"not analysable: {e}"
    for c in (c1, c2):
        w = c.win
        if (w.dilation_h, w.dilation_w) != (1, 1):
            return f"layer {c.op.index} is dilated"
    w = c2.win
    if (w.stride_h, w.stride_w) != (1, 1) or (w.out_h, w.out_w) != (c2.in_h, c2.in_w):
        return (f"layer {c2.op.index} has stride {w.stride_h}x{w.stride_w} or changes the "
                "image size (fused: stride 1, SAME padding only)")
    if cs is None:
        w = c1.win
        if (w.stride_h, w.stride_w) != (1, 1) or (w.out_h, w.out_w) != (c1.in_h, c1.in_w):
            return (f"layer {c1.op.index} has stride {w.stride_h}x{w.stride_w} or changes "
                    "the image size (fused: stride 1, SAME padding only)")
        if c2.f_h - 1 - c2.win.pad_top < c1.win.pad_top:
            return ("the second convolution's padding below is smaller than the first's "
                    "above (output rows could not overwrite the input's in order)")
    else:
        ws = cs.win
        if (cs.f_h, cs.f_w) != (1, 1) or (ws.pad_top, ws.pad_left) != (0, 0):
            return f"the shortcut (layer {cs.op.index}) is not an unpadded 1x1 convolution"
        if (ws.stride_h, ws.stride_w) != (c1.win.stride_h, c1.win.stride_w):
            return f"the shortcut (layer {cs.op.index}) has another stride than layer " \
                f"{c1.op.index}"
    return None


def find_residual_blocks(g: Graph) -> tuple[list[ResidualBlock], list[BlockRefusal]]:
    """The blocks of `g` to fuse, and the near misses (CONV -> CONV -> ADD with the first
    convolution's input) with the reason each stays three layers."""
    producers, consumers = g.producers(), g.consumers()
    blocks, refusals = [], []
    taken: set[int] = set()
    for add in g.ops:
        found = _candidate(add, producers)
        if found is None:
            continue
        conv1, conv2, x, short = found
        members = {conv1.index, conv2.index} | ({short.index} if short else set())
        if members & taken:
            refusals.append(BlockRefusal(conv1.index, "its layers are in another fused block"))
            continue
        why = _why_not(g, conv1, conv2, add, x, short, consumers)
        if why:
            refusals.append(BlockRefusal(conv1.index, why))
            continue
        taken |= members | {add.index}
        blocks.append(ResidualBlock(conv1, conv2, add, x, add.outputs[0], short))
    return blocks, refusals
