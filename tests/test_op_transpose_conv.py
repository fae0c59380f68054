"""TRANSPOSE_CONV, int8, against TFLM: random shapes, strides, paddings, quantizations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.ops.window import PADDING_SAME, PADDING_VALID
from tests.harness import assert_bit_exact


def transpose_conv_model(rng, in_shape, out_hw, filt_hw, stride, padding, out_d,
                         bias=True, per_channel=True, act=0, zps=None, bias_slot=False,
                         output_shape=None, m: ModelWriter | None = None, tag: str = ""):
    """A one-layer model (bytes), or with `m` the layer added to it: (inputs, outputs)."""
    b, in_h, in_w, in_d = in_shape
    s_in = float(rng.uniform(0.01, 0.1))
    z_in, z_out = zps or [int(v) for v in rng.integers(-128, 128, 2)]
    f_scales = rng.uniform(0.002, 0.02, out_d if per_channel else 1)
    taps = max(1, filt_hw[0] * filt_hw[1] * in_d // (stride[0] * stride[1]))
    s_out = s_in * float(f_scales.mean()) * 128 * np.sqrt(taps) * float(rng.uniform(0.5, 2))
    out_shape = (b, *out_hw, out_d)
    alone = m is None
    m = m or ModelWriter()
    x = m.tensor("x" + tag, in_shape, "int8", scale=s_in, zero_point=z_in)
    shp = m.const("output_shape" + tag, np.array(output_shape or out_shape), "int32")
    w = m.const("w" + tag, rng.integers(-127, 128, (out_d, *filt_hw, in_d)), "int8",
                scale=list(f_scales), zero_point=[0] * f_scales.size, axis=0)
    ins = [shp, w, x]
    if bias:
        bs = [s_in * float(s) for s in f_scales]
        ins.append(m.const("b" + tag, rng.integers(-3000, 3000, out_d), "int32", scale=bs,
                           zero_point=[0] * len(bs)))
    elif bias_slot:
        ins.append(-1)
    y = m.tensor("y" + tag, out_shape, "int8", scale=s_out, zero_point=z_out)
    m.op("TRANSPOSE_CONV", ins, [y], dict(padding=padding, stride_h=stride[0],
                                          stride_w=stride[1], fused_activation_function=act))
    if not alone:
        return [x], [y]
    m.inputs, m.outputs = [x], [y]
    return m.build()


S, V = PADDING_SAME, PADDING_VALID
CASES = [
    # input shape, output h/w, filter h/w, stride, padding, output depth, options
    ((1, 4, 4, 3), (8, 8), (3, 3), (2, 2), S, 5, {}),              # Conv2DTranspose(2, same)
    ((1, 4, 4, 3), (9, 9), (3, 3), (2, 2), V, 4, {}),              # valid: (in-1)*s + f
    ((2, 3, 5, 2), (6, 10), (2, 2), (2, 2), S, 3, dict(act=1)),    # UpSampling-like, RELU
    ((1, 5, 3, 4), (5, 3), (3, 3), (1, 1), S, 6, dict(bias=False, bias_slot=True)),
    ((1, 3, 3, 2), (11, 8), (5, 4), (3, 2), V, 2, dict(per_channel=False, act=3)),
    ((1, 4, 2, 3), (8, 4), (4, 1), (2, 2), S, 3, dict(zps=[-128, 127], bias=False)),
    ((1, 2, 2, 8), (7, 7), (3, 3), (3, 3), S, 2, dict(zps=[127, -128])),  # SAME, odd output
    ((1, 3, 4, 2), (7, 8), (3, 3), (2, 2), S, 2, {}),              # output not in*stride
    ((1, 3, 3, 3), (10, 9), (2, 3), (3, 3), V, 3, dict(zps=[127, -128])),  # stride > filter
]


def test_transpose_conv(tmp_path):
    """Every case as its own layer of one model (one build), under ASan/UBSan."""
    m = ModelWriter()
    for k, case in enumerate(CASES):
        in_shape, out_hw, f_hw, stride, padding, out_d, opts = case
        rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
        ins, outs = transpose_conv_model(rng, in_shape, out_hw, f_hw, stride, padding, out_d,
                                         m=m, tag=str(k), **opts)
        m.inputs += ins
        m.outputs += outs
    result = assert_bit_exact(m.build(), tmp_path, count=3, seed=1, sanitize=True)
    layers = result.gen.program.layers
    assert [l.call.kernel for l in layers] == ["tg_transpose_conv_s8"] * len(CASES)
    assert all(l.call.scratch == [] for l in layers)   # no int32 buffer of the output size
    assert result.reference.startswith("TFLM")


def test_transpose_conv_rejects_int16(tmp_path):
    m = ModelWriter()
    x = m.tensor("x", (1, 2, 2, 1), "int16", scale=0.01, zero_point=0)
    shp = m.const("s", np.array([1, 4, 4, 1]), "int32")
    w = m.const("w", np.ones((1, 2, 2, 1)), "int8", scale=[0.01], zero_point=[0])
    y = m.tensor("y", (1, 4, 4, 1), "int16", scale=0.01, zero_point=0)
    m.op("TRANSPOSE_CONV", [shp, w, x], [y], dict(padding=S, stride_h=2, stride_w=2))
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match=r"TRANSPOSE_CONV.*input 'x' is int16; "
                                               r"supported: int8"):
        assert_bit_exact(m.build(), tmp_path)


def test_transpose_conv_rejects_inconsistent_output_shape(tmp_path):
    rng = np.random.default_rng(0)
    model = transpose_conv_model(rng, (1, 4, 4, 3), (8, 8), (3, 3), (2, 2), S, 5,
                                 output_shape=(1, 9, 9, 5))
    with pytest.raises(UnsupportedError, match=r"output_shape \[1, 9, 9, 5\] differs"):
        assert_bit_exact(model, tmp_path)


def test_transpose_conv_keras_output_shape_from_shape_ops(tmp_path):
    """Keras' Conv2DTranspose with an unknown batch computes output_shape at run time:
    SHAPE(x)[0] packed with constants.  The shapes are static here, so tinygen folds that
    chain to the constant TRANSPOSE_CONV needs (TFLM ignores the input anyway)."""
    rng = np.random.default_rng(21)
    m = ModelWriter()
    x = m.tensor("x", (1, 3, 3, 2), "int8", scale=0.05, zero_point=4)
    shape = m.tensor("shape", (4,), "int32")
    m.op("SHAPE", [x], [shape], {"out_type": 2})
    batch = m.tensor("batch", (), "int32")
    m.op("STRIDED_SLICE", [shape, m.const("b0", np.array([0]), "int32"),
                           m.const("b1", np.array([1]), "int32"),
                           m.const("b2", np.array([1]), "int32")], [batch],
         {"shrink_axis_mask": 1})
    out_shape = m.tensor("output_shape", (4,), "int32")
    m.op("PACK", [batch] + [m.const(f"d{k}", np.array(v), "int32") for k, v in
                            enumerate((6, 6, 4))], [out_shape], {"values_count": 4, "axis": 0})
    w = m.const("w", rng.integers(-127, 128, (4, 3, 3, 2)), "int8", scale=[0.01] * 4,
                zero_point=[0] * 4, axis=0)
    bias = m.const("bias", rng.integers(-500, 500, 4), "int32", scale=[0.0005] * 4,
                   zero_point=[0] * 4)
    y = m.tensor("y", (1, 6, 6, 4), "int8", scale=0.1, zero_point=-3)
    m.op("TRANSPOSE_CONV", [out_shape, w, x, bias], [y],
         dict(padding=S, stride_h=2, stride_w=2, fused_activation_function=1))
    m.inputs, m.outputs = [x], [y]
    result = assert_bit_exact(m.build(), tmp_path, count=2)
    assert [l.call.kernel for l in result.gen.program.layers] == ["tg_transpose_conv_s8"]
