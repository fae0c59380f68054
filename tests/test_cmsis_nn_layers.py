"""CMSIS-NN convolution, depthwise, pooling, elementwise and data movement layers.

Every model here is run on the host through CMSIS-NN's plain C code path and compared
with TFLM bit for bit; several unrelated cases share one model (each with its own
input and output) because a build costs far more than a run.  Each case also says which
kernel it must get: the CMSIS-NN function, or the portable one where CMSIS-NN declines.
The DSP and Helium code paths cannot run here; for them the tests check the scratch
sizes and constants planned for those targets, then run the result on the plain C path.
Tests need CMSIS_NN_PATH (see tests/test_cmsis_nn.py).
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain.host import HostModel
from codegen.cmsis_nn import CmsisNNBackend, locate
from codegen.emit import render_project, write_project
from codegen.frontend import read_tflite
from codegen.program import build_program
from codegen.reference import TflmReference
from codegen.targets import load_target
from codegen.vectors import random_inputs
from tests.batch import Batch, quant_of
from tests.conv_models import ACTS, SAME, VALID, ConvCase, add_layer, random_case
from tests.harness import assert_bit_exact
from tests.test_op_movement import add_pad, add_transpose

CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None
pytestmark = pytest.mark.skipif(
    CMSIS_NN is None,
    reason="CMSIS_NN_PATH is not set: point it at a CMSIS-NN v7.0.0 or newer folder "
           "(git clone https://github.com/ARM-software/CMSIS-NN) to run the CMSIS-NN tests")

CONV, DW = "arm_convolve_wrapper_s8", "arm_depthwise_conv_wrapper_s8"
ACT_CODES = ACTS                                     # name -> fused activation code
C = ConvCase
D = lambda **kw: ConvCase(op="DEPTHWISE_CONV_2D", **kw)   # noqa: E731


def seeded(label: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(label.encode()))


def check(model: bytes, tmp_path: Path, kernels: list[str], label: str, count: int = 2):
    """Bit-exact against TFLM through CMSIS-NN, and each layer ran the kernel expected."""
    seed = zlib.crc32(label.encode())
    tmp_path.mkdir(parents=True, exist_ok=True)
    result = assert_bit_exact(model, tmp_path, count=count, seed=seed, cmsis_nn=CMSIS_NN)
    assert result.reference == "TFLM reference kernels"
    gen = result.gen
    got = [layer.call.kernel for layer in gen.program.layers]
    assert got == kernels, f"{label}: kernels {got}, expected {kernels}"
    return gen


def conv_model(cases: list[ConvCase], label: str) -> bytes:
    from codegen.frontend.tflite_writer import ModelWriter
    rng = seeded(label)
    m = ModelWriter()
    for k, c in enumerate(cases):
        assert c.valid(), f"test bug: empty output for {c}"
        add_layer(m, rng, c, str(k))
    return m.build()


def _v7(lib) -> bool:
    return lib.revision < (19, 0, 0)


def expected_conv_kernel(c: ConvCase, lib) -> str:
    """Which kernel tinygen should pick: CMSIS-NN's wrapper unless it declines the layer."""
    if c.op == "DEPTHWISE_CONV_2D":
        return DW
    if c.groups > 1 and _v7(lib):
        oh, ow = c.out_hw()
        pad_free = c.padding == VALID or (
            (oh - 1) * c.stride[0] + 1 - c.in_h <= 0 and (ow - 1) * c.stride[1] + 1 - c.in_w <= 0)
        one_by_one = c.k_h == c.k_w == 1 and c.dilation == (1, 1) and pad_free
        one_by_n = (c.in_h == 1 and c.k_h == 1 and c.dilation[1] == 1
                    and (c.stride[1] * c.in_d) % 4 == 0)
        if one_by_one or one_by_n:
            return "tg_conv_s8"
    return CONV


# --- convolution ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_conv_random(seed, tmp_path):
    rng = seeded(f"cmsis conv random {seed}")
    cases = [random_case(rng, "CONV_2D") for _ in range(8)]
    lib = locate(CMSIS_NN)
    check(conv_model(cases, f"conv {seed}"), tmp_path,
          [expected_conv_kernel(c, lib) for c in cases], f"conv {seed}")


