"""k x k CONV_2D (any filter, stride, padding, dilation; one group) with a compressed filter
(int4 or palette, codegen/encoding.py) on tg_dsp_cw_conv_s8 (runtime_c/tg_dsp_cw_conv.c):
the layer as tg_dsp_conv_s8 runs it (lowering/conv/dsp_im2col.py's params, but for the
weights), its output channels in blocks whose filter is decoded into the scratch once,
each block a pass of tg_dsp_conv_s8 over every pixel.  Pointwise convolutions take the
compressed GEMMs instead (lowering/compressed_support.py).  DEPTHWISE_CONV_2D likewise on
tg_dsp_cw_depthwise_s8 (runtime_c/tg_dsp_cw_depthwise.c): tg_dsp_depthwise_s8's params
(lowering/conv/dsp_depthwise.py), a block of channels at a time.  Each estimates its
cycles against the int8 kernel's; --compress auto keeps the int8 filter above the goal."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.encoding import FilterEncoding
from codegen.graph import Op
from codegen.ir import LayerCall, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.compressed_support import (EF_TABLE_CYCLES, accept_estimate, cw_field,
                                                  decode_key, require_kept, table_decodes)
from codegen.lowering.dsp_support import require_word_scratch
from codegen.lowering.conv import dsp_depthwise as dwk
from codegen.lowering.conv.dsp_im2col import channel_triples, column_order, im2col_parts
from codegen.ops.conv import ConvLayer

# a block's decoded weights: at most half the filter's channels (never the whole filter in
# RAM, unless it is one triple) and at most CWC_MAX_BLOCK_BYTES; the fewest channels whose
# estimate is within BLOCK_TARGET (issue 14's goals, less a margin), else the most
CWC_MAX_BLOCK_BYTES = 16384
BLOCK_TARGET = {"int4": 1.13, "palette": 1.23}
# the estimate (emulated Cortex-M4, fitted by least squares to 12 single k x k layers with
# int4 filters within ~1 % of their cycles: `benchmarks/compress_bench.py --fit-conv`
# refits them): per pixel pair, tg_dsp_conv_s8 takes MAC_CYCLES a product (2 pixels x
# depth4 x channels), OUT_CYCLES a channel, PAIR_CYCLES plus WIDEN_CYCLES a column value
# (2 x depth4: the im2col) and, for a pair whose windows are not both inside the image on
# one row (the staged path, tg_dsp_conv_column), EDGE_CYCLES a window row of each pixel
# more; each block after the first builds every column again; the decoding costs
# CHANNEL_CYCLES a channel and DECODE_CYCLES a value (palettes: measured on the 3x3 cases
# of compress_bench.py), a coded table EF_TABLE_CYCLES
MAC_CYCLES = 1.156
OUT_CYCLES = 29.4
PAIR_CYCLES = 231.0
WIDEN_CYCLES = 2.27
EDGE_CYCLES = 52.0
CHANNEL_CYCLES = 580.0
DECODE_CYCLES = {"int4": 1.96, 1: 2.7, 2: 3.0, 4: 3.5}


@dataclass(frozen=True)
class ConvShape:
    """What the estimate reads of a layer: its pixel pairs (those taking the staged column
    path too), window rows, column values and channels."""

    pairs: int
    edge_pairs: int
    rows: int           # window rows (filter height)
    depth4: int
    window: int
    channels: int


def conv_shape(layer: ConvLayer) -> ConvShape:
    """The pairs tg_dsp_conv_s8's pixel loop takes (tg_dsp_conv_rows_s8): two pixels at a
    time in raster order, straight from the input when both windows are inside the image
    on one output row (and the filter not dilated along the width), else staged."""
    win = layer.win
    pixels = layer.batches * win.out_h * win.out_w
    n = np.arange(0, pixels, 2)
    oy, ox = np.divmod(n % (win.out_h * win.out_w), win.out_w)
    y0 = oy * win.stride_h - win.pad_top
    x0 = ox * win.stride_w - win.pad_left
    y_max = layer.in_h - 1 - (layer.f_h - 1) * win.dilation_h
    x_max = layer.in_w - layer.f_w
    inside = ((n + 1 < pixels) & (ox + 1 < win.out_w) & (y0 >= 0) & (y0 <= y_max) &
              (x0 >= 0) & (x0 + win.stride_w <= x_max) & (win.dilation_w == 1))
    d4 = column_order(layer.f_h, layer.f_w * layer.in_d).size
    return ConvShape(pairs=int(n.size), edge_pairs=int(np.count_nonzero(~inside)),
                     rows=layer.f_h, depth4=d4, window=layer.f_h * layer.f_w * layer.in_d,
                     channels=layer.out_d)


def cw_conv_ratio(enc: FilterEncoding, shape: ConvShape, block: int) -> float:
    """tg_dsp_cw_conv_s8's cycles estimated against tg_dsp_conv_s8's (the int8 filter)."""
    s = shape
    columns = s.pairs * (PAIR_CYCLES + WIDEN_CYCLES * 2 * s.depth4) + \
        s.edge_pairs * EDGE_CYCLES * 2 * s.rows
    int8 = s.pairs * (MAC_CYCLES * 2 * s.depth4 * s.channels + OUT_CYCLES * s.channels) + \
        columns
    blocks = -(-s.channels // block)
    key = decode_key(enc)
    extra = ((blocks - 1) * columns +
             s.channels * (CHANNEL_CYCLES + DECODE_CYCLES[key] * s.window) +
             EF_TABLE_CYCLES * table_decodes(enc, block))
    return 1 + extra / int8


def cw_conv_block(enc: FilterEncoding, shape: ConvShape) -> tuple[int, float]:
    """tg_dsp_cw_conv_s8's block (a multiple of 3 channels) and its estimated ratio: the
    fewest channels within BLOCK_TARGET, else the most allowed."""
    triples = -(-shape.channels // 3)
    if triples <= 1:
        return 3, cw_conv_ratio(enc, shape, 3)
    most = max(1, min(-(-triples // 2), CWC_MAX_BLOCK_BYTES // (3 * shape.depth4)))
    goal = BLOCK_TARGET[enc.encoding]
    for t in range(1, most + 1):
        ratio = cw_conv_ratio(enc, shape, 3 * t)
        if ratio <= goal or t == most:
            return 3 * t, ratio
    raise AssertionError("unreachable")


def block_triples(n: int, layer_triples: int) -> int:
    """The triples of a block of n channels (tg_dsp_cw_conv.c): channel_triples(n) when the
    layer has triples (the assembly runs it), else none."""
    return channel_triples(n) if layer_triples else 0


def block_count(channels: int, block: int, layer_triples: int) -> int:
    """The per-channel constants the blocks read: an odd count of channels after a block's
    triples reads one channel past it (the pair of the last one)."""
    need = channels
    for c in range(0, channels, block):
        n = min(block, channels - c)
        need = max(need, c + n + (n - 3 * block_triples(n, layer_triples)) % 2)
    return need


def cw_im2col_call(op: Op, layer: ConvLayer, ctx: LowerContext,
                   enc: FilterEncoding) -> LayerCall:
    """The LayerCall of tg_dsp_cw_conv_s8, or Declined (grouped layers, requantization the
    dsp kernel cannot run exactly, an estimate above the cycles --compress auto accepts)."""
    out_d = layer.out_d
    window = layer.f_h * layer.f_w * layer.in_d
    if (layer.f_h, layer.f_w) == (1, 1) and (layer.win.pad_top, layer.win.pad_left) == (0, 0) \
            and not enc.forced:
        # (strided: the pointwise ones take the compressed GEMMs)
        raise Declined("a strided 1x1 convolution: its int8 filter runs on the dsp GEMM, "
                       "which gathers the pixels, faster than this im2col kernel would "
                       "(measured 1.15-1.2x)")
    shape = conv_shape(layer)
    d4 = shape.depth4
    pixels = layer.batches * layer.win.out_h * layer.win.out_w
    block, ratio = cw_conv_block(enc, shape)
    parts = im2col_parts(layer, ctx, lambda triples: block_count(out_d, block, triples))
    require_kept(parts.filt, layer.filt.data.reshape(out_d, window))
    require_word_scratch(ctx)
    accept_estimate(enc, ratio, f"{enc.label()} in blocks of {block} channels over {pixels} "
                    f"pixels: about {ratio:.2f}x the int8 convolution's cycles (each block "
                    "widens every pixel's window again)")
    weights_at = -(-parts.scratch // 4) * 4
    scratch = weights_at + (block + 1) * d4 + 4 * -(-window // 4)
    w, c_w = cw_field(ctx, enc, f"{out_d}x{layer.f_h}x{layer.f_w}x{layer.in_d} filter (OHWI)")
    return LayerCall(
        op=op,
        kernel="tg_dsp_cw_conv_s8",
        params_type="tg_dsp_cw_conv_params_t",
        params=dict(conv=parts.params, filter=w, block=block, weights_at=weights_at),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[*c_w, *parts.consts],
        scratch=[scratch],
        comment=layer.comment() + f"; filter {enc.label()}, decoded {block} channels at a "
                                  "time",
        macs=layer.macs,
    )


# DEPTHWISE_CONV_2D with a compressed filter: the estimate (emulated Cortex-M4,
# `benchmarks/compress_bench.py --fit-depthwise` measures 8 layers): tg_dsp_depthwise_s8
# takes 3.0 to 6.5 cycles a product (its per-line and per-channel costs vary), taken as
# the least, DW_MAC_CYCLES, so that the estimate errs high; the decoding DW_DECODE_CYCLES
# a value (value by value: a few taps a channel) and DW_BLOCK_CYCLES a block (fitted)
DW_MAC_CYCLES = 3.0
DW_DECODE_CYCLES = 20.0
DW_BLOCK_CYCLES = 1100.0


def cw_depthwise_ratio(macs: int, values: int, blocks: int) -> float:
    """tg_dsp_cw_depthwise_s8's cycles estimated against tg_dsp_depthwise_s8's."""
    return 1 + (DW_DECODE_CYCLES * values + DW_BLOCK_CYCLES * blocks) / (DW_MAC_CYCLES * macs)


def cw_depthwise_call(op: Op, layer: ConvLayer, ctx: LowerContext,
                      enc: FilterEncoding) -> LayerCall:
    """The LayerCall of tg_dsp_cw_depthwise_s8 (the band kernel, a block of channels at a
    time), or Declined."""
    dwk.check_layer(layer, ctx)
    if layer.batches != 1:
        raise Declined("one image only (the blocks step through its channels)")
    if dwk.pixelwise(layer) and not enc.forced:
        raise Declined("its int8 filter runs on tg_dsp_depthwise_px_s8 (small images), "
                       "faster than the band kernel that reads compressed filters")
    params, consts, band, overlaps = dwk.band_parts(layer, ctx)
    v = dwk.lines_of(layer)
    group, in_d, mult = params["group"], layer.in_d, layer.depth_multiplier
    groups = -(-in_d // group)
    block = group * max(1, -(-groups // 2)) if groups > 1 else in_d
    blocks = -(-in_d // block)
    taps = layer.f_h * layer.f_w
    ratio = cw_depthwise_ratio(layer.macs, layer.out_d * taps, blocks)
    accept_estimate(enc, ratio, f"{enc.label()}: about {ratio:.2f}x the int8 depthwise "
                    f"kernel's cycles (decoding {taps} taps a channel against "
                    f"{layer.macs // max(layer.out_d, 1)} products)")
    filter_at = -(-band // 4) * 4
    w, c_w = cw_field(ctx, enc, f"{layer.f_h}x{layer.f_w}x{layer.out_d} depthwise filter "
                                "(HWC)")
    return LayerCall(
        op=op,
        kernel="tg_dsp_cw_depthwise_s8",
        params_type="tg_dsp_cw_depthwise_params_t",
        params=dict(dw=params, filter=w, block=block, transposed=int(v.transposed),
                    filter_at=filter_at),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[*c_w, *consts],
        scratch=[filter_at + block * mult * taps],
        # a block reads and writes only its channels' bytes when each output channel sits
        # where its input channel was (depth multiplier 1)
        overlaps=overlaps if mult == 1 else [],
        comment=layer.comment() + f"; filter {enc.label()}, decoded {block} channels at a "
                                  "time",
        macs=layer.macs,
    )
