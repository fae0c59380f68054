"""Every bad model gets one clear error naming the problem and where; never a traceback.

Each case builds a broken model (ModelWriter with a bad field, a wrapped builder,
or patched bytes), runs the whole generation on it and checks the error's type
and that its message names the problem and the tensor/operator involved.  A
few run through `cli.main` and a real subprocess to check the exit status and
that exactly one "tinygen: error:" line (no traceback) is printed.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from codegen import cli
from codegen.errors import ModelError, TinygenError, UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.hostile_models import (build_with_opcode_offset, build_with_options_table,
                                  build_with_signature, build_with_subgraphs, fc_model,
                                  fc_writer, field_position, patch, shared_models,
                                  two_fc_writer, vector_position)

ROOT = Path(__file__).resolve().parent.parent


def generate_error(data: bytes, tmp_path: Path, name: str = "m.tflite") -> TinygenError:
    """Run the whole generation on `data`; return the TinygenError it must raise."""
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(TinygenError) as info:
        generate(path, None)
    return info.value


def check(data: bytes, tmp_path: Path, kind: type, *fragments: str) -> str:
    err = generate_error(data, tmp_path)
    msg = str(err)
    assert isinstance(err, kind), f"{type(err).__name__}: {msg}"
    for f in fragments:
        assert f in msg, f"{f!r} not in message:\n{msg}"
    return msg


# --- not a model at all ---------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, 4, 7])
def test_too_short(size, tmp_path):
    check(b"\x00" * size, tmp_path, ModelError, f"file is {size} bytes long", "too short")


@pytest.mark.parametrize("seed", range(6))
def test_random_bytes(seed, tmp_path):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, int(rng.integers(8, 5000)), dtype=np.uint8).tobytes()
    check(data, tmp_path, ModelError, "not a TFLite flatbuffer")


@pytest.mark.parametrize("seed", range(12))
def test_random_bytes_with_identifier(seed, tmp_path):
    """Random bytes behind a valid 'TFL3' identifier reach the flatbuffer reader."""
    rng = np.random.default_rng(1000 + seed)
    body = rng.integers(0, 256, int(rng.integers(8, 3000)), dtype=np.uint8).tobytes()
    root = int(rng.integers(0, len(body)))
    data = root.to_bytes(4, "little") + b"TFL3" + body
    err = generate_error(data, tmp_path)
    assert isinstance(err, (ModelError, UnsupportedError)), str(err)


WRONG_TYPES = {
    "onnx": (b"\x08\x07\x12\x07pytorch\x1a\x052.1.0:\x9a\x01\n" + b"\x00" * 64, "ONNX"),
    "keras_h5": (b"\x89HDF\r\n\x1a\n" + b"\x00" * 200, "HDF5"),
    "keras_zip": (b"PK\x03\x04\x14\x00\x00\x00\x08\x00config.json" + b"\x00" * 60, "zip"),
    "git_lfs": (b"version https://git-lfs.github.com/spec/v1\noid sha256:"
                b"e94bcdb0\nsize 510280\n", "Git LFS"),
    "html": (b"<!DOCTYPE html><html><head><title>404</title></head></html>\n", "HTML"),
    "gzip": (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 30, "gzip"),
    "c_array": (b"const unsigned char g_model[] = {\n  0x1c, 0x00, 0x00, 0x00, 0x54, 0x46,"
                b"\n};\n", "C array"),
    "text": (b"hello, this is not a model at all\n", "not a TFLite flatbuffer"),
}


@pytest.mark.parametrize("kind", sorted(WRONG_TYPES))
def test_wrong_file_type(kind, tmp_path):
    data, hint = WRONG_TYPES[kind]
    check(data, tmp_path, ModelError, "not a TFLite flatbuffer", hint)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        generate(tmp_path / "nope.tflite", None)
    with pytest.raises(ModelError, match="is a folder"):
        generate(tmp_path, None)


# --- truncated real models ----------------------------------------------------------

def _lengths(n: int, seed: int) -> list[int]:
    """Cut points: the first bytes, geometric steps, random ones and the last bytes."""
    rng = np.random.default_rng(seed)
    cuts = {8, 9, 12, 16, 24, 32, 64, n - 1, n - 2, n - 4, n - 16, n // 2, n // 3, 2 * n // 3}
    k = 128
    while k < n:
        cuts.add(k)
        k *= 2
    cuts.update(int(c) for c in rng.integers(8, n, 10))
    return sorted(c for c in cuts if 8 <= c < n)


@pytest.mark.parametrize("model", shared_models(), ids=lambda p: p.stem)
def test_truncated_shared_models(model, tmp_path):
    """A truncated copy fails with a ModelError, or (if only unused trailing bytes were
    cut) reads as exactly the same graph."""
    data = model.read_bytes()
    try:
        full = read_tflite(data)
    except TinygenError:
        full = None
    for n in _lengths(len(data), zlib.crc32(model.name.encode())):
        try:
            g = read_tflite(data[:n], source=model.name)
        except ModelError as e:
            assert model.name in str(e)
            continue
        except UnsupportedError:
            assert full is None
            continue
        assert full is not None
        assert len(g.tensors) == len(full.tensors) and len(g.ops) == len(full.ops)
        for a, b in zip(g.tensors, full.tensors):
            assert a.name == b.name and a.shape == b.shape
            assert (a.data is None) == (b.data is None)
            if a.data is not None:
                assert np.array_equal(a.data, b.data)


def test_truncation_names_the_broken_field(tmp_path):
    """Every cut of a real model fails naming the table or field that runs off the end."""
    model = next(p for p in shared_models() if "micro_speech" in p.name)
    data = model.read_bytes()
    msgs = []
    for n in range(8, len(data), 211):
        with pytest.raises(ModelError) as info:
            read_tflite(data[:n], source="cut.tflite")
        msgs.append(str(info.value))
    assert all("corrupt or truncated" in m and "outside the" in m for m in msgs), msgs
    assert any("model / buffer #" in m for m in msgs), msgs
    assert any("model / operator" in m for m in msgs), msgs


# --- indices out of range -----------------------------------------------------------

def test_operator_input_index_out_of_range(tmp_path):
    m, t = fc_writer()
    m.ops[0].inputs[1] = 99
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) input #1",
          "tensor 99", "has 4 tensors")


def test_operator_input_negative(tmp_path):
    m, t = fc_writer()
    m.ops[0].inputs[0] = -7
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) input #0", "tensor -7")


def test_operator_output_index_out_of_range(tmp_path):
    m, t = fc_writer()
    m.ops[0].outputs[0] = 5
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) output #0", "tensor 5")


def test_optional_output_rejected(tmp_path):
    m, t = fc_writer()
    m.ops[0].outputs[0] = -1
    check(m.build(), tmp_path, ModelError, "output #0", "tensor -1")


def test_model_input_index_out_of_range(tmp_path):
    m, t = fc_writer()
    m.inputs = [1000]
    check(m.build(), tmp_path, ModelError, "model input #0", "tensor 1000")


def test_model_output_index_out_of_range(tmp_path):
    m, t = fc_writer()
    m.outputs = [t["y"], 2 ** 31 - 1]
    check(m.build(), tmp_path, ModelError, "model output #1", "tensor 2147483647")


def test_buffer_index_out_of_range(tmp_path):
    m, t = fc_writer()
    m.tensors[t["w"]].buffer = 40
    check(m.build(), tmp_path, ModelError, "tensor #1 'weights'", "buffer 40", "3 buffers")


def test_opcode_index_out_of_range(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_opcode_offset(monkeypatch, m, 3)
    check(data, tmp_path, ModelError, "operator #0 has opcode index 3", "1 operator codes")


def test_signature_subgraph_index_out_of_range(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_signature(monkeypatch, m, subgraph_index=4)
    check(data, tmp_path, ModelError, "signature #0 'serving_default'", "subgraph 4",
          "1 subgraph")


def test_signature_tensor_index_out_of_range(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_signature(monkeypatch, m, subgraph_index=0, tensor_index=77)
    check(data, tmp_path, ModelError, "signature #0 'serving_default' input #0", "tensor 77")


def test_valid_signature_is_accepted(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_signature(monkeypatch, m, subgraph_index=0, tensor_index=0)
    (tmp_path / "m.tflite").write_bytes(data)
    generate(tmp_path / "m.tflite", None)


def test_several_subgraphs(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_subgraphs(monkeypatch, m, 3)
    check(data, tmp_path, UnsupportedError, "3 subgraphs", "single-subgraph")


def test_no_subgraph(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = build_with_subgraphs(monkeypatch, m, 0)
    check(data, tmp_path, ModelError, "no subgraph")


def test_schema_version(tmp_path):
    data = fc_model()
    pos = field_position(data, [], 0, 4)
    check(patch(data, pos, "<I", 2), tmp_path, ModelError, "schema version 2")


def test_patched_tensor_buffer_index(tmp_path):
    """Patch the bytes of a real model: a tensor's buffer index points past the buffers."""
    data = (shared := [p for p in shared_models() if "hello_world" in p.name][0]).read_bytes()
    g = read_tflite(data)
    t = next(t for t in g.tensors if t.is_const)
    pos = field_position(data, [("subgraphs", 0), ("tensors", t.index)], 2, 4)
    msg = check(patch(data, pos, "<I", 12345), tmp_path, ModelError, f"tensor #{t.index}",
                "buffer 12345")
    assert t.name in msg, shared


