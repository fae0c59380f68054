"""TILE (TFLM has none: LiteRT's reference kernels judge it), several cases per model."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.lowering.tile.portable import merge_tile_dims
from tests.batch import Batch, quant_of
from tests.harness import assert_bit_exact


def add_tile(b: Batch, rng, shape, multiples, dtype="int8", zp=None, mult_dtype="int32"):
    q = quant_of(rng, dtype, zp)
    x = b.input(shape, dtype, **q)
    y = b.output(tuple(d * m for d, m in zip(shape, multiples)), dtype, **q)
    b.op("TILE", [x, b.const(np.array(multiples), mult_dtype)], [y])


def test_tile_random(tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"tile int8"))
    b = Batch()
    for k in range(8):
        rank = int(rng.integers(1, 6))
        shape = tuple(int(d) for d in rng.integers(1, 5, rank))
        multiples = [int(m) for m in rng.integers(1, 4, rank)]
        add_tile(b, rng, shape, multiples, zp=[-128, 127, None][k % 3],
                 mult_dtype="int64" if k % 4 == 3 else "int32")
    add_tile(b, rng, (1, 1, 1, 1), [1, 1, 1, 1])       # a copy
    add_tile(b, rng, (1, 3, 1, 4, 1, 2), [1, 1, 2, 1, 2, 1])   # Keras 3 UpSampling2D
    add_tile(b, rng, (2, 3), [3, 2], dtype="int32")
    add_tile(b, rng, (3, 1, 2), [1, 4, 2], dtype="float32")
    add_tile(b, rng, (4, 2), [2, 1], dtype="int16")
    r = assert_bit_exact(b.build(), tmp_path, count=2)
    assert "LiteRT" in r.reference                       # TFLM has no TILE
    assert {l.call.kernel for l in r.gen.program.layers} == {"tg_tile"}


def upsampling2d_model(n=1, h=5, w=4, c=3, s=2) -> bytes:
    """What Keras 3 UpSampling2D(size=s) converts to: RESHAPE, TILE, RESHAPE."""
    m = ModelWriter()
    q = dict(scale=0.05, zero_point=-3)
    x = m.tensor("x", (n, h, w, c), "int8", **q)
    r1 = m.tensor("r1", (n, h, 1, w, 1, c), "int8", **q)
    t = m.tensor("t", (n, h, s, w, s, c), "int8", **q)
    y = m.tensor("y", (n, h * s, w * s, c), "int8", **q)
    m.op("RESHAPE", [x, m.const("s1", np.array([n, h, 1, w, 1, c], np.int32), "int32")], [r1])
    m.op("TILE", [r1, m.const("mult", np.array([1, 1, s, 1, s, 1], np.int32), "int32")], [t])
    m.op("RESHAPE", [t, m.const("s2", np.array([n, h * s, w * s, c], np.int32), "int32")], [y])
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_keras3_upsampling2d(tmp_path):
    """Also what it means: every pixel repeated s x s times (nearest neighbour)."""
    r = assert_bit_exact(upsampling2d_model(), tmp_path, count=2)
    (tile,) = [l.call for l in r.gen.program.layers if l.call.kernel == "tg_tile"]
    assert tile.params["dims"] <= 4
    from codegen.toolchain.host import HostModel
    x = np.arange(60, dtype=np.int8).reshape(1, 5, 4, 3)
    y = HostModel(tmp_path / "out", tmp_path / "build").invoke([x])[0]
    assert np.array_equal(y, x.repeat(2, axis=1).repeat(2, axis=2))


def test_merge_tile_dims():
    # UpSampling2D: rows of W*C... are tiled by s, each then tiled by s again
    assert merge_tile_dims((1, 5, 1, 4, 1, 3), (1, 1, 2, 1, 2, 1)) == [(5, 1), (4, 2), (3, 2)]
    assert merge_tile_dims((1, 1), (1, 1)) == [(1, 1)]
    assert merge_tile_dims((2, 3, 4), (1, 1, 1)) == [(24, 1)]
    assert merge_tile_dims((2, 3, 4), (2, 1, 1)) == [(24, 2)]
    assert merge_tile_dims((2, 3, 4), (1, 1, 2)) == [(6, 1), (4, 2)]


@pytest.mark.parametrize("case", ["not_constant", "bad_shape", "zero_multiple"])
def test_tile_rejections(case):
    m = ModelWriter()
    x = m.tensor("x", (2, 3), "int8", scale=0.1, zero_point=0)
    mult = m.const("m", np.array([2, 0 if case == "zero_multiple" else 1], np.int32), "int32")
    ins = [x]
    if case == "not_constant":
        mult = m.tensor("m_in", (2,), "int32")
        ins.append(mult)
    y = m.tensor("y", (4, 3) if case != "bad_shape" else (4, 4), "int8", scale=0.1,
                 zero_point=0)
    m.op("TILE", [x, mult], [y])
    m.inputs, m.outputs = ins, [y]
    with pytest.raises(UnsupportedError, match=r"TILE.*(not a constant|output shape|at least 1)"):
        generate("tile.tflite", None, model_bytes=m.build())


def test_tile_of_a_constant_is_folded(tmp_path):
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=2)
    x = m.tensor("x", (2, 3), "int8", **q)
    c = m.const("c", np.arange(3, dtype=np.int8).reshape(1, 3), "int8", **q)
    t = m.tensor("t", (2, 3), "int8", **q)
    y = m.tensor("y", (2, 3), "int8", **q)
    m.op("TILE", [c, m.const("m", np.array([2, 1], np.int32), "int32")], [t])
    m.op("MAXIMUM", [x, t], [y])
    m.inputs, m.outputs = [x], [y]
    r = assert_bit_exact(m.build(), tmp_path, count=2)
    assert [l.call.op.opcode for l in r.gen.program.layers] == ["MAXIMUM"]
