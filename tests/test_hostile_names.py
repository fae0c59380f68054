"""Names from the model are data, not code.

Tensor names, the model description and the model's file name reach the
generated C only as cleaned identifiers or escaped comments.  Models whose
names hold comment terminators, newlines, quotes, preprocessor lines,
backslashes, trigraphs, non-ASCII, C/C++ keywords, standard typedefs, the
names tinygen itself generates, or that collide after cleaning must give C that
compiles warning-free (gcc and clang, C99, -Werror; the header also as C++)
and in which none of that text appears outside comments.
"""
from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codegen.toolchain.host import compile_shared
from codegen.cnames import Namer, c_identifier, comment_text, is_reserved
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate

HOSTILE = [
    "*/ int evil = 1; /*", "a\nb", "line\r\n#define int float\n", '"quoted"', "it's",
    "#include <stdio.h>", "back\\slash\\", "trigraph??/", "??=??(??)", "naïve_é_名前", "😀",
    "\u202eevil\u202c", "\x00nul\x01\x7f", "int", "return", "static", "main", "for", "class",
    "new", "this", "operator", "int8_t", "size_t", "uint8_t", "errno", "offsetof", "linux",
    "tg_fully_connected_s8", "tg_copy", "tg_common", "arena", "input", "output", "weights",
    "__reserved", "_Upper", "", "   ", "123", "0x10", "a-b", "a b", "a.b", "a_b",
    "x" * 5000, "layer/" * 300 + "end", "%s%n", "{{ name }}", "{% raw %}", "$(rm -rf /)",
    "model;name:0", "/*", "*/", "//", "\\", "\t\v\f", "serving_default_input:0",
]

KNOWN_GENERATED = {"tg_fully_connected_s8", "tg_common", "tg_copy", "int8_t", "uint8_t",
                   "size_t"}


