"""First-layer shapes of the dsp k x k convolution (runtime_c/tg_dsp_conv.c): windows inside
the image through tg_dsp_conv_im2col_inside (rows of 4 values, of 9 values with a tail word
flushed after 4 rows or padded, and the general rows), windows larger than the image (no
window is inside: the general im2col), and on the Cortex-M4 the channel pairs of full-range
layers in the Thumb-2 assembly (tg_dsp_conv_2x2_thumb2: odd and even block counts, channel
triples then pairs, 0, 1 or many of each, a last odd channel left to the C), bit-exact with
TFLM on the host (C twins, ASan/UBSan) and QEMU.
"""
from __future__ import annotations

import subprocess

import numpy as np
import pytest

from codegen import kernel_config
from codegen.ir import CExpr
from codegen.lowering.conv.dsp_im2col import channel_triples, im2col_weight_layout
from codegen.resources import runtime_dir
from codegen.toolchain import cortexm
from codegen.generate import generate
from codegen.verify import verify_cortexm
from tests.conv_models import SAME, VALID, ConvCase, build_model
from tests.harness import assert_bit_exact

DSP = ["dsp", "portable"]

SMALL_CASES = [
    # 2 rows under a 3-row window (as the fused residual blocks' row calls): none inside
    ConvCase(in_h=2, in_w=7, in_d=3, out_d=5, k_h=3, k_w=3, padding=SAME, act="RELU",
             out_zp=-128),
    # 2 columns under a 5-column window on 4 channels: taps left and right of the image in
    # one row, whole blocks a tap widened straight from the input
    ConvCase(in_h=4, in_w=2, in_d=4, out_d=5, k_h=3, k_w=5, padding=SAME, act="NONE"),
    # 2 columns under a 4-column window, rows of 4 values
    ConvCase(in_h=9, in_w=2, in_d=1, out_d=6, k_h=4, k_w=4, padding=SAME, act="NONE"),
    # 9-value rows, 5 rows: a tail word flushed and a padded one; 9 channels
    ConvCase(in_h=11, in_w=9, in_d=3, out_d=9, k_h=5, k_w=3, stride=(2, 2), padding=SAME,
             act="RELU", out_zp=-128),
    # 9-value rows, 4 rows: the tail word flushed exactly; 8 blocks (even)
    ConvCase(in_h=8, in_w=8, in_d=3, out_d=4, k_h=4, k_w=3, padding=VALID, act="NONE",
             in_zp=-128),
    # rows of 4 values from 2 channels, clamped (RELU6: the C requantization)
    ConvCase(in_h=12, in_w=5, in_d=2, out_d=3, k_h=3, k_w=2, stride=(1, 2), padding=SAME,
             act="RELU6"),
    # kws's first layer, smaller: 10x4 on one channel, stride 2, 64 channels
    ConvCase(in_h=15, in_w=10, in_d=1, out_d=64, k_h=10, k_w=4, stride=(2, 2), padding=SAME,
             act="RELU", out_zp=-128),
    # the assembly's loop: 18 blocks (a first pass skipping 14, then a whole one), 16 blocks
    # (one whole pass, none skipped)
    ConvCase(in_h=5, in_w=6, in_d=8, out_d=6, k_h=3, k_w=3, padding=SAME, act="RELU",
             out_zp=-128),
    ConvCase(in_h=5, in_w=4, in_d=16, out_d=4, k_h=2, k_w=2, padding=VALID, act="NONE"),
    # 8 blocks: one whole 8-block pass (tg_config.h's short passes), a triple and a pair
    ConvCase(in_h=4, in_w=4, in_d=8, out_d=5, k_h=2, k_w=2, padding=VALID, act="NONE"),
    # rows of whole blocks 4 at a time (tg_dsp_conv_im2col_inside) with 1 and 3 more: 9 and
    # 7 blocks a row; 11 channels (3 triples and a pair), 17 (5 triples, a pair)
    ConvCase(in_h=4, in_w=5, in_d=12, out_d=11, k_h=3, k_w=3, padding=SAME, act="NONE",
             per_channel=False),
    ConvCase(in_h=3, in_w=9, in_d=4, out_d=17, k_h=2, k_w=7, padding=VALID, act="RELU",
             out_zp=-128),
]


def _full_range(calls) -> int:
    return sum(1 for c in calls if c.params["act_min"] == -128 and c.params["act_max"] == 127
               and c.params["post"] == 0 and c.params["quant"] != CExpr("NULL"))


