"""Fused residual blocks (passes/fuse_residual.py, lowering/resblock.py, tg_resblock*.c):
random CONV -> CONV -> ADD blocks, identity and downsampling (a 1x1 projection shortcut),
bit-exact with TFLM on the host (portable and dsp kernels, ASan/UBSan, poisoned arena)
and on the emulated Cortex-M4 (poisoned); the blocks that must stay separate layers, and
why."""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

import numpy as np
import pytest

from codegen.frontend import read_tflite
from codegen.emit.layer_table import layer_table, operator_cell
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.program import build_program
from codegen.targets import load_target
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.harness import assert_bit_exact
from tests.test_hostile_cclean import CPPCHECK

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
DSP = ["dsp", "portable"]


@dataclass(frozen=True)
class Block:
    h: int
    w: int
    c: int                  # channels of x (and of the output)
    mid: int                # channels of a
    k: int = 3              # both convolutions' filter size
    acts: tuple = ("RELU", "NONE", "RELU")    # conv1, conv2, ADD
    x_first: bool = True    # ADD(x, b) or ADD(b, x)
    k2: int | None = None   # the second convolution's, when other than k
    stride: int = 1         # the first convolution's
    shortcut: bool = False  # a downsampling block: the ADD reads CONV 1x1(x), not x
    out_c: int | None = None    # its output channels (default c)
    short_k: int = 1        # its shortcut's filter size
    x_also: bool = False    # x read by one more layer too
    tail: bool = True       # a layer after the block (its output in the arena)


