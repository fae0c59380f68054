"""What the `dsp` kernel variants share: when they may run, and the GEMM they lower onto.

The dsp variant is tinygen's own kernels for cores with the Arm DSP extension (SMLAD,
SXTB16: Cortex-M4, M7, M33; `has_dsp` in targets/*.toml).  Its C kernels
(`runtime_c/tg_dsp_*.c`) use the instructions through `tg_acle.h`, which falls back to
plain C computing the same bits anywhere else; so the variant also accepts the host,
where it is only ever asked when named (`--kernels dsp,portable`): that is how the
golden and sanitizer tests run the same kernel source as the device.

FULLY_CONNECTED and 1x1 CONV_2D are one GEMM (`tg_dsp_gemm_s8`): the input zero point is
folded into a per-channel effective bias, the weights are re-laid-out as the words the
kernel's channel-pair passes read (`gemm_weight_layout`), and the requantization constants
are put in the form of its four-instruction requantization, checked to be exact
(`gemm_quant_table`), all here at generation time.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Op
from codegen.ir import CExpr, LayerCall, Overlap, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.inplace import gemm_overlap
from codegen.ops.fully_connected import folded_bias

VARIANT = "dsp"


def require_dsp(ctx: LowerContext) -> None:
    """Decline unless the target's core has the DSP extension (or is the host)."""
    t = ctx.target
    if t.get("kind") == "host" or t.get("has_dsp"):
        return
    raise Declined(f"the core ({t.get('mcpu', t.get('name', 'this target'))}) has no DSP "
                   "extension (SMLAD/SXTB16: Cortex-M4, M7 and M33 have it)")


