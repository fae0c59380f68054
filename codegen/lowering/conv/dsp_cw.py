"""k x k CONV_2D (any filter, stride, padding, dilation; one group) with a compressed filter
(int4 or palette, codegen/encoding.py) on tg_dsp_cw_conv_s8 (runtime_c/tg_dsp_cw_conv.c):
the layer as tg_dsp_conv_s8 runs it (lowering/conv/dsp_im2col.py's params, but for the
weights), its output channels in blocks whose filter is decoded into the scratch once,
each block a pass of tg_dsp_conv_s8 over every pixel.  Pointwise convolutions take the
compressed GEMMs instead (lowering/compressed_support.py)."""
from __future__ import annotations

import numpy as np

from codegen.encoding import FilterEncoding
from codegen.graph import Op
from codegen.ir import LayerCall, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.compressed_support import AUTO_MAX_RATIO, cw_field
from codegen.lowering.conv.dsp_im2col import channel_triples, column_order, im2col_parts
from codegen.ops.conv import ConvLayer

# a block's decoded weights: at most half the filter's channels (never the whole filter in
# RAM, unless it is one triple) and at most CWC_MAX_BLOCK_BYTES; the fewest channels whose
# estimate is within BLOCK_TARGET (issue 14's goals, less a margin), else the most
CWC_MAX_BLOCK_BYTES = 16384
BLOCK_TARGET = {"int4": 1.13, "palette": 1.23}
# the estimate (emulated Cortex-M4, fitted to benchmarks/compress_bench.py's k x k cases
# within ~1 %): per pixel pair, tg_dsp_conv_s8 takes MAC_CYCLES a product (2 pixels x
# depth4 x channels), PAIR_CYCLES plus WIDEN_CYCLES a column value (2 x depth4: the
# im2col) and OUT_CYCLES a channel; each block after the first widens the columns again,
# each block costs BLOCK_CYCLES, and the decoding DECODE_CYCLES a value, once
MAC_CYCLES = 1.15
PAIR_CYCLES = 240.0
WIDEN_CYCLES = 2.7
OUT_CYCLES = 26.0
BLOCK_CYCLES = 300.0
DECODE_CYCLES = {"int4": 1.5, 1: 2.0, 2: 2.5, 4: 5.0}


def cw_conv_ratio(enc: FilterEncoding, pixels: int, channels: int, window: int,
                  depth4: int, block: int) -> float:
    """tg_dsp_cw_conv_s8's cycles estimated against tg_dsp_conv_s8's (the int8 filter)."""
    pairs = -(-pixels // 2)
    columns = PAIR_CYCLES + WIDEN_CYCLES * 2 * depth4
    int8 = pairs * (MAC_CYCLES * 2 * depth4 * channels + columns + OUT_CYCLES * channels)
    blocks = -(-channels // block)
    key = "int4" if enc.encoding == "int4" else enc.bits
    extra = ((blocks - 1) * pairs * columns + blocks * BLOCK_CYCLES +
             DECODE_CYCLES[key] * channels * window)
    return 1 + extra / int8


def cw_conv_block(enc: FilterEncoding, pixels: int, channels: int, window: int,
                  depth4: int) -> tuple[int, float]:
    """tg_dsp_cw_conv_s8's block (a multiple of 3 channels) and its estimated ratio: the
    fewest channels within BLOCK_TARGET, else the most allowed."""
    triples = -(-channels // 3)
    if triples <= 1:
        return 3, cw_conv_ratio(enc, pixels, channels, window, depth4, 3)
    most = max(1, min(-(-triples // 2), CWC_MAX_BLOCK_BYTES // (3 * depth4)))
    goal = BLOCK_TARGET[enc.encoding]
    for t in range(1, most + 1):
        ratio = cw_conv_ratio(enc, pixels, channels, window, depth4, 3 * t)
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
    d4 = column_order(layer.f_h, layer.f_w * layer.in_d).size
    pixels = layer.batches * layer.win.out_h * layer.win.out_w
    block, ratio = cw_conv_block(enc, pixels, out_d, window, d4)
    parts = im2col_parts(layer, ctx, lambda triples: block_count(out_d, block, triples))
    if not np.array_equal(parts.filt, layer.filt.data.reshape(out_d, window)):
        # the int8 kernel zeroes such channels' weights; the stored filter cannot change
        raise Declined("an output channel whose result is always the output zero point "
                       "has non-zero weights")
    if int(ctx.target.get("arena_alignment", 16)) % 4:
        raise Declined("the kernel's scratch needs an arena aligned to 4 bytes "
                       "(arena_alignment in the target)")
    goal = AUTO_MAX_RATIO[enc.encoding]
    if ratio > goal and not enc.forced:
        raise Declined(f"{enc.label()} in blocks of {block} channels over {pixels} pixels: "
                       f"about {ratio:.2f}x the int8 convolution's cycles (each block widens "
                       f"every pixel's window again), above the {goal}x that --compress "
                       "auto accepts")
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
