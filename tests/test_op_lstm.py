"""UNIDIRECTIONAL_SEQUENCE_LSTM (int8 x int8 -> int16 cell) against TFLM.

The test models are laid out like the converter's (tflm_mnist_lstm_int8): 24
inputs with the four gates' input and recurrent weights (int8, per-tensor,
zero point 0), int32 gate biases, an int8 hidden state and an int16 cell
state as variable tensors, peephole/projection/layer-norm inputs absent.
Several invocations run in a row on both sides, so the state carried from
one call to the next is compared too; then both are reset and run again.
"""
import subprocess
import zlib

import cffi
import numpy as np
import pytest

from codegen import quant
from codegen.toolchain.host import WARNINGS, HostModel, find_cc
from codegen.emit.render import RUNTIME_DIR
from codegen.errors import UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ops.lstm import (SIGMOID_TABLE, cell_scale_power, cell_tanh_prescale,
                              fc_multiplier, quantized_cell_clip)
from codegen.reference import TflmReference
from codegen.vectors import random_inputs
from tests.harness import SHARED_MODELS

TANH = 4


def add_lstm(m: ModelWriter, rng, tag: str, batch: int, time: int, n_in: int, units: int,
             time_major: bool = False, cell_scale: float = 2.0 ** -12, cell_clip: float = 0.0,
             x_zp: int | None = None, h_zp: int | None = None, w_range: tuple = (0.002, 0.05),
             bias_range: int = 4000, act_dtype: str = "int8", x_scale: float | None = None,
             h_scale: float | None = None, w_scales: list | None = None,
             biases: list | None = None, **overrides) -> tuple[int, int]:
    """Append one LSTM with its own input and output to `m`; returns (input, output).

    `w_scales` (8: input then recurrent weights, gates i, f, c, o) and `biases` (4
    arrays) replace the random ones; `overrides` {"i<position>": tensor or maker}
    replace inputs of the operator.
    """
    x_scale = float(rng.uniform(0.005, 0.1)) if x_scale is None else x_scale
    x_zp = int(rng.integers(-128, 128)) if x_zp is None else x_zp
    h_scale = float(rng.uniform(0.004, 0.02)) if h_scale is None else h_scale
    h_zp = int(rng.integers(-128, 128)) if h_zp is None else h_zp
    shape = (time, batch, n_in) if time_major else (batch, time, n_in)
    x = m.tensor(f"{tag}_x", shape, act_dtype, scale=x_scale, zero_point=x_zp)
    ins = [x]
    fixed_scales, w_scales = w_scales, []
    for kind, depth in (("input", n_in), ("recurrent", units)):
        for gate in ("i", "f", "c", "o"):
            s = (float(rng.uniform(*w_range)) if fixed_scales is None
                 else fixed_scales[len(w_scales)])
            w_scales.append(s)
            ins.append(m.const(f"{tag}_{kind}_to_{gate}", rng.integers(-127, 128, (units, depth)),
                               "int8", scale=s, zero_point=0))
    ins += [-1, -1, -1]                      # no peephole
    for k, gate in enumerate(("i", "f", "c", "o")):
        b = rng.integers(-bias_range, bias_range + 1, units) if biases is None else biases[k]
        ins.append(m.const(f"{tag}_bias_{gate}", b, "int32", scale=x_scale * w_scales[k],
                           zero_point=0))
    ins += [-1, -1]                          # no projection
    hidden = m.tensor(f"{tag}_h", (batch, units), act_dtype, scale=h_scale, zero_point=h_zp,
                      is_variable=True)
    cell = m.tensor(f"{tag}_c", (batch, units), "int16", scale=cell_scale, zero_point=0,
                    is_variable=True)
    ins += [hidden, cell, -1, -1, -1, -1]    # no layer norm
    for pos, t in overrides.items():
        ins[int(pos[1:])] = t(m) if callable(t) else t
    y_shape = (shape[0], shape[1], units)
    y = m.tensor(f"{tag}_y", y_shape, act_dtype, scale=h_scale, zero_point=h_zp)
    m.op("UNIDIRECTIONAL_SEQUENCE_LSTM", ins, [y],
         {"fused_activation_function": TANH, "cell_clip": cell_clip, "proj_clip": 0.0,
          "time_major": time_major, "asymmetric_quantize_inputs": False})
    m.inputs.append(x)
    m.outputs.append(y)
    return x, y


