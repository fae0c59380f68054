"""Cortex-M targets: target data, generated build files, CubeIDE drop-in, self-test,
memory report and board fit, and bit-exact verify on the emulated Cortex-M4 (QEMU).

Tests that need the Arm toolchain, QEMU, make or cmake skip with a message saying
which Debian package to install when it is missing (setup.sh installs them all).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain import cortexm
from codegen.cli import main as cli_main
from codegen.errors import DoesNotFitError, TinygenError
from codegen.footprint import check_fit
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.targets import available_targets, load_target
from codegen.verify import verify_cortexm
from tests.harness import SHARED_MODELS

ROOT = Path(__file__).resolve().parent.parent
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None     # read before the fixture below clears it


def _skip_reason(packages: list[str]) -> str:
    return (f"needs {', '.join(packages)}: sudo apt-get install {' '.join(packages)} "
            "(or run setup.sh as root)")


_ARM_MISSING = cortexm.missing_packages(need_qemu=False)
_QEMU_MISSING = cortexm.missing_packages(need_qemu=True)
needs_arm = pytest.mark.skipif(bool(_ARM_MISSING), reason=_skip_reason(_ARM_MISSING))
needs_qemu = pytest.mark.skipif(bool(_QEMU_MISSING), reason=_skip_reason(_QEMU_MISSING))
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason=_skip_reason(["make"]))
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason=_skip_reason(["cmake"]))
needs_hello = pytest.mark.skipif(not HELLO.is_file(), reason=f"shared model {HELLO} not found")


@pytest.fixture(autouse=True)
def _no_cmsis_nn_from_environment(monkeypatch):
    """The CLI takes CMSIS_NN_PATH as a default: these tests are about tinygen's own kernels
    (the CMSIS-NN ones at the end pass the folder explicitly)."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)


