"""The dsp kernel variant (tinygen's DSP-extension kernels): FULLY_CONNECTED and pointwise
CONV_2D as one int8 GEMM (runtime_c/tg_dsp_gemm.c, tg_acle.h), other CONV_2D layers on an
int16 im2col (tg_dsp_conv.c), depthwise layers, bit-exact with TFLM.

On the host the variant runs the plain-C twins of the DSP instructions (asked for by name,
kernels=["dsp", "portable"]), also under ASan/UBSan; on the emulated Cortex-M4 it runs the
real SXTB16/SMLAD, as the default for the core.
"""
from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import cffi
import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.hostcc import find_cc
from codegen import cheaders
from codegen.ir import CExpr, ConstRef
from codegen.lowering.conv import dsp_depthwise
from codegen.lowering.conv.dsp_depthwise import MAX_K, MULTS
from codegen.lowering.conv.dsp_depthwise import requant_fits as dw_requant_fits
from codegen.lowering.conv.dsp_im2col import requant_fits as conv_requant_fits
from codegen.lowering.dsp_support import gemm_weight_layout
from codegen.ops.conv import analyse_depthwise_conv
from codegen.resources import runtime_dir
from codegen.toolchain import cortexm
from codegen.toolchain.host import WARNINGS
from codegen.verify import verify_cortexm
from tests.conv_models import SAME, VALID, ConvCase, add_layer, build_model
from tests.harness import assert_bit_exact
from tests.test_hostile_cclean import CPPCHECK

DSP = ["dsp", "portable"]
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def add_fc(m: ModelWriter, rng, tag, batches, depth, units, per_channel, act, bias=True,
           in_zp=None, out_zp=None):
    in_zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    out_zp = int(rng.integers(-128, 128)) if out_zp is None else out_zp
    in_scale = float(rng.uniform(0.005, 0.2))
    n = units if per_channel else 1
    w_scales = rng.uniform(0.002, 0.05, n)
    x = m.tensor(f"x{tag}", (batches, depth), "int8", scale=in_scale, zero_point=in_zp)
    ins = [x, m.const(f"w{tag}", rng.integers(-127, 128, (units, depth)), "int8",
                      scale=w_scales, zero_point=[0] * n, axis=0)]
    ins.append(m.const(f"b{tag}", rng.integers(-5000, 5000, (units,)), "int32",
                       scale=in_scale * w_scales, zero_point=[0] * n) if bias else -1)
    # an output scale that spreads the sums over the int8 range
    out_scale = in_scale * float(np.mean(w_scales)) * 73 * 74 * np.sqrt(depth) / 40
    if act == "RELU6":
        out_scale = min(out_scale, 6 / 120)
    elif act == "RELU_N1_TO_1":
        out_scale = min(out_scale, 1 / 100)
    y = m.tensor(f"y{tag}", (batches, units), "int8", scale=out_scale, zero_point=out_zp)
    m.op("FULLY_CONNECTED", ins, [y], {"fused_activation_function": ACTS[act]})
    m.inputs.append(x)
    m.outputs.append(y)


# batches, depth, units, per_channel, act, bias, in_zp, out_zp: every tail of the
# 2-row x 3-channel passes and of the 1-row passes (odd rows, channel counts that are not
# a multiple of 3), of the 4-value depth steps and of the 2-step loops (odd step counts)
FC_CASES = [
    (1, 1, 1, False, "NONE", True, None, None),
    (1, 3, 3, True, "RELU", True, -128, 127),
    (2, 5, 5, False, "RELU6", False, 127, -128),
    (3, 17, 17, True, "RELU_N1_TO_1", True, None, None),
    (1, 64, 10, True, "NONE", True, -128, -128),
    (4, 33, 6, False, "RELU", True, 127, 127),
    (5, 8, 1, True, "NONE", True, 0, 0),
    (2, 250, 7, True, "RELU6", True, None, None),
    (1, 12, 4, True, "RELU6", True, -128, None),
    (3, 20, 8, False, "NONE", True, None, 127),
    (6, 16, 2, True, "RELU", False, None, None),
]

# pointwise convolutions: channel counts 1, 3, 5, 17, odd pixel counts, width/height 1
PW_CASES = [
    ConvCase(in_h=3, in_w=3, in_d=1, out_d=1, k_h=1, k_w=1, padding=VALID, act="NONE",
             per_channel=False, in_zp=-128, out_zp=127),
    ConvCase(in_h=1, in_w=5, in_d=3, out_d=5, k_h=1, k_w=1, padding=SAME, act="RELU",
             per_channel=True, in_zp=127, out_zp=-128),
    ConvCase(batch=2, in_h=4, in_w=3, in_d=17, out_d=3, k_h=1, k_w=1, act="RELU6",
             per_channel=True, bias=False),
    ConvCase(in_h=5, in_w=1, in_d=5, out_d=17, k_h=1, k_w=1, act="RELU_N1_TO_1",
             per_channel=False),
    ConvCase(in_h=6, in_w=5, in_d=32, out_d=16, k_h=1, k_w=1, act="NONE", per_channel=True,
             in_zp=-128, out_zp=-128),
    ConvCase(in_h=2, in_w=2, in_d=12, out_d=8, k_h=1, k_w=1, act="RELU", per_channel=False,
             in_zp=127, out_zp=127),
    # strided 1x1 (resnet8's shortcuts): every stride-th pixel gathered, odd sizes
    ConvCase(in_h=6, in_w=6, in_d=4, out_d=5, k_h=1, k_w=1, stride=(2, 2), act="RELU"),
    ConvCase(batch=2, in_h=5, in_w=7, in_d=9, out_d=16, k_h=1, k_w=1, stride=(2, 3),
             padding=VALID, act="RELU6", per_channel=False, in_zp=-128, out_zp=127),
    ConvCase(in_h=7, in_w=3, in_d=16, out_d=3, k_h=1, k_w=1, stride=(3, 1), padding=SAME,
             act="RELU_N1_TO_1", in_zp=127, out_zp=-128),
]
DW = "DEPTHWISE_CONV_2D"


def dw(path, **kw):
    """A depthwise case and the kernel path it must take: "3" the 3-tap loops (3x3 at
    stride 1 or 2 along the lines, activation range all of int8), "any" the general
    loop; "T" when the layer is walked along columns (taller than wide)."""
    return path, ConvCase(op=DW, **kw)


# every path and tail of tg_dsp_depthwise_s8: 3x3 at strides 1 and 2 (both orientations),
# SAME and VALID, widths and heights 1, 2, 3 and odd, channels 1, 3, 5, 17, depth
# multipliers 1, 2, 4 and one input channel, per-tensor and per-channel, zero points -128
# and 127, every fused activation, 1 to 6 tap pairs per filter line (1x1, 3x1, 3x3, 5x5,
# 7x7, 8x2 and 10x8 walked along columns, 1x11), strides past the filter
DW_PATHS = [
    dw("3", in_h=5, in_w=7, in_d=8, out_d=8, padding=SAME, act="RELU", in_zp=-128,
       out_zp=-128),
    dw("3", in_h=6, in_w=9, in_d=17, out_d=17, stride=(2, 2), padding=SAME, act="NONE",
       per_channel=False, in_zp=127),
    dw("3T", in_h=7, in_w=6, in_d=5, out_d=5, stride=(2, 2), padding=VALID, bias=False,
       in_zp=127, out_zp=-128),
    dw("3T", in_h=9, in_w=4, in_d=3, out_d=3, padding=SAME, out_zp=127),
    dw("3T", in_h=11, in_w=3, in_d=5, out_d=10, stride=(2, 1), padding=SAME, act="RELU",
       out_zp=-128),
    dw("3", batch=2, in_h=1, in_w=6, in_d=3, out_d=3, padding=SAME, per_channel=False),
    dw("3T", in_h=4, in_w=1, in_d=1, out_d=1, padding=SAME),
    dw("3", in_h=2, in_w=2, in_d=4, out_d=16, padding=SAME, act="RELU", out_zp=-128),
    dw("3", in_h=3, in_w=3, in_d=1, out_d=4, padding=VALID, in_zp=-128, out_zp=127),
    dw("3", in_h=9, in_w=9, in_d=1, out_d=8, stride=(2, 2), padding=SAME, in_zp=-128),
    dw("3", in_h=3, in_w=5, in_d=17, out_d=17, stride=(1, 2), padding=SAME),
    dw("any", in_h=5, in_w=5, in_d=8, out_d=8, padding=SAME, act="RELU6", in_zp=-128,
       out_zp=127),
    dw("anyT", in_h=7, in_w=6, in_d=17, out_d=17, stride=(2, 2), padding=SAME,
       act="RELU_N1_TO_1", per_channel=False),
    dw("anyT", in_h=9, in_w=8, in_d=12, out_d=12, k_h=5, k_w=3, stride=(1, 2), padding=SAME,
       act="RELU", in_zp=127, out_zp=127),
    dw("any", in_h=7, in_w=7, in_d=5, out_d=5, k_h=5, k_w=5, padding=SAME, act="RELU6"),
    dw("any", in_h=8, in_w=9, in_d=4, out_d=4, k_h=7, k_w=7, stride=(2, 2), padding=SAME),
    dw("anyT", in_h=10, in_w=5, in_d=3, out_d=3, k_h=8, k_w=2, padding=SAME, act="RELU"),
    # micro_speech's: a 10x8 filter, one input channel, multiplier 8 (5 pairs per line)
    dw("anyT", in_h=15, in_w=12, in_d=1, out_d=8, k_h=10, k_w=8, stride=(2, 2),
       padding=SAME, act="RELU", in_zp=-128),
    dw("any", in_h=4, in_w=12, in_d=4, out_d=4, k_h=1, k_w=11, padding=SAME),
    dw("anyT", in_h=6, in_w=3, in_d=3, out_d=6, k_h=3, k_w=1, padding=SAME, act="RELU6"),
    dw("any", in_h=4, in_w=5, in_d=4, out_d=4, k_h=1, k_w=1, stride=(2, 3), padding=VALID,
       in_zp=-128, out_zp=-128),
    dw("any", in_h=8, in_w=8, in_d=2, out_d=2, k_h=3, k_w=3, stride=(3, 3), padding=VALID),
    dw("anyT", in_h=5, in_w=4, in_d=1, out_d=3, padding=SAME, act="RELU6", in_zp=127),
    # 3x3 with a depth multiplier above TG_DSP_DW_MULTS (8): the general loop
    dw("any", in_h=4, in_w=6, in_d=1, out_d=9, padding=SAME, in_zp=-128, out_zp=-128),
]
DW_CASES = [c for _, c in DW_PATHS]
OTHER_DW = [ConvCase(op=DW, in_h=6, in_w=6, in_d=4, out_d=4, k_h=3, k_w=3, dilation=(2, 2)),
            ConvCase(op=DW, in_h=17, in_w=17, in_d=2, out_d=2, k_h=17, k_w=17, padding=VALID)]

