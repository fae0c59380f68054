"""CMSIS-NN as a kernel library: version checks, source lists, scratch sizes, bit-exact layers.

Tests that need CMSIS-NN itself find it as users do, through CMSIS_NN_PATH, and skip
with the reason when it is unset.  Version checks run on small fake CMSIS-NN trees
and need nothing.
"""
from __future__ import annotations

import json
import os
import zlib
from pathlib import Path

import numpy as np
import pytest

from codegen import cli
from codegen.toolchain import cortexm
from codegen.toolchain.host import HostModel, compile_shared
from codegen.cmsis_nn import (CmsisNNBackend, CmsisNNError, cmsis_arch, locate, release_of)
from codegen.cmsis_nn.sources import index_sources
from codegen.emit import render_project, write_project
from codegen.errors import ToolchainError, UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.lowering import supported_opcodes
from codegen.program import build_program
from codegen.reference import TflmReference
from codegen.targets import load_target
from codegen.vectors import random_inputs
from codegen.verify import verify_cortexm
from tests.harness import SHARED_MODELS, assert_bit_exact
from tests.test_op_fully_connected import fc_model

CMSIS_NN = os.environ.get("CMSIS_NN_PATH") or None
needs_cmsis = pytest.mark.skipif(
    CMSIS_NN is None,
    reason="CMSIS_NN_PATH is not set: point it at a CMSIS-NN v7.0.0 or newer folder "
           "(git clone https://github.com/ARM-software/CMSIS-NN) to run the CMSIS-NN tests")

ACTS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


# --- version detection, on fake CMSIS-NN trees ------------------------------------------

HEADER = """/*
 * Project:      CMSIS NN Library
 * Title:        arm_nnfunctions.h
 * $Date:        04 November 2024
 * $Revision:    {rev}
 */
{decls}
"""
API = ["arm_fully_connected_s8", "arm_fully_connected_per_channel_s8", "arm_softmax_s8",
       "arm_fully_connected_s8_get_buffer_size_mve"]


def fake_cmsis(root: Path, rev: str | None = "V.18.0.0", api=API, source=True) -> Path:
    (root / "Include").mkdir(parents=True)
    decls = "\n".join(f"int {fn}(void);" for fn in api)
    text = HEADER.format(rev=rev, decls=decls) if rev else HEADER.replace(
        " * $Revision:    {rev}\n", "").format(decls=decls)
    (root / "Include" / "arm_nnfunctions.h").write_text(text)
    if source:
        (root / "Source").mkdir()
    return root


def test_release_names():
    assert release_of((18, 0, 0)) == "7.0.0"
    assert release_of((16, 0, 0)) == "6.0.0"
    assert release_of((11, 2, 0)) == "4.0.0"
    assert release_of((19, 1, 0)) == "newer than 7.0.0"
    assert release_of((17, 0, 0)) == "newer than 6.0.0"
    assert release_of((10, 0, 0)) == "older than 4.0.0"


def test_v7_header_accepted(tmp_path):
    lib = locate(fake_cmsis(tmp_path / "nn"))
    assert lib.version == "7.0.0" and lib.revision == (18, 0, 0) and not lib.warnings
    assert lib.describe() == "CMSIS-NN 7.0.0 (arm_nnfunctions.h V.18.0.0)"


def test_newer_development_header_accepted(tmp_path):
    lib = locate(fake_cmsis(tmp_path / "nn", "V.19.1.0"))
    assert lib.version == "newer than 7.0.0" and not lib.warnings


def test_much_newer_header_accepted_with_warning(tmp_path):
    lib = locate(fake_cmsis(tmp_path / "nn", "V.25.0.0"))
    assert lib.warnings and "newer than the releases tinygen was checked with" in lib.warnings[0]


@pytest.mark.parametrize("rev,release", [("V.16.0.0", "6.0.0"), ("V.12.4.0", "5.0.0"),
                                         ("V.17.2.0", "newer than 6.0.0")])
