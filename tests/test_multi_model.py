"""Several models in one firmware (issue 12, blocker 2).

- `tinygen a.tflite b.tflite [c.tflite] -o OUT`: one project, one copy of the kernels, one
  shared arena; every model's outputs bit-exact with TFLM when the models take turns in one
  program, cross-compiled into ONE Cortex-M4 ELF run on QEMU, and on the host under
  ASan/UBSan.
- Models generated separately: `--runtime-from DIR` links into one ELF (no duplicate kernels)
  and runs bit-exact; a model compiled against another release's runtime stops at `#error`.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain import cortexm
from codegen.toolchain.host import WARNINGS, find_cc
from codegen.cli import main as cli_main
from codegen import multi
from codegen.emit.runtime import RUNTIME_VERSION, version_number
from codegen.errors import ModelError, TinygenError
from codegen.generate import generate
from codegen.reference import make_reference
from codegen.targets import load_target
from codegen.verify import random_inputs
from tests.harness import SHARED_MODELS

HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
SPEECH = SHARED_MODELS / "tflm_micro_speech.tflite"
LSTM = SHARED_MODELS / "tflm_mnist_lstm_int8.tflite"         # persistent state
DNN = SHARED_MODELS / "armkws_dnn_s.tflite"                  # float32 input and output
KWS = SHARED_MODELS / "mlperf_kws_dscnn.tflite"
ROOT = Path(__file__).resolve().parent.parent
COUNT = 3
CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None     # read before the fixture below clears it

_QEMU_MISSING = cortexm.missing_packages(need_qemu=True)
needs_qemu = pytest.mark.skipif(bool(_QEMU_MISSING), reason=(
    f"needs {', '.join(_QEMU_MISSING)}: sudo apt-get install {' '.join(_QEMU_MISSING)}"))
needs_models = pytest.mark.skipif(not all(p.is_file() for p in (HELLO, SPEECH, LSTM, DNN, KWS)),
                                  reason=f"shared models not found in {SHARED_MODELS}")

SETS = {"two": [SPEECH, LSTM], "three": [HELLO, DNN, LSTM]}



@pytest.fixture(autouse=True)
def _no_cmsis_nn_from_environment(monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)


def _vectors_and_wants(programs, paths, seed=0):
    """COUNT random input vectors per model and TFLM's outputs for them (state carried over
    from one vector to the next, as in the generated code)."""
    vectors, wants = [], []
    for m, (program, path) in enumerate(zip(programs, paths)):
        rng = np.random.default_rng(seed + 1000 * m)
        ref = make_reference(path.read_bytes(), program.graph)
        vecs = [random_inputs(program.graph, rng) for _ in range(COUNT)]
        vectors.append(vecs)
        wants.append([ref.run(xs) for xs in vecs])
    return vectors, wants


def _assert_bit_exact(gots, wants, programs):
    for program, got_m, want_m in zip(programs, gots, wants):
        for v, (got, want) in enumerate(zip(got_m, want_m)):
            for k, (g, w) in enumerate(zip(got, want)):
                assert g.dtype == np.asarray(w).dtype
                assert np.array_equal(g.view(np.uint8), np.asarray(w).view(np.uint8)), \
                    f"{program.name}: vector {v} output {k} differs from TFLM"


def _host_run(project: Path, sources: list[str], harness: str, build: Path,
              includes: list[Path] = ()) -> str:
    build.mkdir(parents=True, exist_ok=True)
    (build / "tinygen_verify_main.c").write_text(harness)
    (build / "tg_board.h").write_bytes((cortexm.BOARDS_DIR / "mps2" / "tg_board.h").read_bytes())
    (build / "host_board.c").write_text(multi.HOST_BOARD)
    exe = build / "verify"
    cmd = [find_cc(), *WARNINGS, "-O1", "-g", "-fsanitize=address,undefined",
           "-fno-sanitize-recover=all", f"-I{project}", *[f"-I{d}" for d in includes],
           f"-I{build}", *[str(s) for s in sources], str(build / "tinygen_verify_main.c"),
           str(build / "host_board.c"), "-o", str(exe)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return r.stdout


@needs_models
@pytest.mark.parametrize("which", sorted(SETS))
@pytest.mark.parametrize("where", ["host", "qemu"])
def test_models_in_one_program_bit_exact(tmp_path, which, where):
    """Two and three models in one project, in one program, every output bit-exact."""
    if where == "qemu" and _QEMU_MISSING:
        pytest.skip(f"needs {', '.join(_QEMU_MISSING)}")
    paths = SETS[which]
    target = "cortex-m4" if where == "qemu" else "host"
    out = tmp_path / "models"
    gen = multi.generate_multi(paths, out, target=target, measure=where == "qemu")
    programs = gen.programs
    if where == "qemu":     # measured: the whole project once, each model's share
        assert gen.memory["method"] == "measured"
        assert gen.memory["ram"]["arena"] == max(p.plan.arena_bytes for p in programs)
        assert all(r["flash"] > r["weights"] and r["stack"] > 0 for r in gen.memory["models"])
        assert gen.memory["flash"]["total"] > sum(r["flash"] for r in gen.memory["models"])
    manifest = json.loads((out / "tinygen.json").read_text())
    vectors, wants = _vectors_and_wants(programs, paths)
    harness = multi.harness_source(programs, vectors)
    if where == "host":
        stdout = _host_run(out, [out / s for s in manifest["sources"]], harness, tmp_path / "b")
    else:
        t = load_target(target)
        build = tmp_path / "build"
        build.mkdir()
        (build / "tinygen_verify_main.c").write_text(harness)
        elf, board = cortexm.build_program_elf(out, manifest["sources"],
                                               [build / "tinygen_verify_main.c"], t, build,
                                               name="multi_verify")
        r = cortexm.run_on_emulator(elf, board, timeout=120)
        stdout = r.stdout.decode("ascii", "replace")
        assert r.returncode == 0, stdout[-2000:]
        # ONE ELF: each kernel once, one shared arena as large as the largest model's
        syms = subprocess.run([cortexm.PREFIX + "nm", "-S", str(elf)], capture_output=True,
                              text=True, check=True).stdout
        # the fully connected kernel the target's variant uses (dsp on a Cortex-M4), once
        fc = {layer["kernel"] for m in manifest["models"] for layer in m["layers"]
              if layer["opcode"] == "FULLY_CONNECTED"}
        assert fc and all(len(re.findall(rf" T {k}\n", syms)) == 1 for k in fc), fc
        arena = re.search(r"^[0-9a-f]+ ([0-9a-f]+) [bB] tg_shared_arena$", syms, re.M)
        assert arena and int(arena.group(1), 16) == max(p.plan.arena_bytes for p in programs)
    gots = multi.parse_harness_output(stdout, programs, COUNT)
    _assert_bit_exact(gots, wants, programs)


@needs_models
def test_project_layout_and_manifest(tmp_path):
    paths = SETS["three"]
    out = tmp_path / "p"
    assert cli_main([*map(str, paths), "-o", str(out), "-q"]) == 0
    man = json.loads((out / "tinygen.json").read_text())
    names = [m["name"] for m in man["models"]]
    assert names == ["tflm_hello_world_int8", "armkws_dnn_s", "tflm_mnist_lstm_int8"]
    arenas = [m["arena_bytes"] for m in man["models"]]
    assert man["arena"] == dict(shared=True, symbol="tg_shared_arena", bytes=max(arenas))
    assert man["memory"]["ram"]["arena"] == max(arenas)
    assert [r["name"] for r in man["memory"]["models"]] == names
    # one copy of each kernel: the union of what the models use
    assert man["runtime_modules"] == sorted(man["runtime_modules"])
    assert "tg_lstm" in man["runtime_modules"] and "tg_fully_connected" in man["runtime_modules"]
    assert sorted(p.name for p in out.glob("tg_fully_connected.*")) == \
        ["tg_fully_connected.c", "tg_fully_connected.h"]
    for m in man["models"]:
        name = m["name"]
        assert m["invoke"] == f"{name}_invoke" and m["header"] == f"{name}.h"
        text = (out / f"{name}.c").read_text()
        assert f"#define {name}_arena tg_shared_arena" in text
        assert f"static uint8_t {name}_arena[" not in text
        header = (out / f"{name}.h").read_text()
        assert f"#define {name.upper()}_ARENA_BYTES {m['arena_bytes']}u" in header
    # LSTM state stays the model's own
    lstm_c = (out / "tflm_mnist_lstm_int8.c").read_text()
    assert "static uint8_t tflm_mnist_lstm_int8_state[" in lstm_c
    assert man["models"][2]["reset"] == "tflm_mnist_lstm_int8_reset"
    top = (out / "tinygen_models.h").read_text()
    assert f"#define TINYGEN_MODELS_SHARED_ARENA_BYTES {max(arenas)}u" in top
    readme = (out / "README.md").read_text()
    assert "must never run" in readme and "--separate-arenas" in readme
    for n in names:
        assert f"`{n}`" in readme and f'#include "{n}.h"' in top
    # the example program runs them all, warning-free
    r = subprocess.run(["make", "-s", "EXTRA_CFLAGS=-Werror", "run"], cwd=out,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    # the same models give the same bytes
    again = multi.generate_multi(paths, None, measure=False)
    assert {p: (out / p).read_bytes() for p in again.files} == again.files


@needs_models
def test_separate_arenas(tmp_path):
    out = tmp_path / "p"
    gen = multi.generate_multi(SETS["two"], out, separate_arenas=True, measure=False,
                               selftest=2)
    man = json.loads((out / "tinygen.json").read_text())
    total = sum(p.plan.arena_bytes for p in gen.programs)
    assert man["arena"] == dict(shared=False, symbol=None, bytes=total)
    assert not (out / "tinygen_models.c").exists()
    for p in gen.programs:
        assert f"static uint8_t {p.name}_arena[" in (out / f"{p.name}.c").read_text()
    # the self-tests of both models pass in one program
    r = subprocess.run(["make", "-s", "EXTRA_CFLAGS=-Werror", "run"], cwd=out,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@needs_models
def test_same_stem_is_a_clear_error(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        shutil.copy(HELLO, tmp_path / d / "net.tflite")
    with pytest.raises(ModelError, match=r"two models would both be named 'net'.*rename"):
        multi.generate_multi([tmp_path / "a/net.tflite", tmp_path / "b/net.tflite"], None,
                             measure=False)
    # a model whose files another model's would overwrite (x and x_data)
    shutil.copy(HELLO, tmp_path / "x.tflite")
    shutil.copy(HELLO, tmp_path / "x_data.tflite")
    with pytest.raises(ModelError, match=r"x_data\.h.*rename"):
        multi.generate_multi([tmp_path / "x.tflite", tmp_path / "x_data.tflite"], None,
                             measure=False)
    shutil.copy(HELLO, tmp_path / "tinygen_models.tflite")
    with pytest.raises(ModelError, match=r"'tinygen_models' belongs to the project files"):
        multi.generate_multi([tmp_path / "tinygen_models.tflite", SPEECH], None, measure=False)
    out = tmp_path / "out"
    assert cli_main([str(tmp_path / "a/net.tflite"), str(tmp_path / "b/net.tflite"),
                     "-o", str(out)]) == 2
    assert not out.exists()
    assert cli_main([str(HELLO), str(SPEECH), "--name", "x", "-o", str(out)]) == 2
    assert cli_main([str(HELLO), "--separate-arenas", "-o", str(out)]) == 2


# ---------------------------------------------------------------- separately generated
def _syntax_check(c_file: Path, includes: list[Path]) -> subprocess.CompletedProcess:
    return subprocess.run([find_cc(), *WARNINGS, "-fsyntax-only",
                           *[f"-I{d}" for d in includes], str(c_file)],
                          capture_output=True, text=True)


def test_runtime_version_matches_tinygen():
    text = (ROOT / "runtime_c" / "tg_common.h").read_text()
    from codegen import __version__
    assert f"#define TG_RUNTIME_VERSION {RUNTIME_VERSION}\n" in text
    assert f'#define TG_RUNTIME_VERSION_STRING "{__version__}"' in text
    assert version_number("1.2.3") == 10203 and version_number("0.10.0.dev1") == 1000
    # every runtime header gets the version through tg_common.h
    for h in (ROOT / "runtime_c").glob("tg_*.h"):
        if h.name != "tg_common.h":
            assert '#include "tg_common.h"' in h.read_text(), h.name


@needs_models
def test_mixing_tinygen_versions_stops_the_build(tmp_path, monkeypatch):
    a = tmp_path / "a"
    generate(SPEECH, a, measure=False)
    assert _syntax_check(a / "tflm_micro_speech.c", [a]).returncode == 0
    # a model file from another tinygen release, against this runtime
    from codegen.emit import render
    monkeypatch.setattr(render, "RUNTIME_VERSION", RUNTIME_VERSION + 1)
    b = tmp_path / "b"
    gen = generate(HELLO, None, name="other", measure=False)
    b.mkdir()
    for f, data in gen.files.items():
        if f.startswith("other"):
            (b / f).write_bytes(data)
    r = _syntax_check(b / "other.c", [b, a])
    assert r.returncode != 0
    assert "#error" in r.stderr and "from another tinygen release" in r.stderr
    # and this release's model file against an older runtime folder
    old = tmp_path / "old"
    shutil.copytree(a, old)
    common = old / "tg_common.h"
    common.write_text(common.read_text().replace(
        f"#define TG_RUNTIME_VERSION {RUNTIME_VERSION}", "#define TG_RUNTIME_VERSION 1"))
    r = _syntax_check(old / "tflm_micro_speech.c", [old])
    assert r.returncode != 0 and "another tinygen release" in r.stderr


@needs_models
@needs_qemu
def test_separately_generated_folders_link_into_one_elf(tmp_path):
    """The issue's case: mlperf_kws_dscnn and tflm_micro_speech generated one after another
    into two folders, the second with --runtime-from the first: one ELF, bit-exact.  The
    first keeps every kernel path (--all-kernel-paths): without, it has only those kws's
    layers take, and the second is refused (tests/test_kernel_config.py)."""
    a, b = tmp_path / "kws", tmp_path / "speech"
    ga = generate(KWS, a, target="cortex-m4", measure=False, all_kernel_paths=True)
    gb = generate(SPEECH, b, target="cortex-m4", runtime_from=a)
    man_a = json.loads((a / "tinygen.json").read_text())
    man_b = json.loads((b / "tinygen.json").read_text())
    assert not list(b.glob("tg_*")), "the second folder must carry no kernels"
    assert man_b["runtime_from"]["dir"] == "../kws"
    assert man_b["include_dirs"] == [".", "../kws"]
    assert man_b["memory"]["method"] == "measured"     # measured with the kernels it uses
    t = load_target("cortex-m4")
    build = tmp_path / "build"
    objs = cortexm.compile_objects(a, man_a["sources"], build / "a", t)
    objs += cortexm.compile_objects(b, man_b["sources"], build / "b", t, extra_flags=[f"-I{a}"])
    programs = [ga.program, gb.program]
    vectors, wants = _vectors_and_wants(programs, [KWS, SPEECH])
    main = build / "tinygen_verify_main.c"
    main.write_text(multi.harness_source(programs, vectors))
    board = cortexm.emulated_board(t)
    mo = build / "main.o"
    subprocess.run([cortexm.PREFIX + "gcc", *WARNINGS, *t["cpu_flags"], "-O2", f"-I{a}",
                    f"-I{b}", f"-I{cortexm.BOARDS_DIR / board['board_support']}", "-c",
                    str(main), "-o", str(mo)], check=True)
    elf = cortexm.link_for_board([mo, *objs], board, t, build / "two.elf")
    r = cortexm.run_on_emulator(elf, board, timeout=120)
    stdout = r.stdout.decode("ascii", "replace")
    assert r.returncode == 0, stdout[-2000:]
    _assert_bit_exact(multi.parse_harness_output(stdout, programs, COUNT), wants, programs)
    # and its own Makefile builds its example against the other folder's kernels
    r = subprocess.run(["make", "-s", "-C", str(b), "EXTRA_CFLAGS=-Werror"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@needs_models
def test_runtime_from_checks_the_folder(tmp_path):
    a = tmp_path / "a"
    generate(SPEECH, a, measure=False)
    # the LSTM needs kernels the micro_speech folder does not have
    with pytest.raises(TinygenError, match=r"tg_lstm\.c.*does not have.*tinygen runtime"):
        generate(LSTM, tmp_path / "b", runtime_from=a, measure=False)
    with pytest.raises(TinygenError, match="the output folder itself"):
        generate(HELLO, a, runtime_from=a, measure=False)
    with pytest.raises(TinygenError, match="no tinygen.json"):
        generate(HELLO, tmp_path / "b", runtime_from=tmp_path, measure=False)
    edited = tmp_path / "edited"
    shutil.copytree(a, edited)
    (edited / "tg_fully_connected.c").write_text("/* edited */\n")
    with pytest.raises(TinygenError, match=r"tg_fully_connected\.c.*differ"):
        generate(HELLO, tmp_path / "b", runtime_from=edited, measure=False)
    man = json.loads((a / "tinygen.json").read_text())
    man["version"] = "0.0.1"
    old = tmp_path / "old"
    shutil.copytree(a, old)
    (old / "tinygen.json").write_text(json.dumps(man))
    with pytest.raises(TinygenError, match=r"generated by tinygen 0\.0\.1"):
        generate(HELLO, tmp_path / "b", runtime_from=old, measure=False)
    # a full runtime folder serves every model
    rt = tmp_path / "rt"
    assert cli_main(["runtime", "-o", str(rt)]) == 0
    b = tmp_path / "lstm"
    assert cli_main([str(LSTM), "--runtime-from", str(rt), "-o", str(b), "-q"]) == 0
    assert (b / "tflm_mnist_lstm_int8.c").is_file() and not list(b.glob("tg_*"))
    r = subprocess.run(["make", "-s", "-C", str(b), "EXTRA_CFLAGS=-Werror", "run"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    if shutil.which("cmake"):     # CMakeLists.txt finds the kernels in the other folder too
        for cmd in (["cmake", "-S", str(b), "-B", str(tmp_path / "cb"), "-DCMAKE_C_FLAGS=-Werror"],
                    ["cmake", "--build", str(tmp_path / "cb")],
                    [str(tmp_path / "cb" / "tflm_mnist_lstm_int8_example")]):
            r = subprocess.run(cmd, capture_output=True, text=True)
            assert r.returncode == 0, r.stdout + r.stderr


@needs_models
@needs_qemu
@pytest.mark.skipif(CMSIS_NN is None, reason="set CMSIS_NN_PATH to a CMSIS-NN folder")
def test_models_with_cmsis_nn_in_one_elf(tmp_path):
    """With CMSIS-NN: the union of the CMSIS-NN sources the models need, built once; every
    model's golden self-test passes in one program on the emulated Cortex-M4."""
    out = tmp_path / "p"
    gen = multi.generate_multi([SPEECH, LSTM], out, target="cortex-m4", cmsis_nn=CMSIS_NN,
                               selftest=2, measure=False)
    man = json.loads((out / "tinygen.json").read_text())
    want = sorted({s for p in gen.programs for s in p.libraries["cmsis_nn"]["sources"]})
    assert man["cmsis_nn"]["sources"] == want
    assert cortexm.run_selftest_on_emulator(out, "cortex-m4", cmsis_nn=CMSIS_NN) == 0