# not pointwise: tg_dsp_conv_s8 (int16 im2col).  Window rows of whole 4-value blocks
# (widened from the input, or staged at the borders) and windows staged whole; filters
# 1x3, 3x3, 5x5, 10x4, 7x1, 2x2, 1x1; strides 1/2/3; dilations; input channels 1, 2, 3,
# 5, 8, 17; output channels 1, 3, 5, 17 (odd pair tails); odd pixel counts (the last
# pixel alone), widths and heights of 1, batches
KXK_CASES = [
    ConvCase(in_h=5, in_w=5, in_d=8, out_d=3, k_h=3, k_w=3, padding=SAME, act="RELU",
             per_channel=True, in_zp=-128, out_zp=127),
    ConvCase(in_h=7, in_w=6, in_d=3, out_d=5, k_h=3, k_w=3, stride=(2, 2), padding=SAME,
             act="RELU6", per_channel=False),
    ConvCase(in_h=7, in_w=9, in_d=2, out_d=17, k_h=5, k_w=5, padding=VALID, act="NONE",
             in_zp=127, out_zp=-128),
    ConvCase(in_h=13, in_w=7, in_d=1, out_d=17, k_h=10, k_w=4, stride=(2, 2), padding=SAME,
             act="RELU", per_channel=True),
    ConvCase(in_h=9, in_w=1, in_d=5, out_d=1, k_h=7, k_w=1, stride=(3, 3), padding=SAME,
             act="RELU_N1_TO_1", per_channel=False, in_zp=-128),
    ConvCase(in_h=1, in_w=8, in_d=17, out_d=3, k_h=1, k_w=3, stride=(1, 3), padding=VALID,
             bias=False, in_zp=127, out_zp=127),
    ConvCase(in_h=7, in_w=7, in_d=4, out_d=5, k_h=3, k_w=3, dilation=(2, 2), padding=SAME,
             act="RELU", per_channel=False),
    ConvCase(batch=2, in_h=5, in_w=3, in_d=3, out_d=3, k_h=3, k_w=3, dilation=(1, 2),
             padding=SAME, act="RELU6", per_channel=True, bias=False),
    ConvCase(in_h=6, in_w=6, in_d=8, out_d=5, k_h=1, k_w=1, stride=(2, 2), padding=SAME),
    ConvCase(in_h=1, in_w=1, in_d=5, out_d=3, k_h=3, k_w=3, padding=SAME, in_zp=-128,
             out_zp=-128),
    ConvCase(in_h=8, in_w=8, in_d=17, out_d=17, k_h=2, k_w=2, stride=(3, 3), padding=VALID,
             act="RELU", per_channel=False, in_zp=-128, out_zp=-128),
    ConvCase(in_h=9, in_w=9, in_d=1, out_d=8, k_h=3, k_w=3, stride=(2, 2), padding=SAME,
             act="RELU6", per_channel=True, in_zp=127),
]
# grouped: the dsp variant declines it (portable runs it)
OTHER_CONV = [ConvCase(in_h=5, in_w=5, in_d=4, out_d=4, k_h=3, k_w=3, groups=2)]