def test_first_layer_shapes_bit_exact_on_host(tmp_path):
    res = assert_bit_exact(build_model(SMALL_CASES, 91), tmp_path, count=2, seed=91,
                           kernels=DSP, sanitize=True)
    calls = [layer.call for layer in res.gen.program.layers]
    assert [c.kernel for c in calls] == ["tg_dsp_conv_s8"] * len(SMALL_CASES)
    # the assembly's cases on the Cortex-M4: full-range layers, odd and even channel counts
    assert _full_range(calls) >= 6
    assert {c.params["output_depth"] % 2 for c in calls} == {0, 1}
    assert {(c.params["depth4"] // 4) % 2 for c in calls} == {0, 1}
    assert {16, 18} <= {c.params["depth4"] // 4 for c in calls}
    # the assembly's channel groups: no triple, one, several; no pair, one, two
    groups = {(c.params["triples"], (c.params["output_depth"] - 3 * c.params["triples"]) // 2)
              for c in calls if _full_range([c])}
    assert {t for t, _ in groups} >= {0, 1, 2, 3, 20} and {p for _, p in groups} == {0, 1, 2}
    assert all(c.params["triples"] == 0 for c in calls if not _full_range([c]))


def test_channel_triples_leave_whole_pairs():
    assert [channel_triples(c) for c in (1, 2, 3, 4, 5, 6, 7, 8, 9, 16, 17, 32, 64)] == \
        [0, 0, 1, 0, 1, 2, 1, 2, 3, 4, 5, 10, 20]


@pytest.mark.parametrize("channels,triples", [(7, 1), (6, 2), (5, 0), (9, 3), (1, 0)])
def test_weight_layout_triples_then_pairs(channels, triples):
    """Channel c's 4-weight word k where tg_dsp_conv_s8 reads it: triple words in turn, then
    pair words alternating (a zero row pads an odd pair count)."""
    d4 = 12
    order = np.arange(d4)
    w = (np.arange(channels * d4).reshape(channels, d4) % 251 - 125).astype(np.int8)
    got = im2col_weight_layout(w, order, triples)
    head, quads = 3 * triples, d4 // 4
    assert got.size == (channels + (channels - head) % 2) * d4
    for c in range(channels):
        for k in range(quads):
            if c < head:
                pos = (c // 3 * quads + k) * 12 + c % 3 * 4
            else:
                pos = head * d4 + ((c - head) // 2 * quads + k) * 8 + (c - head) % 2 * 4
            assert got[pos:pos + 4].tolist() == w[c, 4 * k:4 * k + 4].tolist(), (c, k)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
@pytest.mark.parametrize("passes", ["long", "short", "five", "whole"])
def test_first_layer_shapes_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch, passes):
    """Every case in one model (a column of 18 blocks: the assembly's 16-block passes), the
    cases of at most 16 blocks alone (8-block passes): columns of fewer, exactly 8, 9..15
    and 16 blocks; those of 4, 9 or 10 blocks (5-block passes, tg_config.h
    TG_CFG_DSP_CONV_PASS 5: one pass skipping 1, two passes skipping 1 or none); those of 8
    and 16 (8-block passes, none skipped: TG_CFG_DSP_CONV_WHOLE 1, no computed entry)."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    keep = {"long": lambda b: True, "short": lambda b: b <= 16,
            "five": lambda b: b in (3, 4, 9, 10), "whole": lambda b: b in (8, 16)}[passes]
    cases = [c for c in SMALL_CASES if keep(-(-c.k_h * c.k_w * c.in_d // 4))]
    path = tmp_path / "m.tflite"
    path.write_bytes(build_model(cases, 92))
    report = verify_cortexm(path, count=2, seed=92, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    assert (tmp_path / "w" / "m.c").read_text().count("tg_dsp_conv_s8(") == len(cases)
    config = (tmp_path / "w" / "tg_config.h").read_text()
    length = {"long": 16, "short": 8, "five": 5, "whole": 8}[passes]
    assert f"#define TG_CFG_DSP_CONV_PASS {length}" in config
    assert f"#define TG_CFG_DSP_CONV_WHOLE {int(passes == 'whole')}" in config
    program = generate(path, None, target="cortex-m4", measure=False).program
    blocks = {layer.call.params["depth4"] >> 2 for layer in program.layers
              if layer.call.kernel == "tg_dsp_conv_s8" and
              kernel_config.conv_asm_pairs(layer.call.params)}
    if passes == "short":
        assert {8, 16} <= blocks and any(b < 8 for b in blocks) and \
            any(8 < b < 16 for b in blocks), blocks
    elif passes == "five":
        assert blocks == {4, 9, 10}, blocks
    elif passes == "whole":
        assert blocks == {8, 16}, blocks
    else:
        assert max(blocks) > 16


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=False)),
                    reason="needs the Arm toolchain (setup.sh installs it)")
@pytest.mark.parametrize("no_asm", [False, True])
def test_conv_assembly_only_where_asked(tmp_path, no_asm):
    """The Cortex-M4 build defines tg_dsp_conv_2x2_thumb2; -DTG_DSP_CONV_NO_ASM builds the C
    passes instead, warning-free either way."""
    obj = tmp_path / "c.o"
    rt = runtime_dir()
    subprocess.run([cortexm.PREFIX + "gcc", "-mcpu=cortex-m4", "-mthumb", "-O2", "-std=c99",
                    "-Wall", "-Wextra", "-Wpedantic", "-Werror", f"-I{rt}",
                    *(["-DTG_DSP_CONV_NO_ASM"] if no_asm else []), "-c",
                    str(rt / "tg_dsp_conv.c"), "-o", str(obj)], check=True)
    syms = subprocess.run([cortexm.PREFIX + "nm", str(obj)], capture_output=True, text=True,
                          check=True).stdout
    assert ("tg_dsp_conv_2x2_thumb2" in syms) == (not no_asm)
