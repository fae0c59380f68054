"""The C/Python contract, checked mechanically against the runtime_c headers (pycparser).

Every LayerCall produced for a corpus (all shared models and small single-operator
models) must fill exactly the fields of its params struct (a missing key would silently
be zero), call a declared function, and need no runtime module the kernel's header and
#include closure do not bring; every params struct of runtime_c must be exercised; every
limit the lowerings share with the C must equal the header's macro.  Generation only: no
C is compiled here.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from codegen import cheaders, compression
from codegen.encoding import KINDS
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.ir import ConstRef, LayerCall
from codegen.program import build_program
from codegen.targets import load_target
from tests.test_resblock import Block, block_model
from tests.conv_models import ConvCase, add_layer
from tests.test_compress import model as compressed_model
from tests.test_dsp_kernels import add_fc
from tests.test_dsp_misc import add_binary, add_pool
from tests.test_op_lstm import add_lstm
from tests.test_ops13_targets import combined_model
from tests.harness import SHARED_MODELS
from tests.test_op_16x8 import (activation_16x8, binary_16x8, conv_16x8, fc_16x8, lstm_16x8,
                                pool_16x8, relu_16x8, softmax_16x8)
from tests.test_op_elementwise import binary_model
from tests.test_op_batch_matmul import batch_matmul_model
from tests.test_op_div import div_model
from tests.test_op_transpose_conv import transpose_conv_model
from tests.test_op_maximum_minimum import maxmin_model
from tests.test_op_quantize import layers_model
from tests.test_op_softmax import softmax_model


@dataclass
class Seen:
    source: str          # model the call was generated for
    name: str            # layer name
    call: LayerCall


def _quantize_layers() -> list[dict]:
    """One QUANTIZE/DEQUANTIZE layer per supported type pair (every lookup and requantize)."""
    q = {"float32": None, "int8": (0.05, 3), "uint8": (0.05, 131), "int16": (0.001, 0),
         "int32": (0.0001, 0)}
    pairs = [("float32", "int8"), ("float32", "int16"), ("int8", "int8"), ("int8", "uint8"),
             ("int8", "int16"), ("int8", "int32"), ("uint8", "int8"), ("int16", "int8"),
             ("int16", "int16"), ("int16", "int32"), ("int32", "int8"), ("int32", "int16")]
    layers = [dict(op="QUANTIZE", src=s, dst=d, shape=(2, 3), in_q=q[s],
                   out_q=(q[d][0] * 1.5, q[d][1])) for s, d in pairs]
    layers += [dict(op="DEQUANTIZE", src=s, dst="float32", shape=(4,), in_q=q[s], out_q=None)
               for s in ("int8", "uint8", "int16")]
    return layers


def single_op_models() -> dict[str, bytes]:
    """Small models reaching the kernels and params structs the shared models do not."""
    rng = np.random.default_rng(9)
    models = {
        "quantize": layers_model(_quantize_layers()),
        "maximum": maxmin_model(rng, "MAXIMUM", (2, 5, 7, 3), (3,)),
        "minimum": maxmin_model(rng, "MINIMUM", (4, 1, 6), (1, 5, 1)),
        "sub": binary_model("SUB", (2, 3, 4), (4,), rng=rng),
        "softmax": softmax_model([
            dict(op="SOFTMAX", shape=(1, 10), scale=0.1, zp=0, out="int16"),
            dict(op="SOFTMAX", shape=(3, 7), dtype="float32"),
            dict(op="LOG_SOFTMAX", shape=(2, 5), scale=0.1, zp=-3),
            dict(op="LOG_SOFTMAX", shape=(2, 5), dtype="float32")]),
    }
    # RESHAPE that cannot alias its input (a model input straight to a model output): tg_copy
    m = ModelWriter()
    x = m.tensor("x", (2, 6), "int8", scale=0.1, zero_point=0)
    y = m.tensor("y", (3, 4), "int8", scale=0.1, zero_point=0)
    m.op("RESHAPE", [x, m.const("shape", np.array([3, 4]), "int32")], [y])
    m.inputs, m.outputs = [x], [y]
    models["reshape"] = m.build()
    # TILE, SLICE, GATHER, REDUCE_MAX/MIN, ARG_MAX/MIN together
    models["ops13"] = combined_model()
    # PRELU and SQUARED_DIFFERENCE (their own params structs)
    m = ModelWriter()
    x = m.tensor("x", (1, 3, 3, 4), "int8", scale=0.05, zero_point=-3)
    a = m.const("alpha", rng.integers(-128, 128, (1, 1, 4)), "int8", scale=0.01, zero_point=2)
    p = m.tensor("p", (1, 3, 3, 4), "int8", scale=0.04, zero_point=1)
    m.op("PRELU", [x, a], [p])
    y = m.tensor("y", (1, 3, 3, 4), "int8", scale=0.02, zero_point=-128)
    m.op("SQUARED_DIFFERENCE", [p, x], [y])
    m.inputs, m.outputs = [x], [y]
    models["prelu_sqdiff"] = m.build()
    models["transpose_conv"] = transpose_conv_model(rng, (1, 2, 2, 3), (4, 4), (3, 3), (2, 2),
                                                    0, 2)
    models["batch_matmul"] = batch_matmul_model(rng, (2, 4, 3), (1, 4, 5), True, False)
    models["div"] = div_model(rng, (2, 3, 4), (3, 1))
    # 16x8 CONV_2D, DEPTHWISE_CONV_2D, FULLY_CONNECTED (their own params structs)
    models["conv_16x8"] = conv_16x8(rng, (1, 5, 4, 3), 4, (3, 3), bias="int32")
    models["depthwise_16x8"] = conv_16x8(rng, (1, 5, 4, 3), 3, (3, 3), depthwise=True)
    models["fc_16x8"] = fc_16x8(rng, 2, 9, 4)
    # per-tensor: the form CMSIS-NN's arm_fully_connected_s16 takes
    models["fc_16x8_per_tensor"] = fc_16x8(np.random.default_rng(11), 2, 9, 4, per_channel=False)
    models["avgpool_16x8"] = pool_16x8(np.random.default_rng(12), "AVERAGE_POOL_2D",
                                       (1, 4, 4, 3), (2, 2), 2, "VALID", "NONE")
    models["mul_16x8"] = binary_16x8(np.random.default_rng(13), "MUL", (2, 3), (2, 3),
                                     (0, 0, 0), "NONE")
    models["tanh_16x8"] = activation_16x8("TANH", 0.001, (3, 5))
    models["softmax_16x8"] = softmax_16x8(0.001, (2, 5))
    models["leaky_relu_16x8"] = relu_16x8("LEAKY_RELU", (2, 3), (1e-3, 0), (1e-3, 0), 0.1)
    models["lstm_16x8"] = lstm_16x8(rng, 1, 2, 3, 4)
    # fused residual blocks (tg_resblock_params_t, tg_resblock_down_params_t)
    models["resblock"] = block_model([Block(5, 4, 3, 3), Block(6, 4, 3, 3, stride=2)], 14)
    return models


def dsp_models() -> dict[str, bytes]:
    """Models whose layers the dsp variant runs: FULLY_CONNECTED, a 1x1 and a 3x3 CONV_2D,
    a DEPTHWISE_CONV_2D."""
    rng = np.random.default_rng(10)
    m = ModelWriter()
    add_fc(m, rng, "f", 2, 7, 5, True, "RELU")
    add_layer(m, rng, ConvCase(in_h=3, in_w=2, in_d=6, out_d=3, k_h=1, k_w=1), "c")
    add_layer(m, rng, ConvCase(op="DEPTHWISE_CONV_2D", in_h=4, in_w=3, in_d=5, out_d=5), "d")
    add_layer(m, rng, ConvCase(in_h=4, in_w=3, in_d=3, out_d=3, k_h=3, k_w=3), "k")
    models = {"dsp_gemm": m.build()}
    m = ModelWriter()
    add_lstm(m, rng, "l", 2, 3, 5, 6)
    for k, (op, a, b) in enumerate((("ADD", (2, 5), (5,)), ("SUB", (3, 4), (3, 4)),
                                    ("MUL", (4, 1), (1, 3)), ("ADD", (1, 64, 40), (40,)))):
        add_binary(m, rng, f"e{k}", op, a, b)
    add_pool(m, rng, "pa", "AVERAGE_POOL_2D", (1, 4, 4, 5), (2, 2), (2, 2), 1)
    add_pool(m, rng, "pm", "MAX_POOL_2D", (1, 4, 4, 5), (2, 2), (2, 2), 1)
    models["dsp_misc"] = m.build()
    # fused residual blocks, identity and downsampling: a small ADD and one of the table form
    models["dsp_resblock"] = block_model([Block(5, 4, 3, 3), Block(16, 16, 8, 8),
                                          Block(6, 4, 3, 3, stride=2),
                                          Block(16, 16, 8, 32, stride=2, out_c=32)], 15)
    return models


def _calls(source: str, model: bytes, target: dict, library=None, backend=None,
           compress=()) -> list[Seen]:
    kernels = [library, "portable"] if library else None
    backends = {library: backend} if backend is not None else None
    program = build_program(read_tflite(model), "model", target, kernels, backends,
                            compress=compress)
    return [Seen(source, layer.name, layer.call) for layer in program.layers]


@pytest.fixture(scope="module")
def corpus() -> list[Seen]:
    host = load_target("host")
    seen: list[Seen] = []
    shared = sorted(SHARED_MODELS.glob("*.tflite"))
    assert shared, f"no models in {SHARED_MODELS}"
    for path in shared:
        seen += _calls(path.name, path.read_bytes(), host)
    for name, model in single_op_models().items():
        seen += _calls(name, model, host)
    # tinygen's DSP-extension kernels (the dsp variant, default on Cortex-M4/M7/M33)
    m4 = load_target("cortex-m4")
    for name, model in dsp_models().items():
        seen += _calls(name, model, m4, "dsp")
    # compressed filters (--compress): the portable and the dsp kernels reading them (their
    # code counted as free: these layers are too small to repay it under auto)
    with compression.code_table({}):
        seen += _calls("compressed", compressed_model("contract"), host, compress=KINDS)
        seen += _calls("compressed", compressed_model("contract"), m4, "dsp", compress=KINDS)
        # 16 rows that tg_dsp_cw_gemm_s8 expands once (a 1-bit palette within the goals)
        seen += _calls("compressed",
                       compressed_model("contract", [(16, 64, 12, True, "pal2")], []),
                       m4, "dsp", compress=KINDS)
        # a 3x3 convolution on tg_dsp_cw_conv_s8, a depthwise one on tg_dsp_cw_depthwise_s8
        # (int4 filters within the goal)
        seen += _calls("compressed", compressed_model(
            "contract", [], [(ConvCase(in_h=10, in_w=10, in_d=32, out_d=24), "int4"),
                             (ConvCase(op="DEPTHWISE_CONV_2D", in_h=25, in_w=5, in_d=64,
                                       out_d=64), "int4")]), m4, "dsp", compress=KINDS)
    return seen


def _where(s: Seen) -> str:
    return f"{s.source} {s.name} ({s.call.kernel})"


def _report(problems: dict[str, list[str]]) -> str:
    """One line per distinct problem: how many calls have it, and the first of them."""
    return "\n".join(f"{p} ({len(w)} call(s), first {w[0]})" for p, w in problems.items())


def test_every_call_fills_exactly_its_params_struct(corpus):
    parsed = cheaders.parse()
    problems: dict[str, list[str]] = {}
    for s in corpus:
        if s.call.variant in ("portable", "dsp"):      # tinygen's own runtime_c kernels
            for p in cheaders.check_call(parsed, s.call):
                problems.setdefault(p, []).append(f"{s.source} {s.name}")
    assert not problems, _report(problems)


def test_every_params_struct_is_exercised(corpus):
    structs = {n for n in cheaders.parse().structs if n.endswith("_params_t")}
    used = {s.call.params_type for s in corpus}
    assert structs - used == set(), (
        f"params structs no call in the corpus fills: {sorted(structs - used)}; add a model "
        "reaching them to single_op_models() in tests/test_contract.py")
    assert len(structs) >= 20


def test_limits_mirrored_in_python_equal_the_header_macros():
    macros = cheaders.scan().macros
    for name, value in cheaders.C_LIMITS.items():
        assert name in macros, f"C_LIMITS names {name}, which no runtime_c header defines"
        assert macros[name] == value, f"C_LIMITS[{name!r}] = {value}, the header says {macros[name]}"
    # every macro sizing an array in a header is one the lowerings see through C_LIMITS
    sizing = {m for h in cheaders.RUNTIME_DIR.glob("tg_*.h")
              for m in re.findall(r"\[\s*([A-Z_][A-Z0-9_]*)\s*\]", h.read_text())}
    assert sizing == set(cheaders.C_LIMITS), (
        f"array-sizing macros not in cheaders.C_LIMITS: {sorted(sizing - set(cheaders.C_LIMITS))}"
        f"; in C_LIMITS but sizing nothing: {sorted(set(cheaders.C_LIMITS) - sizing)}")


def test_text_scan_agrees_with_pycparser():
    """Generation uses the compiler-free text scan; it must see what pycparser sees."""
    assert cheaders.scan().functions == cheaders.parse().functions
    assert {"tg_conv_s8", "tg_concat", "tg_strided_copy"} <= set(cheaders.scan().functions)


def test_text_scan_needs_no_compiler(monkeypatch, tmp_path):
    """Generation derives runtime modules from the text alone: no preprocessor is run."""
    def no_compiler(*args, **kwargs):
        raise AssertionError("scan() ran a program")
    monkeypatch.setattr(cheaders.subprocess, "run", no_compiler)
    assert cheaders.scan.__wrapped__(cheaders.RUNTIME_DIR) == cheaders.scan()
    # a C++ guard around the declarations hides nothing
    (tmp_path / "tg_x.h").write_text('#ifdef __cplusplus\nextern "C" {\n#endif\n'
                                     "#include \"tg_y.h\"\n"
                                     "typedef struct { int a; } tg_x_params_t;\n"
                                     "void tg_x(const tg_x_params_t *p,\n          int n);\n"
                                     "#define TG_X_LIMIT (-3)\n#define TG_X_MASK 0x10u\n"
                                     '#ifdef __cplusplus\n}\n#endif\n')
    (tmp_path / "tg_y.h").write_text("static inline int tg_y(int a) { return a; }\n")
    (tmp_path / "tg_y.c").write_text('#include "tg_z.h"\n')
    (tmp_path / "tg_z.h").write_text("")
    scan = cheaders.scan.__wrapped__(tmp_path)
    assert scan.functions == {"tg_x": "tg_x", "tg_y": "tg_y"}
    assert scan.macros == {"TG_X_LIMIT": -3, "TG_X_MASK": 16}
    assert cheaders.runtime_modules(["tg_x"], tmp_path) == ["tg_common", "tg_x", "tg_y", "tg_z"]


def test_runtime_modules_follow_includes_from_h_and_c():
    assert cheaders.runtime_modules(["tg_conv_s8"]) == ["tg_common", "tg_conv", "tg_conv_window"]
    assert cheaders.runtime_modules(["tg_softmax_f32"]) == ["tg_common", "tg_mathf",
                                                            "tg_softmax_f32"]
    assert cheaders.runtime_modules(["tg_softmax_s8"]) == ["tg_common", "tg_fixedpoint",
                                                           "tg_softmax"]
    assert cheaders.runtime_modules(["tg_concat"]) == ["tg_bytes", "tg_common", "tg_movement"]
    assert cheaders.runtime_modules(["arm_convolve_s8"]) == ["tg_common"]


# ------------------------------------------------ the checker itself catches what it should

def _fabricated(params: dict, params_type="tg_fully_connected_params_t",
                kernel="tg_fully_connected_s8") -> LayerCall:
    return LayerCall(op=None, kernel=kernel, params_type=params_type, params=params)


def _full_fc_params() -> dict:
    fields = cheaders.parse().structs["tg_fully_connected_params_t"]
    types = cheaders.parse().field_types["tg_fully_connected_params_t"]
    return {f: ConstRef("w") if types[f].endswith("*") else 1 for f in fields}


def test_checker_accepts_a_complete_call():
    assert cheaders.check_call(cheaders.parse(), _fabricated(_full_fc_params())) == []


def test_checker_reports_a_missing_key():
    params = _full_fc_params()
    del params["output_offset"]
    problems = cheaders.check_call(cheaders.parse(), _fabricated(params))
    assert len(problems) == 1 and "missing" in problems[0] and "output_offset" in problems[0], \
        problems


def test_checker_reports_unknown_keys_kernels_and_structs():
    parsed = cheaders.parse()
    params = dict(_full_fc_params(), output_ofset=0)
    assert "output_ofset" in " ".join(cheaders.check_call(parsed, _fabricated(params)))
    assert "tg_fully_connected_s9" in " ".join(cheaders.check_call(
        parsed, _fabricated(_full_fc_params(), kernel="tg_fully_connected_s9")))
    swapped = dict(_full_fc_params(), weights=5, act_min=ConstRef("w"))
    problems = cheaders.check_call(parsed, _fabricated(swapped))
    assert len(problems) == 2 and "weights" in problems[0] and "act_min" in problems[1], problems
    assert "tg_nope_params_t" in " ".join(cheaders.check_call(
        parsed, _fabricated({}, params_type="tg_nope_params_t")))


def test_checker_reports_arrays_of_the_wrong_length():
    parsed = cheaders.parse()
    fields = parsed.structs["tg_reduce_params_t"]
    n = cheaders.C_LIMITS["TG_REDUCE_MAX_DIMS"]
    params = {f: [1] * n if f in parsed.arrays["tg_reduce_params_t"] else 1 for f in fields}
    assert cheaders.check_params(parsed, "tg_reduce_params_t", params) == []
    params["outer_dims"] = [1] * (n - 1)          # would be zero-padded by C silently
    problems = cheaders.check_params(parsed, "tg_reduce_params_t", params)
    assert len(problems) == 1 and "outer_dims" in problems[0], problems


# ------------------------------------------------ CMSIS-NN structs (needs CMSIS_NN_PATH)

@pytest.mark.skipif(not os.environ.get("CMSIS_NN_PATH"),
                    reason="CMSIS_NN_PATH not set: CMSIS-NN's structs are checked only "
                           "against a CMSIS-NN checkout")
def test_cmsis_nn_structs_match_arm_nn_types():
    from codegen.cmsis_nn import LIBRARY, locate

    lib = locate(os.environ["CMSIS_NN_PATH"])
    include = Path(lib.root) / "Include"
    parsed = cheaders.parse_files([include / "arm_nnfunctions.h"], [include])
    target = load_target("cortex-m4")
    backend = lib.backend(target)
    checked = 0
    problems: dict[str, list[str]] = {}
    models = {p.name: p.read_bytes() for p in sorted(SHARED_MODELS.glob("*.tflite"))}
    for source, model in {**models, **single_op_models()}.items():
        for s in _calls(source, model, target, LIBRARY, backend):
            if s.call.variant != LIBRARY:
                continue
            found = [] if s.call.kernel in parsed.functions else [
                f"{s.call.kernel} is not declared in arm_nnfunctions.h"]
            for st in s.call.structs:
                found += cheaders.check_params(parsed, st.ctype, st.fields,
                                               f"{s.call.kernel} {st.name}")
                checked += 1
            for p in found:
                problems.setdefault(p, []).append(f"{s.source} {s.name}")
    assert not problems, _report(problems)
    assert checked > 0
