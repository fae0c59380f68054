"""--profile (per-layer timing in the generated code, and on the emulator with verify), and
verify on the emulator splitting many vectors over several runs when they do not fit flash."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import jinja2
import numpy as np
import pytest

from codegen import progress
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from codegen.toolchain.host import find_cc
from codegen.cli import main as cli_main
from codegen.emit import render
from codegen.errors import TinygenError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.profile import ICOUNT_SHIFT, ticks_to_instructions

STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]
_QEMU_MISSING = cortexm.missing_packages(need_qemu=True)
_ARM_MISSING = cortexm.missing_packages(need_qemu=False)
needs_qemu = pytest.mark.skipif(bool(_QEMU_MISSING),
                                reason=f"needs {', '.join(_QEMU_MISSING)} (run setup.sh)")
needs_arm = pytest.mark.skipif(bool(_ARM_MISSING),
                               reason=f"needs {', '.join(_ARM_MISSING)} (run setup.sh)")


@pytest.fixture(autouse=True)
def _portable_kernels(monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)


def fc_chain(widths: list[int], seed: str = "profile") -> bytes:
    """FULLY_CONNECTED layers widths[0] -> widths[1] -> ..., int8, random weights."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    scale = 0.05
    cur = m.tensor("x_in", (1, widths[0]), "int8", scale=scale, zero_point=-3)
    m.inputs = [cur]
    for k, (d, u) in enumerate(zip(widths, widths[1:])):
        w_scale = float(rng.uniform(0.002, 0.02))
        w = m.const(f"w{k}", rng.integers(-127, 128, (u, d)), "int8", scale=w_scale,
                    zero_point=0)
        b = m.const(f"b{k}", rng.integers(-2000, 2000, (u,)), "int32", scale=scale * w_scale,
                    zero_point=0)
        y_scale = float(rng.uniform(0.05, 0.3))
        y = m.tensor(f"y{k}", (1, u), "int8", scale=y_scale, zero_point=int(rng.integers(-20, 20)))
        m.op("FULLY_CONNECTED", [cur, w, b], [y], {"fused_activation_function": 1})
        cur, scale = y, y_scale
    m.outputs = [cur]
    return m.build()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("profile_model") / "fcnet.tflite"
    p.write_bytes(fc_chain([256, 64, 32, 10]))
    return p


def _strip_profile_blocks(source: str) -> str:
    """A template without its `{% if profile %} ... {% endif %}` blocks (nested ifs kept
    balanced): what the template was before --profile."""
    out, depth, skip_at = [], 0, None
    for line in source.splitlines(keepends=True):
        s = line.strip()
        opens = s.startswith("{% if ")
        closes = s.startswith("{% endif")
        if opens:
            depth += 1
            if skip_at is None and s == "{% if profile %}":
                skip_at = depth
                continue
        if closes:
            if skip_at == depth:
                skip_at = None
                depth -= 1
                continue
            depth -= 1
        if skip_at is None:
            out.append(line)
    return "".join(out)


def test_without_profile_the_code_is_what_the_templates_gave_before(model, monkeypatch):
    """--profile only adds `{% if profile %}` blocks: without it every file is byte for byte
    what the templates without those blocks render."""
    plain = generate(model, None, target="cortex-m4", measure=False).files
    assert "tg_profile.h" not in plain
    assert "profile" not in json.loads(plain["tinygen.json"])

    real_env = render.template_env

    def stripped_env():
        env = real_env()
        loader = env.loader

        class Stripped(jinja2.BaseLoader):
            def get_source(self, environment, template):
                src, path, up = loader.get_source(environment, template)
                return _strip_profile_blocks(src), path, up
        return jinja2.Environment(loader=Stripped(), trim_blocks=True, lstrip_blocks=True,
                                  keep_trailing_newline=True, undefined=jinja2.StrictUndefined,
                                  autoescape=False)

    monkeypatch.setattr(render, "template_env", stripped_env)
    before = generate(model, None, target="cortex-m4", measure=False).files
    assert before == plain
    # and the stripping is not vacuous: the profiled project differs in the model files
    monkeypatch.undo()
    profiled = generate(model, None, target="cortex-m4", measure=False, profile=True).files
    assert profiled["fcnet.c"] != plain["fcnet.c"] and "tg_profile.h" in profiled


