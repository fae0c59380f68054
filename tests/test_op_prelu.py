"""PRELU, int8, against TFLM: random shapes, alpha broadcasts, quantizations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from tests.harness import assert_bit_exact


def prelu_model(rng, shape, alpha_shape, const_alpha=True, zps=None, scales=None) -> bytes:
    s_in, s_a = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0.001, 0.02))
    s_out = s_in * float(rng.uniform(0.5, 1.5))
    if scales:
        s_in, s_a, s_out = scales
    z_in, z_a, z_out = zps or [int(v) for v in rng.integers(-128, 128, 3)]
    m = ModelWriter()
    x = m.tensor("x", shape, "int8", scale=s_in, zero_point=z_in)
    if const_alpha:
        a = m.const("alpha", rng.integers(-128, 128, alpha_shape), "int8", scale=s_a,
                    zero_point=z_a)
    else:
        a = m.tensor("alpha", alpha_shape, "int8", scale=s_a, zero_point=z_a)
    y = m.tensor("y", np.broadcast_shapes(shape, alpha_shape), "int8", scale=s_out,
                 zero_point=z_out)
    m.op("PRELU", [x, a], [y])
    m.inputs = [x] if const_alpha else [x, a]
    m.outputs = [y]
    return m.build()


CASES = [
    # input shape, alpha shape, constant alpha, zero points (None: random)
    ((1, 6, 6, 8), (1, 1, 8), True, None),           # Keras PReLU(shared_axes=[1, 2])
    ((1, 5, 4, 3), (5, 4, 3), True, None),           # Keras PReLU() default: per element
    ((2, 7, 9), (9,), True, [-128, 0, 127]),
    ((3, 11), (1,), True, [127, -128, -128]),
    ((1, 4, 4, 6), (1, 4, 4, 6), False, None),       # alpha an input too
    ((2, 3, 1, 5), (1, 1, 4, 1), False, [5, -7, 3]),  # both broadcast
    ((37,), (37,), True, None),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c[:3]) for c in CASES])
def test_prelu(case, tmp_path):
    shape, alpha_shape, const_alpha, zps = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    model = prelu_model(rng, shape, alpha_shape, const_alpha, zps)
    result = assert_bit_exact(model, tmp_path, count=4, seed=1)
    assert [l.call.kernel for l in result.gen.program.layers] == ["tg_prelu_s8"]
    assert result.reference.startswith("TFLM")


def test_prelu_random_quantizations(tmp_path):
    """Output scales from tiny to large (multipliers above and below one), in one model each."""
    rng = np.random.default_rng(zlib.crc32(b"prelu quant"))
    for k in range(4):
        s_in = float(10 ** rng.uniform(-3, 0))
        scales = (s_in, float(10 ** rng.uniform(-3, 0)), s_in * float(10 ** rng.uniform(-1.5, 1)))
        model = prelu_model(rng, (2, 4, 4, 3), (1, 1, 3), True, None, scales)
        (tmp_path / str(k)).mkdir()
        assert_bit_exact(model, tmp_path / str(k), count=3, seed=k)


def test_prelu_rejects_five_dimensions(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(UnsupportedError, match="up to 4, as TFLM"):
        assert_bit_exact(prelu_model(rng, (1, 2, 2, 2, 2), (2,)), tmp_path)


def test_prelu_sanitized(tmp_path):
    """Both operands broadcast, under ASan/UBSan: no access outside any buffer."""
    rng = np.random.default_rng(3)
    assert_bit_exact(prelu_model(rng, (2, 3, 1, 5), (1, 1, 4, 1), False), tmp_path, count=2,
                     sanitize=True)
