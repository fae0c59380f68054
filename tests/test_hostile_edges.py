"""Numbers at the edges, FULLY_CONNECTED: exact against TFLM, and free of undefined behaviour.

One model holds many independent FULLY_CONNECTED "lanes" (one input and one
output each), every lane an edge case: zero points at -128/127, requantization
multipliers just above and below the flush-to-zero limit, rounding up to 2^31,
exactly 1, the largest left shift (31), per-channel multipliers spanning the
whole range, the float32-product path without bias, and accumulators within a
few units of INT32_MAX / INT32_MIN (including partial sums that leave the int32
range only because of the folded input zero point).  The generated project is
built as a standalone program with ASan and UBSan (gcc and clang) and run on
extreme and random inputs; every output must equal TFLM's.
"""
from __future__ import annotations

import math
import shutil
import zlib
from dataclasses import dataclass, field


import numpy as np
import pytest

from codegen import quant
from codegen.toolchain.host import HostExecutable, HostModel
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.reference import TflmReference

F32 = np.float32


@dataclass
class Lane:
    name: str
    depth: int
    units: int
    in_scale: float
    in_zp: int
    w_scale: list
    out_scale: float
    out_zp: int
    weights: np.ndarray
    bias: np.ndarray | None
    act: int = 0
    batches: int = 1
    patterns: list = field(default_factory=list)   # special inputs (each an int8 array)
    expect_shift: int | None = None                 # shift the (first) multiplier must get
    expect_mult: int | None = None


def _w(rng, units, depth, value=None):
    if value is not None:
        return np.full((units, depth), value)
    return rng.integers(-127, 128, (units, depth))