# one case per branch of arm_convolve_wrapper_s8, with batches, zero points and activations
CONV_BRANCHES = [
    C(in_h=7, in_w=9, in_d=8, out_d=16, k_h=1, k_w=1, padding=VALID),          # 1x1 fast
    C(batch=2, in_h=6, in_w=5, in_d=5, out_d=3, k_h=1, k_w=1, act="RELU6",
      in_zp=-128, out_zp=127),                                                # 1x1 fast, odd
    C(in_h=9, in_w=8, in_d=4, out_d=6, k_h=1, k_w=1, stride=(2, 3), padding=VALID,
      act="RELU"),                                                            # 1x1 strided
    C(batch=3, in_h=5, in_w=5, in_d=3, out_d=7, k_h=1, k_w=1, stride=(2, 2),
      in_zp=127, out_zp=-128, bias=False),
    C(in_h=1, in_w=20, in_d=4, out_d=5, k_h=1, k_w=3),                         # 1xN
    C(batch=2, in_h=1, in_w=17, in_d=8, out_d=6, k_h=1, k_w=5, stride=(1, 2), padding=VALID,
      act="RELU_N1_TO_1", per_channel=False),
    C(in_h=1, in_w=12, in_d=2, out_d=4, k_h=1, k_w=4, stride=(1, 2)),         # 1xN, even k
    C(in_h=1, in_w=15, in_d=3, out_d=3, k_h=1, k_w=3),                         # 1x3, c % 4
    C(in_h=9, in_w=9, in_d=3, out_d=5, dilation=(2, 2)),                       # im2col, dilated
    C(in_h=12, in_w=11, in_d=3, out_d=5, k_h=5, k_w=3, dilation=(2, 2), stride=(2, 3)),
    C(in_h=1, in_w=1, in_d=5, out_d=6, k_h=5, k_w=5),                          # all padding
    C(batch=2, in_h=6, in_w=6, in_d=7, out_d=9, stride=(2, 2), bias=False, in_zp=-128),
    C(in_h=4, in_w=4, in_d=3, out_d=2, k_h=4, k_w=4, per_channel=False, out_zp=127),
    C(in_h=6, in_w=6, in_d=8, out_d=4, groups=2),                              # grouped
    C(batch=2, in_h=5, in_w=7, in_d=9, out_d=6, groups=3, k_h=1, k_w=3, stride=(1, 2),
      bias=False),                                                            # no bias
    C(in_h=4, in_w=4, in_d=12, out_d=12, groups=4, k_h=1, k_w=1, padding=VALID),
    C(in_h=1, in_w=8, in_d=8, out_d=4, groups=2, k_h=1, k_w=3),                # grouped 1xN
]


def test_conv_wrapper_branches(tmp_path):
    lib = locate(CMSIS_NN)
    check(conv_model(CONV_BRANCHES, "conv branches"), tmp_path,
          [expected_conv_kernel(c, lib) for c in CONV_BRANCHES], "conv branches", count=3)


# --- depthwise -----------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_depthwise_random(seed, tmp_path):
    rng = seeded(f"cmsis depthwise random {seed}")
    cases = [random_case(rng, "DEPTHWISE_CONV_2D") for _ in range(8)]
    check(conv_model(cases, f"dw {seed}"), tmp_path, [DW] * len(cases), f"dw {seed}")


# one case per kernel behind arm_depthwise_conv_wrapper_s8
DW_BRANCHES = [
    D(in_h=7, in_w=6, in_d=8, out_d=8, act="RELU"),                            # 3x3, pad 1
    D(in_h=8, in_w=8, in_d=5, out_d=5, stride=(2, 2), padding=VALID, in_zp=-128),
    D(in_h=6, in_w=7, in_d=6, out_d=6, k_h=5, k_w=5, out_zp=127),              # opt path
    D(in_h=5, in_w=9, in_d=3, out_d=3, k_h=3, k_w=5, stride=(1, 2), per_channel=False),
    D(in_h=6, in_w=5, in_d=2, out_d=8, act="RELU6"),                           # multiplier 4
    D(in_h=5, in_w=5, in_d=3, out_d=24, k_h=2, k_w=2, stride=(2, 1), bias=False),  # 8
    D(in_h=6, in_w=6, in_d=4, out_d=12, in_zp=127, out_zp=-128),              # multiplier 3
    D(in_h=5, in_w=6, in_d=1, out_d=16, k_h=3, k_w=3),                        # one input ch.
    D(in_h=9, in_w=9, in_d=4, out_d=4, dilation=(2, 2)),                      # dilated
    D(in_h=9, in_w=10, in_d=3, out_d=6, k_h=3, k_w=2, dilation=(2, 3), stride=(2, 1)),
    D(batch=3, in_h=5, in_w=4, in_d=4, out_d=4),                               # batches
    D(batch=2, in_h=4, in_w=6, in_d=2, out_d=8, act="RELU_N1_TO_1"),
    D(in_h=1, in_w=1, in_d=7, out_d=7, k_h=5, k_w=5),                          # all padding
    D(in_h=3, in_w=3, in_d=130, out_d=130, k_h=2, k_w=2, bias=False),         # > 124 channels
]


