"""RSQRT, int8 (a lookup table of TFLM's integer arithmetic) against TFLM."""
import zlib

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.ops.rsqrt import inv_sqrt_multiplier_exp, rsqrt_table
from tests.harness import assert_bit_exact
from tests.lut_helpers import random_quant


def rsqrt_model(shape, in_q, out_q) -> bytes:
    m = ModelWriter()
    x = m.tensor("x", shape, "int8", scale=in_q[0], zero_point=in_q[1])
    y = m.tensor("y", shape, "int8", scale=out_q[0], zero_point=out_q[1])
    m.op("RSQRT", [x], [y])
    m.inputs, m.outputs = [x], [y]
    return m.build()


def valid_inputs(shape, zp, rng) -> np.ndarray:
    """Inputs at or above the zero point: TFLM refuses the others."""
    return rng.integers(zp, 128, shape).astype(np.int8)


def tflm_valid_table(in_q, out_q) -> np.ndarray:
    """TFLM's output for every input from the zero point up."""
    from tflite_micro.python.tflite_micro import runtime

    n = 128 - in_q[1]
    it = runtime.Interpreter.from_bytes(rsqrt_model((1, n), in_q, out_q), arena_size=1 << 16)
    it.set_input(np.arange(in_q[1], 128, dtype=np.int8).reshape(1, n), 0)
    it.invoke()
    return np.array(it.get_output(0)).reshape(-1)


def test_tables_match_tflm():
    """Every valid input of 120 random quantizations (scales over 3.5 decades, zero points
    at both ends first)."""
    rng = np.random.default_rng(zlib.crc32(b"rsqrt tables"))
    for k in range(120):
        in_q, out_q = random_quant(rng, -3.0, 0.5), random_quant(rng, -3.0, 0.5)
        if k < 3:
            in_q = (in_q[0], [-128, 126, 0][k])
        got = rsqrt_table(*in_q, *out_q)[in_q[1] + 128:]
        want = tflm_valid_table(in_q, out_q)
        assert np.array_equal(got, want), (in_q, out_q, np.nonzero(got != want)[0][:8])


def test_inv_sqrt_multiplier():
    for v in (2, 3, 100, 255, 1 << 20, (1 << 29) + 5, (1 << 31) - 1):
        m, s = inv_sqrt_multiplier_exp(v)
        got = m * 2.0 ** (s - 31)
        assert abs(got * np.sqrt(v) - 1) < 2e-6, v   # five Newton steps from 1
    assert inv_sqrt_multiplier_exp(1) == ((1 << 31) - 1, 0)


CASES = [((1, 8, 8, 4), (0.05, -128), (0.02, -100)),
         ((2, 33), (0.0003, -128), (0.5, -128)),
         ((3, 7, 5), (0.1, -20), (0.01, 40))]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_rsqrt_end_to_end(case, tmp_path):
    shape, in_q, out_q = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    runs = [[valid_inputs(shape, in_q[1], rng)] for _ in range(3)]
    result = assert_bit_exact(rsqrt_model(shape, in_q, out_q), tmp_path, inputs=runs)
    assert [l.call.kernel for l in result.gen.program.layers] == ["tg_lookup_s8_s8"]
    if in_q[1] == -128:   # else the reference's probe meets inputs below the zero point,
        assert result.reference.startswith("TFLM")   # which TFLM refuses: LiteRT judges
