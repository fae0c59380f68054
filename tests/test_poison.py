"""Poisoned test builds: before every layer, the arena bytes it may not read hold a pattern.

`generate(poison=True)` (tests only) fills, before each layer, every arena byte outside the
buffers it may read (its inputs and what lives across it; planning/report.py
`poison_ranges`): its outputs except bytes shared in place with an input, its scratch,
dead buffers.  A kernel that reads such a byte (a byte of its output before writing it, a
temporary before filling it, a tensor the plan considers dead, or an input byte its
in-place output already overwrote at another distance than declared) then computes
something else, and the comparison with TFLM fails.  The in-place layers run so, on the
host, under ASan/UBSan where the build allows it; the control shows the poison exposing a
read that the plain build does not.
"""
from __future__ import annotations

import numpy as np
import pytest

import codegen.program as program_module
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.planning.memory import _UnionFind, plan_memory
from codegen.planning.report import poison_ranges
from codegen.reference_layers import reference_for
from codegen.toolchain.host import HostExecutable, HostModel
from codegen.vectors import random_inputs
from tests.harness import SHARED_MODELS
from tests.lut_helpers import unary_model
from tests.test_inplace_kernels import _chain_model
from tests.test_op_elementwise import binary_model
from tests.test_order import conv1x1
from tests.test_planning import _call, _inplace, _sized_graph


def test_poison_ranges():
    # t0 (input) -> A -> t1 -> in place -> t2 -> B (scratch 8) -> t3 (output)
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]),
             _call(2, "B", [2], [3], scratch=[8])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.arena_bytes == 108
    t1 = plan.storage[1].index
    s = plan.scratch_offsets[(2, 0)]
    ranges = poison_ranges(plan, [c.scratch for c in calls])
    assert ranges[0] == [(0, 108)]                       # all: A writes t1
    assert ranges[1] == [r for r in [(0, t1), (t1 + 100, 108 - t1 - 100)] if r[1]]
    assert ranges[2] == [(s, 8)]                          # t2 (= t1's bytes) is read
    # with the inputs in the arena they are never poisoned
    plan_io = plan_memory(g, calls, _UnionFind(), alignment=4, io_in_arena=True)
    x = plan_io.io_offsets[("input", 0)]
    first = poison_ranges(plan_io, [c.scratch for c in calls])[0]
    assert all(not (o < x + 100 and x < o + n) for o, n in first)


def run(model: bytes, tmp_path, poison: bool, io_in_arena: bool = False, sanitize=False,
        count: int = 2, seed: int = 0):
    """Generate and run on the host; the number of output elements differing from TFLM."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    out = tmp_path / ("out_p" if poison else "out")
    gen = generate(path, out, force=True, poison=poison, io_in_arena=io_in_arena)
    text = (out / f"{gen.program.name}.c").read_text()
    assert ("memset(" in text) == (poison and gen.program.plan.arena_bytes > 0)
    ref = reference_for(model, gen.program)
    rng = np.random.default_rng(seed)
    runs = [random_inputs(read_tflite(model), rng) for _ in range(count)]
    if sanitize:
        got = HostExecutable(out, tmp_path / f"asan{poison}", sanitize=True).invoke_many(runs)
    else:
        host = HostModel(out, tmp_path / f"build{poison}{io_in_arena}")
        got = [host.invoke(xs) for xs in runs]
    bad = 0
    for xs, g in zip(runs, got):
        for a, b in zip(g, ref.run(xs)):
            bad += int(np.sum(np.asarray(a).reshape(-1) != np.asarray(b).reshape(-1)))
    return gen, bad


def test_in_place_chain_poisoned(tmp_path):
    gen, bad = run(_chain_model(), tmp_path, poison=True, io_in_arena=True)
    assert bad == 0 and len(gen.program.plan.overlaps) == 7
    gen, bad = run(_chain_model(), tmp_path, poison=True, sanitize=True)
    assert bad == 0 and len(gen.program.plan.overlaps) == 5


def test_in_place_single_layers_poisoned(tmp_path):
    rng = np.random.default_rng(4)
    # (the chain above has the others)
    models = [unary_model("HARD_SWISH", (2, 5, 7), (0.05, 3), (0.03, 4)),
              binary_model("ADD", (3, 4, 5), (3, 4, 5), rng=rng)]
    for k, model in enumerate(models):
        gen, bad = run(model, tmp_path / str(k), poison=True, io_in_arena=True)
        assert bad == 0 and len(gen.program.plan.overlaps) == 1, k


RESNET8 = SHARED_MODELS / "mlperf_ic_resnet8.tflite"


@pytest.mark.skipif(not RESNET8.is_file(), reason="shared model not found")
def test_shared_model_with_in_place_adds_poisoned(tmp_path):
    gen, bad = run(RESNET8.read_bytes(), tmp_path, poison=True, sanitize=True, count=1)
    # its three residual blocks run fused (tests/test_resblock.py), each block's output
    # written over its input x (the downsampling blocks' over the rows no later step reads)
    assert bad == 0 and len(gen.program.plan.overlaps) == 3
    assert [layer.call.kernel for layer in gen.program.layers].count("tg_resblock_s8") == 1


def _skip_model() -> bytes:
    """x -> A -> t1 -> B -> t2; ADD(t1, t2) -> y."""
    rng = np.random.default_rng(8)
    m = ModelWriter()
    x = m.tensor("x", (1, 8, 8, 4), "int8", scale=0.05, zero_point=1)
    t1 = conv1x1(m, rng, x, 4, 8, "t1")
    t2 = conv1x1(m, rng, t1, 8, 8, "t2")
    y = m.tensor("y", (1, 8, 8, 8), "int8", scale=0.5, zero_point=-3)
    m.op("ADD", [t1, t2], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_poison_exposes_a_read_the_plan_does_not_know(tmp_path, monkeypatch):
    # a wrong declaration: ADD says it reads t2 only, so t1 is dead after B; nothing
    # overwrites its bytes, so the plain build still gets the right answer
    real = program_module.resolve_aliases

    def forget_t1(graph, calls):
        for c in calls:
            if c.op.opcode == "ADD":
                c.reads = c.reads[1:]
        return real(graph, calls)
    monkeypatch.setattr(program_module, "resolve_aliases", forget_t1)
    _, bad = run(_skip_model(), tmp_path, poison=False)
    assert bad == 0
    _, bad = run(_skip_model(), tmp_path, poison=True)
    assert bad > 0
