"""tg_config.h (codegen/kernel_config.py): a project compiles in the kernel paths its layers
take and no other; a layer that needs a path has it in (host bit-exact; symbols of host and
cross builds), a project whose layers do not take a path has it out."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from codegen import kernel_config
from codegen.generate import generate
from codegen.hostcc import find_cc
from codegen.ir import CExpr, ConstRef
from codegen.lowering.conv import dsp_depthwise
from codegen.resources import runtime_dir
from codegen.targets import load_target
from codegen.toolchain import cortexm
from codegen.toolchain.host import WARNINGS
from codegen.verify import verify_cortexm
from tests.conv_models import SAME, VALID, ConvCase, build_model
from tests.harness import assert_bit_exact

DSP = ["dsp", "portable"]
DW = "DEPTHWISE_CONV_2D"
needs_arm = pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=False)),
                               reason="arm-none-eabi-gcc / newlib not installed")
needs_qemu = pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                                reason="needs the Arm toolchain and QEMU")


def test_runtime_copy_has_every_path_and_parse_reads_render():
    assert (runtime_dir() / kernel_config.HEADER).read_bytes() == \
        kernel_config.render(kernel_config.ALL)
    some = {f.name: k % 2 == 0 for k, f in enumerate(kernel_config.FLAGS)}
    some.update({v.name: 5 for v in kernel_config.VALUES})
    assert kernel_config.parse(kernel_config.render(some).decode()) == some
    assert kernel_config.missing(some, kernel_config.ALL) == \
        [f.name for f in kernel_config.FLAGS if not some[f.name]]


def _call(kernel, **params):
    return SimpleNamespace(kernel=kernel, params=params)


def test_project_flags_union_nested_and_untouched_kernels():
    dw_s1 = _call("tg_dsp_depthwise_s8", taps3=1, stride=1, group=4, filter_length=3)
    dw_any = _call("tg_dsp_depthwise_s8", taps3=0, stride=2, group=1, filter_length=5)
    full = dict(quant=ConstRef("q"), act_min=-128, act_max=127, post=0, output_depth=8,
                triples=2, filter_height=3, filter_width=3, input_depth=8, dilation_width=1,
                depth4=72)
    flags = kernel_config.project_flags([dw_s1])
    assert (flags["TG_CFG_DSP_DW_3X3_S1"], flags["TG_CFG_DSP_DW_3X3_S2"],
            flags["TG_CFG_DSP_DW_ANY"]) == (True, False, False)
    # kernels no call runs keep every path (the C's #error: never all out)
    assert flags["TG_CFG_DSP_CONV_CHANNELS"] and flags["TG_CFG_DSP_CONV_ASM_PAIRS"]
    assert flags["TG_CFG_DSP_DW_PX_FULL"] and flags["TG_CFG_DSP_DW_PX_CLAMP"]
    assert not flags["TG_CFG_DSP_DW_ONE"]
    # the general loop's passes of 1 to 4 tap pairs: 4 while 4 or more remain, then the rest
    for length, passes in ((1, {1}), (3, {2}), (5, {3}), (7, {4}), (9, {4, 1}), (11, {4, 2}),
                           (16, {4})):
        p = dict(taps3=0, filter_length=length)
        assert {k for k in (1, 2, 3, 4) if kernel_config.dw_any_pass(k)(p)} == passes
        assert not any(kernel_config.dw_any_pass(k)(dict(p, taps3=1)) for k in (1, 2, 3, 4))
    flags = kernel_config.project_flags([dw_s1, dw_any])      # the union
    assert flags["TG_CFG_DSP_DW_ANY"] and flags["TG_CFG_DSP_DW_3X3_S1"]
    assert not flags["TG_CFG_DSP_DW_3X3_S2"]
    assert flags["TG_CFG_DSP_DW_ONE"]
    # a fused residual block runs tg_dsp_conv_s8 on its conv1 and conv2
    odd = dict(full, output_depth=7, triples=0)   # 3 pairs in the assembly, 1 channel in C
    flags = kernel_config.project_flags([_call("tg_dsp_resblock_s8", conv1=full, conv2=odd)])
    assert flags["TG_CFG_DSP_CONV_ASM_PAIRS"] and flags["TG_CFG_DSP_CONV_CHANNELS"]
    assert flags["TG_CFG_DSP_ADD_TABLE_FAST"] and flags["TG_CFG_DSP_ADD_TABLE_EXACT"]
    flags = kernel_config.project_flags([_call("tg_dsp_resblock_table_s8", conv1=full,
                                               conv2=full, add=dict(fast=2))])
    assert flags["TG_CFG_DSP_ADD_TABLE_FAST"] and not flags["TG_CFG_DSP_ADD_TABLE_EXACT"]
    assert not flags["TG_CFG_DSP_ADD_TABLE_FAST_FIX"]
    flags = kernel_config.project_flags([_call("tg_dsp_add_table_s8", fast=1),
                                         _call("tg_dsp_add_table_s8", fast=0)])
    assert flags["TG_CFG_DSP_ADD_TABLE_FAST_FIX"] and flags["TG_CFG_DSP_ADD_TABLE_EXACT"]
    assert not flags["TG_CFG_DSP_ADD_TABLE_FAST"]
    flags = kernel_config.project_flags([_call("tg_dsp_conv_s8", **full)])
    assert flags["TG_CFG_DSP_CONV_ASM_PAIRS"] and not flags["TG_CFG_DSP_CONV_CHANNELS"]
    # triples leave an even count to the pairs: 7 = 1 triple + 2 pairs, no C channel
    flags = kernel_config.project_flags([_call("tg_dsp_conv_s8", **dict(full, output_depth=7,
                                                                        triples=1))])
    assert flags["TG_CFG_DSP_CONV_ASM_PAIRS"] and not flags["TG_CFG_DSP_CONV_CHANNELS"]
    for clamped in (dict(full, act_min=-100), dict(full, quant=CExpr("NULL")),
                    dict(full, post=3)):
        clamped["triples"] = 0          # the lowering's: triples only where the asm runs
        flags = kernel_config.project_flags([_call("tg_dsp_conv_s8", **clamped)])
        assert not flags["TG_CFG_DSP_CONV_ASM_PAIRS"] and flags["TG_CFG_DSP_CONV_CHANNELS"]
    # a layer with triples keeps their C twin (TG_CFG_DSP_CONV_ASM_PAIRS) in any case
    assert kernel_config.conv_asm_pairs(dict(full, act_min=-100, triples=1))
    # the assembly's passes: the fewest blocks that take no more passes than 16-block ones
    # when some column has more than 16 blocks (72 values: 18 -> 9, 2 passes), else than
    # 8-block ones (16 -> 8; kws's 10 -> 5; 7 -> 7), give or take one per 48 blocks (72 ->
    # 12: 6 passes instead of 5; resnet8's 144, 36 and 7 -> 12); the C's layers do not count
    def blocks(b, **more):
        return dict(full, depth4=4 * b, **more)
    for layers, length in (([blocks(18)], 9), ([blocks(16)], 8), ([blocks(10)], 5),
                           ([blocks(7)], 7), ([blocks(1)], 2), ([blocks(7), blocks(10)], 7),
                           ([blocks(144), blocks(36), blocks(7)], 12), ([blocks(72)], 12),
                           ([blocks(47), blocks(7)], 16),
                           ([blocks(30, act_min=-100, triples=0)], 16),
                           ([blocks(30, act_min=-100, triples=0), blocks(3)], 3)):
        flags = kernel_config.project_flags([_call("tg_dsp_conv_s8", **p) for p in layers])
        assert flags["TG_CFG_DSP_CONV_PASS"] == length, layers
        # the first pass skips blocks (the computed entry) unless every column is whole passes
        whole = all((p["depth4"] >> 2) % length == 0 for p in layers
                    if kernel_config.conv_asm_pairs(p))
        assert flags["TG_CFG_DSP_CONV_WHOLE"] == whole, layers
    # a folder without the skipping entry serves only columns of whole passes of its length
    have = kernel_config.project_flags([_call("tg_dsp_conv_s8", **blocks(10))])
    assert (have["TG_CFG_DSP_CONV_PASS"], have["TG_CFG_DSP_CONV_WHOLE"]) == (5, 1)
    have = kernel_config.parse(kernel_config.render(have).decode())
    for cols, refused in (([10], False), ([5, 20], False), ([7], True), ([8], True)):
        need = kernel_config.project_flags([_call("tg_dsp_conv_s8", **blocks(b)) for b in cols])
        assert ("TG_CFG_DSP_CONV_WHOLE" in kernel_config.missing(have, need)) == refused, cols
    assert not kernel_config.missing(kernel_config.ALL, need)


def _config(out: Path) -> dict[str, bool]:
    return kernel_config.parse((out / kernel_config.HEADER).read_text())


def _host_symbols(out: Path, source: str, tmp: Path) -> set[str]:
    obj = tmp / (Path(source).stem + ".o")
    # -O0: every function the file defines and calls keeps its symbol (none inlined)
    subprocess.run([find_cc(), *WARNINGS, "-O0", f"-I{out}", "-c", str(out / source), "-o",
                    str(obj)], check=True)
    nm = subprocess.run(["nm", str(obj)], capture_output=True, text=True, check=True).stdout
    return {line.split()[-1].split(".")[0] for line in nm.splitlines() if line.strip()}


# depthwise models and the paths they take (the band loops: PX_PIXELS = 0)
S1 = ConvCase(op=DW, in_h=6, in_w=7, in_d=8, out_d=8, padding=SAME, in_zp=-128, out_zp=-128)
S2 = ConvCase(op=DW, in_h=7, in_w=9, in_d=5, out_d=5, stride=(2, 2), padding=SAME)
ANY = ConvCase(op=DW, in_h=7, in_w=7, in_d=4, out_d=4, k_h=5, k_w=5, padding=SAME,
               act="RELU6")
DW_FUNCS = {"TG_CFG_DSP_DW_3X3_S1": "tg_dsp_dw_row3_s1",
            "TG_CFG_DSP_DW_3X3_S2": "tg_dsp_dw_row3_s2",
            "TG_CFG_DSP_DW_ANY": "tg_dsp_dw_row_any"}


@pytest.mark.parametrize("cases,on", [
    ([S1], {"TG_CFG_DSP_DW_3X3_S1"}),
    ([S2], {"TG_CFG_DSP_DW_3X3_S2"}),
    ([ANY], {"TG_CFG_DSP_DW_ANY"}),
    ([S2, ANY], {"TG_CFG_DSP_DW_3X3_S2", "TG_CFG_DSP_DW_ANY"}),
])
def test_depthwise_paths_in_exactly_when_a_layer_takes_them(tmp_path, monkeypatch, cases, on):
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    res = assert_bit_exact(build_model(cases, 31), tmp_path, count=2, seed=31, kernels=DSP)
    assert {c.kernel for c in (layer.call for layer in res.gen.program.layers)} == \
        {"tg_dsp_depthwise_s8"}
    out = res.gen.out_dir
    config = _config(out)
    assert {n for n in DW_FUNCS if config[n]} == on
    symbols = _host_symbols(out, "tg_dsp_depthwise.c", tmp_path)
    assert {n for n, fn in DW_FUNCS.items() if fn in symbols} == on
    # the general loop's passes over a filter line: ANY's 5 taps, 3 pairs
    passes = {n for n in config if n.startswith("TG_CFG_DSP_DW_ANY_P") and config[n]}
    assert passes == ({"TG_CFG_DSP_DW_ANY_P3"} if "TG_CFG_DSP_DW_ANY" in on else set())
    # one channel gathered at a time: S2's 5 channels (the others' 8 and 4: four at a time)
    params = [layer.call.params for layer in res.gen.program.layers]
    one = any(p["group"] == 1 for p in params)
    assert config["TG_CFG_DSP_DW_ONE"] == one == ("TG_CFG_DSP_DW_3X3_S2" in on)


def test_depthwise_px_activation_paths(tmp_path):
    full = ConvCase(op=DW, in_h=3, in_w=3, in_d=4, out_d=4, padding=SAME, in_zp=-128,
                    out_zp=-128)
    clamp = ConvCase(op=DW, in_h=3, in_w=3, in_d=4, out_d=4, padding=SAME, act="RELU6")
    full5 = ConvCase(op=DW, in_h=3, in_w=3, in_d=4, out_d=4, k_h=5, k_w=5, padding=SAME,
                     in_zp=-128, out_zp=-128)
    # (the third: the whole range's C loop, for filters the 3x3 assembly does not run)
    for tag, cases, want in (("full", [full], (True, False, False)),
                             ("clamp", [clamp], (False, True, False)),
                             ("both", [full, clamp], (True, True, False)),
                             ("full5", [full5], (True, False, True))):
        (tmp_path / tag).mkdir()
        res = assert_bit_exact(build_model(cases, 32), tmp_path / tag, count=2, seed=32,
                               kernels=DSP)
        assert {layer.call.kernel for layer in res.gen.program.layers} == \
            {"tg_dsp_depthwise_px_s8"}
        config = _config(res.gen.out_dir)
        assert (config["TG_CFG_DSP_DW_PX_FULL"], config["TG_CFG_DSP_DW_PX_CLAMP"],
                config["TG_CFG_DSP_DW_PX_FULL_C"]) == want
        symbols = _host_symbols(res.gen.out_dir, "tg_dsp_depthwise_px.c", tmp_path / tag)
        assert ("tg_dsp_dw_px_full" in symbols, "tg_dsp_dw_px_clamp" in symbols) == want[:2]


# convolutions: the assembly channel triples and pairs (full range, quant rows; the triples
# leave the pairs an even count: no C channel), the C channels for a clamped layer
EVEN = ConvCase(in_h=6, in_w=6, in_d=3, out_d=8, k_h=3, k_w=3, padding=SAME, in_zp=-128,
                out_zp=-128)
ODD = ConvCase(in_h=5, in_w=5, in_d=2, out_d=5, k_h=3, k_w=3, padding=VALID, in_zp=-128,
               out_zp=-128)
CLAMPED = ConvCase(in_h=5, in_w=5, in_d=2, out_d=4, k_h=3, k_w=3, padding=SAME, act="RELU6")


def _cross_symbols(out: Path, source: str, tmp: Path) -> set[str]:
    obj = cortexm.compile_objects(out, [source], tmp / "arm", load_target("cortex-m4"))[0]
    nm = subprocess.run([cortexm.PREFIX + "nm", str(obj)], capture_output=True, text=True,
                        check=True).stdout
    # (GCC may name a specialized copy tg_dsp_conv_channels.constprop.0)
    return {line.split()[-1].split(".")[0] for line in nm.splitlines() if line.strip()}


@needs_arm
@pytest.mark.parametrize("cases,pairs,channels,rows3x9,rows", [
    ([EVEN], True, False, True, False), ([ODD], True, False, False, True),
    ([CLAMPED], False, True, False, True), ([EVEN, CLAMPED], True, True, True, True)])
def test_conv_paths_in_the_cross_build_exactly_when_a_layer_takes_them(tmp_path, cases, pairs,
                                                                       channels, rows3x9, rows):
    out = tmp_path / "out"
    gen = generate(_write(tmp_path, build_model(cases, 33)), out,
                   target="cortex-m4", measure=False)
    assert {layer.call.kernel for layer in gen.program.layers} == {"tg_dsp_conv_s8"}
    config = _config(out)
    assert (config["TG_CFG_DSP_CONV_ASM_PAIRS"], config["TG_CFG_DSP_CONV_CHANNELS"]) == \
        (pairs, channels)
    symbols = _cross_symbols(out, "tg_dsp_conv.c", tmp_path)
    assert ("tg_dsp_conv_2x2_thumb2" in symbols, "tg_dsp_conv_channels" in symbols) == \
        (pairs, channels)
    # the columns of windows inside the image (host build: the same C)
    assert (config["TG_CFG_DSP_CONV_3X9"], config["TG_CFG_DSP_CONV_ROWS"]) == (rows3x9, rows)
    host = _host_symbols(out, "tg_dsp_conv.c", tmp_path)
    assert ("tg_dsp_conv_im2col_3x9" in host, "tg_dsp_conv_im2col_inside" in host) == \
        (rows3x9, rows)


DILATED = ConvCase(in_h=7, in_w=7, in_d=4, out_d=5, k_h=3, k_w=3, dilation=(2, 2),
                   padding=SAME, act="RELU", per_channel=False)


def test_conv_narrowed_builds_bit_exact_on_the_host(tmp_path):
    for tag, cases in (("3x9", [EVEN]), ("rows", [ODD, CLAMPED]), ("dilated", [DILATED])):
        (tmp_path / tag).mkdir()
        res = assert_bit_exact(build_model(cases, 39), tmp_path / tag, count=2, seed=39,
                               kernels=DSP)
        config = _config(res.gen.out_dir)
        assert config["TG_CFG_DSP_CONV_3X9"] == (tag == "3x9") != config["TG_CFG_DSP_CONV_ROWS"]
        assert config["TG_CFG_DSP_CONV_DILATED"] == (tag == "dilated")
        symbols = _host_symbols(res.gen.out_dir, "tg_dsp_conv.c", tmp_path / tag)
        assert ("tg_dsp_conv_gather_row" in symbols) == (tag == "dilated")
        # the C twin of the assembly's triples (host: no assembly) with the layers that have
        # triples (3x9: 8 channels = 2 triples + 1 pair; rows: ODD's 5 = 1 + 1)
        triples = any(layer.call.params.get("triples", 0) for layer in res.gen.program.layers)
        assert triples == (tag != "dilated") == config["TG_CFG_DSP_CONV_ASM_PAIRS"]
        assert ("tg_dsp_conv_triples" in symbols) == triples


# the windows inside the image row by row, by the rows' length (tg_dsp_conv_im2col_inside)
ROWS_KINDS = {
    "TG_CFG_DSP_CONV_ROWS_4": ConvCase(in_h=6, in_w=5, in_d=2, out_d=5, k_h=3, k_w=2,
                                       padding=SAME, in_zp=-128, out_zp=-128),
    "TG_CFG_DSP_CONV_ROWS_9": ConvCase(in_h=7, in_w=6, in_d=3, out_d=4, k_h=5, k_w=3,
                                       padding=SAME, act="RELU"),
    "TG_CFG_DSP_CONV_ROWS_4N": ConvCase(in_h=5, in_w=5, in_d=8, out_d=7, k_h=3, k_w=2,
                                        padding=SAME, in_zp=-128, out_zp=-128),
    "TG_CFG_DSP_CONV_ROWS_ANY": ConvCase(in_h=5, in_w=6, in_d=2, out_d=3, k_h=2, k_w=3,
                                         padding=VALID, act="RELU6"),
}


@pytest.mark.parametrize("kind", sorted(ROWS_KINDS))
def test_conv_row_lengths_alone_bit_exact_on_the_host(tmp_path, kind):
    res = assert_bit_exact(build_model([ROWS_KINDS[kind]], 45), tmp_path, count=2, seed=45,
                           kernels=DSP)
    config = _config(res.gen.out_dir)
    assert {k for k in ROWS_KINDS if config[k]} == {kind}
    assert config["TG_CFG_DSP_CONV_ROWS"] and not config["TG_CFG_DSP_CONV_3X9"]
    # the rows' last values of windows across the edge (SAME: 4 and 4n values have none)
    case = ROWS_KINDS[kind]
    assert config["TG_CFG_DSP_CONV_REST"] == (case.k_w * case.in_d % 4 != 0)
    # ... and those of 4n input channels straight from the input (the others staged)
    assert config["TG_CFG_DSP_CONV_EDGE_4N"] == (case.in_d % 4 == 0)


def _write(tmp: Path, model: bytes) -> Path:
    path = tmp / "m.tflite"
    path.write_bytes(model)
    return path


@needs_qemu
def test_conv_assembly_alone_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """A project whose convolutions all run in the assembly (no C channels compiled)."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = _write(tmp_path, build_model([EVEN], 34))
    report = verify_cortexm(path, count=2, seed=34, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    assert not _config(tmp_path / "w")["TG_CFG_DSP_CONV_CHANNELS"]


def test_runtime_from_a_folder_without_the_models_paths_is_refused(tmp_path, monkeypatch):
    from codegen.errors import TinygenError
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    a, b = _write(tmp_path, build_model([S1], 35)), tmp_path / "b.tflite"
    b.write_bytes(build_model([ANY], 36))
    generate(a, tmp_path / "a", target="cortex-m4", measure=False)
    with pytest.raises(TinygenError, match="TG_CFG_DSP_DW_ANY"):
        generate(b, tmp_path / "b", target="cortex-m4", measure=False,
                 runtime_from=tmp_path / "a")
    # a model taking the folder's paths uses it
    c = tmp_path / "c.tflite"
    c.write_bytes(build_model([S1], 37))
    generate(c, tmp_path / "c", target="cortex-m4", measure=False, runtime_from=tmp_path / "a")
    man = json.loads((tmp_path / "c" / "tinygen.json").read_text())
    assert man["runtime_from"]["dir"] == "../a"
    # a folder generated with every path in serves any model
    generate(a, tmp_path / "full", target="cortex-m4", measure=False, all_kernel_paths=True)
    assert _config(tmp_path / "full") == kernel_config.ALL
    generate(b, tmp_path / "b", target="cortex-m4", measure=False,
             runtime_from=tmp_path / "full")


# the GEMM: rows one at a time (batches < 3: no scratch), two at a time (a scratch), and
# the clamp pass for an activation range narrower than int8
GEMM_FUNCS = {"TG_CFG_DSP_GEMM_PAIRS": "tg_dsp_gemm_expand2",
              "TG_CFG_DSP_GEMM_ROW1": "tg_dsp_gemm_row1",
              "TG_CFG_DSP_GEMM_CLAMP": "tg_dsp_gemm_clamp"}


@pytest.mark.parametrize("cases,on", [
    ([(1, 20, 6, True, "NONE", True, None, None)], {"TG_CFG_DSP_GEMM_ROW1"}),
    ([(4, 20, 6, True, "RELU6", True, None, 127)],
     {"TG_CFG_DSP_GEMM_PAIRS", "TG_CFG_DSP_GEMM_CLAMP"}),
    ([(1, 9, 5, False, "NONE", True, None, None), (3, 12, 4, True, "NONE", True, None, None)],
     {"TG_CFG_DSP_GEMM_PAIRS", "TG_CFG_DSP_GEMM_ROW1"}),
    # a batch-1 layer under 1/256 of the model's MACs (a classifier head) takes the pairs:
    # no row pass in the project
    ([(64, 64, 64, True, "NONE", True, None, None), (1, 8, 4, True, "NONE", True, None, None)],
     {"TG_CFG_DSP_GEMM_PAIRS"}),
    # ... but not where no other layer takes them (a stack of batch-1 fully connected
    # layers keeps the row pass alone)
    ([(1, 128, 128, True, "NONE", True, None, None), (1, 8, 4, True, "NONE", True, None, None)],
     {"TG_CFG_DSP_GEMM_ROW1"}),
])
def test_gemm_paths_in_exactly_when_a_layer_takes_them(tmp_path, cases, on):
    from tests.test_dsp_kernels import fc_model
    res = assert_bit_exact(fc_model(cases, 38), tmp_path, count=2, seed=38, kernels=DSP)
    assert {layer.call.kernel for layer in res.gen.program.layers} == {"tg_dsp_gemm_s8"}
    config = _config(res.gen.out_dir)
    assert {n for n in GEMM_FUNCS if config[n]} == on
    symbols = _host_symbols(res.gen.out_dir, "tg_dsp_gemm.c", tmp_path)
    assert {n for n, fn in GEMM_FUNCS.items() if fn in symbols} == on


@needs_qemu
@pytest.mark.parametrize("cases,pair_call", [
    ([(4, 20, 6, True, "RELU6", True, None, 127)], False),     # every pair walked in asm
    ([(3, 9, 5, True, "NONE", True, None, None)], True)])      # depth 9: a call a pair
def test_gemm_row_walk_alone_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch, cases,
                                                             pair_call):
    """With the assembly, plain GEMMs of whole 4-value steps walk their rows in it: the C
    per-pair pass (tg_dsp_gemm_expand2) only when a layer takes it."""
    from tests.test_dsp_kernels import fc_model
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = _write(tmp_path, fc_model(cases, 44))
    report = verify_cortexm(path, count=2, seed=44, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    out = tmp_path / "w"
    config = _config(out)
    assert config["TG_CFG_DSP_GEMM_PAIR_CALL"] == pair_call
    assert config["TG_CFG_DSP_GEMM_PAIRS"] and not config["TG_CFG_DSP_GEMM_ROW1"]
    symbols = _cross_symbols(out, "tg_dsp_gemm.c", tmp_path)
    assert "tg_dsp_gemm_2x3_rows_thumb2" in symbols
    # (GCC inlines tg_dsp_gemm_expand2; the row gather only the per-pair pass calls here)
    assert ("tg_dsp_gemm_row" in symbols) == pair_call


def test_several_models_get_the_union_of_their_paths(tmp_path, monkeypatch):
    from codegen.multi import generate_multi
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(build_model([S1], 40))
    b.write_bytes(build_model([ANY], 41))
    generate_multi([a, b], tmp_path / "ab", target="cortex-m4", measure=False)
    config = _config(tmp_path / "ab")
    assert {n for n in DW_FUNCS if config[n]} == {"TG_CFG_DSP_DW_3X3_S1", "TG_CFG_DSP_DW_ANY"}
    generate_multi([a, b], tmp_path / "all", target="cortex-m4", measure=False,
                   all_kernel_paths=True)
    assert _config(tmp_path / "all") == kernel_config.ALL


# every kernel file with tg_config.h paths, under one path of each of its exclusive groups
# at a time (what a one-layer project may get), plus all in: warning-free, host gcc and clang
# (the cross builds above and the QEMU runs cover arm-none-eabi-gcc)
ONE_PATH_BUILDS = {
    "tg_dsp_depthwise.c": [("TG_CFG_DSP_DW_3X3_S1",), ("TG_CFG_DSP_DW_3X3_S2", "TG_CFG_DSP_DW_ONE"),
                           ("TG_CFG_DSP_DW_ANY", "TG_CFG_DSP_DW_ONE"),
                           ("TG_CFG_DSP_DW_ANY", "TG_CFG_DSP_DW_ANY_P3"),
                           ("TG_CFG_DSP_DW_ANY", "TG_CFG_DSP_DW_ANY_P1", "TG_CFG_DSP_DW_ANY_P4")],
    "tg_dsp_depthwise_px.c": [("TG_CFG_DSP_DW_PX_FULL",), ("TG_CFG_DSP_DW_PX_CLAMP",),
                              ("TG_CFG_DSP_DW_PX_FULL", "TG_CFG_DSP_DW_PX_FULL_C")],
    "tg_dsp_conv.c": [("TG_CFG_DSP_CONV_CHANNELS", "TG_CFG_DSP_CONV_3X9"),
                      ("TG_CFG_DSP_CONV_ASM_PAIRS", "TG_CFG_DSP_CONV_ROWS")] +
                     [("TG_CFG_DSP_CONV_CHANNELS", "TG_CFG_DSP_CONV_ROWS", k)
                      for k in sorted(ROWS_KINDS)],
    "tg_dsp_gemm.c": [("TG_CFG_DSP_GEMM_PAIRS",), ("TG_CFG_DSP_GEMM_ROW1",),
                      ("TG_CFG_DSP_GEMM_PAIRS", "TG_CFG_DSP_GEMM_PAIR_CALL")],
    "tg_dsp_elementwise.c": [("TG_CFG_DSP_ADD_TABLE_FAST",), ("TG_CFG_DSP_ADD_TABLE_FAST_FIX",),
                             ("TG_CFG_DSP_ADD_TABLE_EXACT",)],
    "tg_dsp_cw_gemm.c": [("TG_CFG_DSP_CW_GEMM_ONCE_S4",), ("TG_CFG_DSP_CW_GEMM_ONCE_PAL",),
                         ("TG_CFG_DSP_CW_GEMM_BLOCKS",)],
    "tg_dsp_s4_gemm.c": [(), ("TG_CFG_DSP_S4_GEMM_PAIRS",)],
}


@pytest.mark.parametrize("cc", ["gcc", "clang"])
def test_kernel_files_build_clean_with_one_path_in(tmp_path, cc):
    import shutil
    if not shutil.which(cc):
        pytest.skip(f"{cc} not installed")
    rt = runtime_dir()
    for source, configs in ONE_PATH_BUILDS.items():
        # the kernel file beside its own tg_config.h (found first: the includer's folder)
        (tmp_path / source).write_bytes((rt / source).read_bytes())
        for on in configs + [None]:
            flags = kernel_config.ALL if on is None else \
                {f.name: f.name in on for f in kernel_config.FLAGS}
            (tmp_path / kernel_config.HEADER).write_bytes(kernel_config.render(flags))
            r = subprocess.run([cc, *WARNINGS, "-O0", f"-I{rt}", "-c", str(tmp_path / source),
                                "-o", str(tmp_path / "k.o")], capture_output=True, text=True)
            assert r.returncode == 0, (source, on, r.stderr[-2000:])


@pytest.mark.parametrize("exact", [False, True])
def test_add_table_requantization_paths(tmp_path, monkeypatch, exact):
    """Large ADDs read tables (tg_dsp_add_table_s8); their output requantization is the
    one-SMMLAR form where it equals TFLite's (the shared models' every table ADD), else
    TFLite's: each compiled in only when a layer takes it."""
    from codegen.lowering.elementwise import dsp as ew_dsp
    from tests.test_dsp_misc import TABLE_CASES, binary_model
    if exact:
        monkeypatch.setattr(ew_dsp, "fast_output_mode", lambda t1, t2, b: (0, 0))
    res = assert_bit_exact(binary_model(("ADD",), TABLE_CASES[:2], 42), tmp_path, count=2,
                           seed=42, kernels=DSP)
    calls = [layer.call for layer in res.gen.program.layers]
    assert {c.kernel for c in calls} == {"tg_dsp_add_table_s8"}
    assert all((c.params["fast"] == 0) == exact for c in calls)
    config = _config(res.gen.out_dir)
    fast = {c.params["fast"] for c in calls} - {0}
    assert (config["TG_CFG_DSP_ADD_TABLE_FAST"], config["TG_CFG_DSP_ADD_TABLE_FAST_FIX"],
            config["TG_CFG_DSP_ADD_TABLE_EXACT"]) == (2 in fast, 1 in fast, exact)
    symbols = _host_symbols(res.gen.out_dir, "tg_dsp_elementwise.c", tmp_path)
    assert ("tg_dsp_add_fast_row" in symbols) == (not exact)


# tg_dsp_cw_gemm_s8: an int4 or a palette filter decoded once for all rows, or blocks
# decoded channel by channel for chunks of rows
CW_GEMM_FUNCS = {"TG_CFG_DSP_CW_GEMM_ONCE_S4": "tg_cwg_s4",
                 "TG_CFG_DSP_CW_GEMM_ONCE_PAL": "tg_cwg_pal",
                 "TG_CFG_DSP_CW_GEMM_BLOCKS": "tg_cwg_decode"}


@pytest.mark.parametrize("fcs,on", [
    ([(8, 125, 8, True, "int4")], {"TG_CFG_DSP_CW_GEMM_ONCE_S4"}),
    ([(7, 69, 8, True, "pal16")], {"TG_CFG_DSP_CW_GEMM_ONCE_PAL"}),
    ([(5, 24, 3, True, "int4")], {"TG_CFG_DSP_CW_GEMM_BLOCKS"}),     # one block
    ([(5, 24, 3, True, "int4"), (7, 69, 8, True, "pal16")],
     {"TG_CFG_DSP_CW_GEMM_BLOCKS", "TG_CFG_DSP_CW_GEMM_ONCE_PAL"}),
])
def test_cw_gemm_paths_in_exactly_when_a_layer_takes_them(tmp_path, fcs, on):
    from codegen.encoding import KINDS
    from tests.test_compress import model
    res = assert_bit_exact(model("cw-paths", fcs, []), tmp_path, count=2, seed=45, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(fcs))})
    assert {layer.call.kernel for layer in res.gen.program.layers} == {"tg_dsp_cw_gemm_s8"}
    config = _config(res.gen.out_dir)
    assert {n for n in CW_GEMM_FUNCS if config[n]} == on
    symbols = _host_symbols(res.gen.out_dir, "tg_dsp_cw_gemm.c", tmp_path)
    assert {n for n, fn in CW_GEMM_FUNCS.items() if fn in symbols} == on


