"""RESIZE_NEAREST_NEIGHBOR against TFLM, several cases per model."""
import zlib

import numpy as np
import pytest

from codegen.ops.resize import nearest_indices
from tests.batch import Batch, quant_of, rejections
from tests.harness import assert_bit_exact

FLAGS = {"plain": (False, False), "align_corners": (True, False),
         "half_pixel_centers": (False, True), "both": (True, True)}
# (input size, output size) where float32 arithmetic picks another pixel than exact math
FLOAT32_SENSITIVE = {"plain": (26, 22), "align_corners": (14, 23),
                     "half_pixel_centers": (6, 37), "both": (4, 38)}


def add_resize(b: Batch, rng, shape, size, align, half, dtype="int8", out_shape=None):
    q = quant_of(rng, dtype)
    x = b.input(shape, dtype, **q)
    y = b.output(out_shape or (shape[0], size[0], size[1], shape[3]), dtype, **q)
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, b.const(np.array(size, dtype=np.int32))], [y],
         {"align_corners": align, "half_pixel_centers": half})


@pytest.mark.parametrize("flags", sorted(FLAGS))
def test_resize_nearest(flags, tmp_path):
    align, half = FLAGS[flags]
    rng = np.random.default_rng(zlib.crc32(f"resize {flags}".encode()))
    b = Batch()
    cases = [((1, 4, 4, 3), (8, 8)),        # 2x upsampling
             ((2, 5, 3, 2), (7, 11)),       # odd, uneven factors
             ((1, 9, 7, 1), (4, 3)),        # downsampling
             ((1, 1, 1, 5), (3, 2)),        # from a single pixel
             ((1, 6, 6, 4), (1, 1)),        # to a single pixel
             ((1, 3, 8, 2), (3, 8))]        # same size
    n_in, n_out = FLOAT32_SENSITIVE[flags]
    cases += [((1, n_in, 2, 1), (n_out, 3)), ((1, 2, n_in, 2), (1, n_out))]
    for k, (shape, size) in enumerate(cases):
        add_resize(b, rng, shape, size, align, half, ("int8", "int8", "int16", "float32")[k % 4])
    for _ in range(4):
        shape = (int(rng.integers(1, 3)), *(int(d) for d in rng.integers(1, 10, 2)),
                 int(rng.integers(1, 5)))
        add_resize(b, rng, shape, tuple(int(d) for d in rng.integers(1, 20, 2)), align, half)
    assert_bit_exact(b.build(), tmp_path, count=2)


def test_nearest_indices_rounding():
    # align_corners rounds halfway cases away from zero: 3 -> 5 has scale 0.5
    assert nearest_indices(3, 5, True, False) == [0, 1, 1, 2, 2]
    assert nearest_indices(4, 8, False, False) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert nearest_indices(4, 8, False, True) == [0, 0, 1, 1, 2, 2, 3, 3]
    assert nearest_indices(2, 3, False, True) == [0, 1, 1]


def test_resize_rejections():
    rng = np.random.default_rng(7)
    b = Batch()
    add_resize(b, rng, (1, 4, 4, 3), (8, 8), False, False, out_shape=(1, 8, 6, 3))
    ours, _ = rejections(b.build())
    assert ours and "does not match size" in ours
    b = Batch()
    x = b.input((4, 4, 3))
    y = b.output((8, 8, 3))
    b.op("RESIZE_NEAREST_NEIGHBOR", [x, b.const(np.array([8, 8], np.int32))], [y])
    ours, theirs = rejections(b.build())
    assert ours and "4-D" in ours and theirs