def run_and_compare(model_bytes: bytes, tmp_path, seed: int, invokes: int = 3,
                    after_reset: int = 2, inputs: list | None = None,
                    kernels: list[str] | None = None):
    """`invokes` calls in a row, reset, `after_reset` more; every output equal to TFLM's.

    `kernels`: the kernel preference (e.g. ["dsp", "portable"]); returns the generation."""
    path = tmp_path / "lstm.tflite"
    path.write_bytes(model_bytes)
    out = tmp_path / "out"
    gen = generate(path, out, target="host", force=True, kernels=kernels)
    assert gen.program.plan.state_bytes > 0
    host = HostModel(out, tmp_path / "build")
    graph = read_tflite(model_bytes)
    ref = TflmReference(model_bytes, graph)
    rng = np.random.default_rng(seed)
    runs = inputs or [random_inputs(graph, rng) for _ in range(invokes + after_reset)]
    first_after_reset = None
    for k, xs in enumerate(runs):
        if k == invokes:
            ref.reset()
            host.reset()
            xs = runs[0]               # a reset model answers the first input as it did at start
        want = ref.run(xs)
        got = host.invoke(xs)
        if k == 0:
            first = [np.array(g) for g in got]
        if k == invokes:
            first_after_reset = got
        for j, (g, w) in enumerate(zip(got, want)):
            g, w = np.asarray(g).reshape(-1), np.asarray(w).reshape(-1)
            if not np.array_equal(g, w):
                bad = np.nonzero(g != w)[0]
                raise AssertionError(f"invoke {k}, output {j}: {bad.size}/{w.size} differ; first "
                                     f"at {bad[:8].tolist()}: got {g[bad[:8]].tolist()} want "
                                     f"{w[bad[:8]].tolist()}")
    if first_after_reset is not None:
        for a, b in zip(first, first_after_reset):
            assert np.array_equal(a, b), "reset did not restore the initial state"
    return gen


def _fine(units: int, cell_scale: float, seed: int, **extra) -> dict:
    """A hidden state at scale 2^-15: small cell values show in the int8 output one for one.

    The output gate is nearly open and the cell gate's input small, so c, tanh(c) and
    h stay small and every rounding of the sigmoid/tanh interpolation and of the
    cell's rescaling to Q3.12 can move h.
    """
    rng = np.random.default_rng(seed)
    x_scale = 0.02
    w_scales = [0.01, 0.01, 4e-6, 0.01, 0.5, 0.5, 1e-4, 0.5]
    biases = [rng.integers(-20000, 20000, units), rng.integers(-20000, 20000, units),
              rng.integers(-60000, 60000, units), rng.integers(15000, 25000, units)]
    return dict(x_scale=x_scale, h_scale=2.0 ** -15, h_zp=int(rng.integers(-20, 20)),
                cell_scale=cell_scale, w_scales=w_scales, biases=biases, **extra)