def gemm_weight_layout(w: np.ndarray) -> np.ndarray:
    """[channels][depth] int8 weights as the int32 words tg_dsp_gemm_s8 reads.

    Zero-padded to a multiple of 3 channels and of 4 depth values; for each channel triple
    (c, c+1, c+2) and each 4-value step k, the little-endian words of w[c][4k..4k+3],
    w[c+1][4k..4k+3] and w[c+2][4k..4k+3].
    """
    channels, depth = w.shape
    quads = -(-depth // 4)
    padded = np.zeros((-(-channels // 3) * 3, quads * 4), np.int8)
    padded[:channels, :depth] = w
    triples = padded.reshape(-1, 3, quads, 4).transpose(0, 2, 1, 3)   # [triple][k][c][4]
    return np.ascontiguousarray(triples).reshape(-1).view("<i4").astype(np.int32)


def gemm_quant_table(weights: np.ndarray, bias: np.ndarray, input_zero_point: int,
                     multiplier: np.ndarray, shift: np.ndarray,
                     output_offset: int) -> tuple[np.ndarray, int]:
    """tg_dsp_gemm_s8's constants (tg_dsp_gemm.h): the biases (input zero point folded in,
    padded to whole channel triples), the [triples][9] int32 requantization table (M', s and
    half of each triple's channels; one triple's 9 words when every channel has the same,
    as in a per-tensor layer) and the offset to add after the shift (`post`).

    Raises Declined where the kernel's requantization (tg_dsp_requantize_hm in
    tg_dsp_requant.h) is not proven equal to TFLite's: a channel needs a Q31 multiplier M in
    [2^30, 2^31) (M' = 2 M - 2^32), a right shift s >= 1, and |h| + 1 + 2^(s-1) < 2^31 for
    h the high product of any possible accumulator (|acc| <= |bias| + 255 * sum |w|); the
    output offset f is folded into the rounding term (half = 2^(s-1) + f 2^s) when that
    stays in range too.  A channel whose output is always the output zero point
    (multiplier 0, or |h| < 2^(s-1) for every input: the rounding shift leaves 0) gets zero
    weights and bias (the caller's `weights` are changed in place) and the constants of a
    plain one-bit shift.
    """
    channels = weights.shape[0]
    eff = folded_bias(bias, weights, input_zero_point).astype(np.int64)
    mult = np.broadcast_to(np.asarray(multiplier, np.int64).reshape(-1), (channels,))
    shf = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (channels,))
    acc_bound = np.abs(np.broadcast_to(np.asarray(bias, np.int64).reshape(-1), (channels,))) \
        + 255 * np.abs(weights.astype(np.int64)).sum(axis=1)
    high_bound = (acc_bound.astype(object) * mult + (1 << 30)) // (1 << 31) + 1   # >= |h|
    right = -shf
    const = (mult == 0) | ((right >= 1) & (high_bound < 2.0 ** (right - 1)))
    weights[const] = 0
    eff[const] = 0
    mult = np.where(const, 1 << 30, mult)
    right = np.where(const, 1, right)
    high_bound = np.where(const, 1, high_bound)
    if np.any((mult < 1 << 30) | (mult >= 1 << 31)):
        raise Declined("a requantization multiplier outside [2^30, 2^31) (not one TFLite's "
                       "QuantizeMultiplier makes)")
    if np.any(right < 1):
        raise Declined("an effective output scale of 0.5 or more (a left shift in the "
                       "requantization)")
    # the output offset folded into the rounding term where every channel allows it
    # (one add fewer), else added after the shift
    post = 0
    half = (1 << (right - 1)) + int(output_offset) * (1 << right)
    if np.any(high_bound + 1 + np.abs(half) >= 1 << 31):
        post, half = int(output_offset), 1 << (right - 1)
    if np.any(high_bound + 1 + half >= 1 << 31):
        raise Declined("the requantization could leave the int32 range (accumulators too "
                       "large)")
    rq = np.stack([2 * mult - (1 << 32), right, np.broadcast_to(half, (channels,))],
                  axis=1).astype(np.int64)                                  # [channels][3]
    pad = -channels % 3        # padding channels: zero weights, outputs never stored
    biases = np.concatenate([eff, np.zeros(pad, np.int64)]).astype(np.int32)
    rq = np.concatenate([rq, np.repeat(rq[:1], pad, axis=0)])
    if np.all(rq == rq[0]):                 # every channel alike (per-tensor): one triple
        rq = rq[:3]
    # [triples][3][3]: M'0..2, s0..2, half0..2
    return biases, rq.reshape(-1, 3, 3).transpose(0, 2, 1).reshape(-1).astype(np.int32), post


# A GEMM of fewer than 3 rows takes the pairs' pass (a scratch) when the model does this
# many times its multiply-accumulates in all (its pass then costs under 0.3 % more cycles).
ROW_PASS_SHARE = 256


def graph_macs(graph) -> int:
    """The multiply-accumulates of the graph's layers with a constant filter (convolutions,
    depthwise, fully connected): output values x filter values per output channel."""
    total = 0
    for op in graph.ops:
        ins, outs = graph.op_inputs(op), graph.op_outputs(op)
        filt = ins[1] if len(ins) > 1 else None
        if filt is None or not filt.is_const or len(filt.shape) < 2 or not outs or \
                not outs[0].shape or not outs[0].shape[-1]:
            continue
        total += outs[0].num_elements * filt.num_elements // outs[0].shape[-1]
    return total


def pair_gemm_elsewhere(graph, op) -> bool:
    """Whether a layer of the graph other than `op` is a GEMM of 3 rows or more (a 1x1
    convolution, or a fully connected layer with 3 rows or more), whose pairs' pass the
    project then links anyway.  (An estimate made before the other layers are lowered: a
    wrong one costs bytes, never a wrong value.)"""
    for other in graph.ops:
        if other is op or other.opcode not in ("CONV_2D", "FULLY_CONNECTED"):
            continue
        ins, outs = graph.op_inputs(other), graph.op_outputs(other)
        if len(ins) < 2 or not outs or not outs[0].shape or not outs[0].shape[-1]:
            continue
        filt = ins[1]
        if filt is None or other.opcode == "CONV_2D" and (len(filt.shape) != 4 or filt.shape[1:3] != (1, 1)):
            continue
        if outs[0].num_elements // outs[0].shape[-1] >= 3:
            return True
    return False


def require_word_scratch(ctx: LowerContext) -> None:
    """Declined where the target's arena alignment cannot give a kernel's scratch the word
    alignment it reads it with."""
    if int(ctx.target.get("arena_alignment", 16)) % 4:
        raise Declined("the kernel's scratch needs an arena aligned to 4 bytes "
                       "(arena_alignment in the target)")


def gemm_overlaps(out: int, inp: int, rows: int, depth: int, channels: int,
                  gather: dict | None, blocked: bool, ctx: LowerContext) -> list[Overlap]:
    """The GEMM's output over its input where its row order allows (lowering/inplace.py)."""
    d = gemm_overlap(rows, depth, channels, gather, blocked,
                     align=int(ctx.target.get("arena_alignment", 16)))
    return [] if d is None else [Overlap(output=out, input=inp, offset=d)]


def gemm_call(op: Op, ctx: LowerContext, *, rows: int, weights: np.ndarray,
              bias: np.ndarray, input_zero_point: int, multiplier: np.ndarray,
              shift: np.ndarray, output_offset: int, act_min: int, act_max: int,
              inp: int, out: int, comment: str, gather: dict | None = None) -> LayerCall:
    """The LayerCall of tg_dsp_gemm_s8 for `rows` rows of `weights.shape[1]` values.

    `gather` (out_w, out_h, in_w, in_h, stride_w, stride_h) picks the input rows of a
    strided 1x1 convolution (tg_dsp_gemm.h); without it row r is input row r.
    """
    channels, depth = weights.shape
    weights = np.array(weights, dtype=np.int8)          # a copy: dead channels are zeroed
    biases, table, post = gemm_quant_table(weights, bias, input_zero_point, multiplier, shift,
                                           output_offset)
    shared = table.size == 9                 # one requantization for every channel
    quads = -(-depth // 4)
    g = dict(out_w=1, out_h=1, in_w=1, in_h=1, stride_w=1, stride_h=1) if gather is None \
        else gather
    c_w, r_w = ctx.const("weights", "int32_t", gemm_weight_layout(weights),
                         f"{channels}x{depth} int8 weights in channel triples, 4 values a word "
                         "(tg_dsp_gemm.h)")
    c_b, r_b = ctx.const("bias", "int32_t", biases,
                         "biases with the input zero point folded in (channel triples)")
    c_q, r_q = ctx.const("quant", "int32_t", table,
                         ("for every channel: " if shared else "per channel triple: ") +
                         "multipliers 2M - 2^32, right shifts, rounding + offset")
    # rows two at a time from a sign-extended copy (16 bytes per 4 depth values) from 3 rows
    # on; fewer rows (a fully connected layer's batches) stream the weights once per row
    # and keep the RAM, unless the layer is a sliver of a model whose other GEMMs take the
    # pairs (a classifier head after 1x1 convolutions): then it takes them too, so that the
    # project can leave the row pass out (TG_CFG_DSP_GEMM_ROW1: about 700 bytes of code for
    # a few hundred cycles)
    pairs = rows >= 3 or (rows * channels * depth * ROW_PASS_SHARE <= graph_macs(ctx.graph)
                          and pair_gemm_elsewhere(ctx.graph, op))
    scratch = [16 * quads] if pairs else []
    if scratch:
        require_word_scratch(ctx)
    return LayerCall(
        op=op,
        kernel="tg_dsp_gemm_s8",
        params_type="tg_dsp_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, weights=r_w, bias=r_b,
                    quant=r_q, quant_step=0 if shared else 9, output_offset=post,
                    act_min=act_min, act_max=act_max, **g),
        args=[TensorArg(inp), TensorArg(out), ScratchArg(0) if scratch else CExpr("NULL")],
        consts=[c_w, c_b, c_q],
        scratch=scratch,
        comment=comment,
        macs=rows * channels * depth,
        overlaps=gemm_overlaps(out, inp, rows, depth, channels, gather, bool(scratch), ctx),
    )
