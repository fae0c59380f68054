"""SLICE against TFLM, several cases per model."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.batch import Batch, quant_of
from tests.harness import assert_bit_exact


def add_slice(b: Batch, rng, shape, begin, size, dtype="int8", zp=None, idx_dtype="int32"):
    q = quant_of(rng, dtype, zp)
    x = b.input(shape, dtype, **q)
    out = tuple(d - bg if s == -1 else s for d, bg, s in zip(shape, begin, size))
    y = b.output(out, dtype, **q)
    b.op("SLICE", [x, b.const(np.array(begin), idx_dtype), b.const(np.array(size), idx_dtype)],
         [y])


def random_slice(rng, shape):
    begin, size = [], []
    for d in shape:
        bg = int(rng.integers(0, d))
        n = int(rng.integers(1, d - bg + 1))
        begin.append(bg)
        size.append(-1 if rng.random() < 0.25 else n)
    return begin, size


def test_slice_random(tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"slice"))
    b = Batch()
    for k in range(9):
        rank = int(rng.integers(1, 5))
        shape = tuple(int(d) for d in rng.integers(1, 7, rank))
        begin, size = random_slice(rng, shape)
        add_slice(b, rng, shape, begin, size, zp=[-128, 127, None][k % 3],
                  idx_dtype="int64" if k % 3 == 2 else "int32")
    add_slice(b, rng, (1, 8, 8, 3), [0, 2, 1, 0], [1, 4, -1, 3])
    add_slice(b, rng, (3, 4), [0, 0], [-1, -1])                      # the whole input
    add_slice(b, rng, (2, 5, 3), [1, 1, 0], [1, 3, 2], dtype="int16")
    add_slice(b, rng, (4, 6), [1, 2], [2, 3], dtype="int32")
    add_slice(b, rng, (2, 3, 4), [0, 1, 2], [2, 2, 1], dtype="float32")
    r = assert_bit_exact(b.build(), tmp_path, count=2)
    assert r.reference == "TFLM reference kernels"
    assert {l.call.kernel for l in r.gen.program.layers} == {"tg_strided_copy"}


def test_slice_of_a_constant_is_folded(tmp_path):
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=-128)
    x = m.tensor("x", (2, 2), "int8", **q)
    c = m.const("c", np.arange(12, dtype=np.int8).reshape(3, 4), "int8", **q)
    t = m.tensor("t", (2, 2), "int8", **q)
    y = m.tensor("y", (2, 2), "int8", **q)
    m.op("SLICE", [c, m.const("b", np.array([1, 1], np.int32), "int32"),
                   m.const("s", np.array([-1, 2], np.int32), "int32")], [t])
    m.op("MINIMUM", [x, t], [y])
    m.inputs, m.outputs = [x], [y]
    r = assert_bit_exact(m.build(), tmp_path, count=2)
    assert [l.call.op.opcode for l in r.gen.program.layers] == ["MINIMUM"]


@pytest.mark.parametrize("begin,size,out,match", [
    ([0, 2], [2, 2], (2, 2), "does not lie inside"),
    ([-1, 0], [1, 3], (1, 3), "does not lie inside"),
    ([0, 0], [1, 2], (1, 3), "output shape"),
    ([0], [1], (1, 3), "expected 2"),
])
def test_slice_rejections(begin, size, out, match):
    m = ModelWriter()
    x = m.tensor("x", (2, 3), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", out, "int8", scale=0.1, zero_point=0)
    m.op("SLICE", [x, m.const("b", np.array(begin, np.int32), "int32"),
                   m.const("s", np.array(size, np.int32), "int32")], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=f"SLICE.*{match}"):
        generate("slice.tflite", None, model_bytes=m.build())