@needs_qemu
def test_s4_gemm_one_row_pass_alone_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    from codegen.encoding import KINDS
    from tests.test_compress import model
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = _write(tmp_path, model("s4-paths", [(1, 70, 10, True, "int4")], []))
    report = verify_cortexm(path, count=2, seed=47, target="cortex-m4", work_dir=tmp_path / "w",
                            layer_compress={0: KINDS})
    assert report.ok, report.table()
    assert not _config(tmp_path / "w")["TG_CFG_DSP_S4_GEMM_PAIRS"]
    assert "tg_s4_2x2" not in _cross_symbols(tmp_path / "w", "tg_dsp_s4_gemm.c", tmp_path)


@pytest.mark.parametrize("fcs,pairs", [([(1, 64, 10, True, "int4")], False),
                                       ([(1, 64, 10, True, "int4"), (3, 40, 6, True, "int4")],
                                        True)])
def test_s4_gemm_row_pairs_in_only_when_a_layer_has_two_rows(tmp_path, fcs, pairs):
    """tg_dsp_s4_gemm_s8's 2 x 2 pass only where a layer has two or more rows (a classifier
    head alone keeps the one-row pass: about half the code); bit-exact either way."""
    from codegen.encoding import KINDS
    from tests.test_compress import model
    res = assert_bit_exact(model("s4-paths", fcs, []), tmp_path, count=2, seed=46, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(fcs))})
    assert {layer.call.kernel for layer in res.gen.program.layers} == {"tg_dsp_s4_gemm_s8"}
    assert _config(res.gen.out_dir)["TG_CFG_DSP_S4_GEMM_PAIRS"] == pairs
    symbols = _host_symbols(res.gen.out_dir, "tg_dsp_s4_gemm.c", tmp_path)
    assert ("tg_s4_2x2" in symbols) == pairs