# ---------------------------------------------------------------- test models
def fc_stack(seed: str, widths: list[int], batches: int = 1, per_channel: bool = False,
             acts: list[int] | None = None, reshape: bool = False, in_zp: int | None = None,
             out_zp: int | None = None) -> bytes:
    """A stack of FULLY_CONNECTED layers widths[0] -> widths[1] -> ... with random weights."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    scale = float(rng.uniform(0.01, 0.1))
    zp = int(rng.integers(-128, 128)) if in_zp is None else in_zp
    x = m.tensor("x_in", (batches, widths[0]), "int8", scale=scale, zero_point=zp)
    first = x
    if reshape:  # model input is [batches, a, b]; a RESHAPE flattens it (aliased, no copy)
        a = 2 if widths[0] % 2 == 0 else 1
        first = m.tensor("x_in3d", (batches, a, widths[0] // a), "int8", scale=scale, zero_point=zp)
        m.op("RESHAPE", [first, m.const("shape", np.array([batches, widths[0]]), "int32")], [x])
    cur = x
    for k, (d, u) in enumerate(zip(widths, widths[1:])):
        n = u if per_channel else 1
        w_scales = rng.uniform(0.002, 0.04, n)
        w = m.const(f"w{k}", rng.integers(-127, 128, (u, d)), "int8", scale=w_scales,
                    zero_point=[0] * n, axis=0)
        b = m.const(f"b{k}", rng.integers(-3000, 3000, (u,)), "int32", scale=scale * w_scales,
                    zero_point=[0] * n)
        last = k == len(widths) - 2
        y_zp = (out_zp if out_zp is not None else int(rng.integers(-128, 128))) if last \
            else int(rng.integers(-128, 128))
        y_scale = float(rng.uniform(0.05, 0.5))
        y = m.tensor(f"y{k}", (batches, u), "int8", scale=y_scale, zero_point=y_zp)
        act = (acts or [1])[k % len(acts or [1])]
        m.op("FULLY_CONNECTED", [cur, w, b], [y], {"fused_activation_function": act})
        cur, scale = y, y_scale
    m.inputs, m.outputs = [first], [cur]
    return m.build()


def write_model(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / f"{name}.tflite"
    p.write_bytes(data)
    return p


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None) -> str:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed ({r.returncode}):\n" \
                              f"{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r.stdout + r.stderr


# ---------------------------------------------------------------- targets as data
CORES = ["cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"]
BOARDS = {"nucleo-l4r5zi": ("cortex-m4", 2 << 20, 640 << 10),
          "nucleo-f446re": ("cortex-m4", 512 << 10, 128 << 10),
          "stm32f746g-disco": ("cortex-m7", 1 << 20, 320 << 10),
          "stm32h743": ("cortex-m7", 2 << 20, 512 << 10),
          "mps2-an386": ("cortex-m4", 4 << 20, 4 << 20)}


def test_targets_are_data():
    names = available_targets()
    for core in CORES:
        t = load_target(core)
        assert t["kind"] == "cortex-m" and not t["is_board"]
        assert t["cpu_flags"][:2] == [f"-mcpu={t['mcpu']}", "-mthumb"]
        assert f"-mfloat-abi={t['float_abi']}" in t["cpu_flags"]
        assert t["kernels"] and t["arena_alignment"] >= 4
        assert t["has_fpu"] == (t["float_abi"] != "soft")
    assert load_target("cortex-m4")["has_dsp"] and not load_target("cortex-m0plus")["has_dsp"]
    assert load_target("cortex-m55")["has_mve"] and not load_target("cortex-m7")["has_mve"]
    for board, (core, flash, ram) in BOARDS.items():
        assert board in names
        # a board without its own arena_alignment or kernels keeps its core's
        b, c = load_target(board), load_target(core)
        assert (b["arena_alignment"], b["kernels"]) == (c["arena_alignment"], c["kernels"])
        t = load_target(board)
        assert t["is_board"] and t["core_name"] == core
        assert (t["flash_bytes"], t["ram_bytes"]) == (flash, ram)
        assert t["mcpu"] == load_target(core)["mcpu"]        # inherited from the core
    # a board overrides a core field: the F746 has the single-precision FPv5
    assert "-mfpu=fpv5-sp-d16" in load_target("stm32f746g-disco")["cpu_flags"]
    assert "-mfpu=fpv5-d16" in load_target("stm32h743")["cpu_flags"]
    with pytest.raises(TinygenError, match="unknown target 'cortex-m99'"):
        load_target("cortex-m99")


def test_targets_command_lists_everything(capsys):
    assert cli_main(["targets"]) == 0
    out = capsys.readouterr().out
    for name in CORES + list(BOARDS) + ["host"]:
        assert re.search(rf"^  {re.escape(name)}\s", out, re.M), name


def test_board_option_checks_it_is_a_board(tmp_path, capsys):
    model = write_model(tmp_path, "fc", fc_stack("board-opt", [8, 4]))
    assert cli_main([str(model), "--board", "cortex-m4", "-o", str(tmp_path / "o")]) == 2
    assert "is a core, not a board" in capsys.readouterr().err
    assert cli_main([str(model), "--board", "nucleo-f446re", "--target", "cortex-m7",
                     "-o", str(tmp_path / "o")]) == 2
    assert "cortex-m4 core" in capsys.readouterr().err


# ---------------------------------------------------------------- verify on QEMU
VERIFY_MODELS = {
    "fc_small": dict(widths=[1, 16, 16, 1], acts=[1, 1, 0]),
    "fc_per_channel_batches": dict(widths=[33, 20, 7], batches=3, per_channel=True, acts=[3, 2]),
    "fc_reshape_zp_extremes": dict(widths=[24, 10], reshape=True, in_zp=-128, out_zp=127, acts=[0]),
}


@needs_qemu
@pytest.mark.parametrize("name", sorted(VERIFY_MODELS))
def test_verify_cortex_m4_fc_models(name, tmp_path):
    model = write_model(tmp_path, name, fc_stack(name, **VERIFY_MODELS[name]))
    report = verify_cortexm(model, count=4, seed=3, target="cortex-m4")
    assert report.ok, report.table()
    assert "mps2-an386" in report.target
    assert [o.compared for o in report.outputs] == [4 * int(np.prod(o)) for o in
                                                    [(VERIFY_MODELS[name].get("batches", 1),
                                                      VERIFY_MODELS[name]["widths"][-1])]]


@needs_qemu
@needs_hello
def test_verify_cli_cortex_m4_hello_world(capsys):
    assert cli_main(["verify", str(HELLO), "--target", "cortex-m4", "--count", "8"]) == 0
    out = capsys.readouterr().out
    assert "on cortex-m4 (QEMU mps2-an386)" in out and "BIT-EXACT" in out
    # the same table as the host verify
    assert cli_main(["verify", str(HELLO), "--count", "8"]) == 0
    host = capsys.readouterr().out
    header = lambda s: [ln for ln in s.splitlines() if "compared" in ln]  # noqa: E731
    assert header(out) == header(host)


@needs_qemu
@needs_hello
@pytest.mark.parametrize("target", ["nucleo-l4r5zi", "cortex-m3", "stm32f746g-disco"])
def test_verify_boards_and_other_emulated_cores(target):
    report = verify_cortexm(HELLO, count=3, seed=1, target=target)
    assert report.ok, report.table()


def test_verify_refuses_cores_without_emulator(tmp_path):
    model = write_model(tmp_path, "fc", fc_stack("noemu", [4, 4]))
    with pytest.raises(TinygenError, match="no emulated board runs cortex-m0plus"):
        verify_cortexm(model, count=1, target="cortex-m0plus")


@needs_qemu
def test_verify_reports_a_mismatch(tmp_path, monkeypatch):
    """The comparison is real: perturb TFLM's answer and verify must fail, with the diff."""
    from codegen import reference

    real_run = reference.TflmReference.run

    def off_by_one(self, inputs):
        outs = real_run(self, inputs)
        outs[0] = outs[0].copy()
        outs[0].reshape(-1)[0] = np.int8(outs[0].reshape(-1)[0] ^ 1)
        return outs

    monkeypatch.setattr(reference.TflmReference, "run", off_by_one)
    model = write_model(tmp_path, "fc", fc_stack("mismatch", [6, 5]))
    report = verify_cortexm(model, count=2, seed=0, target="cortex-m4")
    assert not report.ok
    assert report.outputs[0].differing == 2 and report.outputs[0].max_abs_diff == 1
    assert "MISMATCH" in report.table()


