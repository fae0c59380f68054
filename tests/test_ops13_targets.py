"""The operators of issue 13 together: TILE, REDUCE_MAX/MIN, ARG_MAX/MIN, GATHER, SLICE and a
standalone requantizing RELU6, in one small model: sanitizer-clean on the host, cppcheck-clean,
and bit-exact on the emulated Cortex-M4 (judged layer by layer: TFLM, and LiteRT's reference
kernels for TILE, which TFLM lacks, and for the RELU6, computed with TFLite's arithmetic)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from codegen.frontend.tflite_writer import ModelWriter
from tests.harness import assert_bit_exact

ROOT = Path(__file__).resolve().parent.parent
KERNELS = ["tg_tile", "tg_reduce_minmax", "tg_arg_minmax", "tg_gather"]


def combined_model() -> bytes:
    m = ModelWriter()
    q = dict(scale=0.05, zero_point=-128)
    x = m.tensor("x", (1, 4, 3, 2), "int8", **q)
    t = m.tensor("tiled", (1, 8, 3, 4), "int8", **q)
    m.op("TILE", [x, m.const("mult", np.array([1, 2, 1, 2], np.int32), "int32")], [t])
    s = m.tensor("sliced", (1, 5, 2, 4), "int8", **q)
    m.op("SLICE", [t, m.const("begin", np.array([0, 2, 1, 0], np.int32), "int32"),
                   m.const("size", np.array([-1, 5, 2, -1], np.int32), "int32")], [s])
    g = m.tensor("gathered", (1, 5, 2, 3), "int8", **q)
    m.op("GATHER", [s, m.const("pos", np.array([3, 0, 3], np.int32), "int32")], [g],
         {"axis": 3})
    mx = m.tensor("max", (1, 3), "int8", **q)
    m.op("REDUCE_MAX", [g, m.const("axes", np.array([1, 2], np.int32), "int32")], [mx],
         {"keep_dims": False})
    mn = m.tensor("min", (1, 5, 1, 3), "int8", **q)
    m.op("REDUCE_MIN", [g, m.const("axis2", np.array([2], np.int32), "int32")], [mn],
         {"keep_dims": True})
    am = m.tensor("argmax", (1, 2, 3), "int32")
    m.op("ARG_MAX", [g, m.const("axis1", np.array([1], np.int32), "int32")], [am],
         {"output_type": 2})
    an = m.tensor("argmin", (1, 5, 2), "int64")
    m.op("ARG_MIN", [g, m.const("axis3", np.array([-1], np.int32), "int32")], [an],
         {"output_type": 4})
    r6 = m.tensor("relu6", (1, 3), "int8", scale=6 / 255, zero_point=-128)
    m.op("RELU6", [mx], [r6])
    m.inputs, m.outputs = [x], [r6, mn, am, an]
    return m.build()


def test_sanitized_host_run(tmp_path):
    r = assert_bit_exact(combined_model(), tmp_path, count=4, sanitize=True)
    assert "layer by layer" in r.reference and "(TILE)" in r.reference
    kernels = {l.call.kernel for l in r.gen.program.layers}
    assert {"tg_tile", "tg_strided_copy", "tg_gather", "tg_reduce_max_s8", "tg_reduce_min_s8",
            "tg_arg_minmax_s8", "tg_lookup_s8_s8"} <= kernels


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck (apt-get install "
                    "cppcheck)")
def test_kernels_cppcheck_clean():
    from tests.test_hostile_cclean import CPPCHECK

    files = [str(ROOT / "runtime_c" / f"{k}.c") for k in KERNELS]
    r = subprocess.run(CPPCHECK + ["--suppress=unusedFunction", f"-I{ROOT / 'runtime_c'}"] + files,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs gcc-arm-none-eabi and qemu-system-arm")
def test_cortex_m4(tmp_path):
    path = tmp_path / "ops13.tflite"
    path.write_bytes(combined_model())
    report = verify_cortexm(path, count=2, seed=1, target="cortex-m4")
    assert report.ok, report.table()
    assert "layer by layer" in report.reference
