"""k x k CONV_2D with a compressed filter on the DSP extension (tg_dsp_cw_conv_s8,
lowering/conv/dsp_cw.py): the block choice (pure), single-layer models bit-exact against TFLM
on the host under ASan/UBSan and on the emulated Cortex-M4 (every path: int4 and 1-, 2- and
4-bit palettes, per channel, per tensor and shared tables; rows of a multiple of 4 values
decoded in place and others through the column order; blocks of triples and of pairs, odd
last blocks; strides, dilation, padding, first layers), and what --compress auto keeps."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from codegen import kernel_config
from codegen.encoding import KINDS, encode_int4, encode_palette
from codegen.generate import generate
from codegen.frontend.tflite_reader import read_tflite
from codegen.lowering.conv.dsp_cw import (BLOCK_TARGET, CWC_MAX_BLOCK_BYTES, ConvShape,
                                          block_count, conv_shape, cw_conv_block,
                                          cw_conv_ratio)
from codegen.ops.conv import analyse_conv
from codegen.lowering.conv.dsp_im2col import channel_triples
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.conv_models import VALID, ConvCase
from codegen.frontend.tflite_writer import ModelWriter
from tests.harness import assert_bit_exact
from tests.test_compress import model, verify_named_on_m4
from tests.test_resblock import Block, add_block

DSP = ["dsp", "portable"]

CASES = [   # (case, kind of filter)
    # rows of 4n values (in place), no triples (RELU: the C pairs), 7 channels: 6 + 1
    (ConvCase(in_h=6, in_w=5, in_d=12, out_d=7, k_h=3, k_w=3, act="RELU"), "int4"),
    # full range: triples; 16 channels in blocks of 9 + 7 (1 triple and 2 pairs)
    (ConvCase(in_h=8, in_w=8, in_d=16, out_d=16), "int4"),
    # rows of 13 values (the column order), stride 2, 4-bit palettes per channel
    (ConvCase(in_h=7, in_w=6, in_d=13, out_d=8, stride=(2, 2)), "pal16"),
    # per-tensor requantization, VALID, stride (2, 1), extreme zero points, 1-bit palettes
    (ConvCase(in_h=5, in_w=5, in_d=9, out_d=6, k_h=3, k_w=2, stride=(2, 1), padding=VALID,
              per_channel=False, in_zp=-128, out_zp=127), "pal2"),
    # dilated along the height, then along the width (the gathered rows)
    (ConvCase(in_h=5, in_w=4, in_d=16, out_d=4, dilation=(2, 1)), "pal16"),
    (ConvCase(in_h=6, in_w=6, in_d=8, out_d=11, dilation=(1, 2)), "int4"),
    # shared tables, some negated
    (ConvCase(in_h=5, in_w=4, in_d=8, out_d=6, act="RELU"), "clu16"),
    # 5x5 on 4 channels, 2 output channels (one block of a pair), 2-bit palettes
    (ConvCase(in_h=7, in_w=7, in_d=4, out_d=2, k_h=5, k_w=5), "pal4"),
    # a first layer: 1 input channel (rows of 3 values), 20 channels
    (ConvCase(in_h=6, in_w=6, in_d=1, out_d=20), "int4"),
    # 4 values per tensor (a per-tensor 2-bit palette), 3 input channels (3x9 windows)
    (ConvCase(in_h=6, in_w=7, in_d=3, out_d=10, stride=(2, 2)), "tpal4"),
]


def _cw_calls(gen) -> list[dict]:
    return [layer.call.params for layer in gen.program.layers
            if layer.call.kernel == "tg_dsp_cw_conv_s8"]


# --- the block (pure) ------------------------------------------------------------------------

def test_blocks_read_one_channel_past_an_odd_count_of_pairs():
    # 16 channels in blocks of 9: 9 = 3 triples; 7 = 1 triple + 2 pairs (no padding)
    assert block_count(16, 9, 4) == 16
    # without triples: 9 = 4 pairs + 1, whose pair reads channel 9 (the next block's);
    # 7 = 3 pairs + 1 reads channel 16, past the layer's
    assert block_count(16, 9, 0) == 17
    assert block_count(6, 6, 0) == 6
    assert block_count(7, 6, 0) == 8


@pytest.mark.parametrize("channels,depth4,pixels,edge", [(16, 144, 1024, 92), (32, 288, 256, 46),
                                                         (64, 576, 64, 20), (8, 36, 400, 40),
                                                         (3, 28, 100, 30), (200, 288, 16, 8)])
def test_block_is_the_fewest_channels_within_the_target(channels, depth4, pixels, edge):
    enc = encode_int4(np.zeros((channels, depth4), np.int8))
    shape = ConvShape(pairs=pixels // 2, edge_pairs=edge, rows=3, depth4=depth4,
                      window=depth4, channels=channels)
    block, ratio = cw_conv_block(enc, shape)
    assert block % 3 == 0
    triples = -(-channels // 3)
    if triples <= 1:
        assert block == 3
        return
    # never more than half the filter, nor CWC_MAX_BLOCK_BYTES (but one triple)
    assert block // 3 <= max(1, min(-(-triples // 2), CWC_MAX_BLOCK_BYTES // (3 * depth4)))
    assert ratio == cw_conv_ratio(enc, shape, block)
    if block > 3:      # a smaller block would be over the target
        assert cw_conv_ratio(enc, shape, block - 3) > BLOCK_TARGET["int4"]
    # more blocks build more columns: the ratio falls as the block grows
    assert cw_conv_ratio(enc, shape, 3) >= ratio


def test_estimate_costs_more_for_palettes_edges_and_coded_tables():
    v = np.zeros((32, 288), np.int8)
    shape = ConvShape(pairs=128, edge_pairs=30, rows=3, depth4=288, window=288, channels=32)
    int4 = encode_int4(v)
    pal = encode_palette(v, 4, True)
    coded = encode_palette(v, 4, True, coded=True)
    assert cw_conv_ratio(pal, shape, 12) > cw_conv_ratio(int4, shape, 12)
    assert cw_conv_ratio(coded, shape, 12) > cw_conv_ratio(pal, shape, 12)
    # staged (edge) columns are built again by every block
    edgy = ConvShape(pairs=128, edge_pairs=128, rows=3, depth4=288, window=288, channels=32)
    assert cw_conv_ratio(int4, edgy, 12) > cw_conv_ratio(int4, shape, 12)


@pytest.mark.parametrize("case,edge_pairs", [
    # 8x8 SAME 3x3: rows 0 and 7 (4 pairs each) and the pairs holding column 0 or 7
    (ConvCase(in_h=8, in_w=8, in_d=4, out_d=4), 20),
    # VALID: every window inside; 6x6 outputs in pairs on one row
    (ConvCase(in_h=8, in_w=8, in_d=4, out_d=4, padding=VALID), 0),
    # 5x5 outputs, every window inside: 13 pairs, of which those at pixels 4 and 14 end
    # their row (staged: the next pixel is on the next row) and the last (pixel 24 alone)
    (ConvCase(in_h=7, in_w=7, in_d=4, out_d=4, padding=VALID), 3),
])
def test_conv_shape_counts_the_staged_pairs(case, edge_pairs):
    """conv_shape follows tg_dsp_conv_rows_s8's choice for each pair of pixels."""
    g = read_tflite(model("shape", [], [(case, "int4")]))
    shape = conv_shape(analyse_conv(g.ops[0], g))
    assert shape.pairs == -(-case.out_hw()[0] * case.out_hw()[1] // 2)
    assert shape.edge_pairs == edge_pairs


# --- generated models ------------------------------------------------------------------------

def test_bit_exact_on_the_host_sanitized(tmp_path):
    res = assert_bit_exact(model("cwconv", [], CASES), tmp_path, count=2, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(CASES))},
                           sanitize=True)
    kernels = [layer.call.kernel for layer in res.gen.program.layers]
    assert kernels.count("tg_dsp_cw_conv_s8") == len(CASES), kernels
    calls = _cw_calls(res.gen)
    blocks = {(p["block"], p["conv"]["output_depth"], p["conv"]["triples"] > 0) for p in calls}
    # blocks of triples and of pairs, several blocks and one
    assert (9, 16, True) in blocks and (6, 7, False) in blocks, blocks
    assert any(p["conv"]["output_depth"] > p["block"] for p in calls)
    assert any(p["conv"]["output_depth"] <= p["block"] for p in calls)
    labels = {json.dumps(layer.selection.filter.label()) for layer in res.gen.program.layers}
    assert {'"int4"', '"palette4/ch ef"', '"palette1/ch"', '"palette2/ch"', '"palette2"'} <= \
        labels, labels
    assert any("table" in label for label in labels), labels
    # rows of 4n values (decoded in place) and others (through the column order)
    rows = {p["conv"]["filter_width"] * p["conv"]["input_depth"] % 4 == 0 for p in calls}
    assert rows == {True, False}


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    model_c = verify_named_on_m4(tmp_path, monkeypatch, "cwconv", [], CASES, 4)
    assert model_c.count("tg_dsp_cw_conv_s8(") == len(CASES)
    # the assembly's triples and pairs, and the C pairs
    config = kernel_config.parse((tmp_path / "w" / "tg_config.h").read_text())
    assert config["TG_CFG_DSP_CONV_SLICE"] and config["TG_CFG_DSP_CONV_ASM_PAIRS"]
    assert config["TG_CFG_DSP_CONV_CHANNELS"]