def _supported_shared_models() -> list[str]:
    from codegen.errors import UnsupportedError
    from codegen.frontend import load_tflite
    from codegen.lowering import supported_opcodes

    if not SHARED_MODELS.is_dir():
        return []
    names = []
    for p in sorted(SHARED_MODELS.glob("*.tflite")):
        try:
            if {op.opcode for op in load_tflite(p).ops} <= set(supported_opcodes()):
                names.append(p.stem)
        except UnsupportedError:
            pass
    return names


# The foundation issue's models (tests/test_shared_models.py REQUIRED); the rest of the
# shared models verify the same way (`tinygen verify M --target cortex-m4`), kept out of the
# suite for time: each costs a cross build and an emulator run.
FOUNDATION_MODELS = {"tflm_hello_world_int8", "tflm_micro_speech", "tflm_person_detect",
                     "tflm_simple_add", "mlperf_kws_dscnn", "mlperf_vww_mobilenet96",
                     "mlperf_ic_resnet8", "armkws_ds_cnn_s", "armkws_dnn_s",
                     "tinyengine_mnist_lenet300", "openmv_force_int_quant"}
# Larger models get one vector: the emulator runs the portable kernels at ~0.3 GIPS.
SHARED_COUNT = {"mlperf_vww_mobilenet96": 1, "tflm_person_detect": 1, "mlperf_ic_resnet8": 1}


@needs_qemu
@pytest.mark.parametrize("name", [m for m in _supported_shared_models() if m in FOUNDATION_MODELS])
def test_verify_cortex_m4_shared_models(name):
    """The foundation's shared models are bit-exact on the emulated Cortex-M4 too
    (tests/test_shared_models.py covers the host, and the refusals)."""
    report = verify_cortexm(SHARED_MODELS / f"{name}.tflite",
                                    count=SHARED_COUNT.get(name, 2), seed=5, target="cortex-m4")
    assert report.ok, report.table()


# The cores beyond the M4: each has its own emulated board (targets/mps2-an500.toml,
# mps2-an505.toml, mps3-an547.toml) and its default kernels (dsp on M7/M33, portable on M55).
EMULATED_CORES = {"cortex-m7": "mps2-an500", "cortex-m33": "mps2-an505", "cortex-m55": "mps3-an547"}


@needs_qemu
@pytest.mark.parametrize("target", sorted(EMULATED_CORES))
def test_verify_on_the_emulated_board_of_each_core(target):
    report = verify_cortexm(SHARED_MODELS / "mlperf_kws_dscnn.tflite", count=1, seed=3,
                            target=target)
    assert report.ok, report.table()
    assert EMULATED_CORES[target] in report.table()
    assert cortexm.emulated_board(load_target(target))["qemu_machine"] == EMULATED_CORES[target]


