"""int8 LOGISTIC and TANH against TFLM: every model input holds all 256 int8 values, so each
layer checks its whole table.  Several layers (input scalings) share one model.
"""
import math
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.ops.activations import logistic_table, tanh_table
from codegen.program import build_program
from codegen.targets import load_target
from tests.harness import assert_bit_exact

OUT_QUANT = {"LOGISTIC": (1.0 / 256, -128), "TANH": (1.0 / 128, 0)}
ALL_INT8 = np.arange(-128, 128).astype(np.int8)


def act_model(op: str, quants: list, out_quants: list | None = None, shape=(256,)) -> bytes:
    m = ModelWriter()
    ins, outs = [], []
    for k, (scale, zp) in enumerate(quants):
        oscale, ozp = out_quants[k] if out_quants else OUT_QUANT[op]
        x = m.tensor(f"x{k}", shape, "int8", scale=scale, zero_point=zp)
        y = m.tensor(f"y{k}", shape, "int8", scale=oscale, zero_point=ozp)
        m.op(op, [x], [y])
        ins.append(x)
        outs.append(y)
    m.inputs, m.outputs = ins, outs
    return m.build()


def random_quants(rng, n: int) -> list:
    out = []
    for _ in range(n):
        scale = float(np.float32(math.exp(rng.uniform(math.log(1e-3), math.log(4.0)))))
        zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
        out.append((scale, zp))
    return out


# exact powers of two (rescaling without rounding), a radius of 0 or 1 input steps (scale 8, 16),
# tiny scales (the whole input range maps near 0), the scales TFLite's converter typically picks
EXTREMES = [(2.0 ** -4, 0), (2.0 ** -7, -128), (1.0, 127), (8.0, 0), (16.0, 3), (32.0, -1),
            (2.0 ** -20, 0), (1e-6, -128), (3e-8, 5), (0.0235294, -128), (0.1, 10), (0.5, -60)]


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
@pytest.mark.parametrize("seed", range(3))
def test_random_scalings(op, seed, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{op} {seed}".encode()))
    quants = random_quants(rng, 8)
    assert_bit_exact(act_model(op, quants), tmp_path, inputs=[[ALL_INT8] * len(quants)])


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_extreme_scalings(op, tmp_path):
    assert_bit_exact(act_model(op, EXTREMES), tmp_path, inputs=[[ALL_INT8] * len(EXTREMES)])


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_shapes(op, tmp_path):
    """Any shape is one flat run of elements; random inputs on odd sizes."""
    rng = np.random.default_rng(zlib.crc32(f"shapes {op}".encode()))
    for k, shape in enumerate([(1,), (3, 5, 7), (1, 9, 9, 13)]):
        assert_bit_exact(act_model(op, random_quants(rng, 2), shape=shape), tmp_path, count=2,
                         name=f"m{k}")


def test_nonstandard_output_quantization_matches_tflm_and_warns(tmp_path):
    """TFLM does not check LOGISTIC's output scale nor TANH's output parameters."""
    for op, outq in [("LOGISTIC", [(1.0 / 255, -128), (0.01, -128)]),
                     ("TANH", [(1.0 / 127, 0), (1.0 / 128, -128)])]:
        model = act_model(op, [(0.05, 3), (0.2, -7)], outq)
        assert_bit_exact(model, tmp_path, inputs=[[ALL_INT8] * 2], name=op)
        prog = build_program(read_tflite(model), "m", load_target("host"))
        assert len(prog.warnings) == 2 and "regardless" in prog.warnings[0]


def test_tables_are_monotonic_and_symmetric_enough():
    for scale, zp in [(0.05, 0), (0.1, -20), (1e-3, 127)]:
        lt, tt = logistic_table(scale, zp), tanh_table(scale, zp)
        assert np.all(np.diff(lt.astype(int)) >= 0) and np.all(np.diff(tt.astype(int)) >= 0)
        x = (np.arange(-128, 128) - zp) * scale
        assert np.max(np.abs((lt.astype(float) + 128) / 256 - 1 / (1 + np.exp(-x)))) <= 1 / 256
        assert np.max(np.abs(tt.astype(float) / 128 - np.tanh(x))) <= 1 / 128


@pytest.mark.parametrize("op,quant,out_quant,message", [
    ("LOGISTIC", (0.1, 0), (1.0 / 256, 0), "zero point 0"),
    ("LOGISTIC", (1e-9, 0), (1.0 / 256, -128), "2\\^-28"),
    ("TANH", (1e-9, 0), (1.0 / 128, 0), "2\\^-28"),
])
def test_rejected(op, quant, out_quant, message):
    with pytest.raises(UnsupportedError, match=message):
        build_program(read_tflite(act_model(op, [quant], [out_quant])), "m", load_target("host"))


@pytest.mark.parametrize("op", ["LOGISTIC", "TANH"])
def test_float_rejected(op):
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "float32")
    y = m.tensor("y", (1, 4), "float32")
    m.op(op, [x], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match="supported: int8"):
        build_program(read_tflite(m.build()), "m", load_target("host"))