def test_patched_vector_length(tmp_path):
    """A vector whose length word claims more elements than the file holds."""
    data = fc_model()
    start, n = vector_position(data, [("subgraphs", 0), ("tensors", 0)], 0)
    check(patch(data, start - 4, "<I", 0x10000000), tmp_path, ModelError,
          "corrupt or truncated", "tensor #0 / shape", "runs past the end")


def test_patched_table_offset(tmp_path):
    """A table offset pointing outside the file."""
    data = fc_model()
    check(patch(data, 0, "<I", len(data) + 100), tmp_path, ModelError, "corrupt or truncated",
          "model")


# --- buffers and shapes ---------------------------------------------------------------

def test_buffer_shorter_than_shape(tmp_path):
    m, t = fc_writer(depth=4, units=3)
    m.buffers[m.tensors[t["w"]].buffer] = m.buffers[m.tensors[t["w"]].buffer][:-5]
    check(m.build(), tmp_path, ModelError, "tensor #1 'weights'", "shape [3, 4]", "(12 bytes)",
          "holds 7 bytes")


def test_buffer_longer_than_shape(tmp_path):
    m, t = fc_writer(depth=4, units=3)
    m.buffers[m.tensors[t["b"]].buffer] += b"\x00" * 4
    check(m.build(), tmp_path, ModelError, "tensor #2 'bias'", "holds 16 bytes")


