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
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.batch import Batch
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


POOL_CASES = [
    # op, shape, filter, stride, padding, act
    ("AVERAGE_POOL_2D", (1, 7, 6, 3), (3, 3), 2, "SAME", "NONE"),
    ("AVERAGE_POOL_2D", (2, 5, 5, 4), (5, 5), 1, "VALID", "RELU6"),
    ("MAX_POOL_2D", (1, 8, 7, 5), (2, 3), 2, "SAME", "RELU"),
]


def pool_16x8(rng, opcode, shape, filt, stride, padding, act):
    m = ModelWriter()
    scale = float(rng.uniform(2e-4, 2e-3))
    x = m.tensor("input", shape, "int16", scale=scale, zero_point=0)
    n, h, w, c = shape

    def size(i):
        full = (h, w)[i]
        return -(-full // stride) if padding == "SAME" else (full - filt[i]) // stride + 1
    y = m.tensor("output", (n, size(0), size(1), c), "int16", scale=scale, zero_point=0)
    m.op(opcode, [x], [y], {"padding": {"SAME": 0, "VALID": 1}[padding], "stride_w": stride,
                            "stride_h": stride, "filter_width": filt[1],
                            "filter_height": filt[0], "fused_activation_function": ACTS[act]})
    m.inputs, m.outputs = [x], [y]
    return m.build()


@pytest.mark.parametrize("case", POOL_CASES, ids=[str(c) for c in POOL_CASES])
def test_pooling_16x8(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    assert_bit_exact(pool_16x8(rng, *case), tmp_path, count=3)


BINARY_CASES = [
    # op, shape1, shape2, zero points (in1, in2, out), act
    ("ADD", (2, 4, 5), (2, 4, 5), (0, 0, 0), "NONE"),
    ("ADD", (1, 3, 4, 6), (6,), (5, -7, 3), "RELU"),
    ("SUB", (3, 1, 5), (1, 4, 5), (0, 0, 0), "RELU6"),
    ("MUL", (2, 3, 4), (3, 1), (0, 0, 0), "NONE"),
    ("MUL", (7,), (7,), (0, 0, 0), "RELU_N1_TO_1"),
]


def binary_16x8(rng, opcode, shape1, shape2, zps, act):
    m = ModelWriter()
    a = m.tensor("a", shape1, "int16", scale=float(rng.uniform(1e-4, 1e-3)), zero_point=zps[0])
    b = m.tensor("b", shape2, "int16", scale=float(rng.uniform(1e-4, 1e-3)), zero_point=zps[1])
    out_shape = np.broadcast_shapes(shape1, shape2)
    y = m.tensor("y", out_shape, "int16", scale=float(rng.uniform(1e-4, 2e-3)),
                 zero_point=zps[2])
    m.op(opcode, [a, b], [y], {"fused_activation_function": ACTS[act]})
    m.inputs, m.outputs = [a, b], [y]
    return m.build()


@pytest.mark.parametrize("case", BINARY_CASES, ids=[str(c) for c in BINARY_CASES])
def test_add_sub_mul_16x8(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    assert_bit_exact(binary_16x8(rng, *case), tmp_path, count=3)


def model_16x8(rng) -> bytes:
    """A small 16x8 network as the converter writes one with 16-bit activations and float
    I/O: QUANTIZE, CONV_2D, DEPTHWISE_CONV_2D, ADD (residual), AVERAGE_POOL_2D, RESHAPE,
    FULLY_CONNECTED, SOFTMAX, DEQUANTIZE."""
    m = ModelWriter()
    s = [float(v) for v in rng.uniform(5e-4, 2e-3, 8)]
    xf = m.tensor("image", (1, 8, 8, 2), "float32")
    x = m.tensor("image_q", (1, 8, 8, 2), "int16", scale=s[0], zero_point=0)
    m.op("QUANTIZE", [xf], [x])

    def conv(name, inp, in_scale, out_d, depthwise, out_scale):
        ws = rng.uniform(0.002, 0.02, out_d)
        shape = (1, 3, 3, out_d) if depthwise else (out_d, 3, 3, 2)
        f = m.const(name + "_w", rng.integers(-127, 128, shape), "int8", scale=ws,
                    zero_point=[0] * out_d, axis=3 if depthwise else 0)
        b = m.const(name + "_b", rng.integers(-1 << 20, 1 << 20, (out_d,)), "int64",
                    scale=in_scale * ws, zero_point=[0] * out_d)
        y = m.tensor(name, (1, 8, 8, out_d), "int16", scale=out_scale, zero_point=0)
        opts = {"padding": 0, "stride_w": 1, "stride_h": 1, "fused_activation_function": 1}
        if depthwise:
            opts["depth_multiplier"] = 1
        m.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [inp, f, b], [y], opts)
        return y
    c1 = conv("conv", x, s[0], 4, False, s[1])
    c2 = conv("dw", c1, s[1], 4, True, s[2])
    r = m.tensor("residual", (1, 8, 8, 4), "int16", scale=s[3], zero_point=0)
    m.op("ADD", [c1, c2], [r], {"fused_activation_function": 0})
    p = m.tensor("pool", (1, 4, 4, 4), "int16", scale=s[3], zero_point=0)
    m.op("AVERAGE_POOL_2D", [r], [p], {"padding": 1, "stride_w": 2, "stride_h": 2,
                                       "filter_width": 2, "filter_height": 2})
    flat = m.tensor("flat", (1, 64), "int16", scale=s[3], zero_point=0)
    m.op("RESHAPE", [p, m.const("shape", np.array([1, 64]), "int32")], [flat])
    ws = rng.uniform(0.002, 0.02, 10)
    w = m.const("fc_w", rng.integers(-127, 128, (10, 64)), "int8", scale=ws,
                zero_point=[0] * 10, axis=0)
    b = m.const("fc_b", rng.integers(-1 << 20, 1 << 20, (10,)), "int64", scale=s[3] * ws,
                zero_point=[0] * 10)
    logits = m.tensor("logits", (1, 10), "int16", scale=s[4], zero_point=0)
    m.op("FULLY_CONNECTED", [flat, w, b], [logits])
    probs = m.tensor("probs", (1, 10), "int16", scale=1.0 / 32768, zero_point=0)
    m.op("SOFTMAX", [logits], [probs], {"beta": 1.0})
    out = m.tensor("scores", (1, 10), "float32")
    m.op("DEQUANTIZE", [probs], [out])
    m.inputs, m.outputs = [xf], [out]
    return m.build()


def test_a_16x8_network_end_to_end(tmp_path):
    assert_bit_exact(model_16x8(np.random.default_rng(16)), tmp_path, count=3)


ACT_CASES = [
    # op, input scale (powers of two take TFLM's power-of-two path), shape
    ("LOGISTIC", 2.0 ** -12, (3, 50)),
    ("LOGISTIC", 0.00037, (2, 7, 9)),
    ("TANH", 2.0 ** -12, (4, 33)),
    ("TANH", 2.0 ** -11, (5, 8)),
    ("TANH", 0.0021, (1, 64)),
    ("LOGISTIC", 3e-6, (17,)),
]


def activation_16x8(opcode, in_scale, shape):
    m = ModelWriter()
    x = m.tensor("x", shape, "int16", scale=in_scale, zero_point=0)
    y = m.tensor("y", shape, "int16", scale=2.0 ** -15, zero_point=0)
    m.op(opcode, [x], [y])
    m.inputs, m.outputs = [x], [y]
    return m.build()


@pytest.mark.parametrize("case", ACT_CASES, ids=[str(c) for c in ACT_CASES])
def test_logistic_tanh_16x8(case, tmp_path):
    assert_bit_exact(activation_16x8(*case), tmp_path, count=3)


def test_logistic_tanh_16x8_every_input(tmp_path):
    """All 65536 int16 inputs, both operators, a power-of-two and a general scale."""
    every = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 65536)
    for opcode, scale in (("LOGISTIC", 2.0 ** -12), ("TANH", 0.0013)):
        (tmp_path / opcode).mkdir()
        assert_bit_exact(activation_16x8(opcode, scale, (1, 65536)), tmp_path / opcode,
                         inputs=[[every]])


def test_logistic_tanh_16x8_refusals():
    m = ModelWriter()
    x = m.tensor("x", (4,), "int16", scale=2.0 ** -12, zero_point=0)
    y = m.tensor("y", (4,), "int16", scale=2.0 ** -14, zero_point=0)
    m.op("TANH", [x], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match="2\\^-15"):
        generate("m.tflite", None, model_bytes=m.build(), measure=False)


# --- the other operators of 16x8 models: several independent cases per model (tests/batch.py)


def add_softmax(b, in_scale, shape, beta=1.0, out_scale=1.0 / 32768, zero_points=(0, 0)):
    x = b.input(shape, "int16", scale=in_scale, zero_point=zero_points[0])
    y = b.output(shape, "int16", scale=out_scale, zero_point=zero_points[1])
    b.op("SOFTMAX", [x], [y], {"beta": beta})


def softmax_16x8(in_scale, shape, beta=1.0, out_scale=1.0 / 32768, zero_points=(0, 0)):
    b = Batch()
    add_softmax(b, in_scale, shape, beta, out_scale, zero_points)
    return b.build()


SOFTMAX_CASES = [
    # input scale, shape, beta
    (10.0 / 65535, (1, 10), 1.0),
    (3e-4, (3, 7), 1.0),
    (2e-3, (2, 3, 12), 0.5),
    (1.5e-5, (4, 40), 2.0),
    (0.02, (1, 1), 1.0),
]


def test_softmax_16x8(tmp_path):
    b = Batch()
    for case in SOFTMAX_CASES:
        add_softmax(b, *case)
    assert_bit_exact(b.build(), tmp_path, count=3)


def test_softmax_16x8_every_input(tmp_path):
    """Every int16 input v in rows [v, 32767]: each difference from -65535 to 0 goes through
    the exp table, and the row sums through the 1 / (1 + x) table, so both of TFLM's
    tables are checked entry by entry (one scale maps each difference to its own entry)."""
    every = np.arange(-32768, 32768, dtype=np.int16)
    rows = np.stack([every, np.full_like(every, 32767)], axis=1)
    b = Batch()
    scales = ((10.0 / 65535, 1.0), (4e-4, 1.0), (1e-4, 0.7))
    for scale, beta in scales:
        add_softmax(b, scale, (65536, 2), beta)
    assert_bit_exact(b.build(), tmp_path, inputs=[[rows] * len(scales)])


def test_softmax_16x8_tables_are_tflms():
    """The tables themselves: exp(0) and 1 / (1 + 0) are 1.0, exp(-10) is ~0, and the
    interpolated lookup follows the functions within 2.5 LSB."""
    from codegen.ops.lut_s16 import lut_lookup_s16
    from codegen.ops.softmax import softmax_s16_tables
    exp_lut, recip_lut = softmax_s16_tables()
    assert exp_lut.shape == recip_lut.shape == (513,)
    assert exp_lut[-1] == 32767 and recip_lut[0] == 32767 and exp_lut[0] <= 2
    x = np.arange(-32768, 32768)
    t = (x + 32768) / 65536          # where x falls between the first and the last entry
    got = lut_lookup_s16(x, exp_lut).astype(np.float64) / 32768
    assert np.max(np.abs(got - np.exp(10 * t - 10))) < 2.5 / 32768
    got = lut_lookup_s16(x, recip_lut).astype(np.float64) / 32768
    assert np.max(np.abs(got - 1 / (1 + t))) < 2.5 / 32768


def test_softmax_16x8_refusals():
    for kwargs, match in (({"out_scale": 1.0 / 65536}, "1/32768"),
                          ({"zero_points": (3, 0)}, "zero points 0"),
                          ({"zero_points": (0, -32768)}, "zero points 0")):
        with pytest.raises(UnsupportedError, match=match):
            generate("m.tflite", None, model_bytes=softmax_16x8(1e-3, (2, 5), **kwargs),
                     measure=False)


REDUCE_CASES = [
    # opcode, shape, axes, keep_dims, zero points
    ("MEAN", (1, 7, 6, 16), [1, 2], True, (0, 0)),
    ("MEAN", (2, 5, 3, 9), [2, 1], False, (0, 0)),
    ("MEAN", (3, 4, 5, 6), [1, 3], True, (-300, 1200)),
    ("MEAN", (6, 10), [-1], False, (0, 0)),
    ("SUM", (1, 5, 5, 8), [1, 2], True, (0, 0)),
    ("SUM", (4, 7), [0], False, (17, -5)),
]


def test_mean_sum_16x8(tmp_path):
    rng = np.random.default_rng(1616)
    b = Batch()
    for opcode, shape, axes, keep_dims, zps in REDUCE_CASES:
        rank = len(shape)
        resolved = {a + rank if a < 0 else a for a in axes}
        out_shape = tuple(1 if k in resolved else d for k, d in enumerate(shape)
                          if keep_dims or k not in resolved)
        in_scale = float(rng.uniform(1e-4, 1e-3))
        count = int(np.prod([shape[a] for a in resolved]))
        out_scale = in_scale * float(rng.uniform(0.3, 3.0)) * (count if opcode == "SUM" else 1)
        x = b.input(shape, "int16", scale=in_scale, zero_point=zps[0])
        y = b.output(out_shape, "int16", scale=out_scale, zero_point=zps[1])
        b.op(opcode, [x, b.const(np.array(axes, dtype=np.int32))], [y],
             {"keep_dims": bool(keep_dims)})
    r = assert_bit_exact(b.build(), tmp_path, count=3)
    assert {layer.call.kernel for layer in r.gen.program.layers} == {"tg_reduce_sum_s16"}


MAXMIN_CASES = [
    # op, shape1, shape2, second input constant
    ("MAXIMUM", (2, 5, 7, 3), (2, 5, 7, 3), False),
    ("MINIMUM", (4, 1, 6), (1, 5, 1), False),
    ("MAXIMUM", (1, 6, 6, 4), (4,), True),
    ("MINIMUM", (3, 1, 2, 1, 2, 1), (1, 2, 1, 2, 1, 2), False),
]


def test_maximum_minimum_16x8(tmp_path):
    rng = np.random.default_rng(1617)
    b = Batch()
    for opcode, a_shape, b_shape, b_const in MAXMIN_CASES:
        q = dict(scale=float(rng.uniform(1e-4, 1e-3)), zero_point=0)
        x1 = b.input(a_shape, "int16", **q)
        x2 = (b.const(rng.integers(-32768, 32768, b_shape), "int16", **q) if b_const
              else b.input(b_shape, "int16", **q))
        y = b.output(np.broadcast_shapes(a_shape, b_shape), "int16", **q)
        b.op(opcode, [x1, x2], [y])
    r = assert_bit_exact(b.build(), tmp_path, count=3)
    assert {layer.call.kernel for layer in r.gen.program.layers} == {"tg_maximum_s16",
                                                                     "tg_minimum_s16"}


def add_relu(b, opcode, shape, in_q, out_q, alpha=None):
    x = b.input(shape, "int16", scale=in_q[0], zero_point=in_q[1])
    y = b.output(shape, "int16", scale=out_q[0], zero_point=out_q[1])
    b.op(opcode, [x], [y], {} if alpha is None else {"alpha": alpha})


def relu_16x8(opcode, shape, in_q, out_q, alpha=None):
    b = Batch()
    add_relu(b, opcode, shape, in_q, out_q, alpha)
    return b.build()


RELU_CASES = [
    # op, shape, input (scale, zero point), output (scale, zero point), alpha
    ("RELU", (3, 40), (4e-4, 0), (4e-4, 0), None),
    ("RELU", (2, 5, 9), (3.1e-4, 0), (1.3e-4, 0), None),
    ("RELU6", (4, 33), (2.5e-4, 0), (2.5e-4, 0), None),
    ("RELU6", (64,), (7e-5, 0), (7e-5, 0), None),           # 6.0 beyond int16: clamps
    ("LEAKY_RELU", (3, 50), (3e-4, 0), (2e-4, 0), 0.2),
    ("LEAKY_RELU", (2, 7, 9), (5e-4, 120), (9e-4, -300), -0.5),
    ("LEAKY_RELU", (100,), (1e-4, 0), (2e-4, 0), 1.7),
]


def test_relu_leaky_relu_16x8(tmp_path):
    b = Batch()
    for case in RELU_CASES:
        add_relu(b, *case)
    r = assert_bit_exact(b.build(), tmp_path, count=3)
    assert {layer.call.kernel for layer in r.gen.program.layers} == {"tg_relu_s16"}


def test_relu_16x8_refusals():
    for case, match in ((("RELU", (4,), (1e-3, 5), (1e-3, 5)), "zero points 0"),
                        (("RELU6", (4,), (1e-3, 0), (2e-3, 0)), "--match-tflm"),
                        (("RELU_N1_TO_1", (4,), (1e-3, 0), (1e-3, 0)), "no TFLM kernel")):
        with pytest.raises(UnsupportedError, match=match):
            generate("m.tflite", None, model_bytes=relu_16x8(*case), measure=False)


def add_sqdiff(b, rng, shape1, shape2, zero_points=(0, 0, 0)):
    x1 = b.input(shape1, "int16", scale=float(rng.uniform(1e-4, 1e-3)),
                 zero_point=zero_points[0])
    x2 = b.input(shape2, "int16", scale=float(rng.uniform(1e-4, 1e-3)),
                 zero_point=zero_points[1])
    y = b.output(np.broadcast_shapes(shape1, shape2), "int16",
                 scale=float(rng.uniform(0.005, 0.1)), zero_point=zero_points[2])
    b.op("SQUARED_DIFFERENCE", [x1, x2], [y])


def test_squared_difference_16x8(tmp_path):
    rng = np.random.default_rng(1618)
    b = Batch()
    for shapes in (((3, 40), (3, 40)), ((2, 4, 5, 6), (1, 1, 5, 1)), ((7,), (1,))):
        add_sqdiff(b, rng, *shapes)
    assert_bit_exact(b.build(), tmp_path, count=3)
    b = Batch()
    add_sqdiff(b, rng, (4,), (4,), (0, 4, 0))
    with pytest.raises(UnsupportedError, match="zero points 0"):
        generate("m.tflite", None, model_bytes=b.build(), measure=False)


def add_lstm_16x8(m, rng, tag, batch, time, n_in, units, time_major=False, cell_clip=0.0,
                  cell_scale=2.0 ** -11, zero_points=(0, 0), bias_dtype="int64"):
    """A 16x8 UNIDIRECTIONAL_SEQUENCE_LSTM as the converter writes one: int16 input, output
    and hidden state, int8 weights, int64 biases, int16 cell state (tests/test_op_lstm.py's
    layout)."""
    from tests.test_op_lstm import add_lstm
    x_scale = float(rng.uniform(1e-4, 5e-4))
    w_scales = [float(v) for v in rng.uniform(0.002, 0.05, 8)]
    biases = {}
    for k in range(4):
        values = rng.integers(-(1 << 20), 1 << 20, units)
        biases[f"i{12 + k}"] = (lambda mm, k=k, v=values: mm.const(
            f"{tag}_bias{k}", v, bias_dtype, scale=x_scale * w_scales[k], zero_point=0))
    return add_lstm(m, rng, tag, batch, time, n_in, units, time_major=time_major,
                    cell_scale=cell_scale, cell_clip=cell_clip, x_zp=zero_points[0],
                    h_zp=zero_points[1], act_dtype="int16", x_scale=x_scale,
                    h_scale=float(rng.uniform(2e-5, 1e-4)), w_scales=w_scales, **biases)


def lstm_16x8(rng, *args, **kwargs) -> bytes:
    m = ModelWriter()
    add_lstm_16x8(m, rng, "l", *args, **kwargs)
    return m.build()


def test_lstm_16x8(tmp_path):
    """Three 16x8 LSTMs in one model (batch- and time-major, a cell clip, zero points other
    than 0 folded into the int64 biases), invoked in a row so the carried hidden and cell
    states are compared too, then reset."""
    from tests.test_op_lstm import run_and_compare
    rng = np.random.default_rng(1619)
    m = ModelWriter()
    add_lstm_16x8(m, rng, "a", 2, 4, 5, 6)
    add_lstm_16x8(m, rng, "b", 3, 2, 7, 3, time_major=True, cell_clip=0.5,
                  cell_scale=2.0 ** -12)
    add_lstm_16x8(m, rng, "c", 1, 3, 4, 5, zero_points=(37, -12))
    run_and_compare(m.build(), tmp_path, seed=5)


def test_lstm_16x8_needs_int64_biases():
    rng = np.random.default_rng(7)
    with pytest.raises(UnsupportedError, match="int64"):
        generate("m.tflite", None, model_bytes=lstm_16x8(rng, 1, 2, 3, 4, bias_dtype="int32"),
                 measure=False)


def test_prelu_16x8(tmp_path):
    """int16 input and output, int8 alpha (TFLM requires it), constant per-channel or an
    input broadcast; an int16 alpha is refused by name."""
    rng = np.random.default_rng(1620)
    b = Batch()
    for shape, a_shape, a_const, zps in (((1, 6, 5, 4), (1, 1, 4), True, (0, 0, 0)),
                                         ((2, 3, 7), (3, 7), False, (0, 5, 0)),
                                         ((4, 9), (1,), True, (-40, -3, 100))):
        x = b.input(shape, "int16", scale=float(rng.uniform(1e-4, 1e-3)), zero_point=zps[0])
        aq = dict(scale=float(rng.uniform(0.002, 0.02)), zero_point=zps[1])
        a = (b.const(rng.integers(-128, 128, a_shape), "int8", **aq) if a_const
             else b.input(a_shape, "int8", **aq))
        y = b.output(np.broadcast_shapes(shape, a_shape), "int16",
                     scale=float(rng.uniform(1e-4, 1e-3)), zero_point=zps[2])
        b.op("PRELU", [x, a], [y])
    r = assert_bit_exact(b.build(), tmp_path, count=3)
    assert {layer.call.kernel for layer in r.gen.program.layers} == {"tg_prelu_s16"}
    b = Batch()
    x = b.input((2, 3), "int16", scale=1e-3, zero_point=0)
    a = b.const(np.ones((3,)), "int16", scale=1e-3, zero_point=0)
    b.op("PRELU", [x, a], [b.output((2, 3), "int16", scale=1e-3, zero_point=0)])
    with pytest.raises(UnsupportedError, match="alpha .* is int16; supported: int8"):
        generate("m.tflite", None, model_bytes=b.build(), measure=False)


def test_relu6_16x8_match_tflm(tmp_path):
    """An int16 RELU6 whose output quantization differs: refused by default (above), and
    with --match-tflm TFLM's arithmetic (the raw input clamped), every int16 input."""
    from codegen.frontend import read_tflite
    from codegen.reference import TflmReference
    from codegen.toolchain.host import HostModel
    model = relu_16x8("RELU6", (1, 65536), (3e-4, 0), (5e-4, 0))
    (tmp_path / "m.tflite").write_bytes(model)
    generate(tmp_path / "m.tflite", tmp_path / "out", target="host", force=True,
             match_tflm=True)
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, 65536)
    got = np.asarray(HostModel(tmp_path / "out", tmp_path / "build").invoke([x])[0])
    want = np.asarray(TflmReference(model, read_tflite(model)).run([x])[0])
    assert np.array_equal(got.reshape(-1), want.reshape(-1))
    assert got.max() == round(6 / 3e-4) and got.min() == 0


@pytest.mark.skipif(bool(cortexm.missing_packages()),
                    reason="needs arm-none-eabi-gcc and qemu-system-arm (run setup.sh)")
def test_16x8_bit_exact_on_the_emulated_cortex_m4(tmp_path):
    """The 16x8 kernels cross-compiled and run on QEMU's Cortex-M4: the network (QUANTIZE,
    CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED, SOFTMAX,
    DEQUANTIZE) and a 16x8 LSTM."""
    rng = np.random.default_rng(161)
    for name, model in (("net", model_16x8(rng)), ("lstm", lstm_16x8(rng, 2, 3, 5, 4))):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(model)
        report = verify_cortexm(path, count=2, seed=7, target="cortex-m4",
                                work_dir=tmp_path / name)
        assert report.ok, report.table()
