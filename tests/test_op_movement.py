"""PAD, PADV2, TRANSPOSE and STRIDED_SLICE against TFLM, several cases per model."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.generate import generate
from codegen.lowering.strided_copy import strided_copy_params
from tests.batch import Batch, quant_of, rejections, single_op_model
from tests.harness import assert_bit_exact


def seeded(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def random_shape(rng, rank: int, hi: int = 5) -> tuple:
    return tuple(int(d) for d in rng.integers(1, hi + 1, rank))


# -- PAD / PADV2 ------------------------------------------------------------------------------

def add_pad(b: Batch, rng, shape, pads, dtype="int8", opcode="PAD", value=None, zp=None):
    q = quant_of(rng, dtype, zp)
    x = b.input(shape, dtype, **q)
    out_shape = tuple(d + lo + hi for d, (lo, hi) in zip(shape, pads))
    y = b.output(out_shape, dtype, **q)
    ins = [x, b.const(np.array(pads, dtype=np.int32).reshape(len(shape), 2))]
    if opcode == "PADV2":
        ins.append(b.const(np.array(value).reshape(()), dtype, **q))
    b.op(opcode, ins, [y])


PAD_CASES = {
    "image_style": [((1, 5, 7, 3), [[0, 0], [1, 1], [1, 1], [0, 0]]),
                    ((2, 4, 4, 8), [[0, 0], [0, 1], [0, 1], [0, 0]]),
                    ((1, 9, 6, 1), [[0, 0], [3, 0], [2, 5], [0, 0]])],
    "generic": [((7,), [[2, 3]]),
                ((3, 4), [[1, 0], [0, 2]]),
                ((2, 3, 4), [[1, 1], [0, 0], [2, 1]]),
                ((1, 3, 3, 5), [[1, 0], [0, 0], [0, 0], [2, 3]]),
                ((2, 2, 3, 2, 3), [[1, 0], [0, 1], [1, 1], [0, 2], [1, 0]]),
                ((1, 1, 1, 1), [[0, 0], [0, 0], [0, 0], [0, 0]]),
                ((4, 1, 5), [[0, 0], [0, 0], [0, 0]])],
}


@pytest.mark.parametrize("group", sorted(PAD_CASES))
def test_pad_int8(group, tmp_path):
    rng = seeded("pad" + group)
    b = Batch()
    for k, (shape, pads) in enumerate(PAD_CASES[group]):
        zp = [-128, 127, None][k % 3]
        add_pad(b, rng, shape, pads, zp=zp)
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_pad_other_types_and_padv2(tmp_path):
    rng = seeded("pad types")
    b = Batch()
    pads = [[0, 0], [1, 2], [2, 0], [0, 1]]
    for dtype in ("int16", "float32", "int32"):   # PAD pads these with 0
        add_pad(b, rng, (1, 3, 4, 2), pads, dtype)
    add_pad(b, rng, (2, 3, 3, 2), pads, "int8", "PADV2", value=-128, zp=5)
    add_pad(b, rng, (1, 4, 2, 3), pads, "int8", "PADV2", value=127, zp=-128)
    add_pad(b, rng, (3, 5), [[1, 1], [2, 2]], "int16", "PADV2", value=-1234)
    add_pad(b, rng, (2, 3, 2), [[1, 1], [0, 1], [1, 0]], "float32", "PADV2", value=-2.5)
    add_pad(b, rng, (1, 3, 3, 1), pads, "float32", "PADV2", value=-np.inf)
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_pad_rejections():
    rng = seeded("pad reject")
    b = Batch()
    add_pad(b, rng, (1, 2, 2, 2, 2, 2), [[0, 0]] * 5 + [[1, 1]])   # 6-D: TFLM pads <= 5-D
    ours, theirs = rejections(b.build())
    assert ours and "at most 5" in ours and theirs
    # PADV2 int8 whose constant is quantized differently from the output
    model = single_op_model("PADV2", [((1, 3, 3, 1), "int8", dict(scale=0.1, zero_point=0))],
                            [((1, 5, 5, 1), "int8", dict(scale=0.1, zero_point=0))],
                            {1: ([[0, 0], [1, 1], [1, 1], [0, 0]], "int32", {}),
                             2: ([3], "int8", dict(scale=0.2, zero_point=0))})
    ours, theirs = rejections(model)
    assert ours and "same scale and zero point" in ours and theirs


# -- TRANSPOSE --------------------------------------------------------------------------------

def add_transpose(b: Batch, rng, shape, perm, dtype="int8"):
    q = quant_of(rng, dtype)
    x = b.input(shape, dtype, **q)
    y = b.output(tuple(shape[p] for p in perm), dtype, **q)
    b.op("TRANSPOSE", [x, b.const(np.array(perm, dtype=np.int32))], [y])


@pytest.mark.parametrize("rank", [1, 2, 3, 4, 5])
def test_transpose_random(rank, tmp_path):
    rng = seeded(f"transpose {rank}")
    b = Batch()
    for k in range(6 if rank > 2 else 2):
        shape = random_shape(rng, rank, 6 if rank < 4 else 4)
        perm = [int(p) for p in rng.permutation(rank)]
        add_transpose(b, rng, shape, perm, ("int8", "int8", "int16", "float32")[k % 4])
    if rank == 4:   # the usual NHWC <-> NCHW moves, odd sizes
        add_transpose(b, rng, (1, 7, 5, 3), [0, 3, 1, 2])
        add_transpose(b, rng, (2, 3, 5, 7), [0, 2, 3, 1])
    if rank == 5:   # a permutation no dimensions of which merge
        add_transpose(b, rng, (2, 3, 4, 5, 3), [4, 2, 0, 3, 1])
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_transpose_of_size_1_axes_is_a_reshape(tmp_path):
    """A TRANSPOSE that moves only axes of size 1 (1x49x10 -> 49x1x10, as converters emit
    around recurrent layers) leaves every element where it is: it becomes an alias of its
    input, no copy, where the planner can grant it."""
    from codegen.ops.movement import keeps_data_order
    assert keeps_data_order((1, 49, 10), [1, 0, 2])
    assert keeps_data_order((2, 1, 3, 1), [0, 3, 2, 1])
    assert not keeps_data_order((2, 1, 3), [2, 1, 0])
    assert not keeps_data_order((1, 7, 5, 3), [0, 3, 1, 2])
    rng = seeded("transpose reshape")
    b = Batch()
    q = quant_of(rng, "int8")
    x = b.input((1, 49, 10), "int8", **q)
    t = b.m.tensor("t", (49, 1, 10), "int8", **q)
    y = b.output((10, 1, 49), "int8", **q)
    b.op("TRANSPOSE", [x, b.const(np.array([1, 0, 2], dtype=np.int32))], [t])
    b.op("TRANSPOSE", [t, b.const(np.array([2, 1, 0], dtype=np.int32))], [y])
    res = assert_bit_exact(b.build(), tmp_path, count=2)
    assert [layer.call.kernel for layer in res.gen.program.layers] == ["tg_strided_copy"]


def test_transpose_rejections():
    rng = seeded("transpose reject")
    b = Batch()
    add_transpose(b, rng, (2, 1, 2, 1, 2, 3), [5, 4, 3, 2, 1, 0])
    ours, theirs = rejections(b.build())
    assert ours and "1-D to 5-D" in ours and theirs


# -- STRIDED_SLICE ----------------------------------------------------------------------------

def slice_shape(shape, begin, end, strides, begin_mask, end_mask, shrink_mask) -> tuple:
    """The output shape by numpy's slicing, which TFLite's strided slice follows."""
    index = []
    for k, n in enumerate(shape):
        if shrink_mask >> k & 1:
            index.append(begin[k])
            continue
        index.append(slice(None if begin_mask >> k & 1 else begin[k],
                           None if end_mask >> k & 1 else end[k], strides[k]))
    return np.empty(shape)[tuple(index)].shape


def random_slice(rng, shape):
    while True:
        begin, end, strides = [], [], []
        bm = em = sm = 0
        for k, n in enumerate(shape):
            s = int(rng.choice([1, 1, 2, 3, -1, -2]))
            begin.append(int(rng.integers(-n - 2, n + 2)))
            end.append(int(rng.integers(-n - 2, n + 2)))
            strides.append(s)
            bm |= int(rng.random() < 0.25) << k
            em |= int(rng.random() < 0.25) << k
            if rng.random() < 0.15 and -n <= begin[k] < n:
                sm |= 1 << k
                strides[k] = 1      # TFLM writes nothing for a shrunk axis walked backwards
        out = slice_shape(shape, begin, end, strides, bm, em, sm)
        if int(np.prod(out)) > 0:
            return begin, end, strides, bm, em, sm, out


def add_slice(b: Batch, rng, shape, begin, end, strides, bm=0, em=0, sm=0, dtype="int8",
              out_shape=None):
    q = quant_of(rng, dtype)
    x = b.input(shape, dtype, **q)
    if out_shape is None:
        out_shape = slice_shape(shape, begin, end, strides, bm, em, sm)
    y = b.output(out_shape, dtype, **q)
    ins = [x] + [b.const(np.array(v, dtype=np.int32)) for v in (begin, end, strides)]
    b.op("STRIDED_SLICE", ins, [y], {"begin_mask": bm, "end_mask": em, "shrink_axis_mask": sm})


@pytest.mark.parametrize("rank", [1, 2, 3, 4])
def test_strided_slice_random(rank, tmp_path):
    rng = seeded(f"strided slice {rank}")
    b = Batch()
    for k in range(10):
        shape = random_shape(rng, rank, 7 if rank < 3 else 5)
        begin, end, strides, bm, em, sm, _ = random_slice(rng, shape)
        add_slice(b, rng, shape, begin, end, strides, bm, em, sm,
                  dtype=("int8", "int8", "int16", "float32", "int32")[k % 5])
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_strided_slice_common_forms(tmp_path):
    rng = seeded("strided slice forms")
    b = Batch()
    add_slice(b, rng, (1, 8, 8, 3), [0, 1, 1, 0], [1, 8, 8, 3], [1, 2, 2, 1])      # subsample
    add_slice(b, rng, (1, 6, 10), [0, 0, -1], [1, 6, 0], [1, 1, 1], sm=0b100)      # last column
    add_slice(b, rng, (5, 9), [0, 0], [0, 0], [-1, -1], bm=0b11, em=0b11)           # reverse both
    add_slice(b, rng, (4, 3, 2), [1, 0, 0], [3, 3, 2], [1, 1, 1])                  # rows 1..2
    add_slice(b, rng, (2, 4, 6, 2), [1, 3, 5, 1], [0, 0, 0, 0], [-1, -2, -3, -1])
    add_slice(b, rng, (1, 1, 1, 1), [0, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1])
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_strided_slice_ignores_ellipsis_like_tflm(tmp_path):
    """TFLM's kernel drops ellipsis_mask and new_axis_mask; tinygen does the same and warns."""
    rng = seeded("strided slice ellipsis")
    b = Batch()
    add_slice(b, rng, (3, 4), [1, 0], [3, 4], [1, 2])
    b.m.ops[0].options["ellipsis_mask"] = 1
    model = b.build()
    gen = generate("case.tflite", None, model_bytes=model)
    assert any("ellipsis_mask" in w for w in gen.program.warnings)
    assert_bit_exact(model, tmp_path, count=1)


