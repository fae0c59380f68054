"""Stable API names in the generated header (issue 12, friction item).

`<NAME>_INPUT<k>_ELEMENTS/_DIMS/_SHAPE/_SCALE/_ZERO_POINT` (and OUTPUT) by position, the
tensor-named macros kept as aliases, and static inline quantize/dequantize helpers rounding
exactly as TFLite's QUANTIZE (round half away from zero, clamp).  Checked against the
manifest and a numpy model of TFLite's rule, compiled with gcc and clang -Werror.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain.host import WARNINGS
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.harness import SHARED_MODELS

SPEECH = SHARED_MODELS / "tflm_micro_speech.tflite"
DNN = SHARED_MODELS / "armkws_dnn_s.tflite"            # float32 input and output
RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
COMPILERS = [cc for cc in ("gcc", "clang") if shutil.which(cc)]


def io_model() -> bytes:
    """uint8, int16 and float inputs; outputs named like other positions' stable names."""
    m = ModelWriter()
    a = m.tensor("output0", (1, 5), "uint8", scale=0.05, zero_point=128)     # input 0
    a8 = m.tensor("input0", (1, 5), "int8", scale=0.07, zero_point=-3)       # output 0
    m.op("QUANTIZE", [a], [a8])
    b = m.tensor("x_i16", (2, 3), "int16", scale=0.0009765625, zero_point=0)
    bf = m.tensor("y_f", (2, 3), "float32")
    m.op("DEQUANTIZE", [b], [bf])
    c = m.tensor("inp", (4,), "float32")
    c8 = m.tensor("y_q", (4,), "int8", scale=0.123, zero_point=127)
    m.op("QUANTIZE", [c], [c8])
    m.inputs, m.outputs = [a, b, c], [a8, bf, c8]
    return m.build()


def _project(tmp_path: Path, model: Path | bytes, name: str | None = None) -> tuple[Path, dict]:
    out = tmp_path / "p"
    if isinstance(model, bytes):
        path = tmp_path / "io_model.tflite"
        path.write_bytes(model)
        model = path
    generate(model, out, name=name, measure=False)
    return out, json.loads((out / "tinygen.json").read_text())