def test_depthwise_wrapper_branches(tmp_path):
    check(conv_model(DW_BRANCHES, "dw branches"), tmp_path, [DW] * len(DW_BRANCHES),
          "dw branches", count=3)


# --- scratch buffers and constants for the DSP and Helium code paths -----------------------

def _program(backend, model: bytes, tmp_path: Path):
    graph = read_tflite(model)
    program = build_program(graph, "m", load_target("host"), ["cmsis-nn", "portable"],
                            {"cmsis-nn": backend})
    files = render_project(program, "m.tflite", model)
    write_project(tmp_path / "out", files, force=True)
    return program, files


def _run_plain_c(model: bytes, tmp_path: Path, count: int = 2) -> None:
    """The project written by _program, on the host (CMSIS-NN's C path), against TFLM."""
    host = HostModel(tmp_path / "out", tmp_path / "build", cmsis_nn=CMSIS_NN)
    graph = read_tflite(model)
    ref = TflmReference(model, graph)
    rng = np.random.default_rng(5)
    for _ in range(count):
        xs = random_inputs(graph, rng)
        for got, want in zip(host.invoke(xs), ref.run(xs)):
            np.testing.assert_array_equal(got.reshape(-1), want.reshape(-1))


def _im2col_bytes(k_h: int, k_w: int, depth: int) -> int:
    """arm_convolve_s8 on C and DSP: two int16 columns of the filter size, 4-aligned."""
    return 2 * 2 * (-(-(k_h * k_w * depth) // 4) * 4)


SCRATCH_LAYERS = [
    C(in_h=6, in_w=6, in_d=5, out_d=4, k_h=3, k_w=3),                 # im2col
    C(in_h=6, in_w=6, in_d=8, out_d=4, k_h=1, k_w=1, padding=VALID),  # 1x1: none (GCC)
    D(in_h=6, in_w=6, in_d=6, out_d=6, k_h=3, k_w=3),                 # 3x3 depthwise: none
    D(in_h=6, in_w=6, in_d=6, out_d=6, k_h=5, k_w=5, bias=False),     # opt: int16 im2col
    D(in_h=6, in_w=6, in_d=2, out_d=6, k_h=3, k_w=3),                 # multiplier 3: none
    D(in_h=6, in_w=6, in_d=1, out_d=8, k_h=3, k_w=3),                 # one input channel
]


def _pool_layer(b: Batch, rng, opcode, shape, filt, stride, padding, act="NONE", zp=None):
    from codegen.ops.window import compute_out_size
    q = quant_of(rng, "int8", zp)
    n, h, w, c = shape
    out = (n, compute_out_size(padding, h, filt[0], stride[0]),
           compute_out_size(padding, w, filt[1], stride[1]), c)
    x = b.input(shape, **q)
    y = b.output(out, **q)
    b.op(opcode, [x], [y], {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
                           "filter_height": filt[0], "filter_width": filt[1],
                           "fused_activation_function": ACT_CODES[act]})


def _scratch_model() -> bytes:
    from codegen.frontend.tflite_writer import ModelWriter
    rng = seeded("scratch")
    b = Batch()
    m: ModelWriter = b.m
    for k, c in enumerate(SCRATCH_LAYERS):
        add_layer(m, rng, c, f"s{k}")
    _pool_layer(b, rng, "AVERAGE_POOL_2D", (1, 6, 6, 10), (3, 3), (2, 2), SAME)
    return m.build()


def test_dsp_scratch_planned_and_plain_c_still_exact(tmp_path):
    """DSP-path scratch sizes from CMSIS-NN's own functions, placed in the arena."""
    lib = locate(CMSIS_NN)
    model = _scratch_model()
    plain, _ = _program(CmsisNNBackend(lib, "c"), model, tmp_path / "c")
    program, files = _program(CmsisNNBackend(lib, "dsp"), model, tmp_path)
    scratch = [layer.call.scratch for layer in program.layers]
    assert scratch == [[_im2col_bytes(3, 3, 5)], [], [], [6 * 5 * 5 * 2], [], [], [4 * 10]]
    assert [layer.call.scratch for layer in plain.layers] == \
        [[_im2col_bytes(3, 3, 5)], [], [], [], [], [], []]
    man = json.loads(files["tinygen.json"])
    assert man["cmsis_nn"]["code_path"] == "dsp"
    assert man["arena_bytes"] == program.plan.arena_bytes >= plain.plan.arena_bytes
    c_text = " ".join(files["m.c"].decode().split())
    for step, sizes in enumerate(scratch):
        name = program.layers[step].name
        if sizes:
            off = program.plan.scratch_offsets[(step, 0)]
            assert f"{name}_ctx = {{.buf = (void *)&m_arena[{off}], .size = {sizes[0]}}}" \
                in c_text
        else:
            assert f"{name}_ctx = {{.buf = NULL, .size = 0}}" in c_text
    # a layer's scratch never overlaps a tensor live during that layer
    _run_plain_c(model, tmp_path)


def test_helium_scratch_zero_bias_and_one_channel_depthwise(tmp_path):
    lib = locate(CMSIS_NN)
    helium = CmsisNNBackend(lib, "mve")
    model = _scratch_model()
    program, files = _program(helium, model, tmp_path)
    calls = [layer.call for layer in program.layers]
    k = 4 * 16 * -(-(3 * 3 * 5) // 16)          # arm_convolve_s8: four 16-aligned columns
    assert calls[0].scratch == [k]
    # Helium's depthwise steps the bias pointer per block of channels: never NULL there
    bias = {c.name: c.values for c in calls[3].consts}["l3_depthwise_conv_2d_bias"]
    assert not bias.any() and bias.size == 6
    # one input channel: the convolution CMSIS-NN would make of it, filter transposed here
    dw = calls[5]
    assert dw.kernel == CONV and dw.comment.endswith("(CMSIS-NN, as a convolution)")
    graph = read_tflite(model)
    original = graph.tensors[program.layers[5].call.op.inputs[1]].data      # [1, 3, 3, 8]
    filters = {c.name: c.values for c in dw.consts}["l5_depthwise_conv_2d_filter"]
    np.testing.assert_array_equal(filters, np.transpose(original, (3, 1, 2, 0)).reshape(-1))
    wrapper = dict(input_offset=0, output_offset=0, ch_mult=8, stride=dict(h=1, w=1),
                   padding=dict(h=1, w=1), dilation=dict(h=1, w=1),
                   activation=dict(min=-128, max=127))
    theirs = helium.buffer_size(DW, wrapper, (1, 6, 6, 1), (1, 3, 3, 8), (1, 6, 6, 8))
    assert dw.scratch and dw.scratch[0] == theirs - 3 * 3 * 8   # without the filter copy
    assert all(call.kernel.startswith("arm_") for call in calls)
    _run_plain_c(model, tmp_path)


def test_declined_layers_fall_back_to_portable(tmp_path):
    """Layers a CMSIS-NN kernel would get wrong run tinygen's kernels, still bit-exact."""
    lib = locate(CMSIS_NN)
    cases = [
        # Helium 1xN with a VALID window that stops short of the input's end
        C(in_h=1, in_w=12, in_d=4, out_d=3, k_h=1, k_w=3, stride=(1, 4), padding=VALID),
        # the same with no input left over: CMSIS-NN's 1xN is fine
        C(in_h=1, in_w=11, in_d=4, out_d=3, k_h=1, k_w=3, stride=(1, 4), padding=VALID),
        # grouped 1x1: v7 sizes the buffer for the 1x1 kernel, runs arm_convolve_s8
        C(in_h=4, in_w=4, in_d=8, out_d=4, groups=2, k_h=1, k_w=1),
    ]
    model = conv_model(cases, "declined")
    program, _ = _program(CmsisNNBackend(lib, "mve"), model, tmp_path)
    grouped = "tg_conv_s8" if _v7(lib) else CONV
    assert [layer.call.kernel for layer in program.layers] == ["tg_conv_s8", CONV, grouped]
    _run_plain_c(model, tmp_path)
    # on the host's C path only the grouped layer is declined
    check(model, tmp_path / "c", [CONV, CONV, grouped], "declined c")


# --- pooling -------------------------------------------------------------------------------

POOL_GEOMETRIES = [
    ((1, 1, 1, 1), (1, 1), (1, 1), VALID),
    ((1, 1, 1, 3), (3, 3), (1, 1), SAME),          # window bigger than the input
    ((1, 5, 7, 3), (2, 2), (2, 2), SAME),
    ((2, 9, 9, 5), (3, 3), (2, 2), SAME),          # batches
    ((1, 8, 8, 16), (8, 8), (8, 8), VALID),        # global
    ((1, 6, 10, 2), (3, 5), (2, 3), SAME),         # asymmetric
    ((1, 4, 4, 7), (6, 6), (1, 2), SAME),
    ((1, 25, 5, 64), (25, 5), (2, 2), VALID),      # DS-CNN's global average
    ((3, 11, 3, 1), (4, 1), (3, 1), SAME),
    ((1, 2, 3, 9), (4, 4), (4, 4), SAME),
]


@pytest.mark.parametrize("opcode,kernel", [("AVERAGE_POOL_2D", "arm_avgpool_s8"),
                                           ("MAX_POOL_2D", "arm_max_pool_s8")])
def test_pooling(opcode, kernel, tmp_path):
    rng = seeded(opcode)
    b = Batch()
    acts = list(ACT_CODES)
    for k, (shape, filt, stride, padding) in enumerate(POOL_GEOMETRIES):
        _pool_layer(b, rng, opcode, shape, filt, stride, padding, act=acts[k % 4],
                    zp=[None, -128, 127][k % 3])
    check(b.build(), tmp_path, [kernel] * len(POOL_GEOMETRIES), opcode, count=3)


def test_average_pool_rounds_halves_as_tflm(tmp_path):
    """Means that are exact halves, of both signs, and a window cut by the padding."""
    rng = seeded("avg halves")
    b = Batch()
    _pool_layer(b, rng, "AVERAGE_POOL_2D", (1, 1, 8, 4), (1, 2), (1, 2), VALID, zp=0)
    _pool_layer(b, rng, "AVERAGE_POOL_2D", (1, 3, 3, 4), (2, 2), (2, 2), SAME, zp=0)
    a = np.array([[-128, -3, -2, -1], [0, 1, 2, 126], [-50, 50, -7, 7], [5, -6, 9, -10]])
    x0 = np.zeros((1, 1, 8, 4), np.int8)
    x0[0, 0, 0::2, :] = a
    x0[0, 0, 1::2, :] = a + 1
    x1 = np.arange(-18, 18, dtype=np.int8).reshape(1, 3, 3, 4)
    gen = assert_bit_exact(b.build(), tmp_path, inputs=[[x0, x1], [-x0 - 1, -x1]],
                           cmsis_nn=CMSIS_NN).gen
    assert [layer.call.kernel for layer in gen.program.layers] == ["arm_avgpool_s8"] * 2


# --- elementwise ---------------------------------------------------------------------------

def _binary(b: Batch, rng, opcode, shape1, shape2, act="NONE", zps=(None, None, None),
            const2=False):
    q1, q2 = quant_of(rng, "int8", zps[0]), quant_of(rng, "int8", zps[1])
    s_out = q1["scale"] * q2["scale"] * 128 if opcode == "MUL" else q1["scale"] + q2["scale"]
    qo = dict(scale=s_out * float(rng.uniform(0.4, 1.2)),
              zero_point=int(rng.integers(-128, 128)) if zps[2] is None else zps[2])
    x1 = b.input(shape1, **q1)
    if const2:
        x2 = b.const(rng.integers(-128, 128, shape2), "int8", **q2)
    else:
        x2 = b.input(shape2, **q2)
    y = b.output(tuple(np.broadcast_shapes(tuple(shape1), tuple(shape2))), **qo)
    b.op(opcode, [x1, x2], [y], {"fused_activation_function": ACT_CODES[act]})


@pytest.mark.parametrize("opcode,kernel", [("ADD", "arm_elementwise_add_s8"),
                                           ("MUL", "arm_elementwise_mul_s8")])
def test_add_mul(opcode, kernel, tmp_path):
    rng = seeded(opcode)
    b = Batch()
    cases = [((7,), (7,), "NONE", (None, None, None), False),
             ((1, 8, 8, 16), (1, 8, 8, 16), "RELU", (-128, 127, None), False),
             ((2, 3, 5), (2, 3, 5), "RELU6", (127, -128, -128), False),
             ((1, 5, 5, 3), (1, 5, 5, 3), "RELU_N1_TO_1", (None, None, 127), True),
             ((1, 4), (4,), "NONE", (None, None, None), False),        # same elements
             ((1, 1, 1, 1), (1, 1, 1, 1), "NONE", (0, 0, 0), False),
             ((3, 131), (3, 131), "NONE", (None, None, None), False)]  # not a multiple of 4
    broadcast = [((1, 4, 4, 8), (1, 1, 1, 8)), ((2, 3), (1,))]
    for s1, s2, act, zps, const2 in cases:
        _binary(b, rng, opcode, s1, s2, act, zps, const2)
    for s1, s2 in broadcast:
        _binary(b, rng, opcode, s1, s2)
    portable = "tg_add_s8" if opcode == "ADD" else "tg_mul_s8"
    check(b.build(), tmp_path, [kernel] * len(cases) + [portable] * len(broadcast), opcode,
          count=3)


def test_sub_stays_portable_and_maximum_minimum(tmp_path):
    rng = seeded("max min")
    b = Batch()
    kernels = []
    for opcode, s1, s2, kernel in [
            ("MAXIMUM", (2, 5, 3), (2, 5, 3), "arm_maximum_s8"),
            ("MINIMUM", (1, 9), (1, 9), "arm_minimum_s8"),
            ("MAXIMUM", (1,), (4, 6), "arm_maximum_s8"),        # a single value
            ("MINIMUM", (3, 4), (1, 1), "arm_minimum_s8"),
            ("MAXIMUM", (3, 1), (1, 4), "tg_maximum_s8"),       # a real broadcast
            ("SUB", (2, 7), (2, 7), "tg_sub_s8")]:
        q = quant_of(rng, "int8")
        if opcode == "SUB":
            _binary(b, rng, opcode, s1, s2)
        else:
            x1, x2 = b.input(s1, **q), b.input(s2, **q)
            y = b.output(tuple(np.broadcast_shapes(s1, s2)), **q)
            b.op(opcode, [x1, x2], [y])
        kernels.append(kernel)
    check(b.build(), tmp_path, kernels, "max min", count=3)


# --- PAD and TRANSPOSE -----------------------------------------------------------------------

def test_pad_and_transpose(tmp_path):
    rng = seeded("pad transpose")
    b = Batch()
    add_pad(b, rng, (1, 5, 7, 3), [[0, 0], [1, 1], [1, 1], [0, 0]], zp=-128)
    add_pad(b, rng, (2, 4, 4, 8), [[1, 0], [0, 1], [0, 1], [2, 3]], zp=127)
    add_pad(b, rng, (7,), [[2, 3]])
    add_pad(b, rng, (3, 4), [[1, 0], [0, 2]])
    add_pad(b, rng, (1, 4, 2, 3), [[0, 0], [1, 2], [2, 0], [0, 1]], "int8", "PADV2",
            value=-100, zp=5)
    add_pad(b, rng, (2, 2, 3, 2, 3), [[1, 0], [0, 1], [1, 1], [0, 2], [1, 0]])   # 5-D
    add_pad(b, rng, (1, 3, 4, 2), [[0, 0], [1, 2], [2, 0], [0, 1]], "int16")
    add_transpose(b, rng, (1, 4, 5, 3), [0, 3, 1, 2])
    add_transpose(b, rng, (2, 3, 4, 5), [3, 2, 0, 1])
    add_transpose(b, rng, (4, 6), [1, 0])
    add_transpose(b, rng, (2, 3, 5), [2, 0, 1])
    add_transpose(b, rng, (5,), [0])        # the data in the same order: a copy (an alias
    #                                          between layers, here model input to output)
    add_transpose(b, rng, (2, 3, 2, 2, 3), [4, 0, 2, 1, 3])                     # 5-D
    add_transpose(b, rng, (3, 4), [1, 0], "int16")
    pad, tr = "arm_pad_s8", "arm_transpose_s8"
    check(b.build(), tmp_path, [pad] * 5 + ["tg_strided_copy"] * 2 + [tr] * 4 + ["tg_copy"] +
          ["tg_strided_copy"] * 2, "pad transpose", count=2)


# --- a whole small network ------------------------------------------------------------------

def test_generated_code_of_a_small_network(tmp_path):
    """conv -> depthwise -> add (residual) -> max pool: structs, scratch and sources."""
    from codegen.frontend.tflite_writer import ModelWriter
    rng = seeded("network")
    m = ModelWriter()
    q = dict(scale=0.05, zero_point=-3)
    x = m.tensor("x", (1, 8, 8, 4), "int8", **q)
    w1 = m.const("w1", rng.integers(-127, 128, (8, 3, 3, 4)), "int8", scale=[0.01] * 8,
                 zero_point=[0] * 8)
    b1 = m.const("b1", rng.integers(-500, 500, 8), "int32", scale=[0.0005] * 8,
                 zero_point=[0] * 8)
    h1 = m.tensor("h1", (1, 8, 8, 8), "int8", scale=0.1, zero_point=-128)
    m.op("CONV_2D", [x, w1, b1], [h1], {"padding": SAME, "stride_h": 1, "stride_w": 1,
                                        "fused_activation_function": 1}, version=3)
    w2 = m.const("w2", rng.integers(-127, 128, (1, 3, 3, 8)), "int8", scale=[0.02] * 8,
                 zero_point=[0] * 8, axis=3)
    b2 = m.const("b2", rng.integers(-500, 500, 8), "int32", scale=[0.002] * 8,
                 zero_point=[0] * 8)
    h2 = m.tensor("h2", (1, 8, 8, 8), "int8", scale=0.1, zero_point=-128)
    m.op("DEPTHWISE_CONV_2D", [h1, w2, b2], [h2], {"padding": SAME, "stride_h": 1,
                                                   "stride_w": 1, "depth_multiplier": 1},
         version=6)
    h3 = m.tensor("h3", (1, 8, 8, 8), "int8", scale=0.15, zero_point=-100)
    m.op("ADD", [h1, h2], [h3], {"fused_activation_function": 0})
    y = m.tensor("y", (1, 4, 4, 8), "int8", scale=0.15, zero_point=-100)
    m.op("MAX_POOL_2D", [h3], [y], {"padding": VALID, "stride_h": 2, "stride_w": 2,
                                    "filter_height": 2, "filter_width": 2})
    m.inputs, m.outputs = [x], [y]
    gen = check(m.build(), tmp_path, [CONV, DW, "arm_elementwise_add_s8", "arm_max_pool_s8"],
                "network", count=3)
    c_text = gen.files["model.c"].decode()
    for struct in ("cmsis_nn_conv_params l0_conv_2d_conv_params",
                   "cmsis_nn_dw_conv_params l1_depthwise_conv_2d_dw_conv_params",
                   "cmsis_nn_pool_params l3_max_pool_2d_pool_params"):
        assert f"static const {struct} = " in c_text
    assert c_text.count("!= ARM_CMSIS_NN_SUCCESS") == 4
    man = json.loads(gen.files["tinygen.json"])
    entry = man["cmsis_nn"]
    assert entry["functions"] == sorted([CONV, DW, "arm_elementwise_add_s8", "arm_max_pool_s8"])
    lib = locate(CMSIS_NN)
    assert entry["sources"] == lib.sources_for(entry["functions"])
    assert "Source/ConvolutionFunctions/arm_convolve_s8.c" in entry["sources"]
    assert all(layer["variant"] == "cmsis-nn" for layer in man["layers"])
    # the conv's im2col buffer is part of the arena the manifest reports
    call = gen.program.layers[0].call
    assert call.scratch == [_im2col_bytes(3, 3, 4)]
    assert man["arena_bytes"] >= 2 * 8 * 8 * 8 + call.scratch[0]