CASES = [
    # tag: (batch, time, input, units, time_major, extra)
    ("one", (1, 1, 1, 1, False, {})),
    ("mnist_like", (1, 28, 28, 20, False, {"cell_clip": 10.0, "h_zp": 0})),
    ("batch_major", (3, 5, 7, 6, False, {})),
    ("time_major", (3, 4, 5, 9, True, {})),
    ("time_major_b1", (1, 6, 3, 4, True, {"cell_clip": 1.5})),
    ("zp_low", (2, 3, 10, 8, False, {"x_zp": -128, "h_zp": -128})),
    ("zp_high", (2, 3, 10, 8, True, {"x_zp": 127, "h_zp": 127})),
    ("cell_2e-11_clip", (2, 7, 4, 5, False, {"cell_scale": 2.0 ** -11, "cell_clip": 2.0})),
    ("cell_2e-15", (1, 9, 6, 7, False, {"cell_scale": 2.0 ** -15})),
    ("cell_2e-9", (2, 4, 3, 5, True, {"cell_scale": 2.0 ** -9, "cell_clip": 50.0})),
    ("cell_not_pow2", (1, 5, 4, 6, False, {"cell_scale": 3.1e-4})),
    ("saturating", (2, 6, 12, 10, False, {"w_range": (0.05, 0.3), "bias_range": 200000})),
    ("small_weights", (2, 6, 12, 10, False, {"w_range": (0.0005, 0.004)})),
    ("wide", (1, 3, 40, 33, False, {})),
    ("fine_2e-15", (2, 12, 6, 24, False, _fine(24, 2.0 ** -15, 1))),
    ("fine_2e-13", (3, 8, 5, 16, True, _fine(16, 2.0 ** -13, 2))),
    ("fine_2e-12_clip", (1, 16, 4, 20, False, _fine(20, 2.0 ** -12, 3, cell_clip=0.01))),
]


def _build(cases) -> bytes:
    m = ModelWriter()
    for tag, (b, t, i, u, tm, extra) in cases:
        rng = np.random.default_rng(zlib.crc32(tag.encode()))
        add_lstm(m, rng, tag, b, t, i, u, tm, **extra)
    return m.build()


# Each model costs a C build: the cases are run side by side, a few LSTMs per model
# (each with its own input, output and state, so each output checks one LSTM).
GROUPS = [CASES[0:5], CASES[5:10], CASES[10:14], CASES[14:]]


@pytest.mark.parametrize("group", GROUPS, ids=["+".join(c[0] for c in g) for g in GROUPS])
def test_lstm_random(group, tmp_path):
    run_and_compare(_build(group), tmp_path, seed=zlib.crc32(group[0][0].encode()))


def test_lstm_single_model_layout(tmp_path):
    """One LSTM alone (model input and output are the LSTM's own), five invokes in a row."""
    m = ModelWriter()
    add_lstm(m, np.random.default_rng(7), "solo", 2, 4, 5, 3, False, cell_clip=1.0)
    run_and_compare(m.build(), tmp_path, seed=11, invokes=5, after_reset=1)


def test_reset_restores_zero_point(tmp_path):
    """An int8 hidden state starts at (and is reset to) its zero point, as in TFLM."""
    m = ModelWriter()
    add_lstm(m, np.random.default_rng(3), "zp", 1, 2, 3, 4, False, h_zp=-77)
    model = m.build()
    path = tmp_path / "zp.tflite"
    path.write_bytes(model)
    generate(path, tmp_path / "out", target="host", force=True)
    c_text = next((tmp_path / "out").glob("zp.c")).read_text()
    assert "reset to its zero point" in c_text
    assert "void zp_reset(void)" in (tmp_path / "out" / "zp.h").read_text()
    run_and_compare(model, tmp_path, seed=5, invokes=2, after_reset=2)