def lanes() -> list[Lane]:
    rng = np.random.default_rng(zlib.crc32(b"hostile-edges"))
    L = []
    L.append(Lane("zp_min", 33, 7, 0.04, -128, [0.01], 0.2, -128, _w(rng, 7, 33),
                  rng.integers(-4000, 4000, 7), act=1,
                  patterns=[np.full((1, 33), -128), np.full((1, 33), 127)]))
    L.append(Lane("zp_max", 17, 5, 0.04, 127, [0.02], 0.3, 127, _w(rng, 5, 17),
                  rng.integers(-4000, 4000, 5),
                  patterns=[np.full((1, 17), -128), np.full((1, 17), 127)]))
    L.append(Lane("zp_mixed_pc", 9, 4, 0.05, -128, [0.01, 0.02, 0.005, 0.04], 0.1, 127,
                  _w(rng, 4, 9), rng.integers(-3000, 3000, 4), act=3,
                  patterns=[np.full((1, 9), 127)]))
    # multiplier 2^-31.4: exponent -31, the smallest that is not flushed to zero
    L.append(Lane("mult_tiny", 60000, 1, 1.0, 0, [1.0], float(F32(2.0 ** 31.4)), 0,
                  _w(rng, 1, 60000, 127), np.array([0]),
                  patterns=[np.full((1, 60000), 127), np.full((1, 60000), -128)],
                  expect_shift=-31))
    # multiplier 2^-32.5: flushed to zero, the output is the zero point
    L.append(Lane("mult_flushed", 64, 2, 1.0, 0, [1.0], float(F32(2.0 ** 32.5)), 9,
                  _w(rng, 2, 64, 127), np.array([5, -5]),
                  patterns=[np.full((1, 64), 127)], expect_shift=0, expect_mult=0))
    # (1 + 2^-23)(1 - 2^-23) = 1 - 2^-46: the mantissa rounds up to 2^31
    L.append(Lane("mult_rounds_to_one", 11, 3, float(F32(1 + 2 ** -23)), 0,
                  [float(F32(1 - 2 ** -23))], 1.0, 0, _w(rng, 3, 11, 1), np.array([0, 1, -1]),
                  patterns=[np.full((1, 11), 5), np.full((1, 11), -7)],
                  expect_shift=1, expect_mult=1 << 30))
    L.append(Lane("mult_one", 8, 3, 0.5, 3, [0.25], 0.125, -3, _w(rng, 3, 8, 1),
                  np.array([0, 100, -100]), patterns=[np.full((1, 8), 3)],
                  expect_shift=1, expect_mult=1 << 30))
    L.append(Lane("mult_just_below_one", 8, 3, 1.0, 0, [float(F32(1 - 2 ** -24))], 1.0, 0,
                  _w(rng, 3, 8, 1), np.array([0, 50, -50]), patterns=[np.full((1, 8), 2)],
                  expect_shift=0))
    # the largest left shift: multiplier ~2^30.5
    L.append(Lane("shift_max", 4, 3, float(F32(2.0 ** 15)), 0, [float(F32(2.0 ** 15.5))],
                  1.0, 0, np.array([[1, 0, 0, 0], [0, 0, 0, 0], [-1, 0, 0, 0]]),
                  np.array([0, 0, 0]),
                  patterns=[np.zeros((1, 4)), np.array([[1, 0, 0, 0]]),
                            np.array([[-1, 0, 0, 0]])], expect_shift=31))
    L.append(Lane("shift_16", 6, 2, 4.0, 0, [8.0], 0.001, 0, _w(rng, 2, 6), None,
                  patterns=[np.zeros((1, 6)), np.ones((1, 6))]))
    # accumulators near INT32_MAX / INT32_MIN
    d = 66000
    top = (1 << 31) - 1 - d * 127 * 255 - 3
    L.append(Lane("acc_near_max", d, 1, 1.0, -128, [1.0], float(F32(2.0 ** 24)), -128,
                  _w(rng, 1, d, 127), np.array([top]),
                  patterns=[np.full((1, d), 127), np.full((1, d), -128)]))
    bottom = -(1 << 31) + d * 127 * 255 + 3
    L.append(Lane("acc_near_min", d, 1, 1.0, 127, [1.0], float(F32(2.0 ** 24)), 127,
                  _w(rng, 1, d, 127), np.array([bottom]),
                  patterns=[np.full((1, d), -128), np.full((1, d), 127)]))
    # partial sums leave int32 only because of the folded zero point (x == zp)
    d2 = 140000
    L.append(Lane("folded_partial_overflow", d2, 1, 0.01, -128, [0.01], 0.5, 0,
                  _w(rng, 1, d2, 127), np.array([1000]),
                  patterns=[np.full((1, d2), -128), np.full((1, d2), 127)]))
    # per-channel multipliers from 2^-31.2 to 2^20
    pcs = [float(F32(2.0 ** e)) for e in (-31.2, -31.9, -20, -1, 0, 10, 20)]
    L.append(Lane("per_channel_span", 5, len(pcs), 1.0, 0, pcs, 1.0, 0,
                  _w(rng, len(pcs), 5), rng.integers(-10, 10, len(pcs)),
                  patterns=[np.zeros((1, 5)), np.ones((1, 5)), -np.ones((1, 5))]))
    # no bias, per tensor: TFLM rounds in*weight to float32 first
    L.append(Lane("no_bias_float32_product", 13, 4, 0.1, 7, [0.3], 0.07, -9,
                  _w(rng, 4, 13), None, act=2))
    L.append(Lane("one_by_one", 1, 1, 0.05, 0, [0.05], 0.05, 0, np.array([[-128 + 1]]),
                  np.array([2 ** 20]), patterns=[np.array([[-128]]), np.array([[127]])]))
    L.append(Lane("odd_batches", 3, 9, 0.03, -1, [0.07], 0.09, 2, _w(rng, 9, 3),
                  rng.integers(-500, 500, 9), batches=5))
    return L


def build(lanes: list[Lane]) -> bytes:
    m = ModelWriter()
    for ln in lanes:
        ws = np.asarray(ln.w_scale, dtype=np.float64)
        x = m.tensor(f"x_{ln.name}", (ln.batches, ln.depth), "int8", scale=ln.in_scale,
                     zero_point=ln.in_zp)
        w = m.const(f"w_{ln.name}", ln.weights, "int8", scale=ws, zero_point=[0] * ws.size,
                    axis=0)
        b = -1
        if ln.bias is not None:
            bs = [float(F32(ln.in_scale)) * float(F32(s)) for s in ws]
            b = m.const(f"b_{ln.name}", ln.bias, "int32", scale=bs, zero_point=[0] * ws.size)
        y = m.tensor(f"y_{ln.name}", (ln.batches, ln.units), "int8", scale=ln.out_scale,
                     zero_point=ln.out_zp)
        m.op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": ln.act})
        m.inputs.append(x)
        m.outputs.append(y)
    return m.build()


def input_sets(lanes: list[Lane], count: int = 4) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(5)
    n_special = max(len(ln.patterns) for ln in lanes)
    sets = []
    for k in range(n_special + count):
        xs = []
        for ln in lanes:
            shape = (ln.batches, ln.depth)
            if k < len(ln.patterns):
                x = np.broadcast_to(np.asarray(ln.patterns[k]), shape)
            else:
                x = rng.integers(-128, 128, shape)
            xs.append(np.ascontiguousarray(x, dtype=np.int8))
        sets.append(xs)
    return sets