def two_layer_model(names: list[str], description: str = "model") -> bytes:
    """input -> FC -> hidden -> FC -> output; tensors named from `names` in turn."""
    rng = np.random.default_rng(len(names))
    it = itertools.cycle(names)
    m = ModelWriter(description=description)
    x = m.tensor(next(it), (1, 6), "int8", scale=0.05, zero_point=-3)
    w1 = m.const(next(it), rng.integers(-127, 128, (5, 6)), "int8", scale=0.02, zero_point=0)
    b1 = m.const(next(it), rng.integers(-500, 500, (5,)), "int32", scale=0.001, zero_point=0)
    h = m.tensor(next(it), (1, 5), "int8", scale=0.1, zero_point=2)
    w2 = m.const(next(it), rng.integers(-127, 128, (3, 5)), "int8", scale=0.03, zero_point=0)
    b2 = m.const(next(it), rng.integers(-500, 500, (3,)), "int32", scale=0.003, zero_point=0)
    h2 = m.tensor(next(it), (1, 3), "int8", scale=0.2, zero_point=-1)
    w3 = m.const(next(it), rng.integers(-127, 128, (2, 3)), "int8", scale=0.03, zero_point=0)
    y = m.tensor(next(it), (1, 2), "int8", scale=0.3, zero_point=4)
    m.op("FULLY_CONNECTED", [x, w1, b1], [h], {"fused_activation_function": 1})
    m.op("FULLY_CONNECTED", [h, w2, b2], [h2], {"fused_activation_function": 0})
    m.op("FULLY_CONNECTED", [h2, w3, -1], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def strip_comments(c: str) -> str:
    """C text without /* */ comments (the generated code has no // comments and no
    string literals)."""
    return re.sub(r"/\*.*?\*/", " ", c, flags=re.S)


def code_files(out: Path) -> dict[str, str]:
    return {p.name: p.read_bytes().decode("ascii") for p in sorted(out.iterdir())
            if p.suffix in (".c", ".h")}


def assert_clean(out: Path, names: list[str]) -> None:
    files = code_files(out)
    for fname, text in files.items():
        assert "\t" not in text and "\r" not in text and "\\" not in text.replace(
            "\\n", ""), fname
        code = strip_comments(text)
        assert "/*" not in code and "*/" not in code, fname
        # every comment closes on the line it opens (no text spilled onto new lines)
        for line in text.splitlines():
            if "/*" in line and not line.lstrip().startswith("/*\n"):
                if line.strip() != "/*":
                    assert "*/" in line[line.index("/*"):], (fname, line)
        for n in names:
            raw = n.strip()
            if len(raw) < 3 or raw in KNOWN_GENERATED or re.fullmatch(r"[A-Za-z0-9_]+", raw):
                continue  # plain words may legitimately appear (as cleaned identifiers)
            assert raw not in code, (fname, raw)
    # the manifest is JSON: names appear there, escaped, as data
    json.loads((out / "tinygen.json").read_text())


def compile_all(out: Path, tmp: Path, tag: str) -> None:
    for cc in ("gcc", "clang"):
        if shutil.which(cc):
            compile_shared(out, tmp / f"lib{tag}_{cc}.so", cc=cc)
    cxx = shutil.which("g++") or shutil.which("clang++")
    if cxx:
        header = json.loads((out / "tinygen.json").read_text())["header"]
        r = subprocess.run([cxx, "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                            "-x", "c++", str(out / header)], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


CHUNKS = [HOSTILE[i:i + 9] for i in range(0, len(HOSTILE), 9)]


@pytest.mark.parametrize("k", range(len(CHUNKS)))
def test_hostile_tensor_names_compile_clean(k, tmp_path):
    names = CHUNKS[k]
    model = tmp_path / "model.tflite"
    model.write_bytes(two_layer_model(names, description=" ".join(names)[:300]))
    out = tmp_path / "out"
    generate(model, out)
    assert_clean(out, names)
    compile_all(out, tmp_path, "m")


def test_all_tensors_with_the_same_name(tmp_path):
    model = tmp_path / "same.tflite"
    model.write_bytes(two_layer_model(["x"]))
    out = tmp_path / "out"
    gen = generate(model, out)
    cnames = list(gen.program.cnames.values())
    assert len(cnames) == len(set(cnames))
    compile_all(out, tmp_path, "same")


def test_names_colliding_after_cleaning(tmp_path):
    names = ["a-b", "a b", "a.b", "a_b", "A_B", "a__b", "a/b", "a;b"]
    model = tmp_path / "coll.tflite"
    model.write_bytes(two_layer_model(names))
    out = tmp_path / "out"
    gen = generate(model, out)
    cnames = list(gen.program.cnames.values())
    assert len(cnames) == len(set(cnames)), cnames
    compile_all(out, tmp_path, "coll")


def test_names_of_generated_identifiers(tmp_path):
    """Tensors named like the model's own globals, layer params and runtime functions."""
    names = ["net", "net_invoke", "net_arena", "net_weights", "net_weights_t",
             "l0_fully_connected_params", "l1_fully_connected", "tg_fully_connected_s8",
             "net_state"]
    model = tmp_path / "net.tflite"
    model.write_bytes(two_layer_model(names))
    out = tmp_path / "out"
    gen = generate(model, out)
    for c in gen.program.cnames.values():
        assert not c.startswith(("net_", "tg_", "l0_", "l1_", "l2_")) and c != "net", c
    compile_all(out, tmp_path, "net")


@pytest.mark.parametrize("fname", [
    "1 weird*\n\"#\\é??= name.tflite", "*-'quote'-*.tflite", "int.tflite", "tg_common.tflite",
    "-rf.tflite", "名前.tflite", "a" * 200 + ".tflite", ".tflite"])
def test_hostile_model_file_names(fname, tmp_path):
    model = tmp_path / fname
    model.write_bytes(two_layer_model(["in", "w1", "b1", "h", "w2", "b2", "h2", "w3", "out"]))
    out = tmp_path / "out"
    gen = generate(model, out)
    name = gen.program.name
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name) and not is_reserved(name), name
    assert not name.startswith("tg_")
    assert_clean(out, [fname, Path(fname).stem])
    compile_all(out, tmp_path, "f")


def test_hostile_description_is_not_emitted_raw(tmp_path):
    desc = "*/ #error injected\n/* ??/\n" + "\\" * 10
    model = tmp_path / "d.tflite"
    model.write_bytes(two_layer_model(["in", "w1", "b1", "h", "w2", "b2", "h2", "w3", "out"],
                                      description=desc))
    out = tmp_path / "out"
    generate(model, out)
    for text in code_files(out).values():
        # the only #error is tinygen's own runtime version guard
        errors = [line for line in text.splitlines() if "#error" in line
                  and not line.startswith((" * ", "/* "))]
        assert all(line.startswith('#error "d.c comes from tinygen ') for line in errors), errors
    compile_all(out, tmp_path, "d")


def test_invalid_utf8_names(tmp_path):
    """Names are bytes in the file; invalid UTF-8 must not crash anything."""
    data = two_layer_model(["AAAAinput", "w1", "b1", "h", "w2", "b2", "h2", "w3", "out"])
    i = data.index(b"AAAAinput")
    data = data[:i] + b"\xff\xfe\x80\xc0" + data[i + 4:]
    model = tmp_path / "u.tflite"
    model.write_bytes(data)
    out = tmp_path / "out"
    generate(model, out)
    compile_all(out, tmp_path, "u")


@pytest.mark.parametrize("name", ["tg_model", "int", "class", "size_t", "Model", "9lives",
                                  "has space", "a" * 300])
def test_bad_name_option(name, tmp_path):
    from codegen.errors import ModelError

    model = tmp_path / "m.tflite"
    model.write_bytes(two_layer_model(["in", "w1", "b1", "h", "w2", "b2", "h2", "w3", "out"]))
    with pytest.raises(ModelError, match="--name"):
        generate(model, None, name=name)


# --- unit tests of the cleaning functions --------------------------------------------------

@pytest.mark.parametrize("text", HOSTILE)
def test_c_identifier_and_comment_text(text):
    ident = c_identifier(text)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", ident), ident
    assert not is_reserved(ident) and len(ident) <= 48
    c = comment_text(text, 100)
    assert all(32 <= ord(ch) < 127 for ch in c)
    assert "*/" not in c and "/*" not in c and "??" not in c and "\\" not in c
    assert len(c) <= 100
    # a comment may not end so that it runs into the closing "*/" of the template
    assert not c.endswith("/") or "*" not in c[-2:-1]


def test_namer_is_unique_and_stable():
    names = ["a-b", "a b", "a_b", "a_b_2", "a_b", "int", "int", "tg_x", ""] * 3
    n1, n2 = Namer({"arena"}), Namer({"arena"})
    out1 = [n1.identifier(n) for n in names]
    out2 = [n2.identifier(n) for n in names]
    assert out1 == out2 and len(set(out1)) == len(out1)
    assert all(not is_reserved(x) for x in out1)