def _run_c(tmp_path: Path, project: Path, body: str, cc: str, tag: str) -> str:
    src = tmp_path / f"probe_{tag}.c"
    src.write_text("#include <stdio.h>\n#include <string.h>\n#include <stdint.h>\n"
                   f"#include \"{json.loads((project / 'tinygen.json').read_text())['header']}\"\n"
                   "static unsigned bits(float f) { uint32_t u; memcpy(&u, &f, 4); "
                   "return (unsigned)u; }\n"
                   f"int main(void)\n{{\n{body}\n    (void)bits;\n    return 0;\n}}\n")
    exe = tmp_path / f"probe_{tag}_{cc}"
    r = subprocess.run([cc, *WARNINGS, "-O2", f"-I{project}", str(src), "-o", str(exe)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    r = subprocess.run([str(exe)], capture_output=True, text=True, check=True)
    return r.stdout


def _f32_bits(x: float) -> int:
    return int(np.array([x], dtype=np.float32).view(np.uint32)[0])


@pytest.mark.skipif(not COMPILERS, reason="needs gcc or clang")
@pytest.mark.parametrize("model", ["micro_speech", "dnn_float_io", "io_model"])
def test_stable_macros_equal_the_manifest(tmp_path, model):
    src = {"micro_speech": SPEECH, "dnn_float_io": DNN, "io_model": io_model()}[model]
    if isinstance(src, Path) and not src.is_file():
        pytest.skip(f"{src} not found")
    project, man = _project(tmp_path, src)
    NAME = man["name"].upper()
    lines = []
    ios = [("INPUT", k, io) for k, io in enumerate(man["inputs"])] + \
          [("OUTPUT", k, io) for k, io in enumerate(man["outputs"])]
    lines.append(f'    printf("count %u %u\\n", {NAME}_INPUT_COUNT, {NAME}_OUTPUT_COUNT);')
    for kind, k, io in ios:
        base = f"{NAME}_{kind}{k}"
        lines.append(f"    {{ static const int shape[] = {base}_SHAPE;\n"
                     f"      unsigned i;\n"
                     f'      printf("{kind} {k} %u %u", {base}_ELEMENTS, {base}_DIMS);\n'
                     f"      for (i = 0; i < {base}_DIMS; ++i) printf(\" %d\", shape[i]);\n"
                     f"#ifdef {base}_SCALE\n"
                     f'      printf(" q %u %d", bits({base}_SCALE), (int){base}_ZERO_POINT);\n'
                     f"#endif\n"
                     f'      printf("\\n"); }}')
    out = _run_c(tmp_path, project, "\n".join(lines), COMPILERS[0], "macros").splitlines()
    assert out[0] == f"count {len(man['inputs'])} {len(man['outputs'])}"
    for line, (kind, k, io) in zip(out[1:], ios):
        want = f"{kind} {k} {int(np.prod(io['shape']))} {len(io['shape'])} " + \
               " ".join(str(d) for d in io["shape"])
        if io["dtype"] in RANGE:
            want += f" q {_f32_bits(io['scale'])} {io['zero_point']}"
        else:
            assert io["scale"] is None
        assert line == want
    header = (project / man["header"]).read_text()
    # the tensor-named macros stay, as aliases of the stable ones (not where they would
    # collide with a stable name: a tensor named `output0` that is input 0)
    for kind, k, io in ios:
        old = f"{NAME}_{io['cname'].upper()}_ELEMENTS"
        stable = f"{NAME}_{kind}{k}_ELEMENTS"
        if old in {f"{NAME}_{kd}{j}_ELEMENTS" for kd, j, _ in ios}:
            assert f"#define {old} {NAME}_" not in header
        else:
            assert f"#define {old} {stable}\n" in header
    if model == "micro_speech":
        assert "#define TFLM_MICRO_SPEECH_RESHAPE_1_ELEMENTS TFLM_MICRO_SPEECH_INPUT0_ELEMENTS" \
            in header
        assert "#define TFLM_MICRO_SPEECH_LABELS_SOFTMAX_ELEMENTS " \
               "TFLM_MICRO_SPEECH_OUTPUT0_ELEMENTS" in header


def tflite_quantize(x: np.ndarray, scale: float, zp: int, dtype: str) -> np.ndarray:
    """TFLite's QUANTIZE (reference AffineQuantize): round(x / scale) in float32, halves away
    from zero, + zero point, clamped.  NaN (undefined in TFLite) -> the zero point."""
    with np.errstate(over="ignore"):
        r = (x.astype(np.float32) / np.float32(scale)).astype(np.float64)
    rounded = np.where(r >= 0, np.floor(r + 0.5), -np.floor(-r + 0.5))
    lo, hi = RANGE[dtype]
    with np.errstate(invalid="ignore"):
        q = np.clip(np.nan_to_num(rounded, nan=0.0) + zp, lo, hi)
    q = np.where(np.isnan(r), zp, q)
    return q.astype(np.int64)


def tflite_dequantize(q: np.ndarray, scale: float, zp: int) -> np.ndarray:
    """TFLite's DEQUANTIZE: static_cast<float>(double(scale) * (q - zero_point))."""
    return (float(np.float32(scale)) * (q.astype(np.float64) - zp)).astype(np.float32)


def io_ctype(io: dict) -> str:
    return {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t"}[io["dtype"]]


def edge_values(scale: float, zp: int, dtype: str) -> np.ndarray:
    lo, hi = RANGE[dtype]
    s = np.float32(scale)
    ks = np.unique(np.concatenate([np.arange(lo - zp - 3, lo - zp + 4),
                                   np.arange(hi - zp - 3, hi - zp + 4),
                                   np.arange(-6, 7), [-1000, 1000]]))
    vals = []
    for k in ks:
        for frac in (0.0, 0.5, -0.5, 0.25, 0.49999997, 0.50000006):
            x = np.float32((k + frac) * float(s))
            vals += [x, np.nextafter(x, np.float32(np.inf)), np.nextafter(x, np.float32(-np.inf))]
        # exact halves of x / scale in float32: x chosen so that x / s rounds to k + 0.5
        x = np.float32((k + 0.5) * s)
        vals.append(x)
    vals += [0.0, -0.0, 1e-30, -1e-30, 3.4e38, -3.4e38, np.inf, -np.inf, np.nan,
             float(s) * 1e6, -float(s) * 1e6]
    return np.array(vals, dtype=np.float32)


@pytest.mark.skipif(not COMPILERS, reason="needs gcc or clang")
@pytest.mark.parametrize("cc", COMPILERS)
def test_quantize_helpers_round_like_tflite(tmp_path, cc):
    project, man = _project(tmp_path, io_model(), name="iom")
    cases = []
    for kind, ios in (("input", man["inputs"]), ("output", man["outputs"])):
        for k, io in enumerate(ios):
            if io["dtype"] in RANGE:
                cases.append((kind, k, io))
    assert [(c[0], c[1], c[2]["dtype"]) for c in cases] == \
        [("input", 0, "uint8"), ("input", 1, "int16"), ("output", 0, "int8"), ("output", 2, "int8")]
    body = []
    wants = []
    for kind, k, io in cases:
        xs = edge_values(io["scale"], io["zero_point"], io["dtype"])
        lo, hi = RANGE[io["dtype"]]
        qs = np.arange(lo, hi + 1) if io["dtype"] != "int16" else \
            np.concatenate([np.arange(lo, lo + 300), np.arange(-300, 300), np.arange(hi - 300, hi + 1)])
        words = ", ".join(f"0x{int(b):08x}u" for b in xs.view(np.uint32))
        body.append(f"    {{ static const uint32_t x[] = {{{words}}};\n"
                    f"      unsigned i;\n"
                    f"      for (i = 0; i < sizeof x / sizeof x[0]; ++i) {{\n"
                    f"          float f; memcpy(&f, &x[i], 4);\n"
                    f"          printf(\"%ld \", (long)iom_quantize_{kind}{k}(f));\n"
                    f"      }}\n"
                    f"      printf(\"\\n\");\n"
                    f"      {{ static const int32_t q[] = {{{', '.join(str(int(v)) for v in qs)}}};\n"
                    f"        for (i = 0; i < sizeof q / sizeof q[0]; ++i) {{\n"
                    f"            printf(\"%u \", bits(iom_dequantize_{kind}{k}(({io_ctype(io)})q[i])));\n"
                    f"        }} }}\n"
                    f"      printf(\"\\n\"); }}")
        wants.append((tflite_quantize(xs, io["scale"], io["zero_point"], io["dtype"]),
                      tflite_dequantize(qs, io["scale"], io["zero_point"]).view(np.uint32)))
    out = _run_c(tmp_path, project, "\n".join(body), cc, "helpers").splitlines()
    assert len(out) == 2 * len(cases)
    for (kind, k, io), (q_want, deq_want), q_line, d_line in zip(cases, wants, out[0::2], out[1::2]):
        q_got = np.array([int(v) for v in q_line.split()])
        bad = np.nonzero(q_got != q_want)[0]
        assert bad.size == 0, (f"{kind}{k}: quantize({edge_values(io['scale'], io['zero_point'], io['dtype'])[bad[:5]]})"
                               f" = {q_got[bad[:5]]}, TFLite gives {q_want[bad[:5]]}")
        d_got = np.array([int(v) for v in d_line.split()], dtype=np.uint32)
        assert np.array_equal(d_got, deq_want), f"{kind}{k}: dequantize differs"


def test_header_is_clean_cpp_and_pedantic(tmp_path):
    """Helpers in a header: no warnings in a file that uses none of them, nor in C++."""
    project, man = _project(tmp_path, io_model(), name="iom")
    for cc, std in (("gcc", "-std=c99"), ("clang", "-std=c99"), ("g++", "-std=c++11")):
        if not shutil.which(cc):
            continue
        src = tmp_path / ("u.cpp" if cc == "g++" else "u.c")
        src.write_text('#include "iom.h"\nint unused_helpers(void);\n'
                       "int unused_helpers(void) { return IOM_INPUT0_ZERO_POINT; }\n")
        flags = [f for f in WARNINGS if not f.startswith("-std")]
        r = subprocess.run([cc, std, *flags, "-Wshadow", "-Wconversion", "-Wdouble-promotion",
                            "-fsyntax-only", f"-I{project}", str(src)],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"{cc}: {r.stderr[-2000:]}"
