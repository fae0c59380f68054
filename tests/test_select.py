"""Kernel selection: preference lists, per-layer overrides, refusals and their reasons.

The CMSIS-NN variant declines broadcasting ADD layers before it asks anything of the
library, so most of these tests stand in a small fake backend for CMSIS-NN and run in
CI without it; the end-to-end test through the CLI needs CMSIS_NN_PATH.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from codegen import cli
from codegen.errors import ModelError, TinygenError, UnsupportedError
from codegen.emit.layer_table import layer_table
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ir import LayerCall
from codegen.lowering.base import Declined
from codegen.program import build_program
from codegen.selection import (Refusal, Selection, parse_kernel_list, parse_layer_overrides,
                            select_kernel)
from codegen.targets import load_target

CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None


class FakeCmsisNN:
    """Enough of a located CMSIS-NN for layers that need no scratch size."""

    name = "cmsis-nn"
    arch = "c"
    warnings: list[str] = []

    def manifest(self, used):
        return dict(version="fake", code_path="c", kernels=sorted(set(used)))

    def buffer_size(self, *args):
        return 0


def two_adds() -> bytes:
    """Layer 0: ADD of equal shapes (CMSIS-NN can); layer 1: ADD with a broadcast (it cannot)."""
    m = ModelWriter()
    a = m.tensor("a", (1, 4, 4, 8), "int8", scale=0.05, zero_point=3)
    b = m.tensor("b", (1, 4, 4, 8), "int8", scale=0.04, zero_point=-2)
    c = m.const("c", np.arange(8, dtype=np.int8).reshape(1, 1, 1, 8), "int8", scale=0.03,
                zero_point=1)
    s = m.tensor("sum", (1, 4, 4, 8), "int8", scale=0.09, zero_point=0)
    y = m.tensor("y", (1, 4, 4, 8), "int8", scale=0.1, zero_point=5)
    m.op("ADD", [a, b], [s], {"fused_activation_function": 0})
    m.op("ADD", [s, c], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [a, b], [y]
    return m.build()


def _program(kernels, layer_kernels=None):
    graph = read_tflite(two_adds())
    return build_program(graph, "net", load_target("host"), kernels,
                         {"cmsis-nn": FakeCmsisNN()}, layer_kernels)


def test_first_variant_that_accepts_runs_the_layer():
    prog = _program(["cmsis-nn", "portable"])
    first, second = prog.layers
    assert (first.index, first.call.variant, first.call.kernel) == \
        (0, "cmsis-nn", "arm_elementwise_add_s8")
    assert first.selection.refusals == []
    assert (second.index, second.call.variant, second.call.kernel) == (1, "portable", "tg_add_s8")
    assert second.selection.refusals == [
        Refusal("cmsis-nn", "broadcasting: CMSIS-NN v7 has no int8 broadcast kernel")]


def test_refusal_reaches_the_layer_table_and_cli_summary():
    prog = _program(["cmsis-nn", "portable"])
    rows = layer_table(prog)
    assert rows[1]["variant"] == "portable"
    assert rows[1]["refused"] == [dict(variant="cmsis-nn",
                                       reason="broadcasting: CMSIS-NN v7 has no int8 "
                                              "broadcast kernel")]
    assert "cmsis-nn: broadcasting" in rows[1]["why"]
    assert rows[0]["refused"] == [] and rows[0]["variant"] == "cmsis-nn"


def test_layer_override_beats_the_model_preference():
    prog = _program(["cmsis-nn", "portable"], {0: ["portable"]})
    assert [layer.call.variant for layer in prog.layers] == ["portable", "portable"]
    assert prog.layers[0].selection.overridden
    assert prog.layers[0].selection.reason() == "forced with --kernel"
    assert not prog.layers[1].selection.overridden


def test_forced_variant_that_declines_is_an_error_with_the_reason():
    with pytest.raises(UnsupportedError) as e:
        _program(["portable"], {1: ["cmsis-nn"]})
    msg = str(e.value)
    assert "operator #1 (ADD)" in msg and "--kernel 1=cmsis-nn" in msg
    assert "broadcast" in msg and "portable" in msg     # names the variant that could


def test_override_of_a_layer_the_model_does_not_have():
    with pytest.raises(TinygenError, match="no layer 7.*its layers: 0, 1"):
        _program(["portable"], {7: ["portable"]})


def test_unsupported_layer_reports_the_spec_error_not_a_refusal_list():
    graph = read_tflite(two_adds())
    graph.tensors[graph.ops[1].outputs[0]].dtype = "int16"     # int8 in, int16 out: unsupported
    with pytest.raises(UnsupportedError, match="output 'y' is int16; supported: int8"):
        build_program(graph, "net", load_target("host"), ["cmsis-nn", "portable"],
                      {"cmsis-nn": FakeCmsisNN()})


def test_select_kernel_records_every_refusal_in_order():
    graph = read_tflite(two_adds())
    op = graph.ops[0]
    calls = []

    def context(variant):
        calls.append(variant)
        return None

    def declining(op, g, ctx):
        raise Declined("not today")

    def accepting(op, g, ctx):
        return LayerCall(op=op, kernel="k")

    from codegen import selection as select
    real = select.variants_of
    try:
        select.variants_of = lambda oc: {"a": declining, "b": accepting}
        call, sel = select_kernel(op, graph, ["x", "a", "b"], context)
    finally:
        select.variants_of = real
    assert call.variant == "b" and sel.variant == "b"
    assert sel.refusals == [Refusal("x", "has no kernel for ADD"), Refusal("a", "not today")]
    assert calls == ["a", "b"]
    assert isinstance(sel, Selection) and sel.manifest()["refused"][1] == \
        dict(variant="a", reason="not today")


def test_parse_kernel_options():
    assert parse_kernel_list("cmsis-nn, portable,portable", "--kernels") == \
        ["cmsis-nn", "portable"]
    assert parse_layer_overrides(["3=portable", "12=cmsis-nn,portable"]) == \
        {3: ["portable"], 12: ["cmsis-nn", "portable"]}
    for bad, msg in ((["x=portable"], "LAYER=VARIANT"), (["3"], "LAYER=VARIANT"),
                     (["3=neon"], "unknown kernel variant 'neon'"),
                     (["3=portable", "3=cmsis-nn"], "given twice")):
        with pytest.raises(TinygenError, match=msg):
            parse_layer_overrides(bad)
    with pytest.raises(TinygenError, match="at least one"):
        parse_kernel_list(" , ", "--kernels")


def test_cmsis_nn_asked_for_without_a_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    model = tmp_path / "m.tflite"
    model.write_bytes(two_adds())
    with pytest.raises(TinygenError, match="no CMSIS-NN folder was given"):
        generate(model, None, kernels=["cmsis-nn", "portable"])
    with pytest.raises(TinygenError, match="no CMSIS-NN folder was given"):
        generate(model, None, layer_kernels={0: ["cmsis-nn"]})


def test_manifest_records_preference_and_choices(tmp_path, monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    model = tmp_path / "m.tflite"
    model.write_bytes(two_adds())
    out = tmp_path / "out"
    assert cli.main([str(model), "-o", str(out), "--kernel", "1=portable", "-q"]) == 0
    man = json.loads((out / "tinygen.json").read_text())
    assert man["kernel_preference"] == ["portable"]
    assert [(layer["index"], layer["variant"], layer["refused"]) for layer in man["layers"]] \
        == [(0, "portable", []), (1, "portable", [])]
    # the comment above each call carries the same layer number as the table and manifest
    c = (out / "m.c").read_text()
    assert "/* Layer 0: ADD" in c and "/* Layer 1: ADD" in c


@pytest.mark.skipif(CMSIS_NN is None, reason="CMSIS_NN_PATH is not set: point it at a "
                    "CMSIS-NN v7.0.0 or newer folder to run the CMSIS-NN selection test")
def test_cmsis_nn_refusal_in_manifest_and_printed_table(tmp_path, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(two_adds())
    out = tmp_path / "out"
    assert cli.main([str(model), "-o", str(out), "--cmsis-nn", CMSIS_NN]) == 0
    printed = capsys.readouterr().out
    man = json.loads((out / "tinygen.json").read_text())
    assert [layer["variant"] for layer in man["layers"]] == ["cmsis-nn", "portable"]
    assert man["layers"][1]["refused"] == [
        dict(variant="cmsis-nn", reason="broadcasting: CMSIS-NN v7 has no int8 broadcast "
                                        "kernel")]
    row = next(line for line in printed.splitlines() if line.strip().startswith("1 "))
    assert "tg_add_s8" in row and "portable" in row and "cmsis-nn: broadcasting" in row
    # --kernel N=portable overrides one layer
    out2 = tmp_path / "out2"
    assert cli.main([str(model), "-o", str(out2), "--cmsis-nn", CMSIS_NN,
                     "--kernel", "0=portable", "-q"]) == 0
    man2 = json.loads((out2 / "tinygen.json").read_text())
    assert [layer["variant"] for layer in man2["layers"]] == ["portable", "portable"]


def test_fully_connected_with_one_input_is_a_clear_error():
    m = ModelWriter()
    x = m.tensor("x", (1, 8), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
    m.op("FULLY_CONNECTED", [x], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(ModelError, match=r"operator #0 \(FULLY_CONNECTED\) has 1 input; "
                       r"FULLY_CONNECTED takes 2 to 3 \(input, weights, bias \(optional\)\)"):
        read_tflite(m.build())


def test_spec_constant_input_must_be_constant():
    m = ModelWriter()
    x = m.tensor("x", (1, 8), "int8", scale=0.1, zero_point=0)
    w = m.tensor("w", (4, 8), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
    m.op("FULLY_CONNECTED", [x, w], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x, w], [y]
    graph = read_tflite(m.build())
    with pytest.raises(UnsupportedError, match=r"its weights 'w' \(input 1\) is not a constant"):
        build_program(graph, "net", load_target("host"))