def test_auto_compresses_within_the_goal_and_says_why_not(tmp_path):
    """--compress auto: a 3x3 layer over enough pixels runs compressed; one whose estimate is
    above the goal (few pixels and channels: every block widens the columns again, and the
    decoding is a larger share) keeps its int8 filter, with the reason."""
    cases = [(ConvCase(in_h=10, in_w=10, in_d=32, out_d=24), "int4"),
             (ConvCase(in_h=3, in_w=3, in_d=16, out_d=12), "pal16"),
             (ConvCase(in_h=8, in_w=8, in_d=16, out_d=16, k_h=1, k_w=1, stride=(2, 2)),
              "int4")]
    gen = generate(_write(tmp_path, model("auto", [], cases)), tmp_path / "out",
                   target="cortex-m4", compress=KINDS)
    first, second, strided = gen.program.layers
    # a strided 1x1 layer: the int8 GEMM gathers its pixels, faster
    assert strided.call.kernel == "tg_dsp_gemm_s8"
    assert "strided 1x1" in strided.selection.filter.reason
    assert first.call.kernel == "tg_dsp_cw_conv_s8"
    assert first.selection.filter.encoding == "int4"
    assert second.call.kernel == "tg_dsp_conv_s8"
    assert second.selection.filter.encoding == "raw"
    reason = second.selection.filter.reason
    assert re.search(r"about \d\.\d\dx the int8 convolution's cycles", reason), reason
    # the layer table and tinygen.json say how the filter is stored
    man = json.loads((tmp_path / "out" / "tinygen.json").read_text())
    assert man["layers"][0]["filter"]["bytes_stored"] == 24 * 9 * 32 // 2
    # with the cycles the kernel takes against the int8 filter's, as estimated
    est = man["layers"][0]["filter"]["cycles_vs_int8_estimate"]
    assert 1.0 < est <= 1.15
    assert "cycles_vs_int8_estimate" not in man["layers"][1]["filter"]     # (int8)
    readme = (tmp_path / "out" / "README.md").read_text()
    assert "| cycles vs int8 (est.) |" in readme and f"| {est:.2f}x |" in readme
    # the scratch: tg_dsp_conv_s8's, the block's weights (+ a zero row), one channel
    p = first.call.params
    assert first.call.scratch == [p["weights_at"] + (p["block"] + 1) * p["conv"]["depth4"] +
                                  4 * -(-9 * 32 // 4)]


def test_int8_projects_compile_the_slices_out(tmp_path):
    gen = generate(_write(tmp_path, model("plain", [], CASES[:2])), tmp_path / "out",
                   target="cortex-m4")
    assert {layer.call.kernel for layer in gen.program.layers} == {"tg_dsp_conv_s8"}
    config = kernel_config.parse((tmp_path / "out" / "tg_config.h").read_text())
    assert config["TG_CFG_DSP_CONV_SLICE"] is False
    assert not (tmp_path / "out" / "tg_dsp_cw_conv.c").exists()


def test_block_triples_mirror_the_lowering():
    """kernel_config reads the blocks' triples as tg_dsp_cw_conv.c makes them."""
    for n in range(0, 40):
        assert kernel_config._block_triples(n, 1) == channel_triples(n)
        assert kernel_config._block_triples(n, 0) == 0


def _write(tmp_path, data: bytes):
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    return path


def _int4_blocks(blocks: list) -> bytes:
    """Residual blocks (tests/test_resblock.py) with every filter in [-8, 7]."""
    rng = np.random.default_rng(21)
    m = ModelWriter()
    for k, b in enumerate(blocks):
        add_block(m, rng, f"r{k}", b)
    for op in m.ops:
        if op.opcode == "CONV_2D":
            t = m.tensors[op.inputs[1]]
            m.buffers[t.buffer] = rng.integers(-8, 8, t.shape).astype(np.int8).tobytes()
    return m.build()


def test_residual_blocks_stay_fused_where_that_saves_more_ram_than_flash(tmp_path):
    """--compress auto on two residual blocks of int4 filters: the first (resnet8's: 16
    channels over 32x32 pixels) would save 2 KB of flash but, unfused, take 16 KB arrays
    more: it runs fused with int8 filters, and says why; the second (64 channels over 8x8 pixels) saves
    36 KB of flash: compressed, unfused.  Bit-exact both ways on the host."""
    data = _int4_blocks([Block(32, 32, 16, 16), Block(8, 8, 64, 64)])
    res = assert_bit_exact(data, tmp_path, count=1, kernels=DSP, compress=KINDS)
    layers = res.gen.program.layers
    kernels = [layer.call.kernel for layer in layers]
    fused = [layer for layer in layers if layer.call.kernel.startswith("tg_dsp_resblock")]
    assert len(fused) == 1 and fused[0].call.params["height"] == 32, kernels
    assert kernels.count("tg_dsp_cw_conv_s8") == 2, kernels
    why = [r.reason for r in fused[0].selection.refusals if r.variant == "compress"]
    assert len(why) == 1 and re.search(r"in \d+ bytes less RAM than compressed filters "
                                       r"\(saving \d+ bytes of flash net of the "
                                       r"kernels' code\)", why[0]), why
    # named for a layer of the first block, the filters are compressed and it runs unfused
    named = generate(_write(tmp_path, data), tmp_path / "named", target="cortex-m4",
                     compress=KINDS, layer_compress={fused[0].selection.layer: ("int4",)})
    assert not any(layer.call.kernel.startswith("tg_dsp_resblock")
                   for layer in named.program.layers)
    assert named.program.plan.arena_bytes > res.gen.program.plan.arena_bytes


# --- DEPTHWISE_CONV_2D (tg_dsp_cw_depthwise_s8) ------------------------------------------------

DW = "DEPTHWISE_CONV_2D"
DW_CASES = [
    # kws's: lines along the columns (transposed), 4 channels a group, in place
    (ConvCase(op=DW, in_h=25, in_w=5, in_d=64, out_d=64, act="RELU"), "int4"),
    # a multiplier of 2, 5x5, 1-bit palettes per channel
    (ConvCase(op=DW, in_h=10, in_w=9, in_d=8, out_d=16, k_h=5, k_w=5), "pal2"),
    # 12 channels (groups of 4 in blocks of 8 + 4), a 3x2 filter, a 4-value tensor table
    (ConvCase(op=DW, in_h=16, in_w=7, in_d=12, out_d=12, k_h=3, k_w=2), "tpal4"),
    # a multiplier of 3 (channels one at a time), stride (1, 2)
    (ConvCase(op=DW, in_h=8, in_w=8, in_d=5, out_d=15, stride=(1, 2)), "int4"),
    # shared tables with negated channels, 4-bit indices, stride 2
    (ConvCase(op=DW, in_h=14, in_w=14, in_d=16, out_d=16, stride=(2, 2)), "clu4"),
]


def test_depthwise_bit_exact_on_the_host_sanitized(tmp_path):
    res = assert_bit_exact(model("cwdw", [], DW_CASES), tmp_path, count=2, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(DW_CASES))},
                           sanitize=True)
    layers = res.gen.program.layers
    assert [layer.call.kernel for layer in layers] == ["tg_dsp_cw_depthwise_s8"] * len(DW_CASES)
    calls = [layer.call for layer in layers]
    assert {c.params["transposed"] for c in calls} == {0, 1}
    assert {c.params["dw"]["group"] for c in calls} == {1, 4}
    assert any(c.params["block"] < c.params["dw"]["depth"] for c in calls)
    assert calls[0].overlaps and not calls[1].overlaps      # multiplier 2: no overlap
    labels = {layer.selection.filter.label() for layer in layers}
    assert {"int4", "palette1/ch", "palette2"} <= labels, labels
    assert any("table" in label for label in labels), labels


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_depthwise_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    model_c = verify_named_on_m4(tmp_path, monkeypatch, "cwdw", [], DW_CASES, 4)
    assert model_c.count("tg_dsp_cw_depthwise_s8(") == len(DW_CASES)


