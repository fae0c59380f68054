"""The dsp kernel variant beyond the GEMM and depthwise kernels (tests/test_dsp_kernels.py):
the int8 LSTM (runtime_c/tg_dsp_lstm.c), bit-exact with TFLM on the host with the plain-C
twins of the DSP instructions (kernels=["dsp", "portable"]), also under ASan/UBSan.
"""
from __future__ import annotations

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.lowering.lstm.dsp import lstm_weight_layout
from tests.harness import assert_bit_exact
from tests.test_op_lstm import CASES, _build, add_lstm, run_and_compare

DSP = ["dsp", "portable"]


def kernels_of(gen) -> list[str]:
    return [layer.call.kernel for layer in gen.program.layers]


# ---------------------------------------------------------------- LSTM
@pytest.mark.parametrize("units,depth", [(1, 1), (2, 4), (3, 7), (5, 8), (2, 13)])
def test_lstm_weight_layout_is_the_documented_order(units, depth):
    rng = np.random.default_rng(units * 31 + depth)
    gates = [rng.integers(-128, 128, (units, depth)).astype(np.int8) for _ in range(4)]
    got = lstm_weight_layout(gates).astype(np.int64)
    quads, tail = divmod(depth, 4)
    block = 2 * depth + 2 * tail
    assert got.size == units * block

    def lanes(word):                         # the two int16 halves, low first
        lo, hi = word & 0xFFFF, (word >> 16) & 0xFFFF
        return [lo - 0x10000 * (lo >= 0x8000), hi - 0x10000 * (hi >= 0x8000)]
    for u in range(units):
        pos = u * block
        for k in range(quads):
            for g in range(4):
                w = gates[g][u, 4 * k:4 * k + 4].tolist()
                assert lanes(got[pos]) == [w[0], w[2]] and lanes(got[pos + 1]) == [w[1], w[3]]
                pos += 2
        for g in range(4):
            assert got[pos:pos + tail].tolist() == gates[g][u, 4 * quads:].tolist()
            pos += tail


# every case of test_op_lstm (depths 1..40: every tail of the 8- and 4-value steps, batch-
# and time-major, zero points -128/127, cell scales and clips, saturation), two models
@pytest.mark.parametrize("half", [0, 1])
def test_lstm_dsp_bit_exact_with_state_and_reset(half, tmp_path):
    cases = CASES[half::2]
    gen = run_and_compare(_build(cases), tmp_path, seed=21 + half, invokes=2, after_reset=1,
                          kernels=DSP)
    assert kernels_of(gen) == ["tg_dsp_lstm_s8_s16"] * len(cases)


def test_lstm_dsp_clean_under_sanitizers(tmp_path):
    m = ModelWriter()
    rng = np.random.default_rng(23)
    add_lstm(m, rng, "a", 2, 3, 7, 5, False, x_zp=-128, h_zp=127, cell_clip=1.0)
    add_lstm(m, rng, "b", 3, 2, 9, 6, True)
    res = assert_bit_exact(m.build(), tmp_path, count=2, seed=23, kernels=DSP, sanitize=True)
    assert kernels_of(res.gen) == ["tg_dsp_lstm_s8_s16"] * 2
