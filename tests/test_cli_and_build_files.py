"""What a firmware engineer meets first: `tinygen --help`, the "does not fit" error, and the
generated Makefile and CMakeLists.txt (same optimisation; CMake refuses to build a Cortex-M
project for the host by accident)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

from codegen.cli import main as cli_main
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate

needs_cmake_make = pytest.mark.skipif(not (shutil.which("cmake") and shutil.which("make")),
                                      reason="needs cmake and make: sudo apt-get install cmake "
                                      "make (or run setup.sh as root)")
HAS_ARM = shutil.which("arm-none-eabi-gcc") is not None


def fc_model(path: Path, d: int, u: int, seed: str = "fc") -> Path:
    """One int8 FULLY_CONNECTED layer d -> u with random weights."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    x = m.tensor("x", (1, d), "int8", scale=0.05, zero_point=3)
    w = m.const("w", rng.integers(-127, 128, (u, d)), "int8", scale=[0.01], zero_point=[0])
    b = m.const("b", rng.integers(-500, 500, (u,)), "int32", scale=[0.0005], zero_point=[0])
    y = m.tensor("y", (1, u), "int8", scale=0.2, zero_point=-5)
    m.op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    path.write_bytes(m.build())
    return path


def relu_model(path: Path, n: int) -> Path:
    """One int8 RELU over n elements: RAM grows with n, flash does not."""
    m = ModelWriter()
    x = m.tensor("x", (1, n), "int8", scale=0.05, zero_point=3)
    y = m.tensor("y", (1, n), "int8", scale=0.05, zero_point=-128)
    m.op("RELU", [x], [y])
    m.inputs, m.outputs = [x], [y]
    path.write_bytes(m.build())
    return path


def _run(cmd, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)


def _last_opt(command: str) -> str:
    """The -O flag that takes effect (GCC and Clang: the last one)."""
    opts = re.findall(r"(?<!\S)-O\w*", command)
    assert opts, command
    return opts[-1]


# ---------------------------------------------------------------- --help
def test_help_lists_the_subcommands(capsys):
    with pytest.raises(SystemExit) as e:
        cli_main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert re.search(r"^  tinygen verify MODEL .*TFLM", out, re.M | re.S)
    assert re.search(r"^  tinygen targets +list the cores and boards", out, re.M)
    assert out.startswith("usage: tinygen MODEL [MODEL ...] [options]\n"
                          "       tinygen verify MODEL [MODEL ...] [options]")
    assert re.search(r"^  tinygen runtime -o DIR +every runtime kernel", out, re.M)
    with pytest.raises(SystemExit) as e:
        cli_main(["targets", "--help"])
    assert e.value.code == 0 and "boards" in capsys.readouterr().out


# ---------------------------------------------------------------- does not fit
def test_does_not_fit_says_how_to_generate_for_the_core(tmp_path, capsys):
    model = relu_model(tmp_path / "big.tflite", 100_000)     # RAM > 128 KB of the board
    out = tmp_path / "out"
    assert cli_main([str(model), "--board", "nucleo-f446re", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "does not fit nucleo-f446re" in err and "--target cortex-m4" in err, err
    assert not out.exists()
    # ... and that advice works: the core has no memory sizes, so it generates
    assert cli_main([str(model), "--target", "cortex-m4", "-o", str(out), "-q"]) == 0
    assert (out / "big.c").is_file()


# ---------------------------------------------------------------- Makefile and CMake
@needs_cmake_make
@pytest.mark.parametrize("target", ["host", "cortex-m4"])
def test_makefile_and_cmake_build_at_the_same_optimisation(target, tmp_path):
    if target != "host" and not HAS_ARM:
        pytest.skip("needs gcc-arm-none-eabi: sudo apt-get install gcc-arm-none-eabi "
                    "libnewlib-arm-none-eabi")
    out = tmp_path / "net"
    generate(fc_model(tmp_path / "net.tflite", 16, 4), out, target=target)
    r = _run(["make", "-n", "-C", out, "build/net.o", "build/example_main.o"])
    assert r.returncode == 0, r.stderr
    make_cmds = [ln for ln in r.stdout.splitlines() if " -c " in ln]
    assert len(make_cmds) == 2
    make_opt = {_last_opt(c) for c in make_cmds}

    cmake = ["cmake", "-S", out, "-B", tmp_path / "build", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON"]
    if target != "host":
        cmake.append(f"-DCMAKE_TOOLCHAIN_FILE={out / 'cmake' / 'arm-none-eabi.cmake'}")
    r = _run(cmake)
    assert r.returncode == 0, r.stdout + r.stderr
    commands = json.loads((tmp_path / "build" / "compile_commands.json").read_text())
    cmake_opt = {_last_opt(c["command"]) for c in commands}
    assert len(commands) >= 3          # the model, its kernels, the example

    # one level everywhere, and the one tinygen's size measurement compiles with
    from codegen.toolchain.cortexm import COMPILE_FLAGS
    assert make_opt == cmake_opt == {"-O2"} == {_last_opt(" ".join(COMPILE_FLAGS))}


@needs_cmake_make
def test_cmake_without_the_toolchain_file_stops_for_a_cortex_m_project(tmp_path):
    out = tmp_path / "net"
    generate(fc_model(tmp_path / "net.tflite", 16, 4), out, target="cortex-m4")
    r = _run(["cmake", "-S", out, "-B", tmp_path / "build"])
    assert r.returncode != 0
    text = " ".join((r.stdout + r.stderr).split())         # CMake wraps long messages
    assert "generated by tinygen for cortex-m4" in text, text
    assert "-DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake" in text, text
    assert not (tmp_path / "build" / "Makefile").exists()
    # the explicit override builds for the host anyway
    r = _run(["cmake", "-S", out, "-B", tmp_path / "build", "-DTINYGEN_ALLOW_HOST_BUILD=ON"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "build" / "Makefile").exists()
