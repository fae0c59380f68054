"""AVERAGE_POOL_2D and MAX_POOL_2D against TFLM over shapes, windows, strides and padding."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ops.window import compute_out_size, compute_padding
from tests.harness import assert_bit_exact

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
SAME, VALID = 0, 1


def pool_model(opcode, shape, filt, stride, padding, act="NONE", zp=0, scale=0.05,
               out_scale=None, out_zp=None, out_shape=None, dtype="int8"):
    n, h, w, c = shape
    fh, fw = filt
    sh, sw = stride
    oh = compute_out_size(padding, h, fh, sh)
    ow = compute_out_size(padding, w, fw, sw)
    m = ModelWriter()
    x = m.tensor("input", shape, dtype, scale=scale, zero_point=zp)
    y = m.tensor("output", out_shape or (n, oh, ow, c), dtype,
                 scale=scale if out_scale is None else out_scale,
                 zero_point=zp if out_zp is None else out_zp)
    m.op(opcode, [x], [y], {"padding": padding, "stride_w": sw, "stride_h": sh,
                            "filter_width": fw, "filter_height": fh,
                            "fused_activation_function": ACTS[act]})
    m.inputs, m.outputs = [x], [y]
    return m.build()


# shape (NHWC), filter (h, w), stride (h, w), padding
GEOMETRIES = [
    ((1, 1, 1, 1), (1, 1), (1, 1), VALID),
    ((1, 1, 1, 3), (3, 3), (1, 1), SAME),         # window bigger than the input
    ((1, 5, 7, 3), (2, 2), (2, 2), VALID),
    ((1, 5, 7, 3), (2, 2), (2, 2), SAME),
    ((1, 7, 5, 4), (3, 3), (1, 1), SAME),
    ((2, 9, 9, 5), (3, 3), (2, 2), SAME),
    ((1, 8, 8, 16), (8, 8), (8, 8), VALID),       # global pooling
    ((1, 6, 10, 2), (3, 5), (2, 3), SAME),        # asymmetric window and strides
    ((1, 4, 4, 7), (6, 6), (1, 2), SAME),         # window bigger than the input, strided
    ((1, 25, 5, 64), (25, 5), (2, 2), VALID),     # DS-CNN style global average
    ((3, 11, 3, 1), (4, 1), (3, 1), SAME),
    ((1, 13, 13, 8), (1, 1), (2, 2), VALID),      # 1x1 window subsampling
    ((1, 2, 3, 9), (4, 4), (4, 4), SAME),
]


@pytest.mark.parametrize("opcode", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("geo", GEOMETRIES, ids=[str(g) for g in GEOMETRIES])
def test_pool_geometry(opcode, geo, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"{opcode}{geo}".encode()))
    zp = int(rng.integers(-128, 128))
    scale = float(rng.uniform(0.01, 0.2))
    act = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"][zlib.crc32(repr(geo).encode()) % 4]
    assert_bit_exact(pool_model(opcode, *geo, act=act, zp=zp, scale=scale), tmp_path, count=3)


@pytest.mark.parametrize("opcode", ["AVERAGE_POOL_2D", "MAX_POOL_2D"])
@pytest.mark.parametrize("act", list(ACTS))
@pytest.mark.parametrize("zp", [-128, 127])
def test_pool_activation_and_zero_point(opcode, act, zp, tmp_path):
    # scale 0.03 puts the RELU6 bound inside the int8 range when zp is -128
    assert_bit_exact(pool_model(opcode, (1, 6, 6, 4), (3, 3), (2, 2), SAME, act=act, zp=zp,
                                scale=0.03), tmp_path, count=3)


def test_avg_pool_rounds_half_away_from_zero(tmp_path):
    """Windows of two neighbours a, a+1: every mean is an exact half, of either sign."""
    shape = (1, 1, 8, 4)
    runs = []
    for a in (np.array([[-128, -3, -2, -1], [0, 1, 2, 126], [-50, 50, -7, 7], [5, -6, 9, -10]]),
              np.full((4, 4), -1), np.full((4, 4), 0)):
        x = np.zeros(shape, np.int8)
        x[0, 0, 0::2, :] = a
        x[0, 0, 1::2, :] = a + 1
        runs.append([x])
    assert_bit_exact(pool_model("AVERAGE_POOL_2D", shape, (1, 2), (1, 2), VALID, zp=0),
                     tmp_path, inputs=runs)


def test_padding_matches_tflite():
    # SAME: ceil(in / stride) outputs, the odd padding row goes after the input
    assert compute_out_size(SAME, 5, 2, 2) == 3 and compute_padding(2, 1, 5, 2, 3) == 0
    assert compute_out_size(SAME, 7, 3, 1) == 7 and compute_padding(1, 1, 7, 3, 7) == 1
    assert compute_out_size(SAME, 4, 6, 2) == 2 and compute_padding(2, 1, 4, 6, 2) == 2
    assert compute_out_size(VALID, 5, 2, 2) == 2 and compute_padding(2, 1, 5, 2, 2) == 0
    assert compute_out_size(VALID, 3, 5, 1) == -1


def _generate(model: bytes, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    generate(path, tmp_path / "out", target="host", force=True)


@pytest.mark.parametrize("kwargs,message", [
    (dict(out_scale=0.1), "output quantization equal"),
    (dict(out_zp=3), "output quantization equal"),
    (dict(out_shape=(1, 4, 4, 4)), "does not match"),
    (dict(dtype="int32"), "supported: int8, int16"),
])
def test_pool_rejects(kwargs, message, tmp_path):
    with pytest.raises(UnsupportedError, match=message):
        _generate(pool_model("AVERAGE_POOL_2D", (1, 6, 6, 4), (3, 3), (2, 2), SAME, **kwargs),
                  tmp_path)


def test_pool_rejects_window_larger_than_valid_input(tmp_path):
    m = ModelWriter()
    x = m.tensor("input", (1, 3, 3, 2), "int8", scale=0.1, zero_point=0)
    y = m.tensor("output", (1, 1, 1, 2), "int8", scale=0.1, zero_point=0)
    m.op("MAX_POOL_2D", [x], [y], {"padding": VALID, "stride_w": 1, "stride_h": 1,
                                   "filter_width": 5, "filter_height": 5})
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match="does not fit"):
        _generate(m.build(), tmp_path)
