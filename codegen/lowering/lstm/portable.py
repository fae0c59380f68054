"""UNIDIRECTIONAL_SEQUENCE_LSTM: int8 activations and weights, int16 cell state; and the
16x8 LSTM (int16 activations and hidden state, int8 weights, int64 biases: TFLM's
EvalLstm<int16_t, int8_t, int16_t, int64_t>, kernel tg_lstm_s16), which differs only in
accumulating the gates' fully connected parts in 64 bits.

What TFLM runs (unidirectional_sequence_lstm.cc, lstm_eval*.cc): the standard
four-gate LSTM of Keras, 24 inputs of which these are used

    0  x: int8 [batch, time, input] (or [time, batch, input] if time_major)
    1-4  input-to-{input, forget, cell, output} weights: int8 [units, input]
    5-8  recurrent-to-{input, forget, cell, output} weights: int8 [units, units]
    12-15  {input, forget, cell, output} gate biases: int32 [units]
    18 hidden state h: int8 variable, the activation type, [batch, units]
    19 cell state c: int16 variable, [batch, units]

and peephole (9-11), projection (16-17) and layer norm (20-23) absent, as
TFLM requires.  The flatbuffer's "intermediate" tensors (the converter's
gate scales for TFLite's own integer LSTM) play no part in TFLM's kernel.

Every gate is FC(x) + FC(h), each requantized on its own to int16 with scale
2^-12 (Q3.12) and added with saturation; the gates' sigmoid/tanh output is
Q0.15.  The zero points of x and h are folded into per-gate biases here:
    acc = sum_d w[d] * (v[d] - zp) + b = (b - zp * sum_d w[d]) + sum_d w[d] * v[d]
The multipliers are computed as TFLM's Prepare computes them (see
`_fc_multiplier` for the one float32 rounding of the pinned TFLM).
"""
from __future__ import annotations

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.fully_connected import folded_bias
from codegen.ops.lstm import (GATE_OUT_SCALE, SIGMOID_TABLE, cell_scale_power, cell_tanh_prescale,
                              fc_multiplier, gate_mul_multiplier, quantized_cell_clip)

# Input positions (TFLite's lstm_shared.h), and the gate order of tg_lstm.h.
X = 0
GATES = ("input", "forget", "cell", "output")
INPUT_WEIGHTS = (1, 2, 3, 4)
RECURRENT_WEIGHTS = (5, 6, 7, 8)
PEEPHOLE = (9, 10, 11)
BIASES = (12, 13, 14, 15)
PROJECTION = (16, 17)
HIDDEN_STATE, CELL_STATE = 18, 19
LAYER_NORM = (20, 21, 22, 23)

TANH = 4                        # ActivationFunctionType TANH, the cell gate's activation


def _present(ins: list[Tensor | None], positions) -> list[int]:
    return [k for k in positions if k < len(ins) and ins[k] is not None]


