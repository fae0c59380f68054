"""ELU, EXP, LOG, GELU, PRELU, SQUARED_DIFFERENCE and RSQRT together in one small model:
sanitizer-clean on the host, verify --layers names each layer's oracle (TFLM; LiteRT's
reference kernels for EXP, LOG and GELU, which TFLM has no int8 kernel for), cppcheck-clean
kernels, and bit-exact on the emulated Cortex-M4."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.toolchain import cortexm
from codegen.verify import verify, verify_cortexm
from tests.harness import assert_bit_exact

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ["tg_prelu", "tg_squared_difference"]


def combined_model() -> bytes:
    rng = np.random.default_rng(13)
    m = ModelWriter()
    x = m.tensor("x", (1, 4, 4, 3), "int8", scale=0.05, zero_point=0)
    p = m.tensor("prelu", (1, 4, 4, 3), "int8", scale=0.04, zero_point=-10)
    m.op("PRELU", [x, m.const("alpha", rng.integers(-128, 128, (1, 1, 3)), "int8", scale=0.004,
                              zero_point=0)], [p])
    e = m.tensor("elu", (1, 4, 4, 3), "int8", scale=0.03, zero_point=20)
    m.op("ELU", [p], [e])
    d = m.tensor("sqdiff", (1, 4, 4, 3), "int8", scale=0.02, zero_point=-128)
    m.op("SQUARED_DIFFERENCE", [e, x], [d])
    r = m.tensor("rsqrt", (1, 4, 4, 3), "int8", scale=0.05, zero_point=-128)
    m.op("RSQRT", [d], [r])
    g = m.tensor("gelu", (1, 4, 4, 3), "int8", scale=0.03, zero_point=-30)
    m.op("GELU", [e], [g], {"approximate": False})
    ex = m.tensor("exp", (1, 4, 4, 3), "int8", scale=0.05, zero_point=-128)
    m.op("EXP", [g], [ex])
    lg = m.tensor("log", (1, 4, 4, 3), "int8", scale=0.04, zero_point=50)
    m.op("LOG", [ex], [lg])
    ga = m.tensor("gelu_tanh", (1, 4, 4, 3), "int8", scale=0.035, zero_point=-40)
    m.op("GELU", [p], [ga], {"approximate": True})
    m.inputs, m.outputs = [x], [r, lg, ga]
    return m.build()


ORACLES = [(0, "PRELU", "TFLM"), (1, "ELU", "TFLM"), (2, "SQUARED_DIFFERENCE", "TFLM"),
           (3, "RSQRT", "TFLM"), (4, "GELU", "LiteRT BUILTIN_REF"),
           (5, "EXP", "LiteRT BUILTIN_REF"), (6, "LOG", "LiteRT BUILTIN_REF"),
           (7, "GELU", "LiteRT BUILTIN_REF")]


def test_sanitized_host_run(tmp_path):
    r = assert_bit_exact(combined_model(), tmp_path, count=3, sanitize=True)
    assert "layer by layer" in r.reference
    assert {"tg_prelu_s8", "tg_squared_difference_s8", "tg_lookup_s8_s8"} == \
        {l.call.kernel for l in r.gen.program.layers}


def test_verify_layers_names_the_oracles(tmp_path):
    path = tmp_path / "ops13b.tflite"
    path.write_bytes(combined_model())
    report = verify(path, count=3, seed=2, layers=True)
    assert report.ok, report.table()
    # (in execution order, which may run independent layers earlier: planning/order.py)
    assert sorted((l.layer, l.opcode, l.oracle) for l in report.layers) == ORACLES
    assert all(l.compared == 3 * 48 for l in report.layers)


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck (apt-get install "
                    "cppcheck)")
def test_kernels_cppcheck_clean():
    from tests.test_hostile_cclean import CPPCHECK

    files = [str(ROOT / "runtime_c" / f"{k}.c") for k in KERNELS]
    r = subprocess.run(CPPCHECK + [f"-I{ROOT / 'runtime_c'}"] + files,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs gcc-arm-none-eabi and qemu-system-arm")
def test_cortex_m4(tmp_path):
    path = tmp_path / "ops13b.tflite"
    path.write_bytes(combined_model())
    report = verify_cortexm(path, count=3, seed=1, target="cortex-m4")
    assert report.ok, report.table()
    assert "layer by layer" in report.reference