def test_older_header_refused(tmp_path, rev, release):
    with pytest.raises(CmsisNNError) as err:
        locate(fake_cmsis(tmp_path / "nn", rev))
    msg = str(err.value)
    assert f"CMSIS-NN {release} (arm_nnfunctions.h {rev})" in msg
    assert "too old" in msg and "v7.0.0 and newer" in msg


def test_unreadable_version_refused(tmp_path):
    with pytest.raises(CmsisNNError, match=r"cannot tell which CMSIS-NN release .*\$Revision"):
        locate(fake_cmsis(tmp_path / "nn", rev=None))


def test_missing_api_refused(tmp_path):
    with pytest.raises(CmsisNNError, match="does not declare arm_softmax_s8"):
        locate(fake_cmsis(tmp_path / "nn", api=[a for a in API if a != "arm_softmax_s8"]))


def test_not_a_cmsis_folder(tmp_path):
    with pytest.raises(CmsisNNError, match="does not exist"):
        locate(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CmsisNNError, match="is not a CMSIS-NN folder"):
        locate(tmp_path / "empty")
    fake_cmsis(tmp_path / "pack" / "CMSIS-NN")
    with pytest.raises(CmsisNNError, match="did you mean .*CMSIS-NN"):
        locate(tmp_path / "pack")
    with pytest.raises(CmsisNNError, match="not its Include folder"):
        locate(tmp_path / "pack" / "CMSIS-NN" / "Include")
    with pytest.raises(CmsisNNError, match="is not a CMSIS-NN folder"):
        locate(fake_cmsis(tmp_path / "nosrc", source=False))


def test_path_from_environment(tmp_path):
    root = fake_cmsis(tmp_path / "nn")
    assert locate(None, env={"CMSIS_NN_PATH": str(root)}).root == root.resolve()
    with pytest.raises(CmsisNNError, match="pass --cmsis-nn PATH or set CMSIS_NN_PATH"):
        locate(None, env={})


def test_code_path_of_targets():
    assert cmsis_arch(load_target("host")) == "c"
    assert cmsis_arch({"name": "cortex-m4"}) == "dsp"
    assert cmsis_arch({"name": "my-board", "cpu": "Cortex-M55"}) == "mve"
    assert cmsis_arch({"name": "m0", "cpu": "cortex-m0plus"}) == "c"
    assert cmsis_arch({"name": "b", "core_target": {"name": "cortex-m7"}}) == "dsp"
    assert cmsis_arch({"name": "x", "cpu": "cortex-m55", "cmsis_nn_arch": "dsp"}) == "dsp"
    assert cmsis_arch({"name": "board", "cflags": ["-O2", "-mcpu=cortex-m7"]}) == "dsp"
    assert cmsis_arch({"name": "cortex-m0+"}) == "c"
    assert cmsis_arch({"name": "m33", "cflags": ["-mcpu=cortex-m33+nodsp"]}) == "c"
    assert cmsis_arch({"name": "m55", "mcpu": "cortex-m55+nomve"}) == "dsp"
    with pytest.raises(CmsisNNError, match="set cmsis_nn_arch"):
        cmsis_arch({"name": "riscv"})


