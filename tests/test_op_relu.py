"""RELU, RELU6, LEAKY_RELU (int8 lookup tables) against TFLM; RELU_N1_TO_1 against its formula.

Each table is checked over all 256 inputs against TFLM for many quantizations
(TFLM only, no C build: fast), then the generated C is checked end to end on a
few shapes.
"""
import zlib

import numpy as np
import pytest

from codegen.generate import generate
from codegen.toolchain.host import HostModel
from codegen.ops.relu import leaky_relu_table, relu6_table, relu_n1_to_1_table, relu_table
from tests.harness import assert_bit_exact
from tests.lut_helpers import (assert_same_table, every_int8_value, random_quant, tflm_table,
                               unary_model)


def _table(opcode, in_q, out_q, alpha=None, tflm=False):
    if opcode == "RELU":
        return relu_table(*in_q, *out_q, tflm=tflm)
    if opcode == "RELU6":
        return relu6_table(*in_q)
    if opcode == "LEAKY_RELU":
        return leaky_relu_table(*in_q, *out_q, alpha)
    return relu_n1_to_1_table(*in_q, *out_q)


@pytest.mark.parametrize("opcode", ["RELU", "RELU6", "LEAKY_RELU"])
def test_tables_match_tflm_over_all_inputs(opcode):
    rng = np.random.default_rng(zlib.crc32(f"table {opcode}".encode()))
    for trial in range(80):
        in_q, out_q = random_quant(rng), random_quant(rng)
        if trial < 4:  # extreme zero points, equal quantization
            in_q = out_q = (in_q[0], [-128, 127, 0, -1][trial])
        alpha = float(np.float32(rng.uniform(-1.5, 1.5))) if opcode == "LEAKY_RELU" else None
        opts = {"alpha": alpha} if alpha is not None else None
        assert_same_table(_table(opcode, in_q, out_q, alpha, tflm=True), tflm_table(opcode, in_q, out_q, opts),
                          f"{opcode} in {in_q} out {out_q} alpha {alpha}")


CASES = [
    # opcode, shape, options
    ("RELU", (1, 16, 16, 1), None),
    ("RELU", (3, 7, 5), None),
    ("RELU6", (1, 8, 8, 4), None),
    ("RELU6", (13,), None),
    ("LEAKY_RELU", (1, 16, 16, 1), {"alpha": 0.1}),
    ("LEAKY_RELU", (2, 9, 15), {"alpha": 0.3}),
    ("LEAKY_RELU", (256,), {"alpha": -0.5}),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_relu_family_end_to_end(case, tmp_path):
    opcode, shape, opts = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    in_q = random_quant(rng, -2.5, -0.5)
    out_q = random_quant(rng, -2.5, -0.5)
    runs = [[every_int8_value(shape)]] + [[rng.integers(-128, 128, shape).astype(np.int8)]]
    assert_bit_exact(unary_model(opcode, shape, in_q, out_q, opts), tmp_path, inputs=runs)


@pytest.mark.parametrize("zp", [-128, 127])
@pytest.mark.parametrize("opcode", ["RELU", "RELU6"])
def test_relu_extreme_zero_points(opcode, zp, tmp_path):
    q = (0.05, zp)
    assert_bit_exact(unary_model(opcode, (4, 64), q, q), tmp_path,
                     inputs=[[every_int8_value((4, 64))]])


def test_relu_n1_to_1(tmp_path):
    """TFLM has no RELU_N1_TO_1 kernel: check the C against the table, and the table
    against the real function (LiteRT's reference uses RELU's requantize-and-clamp)."""
    rng = np.random.default_rng(zlib.crc32(b"relu_n1_to_1"))
    for k in range(40):
        in_q, out_q = random_quant(rng, -2.5, -0.5), random_quant(rng, -2.5, -0.5)
        table = relu_n1_to_1_table(*in_q, *out_q)
        x = np.arange(-128, 128)
        real = np.clip((x - in_q[1]) * in_q[0], -1.0, 1.0)
        want = np.clip(np.round(real / out_q[0]) + out_q[1], -128, 127)
        assert np.max(np.abs(table.astype(int) - want)) <= 1, (in_q, out_q)
    path = tmp_path / "relu1.tflite"
    shape = (2, 8, 16)
    path.write_bytes(unary_model("RELU_N1_TO_1", shape, in_q, out_q))
    generate(path, tmp_path / "out", target="host", force=True)
    host = HostModel(tmp_path / "out", tmp_path / "build")
    x = every_int8_value(shape)
    got = host.invoke([x])[0].reshape(-1)
    assert np.array_equal(got, table[x.reshape(-1).astype(int) + 128])