@needs_models
def test_verify_several_models_cli(capsys):
    """`tinygen verify a b`: one program, the models taking turns, a table per model."""
    assert cli_main(["verify", str(HELLO), str(LSTM), "--count", "2", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert text.count("result: BIT-EXACT") == 2
    assert "2 models in one program, shared arena" in text
    assert cli_main(["verify", str(HELLO), "--separate-arenas"]) == 2


@needs_models
def test_model_wide_options_reach_every_model(tmp_path, capsys):
    """--kernels, --no-in-place, --no-fuse-residual and --compress apply to every model of a
    several-model project (they used to be dropped without a word); options naming one
    model's layers, or for one model at a time, are refused with what to do instead."""
    out = tmp_path / "out"
    assert cli_main([str(SPEECH), str(DNN), "--target", "cortex-m4", "--kernels", "portable",
                     "-o", str(out), "-q"]) == 0
    man = json.loads((out / "tinygen.json").read_text())
    kernels = {layer["kernel"] for m in man["models"] for layer in m["layers"]}
    assert kernels and all(k.startswith("tg_") and "dsp" not in k for k in kernels), kernels
    default = multi.generate_multi([SPEECH, DNN], None, target="cortex-m4", measure=False)
    portable = multi.generate_multi([SPEECH, DNN], None, target="cortex-m4", measure=False,
                                    kernels=["portable"])
    assert any(layer.call.variant == "dsp" for p in default.programs for layer in p.layers)
    assert all(layer.call.variant == "portable" for p in portable.programs
               for layer in p.layers)
    bad = tmp_path / "bad"
    for flags, what in ((["--kernel", "0=portable"], "--kernel N=..."),
                        (["--compress-layer", "0=int4"], "--compress-layer N=..."),
                        (["--profile"], "--profile")):
        capsys.readouterr()
        assert cli_main([str(SPEECH), str(DNN), *flags, "-o", str(bad)]) == 2
        assert what in capsys.readouterr().err
        assert not bad.exists()
    assert cli_main(["verify", str(SPEECH), str(DNN), "--layers"]) == 2