@pytest.mark.parametrize("shape", [(1, -1), (-1, 4), (-5,)])
def test_negative_or_dynamic_shape(shape, tmp_path):
    m, t = fc_writer()
    m.tensors[t["x"]].shape = shape
    check(m.build(), tmp_path, UnsupportedError, "tensor #0 'input'", "dynamic or negative",
          str(list(shape)))


@pytest.mark.parametrize("shape", [(1 << 20, 1 << 20), (65536, 65536, 65536), (2 ** 31 - 1,)])
def test_absurd_shape(shape, tmp_path):
    m, t = fc_writer()
    m.tensors[t["y"]].shape = shape
    check(m.build(), tmp_path, ModelError, "tensor #3 'output'", "probably corrupt")


def test_rank_too_high(tmp_path):
    m, t = fc_writer()
    m.tensors[t["x"]].shape = (1,) * 9 + (4,)
    check(m.build(), tmp_path, UnsupportedError, "tensor #0 'input'", "rank 10")


def test_zero_sized_activation(tmp_path):
    m, t = fc_writer()
    m.tensors[t["x"]].shape = (0, 4)
    check(m.build(), tmp_path, UnsupportedError, "model input #0 tensor #0 'input'",
          "no elements")
    m, t = fc_writer()
    m.tensors[t["y"]].shape = (1, 0)
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED) output",
          "'output'", "no elements")


def test_fc_shape_mismatch(tmp_path):
    m, t = fc_writer(depth=4, units=3)
    m.tensors[t["y"]].shape = (1, 5)
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "output shape [1, 5]")
    m, t = fc_writer(depth=4, units=3)
    m.tensors[t["x"]].shape = (1, 6)
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "not a whole number of rows")


# --- quantization ---------------------------------------------------------------------

def _set_quant(m, i, scale, zp, axis=0):
    m.tensors[i].scale = None if scale is None else list(scale)
    m.tensors[i].zero_point = None if zp is None else list(zp)
    m.tensors[i].axis = axis


def test_no_quantization_on_activation(tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["x"], None, None)
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "input 'input' has no quantization parameters")


def test_zero_point_without_scale(tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["y"], [], [7])
    check(m.build(), tmp_path, ModelError, "tensor #3 'output'", "no scale")


@pytest.mark.parametrize("scale", [0.0, -0.5, float("nan"), float("inf")])
def test_bad_scale(scale, tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["y"], [scale], [0])
    check(m.build(), tmp_path, ModelError, "tensor #3 'output'", "finite and positive")