@pytest.fixture(scope="module")
def edge_project(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("edges")
    L = lanes()
    data = build(L)
    model = tmp / "edges.tflite"
    model.write_bytes(data)
    gen = generate(model, tmp / "out")
    ref = TflmReference(data, read_tflite(data))
    sets = input_sets(L)
    want = [ref.run(xs) for xs in sets]
    return dict(tmp=tmp, lanes=L, gen=gen, sets=sets, want=want, out=tmp / "out")


def test_multipliers_hit_their_limits(edge_project):
    """The lanes really exercise the limits they are named after."""
    gen, L = edge_project["gen"], edge_project["lanes"]
    emitted = {c.name: c.values for c in gen.program.consts}

    def const(name):  # identical arrays are emitted once, under the first layer's name
        return emitted[gen.program.const_member(name)]

    for k, (ln, layer) in enumerate(zip(L, gen.program.layers)):
        mult = const(f"{layer.name}_multiplier")
        shift = const(f"{layer.name}_shift")
        if ln.expect_shift is not None:
            assert int(shift[0]) == ln.expect_shift, ln.name
        if ln.expect_mult is not None:
            assert int(mult[0]) == ln.expect_mult, ln.name
    pcs = const(f"{gen.program.layers[[x.name for x in L].index('per_channel_span')].name}_shift")
    assert min(pcs) <= -31 and max(pcs) >= 21


def _assert_equal(got_sets, want_sets, lanes_):
    for k, (got, want) in enumerate(zip(got_sets, want_sets)):
        for ln, g, w in zip(lanes_, got, want):
            assert np.array_equal(np.asarray(g).reshape(-1), np.asarray(w).reshape(-1)), \
                f"input set {k}, lane {ln.name}: got {np.asarray(g).reshape(-1)[:8]} " \
                f"want {np.asarray(w).reshape(-1)[:8]}"


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_edges_bit_exact_under_sanitizers(cc, edge_project):
    if not shutil.which(cc):
        pytest.fail(f"{cc} is not installed (setup.sh installs it)")
    exe = HostExecutable(edge_project["out"], edge_project["tmp"] / f"asan_{cc}", cc=cc,
                         sanitize=True)
    got = exe.invoke_many(edge_project["sets"])
    _assert_equal(got, edge_project["want"], edge_project["lanes"])


def test_edges_bit_exact_optimized(edge_project):
    """The cffi build at -O2 (what `tinygen verify` uses) agrees as well."""
    host = HostModel(edge_project["out"], edge_project["tmp"] / "cffi")
    got = [host.invoke(xs) for xs in edge_project["sets"]]
    _assert_equal(got, edge_project["want"], edge_project["lanes"])


def test_sanitized_driver_catches_out_of_bounds(tmp_path):
    """Self-check of the harness: a buffer one byte short is reported by ASan."""
    import json

    from tests.hostile_models import fc_model

    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model(depth=6, units=3))
    out = tmp_path / "out"
    generate(model, out)
    man = json.loads((out / "tinygen.json").read_text())
    man["inputs"][0]["shape"] = [1, 5]          # the kernel reads 6
    (out / "tinygen.json").write_text(json.dumps(man))
    exe = HostExecutable(out, tmp_path / "b", sanitize=True)
    with pytest.raises(RuntimeError, match="heap-buffer-overflow"):
        exe.invoke_many([[np.zeros((1, 5), np.int8)]])


@pytest.mark.parametrize("real", [2.0 ** -31.5, 2.0 ** -32.01, 1 - 2.0 ** -46, 1.0,
                                  2.0 ** 30.99, 2.0 ** 31 * (1 - 2 ** -30)])
def test_quantize_multiplier_limits(real):
    q, s = quant.quantize_multiplier(real)
    if real < 2.0 ** -32:
        assert (q, s) == (0, 0)
        return
    assert (1 << 30) <= q < (1 << 31) and -31 <= s <= 31
    assert math.isclose(q * 2.0 ** (s - 31), real, rel_tol=2 ** -30)


def test_quantize_multiplier_too_large():
    with pytest.raises(quant.QuantRangeError):
        quant.quantize_multiplier(2.0 ** 31)
    with pytest.raises(quant.QuantRangeError):   # rounds up to 2^31
        quant.quantize_multiplier(2.0 ** 31 * (1 - 2 ** -40))
    with pytest.raises(quant.QuantRangeError):
        quant.quantize_multiplier(float("inf"))