def test_strided_slice_rejections():
    rng = seeded("strided slice reject")
    b = Batch()
    add_slice(b, rng, (1, 2, 2, 2, 2), [0] * 5, [1, 2, 2, 2, 2], [1] * 5)
    ours, theirs = rejections(b.build())
    assert ours and "1-D to 4-D" in ours and theirs
    b = Batch()   # a wrong output shape
    add_slice(b, rng, (4, 4), [0, 0], [4, 4], [2, 1], out_shape=(3, 4))
    ours, theirs = rejections(b.build())
    assert ours and "does not match the slice" in ours and theirs


# -- the generic strided copy's parameters ----------------------------------------------------

def test_strided_copy_merges_contiguous_dimensions():
    # a contiguous 4-D copy is one run of bytes
    p = strided_copy_params((2, 3, 4, 5), (60, 20, 5, 1), (60, 20, 5, 1), 0, 0, 2)
    assert p["shape"] == [1, 1, 1, 1, 1] and p["run_bytes"] == 240
    # channel padding: rows of 3 elements land in rows of 5
    p = strided_copy_params((1, 4, 4, 3), (48, 12, 3, 1), (80, 20, 5, 1), 0, 1, 1)
    assert p["shape"][-1] == 16 and p["in_stride"][-1] == 3 and p["out_stride"][-1] == 5
    assert p["run_bytes"] == 3 and p["out_offset"] == 1
    with pytest.raises(ValueError):
        strided_copy_params((2,) * 6, (1, 4, 16, 2, 8, 32), (32, 16, 8, 4, 2, 1), 0, 0, 1)


def test_unsupported_error_type():
    rng = seeded("error type")
    b = Batch()
    add_transpose(b, rng, (2, 3), [0, 0])
    with pytest.raises(UnsupportedError, match="not a permutation"):
        generate("case.tflite", None, model_bytes=b.build())