def _requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """MultiplyByQuantizedMultiplier for shift <= 0 on an int64 numpy array."""
    v = acc * multiplier + np.where(acc >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(v >= 0, v >> 31, -((-v) >> 31))
    mask = (1 << -shift) - 1
    return (high >> -shift) + ((high & mask) > (mask >> 1) + (high < 0))


def test_gate_multipliers_are_double(tmp_path):
    """The gate FC multiplier rounds in_scale * w_scale in double, not float32.

    With x at its zero point and h at its initial zero point, the cell gate's
    accumulator is its bias alone.  The biases are accumulators the two ways of
    computing the multiplier requantize differently, small enough for the cell
    gate's tanh to be linear, and the input and output gates are saturated, so
    each such difference moves the output by several steps.
    """
    x_scale, cell_w_scale = float(np.float32(1e-5)), float(np.float32(2.4e-6))
    exact = quant.quantize_multiplier(x_scale * cell_w_scale / 2.0 ** -12)
    rounded = quant.quantize_multiplier(float(np.float32(x_scale) * np.float32(cell_w_scale))
                                        / 2.0 ** -12)
    assert fc_multiplier(x_scale, cell_w_scale) == exact != rounded
    # the two multipliers round differently only next to a rounding boundary k + 1/2
    real = x_scale * cell_w_scale / 2.0 ** -12
    centers = np.array([round((k + 0.5) / real) for k in range(-12, 12)], dtype=np.int64)
    acc = (centers[:, None] + np.arange(-256, 257)[None, :]).reshape(-1)
    cell_bias = acc[_requantize(acc, *exact) != _requantize(acc, *rounded)][:24]
    units = cell_bias.size
    assert units >= 8
    big = np.full(units, 1 << 30)
    m = ModelWriter()
    add_lstm(m, np.random.default_rng(0), "mult", 1, 1, 2, units, x_scale=x_scale, x_zp=5,
             h_scale=2.0 ** -15, h_zp=0, w_scales=[1.0, 1e-3, cell_w_scale, 1.0] + [1e-3] * 4,
             biases=[big, big, cell_bias, big])
    run_and_compare(m.build(), tmp_path, seed=0, invokes=1, after_reset=0,
                    inputs=[[np.full((1, 1, 2), 5, np.int8)]])


def test_sigmoid_and_tanh_match_tflm_int16_ops(tmp_path):
    """The kernel's int16 sigmoid and tanh equal TFLM's int16 LOGISTIC and TANH on every input.

    Both operators at input scale 2^-12 take the same power-of-two path as the
    LSTM's gates; the kernel's static functions are reached through a small
    driver that includes tg_lstm.c.
    """
    driver = tmp_path / "probe.c"
    driver.write_text(
        '#include "tg_lstm.c"\n'
        "void probe(const int16_t *in, int16_t *sig, int16_t *tanh_out, int32_t n,\n"
        "           const uint16_t *table)\n"
        "{\n"
        "    int32_t k;\n"
        "    for (k = 0; k < n; ++k) {\n"
        "        sig[k] = tg_sigmoid_q15(TG_LSTM_TABLE_SCALE * in[k], table);\n"
        "        tanh_out[k] = tg_tanh_q15(TG_LSTM_TABLE_SCALE * in[k], table);\n"
        "    }\n"
        "}\n")
    lib_path = tmp_path / "libprobe.so"
    subprocess.run([find_cc(), *WARNINGS, "-O2", "-fPIC", "-shared", f"-I{RUNTIME_DIR}",
                    str(driver), "-o", str(lib_path)], check=True)
    ffi = cffi.FFI()
    ffi.cdef("void probe(const int16_t *, int16_t *, int16_t *, int32_t, const uint16_t *);")
    lib = ffi.dlopen(str(lib_path))
    x = np.arange(-32768, 32768, dtype=np.int16)
    sig, tanh_out = np.zeros_like(x), np.zeros_like(x)
    table = np.array(SIGMOID_TABLE, dtype=np.uint16)
    lib.probe(ffi.from_buffer("int16_t[]", x), ffi.from_buffer("int16_t[]", sig),
              ffi.from_buffer("int16_t[]", tanh_out), x.size, ffi.from_buffer("uint16_t[]", table))

    m = ModelWriter()
    xin = m.tensor("x", x.shape, "int16", scale=2.0 ** -12, zero_point=0)
    outs = [m.tensor(f"y_{op}", x.shape, "int16", scale=2.0 ** -15, zero_point=0)
            for op in ("LOGISTIC", "TANH")]
    m.op("LOGISTIC", [xin], [outs[0]])
    m.op("TANH", [xin], [outs[1]])
    m.inputs, m.outputs = [xin], outs
    model = m.build()
    ref = TflmReference(model, read_tflite(model))
    want_sig, want_tanh = ref.run([x])
    assert np.array_equal(sig, np.asarray(want_sig).reshape(-1))
    assert np.array_equal(tanh_out, np.asarray(want_tanh).reshape(-1))


def test_shared_mnist_lstm_state_and_reset(tmp_path):
    """tflm_mnist_lstm_int8 over several invokes in a row, then reset, as TFLM."""
    path = SHARED_MODELS / "tflm_mnist_lstm_int8.tflite"
    if not path.is_file():
        pytest.skip(f"{path} not found (the shared models sit beside the repository)")
    run_and_compare(path.read_bytes(), tmp_path, seed=9, invokes=3, after_reset=2)


# --- generation-time math and rejected variants -----------------------------------------

def test_cell_scale_helpers():
    assert cell_scale_power(2.0 ** -12) == (-12, True)
    assert cell_scale_power(2.0 ** -15) == (-15, True)
    assert cell_scale_power(3.1e-4) == (-12, False)
    assert cell_tanh_prescale(-12) == (3, 0)
    assert cell_tanh_prescale(-11) == (6, 0)
    assert cell_tanh_prescale(-15) == (3, 3)
    assert quantized_cell_clip(10.0, 2.0 ** -12) == 32767
    assert quantized_cell_clip(1.5, 2.0 ** -12) == 6144
    assert quantized_cell_clip(0.3, 2.0 ** -12) == 1228   # 1228.8 truncated


def _lower_error(tmp_path, **kw) -> str:
    m = ModelWriter()
    add_lstm(m, np.random.default_rng(1), "bad", 1, 2, 3, 4, False, **kw)
    path = tmp_path / "bad.tflite"
    path.write_bytes(m.build())
    with pytest.raises(UnsupportedError) as e:
        generate(path, tmp_path / "out", target="host", force=True)
    return str(e.value)


def _vector(name, dtype="int16"):
    return lambda m: m.const(name, np.ones(4), dtype, scale=0.01, zero_point=0)


@pytest.mark.parametrize("pos,what", [
    ("i9", "peephole"), ("i16", "projection"), ("i20", "layer normalization"),
])
def test_rejects_lstm_variants(pos, what, tmp_path):
    msg = _lower_error(tmp_path, **{pos: _vector(f"extra{pos}")})
    assert what in msg and "UNIDIRECTIONAL_SEQUENCE_LSTM" in msg


def test_rejects_cifg(tmp_path):
    assert "CIFG" in _lower_error(tmp_path, i1=-1, i5=-1)


@pytest.mark.parametrize("cell_scale", [8.0, 2.0 ** -45])
def test_rejects_cell_scale_out_of_range(cell_scale, tmp_path):
    assert "cell state scale" in _lower_error(tmp_path, cell_scale=cell_scale)


def test_warns_on_cell_scale_not_power_of_two(tmp_path):
    m = ModelWriter()
    add_lstm(m, np.random.default_rng(2), "w", 1, 2, 3, 4, False, cell_scale=3.1e-4)
    path = tmp_path / "w.tflite"
    path.write_bytes(m.build())
    gen = generate(path, tmp_path / "out", target="host", force=True)
    assert any("not a power of two" in w for w in gen.program.warnings)


def test_rejects_int16_activations_with_int32_biases(tmp_path):
    """16x8 LSTMs (tests/test_op_16x8.py) take int64 biases, as TFLM's kernel reads them."""
    msg = _lower_error(tmp_path, act_dtype="int16", x_zp=0, h_zp=0)
    assert "int32" in msg and "supported: int64" in msg
