"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 x int8 -> int16 cell): TFLM's integer LSTM Prepare maths
(gate multipliers, cell scale, clip), kernel-neutral.
"""
from __future__ import annotations

import numpy as np

from codegen import quant

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
