"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 x int8 -> int16 cell): TFLM's integer LSTM Prepare maths
(gate multipliers, cell scale, clip), kernel-neutral.

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
Q0.15.  The zero points of x and h are folded into per-gate biases
(`LstmLayer.folded_biases`):
    acc = sum_d w[d] * (v[d] - zp) + b = (b - zp * sum_d w[d]) + sum_d w[d] * v[d]
The multipliers are computed as TFLM's Prepare computes them (see
`fc_multiplier` for the one float32 rounding of the pinned TFLM).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.ops.fully_connected import folded_bias

GATE_FC_SCALE = 2.0 ** -12      # FC outputs: int16 Q3.12, the activations' input


GATE_OUT_SCALE = 2.0 ** -15     # sigmoid/tanh outputs: int16 Q0.15


# TFLite's table of sigmoid(k/24), k = 0..255, in unsigned 0.16 fixed point, which its
# int16 LOGISTIC and TANH interpolate (common.h `sigmoid_table_uint16`).  The values are
# not round(65536 * sigmoid(k/24)) everywhere (they are tuned for the interpolation), so
# they are given as data: bit-exactness needs these exact numbers.
SIGMOID_TABLE = (
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794,
    41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443,
    48964, 49475, 49975, 50464, 50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374,
    54755, 55125, 55485, 55834, 56174, 56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544,
    58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279,
    61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886, 62990,
    63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968, 64030,
    64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652,
    64687, 64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019,
    65039, 65060, 65079, 65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234,
    65246, 65258, 65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425, 65429, 65433,
    65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465, 65468, 65471, 65474, 65476,
    65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498, 65500, 65501,
    65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524,
    65525, 65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529,
    65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532,
    65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65533, 65534, 65534,
    65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65535,
)


assert len(SIGMOID_TABLE) == 256


def fc_multiplier(in_scale: float, w_scale: float) -> tuple[int, int]:
    """A gate FC's multiplier to Q3.12: in_scale * w_scale / 2^-12, all in double.

    TFLM's CreateGateParams goes through CalculateOpDataFullyConnected without a
    bias.  The tflite-micro source at the models' commit rounds in_scale * w_scale
    to float32 there; the pinned tflite_micro package computes it in double (as
    for FULLY_CONNECTED, see lowering/common.py), and that package is the
    reference: test_op_lstm.py has a case that tells the two apart.
    """
    return quant.quantize_multiplier(float(in_scale) * float(w_scale) / GATE_FC_SCALE)


def gate_mul_multiplier(scale1: float, scale2: float, out_scale: float) -> tuple[int, int]:
    """CreateInterGateMulParams: scale1 * scale2 / out_scale in double."""
    return quant.quantize_multiplier(float(scale1) * float(scale2) / float(out_scale))


def cell_scale_power(scale: float) -> tuple[int, bool]:
    """CheckedLog2 of the cell state scale in float32: (rounded log2, is a power of two)."""
    f32 = np.float32
    x_log2 = f32(np.log(f32(scale))) * (f32(1.0) / f32(np.log(f32(2.0))))
    rounded = np.float32(quant.round_half_away(float(x_log2)))
    return int(rounded), bool(abs(float(np.float32(x_log2 - rounded))) < 1e-3)


def cell_tanh_prescale(power: int) -> tuple[int, int]:
    """(multiplier, right shift) taking the cell state (scale 2^power) to Q3.12 times 3.

    TFLM's lstm Tanh helper: left shift 15 + power - 3 folded into the
    multiplier 3 << shift when it is not negative, else a rounding right shift.
    """
    shift = 15 + power - 3
    if shift >= 0:
        return 3 << shift, 0
    return 3, -shift


def quantized_cell_clip(cell_clip: float, cell_scale: float) -> int:
    """clip / scale in double, limited to int16 and truncated (static_cast)."""
    v = min(max(float(np.float32(cell_clip)) / float(np.float32(cell_scale)), -32768.0), 32767.0)
    return int(v)


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


