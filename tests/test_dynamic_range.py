"""A dynamic-range quantized model (int8 weights, float32 activations) is named as such,
with what to do, and is not called a float model."""
import numpy as np
import pytest

from codegen.cli import main as cli_main
from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate


def dynamic_range_model() -> bytes:
    """What the converter writes with Optimize.DEFAULT and no representative dataset:
    CONV_2D and FULLY_CONNECTED on float32 activations with int8 per-channel weights."""
    rng = np.random.default_rng(5)
    m = ModelWriter()
    x = m.tensor("input", (1, 8, 8, 1), "float32")
    w = m.const("conv/weights", rng.integers(-127, 128, (4, 3, 3, 1)), "int8",
                scale=[0.01, 0.02, 0.015, 0.01], zero_point=[0] * 4, axis=0)
    b = m.const("conv/bias", np.zeros(4, np.float32), "float32")
    c = m.tensor("conv_out", (1, 6, 6, 4), "float32")
    m.op("CONV_2D", [x, w, b], [c], {"padding": 1, "stride_w": 1, "stride_h": 1,
                                     "fused_activation_function": 1})
    r = m.tensor("flat", (1, 144), "float32")
    m.op("RESHAPE", [c, m.const("shape", np.array([1, 144], np.int32), "int32")], [r])
    fw = m.const("dense/weights", rng.integers(-127, 128, (10, 144)), "int8", scale=[0.003],
                 zero_point=[0])
    y = m.tensor("logits", (1, 10), "float32")
    m.op("FULLY_CONNECTED", [r, fw, -1], [y], {"fused_activation_function": 0,
                                               "asymmetric_quantize_inputs": True})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_dynamic_range_model_is_named_with_the_fix(tmp_path):
    with pytest.raises(UnsupportedError) as e:
        generate("dr.tflite", None, model_bytes=dynamic_range_model())
    msg = str(e.value)
    assert "dynamic-range quantized model" in msg and "float model" not in msg
    assert "operator #0 (CONV_2D) weights 'conv/weights'" in msg
    assert "operator #2 (FULLY_CONNECTED) weights 'dense/weights'" in msg
    assert "2 layer(s)" in msg
    assert "representative_dataset" in msg and "TFLITE_BUILTINS_INT8" in msg


def test_dynamic_range_model_on_the_command_line(tmp_path, capsys):
    path = tmp_path / "dr.tflite"
    path.write_bytes(dynamic_range_model())
    assert cli_main([str(path), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygen: error: ") and "dynamic-range" in err
    assert "Traceback" not in err and not (tmp_path / "out").exists()
