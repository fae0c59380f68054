"""REDUCE_MAX and REDUCE_MIN (int8) against TFLM over random shapes, axis sets and zero points."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.batch import Batch, quant_of
from tests.harness import assert_bit_exact


def add_reduce(b: Batch, rng, opcode, shape, axes, keep_dims, zp=None):
    rank = len(shape)
    resolved = {a + rank if a < 0 else a for a in axes}
    if keep_dims:
        out = tuple(1 if k in resolved else d for k, d in enumerate(shape))
    else:
        out = tuple(d for k, d in enumerate(shape) if k not in resolved)
    q = quant_of(rng, "int8", zp)
    x = b.input(shape, **q)
    y = b.output(out, **q)
    b.op(opcode, [x, b.const(np.array(axes, np.int32))], [y], {"keep_dims": bool(keep_dims)})


CASES = [
    ((1, 7, 7, 16), [1, 2], True),       # GlobalMaxPooling2D(keepdims=True)
    ((1, 5, 6, 8), [1, 2], False),       # GlobalMaxPooling2D
    ((2, 3, 4, 5), [-1, -3], True),
    ((3, 4, 5, 6), [0, 2], False),
    ((2, 3, 4, 5), [0, 1, 2, 3], False),
    ((6, 10), [1, 1], True),
    ((17,), [0], False),
    ((2, 3, 2, 3, 4), [1, 3], False),
    ((1, 1, 1, 8), [1, 2], True),
]


@pytest.mark.parametrize("opcode", ["REDUCE_MAX", "REDUCE_MIN"])
def test_reduce_minmax_random(opcode, tmp_path):
    rng = np.random.default_rng(zlib.crc32(opcode.encode()))
    b = Batch()
    for k, (shape, axes, keep) in enumerate(CASES):
        add_reduce(b, rng, opcode, shape, axes, keep, zp=[-128, 127, None][k % 3])
    r = assert_bit_exact(b.build(), tmp_path, count=3)
    assert r.reference == "TFLM reference kernels"


def test_reduce_max_of_a_constant_is_folded(tmp_path):
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=-5)
    x = m.tensor("x", (3,), "int8", **q)
    c = m.const("c", np.array([[1, -7, 3], [4, 5, -128]], np.int8), "int8", **q)
    t = m.tensor("t", (3,), "int8", **q)
    y = m.tensor("y", (3,), "int8", **q)
    m.op("REDUCE_MIN", [c, m.const("a", np.array([0], np.int32), "int32")], [t],
         {"keep_dims": False})
    m.op("MAXIMUM", [x, t], [y])
    m.inputs, m.outputs = [x], [y]
    r = assert_bit_exact(m.build(), tmp_path, count=2)
    assert [l.call.op.opcode for l in r.gen.program.layers] == ["MAXIMUM"]


def test_reduce_max_needs_equal_quantization():
    m = ModelWriter()
    x = m.tensor("x", (2, 3), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", (2,), "int8", scale=0.2, zero_point=0)
    m.op("REDUCE_MAX", [x, m.const("a", np.array([1], np.int32), "int32")], [y],
         {"keep_dims": False})
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match="REDUCE_MAX.*same scale and zero point"):
        generate("r.tflite", None, model_bytes=m.build())
