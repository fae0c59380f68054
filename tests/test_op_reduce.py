"""MEAN and SUM (int8) against TFLM over random shapes, axis sets and quantizations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.ops.reduce import mean_multiplier, merge_dims
from tests.harness import assert_bit_exact


def reduce_model(rng, opcode, shape, axes, keep_dims, in_q=None, out_q=None):
    m = ModelWriter()
    rank = len(shape)
    resolved = {a + rank if a < 0 else a for a in axes}
    if keep_dims:
        out_shape = tuple(1 if k in resolved else d for k, d in enumerate(shape))
    else:
        out_shape = tuple(d for k, d in enumerate(shape) if k not in resolved)
    if in_q is None:
        in_q = (float(rng.uniform(0.005, 0.2)), int(rng.integers(-128, 128)))
    if out_q is None:
        out_q = (float(in_q[0] * rng.uniform(0.3, 3.0)), int(rng.integers(-128, 128)))
    x = m.tensor("input", shape, "int8", scale=in_q[0], zero_point=in_q[1])
    a = m.const("axis", np.array(axes, dtype=np.int32), "int32")
    y = m.tensor("output", out_shape, "int8", scale=out_q[0], zero_point=out_q[1])
    m.op(opcode, [x, a], [y], {"keep_dims": bool(keep_dims)})
    m.inputs, m.outputs = [x], [y]
    return m.build()


CASES = [
    # opcode, shape, axes, keep_dims
    ("MEAN", (1, 7, 7, 16), [1, 2], True),
    ("MEAN", (1, 7, 7, 16), [1, 2], False),
    ("MEAN", (2, 5, 3, 9), [2, 1], True),
    ("MEAN", (1, 1, 1, 8), [1, 2], False),
    ("MEAN", (1, 6, 1, 5), [1, 2], True),
    ("MEAN", (1, 13, 11, 3), [1], False),
    ("MEAN", (1, 4, 9, 6), [2], True),
    ("MEAN", (2, 3, 4, 5), [3], False),
    ("MEAN", (2, 3, 4, 5), [-1, -3], True),
    ("MEAN", (3, 4, 5, 6), [0, 2], False),
    ("MEAN", (3, 4, 5, 6), [1, 3], True),
    ("MEAN", (2, 3, 4, 5), [0, 1, 2, 3], False),
    ("MEAN", (2, 3, 4, 5), [0], True),
    ("MEAN", (6, 10), [1], False),
    ("MEAN", (6, 10), [0, 1, 1], True),
    ("MEAN", (17,), [0], False),
    ("MEAN", (2, 3, 2, 3, 4), [1, 3], False),
    ("MEAN", (1, 32, 32, 3), [1, 2], True),
    ("SUM", (1, 5, 5, 8), [1, 2], True),
    ("SUM", (2, 3, 4, 5), [1, 3], False),
    ("SUM", (4, 7), [0], True),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_reduce_random(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    opcode, shape, axes, keep = case
    out_q = None
    if opcode == "SUM":  # a sum needs a wider output scale to stay in range
        n = int(np.prod([shape[a] for a in axes]))
        out_q = (float(rng.uniform(0.02, 0.1)) * np.sqrt(n), int(rng.integers(-20, 20)))
        assert_bit_exact(reduce_model(rng, opcode, shape, axes, keep,
                                      in_q=(0.05, int(rng.integers(-128, 128))), out_q=out_q),
                         tmp_path, count=3)
    else:
        assert_bit_exact(reduce_model(rng, opcode, shape, axes, keep), tmp_path, count=3)


@pytest.mark.parametrize("in_zp,out_zp,same", [(-128, -128, True), (127, 127, True),
                                               (-128, 127, False), (127, -128, False),
                                               (3, 3, True)])
def test_mean_zero_points_and_equal_quantization(in_zp, out_zp, same, tmp_path):
    """Equal input/output quantization (the converter's usual MEAN) and extreme zero points."""
    rng = np.random.default_rng(zlib.crc32(f"mean-zp {in_zp} {out_zp}".encode()))
    in_q = (0.047, in_zp)
    out_q = (0.047, out_zp) if same else (0.031, out_zp)
    assert_bit_exact(reduce_model(rng, "MEAN", (1, 5, 6, 7), [1, 2], True, in_q, out_q),
                     tmp_path, count=3)


@pytest.mark.parametrize("ratio", [1e-3, 0.25, 1.0, 7.0, 300.0])
def test_mean_scale_ratios(ratio, tmp_path):
    """Multipliers far below and above one, including a positive output shift."""
    rng = np.random.default_rng(zlib.crc32(f"mean-ratio {ratio}".encode()))
    in_q = (0.02, -5)
    out_q = (0.02 / ratio, 9)
    assert_bit_exact(reduce_model(rng, "MEAN", (2, 9, 4, 3), [1, 2], False, in_q, out_q),
                     tmp_path, count=3)


def test_mean_large_count(tmp_path):
    """4096 elements per mean: 1/n shifts the multiplier by 12 bits."""
    rng = np.random.default_rng(7)
    assert_bit_exact(reduce_model(rng, "MEAN", (1, 64, 64, 2), [1, 2], True), tmp_path, count=2)


def test_merge_dims():
    assert merge_dims((1, 7, 7, 16), {1, 2}) == [(49, True, 16), (16, False, 1)]
    assert merge_dims((2, 3, 4, 5), {1, 3}) == [(2, False, 60), (3, True, 20), (4, False, 5),
                                                 (5, True, 1)]
    assert merge_dims((1, 1), {0}) == []


def test_mean_multiplier_matches_reference_formula():
    m, s = 1 << 30, 0
    assert mean_multiplier(m, s, 1) == (m, 0)
    assert mean_multiplier(m, s, 49) == ((m << 5) // 49, -5)
    assert mean_multiplier(m, -30, 1 << 20) == ((m << 1) // (1 << 20), -31)


def test_mean_rejects_non_constant_axis(tmp_path):
    m = ModelWriter()
    x = m.tensor("input", (1, 4, 4, 2), "int8", scale=0.1, zero_point=0)
    a = m.tensor("axis", (2,), "int32")
    y = m.tensor("output", (1, 2), "int8", scale=0.1, zero_point=0)
    m.op("MEAN", [x, a], [y], {"keep_dims": False})
    m.inputs, m.outputs = [x, a], [y]
    with pytest.raises(UnsupportedError, match=r"its axis 'axis' \(input 1\) is not a constant"):
        assert_bit_exact(m.build(), tmp_path)


REAL_MODEL_MEANS = [
    # shape, axes, (in scale, zp), (out scale, zp): the MEAN layers of mcunet_vww80 and
    # st_yamnet256_esc10 (shared models), rebuilt as single operators
    ((1, 160, 3, 3), [3], (0.04854253, 6), (0.04854253, 6)),
    ((1, 160, 3), [2], (0.04854253, 6), (0.04854253, 6)),
    ((1, 12, 8, 256), [1, 2], (0.03767394, -128), (0.01013207, -128)),
]


@pytest.mark.parametrize("case", REAL_MODEL_MEANS, ids=[str(c[0]) for c in REAL_MODEL_MEANS])
def test_mean_layers_of_shared_models(case, tmp_path):
    shape, axes, in_q, out_q = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    assert_bit_exact(reduce_model(rng, "MEAN", shape, axes, False, in_q, out_q), tmp_path, count=3)