@dataclass
class LstmLayer:
    """An int8 (or 16x8) LSTM checked and analysed: shapes and TFLM's Prepare numbers,
    kernel-neutral."""

    x: Tensor
    out: Tensor
    hidden: Tensor
    cell: Tensor
    time_major: bool
    batch: int
    time_steps: int
    input_size: int
    units: int
    input_weights: list          # 4 int8 [units, input_size], gates input, forget, cell, output
    recurrent_weights: list      # 4 int8 [units, units]
    folded_biases: list          # 8 int32 [units]: gate k from x (2k) and from h (2k + 1)
    fc_multiplier: list          # 8, same order: Q31 multipliers to Q3.12
    fc_shift: list
    forget_multiplier: int       # f (Q0.15) * c -> c
    forget_shift: int
    input_multiplier: int        # i (Q0.15) * g (Q0.15) -> c
    input_shift: int
    hidden_multiplier: int       # o (Q0.15) * tanh(c) (Q0.15) -> h
    hidden_shift: int
    hidden_offset: int
    use_cell_clip: bool          # clip c to [-cell_clip, cell_clip]
    cell_clip: int               # quantized (0 when not used)
    cell_clip_real: float        # the option, float32
    cell_tanh_multiplier: int
    cell_tanh_shift: int

    @property
    def sequences(self) -> int:
        """Independent sequences run one after another (batch-major: one per batch row)."""
        return 1 if self.time_major else self.batch

    @property
    def rows(self) -> int:
        """Batch rows computed together in one step (time-major: all of them)."""
        return self.batch if self.time_major else 1

    @property
    def is_16x8(self) -> bool:
        """int16 activations and hidden state (TFLite's 16x8 quantization), int64 biases."""
        return self.x.dtype == "int16"

    @property
    def macs(self) -> int:
        return self.batch * self.time_steps * 4 * self.units * (self.input_size + self.units)

    def comment(self) -> str:
        layout = "time major" if self.time_major else "batch major"
        clip = f", cell clip {self.cell_clip_real:g}" if self.use_cell_clip else ""
        return (f"UNIDIRECTIONAL_SEQUENCE_LSTM {self.x.shape_str()} ({layout}) -> "
                f"{self.out.shape_str()}, {self.units} units, {self.x.dtype} activations, "
                f"int16 cell state{clip}")


def _present(ins: list[Tensor | None], positions) -> list[int]:
    return [k for k in positions if k < len(ins) and ins[k] is not None]


def analyse_lstm(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)) -> LstmLayer:
    """Check an UNIDIRECTIONAL_SEQUENCE_LSTM (raising a clear error) and compute TFLM's numbers.

    `activations`: the input/output types the calling kernel takes (int8; int16 for the 16x8
    LSTM: int64 biases, 64-bit accumulation, TFLM's EvalLstm<int16_t, int8_t, int16_t,
    int64_t>).  Appends a warning to `g.warnings` when the cell state scale is not a power of
    two.
    """
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
    require_dtype(op, g, x, activations, "input")
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
    clip = float(np.float32(op.options.get("cell_clip", 0.0)))
    return LstmLayer(
        x=x, out=out, hidden=hidden, cell=cell, time_major=time_major, batch=batch,
        time_steps=time_steps, input_size=input_size, units=units, input_weights=in_w,
        recurrent_weights=rec_w, folded_biases=biases, fc_multiplier=fc_mult,
        fc_shift=fc_shift, forget_multiplier=forget_m, forget_shift=forget_s,
        input_multiplier=input_m, input_shift=input_s, hidden_multiplier=hidden_m,
        hidden_shift=hidden_s, hidden_offset=h_q.scalar_zero_point,
        use_cell_clip=clip > 0, cell_clip=quantized_cell_clip(clip, c_scale) if clip > 0 else 0,
        cell_clip_real=clip, cell_tanh_multiplier=tanh_mult, cell_tanh_shift=tanh_shift)
