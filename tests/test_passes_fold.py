"""Constant folding (codegen/passes/fold_constants.py) and the choice of golden reference.

Unit tests run the pass on small graphs; the end-to-end tests generate C and
compare with the reference.  In the end-to-end models the folded operators
take constant inputs, so TFLM itself runs them at run time: every evaluator is
checked against TFLM's kernel for the same operator.  A SHAPE -> FILL model,
which TFLM refuses, is checked against LiteRT's reference kernels.
"""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.passes import run_passes
from codegen.passes.fold_constants import fold_constants
from codegen.reference import make_reference
from tests.harness import assert_bit_exact

Q = dict(scale=0.05, zero_point=-3)


def seeded(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def shape_fill_add(value: int = 7, fill_dtype: str = "int8") -> bytes:
    """y = x + FILL(SHAPE(x), value): TFLM refuses it (FILL of run-time dims)."""
    m = ModelWriter()
    x = m.tensor("x", (1, 6, 5), "int8", **Q)
    dims = m.tensor("dims", (3,), "int32")
    v = m.const("value", np.array(value), fill_dtype, **Q)
    filled = m.tensor("filled", (1, 6, 5), fill_dtype, **Q)
    y = m.tensor("y", (1, 6, 5), "int8", scale=0.08, zero_point=5)
    m.op("SHAPE", [x], [dims], {"out_type": 2})
    m.op("FILL", [dims, v], [filled])
    m.op("ADD", [x, filled], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def opcodes(g) -> list[str]:
    return [op.opcode for op in g.ops]


# -- the pass on small graphs -------------------------------------------------------------

def test_shape_fill_add_folds_to_one_add():
    g = read_tflite(shape_fill_add(value=-9))
    f = fold_constants(g)
    assert opcodes(f) == ["ADD"]
    dims, filled = (next(t for t in f.tensors if t.name == n) for n in ("dims", "filled"))
    assert dims.data.dtype == np.int32 and dims.data.tolist() == [1, 6, 5]
    assert filled.data.dtype == np.int8 and filled.data.shape == (1, 6, 5)
    assert np.all(filled.data == -9)
    # pure: the input graph is untouched
    assert opcodes(g) == ["SHAPE", "FILL", "ADD"]
    assert all(t.data is None for t in g.tensors if t.name in ("dims", "filled"))


def test_constant_chain_folds_with_numpy_semantics():
    rng = seeded("chain")
    a = rng.integers(-128, 128, size=(2, 3, 4)).astype(np.int8)
    b = rng.integers(-128, 128, size=(4, 2)).astype(np.int8)
    b2 = rng.integers(-128, 128, size=(3, 2)).astype(np.int8)
    m = ModelWriter()
    x = m.tensor("x", (3, 4), "int8", **Q)
    ca = m.const("a", a, "int8", **Q)
    t1 = m.tensor("t1", (4, 2, 3), "int8", **Q)
    t2 = m.tensor("t2", (4, 6), "int8", **Q)
    t3 = m.tensor("t3", (4, 3), "int8", **Q)        # t2[::-1, 5:0:-2]
    t4 = m.tensor("t4", (4, 5), "int8", **Q)
    y = m.tensor("y", (3, 6), "int8", **Q)
    m.op("TRANSPOSE", [ca, m.const("perm", np.array([2, 0, 1]), "int32")], [t1])
    m.op("RESHAPE", [t1, m.const("shape", np.array([4, 6]), "int32")], [t2])
    m.op("STRIDED_SLICE", [t2, m.const("begin", np.array([-1, 5]), "int32"),
                           m.const("end", np.array([0, 0]), "int32"),
                           m.const("strides", np.array([-1, -2]), "int32")], [t3],
         {"begin_mask": 0, "end_mask": 1})
    m.op("CONCATENATION", [t3, m.const("b", b, "int8", **Q)], [t4], {"axis": -1})
    m.op("CONCATENATION", [x, m.const("b2", b2, "int8", **Q)], [y], {"axis": 1})
    m.inputs, m.outputs = [x], [y, t4]
    f = run_passes(read_tflite(m.build()))
    # t4 is a model output: one copy from its constant; y's CONCATENATION reads x at run time
    assert opcodes(f) == ["RESHAPE", "CONCATENATION"]
    copy = f.ops[0]
    want = np.concatenate([a.transpose(2, 0, 1).reshape(4, 6)[::-1, 5:0:-2], b], axis=-1)
    assert f.tensors[copy.outputs[0]].name == "t4" and not f.tensors[copy.outputs[0]].is_const
    assert np.array_equal(f.tensors[copy.inputs[0]].data, want)


def test_folded_output_is_copied_and_its_readers_take_the_constant():
    m = ModelWriter()
    x = m.tensor("x", (2, 3), "int8", **Q)
    c = m.const("c", np.arange(6).reshape(3, 2), "int8", **Q)
    t = m.tensor("t", (2, 3), "int8", **Q)
    y = m.tensor("y", (2, 3), "int8", **Q)
    m.op("TRANSPOSE", [c, m.const("perm", np.array([1, 0]), "int32")], [t])
    m.op("MUL", [x, t], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [t, y]
    f = fold_constants(read_tflite(m.build()))
    assert opcodes(f) == ["RESHAPE", "MUL"]
    copy, mul = f.ops
    src = f.tensors[copy.inputs[0]]
    assert src.is_const and np.array_equal(src.data, np.arange(6).reshape(3, 2).T)
    assert copy.outputs == [t] and not f.tensors[t].is_const
    assert mul.inputs == [x, src.index]        # reads flash, not the caller's buffer
    prog = generate("m.tflite", None, model_bytes=m.build()).program
    assert [layer.call.kernel for layer in prog.layers] == ["tg_copy", "tg_mul_s8"]


def test_all_constant_ops_without_evaluator_stay():
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "int8", **Q)
    c1 = m.const("c1", np.array([[1, 2, 3, 4]]), "int8", **Q)
    c2 = m.const("c2", np.array([[-5, 6, -7, 8]]), "int8", **Q)
    s = m.tensor("s", (1, 4), "int8", scale=0.1, zero_point=0)
    w = m.const("w", np.arange(12).reshape(3, 4) - 6, "int8", scale=0.02, zero_point=0)
    fc = m.tensor("fc", (1, 3), "int8", scale=0.03, zero_point=1)
    y = m.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
    m.op("ADD", [c1, c2], [s], {"fused_activation_function": 0})
    m.op("FULLY_CONNECTED", [c1, w, -1], [fc], {"fused_activation_function": 0})
    m.op("ADD", [x, s], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y, fc]
    g = read_tflite(m.build())
    assert fold_constants(g) is g


@pytest.mark.parametrize("case", ["fill dims differ from the output shape",
                                  "fill value of another type", "cast float out of range",
                                  "strided slice with ellipsis_mask", "concat of unlike int8"])
def test_evaluators_decline_what_they_cannot_do_exactly(case):
    m = ModelWriter()
    x = m.tensor("x", (2, 3), "int8", **Q)
    if case.startswith("fill"):
        dims = m.const("dims", np.array([3, 2]) if "dims" in case else np.array([2, 3]), "int32")
        v = m.const("v", np.array(1), "int32" if "type" in case else "int8", **Q)
        t = m.tensor("t", (2, 3), "int8", **Q)
        m.op("FILL", [dims, v], [t])
    elif case.startswith("cast"):
        c = m.const("c", np.array([[1.5, -2.5, 3e9], [0, 1, 2]]), "float32")
        t = m.tensor("t", (2, 3), "int32")
        m.op("CAST", [c], [t])
    elif case.startswith("strided"):
        c = m.const("c", np.zeros((2, 3)), "int8", **Q)
        t = m.tensor("t", (2, 3), "int8", **Q)
        ints = [m.const(n, np.array(v), "int32") for n, v in
                (("b", [0, 0]), ("e", [2, 3]), ("s", [1, 1]))]
        m.op("STRIDED_SLICE", [c] + ints, [t], {"ellipsis_mask": 1})
    else:
        c = m.const("c", np.zeros((2, 1)), "int8", scale=0.5, zero_point=0)
        d = m.const("d", np.zeros((2, 2)), "int8", **Q)
        t = m.tensor("t", (2, 3), "int8", **Q)
        m.op("CONCATENATION", [c, d], [t], {"axis": 1})
    y = m.tensor("y", (2, 3), "int8", **Q)
    m.op("ADD", [x, t], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    g = read_tflite(m.build())
    assert opcodes(fold_constants(g)) == opcodes(g)


def test_fill_of_run_time_dims_is_refused_with_its_name():
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "int8", **Q)
    dims = m.tensor("dims", (2,), "int32")
    v = m.const("v", np.array(0), "int8", **Q)
    t = m.tensor("t", (1, 4), "int8", **Q)
    y = m.tensor("y", (1, 4), "int8", **Q)
    m.op("FILL", [dims, v], [t])
    m.op("ADD", [x, t], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x, dims], [y]
    with pytest.raises(UnsupportedError) as err:
        generate("m.tflite", None, model_bytes=m.build())
    assert "FILL" in str(err.value) and "generation can compute" in str(err.value)


# -- end to end ----------------------------------------------------------------------------

def test_shape_fill_add_matches_tflm_on_the_folded_model(tmp_path):
    model = shape_fill_add(value=-20)
    ref = make_reference(model, read_tflite(model))
    assert ref.name.startswith("TFLM reference kernels, on the model with static shapes folded")
    assert "FILL" in ref.name                    # why TFLM could not run the original
    assert assert_bit_exact(model, tmp_path, count=3).reference == ref.name


def test_shape_fill_add_matches_litert_reference(tmp_path):
    """LiteRT runs the unfolded model (SHAPE -> FILL at run time): same result."""
    from codegen.toolchain.host import HostModel
    from codegen.reference import LiteRtReference
    from codegen.vectors import random_inputs

    model = shape_fill_add(value=-20)
    graph = read_tflite(model)
    ref = LiteRtReference(model, graph)
    (tmp_path / "m.tflite").write_bytes(model)
    generate(tmp_path / "m.tflite", tmp_path / "out")
    host = HostModel(tmp_path / "out", tmp_path / "build")
    rng = np.random.default_rng(3)
    for _ in range(3):
        x = random_inputs(graph, rng)
        want, got = ref.run(x), host.invoke(x)
        assert np.array_equal(np.asarray(got[0]).reshape(-1), np.asarray(want[0]).reshape(-1))


def test_reference_is_tflm_where_it_can_run():
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "int8", **Q)
    y = m.tensor("y", (1, 4), "int8", **Q)
    m.op("ADD", [x, x], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    assert make_reference(m.build(), read_tflite(m.build())).name == "TFLM reference kernels"


def evaluator_cases(m: ModelWriter, rng: np.random.Generator, x: int) -> None:
    """Many independent constant expressions, each a model output (TFLM computes them at
    run time; tinygen folds them and copies the constants out)."""
    def out(name, shape, dtype="int8", **q):
        t = m.tensor(name, shape, dtype, **q)
        m.outputs.append(t)
        return t

    def i8(shape):
        return m.const(f"k{len(m.tensors)}", rng.integers(-128, 128, size=shape), "int8", **Q)

    def i32(values):
        return m.const(f"k{len(m.tensors)}", np.array(values), "int32")

    # SHAPE and ZEROS_LIKE of the run-time input
    m.op("SHAPE", [x], [out("shape", (3,), "int32")], {"out_type": 2})
    m.op("ZEROS_LIKE", [x], [out("zeros", (2, 3, 4), "int8", **Q)])
    # FILL of int8, int32 and float32 values
    m.op("FILL", [i32([2, 3]), m.const("fv8", np.array(-77), "int8", **Q)],
         [out("fill8", (2, 3), "int8", **Q)])
    m.op("FILL", [i32([4]), m.const("fv32", np.array(123456789), "int32")],
         [out("fill32", (4,), "int32")])
    m.op("FILL", [i32([1, 2, 2]), m.const("fvf", np.array(-0.3125), "float32")],
         [out("fillf", (1, 2, 2), "float32")])
    # reshapes
    m.op("RESHAPE", [i8((2, 6)), i32([3, 4])], [out("reshape", (3, 4), "int8", **Q)])
    m.op("SQUEEZE", [i8((1, 5, 1))], [out("squeeze", (5,), "int8", **Q)],
         {"squeeze_dims": [0, 2]})
    m.op("EXPAND_DIMS", [i8((3, 2)), m.const("ax", np.array(1), "int32")],
         [out("expand", (3, 1, 2), "int8", **Q)])
    # TRANSPOSE of int8 and float32
    m.op("TRANSPOSE", [i8((2, 3, 4, 5)), i32([3, 1, 0, 2])],
         [out("transpose", (5, 3, 2, 4), "int8", **Q)])
    fdata = m.const("fdata", rng.normal(size=(3, 4)), "float32")
    m.op("TRANSPOSE", [fdata, i32([1, 0])], [out("transposef", (4, 3), "float32")])
    # CONCATENATION and PACK
    m.op("CONCATENATION", [i8((2, 1, 3)), i8((2, 4, 3)), i8((2, 2, 3))],
         [out("concat", (2, 7, 3), "int8", **Q)], {"axis": -2})
    m.op("CONCATENATION", [i32([[1, 2]]), i32([[3, 4], [5, 6]])],
         [out("concat32", (3, 2), "int32")], {"axis": 0})
    m.op("PACK", [i8((2, 3)), i8((2, 3)), i8((2, 3))], [out("pack", (2, 3, 3), "int8", **Q)],
         {"axis": 1, "values_count": 3})
    # UNPACK, SPLIT, SPLIT_V (several outputs each)
    m.op("UNPACK", [i8((3, 2, 2))], [out(f"unpack{k}", (3, 2), "int8", **Q) for k in range(2)],
         {"axis": -1, "num": 2})
    m.op("SPLIT", [m.const("sax", np.array(1), "int32"), i8((2, 6))],
         [out(f"split{k}", (2, 2), "int8", **Q) for k in range(3)], {"num_splits": 3})
    m.op("SPLIT_V", [i8((5, 2)), i32([1, 4]), m.const("svax", np.array(0), "int32")],
         [out("splitv0", (1, 2), "int8", **Q), out("splitv1", (4, 2), "int8", **Q)],
         {"num_splits": 2})
    # STRIDED_SLICE: masks, negative strides, shrink
    m.op("STRIDED_SLICE", [i8((4, 5, 6)), i32([1, -1, 0]), i32([3, 0, 6]), i32([1, -2, 2])],
         [out("slice", (2, 2, 3), "int8", **Q)], {"begin_mask": 0, "end_mask": 0})
    m.op("STRIDED_SLICE", [i8((3, 4)), i32([2, 7]), i32([0, 9]), i32([1, 1])],
         [out("slice_masks", (1, 4), "int8", **Q)], {"end_mask": 1, "begin_mask": 2,
                                                      "shrink_axis_mask": 0})
    m.op("STRIDED_SLICE", [i32([5, 6, 7, 8]), i32([2]), i32([3]), i32([1])],
         [out("slice_shrink", (), "int32")], {"shrink_axis_mask": 1})
    # GATHER along axis 0
    m.op("GATHER", [i8((4, 3)), i32([3, 0, 3, 1, 2])], [out("gather", (5, 3), "int8", **Q)])
    # CAST
    m.op("CAST", [i8((2, 5))], [out("cast_i8_i32", (2, 5), "int32")])
    m.op("CAST", [i32([7, -70000, 2 ** 30 + 3, -1])], [out("cast_i32_f", (4,), "float32")])
    m.op("CAST", [m.const("cf", np.array([2.9, -2.9, 0.5, -126.99]), "float32")],
         [out("cast_f_i8", (4,), "int8")])


def test_every_evaluator_matches_tflm(tmp_path):
    rng = seeded("evaluators")
    m = ModelWriter()
    x = m.tensor("x", (2, 3, 4), "int8", **Q)
    m.inputs = [x]
    evaluator_cases(m, rng, x)
    # a folded value that is both a model output and read at run time
    t = m.tensor("t", (2, 3, 4), "int8", **Q)
    m.op("RESHAPE", [m.const("c", rng.integers(-128, 128, size=24), "int8", **Q),
                     m.const("tshape", np.array([2, 3, 4]), "int32")], [t])
    y = m.tensor("y", (2, 3, 4), "int8", scale=0.07, zero_point=2)
    m.op("ADD", [x, t], [y], {"fused_activation_function": 0})
    m.outputs += [t, y]
    model = m.build()
    f = run_passes(read_tflite(model))
    assert {op.opcode for op in f.ops} == {"RESHAPE", "ADD"}      # copies and the one ADD
    assert sum(op.opcode == "RESHAPE" for op in f.ops) == len(m.outputs) - 1
    assert assert_bit_exact(model, tmp_path, count=2).reference == "TFLM reference kernels"


def test_all_constant_ops_without_evaluator_run_on_the_device(tmp_path):
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "int8", **Q)
    c1 = m.const("c1", np.array([[1, 2, 3, 4]]), "int8", **Q)
    c2 = m.const("c2", np.array([[-5, 6, -7, 8]]), "int8", **Q)
    s = m.tensor("s", (1, 4), "int8", scale=0.1, zero_point=0)
    w = m.const("w", np.arange(12).reshape(3, 4) - 6, "int8", scale=0.02, zero_point=0)
    fc = m.tensor("fc", (1, 3), "int8", scale=0.03, zero_point=1)
    y = m.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
    m.op("ADD", [c1, c2], [s], {"fused_activation_function": 0})
    m.op("FULLY_CONNECTED", [c1, w, -1], [fc], {"fused_activation_function": 0})
    m.op("ADD", [x, s], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y, fc, s]
    assert assert_bit_exact(m.build(), tmp_path, count=2).reference == "TFLM reference kernels"


def test_output_that_is_a_constant_in_the_file_is_copied(tmp_path):
    m = ModelWriter()
    x = m.tensor("x", (1, 3), "int8", **Q)
    y = m.tensor("y", (1, 3), "int8", scale=0.1, zero_point=0)
    c = m.const("c", np.array([[5, -6, 7]]), "int8", **Q)
    m.op("ADD", [x, c], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y, c]
    f = fold_constants(read_tflite(m.build()))
    assert opcodes(f) == ["RESHAPE", "ADD"]
    assert not f.tensors[c].is_const and f.ops[1].inputs == [x, f.ops[0].inputs[0]]
    assert assert_bit_exact(m.build(), tmp_path, count=2).reference == "TFLM reference kernels"
