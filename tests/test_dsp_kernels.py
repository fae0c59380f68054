"""The dsp kernel variant (tinygen's DSP-extension kernels): FULLY_CONNECTED and pointwise
CONV_2D as one int8 GEMM (runtime_c/tg_dsp_gemm.c, tg_acle.h), other CONV_2D layers on an
int16 im2col (tg_dsp_conv.c), depthwise layers, bit-exact with TFLM.

On the host the variant runs the plain-C twins of the DSP instructions (asked for by name,
kernels=["dsp", "portable"]), also under ASan/UBSan; on the emulated Cortex-M4 it runs the
real SXTB16/SMLAD, as the default for the core.
"""
from __future__ import annotations

import os
import shutil
import subprocess

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.hostcc import find_cc
from codegen.lowering.conv.dsp_im2col import requant_fits
from codegen.lowering.dsp_support import gemm_weight_layout
from codegen.resources import runtime_dir
from codegen.toolchain import cortexm
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
# depthwise, multiplier 1: 3x3 at strides 1 and 2, SAME and VALID, other sizes, channel
# counts 1, 3, 5, 17 (4-channel groups and their tails), images of width or height 1
DW_CASES = [
    ConvCase(op=DW, in_h=5, in_w=5, in_d=8, out_d=8, k_h=3, k_w=3, padding=SAME, act="RELU",
             per_channel=True, in_zp=-128, out_zp=127),
    ConvCase(op=DW, in_h=7, in_w=6, in_d=17, out_d=17, k_h=3, k_w=3, stride=(2, 2),
             padding=SAME, act="RELU6", per_channel=False),
    ConvCase(op=DW, in_h=6, in_w=7, in_d=5, out_d=5, k_h=3, k_w=3, stride=(2, 2),
             padding=VALID, act="NONE", bias=False, in_zp=127, out_zp=-128),
    ConvCase(op=DW, batch=2, in_h=1, in_w=6, in_d=3, out_d=3, k_h=3, k_w=3, padding=SAME,
             act="RELU_N1_TO_1"),
    ConvCase(op=DW, in_h=4, in_w=1, in_d=1, out_d=1, k_h=3, k_w=3, padding=SAME),
    ConvCase(op=DW, in_h=9, in_w=8, in_d=12, out_d=12, k_h=5, k_w=3, stride=(1, 2),
             padding=SAME, act="RELU", per_channel=True, in_zp=127, out_zp=127),
    ConvCase(op=DW, in_h=4, in_w=5, in_d=4, out_d=4, k_h=1, k_w=1, stride=(2, 3),
             padding=VALID, in_zp=-128, out_zp=-128),
    # one input channel, multiplier 8 and 3 (a first layer, as in person_detect)
    ConvCase(op=DW, in_h=9, in_w=9, in_d=1, out_d=8, k_h=3, k_w=3, stride=(2, 2),
             padding=SAME, act="RELU6", per_channel=True, in_zp=-128),
    ConvCase(op=DW, in_h=5, in_w=4, in_d=1, out_d=3, k_h=3, k_w=3, padding=SAME, in_zp=127),
]
OTHER_DW = [ConvCase(op=DW, in_h=5, in_w=5, in_d=3, out_d=6, k_h=3, k_w=3),     # multiplier 2
            ConvCase(op=DW, in_h=6, in_w=6, in_d=4, out_d=4, k_h=3, k_w=3, dilation=(2, 2))]

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


def test_depthwise_dsp_bit_exact_and_others_declined(tmp_path):
    cases = DW_CASES + OTHER_DW
    res = assert_bit_exact(build_model(cases, 17), tmp_path, count=3, seed=17, kernels=DSP)
    layers = res.gen.program.layers
    assert kernels_of(res.gen) == ["tg_dsp_depthwise_s8"] * len(DW_CASES) + \
        ["tg_depthwise_conv_s8"] * 2
    assert "depth multiplier 1, or one input channel" in layers[-2].selection.reason()
    assert "undilated" in layers[-1].selection.reason()


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
    ok = requant_fits(w, zero, -128, m, np.array([-5, -8]))
    assert ok is None
    # 36 taps * 127 * 255 = 1,165,860 < 2^30, but not after a left shift of 10
    assert "2^30" in requant_fits(w, zero, -128, m, np.array([-5, 10]))
    # zero point 0: |x| <= 128, 36 * 127 * 128 = 585,216
    assert "2^30" in requant_fits(w, np.array([0, (1 << 30) - 585_216]), 0, m,
                                  np.array([-1, -1]))
    assert requant_fits(w, np.array([0, (1 << 30) - 585_217]), 0, m,
                        np.array([-1, -1])) is None
    assert "negative" in requant_fits(w, zero, 0, np.array([1, -1]), np.array([-1, -1]))
    assert "-31" in requant_fits(w, zero, 0, m, np.array([-32, -1]))


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
    path.write_bytes(m.build())
    gen = generate(path, None, target="cortex-m4", cmsis_nn=os.environ["CMSIS_NN_PATH"])
    layers = gen.program.layers
    assert [layer.selection.variant for layer in layers] == \
        ["dsp", "dsp", "cmsis-nn", "cmsis-nn"]
    assert layers[0].selection.preference == ["dsp", "cmsis-nn", "portable"]
    # depthwise: CMSIS-NN's kernels are the faster ones, so dsp leaves the layer to them
    assert "runs depthwise layers faster" in layers[3].selection.refusals[0].reason
    # ... unless asked for
    gen = generate(path, None, target="cortex-m4", cmsis_nn=os.environ["CMSIS_NN_PATH"],
                   layer_kernels={3: ["dsp"]})
    assert gen.program.layers[3].selection.variant == "dsp"
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