def test_per_channel_scales_wrong_length(tmp_path):
    m, t = fc_writer(units=5, w_scale=[0.01] * 5)
    _set_quant(m, t["w"], [0.01] * 3, [0] * 3)
    check(m.build(), tmp_path, ModelError, "tensor #1 'weights'", "3 per-channel scales",
          "has 5 channels")


def test_scale_and_zero_point_counts_differ(tmp_path):
    m, t = fc_writer(units=5, w_scale=[0.01] * 5)
    _set_quant(m, t["w"], [0.01] * 5, [0, 0])
    check(m.build(), tmp_path, ModelError, "tensor #1 'weights'", "5 scales but 2 zero points")


def test_quantized_dimension_out_of_range(tmp_path):
    m, t = fc_writer(units=5, w_scale=[0.01] * 5)
    m.tensors[t["w"]].axis = 4
    check(m.build(), tmp_path, ModelError, "tensor #1 'weights'", "quantized_dimension 4")


@pytest.mark.parametrize("zp", [128, -129, 1000, -(2 ** 40)])
def test_int8_zero_point_out_of_range(zp, tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["x"], [0.05], [zp])
    check(m.build(), tmp_path, ModelError, "tensor #0 'input'", f"zero point {zp}",
          "[-128, 127]")


def test_bias_zero_point_nonzero_is_ignored_like_tflm(tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["b"], [0.001] * 1, [5])
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    gen = generate(path, None)
    assert any("tensor #2 'bias'" in w and "ignore" in w for w in gen.program.warnings)


def test_weights_zero_point_nonzero(tmp_path):
    m, t = fc_writer()
    _set_quant(m, t["w"], [0.02], [3])
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "symmetrically quantized")


def test_multiplier_too_large(tmp_path):
    """Scales giving a requantization multiplier >= 2^31 (a shift the kernels cannot do)."""
    data = fc_model(in_scale=1e10, w_scale=1e10, out_scale=1e-10)
    check(data, tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "requantization multiplier")


def test_float_model(tmp_path):
    m = ModelWriter()
    x = m.tensor("x", (1, 4), "float32")
    w = m.const("w", np.ones((2, 4)), "float32")
    y = m.tensor("y", (1, 2), "float32")
    m.op("FULLY_CONNECTED", [x, w, -1], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    check(m.build(), tmp_path, UnsupportedError, "float model", "int8")


def test_int16_activations_need_zero_point_0(tmp_path):
    """16x8 layers run (tests/test_op_16x8.py); int16 activations with a zero point other
    than 0, which TFLM's int16 kernels would ignore, are refused by name."""
    data = fc_model(dtype="int16", in_zp=3, out_zp=0)
    check(data, tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "16-bit input 'input' has zero point 3", "need zero point 0")


@pytest.mark.parametrize("ttype,name", [(1, "float16"), (5, "string"), (17, "int4"),
                                        (99, "type 99")])
def test_unsupported_tensor_type(ttype, name, tmp_path):
    data = fc_model()
    pos = field_position(data, [("subgraphs", 0), ("tensors", 3)], 1, 1)
    check(patch(data, pos, "<b", ttype), tmp_path, UnsupportedError, "tensor #3 'output'",
          f"element type {name}")


# --- graph structure ----------------------------------------------------------------------

def test_tensor_read_before_written(tmp_path):
    m, t = two_fc_writer()
    m.ops.reverse()
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) reads tensor #3 "
          "'output'", "operator #1 writes it later")


def test_cycle(tmp_path):
    m, t = two_fc_writer()
    m.ops[0].inputs[0] = t["y2"]
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) reads", "'output2'",
          "cycle")


def test_tensor_nobody_writes(tmp_path):
    m, t = fc_writer()
    z = m.tensor("orphan", (1, 4), "int8", scale=0.1, zero_point=0)
    m.ops[0].inputs[0] = z
    check(m.build(), tmp_path, ModelError, "reads tensor #4 'orphan'", "no operator writes it")


def test_tensor_written_twice(tmp_path):
    m, t = two_fc_writer()
    m.ops[1].outputs = [t["y"]]
    check(m.build(), tmp_path, ModelError, "'output'", "written by operator #0 and again by "
          "operator #1")


def test_operator_writes_its_input(tmp_path):
    m, t = fc_writer()
    m.ops[0].outputs = [t["x"]]
    m.outputs = [t["x"]]
    err = generate_error(m.build(), tmp_path)
    assert "tensor #0 'input'" in str(err)


