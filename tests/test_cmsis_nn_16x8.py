"""16x8 layers (int16 activations, int8 weights) through CMSIS-NN's s16 kernels.

The models are tests/test_op_16x8.py's; several layers share one model (a build costs far
more than a run).  Each layer must get the kernel expected, the CMSIS-NN one or the
portable one where CMSIS-NN declines, and the outputs must equal TFLM's bit for bit, on
the host (plain C path) and on QEMU: Cortex-M4 (DSP path), Cortex-M55 (Helium).
Tests need CMSIS_NN_PATH (see tests/test_cmsis_nn.py).
"""
from __future__ import annotations

import os
import shutil
import zlib

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.harness import assert_bit_exact
from tests.batch import Batch
from tests.test_op_16x8 import ACTS, INT32, add_softmax, conv_16x8, fc_16x8

CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None
pytestmark = pytest.mark.skipif(
    CMSIS_NN is None,
    reason="CMSIS_NN_PATH is not set: point it at a CMSIS-NN v7.0.0 or newer folder "
           "(git clone https://github.com/ARM-software/CMSIS-NN) to run the CMSIS-NN tests")

CONV, DW, FC = "arm_convolve_wrapper_s16", "arm_depthwise_conv_wrapper_s16", \
    "arm_fully_connected_s16"
P_CONV, P_DW, P_FC = "tg_conv_s16", "tg_depthwise_conv_s16", "tg_fully_connected_s16"


def rng_of(label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(label.encode()))


def _layers(gen) -> list[str]:
    return [layer.call.kernel for layer in gen.program.layers]


def _check(model: bytes, tmp_path, want: list[str], label: str, count: int = 2):
    result = assert_bit_exact(model, tmp_path, count=count, seed=zlib.crc32(label.encode()),
                              cmsis_nn=CMSIS_NN)
    assert result.reference == "TFLM reference kernels"
    assert _layers(result.gen) == want, label
    return result.gen


# --------------------------------------------------------- a model of several 16x8 layers

def _tensor(m, name, shape, scale):
    return m.tensor(name, shape, "int16", scale=scale, zero_point=0)


def _const(m, name, values, dtype, scales, axis=0):
    scales = np.atleast_1d(scales)
    return m.const(name, values, dtype, scale=scales, zero_point=[0] * scales.size, axis=axis)


