"""Every overlap a kernel declares, run for real: output over input vs separate buffers.

A lowering that declares `Overlap(output, input, offset)` promises its kernel is right
when the output starts `offset` bytes after the input's first byte (codegen/ir.py).  Here
each declared overlap of many random single-operator layers is run on the host through
cffi, twice: with separate buffers, and with the output written over the input, and the
outputs must agree bit for bit.  A kernel that read an input byte it had already
overwritten fails; the control case (an overlap no kernel declares: a broadcast input
overwritten by the output) shows the comparison sees exactly that.  Every kernel that
declares an overlap must be reached here (`test_every_declaring_kernel_is_exercised`).
"""
from __future__ import annotations

import subprocess
import zlib

import cffi
import numpy as np
import pytest

from codegen import cheaders
from codegen.frontend import read_tflite
from codegen.ir import CExpr, ConstRef, Overlap, ScratchArg, TensorArg
from codegen.program import build_program
from codegen.resources import runtime_dir
from codegen.targets import load_target
from codegen.toolchain.host import WARNINGS, find_cc
from tests.lut_helpers import unary_model
from tests.test_op_16x8 import activation_16x8, binary_16x8, relu_16x8, softmax_16x8
from tests.test_op_elementwise import binary_model
from tests.test_op_quantize import layers_model
from tests.test_resblock import Block, block_model

NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32}


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def _shape(rng):
    return tuple(int(d) for d in rng.integers(1, 7, size=int(rng.integers(1, 5))))


def _models() -> list[bytes]:
    """Random single-operator models of every kernel that declares an overlap."""
    models = []
    for k in range(4):
        rng = _rng("lut", k)
        q = (float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128)))
        q2 = (float(rng.uniform(0.01, 0.2)), int(rng.integers(-128, 128)))
        models += [unary_model("RELU", _shape(rng), q, q2),
                   unary_model("RELU6", _shape(rng), q, q2),
                   unary_model("LEAKY_RELU", _shape(rng), q, q2, {"alpha": 0.2}),
                   unary_model("HARD_SWISH", _shape(rng), q, q2),
                   unary_model("LOGISTIC", _shape(rng), q, (1 / 256, -128)),
                   unary_model("TANH", _shape(rng), q, (1 / 128, 0))]
    zps = {"int8": 3, "uint8": 131, "int16": 0, "int32": 0}
    scales = {"int8": 0.05, "uint8": 0.05, "int16": 0.001, "int32": 0.0001}
    for k, (src, dst) in enumerate([("int8", "int8"), ("int8", "uint8"), ("uint8", "int8"),
                                    ("int16", "int8"), ("int32", "int8")]):
        rng = _rng("quantize", k)
        models.append(layers_model([dict(op="QUANTIZE", src=src, dst=dst, shape=_shape(rng),
                                         in_q=(scales[src], zps[src]),
                                         out_q=(scales[dst] * 1.7, zps[dst]))]))
    for k in range(6):
        for opcode in ("ADD", "SUB", "MUL"):
            rng = _rng("binary", opcode, k)
            full = _shape(rng)
            part = full[int(rng.integers(0, len(full))):]      # a broadcast suffix
            part = tuple(1 if rng.random() < 0.3 else d for d in part)
            a, b = (full, part) if k % 2 else (part, full)
            if k >= 4:
                a = b = full
            models.append(binary_model(opcode, a, b, rng=rng,
                                       act="RELU6" if k == 3 else "NONE"))
    for k in range(2):      # int16 (16x8 models)
        rng = _rng("s16", k)
        models += [softmax_16x8(float(rng.uniform(1e-4, 1e-3)), _shape(rng)),
                   activation_16x8("LOGISTIC", float(rng.uniform(1e-4, 1e-3)), _shape(rng)),
                   activation_16x8("TANH", float(rng.uniform(1e-4, 1e-3)), _shape(rng)),
                   relu_16x8("RELU", _shape(rng), (1e-3, 0), (7e-4, 0)),
                   relu_16x8("LEAKY_RELU", _shape(rng), (1e-3, 5), (2e-3, -9), 0.3)]
    for opcode in ("ADD", "SUB", "MUL"):
        models.append(binary_16x8(_rng("binary16", opcode), opcode, (2, 3, 4), (3, 4),
                                  (0, 0, 0), "NONE"))
    for opcode in ("ADD", "SUB"):      # the dsp kernel's table path (2048 outputs or more)
        models.append(binary_model(opcode, (1, 48, 48), (1, 48, 48), rng=_rng("table", opcode)))
    # fused identity residual blocks (their output over x), kernel 3 and 5, the dsp ADD's
    # plain and table forms
    models.append(block_model([Block(5, 4, 3, 3), Block(4, 6, 2, 3, k=5, x_first=False),
                               Block(16, 16, 8, 8)], 21))
    # downsampling blocks (their output over the rows of x no later step reads): strides 2
    # and 1 (a wider output, leading x), the dsp ADD's table form
    models.append(block_model([Block(8, 6, 4, 4, stride=2, shortcut=True, out_c=8),
                               Block(6, 5, 3, 3, shortcut=True, out_c=6),
                               Block(16, 16, 8, 8, stride=2, shortcut=True, out_c=32)], 22))
    return models