def test_operator_writes_constant(tmp_path):
    m, t = fc_writer()
    c = m.const("table", np.zeros((1, 3)), "int8", scale=0.1, zero_point=0)
    m.ops[0].outputs = [c]
    check(m.build(), tmp_path, ModelError, "writes tensor #4 'table'", "constant")


def test_output_never_written(tmp_path):
    m, t = fc_writer()
    z = m.tensor("never", (1, 3), "int8", scale=0.1, zero_point=0)
    m.outputs = [t["y"], z]
    check(m.build(), tmp_path, ModelError, "model output tensor #4 'never'", "never written")


def test_duplicate_model_outputs(tmp_path):
    m, t = fc_writer()
    m.outputs = [t["y"], t["y"]]
    check(m.build(), tmp_path, ModelError, "model outputs #0 and #1", "'output'")


def test_input_is_output(tmp_path):
    m, t = fc_writer()
    m.outputs = [t["y"], t["x"]]
    check(m.build(), tmp_path, UnsupportedError, "'input' is both a model input and a model "
          "output")


def test_constant_input(tmp_path):
    m, t = fc_writer()
    m.inputs = [t["w"]]
    check(m.build(), tmp_path, UnsupportedError, "model input #0 tensor #1 'weights'",
          "constant")


def test_no_inputs(tmp_path):
    m, t = fc_writer()
    m.inputs = []
    check(m.build(), tmp_path, ModelError, "no inputs or no outputs")


def test_operator_without_outputs(tmp_path):
    m, t = fc_writer()
    m.ops[0].outputs = []
    check(m.build(), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) has no outputs")


def test_options_of_the_wrong_operator(monkeypatch, tmp_path):
    m, t = fc_writer()
    m.ops[0].options = {"padding": 1, "stride_w": 2}
    data = build_with_options_table(monkeypatch, m, "FULLY_CONNECTED", "Conv2DOptions")
    check(data, tmp_path, ModelError, "operator #0 (FULLY_CONNECTED) carries Conv2DOptions",
          "takes FullyConnectedOptions")


def test_unknown_options_type(tmp_path):
    data = fc_model()
    pos = field_position(data, [("subgraphs", 0), ("operators", 0)], 3, 1)
    check(patch(data, pos, "<B", 250), tmp_path, ModelError, "operator #0 (FULLY_CONNECTED)",
          "unknown type 250")


def test_unknown_and_custom_operators(monkeypatch, tmp_path):
    m, t = fc_writer()
    data = m.build()
    import tflite

    # builtin code 250 does not exist (yet)
    pos = field_position(data, [("operator_codes", 0)], 3, 4)
    check(patch(data, pos, "<i", 250), tmp_path, UnsupportedError, "UNKNOWN_BUILTIN_250",
          "operator #0")
    pos = field_position(data, [("operator_codes", 0)], 3, 4)
    dep = field_position(data, [("operator_codes", 0)], 0, 1)
    custom = patch(patch(data, pos, "<i", tflite.BuiltinOperator.CUSTOM), dep, "<b", 32)
    check(custom, tmp_path, UnsupportedError, "CUSTOM(?)", "does not support")


def test_operator_fused_activation_unknown(tmp_path):
    data = fc_model(act=9)
    check(data, tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "fused activation UNKNOWN(9)")


# --- hostile text in messages ---------------------------------------------------------------

def test_control_characters_in_names_are_escaped_in_messages(tmp_path):
    m, t = fc_writer(w_name="evil\n\x1b[31mtinygen: ok\x1b[0m\u202e")
    m.buffers[m.tensors[t["w"]].buffer] = b"\x00"
    msg = check(m.build(), tmp_path, ModelError, "tensor #1", "\\x0a", "\\x1b", "\\u202e")
    assert "\n" not in msg and "\x1b" not in msg and "\u202e" not in msg


