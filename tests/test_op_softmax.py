"""SOFTMAX and LOG_SOFTMAX against TFLM: int8 -> int8/int16, int8 log-softmax, float32.

Random models hold several independent softmax layers each (one compile
checks many shapes and scalings).  TFLM's int8 -> int8 softmax stops on a
runtime check when a row's sum of exp() reaches 512, so rows of 512 or more
classes use input scales that keep the sum below that.
"""
import math
import subprocess
import zlib
from pathlib import Path

import cffi
import numpy as np
import pytest

from codegen import fixedpoint as fp
from codegen.toolchain.host import find_cc
from codegen.errors import UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.program import build_program
from codegen.targets import load_target
from codegen.ops.softmax import softmax_input_scaling
from tests.harness import assert_bit_exact

RUNTIME = Path(__file__).resolve().parent.parent / "runtime_c"
OUT_QUANT = {"int8": (1.0 / 256, -128), "int16": (1.0 / 65536, -32768)}


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def random_shape(rng, depth: int) -> tuple:
    rank = int(rng.integers(1, 5))
    lead = [int(rng.integers(1, 4)) for _ in range(rank - 1)]
    return tuple(lead + [depth])


def softmax_model(layers: list[dict]) -> bytes:
    """One SOFTMAX / LOG_SOFTMAX layer per entry, each on its own model input."""
    m = ModelWriter()
    ins, outs = [], []
    for k, layer in enumerate(layers):
        op, shape, dtype = layer["op"], layer["shape"], layer.get("dtype", "int8")
        if dtype == "float32":
            x = m.tensor(f"x{k}", shape, "float32")
            y = m.tensor(f"y{k}", shape, "float32")
        else:
            x = m.tensor(f"x{k}", shape, "int8", scale=layer["scale"], zero_point=layer["zp"])
            if op == "LOG_SOFTMAX":
                oscale, ozp = layer.get("out_quant", (16.0 / 256, 127))
                y = m.tensor(f"y{k}", shape, "int8", scale=oscale, zero_point=ozp)
            else:
                out = layer.get("out", "int8")
                oscale, ozp = layer.get("out_quant", OUT_QUANT[out])
                y = m.tensor(f"y{k}", shape, out, scale=oscale, zero_point=ozp)
        opts = {"beta": layer.get("beta", 1.0)} if op == "SOFTMAX" else {}
        m.op(op, [x], [y], opts)
        ins.append(x)
        outs.append(y)
    m.inputs, m.outputs = ins, outs
    return m.build()


def random_softmax_layer(rng, out: str) -> dict:
    depth = int(rng.choice([1, 2, 3, 5, 10, 12, 31, 64, 100, 255, 256, 511, 600, 1000]))
    beta = float(rng.choice([1.0, 1.0, 0.25, 0.5, 2.0, float(rng.uniform(0.05, 4.0))]))
    lo = 0.02 if (out == "int8" and depth >= 512) else 1e-4
    scale = float(math.exp(rng.uniform(math.log(lo), math.log(1.0))) / beta)
    zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    return dict(op="SOFTMAX", shape=random_shape(rng, depth), scale=scale, zp=zp, beta=beta,
                out=out)


@pytest.mark.parametrize("out", ["int8", "int16"])
@pytest.mark.parametrize("seed", range(4))
def test_softmax_random(out, seed, tmp_path):
    rng = rng_for(f"softmax {out} {seed}")
    layers = [random_softmax_layer(rng, out) for _ in range(5)]
    assert_bit_exact(softmax_model(layers), tmp_path, count=3, seed=seed)


# (input scale, beta): the multiplier capped at 2^31 - 1 (left shift 31, diff_min 0),
# tiny scales (every exp() close to 1), large scales (most entries below diff_min)
EXTREME_SCALINGS = [(1.0, 50.0), (4.0, 10.0), (1e-4, 1.0), (2e-7, 0.5), (0.6, 1.0), (8.0, 0.3),
                    (1.0 / 16, 1.0), (0.5, 1.0 / 3)]


@pytest.mark.parametrize("out", ["int8", "int16"])
def test_softmax_extreme_scalings(out, tmp_path):
    layers = [dict(op="SOFTMAX", shape=(3, 40), scale=s, zp=zp, beta=b, out=out)
              for (s, b), zp in zip(EXTREME_SCALINGS, [-128, 127, 0, 5, -128, 127, -7, 100])]
    assert_bit_exact(softmax_model(layers), tmp_path, count=4, seed=7)