@register("UNIDIRECTIONAL_SEQUENCE_LSTM")
def lower_lstm(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = g.op_inputs(op)
    outs = g.op_outputs(op)
    if len(ins) != 24 or len(outs) != 1:
        raise unsupported(op, g, f"it has {len(ins)} inputs and {len(outs)} outputs; TFLM's "
                          "kernel takes 24 inputs and 1 output")
    for what, positions in (("peephole weights", PEEPHOLE), ("projection", PROJECTION),
                            ("layer normalization", LAYER_NORM)):
        if _present(ins, positions):
            raise unsupported(op, g, f"an LSTM with {what} (inputs {_present(ins, positions)}) "
                              "is not supported; TFLM's kernel runs only the standard LSTM")
    if ins[INPUT_WEIGHTS[0]] is None or ins[RECURRENT_WEIGHTS[0]] is None:
        raise unsupported(op, g, "a coupled input-forget gate (CIFG: no input gate weights) "
                          "is not supported; TFLM's kernel needs all four gates")
    if op.options.get("diagonal_recurrent_tensors", False):
        raise unsupported(op, g, "diagonal recurrent weights are not supported")
    act = op.options.get("fused_activation_function", 0)
    if act != TANH:
        raise unsupported(op, g, f"cell gate activation {quant.fused_activation_name(act)} is "
                          "not supported; TFLM's integer LSTM supports TANH")

    x, out = ins[X], outs[0]
    hidden, cell = ins[HIDDEN_STATE], ins[CELL_STATE]
    require_dtype(op, g, x, ("int8", "int16"), "input")
    require_dtype(op, g, out, (x.dtype,), "output")
    require_dtype(op, g, hidden, (x.dtype,), "hidden state")
    s16 = x.dtype == "int16"         # 16x8: int64 biases, 64-bit accumulation
    bias_dtype = "int64" if s16 else "int32"
    require_dtype(op, g, cell, ("int16",), "cell state")
    for t, role in ((hidden, "hidden state"), (cell, "cell state")):
        if not t.is_variable:
            raise unsupported(op, g, f"{role} '{t.name}' is not a variable tensor, as TFLM "
                              "requires")
    x_q = require_quant(op, g, x, "input")
    h_q = require_quant(op, g, hidden, "hidden state")
    c_q = require_quant(op, g, cell, "cell state")

    if len(x.shape) != 3 or len(out.shape) != 3:
        raise unsupported(op, g, f"input {list(x.shape)} and output {list(out.shape)} must be "
                          "3-D")
    time_major = bool(op.options.get("time_major", False))
    if time_major:
        time_steps, batch, input_size = x.shape
    else:
        batch, time_steps, input_size = x.shape
    units = ins[INPUT_WEIGHTS[1]].shape[0] if ins[INPUT_WEIGHTS[1]] is not None else 0
    if tuple(out.shape) != (x.shape[0], x.shape[1], units) or units < 1:
        raise unsupported(op, g, f"output shape {list(out.shape)} should be "
                          f"{[x.shape[0], x.shape[1], units]}")
    if hidden.num_elements != batch * units or cell.num_elements != batch * units:
        raise unsupported(op, g, f"hidden and cell states must hold {batch}x{units} values")

    in_w, rec_w, biases, fc_mult, fc_shift = [], [], [], [], []
    for k, gate in enumerate(GATES):
        w, r, b = ins[INPUT_WEIGHTS[k]], ins[RECURRENT_WEIGHTS[k]], ins[BIASES[k]]
        for t, role, shape in ((w, f"input-to-{gate} weights", (units, input_size)),
                               (r, f"recurrent-to-{gate} weights", (units, units))):
            require_dtype(op, g, t, ("int8",), role)
            if not t.is_const:
                raise unsupported(op, g, f"{role} '{t.name}' are not constant")
            if tuple(t.shape) != shape:
                raise unsupported(op, g, f"{role} have shape {list(t.shape)}, expected "
                                  f"{list(shape)}")
            q = require_quant(op, g, t, role)
            if q.scalar_zero_point != 0:
                raise unsupported(op, g, f"{role} must be symmetrically quantized "
                                  "(zero point 0), as TFLM requires")
        require_dtype(op, g, b, (bias_dtype,), f"{gate} gate bias")
        if not b.is_const or b.num_elements != units:
            raise unsupported(op, g, f"{gate} gate bias '{b.name}' must be a constant of "
                              f"{units} {bias_dtype} values")
        in_w.append(w.data.astype(np.int8))
        rec_w.append(r.data.astype(np.int8))
        if s16:      # the zero points folded in 64 bits, where TFLM accumulates
            for bias, wts, zp in ((b.data.reshape(units), w.data, x_q.scalar_zero_point),
                                  (0, r.data, h_q.scalar_zero_point)):
                biases.append(np.asarray(bias, dtype=np.int64) -
                              int(zp) * np.asarray(wts, dtype=np.int64).sum(axis=1))
        else:
            biases.append(folded_bias(b.data.reshape(units), w.data, x_q.scalar_zero_point))
            biases.append(folded_bias(0, r.data, h_q.scalar_zero_point))
        for v_scale, t in ((x_q.scalar_scale, w), (h_q.scalar_scale, r)):
            m, s = fc_multiplier(v_scale, t.quant.scalar_scale)
            fc_mult.append(m)
            fc_shift.append(s)

    c_scale = c_q.scalar_scale
    power, exact = cell_scale_power(c_scale)
    if not exact:
        g.warnings.append(f"{op.describe()}: cell state scale {c_scale:g} is not a power of two; "
                          f"its tanh uses 2^{power} as TFLM does")
    tanh_mult, tanh_shift = cell_tanh_prescale(power)
    if tanh_mult * 32768 > (1 << 31) - 1 or tanh_shift > 30:
        raise unsupported(op, g, f"cell state scale {c_scale:g} (2^{power}) is out of the range "
                          "TFLM's int16 tanh can rescale without overflow")
    forget_m, forget_s = gate_mul_multiplier(GATE_OUT_SCALE, c_scale, c_scale)
    input_m, input_s = gate_mul_multiplier(GATE_OUT_SCALE, GATE_OUT_SCALE, c_scale)
    hidden_m, hidden_s = gate_mul_multiplier(GATE_OUT_SCALE, GATE_OUT_SCALE, h_q.scalar_scale)
    cell_clip = float(np.float32(op.options.get("cell_clip", 0.0)))
    use_clip = cell_clip > 0

    sequences, rows = (1, batch) if time_major else (batch, 1)
    c_iw, r_iw = ctx.const("input_weights", "int8_t", np.stack(in_w),
                           f"[gate][{units}][{input_size}] input-to-gate weights "
                           "(input, forget, cell, output)")
    c_rw, r_rw = ctx.const("recurrent_weights", "int8_t", np.stack(rec_w),
                           f"[gate][{units}][{units}] recurrent weights")
    c_b, r_b = ctx.const("bias", f"{bias_dtype}_t", np.stack(biases),
                         "[gate][from x, from h][units] biases with the zero points folded in")
    c_m, r_m = ctx.const("fc_multiplier", "int32_t", np.array(fc_mult, dtype=np.int32),
                         "[gate][from x, from h] Q31 multipliers to Q3.12")
    c_s, r_s = ctx.const("fc_shift", "int32_t", np.array(fc_shift, dtype=np.int32),
                         "[gate][from x, from h] shifts to Q3.12")
    c_t, r_t = ctx.const("sigmoid_table", "uint16_t", np.array(SIGMOID_TABLE, dtype=np.uint16),
                         "sigmoid(k/24) in 0.16, TFLite's int16 sigmoid/tanh table")
    layout = "time major" if time_major else "batch major"
    return LayerCall(
        op=op,
        kernel="tg_lstm_s16" if s16 else "tg_lstm_s8_s16",
        params_type="tg_lstm_s16_params_t" if s16 else "tg_lstm_params_t",
        params=dict(sequences=sequences, time_steps=time_steps, rows=rows,
                    input_size=input_size, units=units,
                    input_weights=r_iw, recurrent_weights=r_rw, bias=r_b,
                    fc_multiplier=r_m, fc_shift=r_s,
                    forget_multiplier=forget_m, forget_shift=forget_s,
                    input_multiplier=input_m, input_shift=input_s,
                    hidden_multiplier=hidden_m, hidden_shift=hidden_s,
                    hidden_offset=h_q.scalar_zero_point,
                    use_cell_clip=int(use_clip),
                    cell_clip=quantized_cell_clip(cell_clip, c_scale) if use_clip else 0,
                    cell_tanh_multiplier=tanh_mult, cell_tanh_shift=tanh_shift,
                    sigmoid_table=r_t),
        args=[TensorArg(x.index), TensorArg(out.index), TensorArg(hidden.index),
              TensorArg(cell.index)],
        consts=[c_iw, c_rw, c_b, c_m, c_s, c_t],
        comment=f"UNIDIRECTIONAL_SEQUENCE_LSTM {x.shape_str()} ({layout}) -> {out.shape_str()}, "
                f"{units} units, {x.dtype} activations, int16 cell state"
                + (f", cell clip {cell_clip:g}" if use_clip else ""),
        macs=batch * time_steps * 4 * units * (input_size + units),
    )
