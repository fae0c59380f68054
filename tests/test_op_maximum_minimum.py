"""MAXIMUM / MINIMUM (int8) against TFLM, with and without broadcasting."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.ops.maximum_minimum import broadcast_loops
from tests.harness import assert_bit_exact


def maxmin_model(rng, opcode, a_shape, b_shape, b_const=False, same_quant=True):
    m = ModelWriter()
    out_shape = np.broadcast_shapes(a_shape, b_shape)
    q = (float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128)))
    qb = q if same_quant else (q[0] * 1.7, int(rng.integers(-128, 128)))
    a = m.tensor("a", a_shape, "int8", scale=q[0], zero_point=q[1])
    if b_const:
        b = m.const("b", rng.integers(-128, 128, b_shape), "int8", scale=qb[0], zero_point=qb[1])
    else:
        b = m.tensor("b", b_shape, "int8", scale=qb[0], zero_point=qb[1])
    y = m.tensor("output", out_shape, "int8", scale=q[0], zero_point=q[1])
    m.op(opcode, [a, b], [y])
    m.inputs = [a] if b_const else [a, b]
    m.outputs = [y]
    return m.build()


SHAPES = [
    ((1, 8, 8, 3), (1, 8, 8, 3)),
    ((17,), (17,)),
    ((2, 5, 7, 3), (3,)),
    ((2, 5, 7, 3), (1, 1, 1, 1)),
    ((1,), (4, 6)),
    ((4, 1, 6), (1, 5, 1)),
    ((2, 3, 1, 5), (3, 4, 1)),
    ((2, 1, 3, 1, 5), (1, 4, 1, 6, 1)),
    ((3, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 2)),
    ((), ()),
    ((5, 1), ()),
]


@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("shapes", SHAPES, ids=[str(s) for s in SHAPES])
def test_maximum_minimum_random(opcode, shapes, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{opcode} {shapes}".encode()))
    assert_bit_exact(maxmin_model(rng, opcode, *shapes), tmp_path, count=3)


@pytest.mark.parametrize("opcode", ["MAXIMUM", "MINIMUM"])
def test_maximum_minimum_constant_operand(opcode, tmp_path):
    """The usual converter pattern: a tensor against a constant (e.g. a clip bound)."""
    rng = np.random.default_rng(zlib.crc32(f"{opcode} const".encode()))
    for k, b_shape in enumerate([(1,), (1, 1, 6, 4)]):
        sub = tmp_path / str(k)   # a fresh folder: the host build caches by path
        sub.mkdir()
        assert_bit_exact(maxmin_model(rng, opcode, (1, 6, 6, 4), b_shape, b_const=True), sub)


def test_maximum_different_quantization_matches_tflm(tmp_path):
    """TFLM compares raw values whatever the quantization; so does tinygen (with a warning)."""
    rng = np.random.default_rng(11)
    assert_bit_exact(maxmin_model(rng, "MAXIMUM", (3, 4), (3, 4), same_quant=False), tmp_path)


def test_broadcast_loops_merge():
    assert broadcast_loops((2, 3, 4), [(2, 3, 4), (2, 3, 4)]) == [(24, [1, 1])]
    assert broadcast_loops((2, 5, 7, 3), [(2, 5, 7, 3), (3,)]) == [(70, [3, 0]), (3, [1, 1])]
    assert broadcast_loops((4, 5, 6), [(4, 1, 6), (1, 5, 1)]) == [
        (4, [6, 0]), (5, [0, 1]), (6, [1, 0])]
    assert broadcast_loops((), [(), ()]) == []


def test_maximum_rejects_bad_broadcast(tmp_path):
    m = ModelWriter()
    a = m.tensor("a", (2, 3), "int8", scale=0.1, zero_point=0)
    b = m.tensor("b", (2, 4), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", (2, 4), "int8", scale=0.1, zero_point=0)
    m.op("MAXIMUM", [a, b], [y])
    m.inputs, m.outputs = [a, b], [y]
    with pytest.raises(UnsupportedError, match="does not broadcast"):
        assert_bit_exact(m.build(), tmp_path)