def test_cli_refuses_old_cmsis_from_environment(tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model(np.random.default_rng(0), 1, 4, 3, False, "NONE"))
    monkeypatch.setenv("CMSIS_NN_PATH", str(fake_cmsis(tmp_path / "nn", "V.16.0.0")))
    assert cli.main([str(model), "-o", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert "too old" in err and "CMSIS_NN_PATH" in err and "--no-cmsis-nn" in err
    # --no-cmsis-nn ignores the variable
    assert cli.main([str(model), "-o", str(tmp_path / "out"), "-q", "--no-cmsis-nn"]) == 0
    man = json.loads((tmp_path / "out" / "tinygen.json").read_text())
    assert man["kernel_library"] == "portable" and "cmsis_nn" not in man


# --- which sources a kernel needs ------------------------------------------------------

def test_source_closure_on_a_fake_tree(tmp_path):
    src = tmp_path / "nn" / "Source"
    (src / "A").mkdir(parents=True)
    (src / "B").mkdir()
    (src / "A" / "top.c").write_text("""
#include "arm_nnfunctions.h"
/* arm_in_comment() is not a call */
static int arm_local(int x) { return x; }
arm_cmsis_nn_status arm_top_s8(const int8_t *in)
{
    const char *s = "arm_in_string()";
    return arm_helper_s8(in) + arm_local(1) + arm_table[0];
}
""")
    (src / "B" / "helper.c").write_text("""
#if defined(ARM_MATH_MVEI)
int arm_helper_s8(const int8_t *in) { return arm_mve_only(in); }
#else
int arm_helper_s8(const int8_t *in) { (void)in; return 0; }
#endif
""")
    (src / "B" / "mve.c").write_text("int arm_mve_only(const int8_t *in) { return in[0]; }\n")
    (src / "B" / "table.c").write_text("const int8_t arm_table[2] = {1, 2};\n")
    (src / "B" / "unused.c").write_text("int arm_unused(void) { return arm_top_s8(0); }\n")
    (src / "A" / "local.c").write_text("static int arm_local(int x) { return -x; }\n")
    idx = index_sources(tmp_path / "nn")
    assert idx.closure(["arm_top_s8"]) == ["Source/A/top.c", "Source/B/helper.c",
                                           "Source/B/mve.c", "Source/B/table.c"]
    assert "arm_local" not in idx.defines
    with pytest.raises(KeyError):
        idx.closure(["arm_nothing"])


@needs_cmsis
def test_sources_of_the_mapped_kernels():
    lib = locate(CMSIS_NN)
    fc = lib.sources_for(["arm_fully_connected_s8"])
    assert "Source/FullyConnectedFunctions/arm_fully_connected_s8.c" in fc
    assert "Source/NNSupportFunctions/arm_nn_vec_mat_mult_t_s8.c" in fc
    assert "Source/SoftmaxFunctions/arm_softmax_s8.c" in lib.sources_for(["arm_softmax_s8"])
    with pytest.raises(CmsisNNError, match="defines no arm_no_such_kernel"):
        lib.sources_for(["arm_no_such_kernel"])


# --- scratch buffer sizes, from CMSIS-NN's own get_buffer_size functions -----------------

CONV = dict(input_offset=128, output_offset=-128, stride=dict(h=1, w=1),
            padding=dict(h=1, w=1), dilation=dict(h=1, w=1), activation=dict(min=-128, max=127))


@needs_cmsis
def test_scratch_sizes_per_code_path():
    lib = locate(CMSIS_NN)
    c, dsp, mve = (CmsisNNBackend(lib, a) for a in ("c", "dsp", "mve"))
    # fully connected: only Helium wants a buffer, for the kernel sums (int32 per unit)
    for units, depth in [(10, 100), (1, 1), (144, 250)]:
        assert c.buffer_size("arm_fully_connected_s8", (depth, 1, 1, units)) == 0
        assert dsp.buffer_size("arm_fully_connected_s8", (depth, 1, 1, units)) == 0
        assert mve.buffer_size("arm_fully_connected_per_channel_s8",
                               (depth, 1, 1, units)) == 4 * units
    # convolution, im2col path: two int16 columns of the (4-aligned) filter size
    for cin, k in [(8, 3), (3, 3), (1, 5)]:
        rhs = k * k * cin
        aligned = (rhs + 3) // 4 * 4
        args = (CONV, (1, 10, 10, cin), (16, k, k, cin), (1, 10, 10, 16))
        assert c.buffer_size("arm_convolve_wrapper_s8", *args) == 2 * aligned * 2
        assert dsp.buffer_size("arm_convolve_wrapper_s8", *args) == 2 * aligned * 2
        assert mve.buffer_size("arm_convolve_wrapper_s8", *args) == 4 * ((rhs + 15) // 16) * 16
    # average pooling: an int32 sum per channel on DSP, none in plain C
    assert c.buffer_size("arm_avgpool_s8", 5, 8) == 0
    assert dsp.buffer_size("arm_avgpool_s8", 5, 8) == 32
    # depthwise: every path answers with a non-negative size
    dw = dict(CONV, ch_mult=1)
    for be in (c, dsp, mve):
        assert be.buffer_size("arm_depthwise_conv_wrapper_s8", dw, (1, 10, 10, 8),
                              (1, 3, 3, 8), (1, 10, 10, 8)) >= 0
    with pytest.raises(ValueError, match="no get_buffer_size known"):
        c.buffer_size("arm_softmax_s8")
    with pytest.raises(KeyError, match="dilation"):
        c.buffer_size("arm_convolve_wrapper_s8", dict(CONV, dilation={}),
                      (1, 4, 4, 1), (1, 1, 1, 1), (1, 4, 4, 1))


# --- FULLY_CONNECTED through CMSIS-NN, bit-exact on the host ----------------------------

def _fc_cases():
    rng = np.random.default_rng(zlib.crc32(b"cmsis-fc-cases"))
    cases = []
    for k in range(10):
        cases.append((int(rng.integers(1, 5)), int(rng.integers(1, 300)),
                      int(rng.integers(1, 80)), bool(k % 2), ACTS[k % 4], bool(k % 3)))
    return cases + [(1, 1, 1, False, "NONE", True), (1, 1, 1, True, "RELU", False),
                    (2, 16, 16, True, "RELU6", True)]


FC_CASES = _fc_cases()


@needs_cmsis
@pytest.mark.parametrize("case", FC_CASES, ids=[str(c) for c in FC_CASES])
def test_fully_connected_bit_exact(case, tmp_path):
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    gen = assert_bit_exact(fc_model(rng, *case), tmp_path, count=3, cmsis_nn=CMSIS_NN).gen
    (call,) = [layer.call for layer in gen.program.layers]
    assert call.variant == "cmsis-nn"
    per_channel = case[3] and case[2] > 1     # one unit: one scale, per-tensor
    assert call.kernel == ("arm_fully_connected_per_channel_s8" if per_channel
                           else "arm_fully_connected_s8")


@needs_cmsis
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("in_zp,out_zp", [(-128, -128), (127, 127), (-128, 127), (127, -128)])
def test_fully_connected_zero_point_extremes(in_zp, out_zp, per_channel, tmp_path):
    rng = np.random.default_rng((in_zp + 128) * 1000 + out_zp + 128 + per_channel)
    model = fc_model(rng, 3, 37, 11, per_channel, "NONE", in_zp=in_zp, out_zp=out_zp)
    assert_bit_exact(model, tmp_path, count=4, cmsis_nn=CMSIS_NN)


@needs_cmsis
def test_generated_project_records_cmsis_nn_without_copying_it(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model(np.random.default_rng(3), 2, 20, 6, True, "RELU"))
    gen = generate(model, tmp_path / "out", cmsis_nn=CMSIS_NN)
    lib = locate(CMSIS_NN)
    man = json.loads((tmp_path / "out" / "tinygen.json").read_text())
    entry = man["cmsis_nn"]
    assert entry["version"] == lib.version and entry["header_revision"] == lib.revision_str
    assert entry["include_dirs"] == ["Include"] and entry["code_path"] == "c"
    assert entry["functions"] == ["arm_fully_connected_per_channel_s8"]
    assert entry["sources"] == lib.sources_for(["arm_fully_connected_per_channel_s8"])
    for rel in entry["sources"]:
        assert (lib.root / rel).is_file()
    assert man["layers"][0]["variant"] == "cmsis-nn"
    # nothing of CMSIS-NN is in the project, and no path of this machine
    assert not any(name.startswith("arm_") for name in gen.files)
    for data in gen.files.values():
        assert str(lib.root).encode() not in data
    c_text = gen.files["m.c"].decode()
    assert '#include "arm_nnfunctions.h"' in c_text
    for struct in ("cmsis_nn_context", "cmsis_nn_fc_params", "cmsis_nn_per_channel_quant_params"):
        assert f"static const {struct} l0_fully_connected_" in c_text
    assert c_text.count("static const cmsis_nn_dims") == 4
    assert "!= ARM_CMSIS_NN_SUCCESS" in c_text
    readme = gen.files["README.md"].decode()
    assert "$CMSIS_NN_PATH/Source/FullyConnectedFunctions/" in readme
    # the same model and CMSIS-NN give the same bytes
    again = generate(model, None, cmsis_nn=CMSIS_NN)
    assert again.files == gen.files


@needs_cmsis
def test_host_build_refuses_another_cmsis_nn_release(tmp_path):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model(np.random.default_rng(4), 1, 8, 4, False, "NONE"))
    generate(model, tmp_path / "out", cmsis_nn=CMSIS_NN)
    man_path = tmp_path / "out" / "tinygen.json"
    man = json.loads(man_path.read_text())
    man["cmsis_nn"]["header_revision"] = "V.99.0.0"
    man_path.write_text(json.dumps(man))
    with pytest.raises(ToolchainError, match="generated for CMSIS-NN .* generate it again"):
        compile_shared(tmp_path / "out", tmp_path / "lib.so", cmsis_nn=CMSIS_NN)


# --- code paths other than the host's: constants and scratch planned for them ---------

def _build_for(backend, model_bytes: bytes, tmp_path: Path):
    graph = read_tflite(model_bytes)
    program = build_program(graph, "m", load_target("host"), ["cmsis-nn", "portable"],
                            {"cmsis-nn": backend})
    files = render_project(program, "m.tflite", model_bytes)
    write_project(tmp_path / "out", files, force=True)
    return program, files


def _run_against_tflm(model_bytes: bytes, tmp_path: Path, count: int = 3) -> None:
    host = HostModel(tmp_path / "out", tmp_path / "build", cmsis_nn=CMSIS_NN)
    graph = read_tflite(model_bytes)
    ref = TflmReference(model_bytes, graph)
    rng = np.random.default_rng(11)
    for _ in range(count):
        xs = random_inputs(graph, rng)
        for got, want in zip(host.invoke(xs), ref.run(xs)):
            np.testing.assert_array_equal(got.reshape(-1), want.reshape(-1))


def _vector_sum_s8(lib, weights: np.ndarray, input_offset: int, bias) -> np.ndarray:
    """CMSIS-NN's own arm_vector_sum_s8 (its plain C path), built on the host."""
    import subprocess
    import tempfile

    import cffi

    from codegen.toolchain.host import find_cc

    units, depth = weights.shape
    with tempfile.TemporaryDirectory() as tmp:
        so = Path(tmp) / "libvs.so"
        srcs = [str(lib.root / s) for s in lib.sources_for(["arm_vector_sum_s8"])]
        subprocess.run([find_cc(), "-std=c99", "-O1", "-fPIC", "-shared",
                        f"-I{lib.root / 'Include'}", *srcs, "-o", str(so)], check=True)
        ffi = cffi.FFI()
        ffi.cdef("int arm_vector_sum_s8(int32_t *, const int32_t, const int32_t, const int8_t *,"
                 " const int32_t, const int32_t, const int32_t *);")
        vs = ffi.dlopen(str(so))
        out = np.zeros(units, dtype=np.int32)
        w = np.ascontiguousarray(weights, dtype=np.int8)
        b = ffi.NULL if bias is None else ffi.from_buffer(
            "int32_t[]", np.ascontiguousarray(bias, dtype=np.int32))
        vs.arm_vector_sum_s8(ffi.from_buffer("int32_t[]", out), depth, units,
                             ffi.from_buffer("int8_t[]", w), input_offset, 0, b)
        return out


@needs_cmsis
@pytest.mark.parametrize("per_channel,bias", [(False, True), (True, True), (False, False)])
def test_helium_kernel_sums_precomputed(per_channel, bias, tmp_path):
    """On MVE, ctx.buf carries kernel sums computed here, equal to arm_vector_sum_s8's."""
    lib = locate(CMSIS_NN)
    model = fc_model(np.random.default_rng(5 + per_channel + 2 * bias), 2, 45, 13,
                     per_channel, "RELU", bias=bias, in_zp=-77)
    program, files = _build_for(CmsisNNBackend(lib, "mve"), model, tmp_path)
    call = program.layers[0].call
    assert call.scratch == []
    sums = {c.name: c.values for c in call.consts}["l0_fully_connected_kernel_sum"]
    graph = read_tflite(model)
    w = graph.tensors[graph.ops[0].inputs[1]].data
    b = graph.tensors[graph.ops[0].inputs[2]].data if bias else None
    np.testing.assert_array_equal(sums, _vector_sum_s8(lib, w, 77, b))
    c_text = files["m.c"].decode()
    assert ".buf = (void *)m_weights.l0_fully_connected_kernel_sum,\n    .size = 52," in c_text
    assert json.loads(files["tinygen.json"])["cmsis_nn"]["code_path"] == "mve"
    # the host runs CMSIS-NN's plain C path, which ignores the sums: still bit-exact
    _run_against_tflm(model, tmp_path)


class _ScratchHungry(CmsisNNBackend):
    """A CMSIS-NN whose fully connected kernel asks for a scratch buffer."""

    def buffer_size(self, function, *args):
        return 100


@needs_cmsis
def test_scratch_buffer_planned_in_the_arena(tmp_path):
    lib = locate(CMSIS_NN)
    model = fc_model(np.random.default_rng(6), 1, 30, 10, False, "NONE")
    plain, _ = _build_for(CmsisNNBackend(lib, "c"), model, tmp_path / "a")
    program, files = _build_for(_ScratchHungry(lib, "c"), model, tmp_path)
    assert program.layers[0].call.scratch == [100]
    off = program.plan.scratch_offsets[(0, 0)]
    assert program.plan.arena_bytes >= plain.plan.arena_bytes + 100
    man = json.loads(files["tinygen.json"])
    assert man["arena_bytes"] == program.plan.arena_bytes
    c_text = files["m.c"].decode()
    assert f".buf = (void *)&m_arena[{off}], .size = 100" in c_text.replace(",\n    .", ", .")
    _run_against_tflm(model, tmp_path)


class _OddHelium(CmsisNNBackend):
    """A CMSIS-NN whose Helium buffer is not the kernel sums tinygen knows how to fill."""

    def buffer_size(self, function, *args):
        return 7


@needs_cmsis
def test_falls_back_to_portable_when_cmsis_nn_declines(tmp_path):
    model = fc_model(np.random.default_rng(8), 1, 12, 5, True, "RELU6")
    program, files = _build_for(_OddHelium(locate(CMSIS_NN), "mve"), model, tmp_path)
    call = program.layers[0].call
    assert call.kernel == "tg_fully_connected_s8" and call.variant == "portable"
    assert "cmsis_nn" not in json.loads(files["tinygen.json"])
    _run_against_tflm(model, tmp_path)


# --- SOFTMAX through CMSIS-NN ----------------------------------------------------------

def softmax_model(shape, beta, scale, zp, fc_depth=None, seed=0):
    m = ModelWriter()
    x = m.tensor("input", shape if fc_depth is None else (shape[0], fc_depth), "int8",
                 scale=scale if fc_depth is None else 0.05, zero_point=zp)
    src = x
    if fc_depth is not None:
        rng = np.random.default_rng(seed)
        w = m.const("weights", rng.integers(-127, 128, (shape[-1], fc_depth)), "int8",
                    scale=[0.01], zero_point=[0])
        src = m.tensor("logits", shape, "int8", scale=scale, zero_point=-zp // 2)
        m.op("FULLY_CONNECTED", [x, w, -1], [src], {"fused_activation_function": 0})
    y = m.tensor("output", shape, "int8", scale=1 / 256, zero_point=-128)
    m.op("SOFTMAX", [src], [y], {"beta": beta})
    m.inputs, m.outputs = [x], [y]
    return m.build()


SOFTMAX_CASES = [((1, 10), 1.0, 0.1, 0), ((3, 7), 0.5, 0.05, -128), ((2, 3, 5), 2.0, 0.2, 127),
                 ((4, 1), 1.0, 1.0, 0), ((1, 1000), 1.0, 0.02, -5), ((2, 64), 0.25, 0.3, 10),
                 ((1, 33), 1.0, 1e-5, 0), ((1, 12), 1.0, 16.0, 3)]


@needs_cmsis
@pytest.mark.parametrize("case", SOFTMAX_CASES, ids=[str(c) for c in SOFTMAX_CASES])
def test_softmax_bit_exact(case, tmp_path):
    gen = assert_bit_exact(softmax_model(*case), tmp_path, count=4, cmsis_nn=CMSIS_NN).gen
    assert [layer.call.kernel for layer in gen.program.layers] == ["arm_softmax_s8"]


@needs_cmsis
def test_fully_connected_then_softmax(tmp_path):
    gen = assert_bit_exact(softmax_model((2, 12), 1.0, 0.15, 20, fc_depth=40), tmp_path,
                           count=4, cmsis_nn=CMSIS_NN).gen
    assert [layer.call.kernel for layer in gen.program.layers] == \
        ["arm_fully_connected_s8", "arm_softmax_s8"]
    assert json.loads(gen.files["tinygen.json"])["cmsis_nn"]["functions"] == \
        ["arm_fully_connected_s8", "arm_softmax_s8"]


def test_softmax_needs_a_kernel_library_until_a_portable_one_exists(tmp_path):
    if "SOFTMAX" in supported_opcodes():
        pytest.skip("a portable SOFTMAX lowering exists on this branch")
    model = tmp_path / "s.tflite"
    model.write_bytes(softmax_model((1, 10), 1.0, 0.1, 0))
    with pytest.raises(UnsupportedError, match="SOFTMAX"):
        generate(model, None)


# --- the command line and the shared models ------------------------------------------

@needs_cmsis
def test_cli_verify_with_cmsis_nn(tmp_path, monkeypatch, capsys):
    model = tmp_path / "m.tflite"
    model.write_bytes(fc_model(np.random.default_rng(9), 1, 25, 7, True, "RELU"))
    assert cli.main(["verify", str(model), "--count", "3", "--cmsis-nn", CMSIS_NN]) == 0
    out = capsys.readouterr().out
    assert "BIT-EXACT" in out and "CMSIS-NN" in out
    monkeypatch.setenv("CMSIS_NN_PATH", CMSIS_NN)
    assert cli.main([str(model), "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    assert "arm_fully_connected_per_channel_s8" in out and "CMSIS-NN" in out


def _shared_models_with_cmsis() -> list[str]:
    if not SHARED_MODELS.is_dir():
        return []
    from codegen.frontend import load_tflite
    from codegen.passes import run_passes
    ok = set(supported_opcodes())
    return sorted(p.stem for p in SHARED_MODELS.glob("*.tflite")
                  if {op.opcode for op in run_passes(load_tflite(p)).ops} <= ok)


SHARED_COUNT = {"emza_yolo_fastest_face192": 1, "openmv_yolo_lc_192": 1}


@needs_cmsis
@pytest.mark.parametrize("name", _shared_models_with_cmsis())
def test_shared_model_bit_exact_with_cmsis_nn(name, tmp_path):
    assert_bit_exact((SHARED_MODELS / f"{name}.tflite").read_bytes(), tmp_path,
                     count=SHARED_COUNT.get(name, 2), seed=7, name=name, cmsis_nn=CMSIS_NN)


@needs_cmsis
@pytest.mark.skipif(bool(cortexm.missing_packages()),
                    reason="needs arm-none-eabi-gcc and qemu-system-arm (run setup.sh)")
def test_helium_path_bit_exact_on_the_emulated_cortex_m55():
    """CMSIS-NN's MVE (Helium) kernels, run on QEMU's mps3-an547 (a Cortex-M55 with MVE)."""
    report = verify_cortexm(SHARED_MODELS / "mlperf_kws_dscnn.tflite", count=1, seed=3,
                            target="cortex-m55", cmsis_nn=CMSIS_NN)
    assert report.ok, report.table()
    assert "mps3-an547" in report.table() and "mve" in report.table()