def test_depthwise_auto_within_the_goal(tmp_path, code_free):
    """--compress auto: kws's depthwise layer runs compressed (its taps decoded once, against
    125 pixels); a small image keeps the int8 filter for the pixel kernel, and one whose
    decoding the estimate puts above the goal (256 channels over 6x6 pixels) keeps it too."""
    cases = [DW_CASES[0],
             (ConvCase(op=DW, in_h=4, in_w=4, in_d=16, out_d=16), "int4"),
             (ConvCase(op=DW, in_h=6, in_w=6, in_d=256, out_d=256), "int4")]
    gen = generate(_write(tmp_path, model("dwauto", [], cases)), tmp_path / "out",
                   target="cortex-m4", compress=KINDS)
    kws, small, wide = gen.program.layers
    assert kws.call.kernel == "tg_dsp_cw_depthwise_s8"
    assert small.call.kernel == "tg_dsp_depthwise_px_s8"
    assert "tg_dsp_depthwise_px_s8" in small.selection.filter.reason
    assert wide.call.kernel == "tg_dsp_depthwise_s8"
    assert re.search(r"about \d\.\d\dx the int8 depthwise kernel's cycles",
                     wide.selection.filter.reason)
    # the nested call's paths are compiled in (kernel_config reads its `dw` params): the
    # depthwise flags of the int8 layer
    int8 = generate(_write(tmp_path, model("dwauto", [], cases[:1])), tmp_path / "int8",
                    target="cortex-m4")
    assert int8.program.layers[0].call.kernel == "tg_dsp_depthwise_s8"
    dw_flags = [f.name for f in kernel_config.FLAGS if f.kernel == "tg_dsp_depthwise_s8"]
    ours = kernel_config.project_flags([kws.call])
    theirs = kernel_config.project_flags([int8.program.layers[0].call])
    assert {n: ours[n] for n in dw_flags} == {n: theirs[n] for n in dw_flags}
    assert not all(ours[n] for n in dw_flags)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_shared_model_made_int4_bit_exact_under_auto(tmp_path, monkeypatch):
    """The KWS DS-CNN with every filter made int4 (as 4-bit QAT leaves it), --compress auto
    on the Cortex-M4: the pointwise layers on the compressed GEMM, the depthwise ones on
    tg_dsp_cw_depthwise_s8; the classifier int8 (tg_dsp_s4_gemm_s8's code is more than its
    filter's 384 bytes saved); bit-exact on QEMU and the host (ASan/UBSan); the filters at
    0.58x their int8 bytes."""
    from benchmarks.compress_bench import SHARED, model_of_kind
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "kws_int4.tflite"
    path.write_bytes(model_of_kind(SHARED / "models" / "mlperf_kws_dscnn.tflite", "int4"))
    report = verify_cortexm(path, count=1, seed=2, target="cortex-m4", work_dir=tmp_path / "w",
                            compress=KINDS)
    assert report.ok, report.table()
    (tmp_path / "h").mkdir()
    res = assert_bit_exact(path.read_bytes(), tmp_path / "h", count=1, kernels=DSP,
                           compress=KINDS, sanitize=True)
    kernels = [layer.call.kernel for layer in res.gen.program.layers]
    assert {"tg_dsp_cw_gemm_s8", "tg_dsp_cw_depthwise_s8"} <= set(kernels)
    assert "tg_dsp_s4_gemm_s8" not in kernels
    fc = res.gen.program.layers[-2]
    assert fc.call.kernel == "tg_dsp_gemm_s8"
    assert re.search(r"its kernel's code \(tg_dsp_s4_gemm_s8/row, about \d+ bytes of flash\) is "
                     r"more than compressing its layers' filters saves \(384 bytes\)",
                     fc.selection.filter.reason), fc.selection.filter.reason
    filters = [layer.selection.filter for layer in res.gen.program.layers
               if layer.selection.filter is not None]
    stored = sum(f.after for f in filters)
    assert stored <= 0.58 * sum(f.before for f in filters)


