"""The dsp kernels' in-place forms run for real: the GEMM (1x1 convolutions, also strided and
with wider or narrower rows, an odd row left over) and the strided depthwise convolution,
each between two other layers so that its input and output are arena tensors the planner
overlaps.  Poisoned builds (`generate(poison=True)`: every byte a layer may not read holds
a pattern) under ASan/UBSan must equal TFLM; the controls declare an offset the kernel's
order does not allow and must fail, so these tests can see a wrong overlap."""
from __future__ import annotations

import json

import numpy as np
import pytest

import codegen.lowering.dsp_support as dsp_support
import codegen.lowering.conv.dsp_depthwise as dsp_depthwise
import codegen.lowering.conv.dsp_im2col as dsp_im2col
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.lowering.inplace import gemm_overlap
from codegen.reference_layers import reference_for
from codegen.toolchain import cortexm
from codegen.toolchain.host import HostExecutable
from codegen.vectors import random_inputs
from codegen.verify import verify_cortexm
from tests.conv_models import SAME, VALID, ConvCase, add_layer

DSP = ["dsp", "portable"]
DW = "DEPTHWISE_CONV_2D"


def _pw(h, w, d, out_d, stride=1):
    return ConvCase(in_h=h, in_w=w, in_d=d, out_d=out_d, k_h=1, k_w=1, padding=VALID,
                    stride=(stride, stride))


# (the layer under test, in place; a 1x1 convolution before and after it)
CASES = [_pw(5, 5, 8, 8),                     # 25 rows (the last alone), same width
         _pw(6, 6, 4, 8),                     # wider rows: the input trailing
         _pw(5, 3, 12, 4),                    # narrower rows, 15 of them
         _pw(7, 7, 8, 8, stride=2),           # strided: every other pixel
         ConvCase(op=DW, in_h=8, in_w=8, in_d=8, out_d=8, stride=(2, 2), padding=SAME),
         ConvCase(op=DW, in_h=9, in_w=9, in_d=3, out_d=3, stride=(2, 2), padding=VALID,
                  act="RELU6"),
         ConvCase(op=DW, in_h=7, in_w=10, in_d=4, out_d=4, k_h=5, k_w=5, stride=(2, 2)),
         # k x k (im2col): the output trailing the input by the rows still read
         ConvCase(in_h=8, in_w=8, in_d=4, out_d=4, act="RELU"),
         ConvCase(in_h=9, in_w=7, in_d=3, out_d=8, stride=(2, 2), padding=VALID),
         ConvCase(in_h=6, in_w=6, in_d=2, out_d=3, k_h=5, k_w=5)]


def sandwich(cases: list[ConvCase], seed: int) -> bytes:
    """For each case, independently: x -> 1x1 conv -> t1 -> case -> t2 -> 1x1 conv -> y."""
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for k, case in enumerate(cases):
        oh, ow = case.out_hw()
        layers = [_pw(case.in_h, case.in_w, case.in_d, case.in_d), case,
                  _pw(oh, ow, case.out_d, case.out_d)]
        first = len(m.ops)
        for j, c in enumerate(layers):
            add_layer(m, rng, c, f"{k}_{j}")
        for j in (1, 2):
            op, prev = m.ops[first + j], m.ops[first + j - 1]
            m.inputs.remove(op.inputs[0])
            m.outputs.remove(prev.outputs[0])
            op.inputs[0] = prev.outputs[0]
    return m.build()


