"""GATHER against TFLM: constant and run-time positions, axes, batch_dims, element types."""
import zlib

import numpy as np
import pytest

from codegen.toolchain.host import HostModel
from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.batch import Batch, quant_of
from tests.harness import assert_bit_exact


def out_shape(shape, pos_shape, axis, batch_dims):
    return tuple(shape[:axis]) + tuple(pos_shape[batch_dims:]) + tuple(shape[axis + 1:])


def add_gather(b: Batch, rng, shape, pos_shape, axis, batch_dims=0, dtype="int8", zp=None):
    a = axis % len(shape)
    q = quant_of(rng, dtype, zp)
    x = b.input(shape, dtype, **q)
    pos = rng.integers(0, shape[a], pos_shape).astype(np.int32)
    y = b.output(out_shape(shape, pos_shape, a, batch_dims), dtype, **q)
    opts = {"axis": axis}
    if batch_dims:
        opts["batch_dims"] = batch_dims
    b.op("GATHER", [x, b.const(pos)], [y], opts)


def test_gather_constant_positions(tmp_path):
    rng = np.random.default_rng(zlib.crc32(b"gather"))
    b = Batch()
    add_gather(b, rng, (10, 4), (3,), 0, zp=-128)            # an embedding lookup
    add_gather(b, rng, (2, 5, 3), (2, 2), 1, zp=127)
    add_gather(b, rng, (2, 5, 3), (4,), -1)
    add_gather(b, rng, (3, 4, 5), (3, 2), 1, batch_dims=1)
    add_gather(b, rng, (2, 3, 4, 2), (2, 3, 5), 2, batch_dims=2, zp=-128)
    add_gather(b, rng, (6,), (), 0)                           # one scalar position
    add_gather(b, rng, (4, 3), (5,), 0, dtype="float32")
    r = assert_bit_exact(b.build(), tmp_path, count=2)
    assert r.reference == "TFLM reference kernels"
    assert {l.call.kernel for l in r.gen.program.layers} == {"tg_gather"}


def runtime_positions_model(shape=(5, 3), pos_shape=(4,), axis=0) -> bytes:
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=-7)
    x = m.tensor("x", shape, "int8", **q)
    p = m.tensor("positions", pos_shape, "int32")
    y = m.tensor("y", out_shape(shape, pos_shape, axis, 0), "int8", **q)
    m.op("GATHER", [x, p], [y], {"axis": axis})
    m.inputs, m.outputs = [x, p], [y]
    return m.build()


def test_gather_runtime_positions(tmp_path):
    """Random positions stay inside the axis (codegen.verify.random_inputs and the reference's
    trial run know GATHER's positions); outside it, TFLM fails the call, and so does the
    generated invoke."""
    r = assert_bit_exact(runtime_positions_model(), tmp_path, count=4)
    assert r.reference == "TFLM reference kernels"
    x = np.arange(15, dtype=np.int8).reshape(5, 3)
    host = HostModel(tmp_path / "out", tmp_path / "build")
    assert np.array_equal(host.invoke([x, np.array([4, 0, 4, 2], np.int32)])[0], x[[4, 0, 4, 2]])
    with pytest.raises(RuntimeError, match="returned 1"):
        host.invoke([x, np.array([0, 1, 5, 2], np.int32)])
    with pytest.raises(RuntimeError, match="returned 1"):
        host.invoke([x, np.array([0, -1, 2, 2], np.int32)])


def test_gather_with_batch_dims_of_a_constant_is_folded(tmp_path):
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=0)
    x = m.tensor("x", (2, 2), "int8", **q)
    c = m.const("c", np.arange(12, dtype=np.int8).reshape(2, 6), "int8", **q)
    t = m.tensor("t", (2, 2), "int8", **q)
    y = m.tensor("y", (2, 2), "int8", **q)
    m.op("GATHER", [c, m.const("p", np.array([[5, 0], [2, 2]], np.int32), "int32")], [t],
         {"axis": 1, "batch_dims": 1})
    m.op("MAXIMUM", [x, t], [y])
    m.inputs, m.outputs = [x], [y]
    r = assert_bit_exact(m.build(), tmp_path, count=2)
    assert [l.call.op.opcode for l in r.gen.program.layers] == ["MAXIMUM"]


@pytest.mark.parametrize("case,match", [("out_of_range", r"position 3 is outside \[0, 3\)"),
                                         ("int64_positions", "positions .* is int64"),
                                         ("bad_axis", "axis 2 is out of range"),
                                         ("int16", "int16; supported: int8, float32")])
def test_gather_rejections(case, match):
    m = ModelWriter()
    dt = "int16" if case == "int16" else "int8"
    x = m.tensor("x", (2, 3), dt, scale=0.1, zero_point=0)
    pdt = "int64" if case == "int64_positions" else "int32"
    p = m.const("p", np.array([0, 3 if case == "out_of_range" else 1]), pdt)
    axis = 2 if case == "bad_axis" else 1
    y = m.tensor("y", (2, 2), dt, scale=0.1, zero_point=0)
    m.op("GATHER", [x, p], [y], {"axis": axis})
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=f"GATHER.*{match}"):
        generate("g.tflite", None, model_bytes=m.build())