def test_softmax_crafted_rows(tmp_path):
    """All-equal rows (sum = depth), one-hot rows, two-level rows, the diff_min boundary."""
    depth = 500
    layers = [dict(op="SOFTMAX", shape=(6, depth), scale=s, zp=-3, beta=1.0, out=o)
              for s in (1e-3, 0.05, 0.3) for o in ("int8", "int16")]
    rows = np.stack([np.full(depth, 127), np.full(depth, -128),
                     np.where(np.arange(depth) == 17, 127, -128),
                     np.where(np.arange(depth) % 2 == 0, 10, 9),
                     np.arange(depth) % 256 - 128,
                     np.where(np.arange(depth) < 3, 100, 100 - np.arange(depth) % 256 // 2)])
    x = np.clip(rows, -128, 127).astype(np.int8)
    assert_bit_exact(softmax_model(layers), tmp_path, inputs=[[x] * len(layers)])


@pytest.mark.parametrize("seed", range(3))
def test_log_softmax_random(seed, tmp_path):
    rng = rng_for(f"log_softmax {seed}")
    layers = []
    for _ in range(5):
        depth = int(rng.choice([1, 2, 7, 10, 33, 100, 256, 700, 1000]))
        scale = float(math.exp(rng.uniform(math.log(1e-4), math.log(4.0))))
        zp = int(rng.choice([-128, 127, int(rng.integers(-128, 128))]))
        layers.append(dict(op="LOG_SOFTMAX", shape=random_shape(rng, depth), scale=scale, zp=zp))
    assert_bit_exact(softmax_model(layers), tmp_path, count=3, seed=seed)


def test_log_softmax_extremes_and_crafted_rows(tmp_path):
    depth = 300
    scales = [2e-7, 1e-3, 0.02, 0.1, 0.5, 1.0, 8.0, 1.0 / 16]
    layers = [dict(op="LOG_SOFTMAX", shape=(5, depth), scale=s, zp=zp)
              for s, zp in zip(scales, [0, -128, 127, 3, -50, 60, 0, -128])]
    rows = np.stack([np.full(depth, 127), np.where(np.arange(depth) == 5, 127, -128),
                     np.arange(depth) % 256 - 128, np.where(np.arange(depth) % 3 == 0, 1, 0),
                     np.full(depth, -128)]).astype(np.int8)
    model = softmax_model(layers)
    assert_bit_exact(model, tmp_path, inputs=[[rows] * len(layers)])
    assert_bit_exact(model, tmp_path, count=3, seed=11, name="random")


@pytest.mark.parametrize("op", ["SOFTMAX", "LOG_SOFTMAX"])
def test_float_softmax(op, tmp_path):
    rng = rng_for(f"float {op}")
    shapes = [(1,), (1, 10), (3, 7), (2, 3, 100), (1000,)]
    layers = [dict(op=op, shape=s, dtype="float32", beta=b)
              for s, b in zip(shapes, [1.0, 0.5, 2.0, 1.0, 1.7])]
    model = softmax_model(layers)
    assert_bit_exact(model, tmp_path, count=3, seed=3)
    crafted = []
    for s in shapes:
        x = rng.normal(0, 30, size=s).astype(np.float32)
        x.reshape(-1)[0] = -0.0
        x.reshape(-1)[-1] = x.reshape(-1)[0]
        crafted.append(x)
    assert_bit_exact(model, tmp_path, inputs=[crafted, [np.zeros(s, np.float32) for s in shapes]],
                     name="crafted")


def _lower(layer: dict):
    graph = read_tflite(softmax_model([layer]))
    return build_program(graph, "m", load_target("host"))


@pytest.mark.parametrize("layer,message", [
    (dict(op="SOFTMAX", shape=(1, 10), scale=0.1, zp=0, out_quant=(1.0 / 255, -128)), "1/256"),
    (dict(op="SOFTMAX", shape=(1, 10), scale=0.1, zp=0, out_quant=(1.0 / 256, 0)), "-128"),
    (dict(op="SOFTMAX", shape=(1, 10), scale=0.1, zp=0, out="int16",
          out_quant=(1.0 / 32768, 0)), "-32768"),
    (dict(op="SOFTMAX", shape=(1, 10), scale=1e-9, zp=0), "greater than 1"),
    (dict(op="SOFTMAX", shape=(1, 10), scale=0.1, zp=0, beta=-1.0), "greater than 1"),
    (dict(op="LOG_SOFTMAX", shape=(1, 10), scale=0.1, zp=0, out_quant=(1.0 / 256, -128)), "16/256"),
    (dict(op="LOG_SOFTMAX", shape=(1, 10), scale=1e-9, zp=0), "greater than 1"),
])
def test_rejected(layer, message):
    with pytest.raises(UnsupportedError, match=message):
        _lower(layer)


def test_softmax_input_scaling_matches_tflm_formulas():
    # beta * scale * 2^26 = 2^26 / 10 -> mantissa of 6710886.4, shift 23
    m, shift, diff_min = softmax_input_scaling(1.0, float(np.float32(0.1)))
    assert shift == 23 and (1 << 30) <= m < (1 << 31)
    assert diff_min == -math.floor(31 * 2.0 ** 26 / 2 ** 23)
    # capped at 2^31 - 1
    m, shift, diff_min = softmax_input_scaling(100.0, 1.0)
    assert (m, shift, diff_min) == ((1 << 31) - 1, 31, 0)


# --- the C fixed-point helpers against their Python twins --------------------------------

SHIM = r"""
#include "tg_fixedpoint.h"
int32_t shim_exp(int32_t a, int bits) { return tg_fp_exp_on_negative_values(a, bits); }
int32_t shim_recip(int32_t a) { return tg_fp_one_over_one_plus_x_for_x_in_0_1(a); }
int32_t shim_log(int32_t a, int in_bits, int out_bits)
{ return tg_fp_log_x_for_x_greater_than_or_equal_to_1(a, in_bits, out_bits); }
int32_t shim_reciprocal(int32_t x, int bits, int *over)
{ return tg_fp_reciprocal(x, bits, over); }
"""


@pytest.fixture(scope="module")
def fixedpoint_c(tmp_path_factory):
    d = tmp_path_factory.mktemp("fixedpoint")
    (d / "shim.c").write_text(SHIM)
    lib = d / "libshim.so"
    subprocess.run([find_cc(), "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2",
                    "-fPIC", "-shared", f"-I{RUNTIME}", str(d / "shim.c"), "-o", str(lib)],
                   check=True)
    ffi = cffi.FFI()
    ffi.cdef("int32_t shim_exp(int32_t, int); int32_t shim_recip(int32_t);"
             "int32_t shim_log(int32_t, int, int); int32_t shim_reciprocal(int32_t, int, int *);")
    return ffi, ffi.dlopen(str(lib))


def test_c_fixedpoint_matches_python(fixedpoint_c):
    ffi, lib = fixedpoint_c
    rng = rng_for("fixedpoint")
    negatives = [0, -1, -2, fp.INT32_MIN, fp.INT32_MIN + 1, -(1 << 26), -(1 << 29)]
    negatives += rng.integers(fp.INT32_MIN, 1, 3000).tolist()
    for bits in (1, 4, 5, 6, 12):
        for a in negatives:
            assert lib.shim_exp(a, bits) == fp.exp_on_negative_values(a, bits), (a, bits)
    for a in [0, 1, fp.INT32_MAX, fp.INT32_MAX - 1] + rng.integers(0, 1 << 31, 2000).tolist():
        assert lib.shim_recip(a) == fp.one_over_one_plus_x_for_x_in_0_1(a), a
    over = ffi.new("int *")
    for x in [1 << 19, (1 << 19) + 1, fp.INT32_MAX] + rng.integers(1 << 19, 1 << 31, 2000).tolist():
        assert lib.shim_log(x, 12, 5) == fp.log_x_for_x_greater_than_or_equal_to_1(x, 12, 5), x
        raw, bits = fp.reciprocal(x, 12)
        assert lib.shim_reciprocal(x, 12, over) == raw and over[0] == bits, x


def test_python_fixedpoint_is_close_to_real_math():
    for real in (-0.001, -0.3, -1.0, -4.5, -15.9, -31.0):
        a = round(real * 2 ** 26)
        assert abs(fp.exp_on_negative_values(a, 5) / 2 ** 31 - math.exp(real)) < 1e-6
    for real in (1.0, 1.5, 7.0, 100.0, 4000.0):
        a = round(real * 2 ** 19)
        assert abs(fp.log_x_for_x_greater_than_or_equal_to_1(a, 12, 5) / 2 ** 26
                   - math.log(real)) < 1e-5
    for real in (-7.9, -1.0, -0.1, 0.0, 0.1, 1.0, 7.9):
        a = round(real * 2 ** 27)
        assert abs(fp.logistic(a, 4) / 2 ** 31 - 1 / (1 + math.exp(-real))) < 1e-6
        assert abs(fp.tanh(a, 4) / 2 ** 31 - math.tanh(real)) < 1e-6


def test_softmax_sum_beyond_tflm_check_gives_zero_probabilities(tmp_path):
    """Rows whose sum of exp() reaches 512 (TFLM aborts there): every 1/256 step rounds to 0."""
    from codegen.toolchain.host import HostModel
    from codegen.generate import generate

    layer = dict(op="SOFTMAX", shape=(2, 600), scale=0.1, zp=0)
    path = tmp_path / "m.tflite"
    path.write_bytes(softmax_model([layer]))
    generate(path, tmp_path / "out", target="host", force=True)
    host = HostModel(tmp_path / "out", tmp_path / "build")
    x = np.stack([np.full(600, 5), np.where(np.arange(600) == 0, 127, -128)]).astype(np.int8)
    y = host.invoke([x])[0]
    assert (y[0] == -128).all()          # 600 equal entries: 1/600 < 1/512
    assert y[1, 0] == 127 and (y[1, 1:] == -128).all()  # one-hot: sum stays 1


def test_softmax_without_options_has_beta_zero(tmp_path):
    """TFLM reads a missing SoftmaxOptions table as beta = 0: float rows become uniform."""
    m = ModelWriter()
    x = m.tensor("x", (2, 5), "float32")
    y = m.tensor("y", (2, 5), "float32")
    m.op("SOFTMAX", [x], [y])
    m.inputs, m.outputs = [x], [y]
    assert_bit_exact(m.build(), tmp_path, count=2)
    with pytest.raises(UnsupportedError, match="beta 0"):
        layer = softmax_model([dict(op="SOFTMAX", shape=(1, 4), scale=0.1, zp=0)])
        g = read_tflite(layer)
        g.ops[0].options.pop("beta")
        build_program(g, "m", load_target("host"))
