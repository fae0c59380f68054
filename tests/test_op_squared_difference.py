"""SQUARED_DIFFERENCE, int8, against TFLM: random shapes, broadcasts, quantizations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from tests.harness import assert_bit_exact


def sqdiff_model(rng, shape1, shape2, const2=False, zps=None, scales=None) -> bytes:
    s1, s2 = float(rng.uniform(0.005, 0.1)), float(rng.uniform(0.005, 0.1))
    s_out = max(s1, s2) ** 2 * float(rng.uniform(20, 400))
    if scales:
        s1, s2, s_out = scales
    z1, z2, zo = zps or [int(v) for v in rng.integers(-128, 128, 3)]
    m = ModelWriter()
    x1 = m.tensor("x1", shape1, "int8", scale=s1, zero_point=z1)
    if const2:
        x2 = m.const("x2", rng.integers(-128, 128, shape2), "int8", scale=s2, zero_point=z2)
    else:
        x2 = m.tensor("x2", shape2, "int8", scale=s2, zero_point=z2)
    y = m.tensor("y", np.broadcast_shapes(shape1, shape2), "int8", scale=s_out, zero_point=zo)
    m.op("SQUARED_DIFFERENCE", [x1, x2], [y])
    m.inputs = [x1] if const2 else [x1, x2]
    m.outputs = [y]
    return m.build()


CASES = [
    # shape1, shape2, constant input2, zero points (None: random)
    ((1, 6, 6, 8), (1, 6, 6, 8), False, None),
    ((2, 5, 16), (2, 5, 1), False, None),          # x - mean(x): the normalisation pattern
    ((1, 4, 4, 3), (3,), True, [-128, 127, -128]),
    ((3, 1, 7), (1, 4, 1), False, [127, -128, 127]),
    ((2, 2, 2, 2, 3), (2, 2, 2, 2, 3), False, None),  # equal shapes: any rank
    ((29,), (1,), False, None),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c[:3]) for c in CASES])
def test_squared_difference(case, tmp_path):
    shape1, shape2, const2, zps = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    result = assert_bit_exact(sqdiff_model(rng, shape1, shape2, const2, zps), tmp_path,
                              count=4, seed=2)
    assert [l.call.kernel for l in result.gen.program.layers] == ["tg_squared_difference_s8"]
    assert result.reference.startswith("TFLM")


def test_squared_difference_random_quantizations(tmp_path):
    """Scales over three decades: input scales far apart, output multipliers above and below
    one."""
    rng = np.random.default_rng(zlib.crc32(b"sqdiff quant"))
    for k in range(5):
        s1, s2 = (float(10 ** rng.uniform(-3, 0)) for _ in range(2))
        scales = (s1, s2, max(s1, s2) ** 2 * float(10 ** rng.uniform(-0.5, 3)))
        (tmp_path / str(k)).mkdir()
        assert_bit_exact(sqdiff_model(rng, (2, 3, 8), (2, 3, 8), scales=scales),
                         tmp_path / str(k), count=3, seed=k)


def test_squared_difference_rejects_broadcast_beyond_4d(tmp_path):
    rng = np.random.default_rng(0)
    with pytest.raises(UnsupportedError, match="up to 4, as TFLM"):
        assert_bit_exact(sqdiff_model(rng, (1, 2, 2, 2, 2), (2,)), tmp_path)


def test_squared_difference_sanitized(tmp_path):
    """Both inputs broadcast, under ASan/UBSan: no access outside any buffer, no overflow."""
    rng = np.random.default_rng(3)
    assert_bit_exact(sqdiff_model(rng, (3, 1, 7), (1, 4, 1), zps=[127, -128, 127],
                                  scales=(0.1, 0.1, 0.5)), tmp_path, count=2, sanitize=True)