def _layer_numbers(c_source: str) -> list[int]:
    """The numbers of the layer comments inside <name>_invoke()."""
    body = c_source[c_source.index("_invoke("):]
    return [int(n) for n in re.findall(r"^    /\* Layer (\d+):", body, flags=re.M)]


def test_profile_table_on_the_host_with_a_user_timer(model, tmp_path):
    """A user timer through TG_PROFILE_CONFIG, counting its own reads: every layer then takes
    exactly one tick, the table's layer numbers are those of the .c comments, and
    <name>_profile_print prints the table through the given function."""
    out = tmp_path / "proj"
    gen = generate(model, out, target="host", profile=True)
    manifest = json.loads((out / "tinygen.json").read_text())
    assert manifest["profile"]["print"] == "fcnet_profile_print"
    numbers = _layer_numbers((out / "fcnet.c").read_text())
    assert numbers == [layer["index"] for layer in manifest["layers"]] == [0, 1, 2]
    (tmp_path / "my_timer.h").write_text(
        "#include <stdint.h>\n"
        "extern uint32_t my_reads;\n"
        "#define TG_PROFILE_TIMER() (++my_reads)\n"
        "#define TG_PROFILE_UNIT \"reads of my timer\"\n")
    (tmp_path / "main.c").write_text(
        "#include <stdio.h>\n#include <stdint.h>\n#include \"fcnet.h\"\n"
        "uint32_t my_reads;\n"
        "int main(void)\n{\n"
        "    static int8_t x[FCNET_X_IN_ELEMENTS], y[FCNET_Y2_ELEMENTS];\n"
        "    const fcnet_profile_t *p = fcnet_profile();\n"
        "    unsigned k;\n"
        "    if (fcnet_invoke(x, y) != 0 || fcnet_invoke(x, y) != 0) return 1;\n"
        "    for (k = 0; k < FCNET_PROFILE_LAYERS; ++k)\n"
        "        printf(\"row %u %s %s %lu %lu\\n\", (unsigned)p[k].layer, p[k].op, p[k].kernel,\n"
        "               (unsigned long)p[k].macs, (unsigned long)p[k].cycles);\n"
        "    printf(\"total %lu\\n\", (unsigned long)fcnet_profile_total());\n"
        "    fcnet_profile_print(printf);\n"
        "    return 0;\n}\n")
    exe = tmp_path / "main"
    sources = [str(out / s) for s in manifest["sources"]]
    subprocess.run([find_cc(), *STRICT, "-O1", f"-I{out}", f"-I{tmp_path}",
                    '-DTG_PROFILE_CONFIG="my_timer.h"', str(tmp_path / "main.c"), *sources,
                    "-lm", "-o", str(exe)], check=True, capture_output=True)
    text = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in text.splitlines() if line.startswith("row ")]
    assert rows == [["row", str(layer["index"]), layer["opcode"], layer["kernel"],
                     f"({layer['variant']})", str(layer["macs"]), "1"]
                    for layer in manifest["layers"]]
    assert "total 3" in text
    assert "fcnet: per-layer profile of the last inference, in reads of my timer" in text
    table = [line.split() for line in text.splitlines() if re.match(r"\s+\d+\s+FULLY", line)]
    assert [r[0] for r in table] == ["0", "1", "2"]
    macs = [layer["macs"] for layer in manifest["layers"]]
    assert [r[4] for r in table] == [str(m) for m in macs]
    assert [r[6] for r in table] == [f"{1 / m:.2f}" for m in macs]   # ticks per MAC
    assert re.search(rf"total\s+{sum(macs)}\s+3\s*$", text, flags=re.M)
    assert gen.program.macs == sum(macs)


