"""ARG_MAX and ARG_MIN of int8: int32 outputs against TFLM, int64 against LiteRT's reference."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.batch import Batch, quant_of
from tests.harness import assert_bit_exact

OUTPUT_TYPE = {"int32": 2, "int64": 4}

CASES = [((1, 10), -1), ((2, 3, 4), 1), ((2, 3, 4), 0), ((4, 5, 2, 3), 3), ((4, 5, 2, 3), -2),
         ((7,), 0), ((1, 1, 1, 12), 3)]


def arg_batch(rng, out_dtype: str, axis_dtype: str = "int32") -> tuple[bytes, list]:
    b = Batch()
    for k, (shape, axis) in enumerate(CASES):
        opcode = ["ARG_MAX", "ARG_MIN"][k % 2]
        x = b.input(shape, **quant_of(rng, "int8", [-128, 127, None][k % 3]))
        y = b.output(tuple(d for j, d in enumerate(shape) if j != axis % len(shape)), out_dtype)
        b.op(opcode, [x, b.const(np.array([axis]), axis_dtype)], [y],
             {"output_type": OUTPUT_TYPE[out_dtype]})
    # inputs with many ties (the first index must win), and the whole int8 range
    runs = [[rng.integers(-2, 2, shape, endpoint=True).astype(np.int8) for shape, _ in CASES],
            [rng.integers(-128, 127, shape, endpoint=True).astype(np.int8) for shape, _ in CASES],
            [np.full(shape, v, np.int8) for (shape, _), v in zip(CASES, [-128, 127] * 4)]]
    return b.build(), runs


def test_arg_minmax_int32(tmp_path):
    model, runs = arg_batch(np.random.default_rng(zlib.crc32(b"argminmax32")), "int32")
    r = assert_bit_exact(model, tmp_path, inputs=runs)
    assert r.reference == "TFLM reference kernels"


def test_arg_minmax_int64_output_and_axis(tmp_path):
    """TFLM writes int32 only (and reads an int32 axis): LiteRT's reference kernels judge."""
    model, runs = arg_batch(np.random.default_rng(zlib.crc32(b"argminmax64")), "int64",
                            axis_dtype="int64")
    r = assert_bit_exact(model, tmp_path, inputs=runs)
    assert "LiteRT" in r.reference


def test_arg_max_of_a_constant_is_folded(tmp_path):
    m = ModelWriter()
    q = dict(scale=0.1, zero_point=0)
    x = m.tensor("x", (3,), "int8", **q)
    c = m.const("c", np.array([[1, -7, 3], [-4, 5, 3]], np.int8), "int8", **q)
    t = m.tensor("t", (3,), "int32")
    y = m.tensor("y", (3,), "int8", **q)
    m.op("ARG_MIN", [c, m.const("a", np.array([0], np.int32), "int32")], [t],
         {"output_type": 2})
    m.op("RELU", [x], [y])
    m.inputs, m.outputs = [x], [y, t]
    r = assert_bit_exact(m.build(), tmp_path, count=2)
    assert "ARG_MIN" not in [l.call.op.opcode for l in r.gen.program.layers]


@pytest.mark.parametrize("case,match", [("axis_range", "out of range"),
                                         ("type_mismatch", "output_type option says int64"),
                                         ("float_input", "float32")])
def test_arg_minmax_rejections(case, match):
    m = ModelWriter()
    dt = "float32" if case == "float_input" else "int8"
    q = {} if dt == "float32" else dict(scale=0.1, zero_point=0)
    x = m.tensor("x", (2, 3), dt, **q)
    y = m.tensor("y", (2,), "int32")
    axis = 2 if case == "axis_range" else 1
    m.op("ARG_MAX", [x, m.const("a", np.array([axis], np.int32), "int32")], [y],
         {"output_type": 4 if case == "type_mismatch" else 2})
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=f"ARG_MAX.*{match}"):
        generate("a.tflite", None, model_bytes=m.build())