def _conv(m, rng, tag, x, in_scale, shape, out_d, kernel, stride=1, dilation=1, pad=0,
          depthwise=False, mult=1, bias="int64", per_channel=True, act="NONE",
          qbt=0, weights=None, bias_values=None):
    """A CONV_2D / DEPTHWISE_CONV_2D appended to model `m` reading `x` [n, h, w, c]."""
    n, h, w, c = shape
    kh, kw = kernel
    ws = rng.uniform(0.002, 0.05, out_d if per_channel else 1)
    fshape = (1, kh, kw, out_d) if depthwise else (out_d, kh, kw, c)
    wv = rng.integers(-127, 128, fshape) if weights is None else weights
    filt = _const(m, f"{tag}_w", wv, "int8", ws, axis=3 if depthwise else 0)
    b = -1
    if bias:
        bv = rng.integers(-(1 << 20), 1 << 20, (out_d,)) if bias_values is None else bias_values
        b = _const(m, f"{tag}_b", bv, bias, in_scale * ws)

    def size(i):
        eff = (kernel[i] - 1) * dilation + 1
        full = (h, w)[i]
        return -(-full // stride) if pad == 0 else (full - eff) // stride + 1
    out_scale = float(rng.uniform(0.005, 0.05))
    y = _tensor(m, f"{tag}_out", (n, size(0), size(1), out_d), out_scale)
    opts = {"padding": pad, "stride_w": stride, "stride_h": stride,
            "dilation_w_factor": dilation, "dilation_h_factor": dilation,
            "fused_activation_function": ACTS[act]}
    if depthwise:
        opts["depth_multiplier"] = mult
    elif qbt:
        opts["quantized_bias_type"] = qbt
    m.op("DEPTHWISE_CONV_2D" if depthwise else "CONV_2D", [x, filt, b], [y], opts)
    return y


def _independent(cases, label) -> bytes:
    """One model with one input and output per case (`cases`: keyword dicts of _conv)."""
    rng = rng_of(label)
    m = ModelWriter()
    ins, outs = [], []
    for k, case in enumerate(cases):
        in_scale = float(rng.uniform(2e-4, 2e-3))
        x = _tensor(m, f"in{k}", case["shape"], in_scale)
        ins.append(x)
        outs.append(_conv(m, rng, f"l{k}", x, in_scale, **case))
    m.inputs, m.outputs = ins, outs
    return m.build()


CONV_CASES = [
    # CMSIS-NN: int64 bias, per channel, SAME, an odd number of output positions
    (dict(shape=(1, 5, 5, 3), out_d=4, kernel=(3, 3)), CONV),
    # per-tensor filter, stride 2 VALID, two batches, RELU
    (dict(shape=(2, 7, 7, 4), out_d=5, kernel=(3, 2), stride=2, pad=1, per_channel=False,
          act="RELU"), CONV),
    # dilation 2, no bias, RELU6
    (dict(shape=(1, 9, 8, 2), out_d=3, kernel=(3, 3), dilation=2, bias=None, act="RELU6"),
     CONV),
    # int32 bias: TFLM sums in 32 bits, and so does CMSIS-NN (is_int32_bias)
    (dict(shape=(1, 4, 4, 8), out_d=6, kernel=(2, 2), stride=3, bias="int32",
          act="RELU_N1_TO_1"), CONV),
    # no bias, quantized_bias_type INT32: 32 bits too
    (dict(shape=(1, 5, 6, 6), out_d=4, kernel=(1, 1), pad=1, bias=None, qbt=INT32), CONV),
    # 8x8x12 = 768 taps of +-127: a 32-bit partial sum could wrap -> portable
    (dict(shape=(1, 8, 8, 12), out_d=2, kernel=(8, 8), pad=1,
          weights=np.full((2, 8, 8, 12), 127) * np.array([1, -1]).reshape(2, 1, 1, 1)),
     P_CONV),
]

DW_CASES = [
    # fast path (multiplier 1, no dilation): SAME 3x3
    (dict(shape=(1, 7, 6, 3), out_d=3, kernel=(3, 3), depthwise=True), DW),
    # generic path: depth multiplier 2, per-tensor, VALID stride 2, RELU6, two batches
    (dict(shape=(2, 8, 8, 2), out_d=4, kernel=(3, 3), stride=2, pad=1, depthwise=True,
          mult=2, per_channel=False, act="RELU6"), DW),
    # generic path: dilation 2
    (dict(shape=(1, 9, 7, 5), out_d=5, kernel=(5, 3), dilation=2, depthwise=True,
          act="RELU"), DW),
]


def test_conv_s16(tmp_path):
    model = _independent([c for c, _ in CONV_CASES], "conv")
    _check(model, tmp_path, [k for _, k in CONV_CASES], "conv")


def test_depthwise_s16(tmp_path):
    model = _independent([c for c, _ in DW_CASES], "dw")
    _check(model, tmp_path, [k for _, k in DW_CASES], "dw")


def test_grouped_conv_and_a_huge_output_decline():
    """Grouped: arm_convolve_s16 has no groups.  A bias of 2^50 with a large multiplier:
    the output before clamping leaves int32, where CMSIS-NN truncates otherwise than TFLM."""
    rng = rng_of("declines")
    grouped = conv_16x8(rng, (1, 5, 6, 6), 4, (1, 1), padding="VALID", groups=2)
    gen = generate("m.tflite", None, model_bytes=grouped, cmsis_nn=CMSIS_NN, measure=False)
    assert _layers(gen) == [P_CONV]
    assert any("no grouped form" in r for r in _refusals(gen))

    m = ModelWriter()
    x = _tensor(m, "in", (1, 3, 3, 2), 1e-3)
    y = _conv(m, rng, "big", x, 1e-3, (1, 3, 3, 2), 2, (1, 1),
              bias_values=np.array([1 << 50, -(1 << 50)]))
    m.inputs, m.outputs = [x], [y]
    gen = generate("m.tflite", None, model_bytes=m.build(), cmsis_nn=CMSIS_NN, measure=False)
    assert _layers(gen) == [P_CONV]
    assert any("arm_nn_requantize_s64" in r for r in _refusals(gen))


def _refusals(gen) -> list[str]:
    """Why the CMSIS-NN variant declined the layers (as the selection recorded it)."""
    return [r.reason for layer in gen.program.layers for r in layer.selection.refusals
            if r.variant == "cmsis-nn"]


FC_CASES = [
    # batches, depth, units, per_channel, bias, act, quantized_bias_type, big bias -> kernel
    ((1, 16, 8, False, "int64", "NONE", 0, True), FC),
    ((3, 600, 5, False, None, "RELU", 0, False), FC),     # beyond 512 columns: 64-bit tail
    ((2, 7, 4, False, "int64", "RELU6", 0, False), FC),
    ((2, 9, 4, True, "int64", "NONE", 0, False), P_FC),   # per channel
    ((1, 8, 3, False, "int32", "NONE", 0, False), P_FC),  # TFLM sums in 32 bits
    ((1, 8, 3, False, None, "NONE", INT32, False), P_FC),
]


@pytest.mark.parametrize("k", range(len(FC_CASES)))
def test_fully_connected_s16(k, tmp_path):
    case, kernel = FC_CASES[k]
    label = f"fc{k}"
    if kernel == FC or k == 3:   # build one declined case; the others only generate
        _check(fc_16x8(rng_of(label), *case), tmp_path, [kernel], label)
    else:
        gen = generate("m.tflite", None, model_bytes=fc_16x8(rng_of(label), *case),
                       cmsis_nn=CMSIS_NN, measure=False)
        assert _layers(gen) == [kernel]


# ------------------------------------------------------------ ADD, MUL, pooling (16x8)

def _binary(m, rng, tag, opcode, shape1, shape2, zps=(0, 0, 0), act="NONE", out_scale=None):
    a = m.tensor(f"{tag}_a", shape1, "int16", scale=float(rng.uniform(1e-4, 1e-3)),
                 zero_point=zps[0])
    b = m.tensor(f"{tag}_b", shape2, "int16", scale=float(rng.uniform(1e-4, 1e-3)),
                 zero_point=zps[1])
    scale = out_scale if out_scale is not None else float(rng.uniform(1e-4, 2e-3))
    y = m.tensor(f"{tag}_y", np.broadcast_shapes(shape1, shape2), "int16", scale=scale,
                 zero_point=zps[2])
    m.op(opcode, [a, b], [y], {"fused_activation_function": ACTS[act]})
    return [a, b], y


def _pool(m, rng, tag, opcode, shape, filt, stride, padding, act="NONE"):
    scale = float(rng.uniform(2e-4, 2e-3))
    x = _tensor(m, f"{tag}_x", shape, scale)
    n, h, w, c = shape

    def size(i):
        full = (h, w)[i]
        return -(-full // stride) if padding == 0 else (full - filt[i]) // stride + 1
    y = _tensor(m, f"{tag}_y", (n, size(0), size(1), c), scale)
    m.op(opcode, [x], [y], {"padding": padding, "stride_w": stride, "stride_h": stride,
                            "filter_width": filt[1], "filter_height": filt[0],
                            "fused_activation_function": ACTS[act]})
    return [x], y


ADD, MUL = "arm_elementwise_add_s16", "arm_elementwise_mul_s16"
AVG, MAX = "arm_avgpool_s16", "arm_max_pool_s16"
ELEMENTWISE_CASES = [
    (("ADD", (2, 4, 5), (2, 4, 5)), {}, ADD),
    (("ADD", (7,), (7,)), dict(act="RELU"), ADD),
    (("ADD", (3, 5), (3, 5)), dict(zps=(5, -7, 3)), "tg_add_s16"),     # zero points
    (("ADD", (1, 3, 4), (4,)), {}, "tg_add_s16"),                     # broadcast
    (("MUL", (2, 3, 4), (2, 3, 4)), {}, MUL),
    (("MUL", (9,), (9,)), dict(act="RELU_N1_TO_1"), MUL),
    (("MUL", (5,), (5,)), dict(out_scale=1e-9), "tg_mul_s16"),        # output shift > 0
]
POOL_CASES = [
    (("AVERAGE_POOL_2D", (1, 6, 5, 3), (3, 3), 1, 0), {}, AVG),
    (("AVERAGE_POOL_2D", (2, 7, 7, 9), (2, 3), 2, 1), dict(act="RELU6"), AVG),
    (("MAX_POOL_2D", (1, 6, 5, 3), (3, 3), 2, 0), {}, MAX),
    (("MAX_POOL_2D", (2, 5, 4, 10), (2, 2), 1, 1), dict(act="RELU"), MAX),
]


def _mixed(cases, label) -> bytes:
    rng = rng_of(label)
    m = ModelWriter()
    ins, outs = [], []
    for k, (args, kw, _) in enumerate(cases):
        add = _pool if args[0].endswith("POOL_2D") else _binary
        x, y = add(m, rng, f"l{k}", *args, **kw)
        ins += x
        outs.append(y)
    m.inputs, m.outputs = ins, outs
    return m.build()


def test_add_mul_pooling_s16(tmp_path):
    cases = ELEMENTWISE_CASES + POOL_CASES
    gen = _check(_mixed(cases, "binary pool"), tmp_path, [k for _, _, k in cases],
                 "binary pool")
    reasons = _refusals(gen)
    assert any("zero point other than 0" in r for r in reasons)
    assert any("broadcast" in r for r in reasons)
    assert any("output shift" in r for r in reasons)


# ------------------------------------------------------------------ SOFTMAX (16x8)

SM, P_SM = "arm_softmax_s16", "tg_softmax_s16"


def test_softmax_s16(tmp_path):
    """arm_softmax_s16 for rows of 2 to 8: every int16 input against 32767 in rows of 2
    (every exp table entry), rows of 8 at their largest sum (all equal) and at random;
    rows of 1 and of 9 or more stay portable."""
    every = np.arange(-32768, 32768, dtype=np.int16)
    pairs = np.stack([every, np.full_like(every, 32767)], axis=1)
    rng = rng_of("softmax")
    eights = rng.integers(-32768, 32768, (6, 8)).astype(np.int16)
    eights[0] = 1234                          # sum 8 * 32762, the largest
    eights[1, :7] = 32767                     # seven at the max, one far below
    eights[1, 7] = -32768
    b = Batch()
    cases = [((4e-4, (65536, 2), 1.0), pairs, SM),
             ((3e-4, (3, 5), 0.5), rng.integers(-32768, 32768, (3, 5)).astype(np.int16), SM),
             ((2e-3, (6, 8), 1.0), eights, SM),
             ((0.02, (2, 1), 1.0), np.array([[5], [-7]], np.int16), P_SM),
             ((1e-3, (2, 9), 1.0), np.full((2, 9), 77, np.int16), P_SM)]
    for args, _, _ in cases:
        add_softmax(b, *args)
    result = assert_bit_exact(b.build(), tmp_path, inputs=[[x for _, x, _ in cases]],
                              cmsis_nn=CMSIS_NN)
    assert _layers(result.gen) == [k for _, _, k in cases]
    assert sum("rows of 2 to 8" in r for r in _refusals(result.gen)) == 2


def _softmax_model() -> bytes:
    b = Batch()
    add_softmax(b, 4e-4, (64, 2))
    add_softmax(b, 2e-3, (3, 8), 0.7)
    return b.build()


@pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
                    reason="needs arm-none-eabi-gcc and qemu-system-arm (run setup.sh)")
@pytest.mark.parametrize("core,path", [("cortex-m4", "dsp"), ("cortex-m55", "mve")])
def test_s16_layers_on_the_emulator(core, path, tmp_path):
    """The DSP code paths (SMLAD partial sums, arm_depthwise_conv_fast_s16) on QEMU's
    Cortex-M4 and the Helium ones on its Cortex-M55, with the core's own kernel preference:
    CMSIS-NN takes the 16x8 layers tinygen's dsp kernels leave."""
    from codegen.verify import verify_cortexm
    models = {
        "convs": (_independent([CONV_CASES[0][0], DW_CASES[0][0], CONV_CASES[3][0]], "m4"),
                  [CONV, DW, CONV]),
        "fc": (fc_16x8(rng_of("m4 fc"), 2, 600, 5, False, "int64", "RELU"), [FC]),
        "binary_pool": (_mixed([ELEMENTWISE_CASES[i] for i in (0, 1, 4, 5)]
                               + POOL_CASES, "m4 binary pool"),
                        [ADD, ADD, MUL, MUL, AVG, AVG, MAX, MAX]),
        "softmax": (_softmax_model(), [SM, SM]),
    }
    if core == "cortex-m55":     # one model: the Helium matrix and depthwise kernels
        models = {"convs": models["convs"]}
    for name, (model, want) in models.items():
        path_ = tmp_path / f"{name}.tflite"
        path_.write_bytes(model)
        gen = generate(path_, None, target=core, cmsis_nn=CMSIS_NN, measure=False)
        assert _layers(gen) == want, name
        report = verify_cortexm(path_, count=2, seed=5, target=core, cmsis_nn=CMSIS_NN,
                                work_dir=tmp_path / name)
        assert report.ok, report.table()
        assert f"{path} path" in report.table()