def test_profile_default_timer_builds_everywhere(model, tmp_path):
    """Default timers: clock() on the host (gcc and clang, strict), the DWT cycle counter
    on ARMv7-M/v8-M Mainline (its registers in the preprocessed code), none on ARMv6-M;
    warning-free for every core."""
    out = tmp_path / "proj"
    generate(model, out, target="host", profile=True, measure=False)
    src = out / "fcnet.c"
    for cc in ("gcc", "clang"):
        r = subprocess.run([cc, *STRICT, "-O2", f"-I{out}", "-E", str(src)],
                           capture_output=True, text=True)
        if r.returncode == 127:
            continue
        assert r.returncode == 0, r.stderr
        assert "clock()" in r.stdout
        subprocess.run([cc, *STRICT, "-O2", f"-I{out}", "-c", str(src), "-o",
                        str(tmp_path / f"h_{cc}.o")], check=True, capture_output=True)
    if shutil.which("cppcheck"):
        from tests.test_hostile_cclean import CPPCHECK
        r = subprocess.run([*CPPCHECK, f"-I{out}", str(src)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
    if _ARM_MISSING:
        return
    cores = {"cortex-m0plus": False, "cortex-m3": True, "cortex-m4": True, "cortex-m7": True,
             "cortex-m33": True, "cortex-m55": True}
    from codegen.targets import load_target
    projects = {}
    for core in ("cortex-m4", "cortex-m7"):     # the others' code is the M4's
        projects[core] = tmp_path / core
        generate(model, projects[core], target=core, profile=True, measure=False)
        code = (projects[core] / "fcnet.c").read_text()
        assert ("#define TG_PROFILE_DWT_UNLOCK" in code) == (core == "cortex-m7")
    for core, dwt in cores.items():
        t = load_target(core)
        proj = projects.get(core, projects["cortex-m4"])
        flags = [*STRICT, *t["cpu_flags"], "-O2", f"-I{proj}"]
        pre = subprocess.run(["arm-none-eabi-gcc", *flags, "-E", str(proj / "fcnet.c")],
                             capture_output=True, text=True, check=True).stdout
        body = pre[pre.index("int fcnet_invoke("):]
        assert ("0xE0001004u" in body and "0xE000EDFCu" in body) == dwt, core
        subprocess.run(["arm-none-eabi-gcc", *flags, "-c", str(proj / "fcnet.c"), "-o",
                        str(tmp_path / f"{core}.o")], check=True, capture_output=True)


@needs_qemu
def test_verify_profile_on_the_emulator(model):
    """The emulator table: instructions counted by QEMU (-icount), identical in two runs,
    summing to the whole invoke call's count up to the call's own overhead."""
    reports = [verify_cortexm(model, count=2, seed=s, target="cortex-m4", profile=True)
               for s in (0, 0)]
    for rep in reports:
        assert rep.ok and rep.profile is not None
        prof = rep.profile
        assert prof.inferences == 2 and all(len(r.counts) == 2 for r in prof.rows)
        assert [r.layer for r in prof.rows] == [0, 1, 2]
        # SMLAD does two MACs: at least one instruction per two MACs, whatever the kernel
        assert all(2 * c > r.macs for r in prof.rows for c in r.counts)
        for v in range(2):
            layer_sum = sum(r.counts[v] for r in prof.rows)
            assert 0 < prof.totals[v] - layer_sum < 100, (prof.totals[v], layer_sum)
        table = prof.table()
        assert "instructions (QEMU icount)" in table and "cycles" not in table
        # the kernel column names the function and its variant (dsp on a Cortex-M4)
        assert re.search(r"^\s+2\s+FULLY_CONNECTED\s+tg_dsp_gemm_s8 \(dsp\)\s+320\s",
                         table, flags=re.M), table
    assert reports[0].profile.to_json() == reports[1].profile.to_json()
    # the biggest layer (256x64 MACs) takes the most instructions
    counts = [r.counts[0] for r in reports[0].profile.rows]
    assert counts[0] == max(counts)


def test_ticks_to_instructions():
    # 25 MHz timer: 40 ns per tick; 2**7 ns per instruction
    assert ICOUNT_SHIFT == 7
    assert ticks_to_instructions(32) == 10
    assert ticks_to_instructions(3200) == 1000
    assert ticks_to_instructions(0) == 0


def big_input_model() -> bytes:
    """4096 int8 inputs (4 KB per vector in flash) into one small FULLY_CONNECTED layer."""
    return fc_chain([4096, 4], seed="big-input")


@needs_qemu
def test_verify_splits_vectors_over_runs_when_flash_is_small(tmp_path):
    """With the flash cut to 64 KB (the linker enforces it), 14 vectors of 4 KB do not fit one
    program: verify runs several and compares every output of every run."""
    p = tmp_path / "wide.tflite"
    p.write_bytes(big_input_model())
    rep = verify_cortexm(p, count=14, seed=1, target="cortex-m4",
                                 flash_bytes=64 * 1024)
    assert rep.ok
    assert rep.outputs[0].compared == 14 * 4
    runs = [n for n in rep.notes if "emulator runs" in n]
    assert len(runs) == 1
    n_runs = int(re.search(r"in (\d+) emulator runs", runs[0]).group(1))
    assert n_runs >= 2
    # a flash smaller than the program itself: a clear error, not a linker message
    with pytest.raises(TinygenError, match="too large to verify"):
        verify_cortexm(p, count=2, target="cortex-m4", flash_bytes=16 * 1024)


@needs_qemu
def test_runs_are_planned_from_the_measured_flash(tmp_path, monkeypatch):
    """The plan fills each run: every run but the last holds the most vectors that fit."""
    p = tmp_path / "wide.tflite"
    p.write_bytes(big_input_model())
    seen = {}
    real = cortexm.EmulatorRuns.plan_runs

    def spy(self, vectors):
        real(self, vectors)
        seen["used"] = cortexm.flash_used(self.build / "wide_verify_probe.elf")
        seen["plan"] = list(self.plan)
        seen["limit"] = self.flash_limit

    monkeypatch.setattr(cortexm.EmulatorRuns, "plan_runs", spy)
    rep = verify_cortexm(p, count=11, seed=2, target="cortex-m4",
                                 flash_bytes=48 * 1024)
    assert rep.ok and rep.outputs[0].compared == 11 * 4
    free = seen["limit"] - seen["used"] - cortexm.EmulatorRuns.SLACK
    per = 1 + free // 4096
    assert 1 < per < 11
    assert seen["plan"][0] == (0, per)
    assert seen["plan"][-1][1] == 11 and len(seen["plan"]) == -(-11 // per)


@needs_qemu
def test_runs_are_capped_by_macs(model, monkeypatch):
    """A cap on MACs per run splits the vectors (here of a small model, on the full flash,
    where one run would do otherwise: test_verify_profile_on_the_emulator)."""
    monkeypatch.setattr(cortexm.EmulatorRuns, "RUN_MACS", 2 * 18752)
    rep = verify_cortexm(model, count=5, target="cortex-m4", profile=True)
    assert rep.ok and rep.outputs[0].compared == 5 * 10
    assert "5 vectors in 3 emulator runs of up to 2 (at most 2 inferences of this model per " \
           "run)" in rep.notes
    assert rep.profile.inferences == 5 and all(len(r.counts) == 5 for r in rep.profile.rows)


def test_profile_total_unwraps_the_timer():
    from codegen.profile import ProfileReport

    manifest = {"layers": [dict(index=k, opcode="CONV_2D", kernel="tg_conv_s8",
                                variant="portable", macs=10) for k in range(3)]}
    prof = ProfileReport.for_manifest(manifest)
    big = 2_000_000_000                         # three layers: 6e9 ticks, the timer wrapped
    wrapped = (3 * big + 320) % (1 << 32)
    prof.add_run([["TGP", "0", str(k), str(big)] for k in range(3)] +
                 [["TGP", "0", "T", str(wrapped)]])
    assert prof.totals == [ticks_to_instructions(3 * big + 320)]
    assert [r.counts for r in prof.rows] == [[ticks_to_instructions(big)]] * 3
    with pytest.raises(TinygenError, match="incomplete profile"):
        prof.add_run([["TGP", "1", "0", "5"], ["TGP", "1", "T", "5"]])


def test_cli_profile_on_host_says_it_needs_a_cortex_m_target(model, capsys):
    assert cli_main(["verify", str(model), "--profile", "--count", "1"]) == 2
    err = capsys.readouterr().err
    assert "--target cortex-m4" in err and "_profile_print" in err


def test_cli_progress_on_stderr_and_quiet(model, capsys):
    assert cli_main(["verify", str(model), "--count", "2"]) == 0
    err = capsys.readouterr().err
    assert "tinygen: verify: vector 2/2" in err
    assert not progress.enabled()          # only for the command
    assert cli_main(["verify", str(model), "--count", "2", "-q"]) == 0
    assert capsys.readouterr().err == ""
