"""UNIDIRECTIONAL_SEQUENCE_LSTM on the DSP extension (tg_dsp_lstm_s8_s16): the layer of
codegen/ops/lstm.py (`analyse_lstm`, the same numbers as the portable kernel), its gate
weights widened to int16 pairs in the order the kernel's SMLADs consume them
(`lstm_weight_layout`), the zero points of x and h folded into the biases."""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.lowering.dsp_support import VARIANT, require_dsp
from codegen.ops.fully_connected import wrap_int32
from codegen.lowering.lstm.portable import cell_params, quant_consts
from codegen.ops.lstm import analyse_lstm


def lstm_weight_layout(gates: list[np.ndarray]) -> np.ndarray:
    """Four gates' int8 [units, depth] weights as tg_dsp_lstm_s8_s16 reads them (int32 words).

    Per unit: for each group of 4 depth values d and each gate, the int16 pairs
    (w[d], w[d+2]) and (w[d+1], w[d+3]) as two words (low half first); then each gate's
    depth % 4 last weights, one int32 each (tg_dsp_lstm.h).
    """
    w = np.stack(gates).astype(np.int64)            # [gate, unit, depth]
    _, units, depth = w.shape
    quads, tail = divmod(depth, 4)
    q = w[:, :, :quads * 4].reshape(4, units, quads, 4)
    even = (q[..., 0] & 0xFFFF) | (q[..., 2] << 16)
    odd = (q[..., 1] & 0xFFFF) | (q[..., 3] << 16)
    words = np.stack([even, odd], axis=-1)          # [gate, unit, quad, 2]
    words = words.transpose(1, 2, 0, 3).reshape(units, quads * 8)
    tails = w[:, :, quads * 4:].transpose(1, 0, 2).reshape(units, 4 * tail)
    return wrap_int32(np.concatenate([words, tails], axis=1).reshape(-1))


@register("UNIDIRECTIONAL_SEQUENCE_LSTM", variant=VARIANT)
def lower_lstm_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    s = analyse_lstm(op, g)
    units, input_size = s.units, s.input_size
    c_iw, r_iw = ctx.const("input_weights", "int32_t", lstm_weight_layout(s.input_weights),
                           f"{units} units x {input_size} inputs x 4 gates, int16 pairs "
                           "(tg_dsp_lstm.h)")
    c_rw, r_rw = ctx.const("recurrent_weights", "int32_t",
                           lstm_weight_layout(s.recurrent_weights),
                           f"{units} units x {units} recurrent x 4 gates, int16 pairs "
                           "(tg_dsp_lstm.h)")
    bias = np.stack(s.folded_biases).reshape(4, 2, units).transpose(2, 0, 1).reshape(-1)
    c_b, r_b = ctx.const("bias", "int32_t", bias.astype(np.int32),
                         "[units][gate][from x, from h] biases with the zero points folded in")
    c_q, r_m, r_s, r_t = quant_consts(ctx, s)
    return LayerCall(
        op=op,
        kernel="tg_dsp_lstm_s8_s16",
        params_type="tg_dsp_lstm_params_t",
        params=dict(sequences=s.sequences, time_steps=s.time_steps, rows=s.rows,
                    input_size=input_size, units=units,
                    input_weights=r_iw, recurrent_weights=r_rw, bias=r_b,
                    fc_multiplier=r_m, fc_shift=r_s, cell=cell_params(s, r_t)),
        args=[TensorArg(s.x.index), TensorArg(s.out.index), TensorArg(s.hidden.index),
              TensorArg(s.cell.index)],
        consts=[c_iw, c_rw, c_b, *c_q],
        comment=s.comment(),
        macs=s.macs,
    )