def mismatches(model: bytes, tmp_path, poison=True, sanitize=True, count=2, seed=0):
    """Generate (host, dsp kernels), run, and count the outputs differing from TFLM."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    out = tmp_path / "out"
    gen = generate(path, out, target="host", kernels=DSP, force=True, poison=poison)
    ref = reference_for(model, gen.program)
    rng = np.random.default_rng(seed)
    runs = [random_inputs(read_tflite(model), rng) for _ in range(count)]
    got = HostExecutable(out, tmp_path / "build", sanitize=sanitize).invoke_many(runs)
    bad = 0
    for xs, g in zip(runs, got):
        for a, b in zip(g, ref.run(xs)):
            bad += int(np.sum(np.asarray(a).reshape(-1) != np.asarray(b).reshape(-1)))
    return gen, bad


def _granted(gen) -> dict[int, int]:
    """Operator index -> the offset granted to that layer."""
    layers = gen.program.layers
    return {layers[g.step].call.op.index: g.offset for g in gen.program.plan.overlaps}


@pytest.mark.parametrize("px", [False, True])
def test_in_place_layers_poisoned_bit_exact(tmp_path, monkeypatch, px):
    """px: the small depthwise layers on tg_dsp_depthwise_px_s8 (the default for images of
    at most PX_PIXELS output pixels and depths of multiples of 4), else the band kernel."""
    from codegen.lowering.conv import dsp_depthwise
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 36 if px else 0)
    gen, bad = mismatches(sandwich(CASES, 40), tmp_path)
    granted = _granted(gen)
    for k in range(len(CASES)):
        call = next(la.call for la in gen.program.layers if la.call.op.index == 3 * k + 1)
        assert call.variant == "dsp", k
        dw = "tg_dsp_depthwise_px_s8" if px and CASES[k].in_d % 4 == 0 else \
            "tg_dsp_depthwise_s8"
        assert call.kernel == (dw if CASES[k].op == DW else
                               "tg_dsp_gemm_s8" if CASES[k].k_h == 1 else "tg_dsp_conv_s8")
        assert granted.get(3 * k + 1) == call.overlaps[0].offset, k
    assert {o for o in granted.values()} >= {0, -144}    # at the start, trailing
    assert gen.program.plan.arena_bytes < gen.program.plan.lower_bound
    assert bad == 0


def test_gemm_control_wrong_offset_fails(tmp_path, monkeypatch):
    # 25 rows of 8, the last odd row taken as a pair of itself: exactly in place is safe;
    # with the output starting 16 bytes (two rows) after the input, a pair's outputs
    # overwrite the next pair's input rows before they are read
    assert gemm_overlap(25, 8, 8, align=16) == 0
    monkeypatch.setattr(dsp_support, "gemm_overlap", lambda *a, **k: 16)
    gen, bad = mismatches(sandwich(CASES[:1], 40), tmp_path, sanitize=False)
    assert _granted(gen) == {1: 16}
    assert bad > 0


def test_conv_control_wrong_offset_fails(tmp_path, monkeypatch):
    # a 3x3 SAME convolution exactly in place: pixel 0's output overwrites input bytes the
    # windows of the next output row still read
    monkeypatch.setattr(dsp_im2col, "conv_overlap", lambda *a, **k: 0)
    gen, bad = mismatches(sandwich(CASES[7:8], 47), tmp_path, sanitize=False)
    assert _granted(gen) == {1: 0}
    assert bad > 0


def test_depthwise_control_transposed_lines_fail(tmp_path, monkeypatch):
    # a strided depthwise layer whose lines are columns (taller than wide): output column
    # 0 lands on input pixels of column 3, which it has not gathered yet; not declared,
    # and wrong when forced
    case = ConvCase(op=DW, in_h=16, in_w=6, in_d=4, out_d=4, stride=(2, 2), padding=SAME)
    monkeypatch.setattr(dsp_depthwise, "depthwise_strided_in_place", lambda *a: a[6] or True)
    monkeypatch.setattr(dsp_depthwise, "BAND_BYTES", 0)     # the ring, not whole channels
    monkeypatch.setattr(dsp_depthwise, "PX_PIXELS", 0)
    gen, bad = mismatches(sandwich([case], 45), tmp_path, sanitize=False)
    assert gen.program.layers[1].call.params["in_line_step"] == 4      # transposed
    assert _granted(gen) == {1: 0}
    assert bad > 0


def test_report_shows_the_overlaps_and_no_in_place_plans_op_by_op(tmp_path, capsys):
    from codegen import cli

    path = tmp_path / "m.tflite"
    path.write_bytes(sandwich(CASES[:2], 40))
    out = tmp_path / "out"
    argv = [str(path), "-o", str(out), "--target", "cortex-m4", "-v"]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    # 25 rows of 8 exactly over their input; 36 rows of 4 -> 8 trailing
    assert text.count(" in place of ") == 2 and "(-144 B)" in text
    man = json.loads((out / "tinygen.json").read_text())
    assert sorted(o["offset"] for o in man["arena_in_place"]) == [-144, 0]
    in_place = man["arena_bytes"]
    assert cli.main(argv + ["--force", "--no-in-place"]) == 0
    assert " in place of " not in capsys.readouterr().out
    man = json.loads((out / "tinygen.json").read_text())
    assert man["arena_in_place"] == [] and man["arena_bytes"] == man["arena_lower_bound"]
    assert in_place < man["arena_bytes"]


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs arm-none-eabi-gcc and qemu-system-arm")
def test_in_place_layers_on_the_emulated_cortex_m4(tmp_path):
    """The same layers built for the Cortex-M4 (ACLE instructions), overlapped as planned
    for it, on QEMU: bit-exact with TFLM."""
    path = tmp_path / "m.tflite"
    path.write_bytes(sandwich(CASES, 41))
    report = verify_cortexm(path, count=2, seed=41, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    man = json.loads((tmp_path / "w" / "tinygen.json").read_text())
    assert {o["layer"] for o in man["arena_in_place"]} == {3 * k + 1 for k in range(len(CASES))}
