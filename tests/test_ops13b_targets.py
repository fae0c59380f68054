"""TRANSPOSE_CONV, BATCH_MATMUL and DIV together in one small model: sanitizer-clean on the
host, verify --layers names each layer's oracle (TFLM; tinygen's model of TFLM's arithmetic
for the DIV, which TFLM leaves undefined for small numerators and zero divisors),
cppcheck-clean kernels, and bit-exact on the emulated Cortex-M4."""
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
KERNELS = ["tg_transpose_conv", "tg_batch_matmul", "tg_div"]


def combined_model() -> bytes:
    """x -> TRANSPOSE_CONV (stride 2, RELU) -> BATCH_MATMUL with a constant, and with itself
    transposed; the first divided by a second input, broadcast."""
    rng = np.random.default_rng(17)
    m = ModelWriter()
    x = m.tensor("x", (1, 4, 4, 3), "int8", scale=0.05, zero_point=-5)
    t = m.tensor("tconv", (1, 8, 8, 4), "int8", scale=0.03, zero_point=-128)
    m.op("TRANSPOSE_CONV", [m.const("shape", np.array([1, 8, 8, 4]), "int32"),
                            m.const("w", rng.integers(-127, 128, (4, 3, 3, 3)), "int8",
                                    scale=list(rng.uniform(0.002, 0.006, 4)), zero_point=[0] * 4),
                            x, m.const("b", rng.integers(-500, 500, 4), "int32",
                                       scale=[0.0002] * 4, zero_point=[0] * 4)],
         [t], dict(padding=0, stride_h=2, stride_w=2, fused_activation_function=1))
    b = m.tensor("matmul", (1, 8, 8, 6), "int8", scale=0.05, zero_point=3)
    m.op("BATCH_MATMUL", [t, m.const("k", rng.integers(-128, 128, (4, 6)), "int8", scale=0.01,
                                     zero_point=2)], [b])
    q = m.tensor("gram", (1, 8, 8, 8), "int8", scale=0.08, zero_point=-100)
    m.op("BATCH_MATMUL", [t, t], [q], dict(adj_y=True))
    z = m.tensor("z", (6,), "int8", scale=0.02, zero_point=-10)
    d = m.tensor("div", (1, 8, 8, 6), "int8", scale=0.2, zero_point=0)
    m.op("DIV", [b, z], [d])
    m.inputs, m.outputs = [x, z], [q, d]
    return m.build()


ORACLES = [(0, "TRANSPOSE_CONV", "TFLM"), (1, "BATCH_MATMUL", "TFLM"),
           (2, "BATCH_MATMUL", "TFLM"), (3, "DIV", "tinygen's model (ops/div.py)")]


def test_sanitized_host_run(tmp_path):
    r = assert_bit_exact(combined_model(), tmp_path, count=3, sanitize=True)
    assert "tinygen's model of TFLM's arithmetic for" in r.reference
    assert [l.call.kernel for l in r.gen.program.layers] == \
        ["tg_transpose_conv_s8", "tg_batch_matmul_s8", "tg_batch_matmul_s8", "tg_div_s8"]


def test_verify_layers_names_the_oracles(tmp_path):
    path = tmp_path / "ops13b.tflite"
    path.write_bytes(combined_model())
    report = verify(path, count=2, seed=2, layers=True)
    assert report.ok, report.table()
    assert [(l.layer, l.opcode, l.oracle) for l in report.layers] == ORACLES


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
    assert "tinygen's model of TFLM's arithmetic for" in report.reference