def _c_value(v) -> str:
    if isinstance(v, ConstRef):
        return v.name
    if isinstance(v, CExpr):
        return v.text
    if isinstance(v, dict):     # a nested struct
        return "{" + ", ".join(f".{name} = {_c_value(x)}" for name, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "{" + ", ".join(_c_value(x) for x in v) + "}"
    v = int(v)
    return f"({v + 1} - 1)" if v < -2**31 + 1 else str(v)


def _case(call, graph, k: int) -> tuple[str, list]:
    """C text of one layer's params and a `case_<k>(void **p)` calling its kernel."""
    assert all(isinstance(a, (TensorArg, ScratchArg)) for a in call.args), call.kernel
    lines = [f"static const {c.ctype} {c.name}_{k}[{c.values.size}] = "
             f"{{{', '.join(str(int(x)) for x in c.values)}}};" for c in call.consts]
    fields = ", ".join(f".{name} = {_c_value(v)}" for name, v in call.params.items())
    for c in call.consts:
        fields = fields.replace(f"= {c.name}", f"= {c.name}_{k}")
    lines.append(f"static const {call.params_type} params_{k} = {{{fields}}};")
    args = ", ".join(f"p[{i}]" for i in range(len(call.args)))
    lines.append(f"static void case_{k}(void **p) {{ {call.kernel}(&params_{k}, {args}); }}")
    return "\n".join(lines), [graph.tensors[a.tensor] for a in call.args
                              if isinstance(a, TensorArg)]


def _control_case():
    """ADD with a broadcast first input: writing the output over it is wrong (the kernel
    reads x1[i / 5] after writing out[0..i]); no kernel declares this overlap."""
    graph = read_tflite(binary_model("ADD", (4, 1), (4, 5), rng=_rng("control")))
    prog = build_program(graph, "m", load_target("host"))
    call = prog.layers[0].call
    x1, y = call.op.inputs[0], call.op.outputs[0]
    assert not any(o.input == x1 for o in call.overlaps)
    return graph, call, Overlap(output=y, input=x1)


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    target = load_target("host")
    found = []     # (graph, call, overlap, must_agree)
    for model in _models():
        graph = read_tflite(model)
        for kernels in (None, ["dsp", "portable"]):     # the portable and the dsp kernels
            for layer in build_program(graph, "m", target, kernels).layers:
                if kernels and layer.call.variant != "dsp":
                    continue
                for ov in layer.call.overlaps:
                    if not ov.alias:
                        found.append((graph, layer.call, ov, True))
    g, c, ov = _control_case()
    found.append((g, c, ov, False))

    kernels = sorted({c.kernel for _, c, _, _ in found})
    modules = cheaders.runtime_modules(kernels)
    text = [f'#include "{m}.h"' for m in modules]
    infos = []
    for k, (graph, call, ov, _) in enumerate(found):
        body, tensors = _case(call, graph, k)
        text.append(body)
        infos.append(tensors)
    text.append("void run_case(int k, void **p)\n{\n    switch (k) {")
    text += [f"    case {k}: case_{k}(p); break;" for k in range(len(found))]
    text.append("    default: break;\n    }\n}\n")
    d = tmp_path_factory.mktemp("inplace")
    (d / "shim.c").write_text("\n".join(text))
    rt = runtime_dir()
    sources = [str(rt / f"{m}.c") for m in modules if (rt / f"{m}.c").exists()]
    lib = d / "libinplace.so"
    subprocess.run([find_cc(), *WARNINGS, "-O2", "-fPIC", "-shared", f"-I{rt}",
                    str(d / "shim.c"), *sources, "-o", str(lib)], check=True)
    ffi = cffi.FFI()
    ffi.cdef("void run_case(int k, void **p);")
    return ffi, ffi.dlopen(str(lib)), found, infos


def _random(rng, t) -> np.ndarray:
    info = np.iinfo(NP[t.dtype])
    lo, hi = (max(info.min, -70000), min(info.max, 70000))
    return rng.integers(lo, hi, size=t.num_elements, endpoint=True).astype(NP[t.dtype])


def _run(ffi, lib, k, tensors, call, values, overlap=None) -> bytes:
    """The output's bytes: separate buffers, or (overlap) the output over its input."""
    out_t = next(t for t in tensors if t.index in call.op.outputs)
    arrays = {t.index: values[t.index].copy() for t in tensors if t.index in values}
    shared = None
    if overlap is not None:
        src = next(t for t in tensors if t.index == overlap.input)
        base = max(0, -overlap.offset)      # the input's first byte (the output may lead)
        size = base + max(src.nbytes, overlap.offset + out_t.nbytes)
        shared = np.zeros(size, np.uint8)
        shared[base:base + src.nbytes] = values[src.index].view(np.uint8)
    out = np.zeros(out_t.nbytes, np.uint8)
    keep = []
    ptrs = ffi.new("void *[]", len(call.args))
    by_index = {t.index: t for t in tensors}
    for i, arg in enumerate(call.args):
        if isinstance(arg, ScratchArg):     # filled with a pattern, as a poisoned arena
            buf = np.full(call.scratch[arg.index] + 16, 0xA5, np.uint8)
            p = ffi.from_buffer(buf)
            p = ffi.cast("char *", p) + (-int(ffi.cast("uintptr_t", p)) % 16)
            keep += [buf, p]
            ptrs[i] = ffi.cast("void *", p)
            continue
        t = by_index[arg.tensor]
        if overlap is not None and t.index == overlap.input:
            p = ffi.cast("char *", ffi.from_buffer(shared)) + base
        elif overlap is not None and t.index == overlap.output:
            p = ffi.cast("char *", ffi.from_buffer(shared)) + base + overlap.offset
        elif t.index == out_t.index:
            p = ffi.from_buffer(out)
        else:
            p = ffi.from_buffer(arrays[t.index])
        keep.append(p)
        ptrs[i] = ffi.cast("void *", p)
    lib.run_case(k, ptrs)
    if overlap is not None:
        return shared[base + overlap.offset:base + overlap.offset + out_t.nbytes].tobytes()
    return out.tobytes()


def test_declared_overlaps_give_the_separate_buffers_result(cases):
    ffi, lib, found, infos = cases
    checked = 0
    for k, (graph, call, ov, must_agree) in enumerate(found):
        if not must_agree:
            continue
        tensors = infos[k]
        for trial in range(3):
            rng = _rng("values", k, trial)
            values = {t.index: _random(rng, t) for t in tensors
                      if t.index not in call.op.outputs}
            apart = _run(ffi, lib, k, tensors, call, values)
            over = _run(ffi, lib, k, tensors, call, values, ov)
            assert over == apart, (f"{call.kernel} ({call.comment}) written over "
                                   f"'{graph.tensors[ov.input].name}' differs")
            checked += 1
    assert checked >= 3 * 40


def test_an_undeclared_overlap_is_seen(cases):
    ffi, lib, found, infos = cases
    k = next(k for k, f in enumerate(found) if not f[3])
    graph, call, ov, _ = found[k]
    rng = _rng("control-values")
    values = {t.index: _random(rng, t) for t in infos[k] if t.index not in call.op.outputs}
    assert (_run(ffi, lib, k, infos[k], call, values, ov) !=
            _run(ffi, lib, k, infos[k], call, values))


def test_every_declaring_kernel_is_exercised(cases):
    """The portable and dsp kernels that declare an in-place overlap today, all reached
    above: a new declaration must add its layers to `_models()` (and its name here)."""
    _, _, found, _ = cases
    seen = {c.kernel for _, c, _, agree in found if agree}
    assert seen == {"tg_lookup_s8_s8", "tg_lookup_s8_u8", "tg_lookup_u8_s8",
                    "tg_requantize_s16_s8", "tg_requantize_s32_s8",
                    "tg_add_s8", "tg_sub_s8", "tg_mul_s8",
                    "tg_dsp_add_s8", "tg_dsp_sub_s8", "tg_dsp_mul_s8", "tg_dsp_add_table_s8",
                    "tg_add_s16", "tg_sub_s16", "tg_mul_s16", "tg_logistic_s16", "tg_tanh_s16",
                    "tg_softmax_s16", "tg_relu_s16",
                    "tg_resblock_s8", "tg_dsp_resblock_s8", "tg_dsp_resblock_table_s8",
                    "tg_resblock_down_s8", "tg_dsp_resblock_down_s8",
                    "tg_dsp_resblock_down_table_s8", "tg_dsp_gemm_s8", "tg_dsp_conv_s8"}
    # the contract test's models and the shared ones declare nothing beyond these
    from tests.test_contract import single_op_models
    for name, model in single_op_models().items():
        prog = build_program(read_tflite(model), "m", load_target("host"))
        extra = {layer.call.kernel for layer in prog.layers
                 if any(not o.alias for o in layer.call.overlaps)} - seen
        assert not extra, f"{name}: {extra} declare overlaps no test here runs"


def _chain_model() -> bytes:
    """ADD -> RELU -> LOGISTIC -> MUL -> QUANTIZE -> SUB -> TANH: every layer after the
    first can write over the activation it consumes (the graph's inputs stay the caller's)."""
    from codegen.frontend.tflite_writer import ModelWriter

    m = ModelWriter()
    shape = (1, 6, 5, 3)
    x = m.tensor("x", shape, "int8", scale=0.05, zero_point=-3)
    y = m.tensor("y", shape, "int8", scale=0.07, zero_point=5)
    z = m.tensor("z", (3,), "int8", scale=0.02, zero_point=0)
    t = [m.tensor(f"t{k}", shape, "int8", scale=s, zero_point=zp)
         for k, (s, zp) in enumerate([(0.09, 2), (0.05, -128), (1 / 256, -128),
                                      (0.004, -20), (0.006, 7), (0.01, 1), (1 / 128, 0)])]
    m.op("ADD", [x, y], [t[0]], {"fused_activation_function": 0})
    m.op("RELU", [t[0]], [t[1]])
    m.op("LOGISTIC", [t[1]], [t[2]])
    m.op("MUL", [t[2], z], [t[3]], {"fused_activation_function": 0})
    m.op("QUANTIZE", [t[3]], [t[4]])
    m.op("SUB", [z, t[4]], [t[5]], {"fused_activation_function": 0})
    m.op("TANH", [t[5]], [t[6]])
    m.inputs, m.outputs = [x, y, z], [t[6]]
    return m.build()


def test_in_place_program_is_bit_exact(tmp_path):
    from tests.harness import assert_bit_exact

    r = assert_bit_exact(_chain_model(), tmp_path, count=3, sanitize=True)
    plan = r.gen.program.plan
    # RELU, LOGISTIC, MUL, QUANTIZE and SUB write over their input; TANH's output is the
    # caller's buffer; the whole chain lives in one tensor's bytes
    assert [r.gen.program.layers[o.step].call.op.opcode for o in plan.overlaps] == \
        ["RELU", "LOGISTIC", "MUL", "QUANTIZE", "SUB"]
    assert plan.arena_bytes == 96 and plan.lower_bound == 192
