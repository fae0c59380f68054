"""UNIDIRECTIONAL_SEQUENCE_LSTM: int8 activations and weights, int16 cell state, on the
portable kernel tg_lstm_s8_s16; and the 16x8 LSTM (int16 activations and hidden state, int8
weights, int64 biases: TFLM's EvalLstm<int16_t, int8_t, int16_t, int64_t>, kernel
tg_lstm_s16), which differs only in accumulating the gates' fully connected parts in 64 bits.
What the layer means, its checks and TFLM's numbers are in codegen/ops/lstm.py
(`analyse_lstm`).
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.lstm import SIGMOID_TABLE, LstmLayer, analyse_lstm


def quant_consts(ctx: LowerContext, s: LstmLayer):
    """The constants the portable and dsp kernels share: the gates' fully connected
    requantization and the sigmoid table, as ([consts], fc_multiplier, fc_shift, table)."""
    c_m, r_m = ctx.const("fc_multiplier", "int32_t", np.array(s.fc_multiplier, dtype=np.int32),
                         "[gate][from x, from h] Q31 multipliers to Q3.12")
    c_s, r_s = ctx.const("fc_shift", "int32_t", np.array(s.fc_shift, dtype=np.int32),
                         "[gate][from x, from h] shifts to Q3.12")
    c_t, r_t = ctx.const("sigmoid_table", "uint16_t", np.array(SIGMOID_TABLE, dtype=np.uint16),
                         "sigmoid(k/24) in 0.16, TFLite's int16 sigmoid/tanh table")
    return [c_m, c_s, c_t], r_m, r_s, r_t


def cell_params(s: LstmLayer, sigmoid_table) -> dict:
    """The fields of tg_lstm_cell_t (runtime_c/tg_lstm_act.h): a unit's cell and hidden
    update (the `cell` of the portable params; tg_dsp_lstm_params_t has them at its top
    level)."""
    return dict(forget_multiplier=s.forget_multiplier, forget_shift=s.forget_shift,
                input_multiplier=s.input_multiplier, input_shift=s.input_shift,
                hidden_multiplier=s.hidden_multiplier, hidden_shift=s.hidden_shift,
                hidden_offset=s.hidden_offset,
                use_cell_clip=int(s.use_cell_clip), cell_clip=s.cell_clip,
                cell_tanh_multiplier=s.cell_tanh_multiplier,
                cell_tanh_shift=s.cell_tanh_shift, sigmoid_table=sigmoid_table)


@register("UNIDIRECTIONAL_SEQUENCE_LSTM")
def lower_lstm(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    s = analyse_lstm(op, g, ("int8", "int16"))
    units, input_size = s.units, s.input_size
    c_iw, r_iw = ctx.const("input_weights", "int8_t", np.stack(s.input_weights),
                           f"[gate][{units}][{input_size}] input-to-gate weights "
                           "(input, forget, cell, output)")
    c_rw, r_rw = ctx.const("recurrent_weights", "int8_t", np.stack(s.recurrent_weights),
                           f"[gate][{units}][{units}] recurrent weights")
    c_b, r_b = ctx.const("bias", "int64_t" if s.is_16x8 else "int32_t", np.stack(s.folded_biases),
                         "[gate][from x, from h][units] biases with the zero points folded in")
    c_q, r_m, r_s, r_t = quant_consts(ctx, s)
    return LayerCall(
        op=op,
        kernel="tg_lstm_s16" if s.is_16x8 else "tg_lstm_s8_s16",
        params_type="tg_lstm_s16_params_t" if s.is_16x8 else "tg_lstm_params_t",
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