def _conv(m: ModelWriter, rng, tag: str, x: int, x_q: tuple, in_d: int, out_d: int,
          k: int, act: str, stride: int = 1) -> tuple[int, tuple]:
    """CONV_2D k x k SAME appended to `m`; its output tensor and (scale, zero point)."""
    x_scale, _ = x_q
    h, w = m.tensors[x].shape[1:3]
    taps = k * k * in_d
    w_scales = rng.uniform(0.002, 0.05, out_d)
    acc_std = 73.0 * 74.0 * np.sqrt(taps)
    out_scale = x_scale * float(np.mean(w_scales)) * acc_std / (40.0 * rng.uniform(0.5, 2.0))
    if act == "RELU6":
        out_scale = max(out_scale, 6.0 / 200)
    if act == "RELU_N1_TO_1":
        out_scale = 1.0 / 100
    zp = int(rng.integers(-128, 128)) if act == "NONE" else int(rng.integers(-128, -60))
    filt = m.const(f"{tag}_w", rng.integers(-127, 128, (out_d, k, k, in_d)), "int8",
                   scale=w_scales, zero_point=[0] * out_d, axis=0)
    bias = m.const(f"{tag}_b", rng.integers(-int(acc_std), int(acc_std) + 1, (out_d,)),
                   "int32", scale=x_scale * w_scales, zero_point=[0] * out_d)
    oh, ow = -(-h // stride), -(-w // stride)
    y = m.tensor(f"{tag}_y", (1, oh, ow, out_d), "int8", scale=out_scale, zero_point=zp)
    m.op("CONV_2D", [x, filt, bias], [y],
         {"padding": 0, "stride_h": stride, "stride_w": stride, "dilation_h_factor": 1,
          "dilation_w_factor": 1, "fused_activation_function": ACTS[act]}, version=3)
    return y, (out_scale, zp)


def add_block(m: ModelWriter, rng, tag: str, b: Block) -> None:
    """input -> CONV 3x3 -> x -> [CONV -> CONV -> ADD with x] -> CONV 1x1 -> output."""
    u_q = (float(rng.uniform(0.01, 0.1)), int(rng.integers(-128, 128)))
    u = m.tensor(f"{tag}_in", (1, b.h, b.w, 3), "int8", scale=u_q[0], zero_point=u_q[1])
    x, x_q = _conv(m, rng, f"{tag}_x", u, u_q, 3, b.c, 3, "RELU")
    a, a_q = _conv(m, rng, f"{tag}_a", x, x_q, b.c, b.mid, b.k, b.acts[0], b.stride)
    out_c = b.out_c or b.c
    bb, b_q = _conv(m, rng, f"{tag}_b", a, a_q, b.mid, out_c, b.k2 or b.k, b.acts[1])
    short, short_q = x, x_q
    if b.shortcut or b.stride != 1:     # a downsampling block's projection of x
        short, short_q = _conv(m, rng, f"{tag}_s", x, x_q, b.c, out_c, b.short_k, "NONE",
                               b.stride)
    out_scale = (short_q[0] + b_q[0]) * float(rng.uniform(0.5, 1.2))
    shape = m.tensors[bb].shape
    s = m.tensor(f"{tag}_sum", shape, "int8", scale=out_scale,
                 zero_point=int(rng.integers(-128, 128)))
    m.op("ADD", [short, bb] if b.x_first else [bb, short], [s],
         {"fused_activation_function": ACTS[b.acts[2]]})
    outs = [s]
    if b.tail:
        outs = [_conv(m, rng, f"{tag}_t", s, (out_scale, 0), out_c, 2, 1, "NONE")[0]]
    if b.x_also:
        outs.append(_conv(m, rng, f"{tag}_o", x, x_q, b.c, 2, 1, "NONE")[0])
    m.inputs.append(u)
    m.outputs += outs


def block_model(blocks: list[Block], seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, b in enumerate(blocks):
        add_block(m, rng, f"r{k}", b)
    return m.build()


# kernel 3 and 5 (and 3 then 5), odd sizes, an image smaller than the filter, channels of
# a other than x's, every activation, x as either ADD input, one block large enough for
# the dsp ADD's table form (>= 2048 elements); downsampling blocks (stride 2 and 3, a
# stride-1 projection, odd sizes, one with the table form)
BLOCKS = [
    Block(7, 5, 4, 4),
    Block(9, 6, 3, 5, k=5, acts=("RELU6", "NONE", "NONE"), x_first=False),
    Block(3, 4, 4, 2, k=5, acts=("NONE", "RELU_N1_TO_1", "RELU")),
    Block(6, 7, 2, 3, k=3, k2=5, acts=("RELU", "RELU6", "RELU")),
    Block(1, 9, 3, 3, acts=("NONE", "NONE", "RELU6"), x_first=False),
    Block(16, 16, 8, 8, acts=("RELU", "NONE", "RELU")),
]
DOWN_BLOCKS = [
    Block(8, 8, 4, 6, stride=2, out_c=6),
    Block(9, 7, 3, 5, stride=2, out_c=5, acts=("RELU6", "NONE", "NONE"), x_first=False),
    Block(7, 10, 2, 3, k=5, stride=3, out_c=4, acts=("NONE", "RELU", "RELU")),
    Block(5, 6, 3, 4, shortcut=True, out_c=4, acts=("RELU", "RELU_N1_TO_1", "RELU6")),
    Block(16, 16, 8, 32, stride=2, out_c=32),
]


def _fused(program) -> list[str]:
    return [layer.call.kernel for layer in program.layers if layer.call.op.opcode ==
            "CONV+CONV+ADD"]


def test_blocks_fused_bit_exact_on_the_host_poisoned(tmp_path):
    model = block_model(BLOCKS + DOWN_BLOCKS, 1)
    for name, kernels, want in (
            ("portable", None, ["tg_resblock_s8"] * len(BLOCKS) +
             ["tg_resblock_down_s8"] * len(DOWN_BLOCKS)),
            ("dsp", DSP, ["tg_dsp_resblock_s8"] * 5 + ["tg_dsp_resblock_table_s8"] +
             ["tg_dsp_resblock_down_s8"] * 4 + ["tg_dsp_resblock_down_table_s8"])):
        (tmp_path / name).mkdir()
        res = assert_bit_exact(model, tmp_path / name, count=2, seed=3, sanitize=True,
                               kernels=kernels, poison=True)
        program = res.gen.program
        assert _fused(program) == want, name
        # every identity block's output written over its input
        fused = {layer.call.writes[0] for layer in program.layers
                 if layer.call.kernel in ("tg_resblock_s8", "tg_dsp_resblock_s8",
                                          "tg_dsp_resblock_table_s8")}
        assert len(fused) == len(BLOCKS)
        assert fused <= {o.output for o in program.plan.overlaps}, name
        assert "memset(" in (tmp_path / name / "out" / "model.c").read_text()


def test_block_arena_below_the_op_by_op_bound(tmp_path):
    b = Block(16, 16, 8, 8)
    graph = read_tflite(block_model([b], 2))
    host = load_target("host")
    fused = build_program(graph, "m", host)
    plain = build_program(graph, "m", host, fuse_residual=False)
    assert _fused(fused) == ["tg_resblock_s8"] and not _fused(plain)
    x = 16 * 16 * 8
    # unfused: x, a and b live at the first ADD; fused: x, 3 rows of a, 1 row of b
    assert plain.plan.arena_bytes >= 3 * x
    assert fused.plan.arena_bytes <= x + 4 * 16 * 8 + 64 + x // 4
    assert fused.macs == plain.macs


def _why(program, layer: int) -> str:
    return next(l.selection.reason() for l in program.layers if l.index == layer)


def test_blocks_that_stay_three_layers_say_why():
    host = load_target("host")
    # a strided block whose shortcut is a strided 3x3 convolution
    program = build_program(read_tflite(block_model([Block(8, 8, 4, 4, stride=2,
                                                           short_k=3)], 3)), "m", host)
    assert not _fused(program) and len(program.layers) == 6
    assert "not an unpadded 1x1 convolution" in _why(program, 1), _why(program, 1)
    for b, why in ((Block(8, 8, 4, 4, x_also=True), "read by other layers too"),
                   (Block(6, 5, 4, 4, k=3, k2=1), "padding below is smaller")):
        program = build_program(read_tflite(block_model([b], 3)), "m", host)
        assert not _fused(program)
        assert "not fused: " in _why(program, 1) and why in _why(program, 1), _why(program, 1)
    # a 1x1 first convolution runs on the dsp GEMM, which has no row form
    b = Block(6, 6, 4, 4, k=1, k2=3)
    program = build_program(read_tflite(block_model([b], 4)), "m", load_target("cortex-m4"))
    assert not _fused(program)
    assert "layer 1 runs dsp's tg_dsp_gemm_s8, which cannot compute rows" in \
        _why(program, 1), _why(program, 1)
    # portable has it (tg_conv_s8 computes any window)
    program = build_program(read_tflite(block_model([b], 4)), "m", host)
    assert _fused(program) == ["tg_resblock_s8"]


def test_the_layer_table_shows_the_fused_layer(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(block_model([Block(5, 6, 2, 3)], 5))
    gen = generate(path, None, target="host")
    rows = layer_table(gen.program)
    assert [operator_cell(r) for r in rows] == [
        "CONV_2D", "CONV+CONV+ADD +CONV_2D#2 +ADD#3", "CONV_2D"]
    assert rows[1]["inputs"] == ["1x5x6x2"] and rows[1]["outputs"] == ["1x5x6x2"]
    assert rows[1]["arena"][0].get("in_place_of") == "r0_x_y"
    gen = generate(path, None, target="host", fuse_residual=False)
    assert [r["opcode"] for r in layer_table(gen.program)] == \
        ["CONV_2D", "CONV_2D", "CONV_2D", "ADD", "CONV_2D"]


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_blocks_fused_bit_exact_on_emulated_cortex_m4_poisoned(tmp_path, monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(block_model(BLOCKS + DOWN_BLOCKS, 6))
    report = verify_cortexm(path, count=2, seed=6, target="cortex-m4",
                            work_dir=tmp_path / "w", poison=True)
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "m.c").read_text()
    assert model_c.count("tg_dsp_resblock_s8(") == 5
    assert model_c.count("tg_dsp_resblock_table_s8(") == 1
    assert model_c.count("tg_dsp_resblock_down_s8(") == 4
    assert model_c.count("tg_dsp_resblock_down_table_s8(") == 1
    assert "memset(" in model_c


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck (apt-get install "
                    "cppcheck, or run setup.sh as root)")
@pytest.mark.parametrize("arm", [False, True], ids=["c-fallbacks", "acle"])
def test_resblock_kernels_cppcheck_clean(arm, tmp_path):
    """The fused kernels pass cppcheck as tests/test_hostile_cclean.py runs it."""
    path = tmp_path / "m.tflite"
    path.write_bytes(block_model([Block(5, 4, 3, 3), Block(6, 4, 3, 3, stride=2)], 7))
    out = tmp_path / "out"
    generate(path, out, target="host", kernels=DSP)
    generate(path, tmp_path / "p", target="host")
    defs = ["-D__ARM_FEATURE_DSP=1", "-D__ARM_FEATURE_SIMD32=1", "-D__GNUC__=12"] if arm else []
    for folder, name in ((out, "tg_dsp_resblock.c"), (tmp_path / "p", "tg_resblock.c")):
        r = subprocess.run([*CPPCHECK, *defs, f"-I{folder}", str(folder / name)],
                           capture_output=True, text=True)
        assert r.returncode == 0 and not r.stderr.strip(), r.stderr