LIBM_MODEL = "tinyengine_mnist_lenet300"     # DEQUANTIZE -> float LOG_SOFTMAX (expf, logf)


@needs_qemu
@pytest.mark.skipif(LIBM_MODEL not in _supported_shared_models(),
                    reason=f"{LIBM_MODEL} not available or not supported by this build")
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_float_softmax_outputs_bit_exact_on_every_core(target):
    """Float LOG_SOFTMAX uses tinygen's own tg_expf/tg_logf (runtime_c/tg_mathf.c), which give
    glibc's results everywhere: with newlib's expf/logf this seed differed by up to 3 ULP on
    the single-precision-FPU Cortex-M4, and was exact only on the M7."""
    report = verify_cortexm(SHARED_MODELS / f"{LIBM_MODEL}.tflite", count=8, seed=5,
                                    target=target)
    assert report.ok, report.table()


def test_float_ulp_distance():
    a = np.array([1.0, -0.0, 0.0, -1.0], dtype=np.float32)
    assert cortexm.float_ulp_distance(a, a) == 0
    b = np.nextafter(a, np.float32(np.inf))
    assert cortexm.float_ulp_distance(a, b) == 1
    assert cortexm.float_ulp_distance(np.float32([-0.0]), np.float32([0.0])) == 0
    assert cortexm.float_ulp_distance(np.float32([np.nextafter(np.float32(0), np.float32(-1))]),
                                      np.float32([np.nextafter(np.float32(0), np.float32(1))])) == 2


# ---------------------------------------------------------------- build files
LIB_HEADERS = {"stdint.h", "stddef.h", "string.h", "limits.h", "float.h", "math.h",
               "arm_acle.h"}     # the compiler's own header of DSP intrinsics (tg_acle.h)


def _check_portable_sources(out: Path) -> None:
    """C99 library hygiene: only tiny libc headers, relative includes, no heap, no stdio."""
    manifest = json.loads((out / "tinygen.json").read_text())
    for rel in manifest["sources"] + [p.name for p in out.glob("*.h")]:
        text = (out / rel).read_text()
        for inc in re.findall(r'#\s*include\s*([<"][^>"]+[>"])', text):
            if inc.startswith("<"):
                assert inc[1:-1] in LIB_HEADERS, f"{rel} includes {inc}"
            else:
                assert "/" not in inc and (out / inc[1:-1]).is_file(), f"{rel} includes {inc}"
        assert not re.search(r"\b(malloc|calloc|free|printf|fopen|puts)\s*\(", text), rel
    assert "example_main.c" not in manifest["sources"]


@needs_arm
@needs_make
@needs_cmake
@pytest.mark.parametrize("target", ["cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m55"])
def test_make_and_cmake_build_warning_free(target, tmp_path):
    model = write_model(tmp_path, "net", fc_stack(f"build-{target}", [20, 12, 12, 4], batches=2,
                                                  reshape=True, acts=[3, 1, 0]))
    out = tmp_path / "net"
    generate(model, out, target=target, selftest=2)
    _check_portable_sources(out)
    assert (out / "cmake" / "arm-none-eabi.cmake").is_file()
    log = run(["make", "-C", str(out), "EXTRA_CFLAGS=-Werror", "-j2"])
    assert "warning" not in log.lower()
    elf = out / "build" / "net_example.elf"
    assert elf.is_file() and (out / "build" / "libnet.a").is_file()
    header = run(["arm-none-eabi-readelf", "-A", str(elf)])
    cpu = {"cortex-m0plus": "v6S-M", "cortex-m4": "v7E-M", "cortex-m7": "v7E-M",
           "cortex-m55": "v8.1-M.mainline"}[target]
    assert cpu in header
    build = tmp_path / "cmake-build"
    log = run(["cmake", "-S", str(out), "-B", str(build), "-DCMAKE_C_FLAGS=-Werror",
               f"-DCMAKE_TOOLCHAIN_FILE={out / 'cmake' / 'arm-none-eabi.cmake'}"])
    log += run(["cmake", "--build", str(build), "-j2"])
    assert "warning" not in log.lower()
    assert (build / "net_example.elf").is_file() and (build / "libnet.a").is_file()


