"""16x8 layers (int16 activations, int8 weights: TFLite's 16x8 quantization) against TFLM:
CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED, with int64 biases (64-bit accumulation),
int32 biases (32-bit accumulation), none, per-tensor and per-channel filters, every fused
activation, and the refusals."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.harness import assert_bit_exact

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
INT32 = 2      # TensorType INT32: quantized_bias_type


def _bias(m, rng, n, dtype, scales, big):
    hi = 1 << 36 if big and dtype == "int64" else 1 << 20
    return m.const("bias", rng.integers(-hi, hi, (n,)), dtype, scale=scales,
                   zero_point=[0] * len(scales))


def _scales(rng, n, per_channel):
    return rng.uniform(0.002, 0.05, n if per_channel else 1)


def conv_16x8(rng, shape, out_d, kernel, stride=1, dilation=1, padding="SAME", groups=1,
              per_channel=True, bias="int64", act="NONE", quantized_bias_type=0,
              depthwise=False, multiplier=1, big_bias=False):
    m = ModelWriter()
    n, h, w, c = shape
    in_scale = float(rng.uniform(2e-4, 2e-3))
    x = m.tensor("input", shape, "int16", scale=in_scale, zero_point=0)
    ws = _scales(rng, out_d, per_channel)
    kh, kw = kernel
    if depthwise:
        filt = m.const("filter", rng.integers(-127, 128, (1, kh, kw, out_d)), "int8",
                       scale=ws, zero_point=[0] * ws.size, axis=3)
    else:
        filt = m.const("filter", rng.integers(-127, 128, (out_d, kh, kw, c // groups)), "int8",
                       scale=ws, zero_point=[0] * ws.size, axis=0)
    ins = [x, filt, _bias(m, rng, out_d, bias, in_scale * ws, big_bias) if bias else -1]
    pad = {"SAME": 0, "VALID": 1}[padding]

    def size(i):
        eff = (kernel[i] - 1) * dilation + 1
        full = (h, w)[i]
        return -(-full // stride) if padding == "SAME" else (full - eff) // stride + 1
    y = m.tensor("output", (n, size(0), size(1), out_d), "int16",
                 scale=float(rng.uniform(0.005, 0.05)), zero_point=0)
    opts = {"padding": pad, "stride_w": stride, "stride_h": stride,
            "dilation_w_factor": dilation, "dilation_h_factor": dilation,
            "fused_activation_function": ACTS[act]}
    if depthwise:
        opts["depth_multiplier"] = multiplier
        m.op("DEPTHWISE_CONV_2D", ins, [y], opts)
    else:
        if quantized_bias_type:
            opts["quantized_bias_type"] = quantized_bias_type
        m.op("CONV_2D", ins, [y], opts)
    m.inputs, m.outputs = [x], [y]
    return m.build()


def fc_16x8(rng, batches, depth, units, per_channel=True, bias="int64", act="NONE",
            quantized_bias_type=0, big_bias=False):
    m = ModelWriter()
    in_scale = float(rng.uniform(2e-4, 2e-3))
    x = m.tensor("input", (batches, depth), "int16", scale=in_scale, zero_point=0)
    ws = _scales(rng, units, per_channel)
    w = m.const("weights", rng.integers(-127, 128, (units, depth)), "int8", scale=ws,
                zero_point=[0] * ws.size, axis=0)
    ins = [x, w, _bias(m, rng, units, bias, in_scale * ws, big_bias) if bias else -1]
    y = m.tensor("output", (batches, units), "int16", scale=float(rng.uniform(0.005, 0.05)),
                 zero_point=0)
    opts = {"fused_activation_function": ACTS[act]}
    if quantized_bias_type:
        opts["quantized_bias_type"] = quantized_bias_type
    m.op("FULLY_CONNECTED", ins, [y], opts)
    m.inputs, m.outputs = [x], [y]
    return m.build()


CONV_CASES = [
    # shape, out_d, kernel, stride, dilation, padding, groups, per_channel, bias, act, qbt
    ((1, 6, 5, 3), 4, (3, 3), 1, 1, "SAME", 1, True, "int64", "NONE", 0),
    ((2, 7, 7, 4), 5, (3, 2), 2, 1, "VALID", 1, False, "int32", "RELU", 0),
    ((1, 9, 8, 2), 3, (3, 3), 1, 2, "SAME", 1, True, None, "RELU6", 0),
    ((1, 5, 6, 6), 4, (1, 1), 1, 1, "VALID", 2, True, None, "RELU_N1_TO_1", INT32),
    ((1, 4, 4, 8), 16, (2, 2), 3, 1, "SAME", 1, True, "int64", "NONE", 0),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=[str(c) for c in CONV_CASES])
def test_conv_16x8(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    shape, out_d, kernel, stride, dil, pad, groups, pc, bias, act, qbt = case
    model = conv_16x8(rng, shape, out_d, kernel, stride, dil, pad, groups, pc, bias, act, qbt)
    assert_bit_exact(model, tmp_path, count=3)


DW_CASES = [
    # shape, multiplier, kernel, stride, dilation, padding, per_channel, bias, act
    ((1, 7, 6, 3), 1, (3, 3), 1, 1, "SAME", True, "int64", "NONE"),
    ((2, 8, 8, 2), 2, (3, 3), 2, 1, "VALID", False, "int64", "RELU6"),
    ((1, 9, 7, 5), 1, (5, 3), 1, 2, "SAME", True, "int64", "RELU"),
]


@pytest.mark.parametrize("case", DW_CASES, ids=[str(c) for c in DW_CASES])
def test_depthwise_16x8(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    shape, mult, kernel, stride, dil, pad, pc, bias, act = case
    model = conv_16x8(rng, shape, shape[3] * mult, kernel, stride, dil, pad, 1, pc, bias, act,
                      depthwise=True, multiplier=mult)
    assert_bit_exact(model, tmp_path, count=3)


FC_CASES = [
    # batches, depth, units, per_channel, bias, act, quantized_bias_type, big bias
    (1, 16, 8, True, "int64", "NONE", 0, True),
    (3, 7, 5, False, "int32", "RELU", 0, False),
    (2, 33, 4, True, None, "RELU6", INT32, False),
    (1, 300, 3, False, None, "NONE", 0, False),
]


@pytest.mark.parametrize("case", FC_CASES, ids=[str(c) for c in FC_CASES])
def test_fully_connected_16x8(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    assert_bit_exact(fc_16x8(rng, *case), tmp_path, count=3)


def test_16x8_accumulator_width_follows_the_bias_type(tmp_path):
    """An int32 bias (or quantized_bias_type INT32) makes TFLM sum in 32 bits and requantize
    with the 32-bit MultiplyByQuantizedMultiplier; the kernel must be told which."""
    rng = np.random.default_rng(3)
    for bias, qbt, want in (("int64", 0, 0), ("int32", 0, 1), (None, INT32, 1), (None, 0, 0)):
        gen = generate("m.tflite", None, model_bytes=fc_16x8(rng, 1, 8, 4, bias=bias,
                                                      quantized_bias_type=qbt),
                       measure=False)
        (layer,) = gen.program.layers
        assert layer.call.kernel == "tg_fully_connected_s16"
        assert layer.call.params["acc32"] == want, (bias, qbt)


def _with_zero_point(zp: int) -> bytes:
    m = ModelWriter()
    x = m.tensor("input", (1, 8), "int16", scale=0.001, zero_point=zp)
    w = m.const("weights", np.ones((4, 8)), "int8", scale=[0.01], zero_point=[0], axis=0)
    y = m.tensor("output", (1, 4), "int16", scale=0.01, zero_point=0)
    m.op("FULLY_CONNECTED", [x, w, -1], [y], {})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_16x8_refusals():
    with pytest.raises(UnsupportedError, match="zero point 0"):
        generate("m.tflite", None, model_bytes=_with_zero_point(3), measure=False)
    rng = np.random.default_rng(1)
    model = conv_16x8(rng, (1, 5, 5, 2), 2, (3, 3), bias="int32", depthwise=True)
    with pytest.raises(UnsupportedError, match="int64"):
        generate("m.tflite", None, model_bytes=model, measure=False)
    model = conv_16x8(rng, (1, 5, 5, 2), 2, (3, 3), bias=None, depthwise=True)
    with pytest.raises(UnsupportedError, match="needs a bias"):
        generate("m.tflite", None, model_bytes=model, measure=False)