def test_layers_stay_in_place_where_that_saves_more_ram_than_flash(tmp_path, code_free):
    """--compress auto: a 3x3 convolution whose int8 kernel runs in place (its output over
    its input, 36 KB each, in the arena with --io-in-arena) while the compressed one cannot
    would save 1 KB of flash for 36 KB of RAM: it keeps its int8 filter, and says why;
    named, it is compressed."""
    data = model("inplace", [], [(ConvCase(in_h=48, in_w=48, in_d=16, out_d=16), "int4")])
    auto = generate(_write(tmp_path, data), None, target="cortex-m4", measure=False,
                    compress=KINDS, io_in_arena=True)
    (layer,) = auto.program.layers
    assert layer.call.kernel == "tg_dsp_conv_s8" and layer.call.overlaps
    assert layer.selection.filter.encoding == "raw"
    assert re.search(r"filter kept int8: the int8 kernel \(in place, no decoded blocks\) "
                     r"takes \d+ bytes less RAM than the compressed filter \(saving 1152 "
                     r"bytes of flash net of the kernels' code\)", layer.selection.filter.reason), \
        layer.selection.filter.reason
    named = generate(_write(tmp_path, data), None, target="cortex-m4", measure=False,
                     compress=KINDS, layer_compress={0: ("int4",)}, io_in_arena=True)
    assert named.program.layers[0].call.kernel == "tg_dsp_cw_conv_s8"
    assert named.program.plan.arena_bytes > auto.program.plan.arena_bytes + 30000
