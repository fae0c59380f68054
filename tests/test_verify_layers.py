"""`tinygen verify --layers`: every layer's outputs against the reference, each layer judged
by its own oracle, and the first differing layer named with its shapes and positions."""
import numpy as np
import pytest

from codegen import lowering
from codegen.cli import main as cli_main
from codegen.errors import TinygenError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.verify import verify


def fc_relu1_fc_sum_model() -> bytes:
    """FULLY_CONNECTED -> RELU_N1_TO_1 (no TFLM kernel) -> FULLY_CONNECTED -> SUM."""
    rng = np.random.default_rng(5)
    m = ModelWriter()
    x = m.tensor("x", (2, 32), "int8", scale=0.03, zero_point=-4)

    def fc(name, inp, n_in, n_out, in_scale, out_scale, out_zp):
        w = m.const(f"{name}_w", rng.integers(-127, 128, (n_out, n_in)), "int8",
                    scale=[0.004], zero_point=[0])
        b = m.const(f"{name}_b", rng.integers(-2000, 2000, (n_out,)), "int32",
                    scale=[in_scale * 0.004], zero_point=[0])
        y = m.tensor(name, (2, n_out), "int8", scale=out_scale, zero_point=out_zp)
        m.op("FULLY_CONNECTED", [inp, w, b], [y], {"fused_activation_function": 0})
        return y

    h = fc("fc0", x, 32, 24, 0.03, 0.02, 3)
    c = m.tensor("clipped", (2, 24), "int8", scale=1 / 127, zero_point=0)
    m.op("RELU_N1_TO_1", [h], [c])
    h2 = fc("fc2", c, 24, 16, 1 / 127, 0.01, -6)
    y = m.tensor("sum", (2, 1), "int8", scale=0.09, zero_point=-2)
    m.op("SUM", [h2, m.const("axis", np.array([1], np.int32), "int32")], [y], {"keep_dims": True})
    m.inputs, m.outputs = [x], [y]
    return m.build()


@pytest.fixture
def model_path(tmp_path):
    path = tmp_path / "fc_relu1_fc_sum.tflite"
    path.write_bytes(fc_relu1_fc_sum_model())
    return path


def test_correct_model_passes_and_names_each_oracle(model_path, capsys):
    assert cli_main(["verify", str(model_path), "--layers", "--count", "3", "-q"]) == 0
    out = capsys.readouterr().out
    assert "BIT-EXACT" in out and "every layer's outputs (--layers)" in out
    report = verify(model_path, count=3, seed=1, layers=True)
    assert report.ok and report.first_bad_layer is None
    assert [(r.layer, r.opcode, r.oracle) for r in report.layers] == [
        (0, "FULLY_CONNECTED", "TFLM"), (1, "RELU_N1_TO_1", "LiteRT BUILTIN_REF"),
        (2, "FULLY_CONNECTED", "TFLM"), (3, "SUM", "TFLM")]
    assert [r.compared for r in report.layers] == [3 * 48, 3 * 48, 3 * 32, 3 * 2]


def test_broken_layer_is_named(model_path, monkeypatch):
    """Layer 2 generated with an output zero point one off: --layers names exactly it."""
    right = lowering.variants_of("FULLY_CONNECTED")["portable"]

    def broken(op, graph, ctx):
        call = right(op, graph, ctx)
        if op.index == 2:
            call.params["output_offset"] += 1
        return call
    monkeypatch.setitem(lowering._REGISTRY["FULLY_CONNECTED"], "portable", broken)
    report = verify(model_path, count=2, seed=1, layers=True)
    assert not report.ok
    bad = report.first_bad_layer
    assert (bad.layer, bad.opcode, bad.oracle) == (2, "FULLY_CONNECTED", "TFLM")
    assert [r.differing > 0 for r in report.layers[:2]] == [False, False]
    assert bad.shapes == "[2x24] -> [2x16]"
    assert "output 0 'fc2'" in bad.detail and "vector 0" in bad.detail
    # the first differing position: an element where tinygen is one above TFLM
    pos = bad.detail.split("first at ")[1].split(";")[0]
    got, want = int(pos.split(" got ")[1].split()[0]), int(pos.split(" want ")[1])
    assert got == want + 1 or got == 127
    table = report.table()
    assert "first differing layer 2 (FULLY_CONNECTED, [2x24] -> [2x16], judged by TFLM)" in table
    assert "MISMATCH" in table


def test_layer_hook_only_with_layers(model_path, tmp_path):
    plain = generate(model_path, None, target="host")
    hooked = generate(model_path, None, target="host", layer_hook=True)
    assert not any(b"layer_hook" in data for data in plain.files.values())
    c = hooked.files["fc_relu1_fc_sum.c"].decode()
    assert c.count("fc_relu1_fc_sum_layer_hook(") == 4
    with pytest.raises(TinygenError, match="host only"):
        verify(model_path, count=1, target="cortex-m4", layers=True)


def test_cli_refuses_layers_where_it_cannot_run(model_path, capsys):
    assert cli_main(["verify", str(model_path), str(model_path), "--layers", "-q"]) == 2
    assert "--layers is for one model at a time" in capsys.readouterr().err
    assert cli_main(["verify", str(model_path), "--layers", "--target", "cortex-m4", "-q"]) == 2
    assert "host only" in capsys.readouterr().err
