"""DEPTHWISE_CONV_2D on tinygen's DSP-extension kernel tg_dsp_depthwise_s8 (any depth
multiplier, filters of up to TG_DSP_DW_MAX_K lines, any stride and padding, no dilation).

The kernel works one channel at a time on a band of int16 input rows (scratch planned in
the arena, `band_bytes`); the filter is re-laid-out channel-major here, and the
requantization runs on SMMULR with the filter and bias scaled by 2^(left shift + 1),
which is exact only while the accumulator stays small enough: `requant_fits` checks that
from the filter and bias, and the layer is declined otherwise (the next variant runs it).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import CExpr, LayerCall, Overlap, ScratchArg, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_support import VARIANT as CMSIS_NN
from codegen.lowering.dsp_support import VARIANT, require_dsp
from codegen.lowering.inplace import depthwise_strided_in_place
from codegen.ops.conv import ConvLayer, analyse_depthwise_conv

# TG_DSP_DW_MAX_K of tg_dsp_depthwise.h (it sizes the kernel's local arrays, not a params
# field, so tests/test_dsp_kernels.py checks the two agree rather than cheaders.C_LIMITS)
MAX_K = 16
# TG_DSP_DW_MULTS of tg_dsp_depthwise.h: the 3-tap loops take depth multipliers up to it,
# all their outputs' filters prepared once per input channel (6 pairs for each; the
# general loop's filters are larger: on tflm_micro_speech, 8 outputs' 10x8 filters would
# save 139 K cycles for 1,120 more arena bytes, so they are prepared line by line)
MULTS = 8
# the band bytes (all gathered channels) up to which the kernel gathers whole (padded)
# channels for its 3-tap loops: all of a channel's output lines then run in one pass, the
# filter prepared once for them (small images; measured: the shared models' arenas stay
# as they were)
BAND_BYTES = 2048
# otherwise a ring of filter_lines slots, or of as many as RING_BYTES allows: runs of lines
# that do not wrap in it go in one pass (faster on large images, but a few KB of ring
# raised the arena of mcunet_vww80 and emza_yolo_fastest_face192: off, 0; the tests use it)
RING_BYTES = 0
# output pixels per channel up to which the kernel works pixel by pixel on four channels at
# a time (tg_dsp_depthwise_px_s8) rather than on bands of lines (measured on
# tflm_person_detect: its 3x3 layers 97,033 and 164,124 cycles against the bands' 135,873
# and 225,643; its 6x6 layers about even, 158,341 / 261,641 against 148,177 / 241,317)
PX_PIXELS = 16
# output pixels per channel up to which CMSIS-NN's depthwise kernels are faster than the
# band loops and tg_dsp_depthwise_px_s8's C loops on filters of at most CMSIS_NN_TAPS taps
# (measured, 64 channels: 3x3 on 3x3 pixels 43,429 against 45,277 cycles, stride 2 46,902
# against 52,862, a 2x2 image 18,030 against 25,492); its 3x3 assembly is faster
# (`px3_asm`), and so are its C loops on larger filters (5x5: 147,672 against 128,398;
# 7x7 on 96 channels: 357,348 against 264,951; mcunet_vww80's layers 45 and 56, 549,554
# and 1,044,230 against 410,484 and 792,048)
CMSIS_NN_TINY = 9
CMSIS_NN_TAPS = 9


@dataclass(frozen=True)
class Lines:
    """The layer as the kernel walks it: along image rows, or along columns (transposed)
    when columns give longer output lines (fewer per-line costs: narrow images such as
    keyword spotting's 25x5)."""

    transposed: bool
    lines: int
    length: int
    out_lines: int
    out_length: int
    filter_lines: int
    filter_length: int
    stride_lines: int
    stride: int
    pad_lines: int
    pad: int


def lines_of(layer: ConvLayer) -> Lines:
    win = layer.win
    rows = Lines(False, layer.in_h, layer.in_w, win.out_h, win.out_w, layer.f_h, layer.f_w,
                 win.stride_h, win.stride_w, win.pad_top, win.pad_left)
    cols = Lines(True, layer.in_w, layer.in_h, win.out_w, win.out_h, layer.f_w, layer.f_h,
                 win.stride_w, win.stride_h, win.pad_left, win.pad_top)
    order = [cols, rows] if win.out_h > win.out_w else [rows, cols]
    fits = [v for v in order if v.filter_lines <= MAX_K]
    return fits[0] if fits else order[0]


def band_width(v: Lines) -> int:
    """int16 values per band line: the padded image line, every tap the loops read, and
    the spare column of the last pair, rounded up to even."""
    need = max(v.pad + v.length, (v.out_length - 1) * v.stride + v.filter_length + 1)
    return need + need % 2


def taps3(layer: ConvLayer, v: Lines) -> bool:
    """Whether the kernel's 3-tap loops run the layer: a 3x3 filter at stride 1 or 2 along
    the lines, every right shift >= 1 and the activation range all of int8 (their
    requantization has no branch for a zero shift and clamps with one SSAT), a depth
    multiplier up to MULTS (the kernel prepares all its outputs' filters at once)."""
    return ((v.filter_lines, v.filter_length) == (3, 3) and v.stride in (1, 2)
            and int(np.max(layer.shift)) <= -1 and (layer.act_min, layer.act_max) == (-128, 127)
            and layer.depth_multiplier <= MULTS)


def requant_fits(layer: ConvLayer) -> str | None:
    """Why the kernel's SMMULR requantization would not be exact for this layer, or None.

    Per channel, with L = max(shift, 0) + 1 and r = max(-shift, 0): the scaled filter
    fits int16 lanes, |accumulator| * 2^L < 2^30 (|input + offset| <= 255), and the
    high word h plus 2^(r-1) plus output_offset * 2^r stays inside int32.
    """
    out_d = layer.out_d
    w = layer.filt.data.reshape(-1, out_d).astype(np.int64)        # [taps][channels]
    bias = (np.abs(layer.bias.data.astype(np.int64).reshape(out_d)) if layer.bias is not None
            else np.zeros(out_d, np.int64))
    shift = np.asarray(layer.shift, np.int64).reshape(-1)
    mult = np.asarray(layer.multiplier, np.int64).reshape(-1)
    shift = np.broadcast_to(shift, (out_d,))
    mult = np.broadcast_to(mult, (out_d,))
    big = 1 << 30
    for c in range(out_d):
        s = int(shift[c])
        lsh, r = max(s, 0) + 1, max(-s, 0)
        if r > 31 or int(mult[c]) < 0:
            return f"channel {c}: shift {s} or multiplier {int(mult[c])} out of range"
        if int(np.abs(w[:, c]).max(initial=0)) << lsh > 32767:
            return f"channel {c}: the filter scaled by 2^{lsh} does not fit int16"
        acc = (int(bias[c]) + 255 * int(np.abs(w[:, c]).sum())) << lsh
        if acc >= big:
            return f"channel {c}: accumulators up to 2^{acc.bit_length()} (2^30 at most)"
        h = (acc * int(mult[c]) >> 32) + 1
        rnd = (1 << (r - 1)) if r else 0
        if h + rnd + (abs(layer.output_offset) << r) + 1 >= 1 << 31:
            return f"channel {c}: output offset * 2^{r} overflows the rounding"
    return None


def group(layer: ConvLayer) -> int:
    """Channels the kernel gathers at once: 4 from one word per pixel when they are
    neighbours in the input and each feeds one output."""
    return 4 if layer.depth_multiplier == 1 and layer.in_d % 4 == 0 else 1


def band_lines(layer: ConvLayer, v: Lines) -> int:
    """Band lines (ring slots) per gathered channel: for the 3-tap loops (the others gain
    little from runs of lines) the whole padded channel when it fits BAND_BYTES, else as
    many as RING_BYTES allows; at least the filter's lines."""
    if not taps3(layer, v):
        return v.filter_lines
    whole = (v.out_lines - 1) * v.stride_lines + v.filter_lines
    line = group(layer) * band_width(v) * 2
    if whole * line <= BAND_BYTES:
        return whole
    return max(v.filter_lines, min(whole, RING_BYTES // line))


def in_place(layer: ConvLayer, v: Lines) -> bool:
    """Whether the kernel stays right with its output written over its input (offset 0).

    Each output channel is written only over its own input channel (depth multiplier 1:
    same channel count, so byte offsets keep their channel), and only at pixels of the
    same index (same image size): it suffices that every input line is gathered into the
    band before the output line of the same index is written.  Output line oy is written
    after the input lines up to oy * stride - pad + filter - 1 are gathered.
    """
    win = layer.win
    if layer.depth_multiplier != 1 or (win.out_h, win.out_w) != (layer.in_h, layer.in_w):
        return False
    return all(oy * v.stride_lines - v.pad_lines + v.filter_lines - 1 >= oy
               for oy in range(v.out_lines))


def band_bytes(layer: ConvLayer, v: Lines) -> int:
    """The kernel's scratch: a band of band_lines lines per gathered channel, then (the
    general loop) one output line of int32 accumulators, then each gathered channel's
    filter as int16 pairs (or, 3-tap loops with a depth multiplier, all the outputs' of
    an input channel)."""
    three = taps3(layer, v)
    line = 0 if three else 4 * v.out_length
    pairs = 6 if three else v.filter_lines * ((v.filter_length + 1) // 2)
    mult = layer.depth_multiplier
    prepared = mult if three and mult > 1 else group(layer)
    return group(layer) * band_lines(layer, v) * band_width(v) * 2 + 4 * pairs * prepared + line


def pixelwise(layer: ConvLayer) -> bool:
    """Whether tg_dsp_depthwise_px_s8 runs the layer: small images, four channels at a
    time from one word per pixel."""
    win = layer.win
    return layer.depth_multiplier == 1 and layer.in_d % 4 == 0 and \
        win.out_h * win.out_w <= PX_PIXELS


def px3_asm(layer: ConvLayer) -> bool:
    """Whether tg_dsp_depthwise_px_s8 runs the layer's pixels in its Thumb-2 assembly
    (tg_dsp_dw_px3_thumb2: a 3x3 filter, the activation range all of int8)."""
    return pixelwise(layer) and (layer.f_h, layer.f_w) == (3, 3) and \
        (layer.act_min, layer.act_max) == (-128, 127)


def quant_consts(layer: ConvLayer, ctx: LowerContext) -> tuple:
    """The bias (or NULL), multipliers and shifts per output channel, as both kernels read
    them: (consts, bias, multiplier, shift)."""
    out_d = layer.out_d
    if layer.bias is None:
        r_b, c_b = CExpr("NULL"), []
    else:
        c, r_b = ctx.const("bias", "int32_t", layer.bias.data.astype(np.int32).reshape(out_d),
                           "int32 bias per output channel")
        c_b = [c]
    c_m, r_m = ctx.const("multiplier", "int32_t",
                         np.broadcast_to(np.asarray(layer.multiplier, np.int32).reshape(-1),
                                         (out_d,)), "Q31 output multiplier per channel")
    c_s, r_s = ctx.const("shift", "int32_t",
                         np.broadcast_to(np.asarray(layer.shift, np.int32).reshape(-1),
                                         (out_d,)), "output shift (power of two) per channel")
    return [*c_b, c_m, c_s], r_b, r_m, r_s


def lower_pixelwise(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    win = layer.win
    c_w, r_w = ctx.const("filter", "int8_t",
                         layer.filt.data.reshape(-1).astype(np.int8),
                         f"{layer.f_h}x{layer.f_w}x{layer.out_d} int8 depthwise filter")
    c_q, r_b, r_m, r_s = quant_consts(layer, ctx)
    fits = win.out_h <= layer.in_h and win.out_w <= layer.in_w
    return LayerCall(
        op=op,
        kernel="tg_dsp_depthwise_px_s8",
        params_type="tg_dsp_depthwise_px_params_t",
        params=dict(batches=layer.batches, in_h=layer.in_h, in_w=layer.in_w,
                    depth=layer.in_d, out_h=win.out_h, out_w=win.out_w,
                    filter_h=layer.f_h, filter_w=layer.f_w, stride_h=win.stride_h,
                    stride_w=win.stride_w, pad_top=win.pad_top, pad_left=win.pad_left,
                    filter=r_w, bias=r_b, multiplier=r_m, shift=r_s,
                    input_offset=layer.input_offset, output_offset=layer.output_offset,
                    act_min=layer.act_min, act_max=layer.act_max),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[c_w, *c_q],
        scratch=[((win.out_h - 1) * win.stride_h + layer.f_h) *
                 ((win.out_w - 1) * win.stride_w + layer.f_w) * 8 +
                 layer.f_h * layer.f_w * 8],
        # four channels of an image are read whole before their outputs are written, and
        # with depth multiplier 1 an output byte (pixel q, channel c) lands on input byte
        # (pixel q, channel c): its own channel, already read (this image) or done (an
        # earlier image), so an output no larger than the input may start on its first byte
        overlaps=[Overlap(output=layer.out.index, input=layer.inp.index)] if fits else [],
        comment=layer.comment(),
        macs=layer.macs,
    )


def filter_channel_major(layer: ConvLayer, v: Lines) -> np.ndarray:
    """[1][fh][fw][channels] -> [channels][filter_lines][filter_length], the order the
    kernel reads."""
    f = layer.filt.data.reshape(layer.f_h, layer.f_w, layer.out_d).transpose(2, 0, 1)
    if v.transposed:
        f = f.transpose(0, 2, 1)
    return np.ascontiguousarray(f).astype(np.int8)


@register("DEPTHWISE_CONV_2D", variant=VARIANT)
def lower_depthwise_conv_2d_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    layer = analyse_depthwise_conv(op, g)
    out_d = layer.out_d
    check_layer(layer, ctx)
    if pixelwise(layer):
        return lower_pixelwise(op, layer, ctx)
    v = lines_of(layer)
    c_w, r_w = ctx.const("filter", "int8_t", filter_channel_major(layer, v),
                         f"{out_d}x{v.filter_lines}x{v.filter_length} int8 depthwise filter, "
                         "channel-major" + (", transposed" if v.transposed else ""))
    params, consts, scratch, overlaps = band_parts(layer, ctx)
    return LayerCall(
        op=op,
        kernel="tg_dsp_depthwise_s8",
        params_type="tg_dsp_depthwise_params_t",
        params=dict(params, filter=r_w),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[c_w, *consts],
        scratch=[scratch],
        overlaps=overlaps,
        comment=layer.comment(),
        macs=layer.macs,
    )


def check_layer(layer: ConvLayer, ctx: LowerContext) -> None:
    """Declined for the layers neither dsp depthwise kernel runs (or runs exactly)."""
    win = layer.win
    if (win.dilation_h, win.dilation_w) != (1, 1):
        raise Declined("only undilated filters so far")
    v = lines_of(layer)
    if v.filter_lines > MAX_K:
        raise Declined(f"filters up to {MAX_K} lines in both directions (TG_DSP_DW_MAX_K)")
    pref = ctx.preference
    if CMSIS_NN in pref and VARIANT in pref and pref.index(CMSIS_NN) > pref.index(VARIANT) \
            and win.out_h * win.out_w <= CMSIS_NN_TINY and \
            win.filter_h * win.filter_w <= CMSIS_NN_TAPS and not px3_asm(layer):
        # measured (codegen verify --profile, tflm_person_detect): on the 3x3 and 6x6 -> 3x3
        # layers the band loops' per-line and per-channel costs outweigh their faster inner
        # loop; tg_dsp_depthwise_px_s8's C about ties with CMSIS-NN there (97,033 and 164,124
        # cycles against 92,679 and 170,341), its 3x3 assembly is faster (85,389 and 140,865)
        raise Declined(f"CMSIS-NN, next in the preference, runs depthwise layers of at most "
                       f"{CMSIS_NN_TINY} output pixels and {CMSIS_NN_TAPS} filter taps faster; "
                       "--kernel N=dsp forces this one")
    why = requant_fits(layer)
    if why:
        raise Declined(f"its accumulators may be too large for the fast requantization "
                       f"({why})")


def band_parts(layer: ConvLayer, ctx: LowerContext) -> tuple[dict, list, int, list]:
    """tg_dsp_depthwise_s8's params for a layer but its filter (NULL), the constants they
    point at (bias, multipliers, shifts), the band's bytes and the in-place overlaps."""
    win, out_d = layer.win, layer.out_d
    v = lines_of(layer)
    c_q, r_b, r_m, r_s = quant_consts(layer, ctx)
    params = dict(batches=layer.batches, depth=layer.in_d,
                  depth_multiplier=layer.depth_multiplier, lines=v.lines, length=v.length,
                  in_line_step=layer.in_d if v.transposed else layer.in_w * layer.in_d,
                  in_step=layer.in_w * layer.in_d if v.transposed else layer.in_d,
                  out_lines=v.out_lines, out_length=v.out_length,
                  out_line_step=out_d if v.transposed else win.out_w * out_d,
                  out_step=win.out_w * out_d if v.transposed else out_d,
                  filter_lines=v.filter_lines, filter_length=v.filter_length,
                  stride_lines=v.stride_lines, stride=v.stride, pad_lines=v.pad_lines,
                  pad=v.pad, band_width=band_width(v), group=group(layer),
                  taps3=int(taps3(layer, v)), band_lines=band_lines(layer, v),
                  filter=CExpr("NULL"), bias=r_b, multiplier=r_m, shift=r_s,
                  input_offset=layer.input_offset, output_offset=layer.output_offset,
                  act_min=layer.act_min, act_max=layer.act_max)
    overlaps = [Overlap(output=layer.out.index, input=layer.inp.index)] \
        if in_place(layer, v) or depthwise_strided_in_place(
            layer.batches, layer.in_h, layer.in_w, win.out_h, win.out_w,
            layer.depth_multiplier, v.transposed, v.stride_lines, v.pad_lines,
            v.filter_lines) else []
    return params, c_q, band_bytes(layer, v), overlaps
