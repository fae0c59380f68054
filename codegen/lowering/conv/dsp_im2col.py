"""CONV_2D layers that are not pointwise (k x k filters, strides, padding, dilation, first
layers of 1-3 input channels) on tg_dsp_conv_s8: an int16 im2col of two output pixels, then
2 pixels x 3 output channels (`triples`, layers the Thumb-2 assembly runs) and 2 pixels x 2
output channels per pass with SMLAD (runtime_c/tg_dsp_conv.c).

Everything the kernel can take from generation time is prepared here: the weights in the
order the inner loop reads them (the window in the column's order, `column_order`: each
row's groups of 4 values, then the rows' remainders, zero-padded to a multiple of 4 so
there is no tail; output channel triples then pairs, 4-weight words of the group's channels
alternating), and the bias,
multipliers and shifts padded to an even channel count.  The im2col adds the input offset,
so the bias is the model's (zeros without one).  Called by `lowering/conv/dsp.py` for the
layers its pointwise GEMM does not take.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from codegen.graph import Op
from codegen.ir import CExpr, LayerCall, Overlap, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.dsp_support import gemm_quant_table
from codegen.lowering.inplace import conv_overlap
from codegen.ops.conv import ConvLayer


def column_order(f_h: int, row_len: int) -> np.ndarray:
    """Window positions (filter order: row * row_len + value) in tg_dsp_conv_s8's column
    order, -1 for padding: each row's whole groups of 4, then every row's last
    row_len % 4 values, padded to a multiple of 4."""
    body = row_len // 4 * 4
    rows = np.arange(f_h * row_len).reshape(f_h, row_len)
    rest = rows[:, body:].reshape(-1)
    pad = np.full(-rest.size % 4, -1)
    return np.concatenate([rows[:, :body].reshape(-1), rest, pad]).astype(np.int64)


def im2col_weight_layout(w: np.ndarray, order: np.ndarray, triples: int = 0) -> np.ndarray:
    """[channels][window] int8 weights (filter order) in the order tg_dsp_conv_s8 reads them.

    Each row in column `order` (-1: a zero); the first 3 * `triples` channels in triples,
    for each the 4-value words of its three channels alternating; then the other channels
    (a zero row added to an odd count) in pairs, the 4-value words of the two alternating.
    Every channel takes order.size bytes, so channel c's group starts at c * order.size.
    """
    channels, _ = w.shape
    d4 = order.size
    head = 3 * triples
    rows = np.zeros((channels + (channels - head) % 2, d4), np.int8)
    rows[:channels] = np.where(order >= 0, w[:, np.maximum(order, 0)], 0)
    groups = rows[:head].reshape(-1, 3, d4 // 4, 4).transpose(0, 2, 1, 3)
    pairs = rows[head:].reshape(-1, 2, d4 // 4, 4).transpose(0, 2, 1, 3)
    return np.concatenate([np.ascontiguousarray(groups).reshape(-1),
                           np.ascontiguousarray(pairs).reshape(-1)])


def channel_triples(channels: int) -> int:
    """The channel triples of a layer whose channels the Thumb-2 assembly runs: as many as
    leave an even number of channels for the pairs (16 -> 4 triples and 2 pairs, 32 -> 10
    and 1, 64 -> 20 and 2; 3 or 5 -> 1; 1, 2, 4 -> none), so that no pair is half padding."""
    t = channels // 3
    if (channels - 3 * t) % 2:
        t -= 1
    return max(t, 0)


def requant_fits(weights: np.ndarray, bias: np.ndarray, input_zero_point: int,
                 multiplier: np.ndarray, shift: np.ndarray) -> str | None:
    """Why tg_dsp_conv_s8's short requantization could differ from TFLM's, or None.

    It needs every accumulator bias + sum w * (x - zero point) of channel c, shifted left
    by max(shift, 0), below 2^30 in magnitude, multipliers in [0, 2^31) and right shifts of
    at most 31 (tg_dsp_conv.c).
    """
    widest = max(127 - input_zero_point, input_zero_point + 128)     # max |x - zero point|
    w = np.abs(weights.astype(np.int64)).reshape(weights.shape[0], -1)
    bound = np.abs(bias.astype(np.int64)) + w.sum(axis=1) * widest
    left = np.maximum(shift.astype(np.int64), 0)
    if np.any(multiplier < 0):
        return "a negative output multiplier (TFLite's lie in [0, 2^31))"
    if np.any(shift < -31):
        return "an output shift below -31"
    if np.any(bound >= np.right_shift(np.int64(1 << 30), np.minimum(left, 31))):
        return ("accumulators could reach 2^30 (huge bias or weights), beyond the dsp "
                "kernel's short requantization")
    return None


def short_quant(weights: np.ndarray, bias: np.ndarray, multiplier: np.ndarray,
                shift: np.ndarray, output_offset: int):
    """The one-SMMLAR requantization of tg_dsp_requantize_hm (tg_dsp_requant.h) for
    tg_dsp_conv_s8, where the GEMM's conditions prove it equal to TFLite's
    (dsp_support.gemm_quant_table; the im2col adds the input offset, so no zero point is
    folded): ([n][3] int32 rows M', s, half, n = 1 when every channel shares them, else
    the channel count made even; post; the bias; the weights, a channel whose output is
    always the zero point zeroed), or None."""
    channels = weights.shape[0]
    w = weights.copy()
    try:
        biases, table, post = gemm_quant_table(w, bias, 0, multiplier, shift, output_offset)
    except Declined:
        return None
    rows = table.reshape(-1, 3, 3).transpose(0, 2, 1).reshape(-1, 3)   # [channel][3]
    rows = rows[:1] if np.all(rows == rows[0]) else rows[:channels]
    return rows.astype(np.int32), post, biases[:channels].astype(np.int32), w


def _padded(values: np.ndarray, count: int) -> np.ndarray:
    """Per-channel values (rows) with the last repeated to `count` (an even count: the
    pairs' second channel of an odd last one)."""
    v = np.asarray(values)
    v = v.reshape(-1) if v.ndim < 2 else v
    return np.concatenate([v] + [v[-1:]] * max(count - len(v), 0))


@dataclass
class Im2col:
    """tg_dsp_conv_s8's params for a layer, but for its weights (`params["weights"]` NULL),
    and what makes them: the filter [channels][window] as the kernel runs it (a channel
    whose output is always the zero point zeroed), the column order, the triples."""

    params: dict
    consts: list            # bias, and the quant rows or the multipliers and shifts
    filt: np.ndarray
    order: np.ndarray
    triples: int
    scratch: int            # bytes


def im2col_parts(layer: ConvLayer, ctx: LowerContext,
                 blocks: Callable[[int], int] | None = None) -> Im2col:
    """Everything of tg_dsp_conv_s8's call for a CONV_2D layer but its weights, or
    Declined.  The per-channel constants (bias, quant rows, multipliers and shifts) have
    an even count (the last repeated), or, with `blocks`, the count that function of the
    layer's triples gives (tg_dsp_cw_conv_s8's blocks read one past an odd block)."""
    if layer.groups != 1:
        raise Declined(f"grouped convolutions ({layer.groups} groups) are not in the dsp "
                       "kernels yet")
    win, out_d = layer.win, layer.out_d
    row_len = layer.f_w * layer.in_d
    order = column_order(layer.f_h, row_len)
    d4 = order.size
    window = layer.f_h * row_len
    # the two int16 columns, then (rows not straight from the input: input depths not a
    # multiple of 4, filters dilated along the width) one window row of int8, the rows'
    # last values
    scratch = 4 * d4
    if layer.in_d % 4 or win.dilation_w != 1:
        scratch += row_len + (d4 - layer.f_h * (row_len // 4 * 4))
    bias = (layer.bias.data.astype(np.int32).reshape(out_d) if layer.bias is not None
            else np.zeros(out_d, np.int32))
    mult = np.asarray(layer.multiplier, dtype=np.int32).reshape(-1)
    shf = np.asarray(layer.shift, dtype=np.int32).reshape(-1)
    why = requant_fits(layer.filt.data, bias, -layer.input_offset, mult, shf)
    if why:
        raise Declined(why)
    filt = layer.filt.data.reshape(out_d, window)
    short = short_quant(filt, bias, mult, shf, layer.output_offset)
    quant_consts, r_q, quant_step, post = [], CExpr("NULL"), 0, 0
    if short is not None:
        rows, post, bias, filt = short
    # the Thumb-2 assembly runs the channels of full-range layers with quant rows: in
    # triples (2 pixels x 3 channels) and pairs; the C passes run the others in pairs
    asm = short is not None and post == 0 and (layer.act_min, layer.act_max) == (-128, 127)
    triples = channel_triples(out_d) if asm else 0
    count = out_d + out_d % 2 if blocks is None else blocks(triples)
    if short is not None:
        if len(rows) > 1:
            rows = _padded(rows, count)
        c_q, r_q = ctx.const("quant", "int32_t", rows.reshape(-1),
                             "M' = 2 M - 2^32, s, half " + ("per channel" if len(rows) > 1
                                                            else "(all channels)"))
        quant_consts, quant_step = [c_q], 3 if len(rows) > 1 else 0
    per_channel = bool(np.any(mult != mult[0]) or np.any(shf != shf[0]))
    if not per_channel:
        mult, shf = mult[:1], shf[:1]
    else:
        mult, shf = _padded(mult, count), _padded(shf, count)
    c_b, r_b = ctx.const("bias", "int32_t", _padded(bias, count),
                         "int32 bias per output channel (" +
                         ("an even count)" if blocks is None else "and one more)"
                          if count > out_d else "as many)"))
    each = "per channel" if per_channel else "(all channels)"
    if short is None:
        c_m, r_m = ctx.const("multiplier", "int32_t", mult, f"Q31 output multiplier {each}")
        c_s, r_s = ctx.const("shift", "int32_t", shf, f"output shift (power of two) {each}")
        quant_consts = [c_m, c_s]
    else:                       # the quant rows replace them
        r_m = r_s = CExpr("NULL")
    params = dict(batches=layer.batches, input_height=layer.in_h, input_width=layer.in_w,
                  input_depth=layer.in_d, output_height=win.out_h, output_width=win.out_w,
                  output_depth=out_d, filter_height=layer.f_h, filter_width=layer.f_w,
                  stride_height=win.stride_h, stride_width=win.stride_w,
                  dilation_height=win.dilation_h, dilation_width=win.dilation_w,
                  pad_top=win.pad_top, pad_left=win.pad_left, depth4=d4,
                  triples=triples, weights=CExpr("NULL"), bias=r_b, multiplier=r_m,
                  shift=r_s, per_channel=int(per_channel), quant=r_q, quant_step=quant_step,
                  post=post, input_offset=layer.input_offset,
                  output_offset=layer.output_offset, act_min=layer.act_min,
                  act_max=layer.act_max)
    return Im2col(params, [c_b] + quant_consts, filt, order, triples, scratch)


def im2col_call(op: Op, layer: ConvLayer, ctx: LowerContext) -> LayerCall:
    """The LayerCall of tg_dsp_conv_s8 for a CONV_2D layer, or Declined."""
    parts = im2col_parts(layer, ctx)
    out_d, triples = layer.out_d, parts.triples
    groups = f"{triples} channel triples, then pairs" if triples else "channel pairs"
    c_w, r_w = ctx.const("weights", "int8_t",
                         im2col_weight_layout(parts.filt, parts.order, triples),
                         f"{out_d}x{layer.f_h}x{layer.f_w}x{layer.in_d} int8 filter in "
                         f"{groups} in column order, 4 values interleaved (tg_dsp_conv.h)")
    return LayerCall(
        op=op,
        kernel="tg_dsp_conv_s8",
        params_type="tg_dsp_conv_params_t",
        params=dict(parts.params, weights=r_w),
        args=[TensorArg(layer.inp.index), TensorArg(layer.out.index), ScratchArg(0)],
        consts=[c_w] + parts.consts,
        scratch=[parts.scratch],
        comment=layer.comment(),
        macs=layer.macs,
        overlaps=_overlaps(layer, ctx),
    )


def _overlaps(layer: ConvLayer, ctx: LowerContext) -> list[Overlap]:
    """The output trailing the input by the rows still read (lowering/inplace.py)."""
    win = layer.win
    d = conv_overlap(layer.batches, layer.in_h, layer.in_w, layer.in_d, win.out_h, win.out_w,
                     layer.out_d, win.stride_h, win.pad_top,
                     align=int(ctx.target.get("arena_alignment", 16)))
    return [] if d is None else [Overlap(output=layer.out.index, input=layer.inp.index,
                                         offset=d)]