@needs_make
@needs_cmake
def test_host_make_run_selftest_and_cmake(tmp_path):
    model = write_model(tmp_path, "net", fc_stack("host-build", [9, 7, 3], batches=2,
                                                  per_channel=True, acts=[1, 0]))
    out = tmp_path / "net"
    generate(model, out, target="host", selftest=3)
    assert not (out / "cmake").exists()
    run(["make", "-C", str(out), "EXTRA_CFLAGS=-Werror", "run"])        # self-test passes
    build = tmp_path / "cmake-build"
    run(["cmake", "-S", str(out), "-B", str(build), "-DCMAKE_C_FLAGS=-Werror"])
    run(["cmake", "--build", str(build)])
    assert subprocess.run([str(build / "net_example")]).returncode == 0
    # a wrong expected value makes the self-test fail
    st = out / "net_selftest.c"
    text = st.read_text()
    m = re.search(r"selftest_expected_\w+\[[^]]+\]\[[^]]+\] = \{\s*\{\s*(-?\d+)", text)
    st.write_text(text[:m.start(1)] + str(int(m.group(1)) ^ 1) + text[m.end(1):])
    r = subprocess.run(["make", "-C", str(out), "run"], capture_output=True, text=True)
    assert r.returncode != 0


CUBEIDE_FLAGS = ["-std=gnu11", "-g3", "-O0", "-DUSE_HAL_DRIVER", "-ffunction-sections",
                 "-fdata-sections", "-Wall", "-Wextra", "-Werror", "-fstack-usage",
                 "--specs=nano.specs"]


@needs_arm
@pytest.mark.parametrize("target", ["nucleo-l4r5zi", "cortex-m0plus"])
def test_cubeide_drop_in(target, tmp_path):
    """Copy the folder into a project's Core/, add it to the include path, build: every .c
    compiles with only -I<folder> (example_main.c to nothing), and links with the user's main."""
    model = write_model(tmp_path, "kws", fc_stack(f"cube-{target}", [30, 16, 5], acts=[1, 0]))
    folder = tmp_path / "proj" / "Core" / "kws"
    generate(model, folder, target=target, selftest=1)
    t = load_target(target)
    debug = tmp_path / "proj" / "Debug"
    debug.mkdir()
    objs = []
    for c in sorted(folder.rglob("*.c")):
        o = debug / (c.stem + ".o")
        run(["arm-none-eabi-gcc", *t["cpu_flags"], *CUBEIDE_FLAGS, "-I../Core/kws",
             "-c", os.path.relpath(c, debug), "-o", o.name], cwd=debug)
        objs.append(o.name)
    assert b"main" not in subprocess.run(["arm-none-eabi-nm", "example_main.o"], cwd=debug,
                                         capture_output=True).stdout
    (debug / "main.c").write_text(
        '#include "kws.h"\n#include "kws_selftest.h"\n'
        "static int8_t in[KWS_X_IN_ELEMENTS];\nstatic int8_t out[KWS_Y1_ELEMENTS];\n"
        "int main(void)\n{\n    if (kws_invoke(in, out) != 0) { return 1; }\n"
        "    return kws_selftest();\n}\n")
    run(["arm-none-eabi-gcc", *t["cpu_flags"], *CUBEIDE_FLAGS, "-I../Core/kws", "main.c",
         *objs, "--specs=nosys.specs", "-Wl,--gc-sections", "-o", "app.elf"], cwd=debug)
    # the library needs nothing from libc beyond <string.h> (no heap, no stdio, no syscalls)
    undefined = set(run(["arm-none-eabi-nm", "-u", "--format=just-symbols", *objs],
                        cwd=debug).split())
    defined = set(run(["arm-none-eabi-nm", "--defined-only", "--format=just-symbols", *objs],
                      cwd=debug).split())
    allowed = {"memcpy", "memmove", "memset", "memcmp"}
    for sym in undefined - defined - allowed:
        assert sym.startswith("__aeabi_") or sym.endswith(".o:"), sym


# ---------------------------------------------------------------- self-test on QEMU
@needs_qemu
@needs_hello
def test_selftest_passes_on_qemu(tmp_path):
    out = tmp_path / "hello"
    generate(HELLO, out, target="cortex-m4", selftest=5)
    assert cortexm.run_selftest_on_emulator(out, "cortex-m4") == 0
    manifest = json.loads((out / "tinygen.json").read_text())
    assert manifest["selftest"]["vectors"] == 5
    assert "tflm_hello_world_int8_selftest.c" in manifest["sources"]