def fc_model(cases, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, c in enumerate(cases):
        add_fc(m, rng, str(k), *c)
    return m.build()


# the conv layers of mixed_model: pointwise, depthwise, k x k (rows of whole blocks with
# clipped borders, a 3-channel first layer with row remainders, kws's 10x4 one-channel)
MIXED_CONV = PW_CASES[1:4] + PW_CASES[-2:-1] + DW_CASES[1:3] + DW_CASES[-2:-1] + \
    [KXK_CASES[0], KXK_CASES[1], KXK_CASES[3]]


def mixed_model(seed: int) -> bytes:
    """A few FC and pointwise layers in one model (the emulator and sanitizer samples)."""
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, c in enumerate(FC_CASES[1:4]):
        add_fc(m, rng, f"f{k}", *c)
    for k, c in enumerate(MIXED_CONV):
        add_layer(m, rng, c, f"c{k}")
    return m.build()


def kernels_of(gen) -> list[str]:
    return [layer.call.kernel for layer in gen.program.layers]


# ---------------------------------------------------------------- layout (pure Python)
@pytest.mark.parametrize("channels,depth", [(1, 1), (2, 4), (3, 5), (5, 9), (17, 3), (4, 8)])
def test_weight_layout_is_the_documented_permutation(channels, depth):
    w = (np.arange(channels * depth).reshape(channels, depth) % 251 - 125).astype(np.int8)
    words = gemm_weight_layout(w)
    got = words.view(np.uint8).view(np.int8)          # little-endian bytes
    quads = -(-depth // 4)
    triples = -(-channels // 3)
    assert words.dtype == np.int32 and got.size == triples * 3 * quads * 4
    for c in range(triples * 3):                       # the reading order of tg_dsp_gemm_s8
        for k in range(quads):
            pos = ((c // 3 * quads + k) * 3 + c % 3) * 4
            want = [int(w[c, d]) if c < channels and d < depth else 0
                    for d in range(4 * k, 4 * k + 4)]
            assert got[pos:pos + 4].tolist() == want, (c, k)


# ---------------------------------------------------------------- bit-exact on the host
def test_fully_connected_dsp_bit_exact(tmp_path):
    res = assert_bit_exact(fc_model(FC_CASES, 11), tmp_path, count=3, seed=11, kernels=DSP)
    assert kernels_of(res.gen) == ["tg_dsp_gemm_s8"] * len(FC_CASES)


def test_conv_dsp_bit_exact_and_grouped_declined(tmp_path):
    cases = PW_CASES + KXK_CASES + OTHER_CONV
    res = assert_bit_exact(build_model(cases, 12), tmp_path, count=3, seed=12, kernels=DSP)
    layers = res.gen.program.layers
    # 1x1 filters (any stride, no padding) run on the GEMM, other filters on the im2col
    kxk = ["tg_dsp_gemm_s8" if (c.k_h, c.k_w) == (1, 1) else "tg_dsp_conv_s8" for c in KXK_CASES]
    assert kernels_of(res.gen) == ["tg_dsp_gemm_s8"] * len(PW_CASES) + kxk + ["tg_conv_s8"]
    assert layers[-1].selection.variant == "portable"
    assert "grouped convolutions" in layers[-1].selection.reason()
    strided = [layer.call.params for layer in layers[:len(PW_CASES)]
               if layer.call.params.get("stride_h", 1) > 1]
    assert [(p["stride_h"], p["stride_w"], p["rows"]) for p in strided] == \
        [(2, 2, 9), (2, 3, 2 * 3 * 3), (3, 1, 9)]


def test_depthwise_dsp_bit_exact_and_others_declined(tmp_path, monkeypatch):
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)     # the band loops (px: below)
    cases = DW_CASES + OTHER_DW
    res = assert_bit_exact(build_model(cases, 17), tmp_path, count=3, seed=17, kernels=DSP,
                           sanitize=True)
    layers = res.gen.program.layers
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_s8"] * len(DW_CASES) + \
        ["tg_depthwise_conv_s8"] * 2
    for (path, case), layer in zip(DW_PATHS, layers):
        p = layer.call.params
        walked = (p["lines"], p["length"])
        assert walked in ((case.in_h, case.in_w), (case.in_w, case.in_h))
        got = ("3" if p["taps3"] else "any") + \
            ("T" if walked == (case.in_w, case.in_h) != (case.in_h, case.in_w) else "")
        assert got == path, case
    assert "undilated" in layers[-2].selection.reason()
    assert "filters up to 16 lines" in layers[-1].selection.reason()
    assert cheaders.scan().macros["TG_DSP_DW_MAX_K"] == MAX_K
    assert cheaders.scan().macros["TG_DSP_DW_MULTS"] == MULTS


@pytest.mark.parametrize("budget,paths", [(100, {(1, 1), (1, 2)}), (480, {(1, 1)})])
def test_depthwise_dsp_rings_of_a_few_lines_bit_exact(tmp_path, monkeypatch, budget, paths):
    """With a small band budget the kernel's ring holds more lines than the filter but less
    than the padded channel: runs of output lines that do not wrap in the ring, single
    lines where they wrap, slots reused for padding lines (zeroed again) -- DW_PATHS,
    under ASan/UBSan; `paths` (3-tap loops, stride across lines) are among the layers
    with such rings."""
    monkeypatch.setattr(dsp_depthwise, "BAND_BYTES", 0)
    monkeypatch.setattr(dsp_depthwise, "RING_BYTES", budget)
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    res = assert_bit_exact(build_model(DW_CASES, 23), tmp_path, count=2, seed=23, kernels=DSP,
                           sanitize=True)
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_s8"] * len(DW_CASES)
    params = [layer.call.params for layer in res.gen.program.layers]
    partial = [(p["taps3"], p["stride_lines"]) for p in params
               if p["filter_lines"] < p["band_lines"] < (p["out_lines"] - 1) *
               p["stride_lines"] + p["filter_lines"]]
    assert paths <= set(partial)


def test_depthwise_dsp_declines_what_its_requantization_cannot_do_exactly(tmp_path):
    """The kernel's SMMULR requantization is exact only for small enough accumulators:
    requant_fits (dsp_depthwise) says why not for a bias near 2^30, or a filter that the left shift
    would push out of int16."""
    path = tmp_path / "m.tflite"
    path.write_bytes(build_model(DW_CASES[:1], 19))
    gen = generate(path, None, target="host", kernels=DSP)
    layer = analyse_depthwise_conv(gen.program.layers[0].call.op, gen.program.graph)
    assert dw_requant_fits(layer) is None
    big = dataclasses.replace(layer, bias=dataclasses.replace(
        layer.bias, data=np.full_like(layer.bias.data, 1 << 29)))
    assert "accumulators up to 2^" in dw_requant_fits(big)
    left = dataclasses.replace(layer, shift=np.full_like(layer.shift, 8))
    assert "does not fit int16" in dw_requant_fits(left)


def large_scale_model(layers=((1, [0.6, 1.5, 0.7, 3.0]), (3, [0.55, 0.9, 0.1]))) -> bytes:
    """Depthwise layers whose effective scales (input * filter / output, per channel)
    reach 0.5 and more: right shift 0 and left shifts, the general loop's other
    requantization branch.  Filters of -1, 0, 1 keep the outputs mostly inside int8."""
    rng = np.random.default_rng(37)
    m = ModelWriter()
    in_scale, out_scale = 0.5, 0.01
    for k, (k_h, eff) in enumerate(layers):
        channels = len(eff)
        w_scale = np.asarray(eff) * out_scale / in_scale
        x = m.tensor(f"x{k}", (1, 5, 4, channels), "int8", scale=in_scale, zero_point=-3)
        w = m.const(f"w{k}", rng.integers(-1, 2, (1, k_h, k_h, channels)), "int8",
                    scale=w_scale, zero_point=[0] * channels, axis=3)
        b = m.const(f"b{k}", rng.integers(-50, 50, (channels,)), "int32",
                    scale=in_scale * w_scale, zero_point=[0] * channels)
        y = m.tensor(f"y{k}", (1, 5, 4, channels), "int8", scale=out_scale, zero_point=5)
        m.op(DW, [x, w, b], [y], {"padding": SAME, "stride_h": 1, "stride_w": 1,
                                  "depth_multiplier": 1, "fused_activation_function": 0},
             version=6)
        m.inputs.append(x)
        m.outputs.append(y)
    return m.build()


@pytest.mark.parametrize("px", [False, True])
def test_depthwise_dsp_shifts_of_zero_and_left(tmp_path, monkeypatch, px):
    """Both kernels: the band loops, and (px) tg_dsp_depthwise_px_s8 for the 4-channel
    layer (its shifts 0, 1, 0, 2: no right shift at all)."""
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 36 if px else 0)
    res = assert_bit_exact(large_scale_model(), tmp_path, count=3, seed=37, kernels=DSP)
    layers = res.gen.program.layers
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_px_s8" if px else "tg_dsp_depthwise_s8",
                                   "tg_dsp_depthwise_s8"]
    shifts = {int(v) for layer in layers for c in layer.call.consts
              if c.name.endswith("_shift") for v in c.values}
    assert {0, 1, 2} <= shifts and min(shifts) < 0
    assert not any(layer.call.params.get("taps3") for layer in layers)
    if px:
        assert [int(v) for v in layers[0].call.consts[-1].values] == [0, 1, 0, 2]


# in place: stride 1, SAME (or 1x1), depth multiplier 1 -- the 3-tap loops along rows and
# along columns, the general loop, groups of 4 channels and single channels
IN_PLACE = [ConvCase(op=DW, in_h=5, in_w=7, in_d=8, out_d=8, act="RELU", out_zp=-128),
            ConvCase(op=DW, in_h=9, in_w=4, in_d=5, out_d=5, act="NONE"),
            ConvCase(op=DW, in_h=6, in_w=6, in_d=4, out_d=4, k_h=5, k_w=5, act="RELU6"),
            ConvCase(op=DW, in_h=4, in_w=3, in_d=3, out_d=3, k_h=1, k_w=1, padding=VALID)]


def chain_model(cases, seed: int) -> bytes:
    """Each case three times in a chain (its output the next one's input): the middle
    layer reads and writes arena tensors, which the planner may overlap."""
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, c in enumerate(cases):
        first = len(m.ops)
        for j in range(3):
            add_layer(m, rng, c, f"{k}_{j}")
        for j in (1, 2):
            op, prev = m.ops[first + j], m.ops[first + j - 1]
            m.inputs.remove(op.inputs[0])
            m.outputs.remove(prev.outputs[0])
            op.inputs[0] = prev.outputs[0]
    return m.build()


def test_depthwise_dsp_in_place_bit_exact(tmp_path, monkeypatch):
    """The dsp depthwise layers declare their output may overwrite their input; in these
    chains the planner grants it for every middle layer, and the program (ASan/UBSan)
    still equals TFLM: a kernel that read an input byte after overwriting it would not.
    (The band loops here; tg_dsp_depthwise_px_s8 in test_depthwise_dsp_px_bit_exact.)"""
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    res = assert_bit_exact(chain_model(IN_PLACE, 29), tmp_path, count=3, seed=29,
                           kernels=DSP, sanitize=True)
    prog = res.gen.program
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_s8"] * 3 * len(IN_PLACE)
    granted = {(g.step, g.offset) for g in prog.plan.overlaps}
    middles = [k for k, layer in enumerate(prog.layers) if k % 3 == 1]
    assert {(k, 0) for k in middles} <= granted
    paths = [(layer.call.params["taps3"], layer.call.params["group"]) for layer in prog.layers]
    assert {(1, 4), (1, 1), (0, 4), (0, 1)} <= set(paths)


# tg_dsp_depthwise_px_s8 (small images, depth a multiple of 4, multiplier 1): 3x3 at
# strides 1 and 2, SAME (even and odd sizes: padding after only) and VALID, images down to
# 1x1 and 1x2 (taps mostly in the padding), other filters (the general tap loop: 5x5, 2x3,
# 1x1, 3x1), channels 4, 8, 12, batches, per-tensor quantization, zero points -128 and
# 127, every fused activation (the clamp after the int8 range)
PX_CASES = [
    ConvCase(op=DW, in_h=6, in_w=6, in_d=8, out_d=8, act="RELU6", in_zp=-128, out_zp=-128),
    ConvCase(op=DW, in_h=6, in_w=5, in_d=12, out_d=12, stride=(2, 2), act="NONE",
             per_channel=False, in_zp=127),
    ConvCase(op=DW, in_h=7, in_w=5, in_d=4, out_d=4, stride=(2, 2), padding=VALID,
             bias=False, out_zp=127),
    ConvCase(op=DW, in_h=4, in_w=4, in_d=8, out_d=8, padding=VALID, act="RELU"),
    ConvCase(op=DW, in_h=1, in_w=1, in_d=4, out_d=4, act="RELU_N1_TO_1"),
    ConvCase(op=DW, batch=2, in_h=1, in_w=2, in_d=8, out_d=8, stride=(2, 2)),
    ConvCase(op=DW, in_h=4, in_w=6, in_d=4, out_d=4, k_h=5, k_w=5, act="RELU"),
    ConvCase(op=DW, in_h=5, in_w=7, in_d=8, out_d=8, k_h=2, k_w=3, stride=(1, 2)),
    ConvCase(op=DW, in_h=3, in_w=3, in_d=12, out_d=12, k_h=1, k_w=1, stride=(2, 2),
             padding=VALID, in_zp=-128),
    ConvCase(op=DW, in_h=6, in_w=2, in_d=4, out_d=4, k_h=3, k_w=1, act="RELU6", in_zp=127),
]


def test_depthwise_dsp_px_bit_exact(tmp_path, monkeypatch):
    """Small images: tg_dsp_depthwise_px_s8 for every case (ASan/UBSan), each case alone
    and three times in a chain whose middle layers the planner runs in place."""
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 36)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    res = assert_bit_exact(build_model(PX_CASES, 41), tmp_path / "a", count=2,
                           seed=41, kernels=DSP, sanitize=True)
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_px_s8"] * len(PX_CASES)
    same = [c for c in PX_CASES if c.out_hw() == (c.in_h, c.in_w)][:3]
    res = assert_bit_exact(chain_model(same, 43), tmp_path / "b", count=2, seed=43,
                           kernels=DSP, sanitize=True)
    prog = res.gen.program
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_px_s8"] * 3 * len(same)
    granted = {(g.step, g.offset) for g in prog.plan.overlaps}
    assert {(k, 0) for k in range(1, 3 * len(same), 3)} <= granted


SHIM = r"""
#include "tg_dsp_depthwise.h"
void run(const tg_dsp_depthwise_params_t *p, const int8_t *in, int8_t *out, void *band)
{
    tg_dsp_depthwise_s8(p, in, out, band);
}
"""


@pytest.mark.parametrize("whole", [False, True])
def test_depthwise_dsp_in_place_check_sees_an_overwritten_read(tmp_path, monkeypatch, whole):
    """The kernel on its own (cffi): output over input (offset 0) equals separate buffers;
    the output two input lines further on (and, with the whole channels gathered at once,
    one group of channels further on), which the kernel would overwrite before it gathers
    them, does not -- so the in-place comparison can see such a read.  Both with a ring
    of filter_lines slots and with the band holding the whole padded channels."""
    if not whole:
        monkeypatch.setattr(dsp_depthwise, "BAND_BYTES", 0)
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    path = tmp_path / "m.tflite"
    path.write_bytes(build_model(IN_PLACE[:1], 31))
    gen = generate(path, None, target="host", kernels=DSP)
    call = gen.program.layers[0].call
    assert call.overlaps and call.params["lines"] == IN_PLACE[0].in_h
    assert call.params["band_lines"] == (IN_PLACE[0].in_h + 2 if whole else 3)
    # the cffi struct below declares the fields in the params' order: the header's
    assert tuple(call.params) == cheaders.parse().structs["tg_dsp_depthwise_params_t"]
    ffi = cffi.FFI()
    ffi.cdef("typedef struct { " + " ".join(
        f"{'const void *' if k in ('filter', 'bias', 'multiplier', 'shift') else 'int32_t'} "
        f"{k};" for k in call.params) + " } params_t;"
        "void run(const params_t *p, const void *in, void *out, void *band);")
    (tmp_path / "shim.c").write_text(SHIM)
    lib = tmp_path / "libshim.so"
    subprocess.run([find_cc(), *WARNINGS, "-O1", "-fPIC", "-shared", f"-I{runtime_dir()}",
                    str(tmp_path / "shim.c"), str(runtime_dir() / "tg_dsp_depthwise.c"),
                    str(runtime_dir() / "tg_bytes.c"), "-o", str(lib)], check=True)
    so = ffi.dlopen(str(lib))
    consts = {c.name: np.ascontiguousarray(c.values) for c in call.consts}
    p = ffi.new("params_t *")
    keep = []
    for k, v in call.params.items():
        if isinstance(v, ConstRef):
            keep.append(consts[v.name])
            setattr(p, k, ffi.cast("void *", ffi.from_buffer(consts[v.name])))
        elif isinstance(v, CExpr):
            setattr(p, k, ffi.NULL)
        else:
            setattr(p, k, int(v))
    c = IN_PLACE[0]
    n = c.in_h * c.in_w * c.in_d
    line = c.in_w * c.in_d
    x = np.random.default_rng(31).integers(-128, 128, n).astype(np.int8)
    band = np.zeros(call.scratch[0], np.uint8)

    def run(offset):
        buf = np.zeros(n + 2 * line + 4, np.int8)
        buf[:n] = x
        if offset is None:
            out = np.zeros(n, np.int8)
            so.run(p, ffi.from_buffer(buf), ffi.from_buffer(out), ffi.from_buffer(band))
            return out.tobytes()
        so.run(p, ffi.from_buffer(buf), ffi.cast("int8_t *", ffi.from_buffer(buf)) + offset,
               ffi.from_buffer(band))
        return buf[offset:offset + n].tobytes()

    apart = run(None)
    assert run(0) == apart
    # a group's outputs over its own channels' later lines: read before, with the whole
    # channels gathered; over the next group's channels: not read yet either way
    assert (run(2 * line) == apart) == whole
    assert run(2 * line + call.params["group"]) != apart


def test_dsp_kernels_clean_under_sanitizers(tmp_path):
    res = assert_bit_exact(mixed_model(13), tmp_path, count=2, seed=13, kernels=DSP,
                           sanitize=True)
    assert set(kernels_of(res.gen)) == {"tg_dsp_gemm_s8", "tg_dsp_depthwise_s8",
                                        "tg_dsp_conv_s8"}


# ---------------------------------------------------------------- selection
def test_dsp_is_the_default_on_cores_with_the_dsp_extension(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(mixed_model(14))
    for target in ("cortex-m4", "cortex-m7", "cortex-m33", "nucleo-l4r5zi"):
        gen = generate(path, None, target=target)
        assert [layer.selection.variant for layer in gen.program.layers] == ["dsp"] * 13, target
    for target in ("cortex-m3", "cortex-m0plus", "host"):
        gen = generate(path, None, target=target)
        assert {layer.selection.variant for layer in gen.program.layers} == {"portable"}
    # asked for on a core without it: declined with the reason, the next variant runs
    gen = generate(path, None, target="cortex-m3", kernels=DSP)
    for layer in gen.program.layers:
        assert layer.selection.variant == "portable"
        assert layer.selection.refusals[0].variant == "dsp"
        assert "no DSP extension" in layer.selection.refusals[0].reason


# ---------------------------------------------------------------- the real instructions
@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_dsp_kernels_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(mixed_model(15))
    report = verify_cortexm(path, count=3, seed=15, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    sizes = [c[0] * c[2] for c in FC_CASES[1:4]] + \
        [c.batch * int(np.prod(c.out_hw())) * c.out_d
         for c in MIXED_CONV]
    assert [o.compared for o in report.outputs] == [3 * n for n in sizes]
    # the emulated program ran the dsp kernels, built with the DSP extension's instructions
    model_c = (tmp_path / "w" / "m.c").read_text()
    assert model_c.count("tg_dsp_gemm_s8(") == 7
    assert model_c.count("tg_dsp_depthwise_s8(") == 3
    assert model_c.count("tg_dsp_conv_s8(") == 3
    assert (tmp_path / "w" / "tg_acle.h").is_file()


# first layers (1-4 input channels) and k x k layers whose activation keeps the whole int8
# range (output zero point -128 with RELU, or none): tg_dsp_conv_s8 requantizes those
# through the quant rows (tg_dsp_requantize_hm), in asm on the Cortex-M4; strides,
# paddings, odd channel counts (the last channel alone), per-tensor and per-channel scales
FIRST_CASES = [
    ConvCase(in_h=9, in_w=6, in_d=1, out_d=8, k_h=5, k_w=4, stride=(2, 2), padding=SAME,
             act="RELU", out_zp=-128),
    ConvCase(in_h=8, in_w=7, in_d=2, out_d=5, k_h=3, k_w=3, stride=(1, 1), padding=VALID,
             act="NONE", per_channel=False),
    ConvCase(in_h=10, in_w=9, in_d=3, out_d=8, k_h=3, k_w=3, stride=(2, 2), padding=SAME,
             act="RELU", out_zp=-128, in_zp=-128),
    ConvCase(in_h=7, in_w=8, in_d=4, out_d=7, k_h=3, k_w=2, stride=(2, 1), padding=SAME,
             act="NONE", in_zp=127),
    ConvCase(in_h=6, in_w=6, in_d=3, out_d=16, k_h=3, k_w=3, padding=SAME, act="NONE",
             per_channel=False, out_zp=127),
    ConvCase(in_h=5, in_w=5, in_d=16, out_d=6, k_h=3, k_w=3, padding=SAME, act="RELU",
             out_zp=-128),
]


def test_first_layer_convs_dsp_bit_exact_with_and_without_quant_rows(tmp_path, monkeypatch):
    """Host (plain-C fallbacks, ASan/UBSan): the quant-row requantization, and the general
    one (multiplier and shift) where no rows are made (short_quant declined)."""
    from codegen.lowering.conv import dsp_im2col
    model = build_model(FIRST_CASES + KXK_CASES[:3], 81)
    (tmp_path / "rows").mkdir()
    (tmp_path / "general").mkdir()
    res = assert_bit_exact(model, tmp_path / "rows", count=2, seed=81, kernels=DSP,
                           sanitize=True)
    calls = [layer.call for layer in res.gen.program.layers]
    assert all(c.kernel == "tg_dsp_conv_s8" and c.params["quant"] != CExpr("NULL")
               for c in calls)
    assert [c.params["quant_step"] for c in calls[:len(FIRST_CASES)]] == [3, 0, 3, 3, 0, 3]
    monkeypatch.setattr(dsp_im2col, "short_quant", lambda *a, **k: None)
    res = assert_bit_exact(model, tmp_path / "general", count=2, seed=81, kernels=DSP)
    assert all(layer.call.params["quant"] == CExpr("NULL") for layer in res.gen.program.layers)


# every path of the GEMM's 2-row kernel (the Thumb-2 assembly on the Cortex-M4, its C on the
# host): 4-value step counts of every residue mod 8 (a first pass entering the 8-step loop
# body at each of its steps) and of 1 to 4 passes, channel counts of every residue mod 3 (a
# last triple storing 1, 2 or 3 channels), odd row counts (the last row taken as a pair of
# itself), per-tensor and per-channel requantization, row pairs walked by the assembly
# and called a pair at a time (ragged depths, strides), depth 8 and 16 with 16 channels
# (person_detect's first pointwise layers), kws's 64 x 64, a strided 1x1 convolution
GEMM_FC = [
    (3, 16, 9, True, "NONE", True, None, None),
    (4, 64, 64, True, "RELU", True, None, None),
    (5, 24, 16, False, "RELU6", True, -128, None),
    (6, 8, 17, True, "NONE", True, None, 127),
    (7, 45, 5, True, "RELU_N1_TO_1", True, None, None),
    (3, 52, 20, False, "NONE", False, 127, None),
    (4, 7, 2, True, "RELU", True, None, None),
    (3, 4, 1, False, "NONE", True, None, None),
    (5, 60, 14, True, "RELU", True, None, None),
    (4, 100, 7, True, "NONE", True, None, -3),
    (3, 44, 11, False, "NONE", True, None, None),
]
GEMM_PW = [
    ConvCase(in_h=5, in_w=5, in_d=8, out_d=16, k_h=1, k_w=1, act="RELU6", per_channel=True),
    ConvCase(in_h=3, in_w=5, in_d=16, out_d=16, k_h=1, k_w=1, act="NONE", per_channel=False),
    ConvCase(in_h=7, in_w=7, in_d=12, out_d=10, k_h=1, k_w=1, stride=(2, 2), act="RELU",
             per_channel=True),
    # a gather within one output line (rows <= out_w): the assembly walks it, a lone last
    # channel and an odd last row included
    ConvCase(in_h=1, in_w=13, in_d=8, out_d=7, k_h=1, k_w=1, stride=(1, 2), act="NONE",
             per_channel=True),
]


def gemm_model(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, c in enumerate(GEMM_FC):
        add_fc(m, rng, f"f{k}", *c)
    for k, c in enumerate(GEMM_PW):
        add_layer(m, rng, c, f"c{k}")
    return m.build()


def test_gemm_two_row_paths_bit_exact(tmp_path):
    res = assert_bit_exact(gemm_model(16), tmp_path, count=2, seed=16, kernels=DSP)
    assert kernels_of(res.gen) == ["tg_dsp_gemm_s8"] * (len(GEMM_FC) + len(GEMM_PW))
    # every layer takes its rows two at a time (a scratch), the skips and the last triples
    # cover every residue
    params = [layer.call.params for layer in res.gen.program.layers]
    assert all(layer.call.scratch for layer in res.gen.program.layers)
    assert {-(-p["depth"] // 4) % 8 for p in params} == set(range(8))
    assert max(-(-p["depth"] // 4) for p in params) > 24            # 4 passes
    # on the Cortex-M4 the assembly walks the row pairs of whole 4-value steps itself
    # (tg_dsp_gemm_2x3_rows_thumb2), the others (a ragged depth, a strided gather) a pair a
    # call; the walked ones enter the loop at each of its steps too
    walked = [p for p in params if p["depth"] % 4 == 0 and
              (p["out_w"] == p["out_h"] == 1 or p["rows"] <= p["out_w"])]
    assert {p["depth"] // 4 % 8 for p in walked} == set(range(8))
    assert {p["rows"] % 2 for p in walked} == {0, 1}
    assert len(walked) < len(params) and any(p["stride_w"] > 1 for p in params)
    assert any(p["stride_w"] > 1 for p in walked)          # a gather within one line
    assert {p["channels"] % 3 for p in params} == {0, 1, 2}
    assert {p["rows"] % 2 for p in params} == {0, 1}


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_first_layer_convs_dsp_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """The asm requantization of full-range layers, and the C one of clamped layers."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(build_model(FIRST_CASES + KXK_CASES[:2], 82))
    report = verify_cortexm(path, count=3, seed=82, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "m.c").read_text()
    assert model_c.count("tg_dsp_conv_s8(") == len(FIRST_CASES) + 2
    assert model_c.count("_quant,") == len(FIRST_CASES) + 2


def test_gemm_two_row_paths_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "g.tflite"
    path.write_bytes(gemm_model(17))
    report = verify_cortexm(path, count=2, seed=17, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    sizes = [c[0] * c[2] for c in GEMM_FC] + \
        [c.batch * int(np.prod(c.out_hw())) * c.out_d for c in GEMM_PW]
    assert [o.compared for o in report.outputs] == [2 * n for n in sizes]
    assert (tmp_path / "w" / "g.c").read_text().count("tg_dsp_gemm_s8(") == len(sizes)
    # every offset folded into the rounding: the assembly without its post epilogue
    assert "#define TG_CFG_DSP_GEMM_POST 0" in (tmp_path / "w" / "tg_config.h").read_text()


def unfolded_offsets(monkeypatch) -> None:
    """Make gemm_call keep every output offset out of `half` (added after the shift, as
    where folding it in could overflow): the same outputs through the kernels' post paths."""
    from codegen.lowering import dsp_support
    table_of = dsp_support.gemm_quant_table

    def unfolded(weights, bias, input_zero_point, multiplier, shift, output_offset):
        biases, table, post = table_of(weights, bias, input_zero_point, multiplier, shift,
                                       output_offset)
        if post == 0 and output_offset != 0:
            t = table.astype(np.int64).reshape(-1, 3, 3)        # [triple][M', s, half][3]
            t[:, 2, :] -= np.int64(output_offset) << t[:, 1, :]
            table, post = t.reshape(-1).astype(np.int32), int(output_offset)
        return biases, table, post

    monkeypatch.setattr(dsp_support, "gemm_quant_table", unfolded)


def test_gemm_post_offsets_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """The kernel's long epilogue for every triple (an offset added after the shift)."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    unfolded_offsets(monkeypatch)
    path = tmp_path / "g.tflite"
    path.write_bytes(gemm_model(17))
    report = verify_cortexm(path, count=2, seed=18, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "g.c").read_text()
    assert model_c.count("tg_dsp_gemm_s8(") == len(GEMM_FC) + len(GEMM_PW)
    offsets = [int(v) for v in re.findall(r"\.output_offset = (-?\d+)", model_c)]
    assert len(offsets) == len(GEMM_FC) + len(GEMM_PW) and sum(v != 0 for v in offsets) >= 8
    assert "#define TG_CFG_DSP_GEMM_POST 1" in (tmp_path / "w" / "tg_config.h").read_text()


# ---------------------------------------------------------------- requantization
REQUANT_SWEEP = r"""
#include <stdio.h>
#include "tg_common.h"
#include "tg_dsp_requant.h"

static uint32_t state = 12345u;
static int32_t next(void) { state = state * 1664525u + 1013904223u; return (int32_t)state; }

int main(void)
{
    static const int32_t xs[] = {INT32_MIN, INT32_MIN + 1, -1073741825, -1073741824,
        -65536, -32768, -257, -256, -255, -129, -128, -127, -3, -2, -1, 0, 1, 2, 3, 127, 128,
        255, 256, 32767, 65536, 1073741823, 1073741824, INT32_MAX - 1, INT32_MAX};
    static const int32_t ms[] = {0, 1, 1073741824, 1073741825, 1518500250, 2147483646,
        INT32_MAX, INT32_MIN, -1073741824, -1};
    long checked = 0, bad = 0;
    int32_t shift;
    size_t i, j;
    int k;
    for (shift = -31; shift <= 30; ++shift) {
        for (i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
            for (j = 0; j < sizeof ms / sizeof ms[0]; ++j) {
                bad += tg_dsp_requantize(xs[i], ms[j], shift) != tg_requantize(xs[i], ms[j], shift);
                ++checked;
            }
            for (k = 0; k < 200; ++k) {
                const int32_t m = next();
                bad += tg_dsp_requantize(xs[i], m, shift) != tg_requantize(xs[i], m, shift);
                ++checked;
            }
        }
        for (k = 0; k < 20000; ++k) {
            const int32_t x = next() >> (k & 31), m = next();
            bad += tg_dsp_requantize(x, m, shift) != tg_requantize(x, m, shift);
            ++checked;
        }
    }
    printf("%ld %ld\n", checked, bad);
    return bad != 0;
}
"""


def test_fast_requantize_equals_tg_requantize_on_the_edges(tmp_path):
    """tg_dsp_requantize (one 64-bit multiply-add and shift) gives tg_requantize's value
    for every shift TFLite produces, the edge accumulators and multipliers, and random
    ones; built with UBSan so a wrap or shift outside the C rules fails too."""
    src = tmp_path / "sweep.c"
    src.write_text(REQUANT_SWEEP)
    exe = tmp_path / "sweep"
    subprocess.run([find_cc(), "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=undefined", "-fno-sanitize-recover=all",
                    f"-I{runtime_dir()}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    checked, bad = map(int, out.stdout.split())
    assert out.returncode == 0 and bad == 0 and checked > 1_000_000, out.stdout + out.stderr


HM_SWEEP = r"""
#include <stdio.h>
#include "tg_common.h"
#include "tg_dsp_requant.h"

static uint32_t state = 2024u;
static int32_t next(void) { state = state * 1664525u + 1013904223u; return (int32_t)state; }
static long checked, bad, skipped;

/* tg_dsp_requantize_hm against TFLite's requantization, offset and int8 saturation, with
 * the offset folded into `half` and added after the shift, in every case the generator
 * allows: |h| + 1 + |half| < 2^31 (tg_dsp_requant.h, step 4) */
static void one(int32_t acc, int32_t mult, int32_t s, int32_t off)
{
    const int64_t h = ((int64_t)acc * mult + ((int64_t)1 << 30)) >> 31;
    const int64_t habs = h < 0 ? -h : h;
    const int32_t want = tg_clamp(tg_requantize(acc, mult, -s) + off, -128, 127);
    const int32_t m2 = (int32_t)(uint32_t)(2u * (uint32_t)mult);
    int fold;
    for (fold = 0; fold < 2; ++fold) {
        const int64_t f = fold ? off : 0;
        const int64_t half = ((int64_t)1 << (s - 1)) + f * ((int64_t)1 << s);
        if (habs + 1 + (half < 0 ? -half : half) >= ((int64_t)1 << 31)) {
            ++skipped;
            continue;
        }
        bad += tg_dsp_requantize_hm((uint32_t)acc, m2, s, (uint32_t)(int32_t)half,
                                    fold ? 0 : off) != want;
        ++checked;
    }
}

int main(void)
{
    static const int32_t xs[] = {INT32_MIN, INT32_MIN + 1, -1073741825, -1073741824,
        -8388609, -65536, -32768, -257, -256, -255, -129, -128, -127, -3, -2, -1, 0, 1, 2, 3,
        127, 128, 255, 256, 32767, 65536, 8388607, 1073741823, 1073741824, INT32_MAX - 1,
        INT32_MAX};
    static const int32_t ms[] = {1073741824, 1073741825, 1518500250, 1518500249,
        2147483646, INT32_MAX};
    static const int32_t offs[] = {-128, -127, -1, 0, 1, 126, 127};
    int32_t s;
    size_t i, j, o;
    int k;
    for (s = 1; s <= 31; ++s) {
        for (i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
            for (o = 0; o < sizeof offs / sizeof offs[0]; ++o) {
                for (j = 0; j < sizeof ms / sizeof ms[0]; ++j) {
                    one(xs[i], ms[j], s, offs[o]);
                }
                for (k = 0; k < 20; ++k) {
                    one(xs[i], (int32_t)(0x40000000u | ((uint32_t)next() >> 2)), s, offs[o]);
                }
            }
        }
        for (k = 0; k < 20000; ++k) {
            /* accumulators near the rounding ties: multiples of 2^(s-1) around 0, +-1 */
            const int32_t m = (int32_t)(0x40000000u | ((uint32_t)next() >> 2));
            const int64_t tie = (int64_t)(next() % 64) * ((int64_t)1 << (s - 1)) + next() % 3;
            const int32_t x = (k & 1) ? next() >> (k & 31)
                                      : (int32_t)(tie > INT32_MAX ? tie - ((int64_t)1 << 32) : tie);
            one(x, m, s, next() % 256 - 128);
        }
    }
    printf("%ld %ld %ld\n", checked, bad, skipped);
    return bad != 0;
}
"""


def test_gemm_requantize_equals_tg_requantize_on_the_edges(tmp_path):
    """tg_dsp_requantize_hm (SMMLAR, three adds, a shift and SSAT; the dsp GEMM's output
    stage) gives TFLite's requantization plus offset, saturated to int8, wherever the
    generator selects it: every right shift 1..31, multipliers in [2^30, 2^31), the edge
    accumulators and offsets (folded into the rounding term or not), values near the
    rounding ties; built with UBSan."""
    src = tmp_path / "sweep.c"
    src.write_text(HM_SWEEP)
    exe = tmp_path / "sweep"
    subprocess.run([find_cc(), "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=undefined", "-fno-sanitize-recover=all",
                    f"-I{runtime_dir()}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    checked, bad, skipped = map(int, out.stdout.split())
    assert out.returncode == 0 and bad == 0 and checked > 500_000, out.stdout + out.stderr
    assert skipped < checked // 2      # most edges are in the allowed range


def test_gemm_constant_and_declined_channels(tmp_path):
    """Channels whose multiplier is 0 or whose scale is so small that the output is always
    the zero point run as zero-weight channels (still bit-exact); an output scale of 0.5
    or more (a left shift) is left to the next variant with the reason."""
    rng = np.random.default_rng(21)
    m = ModelWriter()
    for k, scales in enumerate([[0.02, 1e-12, 0.03, 1e-8], [0.01, 0.02]]):
        n = len(scales)
        x = m.tensor(f"x{k}", (3, 9), "int8", scale=0.05, zero_point=-3)
        w = m.const(f"w{k}", rng.integers(-127, 128, (n, 9)), "int8", scale=scales,
                    zero_point=[0] * n, axis=0)
        b = m.const(f"b{k}", rng.integers(-500, 500, (n,)), "int32",
                    scale=[0.05 * s_ for s_ in scales], zero_point=[0] * n)
        # the second layer: effective scale 0.05 * 0.02 / 0.0015 = 0.67 (a left shift)
        y = m.tensor(f"y{k}", (3, n), "int8", scale=0.5 if k == 0 else 0.0015, zero_point=5)
        m.op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": 0})
        m.inputs.append(x)
        m.outputs.append(y)
    res = assert_bit_exact(m.build(), tmp_path, count=3, seed=21, kernels=DSP)
    first, second = res.gen.program.layers
    assert first.call.kernel == "tg_dsp_gemm_s8"
    weights = next(c.values for c in first.call.consts if c.name.endswith("_weights"))
    words = weights.view(np.int8).reshape(2, 3, 3, 4)        # [triple][step][channel][4]
    zeroed = [bool(np.all(words[c // 3, :, c % 3] == 0)) for c in range(4)]
    # channel 1: multiplier 0 (scale below 2^-31); channel 3: shifted out for any input
    assert zeroed == [False, True, False, True]
    assert second.selection.variant == "portable"
    assert "0.5 or more" in second.selection.refusals[0].reason


CONV_REQUANT_SWEEP = r"""
#include <stdio.h>
#include "tg_dsp_conv.c"

static uint32_t state = 777u;
static int32_t next(void) { state = state * 1664525u + 1013904223u; return (int32_t)state; }

static long bad, checked;

static void one(int32_t x, int32_t m, int32_t shift)
{
    const tg_dsp_conv_rq_t q = tg_dsp_conv_rq(m, shift);
    bad += tg_dsp_conv_requantize((uint32_t)x, &q) != tg_requantize(x, m, shift);
    ++checked;
}

int main(void)
{
    static const int32_t ms[] = {0, 1, 2, 1073741823, 1073741824, 1073741825, 1518500250,
                                 2147483646, INT32_MAX};
    int32_t shift;
    size_t j;
    int k;
    for (shift = -31; shift <= 29; ++shift) {
        /* every |x| * 2^max(shift, 0) < 2^30, as the generator guarantees */
        const int32_t top = (int32_t)((1u << 30) >> (shift > 0 ? shift : 0)) - 1;
        const int32_t xs[] = {-top, -top + 1, -top / 2, -3, -2, -1, 0, 1, 2, 3, top / 2,
                              top - 1, top};
        size_t i;
        for (i = 0; i < sizeof xs / sizeof xs[0]; ++i) {
            if (xs[i] > top || xs[i] < -top) {
                continue;
            }
            if (xs[i] > top || xs[i] < -top) {
                continue;
            }
            for (j = 0; j < sizeof ms / sizeof ms[0]; ++j) {
                one(xs[i], ms[j], shift);
            }
            for (k = 0; k < 200; ++k) {
                one(xs[i], next() & INT32_MAX, shift);
            }
        }
        for (k = 0; k < 20000; ++k) {
            int32_t x = next() % (top + 1);
            one(x >> (k & 15), next() & INT32_MAX, shift);
        }
    }
    printf("%ld %ld\n", checked, bad);
    return bad != 0;
}
"""


def test_conv_requantize_equals_tg_requantize_in_its_range(tmp_path):
    """tg_dsp_conv_s8's requantization (SMMULR and a rounding add, C fallbacks here) gives
    tg_requantize's value for every accumulator and multiplier the generator lets through
    (requant_fits), edges included; under UBSan."""
    src = tmp_path / "sweep.c"
    src.write_text(CONV_REQUANT_SWEEP)
    exe = tmp_path / "sweep"
    subprocess.run([find_cc(), "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-fsanitize=undefined", "-fno-sanitize-recover=all",
                    f"-I{runtime_dir()}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    checked, bad = map(int, out.stdout.split())
    assert out.returncode == 0 and bad == 0 and checked > 1_000_000, out.stdout + out.stderr


def test_conv_requant_range_check():
    w = np.full((2, 3, 3, 4), 127, np.int8)
    zero = np.zeros(2, np.int64)
    m = np.full(2, 1 << 30, np.int32)
    ok = conv_requant_fits(w, zero, -128, m, np.array([-5, -8]))
    assert ok is None
    # 36 taps * 127 * 255 = 1,165,860 < 2^30, but not after a left shift of 10
    assert "2^30" in conv_requant_fits(w, zero, -128, m, np.array([-5, 10]))
    # zero point 0: |x| <= 128, 36 * 127 * 128 = 585,216
    assert "2^30" in conv_requant_fits(w, np.array([0, (1 << 30) - 585_216]), 0, m,
                                  np.array([-1, -1]))
    assert conv_requant_fits(w, np.array([0, (1 << 30) - 585_217]), 0, m,
                        np.array([-1, -1])) is None
    assert "negative" in conv_requant_fits(w, zero, 0, np.array([1, -1]), np.array([-1, -1]))
    assert "-31" in conv_requant_fits(w, zero, 0, m, np.array([-32, -1]))


@pytest.mark.skipif(not os.environ.get("CMSIS_NN_PATH"),
                    reason="CMSIS_NN_PATH not set: the order with CMSIS-NN needs a checkout")
def test_with_cmsis_nn_dsp_runs_its_layers_and_cmsis_nn_the_rest(tmp_path):
    path = tmp_path / "m.tflite"
    rng = np.random.default_rng(16)
    m = ModelWriter()
    add_fc(m, rng, "f", *FC_CASES[2])
    add_layer(m, rng, PW_CASES[1], "pw")
    add_layer(m, rng, OTHER_CONV[0], "k3")
    add_layer(m, rng, DW_CASES[0], "dw")
    add_layer(m, rng, ConvCase(op=DW, in_h=3, in_w=3, in_d=8, out_d=8, act="RELU6"), "tiny")
    add_layer(m, rng, ConvCase(op=DW, in_h=3, in_w=3, in_d=8, out_d=8), "tiny3")
    add_layer(m, rng, ConvCase(op=DW, in_h=3, in_w=3, in_d=8, out_d=8, k_h=5, k_w=5,
                               act="RELU6"), "tiny5")
    path.write_bytes(m.build())
    gen = generate(path, None, target="cortex-m4", cmsis_nn=os.environ["CMSIS_NN_PATH"])
    layers = gen.program.layers
    # the last two: tiny too, but on tg_dsp_depthwise_px_s8's 3x3 assembly, or a 5x5
    # filter (its C loops): faster
    assert [layer.selection.variant for layer in layers] == \
        ["dsp", "dsp", "cmsis-nn", "dsp", "cmsis-nn", "dsp", "dsp"]
    assert layers[5].call.kernel == layers[6].call.kernel == "tg_dsp_depthwise_px_s8"
    assert layers[0].selection.preference == ["dsp", "cmsis-nn", "portable"]
    # depthwise: dsp's kernel is the faster one now, but for tiny images; CMSIS-NN's on
    # request
    assert layers[3].selection.variant == "dsp"
    assert "at most 9 output pixels and 9 filter taps faster" in \
        layers[4].selection.refusals[0].reason
    gen = generate(path, None, target="cortex-m4", cmsis_nn=os.environ["CMSIS_NN_PATH"],
                   layer_kernels={3: ["cmsis-nn"]})
    assert gen.program.layers[3].selection.variant == "cmsis-nn"
    # on a core without the DSP extension nothing changes: CMSIS-NN first
    gen = generate(path, None, target="cortex-m3", cmsis_nn=os.environ["CMSIS_NN_PATH"])
    assert gen.program.layers[0].selection.preference == ["cmsis-nn", "portable"]


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck (apt-get install "
                    "cppcheck, or run setup.sh as root)")
@pytest.mark.parametrize("arm", [False, True], ids=["c-fallbacks", "acle"])
def test_dsp_kernels_cppcheck_clean(arm, tmp_path):
    """The dsp kernels pass cppcheck as tests/test_hostile_cclean.py runs it, both with the
    plain-C fallbacks and with the ACLE branch of tg_acle.h."""
    path = tmp_path / "m.tflite"
    path.write_bytes(mixed_model(18))
    out = tmp_path / "out"
    generate(path, out, target="host", kernels=DSP)
    defs = ["-D__ARM_FEATURE_DSP=1", "-D__ARM_FEATURE_SIMD32=1", "-D__GNUC__=12"] if arm else []
    r = subprocess.run([*CPPCHECK, *defs, f"-I{out}", str(out / "tg_dsp_gemm.c"),
                        str(out / "tg_dsp_depthwise.c"), str(out / "tg_dsp_conv.c")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


# every path of the 3x3 stride-1 walk in Thumb-2 assembly (tg_dsp_dw_3x3_thumb2): line
# lengths odd and even, 1 and 2 (no pair, a pair and no odd output), odd and even pair
# counts (the two-pair loop entered at its first or second pair), rows and columns, 4
# channels gathered together and one, depth multipliers 1 and 4, per-tensor and per-channel,
# SAME and VALID, strides across lines of 1 and 2, no bias, zero points -128 and 127,
# batches; the 3-tap loops' activation range is all of int8 (RELU with output zero point
# -128 or none: clamped layers take the general loop); and the 4-channel gathering in
# assembly (tg_dsp_dw_fill4_thumb2): input lines of 1, 2, 3 pixels and of 4-pixel passes
# followed by 0 to 3 more
DW_S1_ASM = [
    ConvCase(op=DW, in_h=5, in_w=7, in_d=8, out_d=8, padding=SAME, act="RELU", in_zp=-128,
             out_zp=-128),
    ConvCase(op=DW, in_h=6, in_w=8, in_d=3, out_d=3, padding=SAME, per_channel=False,
             in_zp=127),
    ConvCase(op=DW, in_h=9, in_w=4, in_d=5, out_d=5, padding=SAME, out_zp=127),
    ConvCase(op=DW, in_h=4, in_w=6, in_d=2, out_d=8, padding=VALID, bias=False),
    ConvCase(op=DW, in_h=3, in_w=3, in_d=4, out_d=4, padding=VALID, per_channel=False),
    ConvCase(op=DW, in_h=4, in_w=4, in_d=1, out_d=1, padding=VALID, in_zp=-128),
    ConvCase(op=DW, in_h=3, in_w=11, in_d=4, out_d=4, stride=(2, 1), padding=SAME,
             out_zp=-128),
    ConvCase(op=DW, batch=2, in_h=1, in_w=6, in_d=12, out_d=12, padding=SAME, in_zp=127,
             out_zp=127),
    ConvCase(op=DW, in_h=1, in_w=1, in_d=4, out_d=4, padding=SAME),
    ConvCase(op=DW, in_h=2, in_w=2, in_d=4, out_d=4, padding=SAME, in_zp=-128, out_zp=127),
    ConvCase(op=DW, in_h=3, in_w=9, in_d=4, out_d=4, padding=SAME, per_channel=False),
    ConvCase(op=DW, in_h=8, in_w=3, in_d=4, out_d=4, padding=VALID, in_zp=127),
]


def _dw_walk_on_cortex_m4(tmp_path, monkeypatch, ring: bool, cases, seed: int) -> list[dict]:
    """The depthwise cases on the emulated Cortex-M4 in whole-channel bands, or (ring) in
    rings of a few lines, every output compared with TFLM; each layer's params, after
    checking that tg_dsp_depthwise_s8 runs them all."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    if ring:
        monkeypatch.setattr(dsp_depthwise, "BAND_BYTES", 0)
        monkeypatch.setattr(dsp_depthwise, "RING_BYTES", 100)
    path = tmp_path / "d.tflite"
    path.write_bytes(build_model(cases, seed))
    report = verify_cortexm(path, count=3, seed=seed, target="cortex-m4",
                            work_dir=tmp_path / "w")
    assert report.ok, report.table()
    sizes = [c.batch * int(np.prod(c.out_hw())) * c.out_d for c in cases]
    assert [o.compared for o in report.outputs] == [3 * n for n in sizes]
    gen = generate(path, None, target="cortex-m4", kernels=DSP)
    assert kernels_of(gen) == ["tg_dsp_depthwise_s8"] * len(cases)
    return [layer.call.params for layer in gen.program.layers]


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
@pytest.mark.parametrize("ring", [False, True])
def test_depthwise_3x3_s1_asm_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch, ring):
    """The assembly walk on the Cortex-M4: whole-channel bands (runs of lines), and (ring)
    rings of the filter's 3 lines (one line per call) and of a few more (runs and wraps)."""
    params = _dw_walk_on_cortex_m4(tmp_path, monkeypatch, ring, DW_S1_ASM, 91)
    assert all(p["taps3"] == 1 and p["stride"] == 1 for p in params)
    assert {p["out_length"] % 2 for p in params} == {0, 1}
    assert {p["out_length"] for p in params} >= {1, 2}
    assert {p["out_length"] // 2 % 2 for p in params} == {0, 1}     # pair counts odd, even
    assert {p["group"] for p in params} == {1, 4}
    lengths = {p["length"] for p in params if p["group"] == 4}
    assert {1, 2, 3} <= lengths and {n % 4 for n in lengths if n >= 4} == {0, 1, 2, 3}
    assert {p["stride_lines"] for p in params} == {1, 2}
    whole = [(p["out_lines"] - 1) * p["stride_lines"] + p["filter_lines"] for p in params]
    kinds = {"whole" if p["band_lines"] == w else
             "ring" if p["band_lines"] == p["filter_lines"] else "run"
             for p, w in zip(params, whole)}
    assert kinds == ({"whole", "ring", "run"} if ring else {"whole"})


# the stride-2 assembly walk (tg_dsp_dw_3x3_thumb2): line lengths (outputs) 1 to 8, odd
# and even, odd and even pair counts; groups of 4 and single channels; depth multipliers 2,
# 3 and 8 (filters prepared once per input channel; above 8: the general loop); stride 1 across
# lines; walked along columns; batches; per-tensor scales; zero points -128 and 127
DW_S2_ASM = [
    ConvCase(op=DW, in_h=5, in_w=9, in_d=8, out_d=8, stride=(2, 2), act="RELU", in_zp=-128,
             out_zp=-128),
    ConvCase(op=DW, in_h=6, in_w=8, in_d=3, out_d=3, stride=(2, 2), per_channel=False,
             in_zp=127),
    ConvCase(op=DW, in_h=9, in_w=4, in_d=5, out_d=5, stride=(2, 2), out_zp=127),
    ConvCase(op=DW, in_h=4, in_w=7, in_d=2, out_d=16, stride=(2, 2), padding=VALID,
             bias=False),
    ConvCase(op=DW, in_h=3, in_w=3, in_d=4, out_d=4, stride=(2, 2), padding=VALID),
    ConvCase(op=DW, in_h=4, in_w=12, in_d=1, out_d=3, stride=(2, 2), in_zp=-128),
    ConvCase(op=DW, in_h=7, in_w=13, in_d=4, out_d=4, stride=(1, 2), out_zp=-128),
    ConvCase(op=DW, batch=2, in_h=1, in_w=14, in_d=12, out_d=12, stride=(2, 2), in_zp=127,
             out_zp=127),
    ConvCase(op=DW, in_h=5, in_w=3, in_d=4, out_d=8, stride=(2, 2), per_channel=False),
    ConvCase(op=DW, in_h=3, in_w=17, in_d=4, out_d=4, stride=(2, 2), padding=VALID),
    ConvCase(op=DW, in_h=2, in_w=4, in_d=4, out_d=4, stride=(2, 2), in_zp=-128),
    ConvCase(op=DW, in_h=9, in_w=9, in_d=1, out_d=8, stride=(2, 2), in_zp=-128),
]


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
@pytest.mark.parametrize("ring", [False, True])
def test_depthwise_3x3_s2_asm_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch, ring):
    """The stride-2 assembly walk on the Cortex-M4, as the stride-1 one: whole-channel
    bands, and (ring) rings of 3 lines (one line per call) and of a few more."""
    params = _dw_walk_on_cortex_m4(tmp_path, monkeypatch, ring, DW_S2_ASM, 93)
    assert all(p["taps3"] == 1 and p["stride"] == 2 for p in params)
    assert {p["out_length"] for p in params} >= {1, 2, 3, 4, 5, 6, 7, 8}
    assert {p["group"] for p in params} == {1, 4}
    assert {p["depth_multiplier"] for p in params} == {1, 2, 3, 8}
    assert {p["stride_lines"] for p in params} == {1, 2}
    assert any(p["in_step"] > p["depth"] for p in params)      # walked along columns
    whole = [(p["out_lines"] - 1) * p["stride_lines"] + p["filter_lines"] for p in params]
    kinds = {"whole" if p["band_lines"] == w else
             "ring" if p["band_lines"] == p["filter_lines"] else "run"
             for p, w in zip(params, whole)}
    assert {"ring", "run"} <= kinds if ring else kinds == {"whole"}


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_depthwise_3x3_both_strides_asm_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """Both strides in one project: tg_dsp_dw_3x3_thumb2 with both pair loops (each line
    enters its stride's; the stride-2 loop branches to the shared line end), every path of
    the two walks' cases."""
    params = _dw_walk_on_cortex_m4(tmp_path, monkeypatch, False, DW_S1_ASM + DW_S2_ASM, 94)
    assert {p["stride"] for p in params} == {1, 2}
    config = (tmp_path / "w" / "tg_config.h").read_text()
    assert "#define TG_CFG_DSP_DW_3X3_S1 1" in config and "#define TG_CFG_DSP_DW_3X3_S2 1" in config


# tg_dsp_dw_px3_thumb2 (3x3 filters, the whole int8 range): strides 1 and 2, SAME and VALID,
# images down to 1x1 and 1x2, batches, channels 4 to 16, per-tensor scales, zero points
# -128 and 127; RELU6 stays on the C loop
PX3_ASM = [
    ConvCase(op=DW, in_h=6, in_w=6, in_d=8, out_d=8, act="NONE", in_zp=-128),
    ConvCase(op=DW, in_h=6, in_w=5, in_d=12, out_d=12, stride=(2, 2), per_channel=False,
             in_zp=127),
    ConvCase(op=DW, in_h=7, in_w=5, in_d=4, out_d=4, stride=(2, 2), padding=VALID,
             bias=False, out_zp=127),
    ConvCase(op=DW, in_h=4, in_w=4, in_d=8, out_d=8, padding=VALID, act="RELU", out_zp=-128),
    ConvCase(op=DW, in_h=1, in_w=1, in_d=4, out_d=4),
    ConvCase(op=DW, batch=2, in_h=1, in_w=2, in_d=8, out_d=8, stride=(2, 2)),
    ConvCase(op=DW, in_h=3, in_w=3, in_d=16, out_d=16, out_zp=-128),
    ConvCase(op=DW, in_h=5, in_w=7, in_d=4, out_d=4, stride=(1, 2)),
    ConvCase(op=DW, in_h=5, in_w=5, in_d=4, out_d=4, act="RELU6"),
]


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_depthwise_px3_asm_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """tg_dsp_depthwise_px_s8's 3x3 assembly on the Cortex-M4: PX3_ASM, and 4 channels
    whose shifts are 0, 1, 0, 2 (no right shift: the mask of the rounding is 0)."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 36)
    for name, model, cases in (("a", build_model(PX3_ASM, 95), PX3_ASM),
                               ("b", large_scale_model(((3, [0.6, 1.5, 0.7, 3.0]),)), None)):
        path = tmp_path / f"{name}.tflite"
        path.write_bytes(model)
        report = verify_cortexm(path, count=3, seed=95, target="cortex-m4",
                                work_dir=tmp_path / name)
        assert report.ok, report.table()
        gen = generate(path, None, target="cortex-m4", kernels=DSP)
        assert set(kernels_of(gen)) == {"tg_dsp_depthwise_px_s8"}
        if cases:
            sizes = [c.batch * int(np.prod(c.out_hw())) * c.out_d for c in cases]
            assert [o.compared for o in report.outputs] == [3 * n for n in sizes]
        else:
            shifts = [int(v) for v in gen.program.layers[0].call.consts[-1].values]
            assert shifts == [0, 1, 0, 2]