def test_cli_escapes_control_characters(tmp_path, capsys):
    m, t = fc_writer(in_name="a\rb\x07")
    m.tensors[t["x"]].shape = (1, -1)
    (tmp_path / "m.tflite").write_bytes(m.build())
    assert cli.main([str(tmp_path / "m.tflite"), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "\r" not in err and "\x07" not in err and "a\\x0db\\x07" in err


# --- the CLI: exit status and one line, never a traceback ------------------------------------

def test_cli_bad_model_exit_status(tmp_path, capsys):
    (tmp_path / "bad.tflite").write_bytes(b"nonsense" * 10)
    out = tmp_path / "out"
    assert cli.main([str(tmp_path / "bad.tflite"), "-o", str(out)]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tinygen: error: ")
    assert "Traceback" not in captured.err and not out.exists()


def test_cli_internal_error_is_reported_not_traced(tmp_path, capsys, monkeypatch):
    """An unexpected exception (a bug) gives a short message and exit status 3."""
    import codegen.generate as gen_mod

    def boom(*a, **k):
        raise ZeroDivisionError("integer division or modulo by zero")

    monkeypatch.setattr(gen_mod, "build_program", boom)
    (tmp_path / "m.tflite").write_bytes(fc_model())
    monkeypatch.delenv("TINYGEN_DEBUG", raising=False)
    assert cli.main([str(tmp_path / "m.tflite"), "-o", str(tmp_path / "o")]) == 3
    err = capsys.readouterr().err
    assert "tinygen: internal error: ZeroDivisionError" in err
    assert "Traceback" not in err and "--debug" in err and "report" in err
    # --debug shows the traceback
    assert cli.main([str(tmp_path / "m.tflite"), "-o", str(tmp_path / "o"), "--debug"]) == 3
    assert "Traceback" in capsys.readouterr().err
    monkeypatch.setenv("TINYGEN_DEBUG", "1")
    assert cli.main([str(tmp_path / "m.tflite"), "-o", str(tmp_path / "o")]) == 3
    assert "Traceback" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_subprocess_no_traceback(tmp_path):
    """Through a real process: exit status 2, one error line, for a few kinds of bad model."""
    m, t = fc_writer()
    m.ops[0].inputs[1] = 42
    cases = {"empty.tflite": b"", "random.tflite": os.urandom(300),
             "index.tflite": m.build(), "truncated.tflite": fc_model()[:200]}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TINYGEN_DEBUG", None)
    code = ("import sys\nfrom codegen.cli import main\nrc = 0\n"
            "for p in sys.argv[1:]:\n    r = main([p, '-o', p + '.out', '-q'])\n"
            "    print('rc', r, file=sys.stderr)\n")
    r = subprocess.run([sys.executable, "-c", code, *[str(tmp_path / n) for n in cases]],
                       capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("tinygen: error:")]
    assert len(errors) == len(cases), r.stderr
    assert lines.count("rc 2") == len(cases), r.stderr
    assert not any((tmp_path / (n + ".out")).exists() for n in cases)


def test_cli_entry_point_subprocess(tmp_path):
    """`python3 -m codegen` itself: exit status 2 and no traceback."""
    (tmp_path / "x.tflite").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    r = subprocess.run([sys.executable, "-m", "codegen", str(tmp_path / "x.tflite"), "-o",
                        str(tmp_path / "out")], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.startswith("tinygen: error:") and "HDF5" in r.stderr


def test_help_documents_force_and_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "--force" in out and "--debug" in out and "exit status" in out


def test_fc_weights_without_values(tmp_path):
    m, t = fc_writer(depth=4, units=3)
    m.tensors[t["w"]].shape = (3, 0)
    m.buffers[m.tensors[t["w"]].buffer] = b""
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "weights of shape [3, 0] hold no values")


def test_fc_per_channel_along_the_wrong_axis(tmp_path):
    """Per-channel scales along the depth would index past the multipliers (TFLM reads
    out of bounds there); rejected."""
    m, t = fc_writer(depth=2, units=5, w_scale=[0.01] * 2)
    m.tensors[t["w"]].axis = 1
    _set_quant(m, t["b"], [0.001] * 5, [0] * 5)
    check(m.build(), tmp_path, UnsupportedError, "operator #0 (FULLY_CONNECTED)",
          "along dimension 1")


def test_external_buffer_past_the_end(monkeypatch, tmp_path):
    """Buffers of models over 2 GB live after the flatbuffer (offset/size fields)."""
    import tflite

    m, t = fc_writer()
    orig = tflite.BufferStart

    def start(b):
        orig(b)
        tflite.BufferAddOffset(b, 1 << 33)
        tflite.BufferAddSize(b, 12)

    monkeypatch.setattr(tflite, "BufferStart", start)
    data = m.build()
    monkeypatch.setattr(tflite, "BufferStart", orig)
    check(data, tmp_path, ModelError, "buffer 0 points past the end of the file")
