"""FULLY_CONNECTED and 1x1 CONV_2D with a sparse filter (codegen/encoding.py "sparse") on
the DSP extension: tg_dsp_sparse_gemm_s8 (runtime_c/tg_dsp_sparse_gemm.h), four rows a
pass from an int16 copy, a cost that follows the non-zero weights.

The constants are those of the portable sparse kernel (the same index stream and weights,
the weights as words: the filter bytes the encoding reports) with the dsp GEMM's effective
biases and requantization table (lowering/dsp_support.py `gemm_quant_table`), one triple (M', s,
half) per channel instead of per channel triple.
"""
from __future__ import annotations

import numpy as np

from codegen.encoding import FilterEncoding
from codegen.graph import Op
from codegen.ir import CExpr, LayerCall, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.compressed_support import sparse_consts
from codegen.lowering.dsp_support import gemm_quant_table, require_word_scratch


def dsp_sparse_call(op: Op, ctx: LowerContext, enc: FilterEncoding, *, rows: int,
                    weights: np.ndarray, bias, input_zero_point: int, multiplier, shift,
                    output_offset: int, act_min: int, act_max: int, inp: int, out: int,
                    comment: str, macs: int, gather: dict | None = None,
                    per_channel: bool = True) -> LayerCall:
    """The LayerCall of tg_dsp_sparse_gemm_s8 (`gather` as for lowering/dsp_support.gemm_call;
    `per_channel` is not needed: the requantization table tells)."""
    channels, depth = weights.shape
    w = np.array(weights, dtype=np.int8)
    biases, table, post = gemm_quant_table(w, bias, input_zero_point, multiplier, shift,
                                           output_offset)
    if not np.array_equal(w, weights):
        # gemm_quant_table zeroed a channel whose output is constant; its stored entries
        # would still be summed
        raise Declined("a channel's output is always the zero point (its requantization "
                       "leaves nothing of the sum): the sparse GEMM would still sum it")
    # [triples][M'0..2, s0..2, half0..2] -> [channels][M', s, half]
    per_ch = table.reshape(-1, 3, 3).transpose(0, 2, 1).reshape(-1, 3)
    shared = table.size == 9 and bool(np.all(per_ch == per_ch[0]))
    quant = per_ch[:1] if shared else per_ch[:channels]
    require_word_scratch(ctx)
    g = dict(out_w=1, out_h=1, in_w=1, in_h=1, stride_w=1, stride_h=1) if gather is None \
        else gather
    # the weights as words (4-byte aligned in the weights struct): one LDR a group
    c_i, r_i, c_v, r_v = sparse_consts(ctx, enc, channels, depth, words=True)
    c_b, r_b = ctx.const("bias", "int32_t", biases[:channels],
                         "biases with the input zero point folded in")
    c_q, r_q = ctx.const("quant", "int32_t", quant.reshape(-1),
                         ("for every channel: " if shared else "per channel: ") +
                         "multiplier 2M - 2^32, right shift, rounding + offset")
    # four rows as int16 pairs (32 bytes per 4 depth values); one row reads in place
    scratch = [32 * -(-depth // 4)] if rows > 1 else []
    return LayerCall(
        op=op, kernel="tg_dsp_sparse_gemm_s8", params_type="tg_dsp_sparse_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, index=r_i, weights=r_v,
                    bias=r_b, quant=r_q, quant_step=0 if shared else 3, output_offset=post,
                    act_min=act_min, act_max=act_max, **g),
        args=[TensorArg(inp), TensorArg(out), ScratchArg(0) if scratch else CExpr("NULL")],
        consts=[c_i, c_v, c_b, c_q], scratch=scratch,
        comment=comment + f"; filter {enc.label()}", macs=macs)