@needs_qemu
def test_selftest_fails_on_qemu_when_the_model_differs(tmp_path):
    model = write_model(tmp_path, "fc", fc_stack("st-bad", [12, 6], acts=[0]))
    out = tmp_path / "fc"
    generate(model, out, target="cortex-m4", selftest=2)
    data = out / "fc_data.c"
    text = data.read_text()
    m = re.search(r"\.l0_fully_connected_bias = \{\s*(-?\d+)", text)   # the dsp GEMM's biases
    data.write_text(text[:m.start(1)] + str(int(m.group(1)) + 100000) + text[m.end(1):])
    assert cortexm.run_selftest_on_emulator(out, "cortex-m4") == 1


# ---------------------------------------------------------------- memory report and fit
@needs_arm
def test_memory_report_measured(tmp_path, capsys):
    model = write_model(tmp_path, "net", fc_stack("report", [40, 30, 10], batches=2))
    out = tmp_path / "out"
    assert cli_main([str(model), "--target", "cortex-m4", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "flash:" in printed and "RAM:" in printed and "measured with arm-none-eabi-gcc" in printed
    man = json.loads((out / "tinygen.json").read_text())
    mem = man["memory"]
    assert mem["method"] == "measured"
    # the dsp GEMM's int8 weights (channels padded to a multiple of 3, depth to 4), an int32
    # bias per (padded) channel and, per-tensor layers, one triple's 9 int32 requantization
    # words (multiplier, shift, rounding term) for all channels
    weights = 30 * 40 + 12 * 32 + 4 * (30 + 12) + 2 * 4 * 9
    assert mem["flash"]["weights"] == man["const_bytes"] == weights
    assert mem["flash"]["constants"] >= weights and mem["flash"]["code"] > 100
    assert mem["flash"]["total"] == mem["flash"]["code"] + mem["flash"]["constants"] + \
        mem["flash"]["data_init"]
    r = mem["ram"]
    assert r["arena"] == man["arena_bytes"] == 64      # the one 2x30 intermediate, aligned
    assert r["io_buffers"] == 2 * 40 + 2 * 10
    assert 0 < r["stack"] < 512 and r["stack_exact"]
    assert r["total"] == r["arena"] + r["static"] + r["io_buffers"] + r["stack"]
    # per-layer placement matches the plan
    assert man["layers"][0]["arena"] == [dict(tensor="y0", offset=0, bytes=60)]
    assert man["layers"][1]["arena"] == [dict(tensor="y1", storage="output", bytes=20)]
    # the numbers are what a --gc-sections link keeps of the Makefile's objects: at most
    # all of their sections (arm-none-eabi-size), plus the C library's memcpy/memset
    if shutil.which("make"):
        run(["make", "-C", str(out), "-j2", "build/net.o", "build/net_data.o",
             "build/tg_dsp_gemm.o"])      # the dsp variant: the default on a Cortex-M4
        sizes = run(["arm-none-eabi-size", "build/net.o", "build/net_data.o",
                     "build/tg_dsp_gemm.o"], cwd=out)
        text = sum(int(line.split()[0]) for line in sizes.splitlines()[1:])
        assert weights < mem["flash"]["code"] + mem["flash"]["constants"] <= text + 512


def test_memory_report_estimated_for_host(tmp_path):
    model = write_model(tmp_path, "net", fc_stack("report-host", [16, 8]))
    gen = generate(model, tmp_path / "out", target="host")
    mem = json.loads((tmp_path / "out" / "tinygen.json").read_text())["memory"]
    assert mem == gen.memory and mem["method"] == "estimated"
    assert mem["flash"]["weights"] == gen.program.const_bytes
    assert "Memory" in (tmp_path / "out" / "README.md").read_text()


def _big_weights_model() -> bytes:
    return fc_stack("too-much-flash", [1024, 600], acts=[0])        # 614,400 weight bytes


def _big_arena_model() -> bytes:
    return fc_stack("too-much-ram", [8, 32, 1], batches=4096, acts=[1, 0])   # 128 KB between


@pytest.mark.parametrize("measure", [True, False])
def test_board_flash_does_not_fit(tmp_path, measure):
    if measure and _ARM_MISSING:
        pytest.skip(_skip_reason(_ARM_MISSING))
    model = write_model(tmp_path, "big", _big_weights_model())
    gen = generate(model, None, target="nucleo-f446re", measure=measure, check_fit=False)
    assert gen.memory["method"] == ("measured" if measure else "estimated")
    with pytest.raises(DoesNotFitError) as err:
        check_fit(gen.memory, load_target("nucleo-f446re"))
    msg = str(err.value)
    assert msg.startswith("the model does not fit nucleo-f446re (STM32F446RE):\n  flash: ")
    over = int(re.search(r"has 524,288: ([\d,]+) bytes too many", msg).group(1).replace(",", ""))
    assert over == gen.memory["flash"]["total"] - 524288 > 614400 - 524288
    assert "RAM:" not in msg                          # RAM fits
    check_fit(generate(model, None, target="nucleo-l4r5zi", measure=False).memory,
              load_target("nucleo-l4r5zi"))           # 2 MB of flash: fits
    if not measure:                                   # generate itself refuses, writes nothing
        out = tmp_path / "out"
        with pytest.raises(DoesNotFitError):
            generate(model, out, target="nucleo-f446re", measure=False)
        assert not out.exists()


def test_board_ram_does_not_fit(tmp_path, capsys):
    model = write_model(tmp_path, "wide", _big_arena_model())
    out = tmp_path / "out"
    assert cli_main([str(model), "--board", "nucleo-f446re", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "tinygen: error: the model does not fit nucleo-f446re" in err
    # arena: the 128 KB between the layers (+ the dsp GEMM's scratch of 128 bytes)
    assert re.search(r"RAM: the model needs [\d,]+ bytes \((measured|estimated): arena 131,200 "
                     r"\+ .*input/output buffers 36,864 \+ stack .*\) in region RAM \(0x20000000, "
                     r".*\), which has 131,072: [\d,]+ bytes too many", err), err
    assert "flash:" not in err and not out.exists()
    assert cli_main([str(model), "--board", "nucleo-l4r5zi", "-o", str(out), "-q"]) == 0


# ---------------------------------------------------------------- determinism
@needs_arm
def test_output_is_deterministic(tmp_path):
    model = write_model(tmp_path, "net", fc_stack("determinism", [10, 6, 3]))
    a = generate(model, None, target="stm32h743", selftest=2).files
    b = generate(model, None, target="stm32h743", selftest=2).files
    assert a == b
    assert "stm32h743" in a["tinygen.json"].decode()
    assert str(tmp_path) not in a["tinygen.json"].decode()


# ---------------------------------------------------------------- self-test, float outputs
def test_selftest_compares_float_outputs_bit_for_bit(tmp_path):
    """Float outputs (after DEQUANTIZE) are compared as IEEE-754 bit patterns: -0.0 != 0.0."""
    from codegen.emit import project
    from codegen.emit.render import template_env
    from codegen.hostcc import WARNINGS, find_cc

    x = [np.array([4, -2, 0, 7], dtype=np.int8), np.array([-128, 127, 1, 0], dtype=np.int8)]
    want = [(v.astype(np.float32) * np.float32(0.37)) for v in x]
    want[1][3] = np.float32(-0.0)            # the device computes +0.0 here: one mismatch
    golden = project.Selftest(seed=0, inputs=[[v] for v in x], expected=[[w] for w in want])
    ios = dict(inputs=[dict(cname="x", CNAME="X", ctype="int8_t", dtype="int8", name="x",
                            shape_str="4", zero_point=0)],
               outputs=[dict(cname="y", CNAME="Y", ctype="float", dtype="float32", name="y",
                             shape_str="4", zero_point=None)])
    ctx = dict(ios, name="m", NAME="M", guard="M_H", version="test", model_comment="m.tflite",
               state_bytes=0,
               selftest=project._selftest_context(ios, golden))
    for rel, data in project.library_files(template_env(), ctx, {}).items():
        (tmp_path / rel).write_bytes(data)
    (tmp_path / "m.h").write_text(
        "#include <stdint.h>\n#define M_X_ELEMENTS 4u\n#define M_Y_ELEMENTS 4u\n"
        "int m_invoke(const int8_t *x, float *y);\n")
    (tmp_path / "m.c").write_text(
        '#include "m.h"\nint m_invoke(const int8_t *x, float *y)\n{\n    unsigned i;\n'
        "    for (i = 0; i < M_X_ELEMENTS; ++i) { y[i] = (float)x[i] * 0.37f; }\n"
        "    return 0;\n}\n")
    (tmp_path / "main.c").write_text('#include "m_selftest.h"\nint main(void) '
                                     "{ return m_selftest(); }\n")
    exe = tmp_path / "st"
    run([find_cc(), *WARNINGS, "-O2", f"-I{tmp_path}", str(tmp_path / "m.c"),
         str(tmp_path / "m_selftest.c"), str(tmp_path / "main.c"), "-o", str(exe)])
    assert subprocess.run([str(exe)]).returncode == 1
    assert "0x80000000u" in (tmp_path / "m_selftest.c").read_text()


# ---------------------------------------------------------------- with CMSIS-NN
needs_cmsis = pytest.mark.skipif(
    CMSIS_NN is None,
    reason="CMSIS_NN_PATH is not set: point it at a CMSIS-NN v7.0.0 or newer folder "
           "(git clone https://github.com/ARM-software/CMSIS-NN) to run the CMSIS-NN tests")


@needs_cmsis
@needs_qemu
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m7"])
def test_verify_with_cmsis_nn_dsp_path_on_the_emulator(target, tmp_path):
    model = write_model(tmp_path, "fc", fc_stack("cmsis-" + target, [40, 24, 24, 6], batches=2,
                                                  per_channel=True, acts=[1, 3, 0]))
    # CMSIS-NN first (by default tinygen's dsp GEMM, faster, would run these FC layers)
    report = verify_cortexm(model, count=3, seed=2, target=target, cmsis_nn=CMSIS_NN,
                            kernels=["cmsis-nn", "portable"])
    assert report.ok, report.table()
    assert "CMSIS-NN" in report.target and "dsp path" in report.target


@needs_cmsis
@needs_arm
@needs_make
@needs_cmake
@pytest.mark.parametrize("target", ["cortex-m4", "cortex-m55"])
def test_make_and_cmake_build_cmsis_nn_sources(target, tmp_path):
    model = write_model(tmp_path, "net", fc_stack("cmsis-build-" + target, [16, 8, 4]))
    out = tmp_path / "net"
    gen = generate(model, out, target=target, cmsis_nn=CMSIS_NN,
                   kernels=["cmsis-nn", "portable"])    # not the dsp GEMM, on the Cortex-M4
    entry = json.loads((out / "tinygen.json").read_text())["cmsis_nn"]
    assert gen.memory["method"] == "measured"
    env = dict(os.environ, CMSIS_NN_PATH=CMSIS_NN)
    run(["make", "-C", str(out), "EXTRA_CFLAGS=-Werror", "-j2"], env=env)
    objs = sorted(p.name for p in (out / "build" / "cmsis_nn").rglob("*.o"))
    assert objs == sorted(Path(s).stem + ".o" for s in entry["sources"])
    build = tmp_path / "cmake-build"
    run(["cmake", "-S", str(out), "-B", str(build), "-DCMAKE_C_FLAGS=-Werror",
         f"-DCMSIS_NN_PATH={CMSIS_NN}",
         f"-DCMAKE_TOOLCHAIN_FILE={out / 'cmake' / 'arm-none-eabi.cmake'}"])
    run(["cmake", "--build", str(build), "-j2"])
    assert (build / "net_example.elf").is_file()
    # without the folder, make says what to set
    env.pop("CMSIS_NN_PATH")
    r = subprocess.run(["make", "-C", str(out), "clean", "all"], capture_output=True, text=True,
                       env=env)
    assert r.returncode != 0 and "set CMSIS_NN_PATH" in r.stderr


STATEFUL_MODEL = "tflm_mnist_lstm_int8"     # LSTM with variable tensors: <name>_reset()


@needs_qemu
@pytest.mark.skipif(STATEFUL_MODEL not in _supported_shared_models(),
                    reason=f"{STATEFUL_MODEL} not available or not supported by this build")
def test_selftest_of_a_stateful_model_on_qemu(tmp_path):
    """The vectors are one sequence from the initial state; the self-test resets first, so
    running it twice passes twice."""
    out = tmp_path / "lstm"
    generate(SHARED_MODELS / f"{STATEFUL_MODEL}.tflite", out, target="cortex-m4", selftest=3)
    man = json.loads((out / "tinygen.json").read_text())
    assert man["state_bytes"] > 0 and man["reset"]
    main = out / "example_main.c"
    text = main.read_text()
    main.write_text(text.replace("const int mismatches = ", "const int mismatches = "
                                 f"{man['name']}_selftest() + "))
    assert cortexm.run_selftest_on_emulator(out, "cortex-m4") == 0
    report = verify_cortexm(SHARED_MODELS / f"{STATEFUL_MODEL}.tflite", count=3,
                                    target="cortex-m4")
    assert report.ok, report.table()
