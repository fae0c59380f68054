"""Standalone RELU / RELU6 / RELU_N1_TO_1 whose output quantization differs from its input's.

TFLite's reference kernels requantize to the output; TFLM's RELU6 clamps the raw input
and ignores the output quantization (and TFLM's RELU divides the scales in double).
By default tinygen computes TFLite's arithmetic and warns; with match_tflm, TFLM's.
"""
import shutil
import subprocess
import zlib

import numpy as np
import pytest

from codegen.toolchain.host import HostModel
from codegen.cli import main as cli_main
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ops.relu import (relu6_table, relu6_tflite_table, relu_n1_to_1_table,
                              relu_table)
from codegen.verify import verify
from tests.lut_helpers import ALL_INT8, every_int8_value, random_quant, tflm_table, unary_model


def litert_run(model: bytes, xs: list[np.ndarray]) -> list[np.ndarray]:
    """The whole model through LiteRT's reference kernels (BUILTIN_REF)."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=model,
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    for d, x in zip(it.get_input_details(), xs):
        it.set_tensor(d["index"], x.reshape(d["shape"]))
    it.invoke()
    return [it.get_tensor(d["index"]) for d in it.get_output_details()]


def tflm_run(model: bytes, xs: list[np.ndarray]) -> list[np.ndarray]:
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(model, arena_size=1 << 16)
    for k, x in enumerate(xs):
        it.set_input(x, k)
    it.invoke()
    return [np.array(it.get_output(0))]


def litert_table(opcode, in_q, out_q):
    return litert_run(unary_model(opcode, (1, 256), in_q, out_q),
                      [ALL_INT8.reshape(1, 256)])[0].reshape(-1)


def tanh_relu6_model(relu6_out_q=(6 / 255, -128)) -> bytes:
    """What the converter emits for Dense -> tanh -> ReLU(6): RELU6 cannot be fused."""
    m = ModelWriter()
    x = m.tensor("x", (1, 96), "int8", scale=0.04, zero_point=5)
    h = m.tensor("tanh_out", (1, 96), "int8", scale=1 / 128, zero_point=0)
    y = m.tensor("relu6_out", (1, 96), "int8", scale=relu6_out_q[0], zero_point=relu6_out_q[1])
    m.op("TANH", [x], [h])
    m.op("RELU6", [h], [y])
    m.inputs, m.outputs = [x], [y]
    return m.build()


def _run_generated(model: bytes, tmp_path, match_tflm: bool, x: np.ndarray, tag: str):
    path = tmp_path / f"{tag}.tflite"
    path.write_bytes(model)
    gen = generate(path, tmp_path / f"out_{tag}", target="host", force=True,
                   match_tflm=match_tflm)
    got = HostModel(tmp_path / f"out_{tag}", tmp_path / f"build_{tag}").invoke([x])[0]
    return gen, np.asarray(got).reshape(-1)


def test_relu6_after_tanh_default_is_tflite_and_option_is_tflm(tmp_path):
    model = tanh_relu6_model()
    x = every_int8_value((1, 96))
    want_tflite = litert_run(model, [x])[0].reshape(-1)
    want_tflm = tflm_run(model, [x])[0].reshape(-1)
    assert not np.array_equal(want_tflite, want_tflm), "the case must tell the two apart"

    gen, got = _run_generated(model, tmp_path, False, x, "default")
    assert np.array_equal(got, want_tflite)
    (warning,) = [w for w in gen.program.warnings if "RELU6" in w]
    bound = int(np.max(np.abs(want_tflite.astype(int) - want_tflm.astype(int))))
    assert "l1_relu6" in warning and "'relu6_out'" in warning and "--match-tflm" in warning
    stated = int(warning.split("by up to ")[1].split(" LSB")[0])
    assert stated >= bound > 0

    gen, got = _run_generated(model, tmp_path, True, x, "tflm")
    assert np.array_equal(got, want_tflm)
    assert not [w for w in gen.program.warnings if "RELU6" in w]


def test_verify_names_the_reference_of_each_mode(tmp_path):
    path = tmp_path / "tanh_relu6.tflite"
    path.write_bytes(tanh_relu6_model())
    default = verify(path, count=2, seed=3)
    assert default.ok
    assert "layer by layer" in default.reference and "l1_relu6 (RELU6)" in default.reference
    assert any("differs here by up to" in n for n in default.notes)
    # (--match-tflm: against TFLM, in test_cli_match_tflm_option)


def test_cli_match_tflm_option(tmp_path, capsys):
    path = tmp_path / "tanh_relu6.tflite"
    path.write_bytes(tanh_relu6_model())
    assert cli_main([str(path), "-o", str(tmp_path / "a"), "-q"]) == 0
    err = capsys.readouterr().err
    assert "warning: layer l1_relu6" in err and "TFLM" in err
    assert cli_main([str(path), "-o", str(tmp_path / "b"), "-q", "--match-tflm"]) == 0
    assert "l1_relu6" not in capsys.readouterr().err
    assert cli_main(["verify", str(path), "--count", "1", "--match-tflm"]) == 0
    assert "reference: TFLM reference kernels" in capsys.readouterr().out


@pytest.mark.parametrize("opcode", ["RELU", "RELU6"])
def test_equal_quantization_no_warning_and_same_code(opcode, tmp_path):
    """Both arithmetics agree: no warning, and the option changes no byte."""
    q = (0.031, -7)
    path = tmp_path / "m.tflite"
    path.write_bytes(unary_model(opcode, (3, 40), q, q))
    a = generate(path, None, target="host", match_tflm=False)
    b = generate(path, None, target="host", match_tflm=True)
    assert a.files == b.files
    assert not a.program.warnings
    (layer,) = a.program.layers
    assert layer.call.oracle == "tflm"
    table = layer.call.consts[0].values
    assert np.array_equal(table, tflm_table(opcode, q, q))
    if opcode == "RELU6":
        assert np.array_equal(table, relu6_table(*q))


def test_tables_over_random_quantizations():
    """Every table over all 256 inputs: TFLite's against LiteRT's reference kernels, TFLM's
    against TFLM."""
    rng = np.random.default_rng(zlib.crc32(b"relu requantize tables"))
    for trial in range(40):
        in_q, out_q = random_quant(rng), random_quant(rng)
        if trial < 4:
            out_q = (out_q[0], [-128, 127, -128, 127][trial])
            in_q = (in_q[0], [127, -128, -128, 127][trial])
        label = f"in {in_q} out {out_q}"
        assert np.array_equal(relu_table(*in_q, *out_q), litert_table("RELU", in_q, out_q)), label
        assert np.array_equal(relu_table(*in_q, *out_q, tflm=True),
                              tflm_table("RELU", in_q, out_q)), label
        assert np.array_equal(relu6_tflite_table(*in_q, *out_q),
                              litert_table("RELU6", in_q, out_q)), label
        assert np.array_equal(relu6_table(*in_q), tflm_table("RELU6", in_q, out_q)), label
        assert np.array_equal(relu_n1_to_1_table(*in_q, *out_q),
                              litert_table("RELU_N1_TO_1", in_q, out_q)), label


def test_relu_tflm_and_tflite_differ_on_some_quantization():
    """The double vs float scale ratio of RELU matters (found by search; kept as a witness)."""
    in_q, out_q = (0.06400885432958603, -54), (0.10657632350921631, -99)
    a, b = relu_table(*in_q, *out_q), relu_table(*in_q, *out_q, tflm=True)
    assert np.array_equal(a, litert_table("RELU", in_q, out_q))
    assert np.array_equal(b, tflm_table("RELU", in_q, out_q))
    assert np.max(np.abs(a.astype(int) - b.astype(int))) == 1


@pytest.mark.parametrize("match_tflm", [False, True])
@pytest.mark.parametrize("opcode", ["RELU", "RELU6", "RELU_N1_TO_1"])
def test_random_single_op_models_both_modes(opcode, match_tflm, tmp_path):
    """Generated C over every int8 input: default = LiteRT's reference kernels, option = TFLM
    (TFLM has no RELU_N1_TO_1: LiteRT's in both modes)."""
    rng = np.random.default_rng(zlib.crc32(f"{opcode} {match_tflm}".encode()))
    in_q, out_q = random_quant(rng, -2.5, -0.5), random_quant(rng, -2.5, -0.5)
    if opcode == "RELU":  # a quantization where the two differ
        in_q, out_q = (0.06400885432958603, -54), (0.10657632350921631, -99)
    shape = (2, 5, 26)
    model = unary_model(opcode, shape, in_q, out_q)
    x = every_int8_value(shape)
    if match_tflm and opcode != "RELU_N1_TO_1":
        want = tflm_run(model, [x])[0].reshape(-1)
    else:
        want = litert_run(model, [x])[0].reshape(-1)
    gen, got = _run_generated(model, tmp_path, match_tflm, x, "m")
    assert np.array_equal(got, want)
    assert gen.program.layers[0].call.oracle == ("tflm" if match_tflm and opcode != "RELU_N1_TO_1"
                                                 else "litert")


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("match_tflm", [False, True])
def test_selftest_expects_what_each_mode_computes(match_tflm, tmp_path):
    """--selftest embeds the outputs of the reference of the mode: the self-test passes."""
    path = tmp_path / "tanh_relu6.tflite"
    path.write_bytes(tanh_relu6_model())
    out = tmp_path / "out"
    generate(path, out, target="host", selftest=3, match_tflm=match_tflm)
    text = (out / "tanh_relu6_selftest.c").read_text()
    assert ("layer by layer" in text) != match_tflm
    r = subprocess.run(["make", "-C", str(out), "run"], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def fc_relu1_sum_model() -> bytes:
    """FULLY_CONNECTED -> RELU_N1_TO_1 -> SUM: TFLM cannot run it as a whole (no RELU_N1_TO_1),
    and LiteRT's whole-model reference differs from TFLM on FULLY_CONNECTED and SUM."""
    rng = np.random.default_rng(11)
    m = ModelWriter()
    x = m.tensor("x", (2, 32), "int8", scale=0.03, zero_point=-4)
    w = m.const("w", rng.integers(-127, 128, (24, 32)), "int8", scale=[0.004], zero_point=[0])
    b = m.const("b", rng.integers(-2000, 2000, (24,)), "int32", scale=[0.03 * 0.004],
                zero_point=[0])
    h = m.tensor("fc", (2, 24), "int8", scale=0.02, zero_point=3)
    m.op("FULLY_CONNECTED", [x, w, b], [h], {"fused_activation_function": 0})
    c = m.tensor("clipped", (2, 24), "int8", scale=1 / 127, zero_point=0)
    m.op("RELU_N1_TO_1", [h], [c])
    y = m.tensor("sum", (2, 1), "int8", scale=0.09, zero_point=-2)
    m.op("SUM", [c, m.const("axis", np.array([1], np.int32), "int32")], [y], {"keep_dims": True})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_relu_n1_to_1_between_fc_and_sum(tmp_path):
    """Judged layer by layer (TFLM for FULLY_CONNECTED and SUM): bit-exact, where LiteRT's
    whole-model reference is off by up to 139 LSB on every output."""
    path = tmp_path / "fc_relu1_sum.tflite"
    path.write_bytes(fc_relu1_sum_model())
    report = verify(path, count=40, seed=7)
    assert report.ok, report.table()
    assert "l1_relu_n1_to_1 (RELU_N1_TO_1)" in report.reference
