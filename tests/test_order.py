"""The execution order where the graph branches (codegen/planning/order.py)."""
from __future__ import annotations

import itertools
import random

import numpy as np

from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.planning.memory import _UnionFind, plan_memory
from codegen.planning.order import Step, best_order, choose_order, dependencies, peak
from tests.harness import assert_bit_exact
from tests.test_planning import _call, _sized_graph


def test_dependencies_keep_reads_after_writes_and_writes_after_reads():
    steps = [Step((), ("a",)), Step(("a",), ("b",)), Step(("a",), ("c",)),
             Step(("b", "c"), ("d",)),
             Step(("s",), ("s",)), Step(("s",), ("e",)), Step(("e",), ("s",))]
    deps = dependencies(steps)
    assert deps[:4] == [0, 0b1, 0b1, 0b110]
    assert deps[4] == 0                  # state: first update
    assert deps[5] == 1 << 4             # reads what step 4 wrote
    assert deps[6] == (1 << 5) | (1 << 4)  # writes s after step 5 read it, step 4 wrote it


def branchy():
    """x -> p (100, read at the end); x -> q1 (100) -> q2 (10); p + q2 -> y.
    The model's order keeps p live while q1 is computed; q first does not."""
    steps = [Step(("x",), ("p",)), Step(("x",), ("q1",)), Step(("q1",), ("q2",)),
             Step(("p", "q2"), ("y",))]
    sizes = dict(x=10, p=100, q1=100, q2=10, y=10)
    return steps, sizes


def test_best_order_beats_the_model_order_on_branches():
    steps, sizes = branchy()
    assert peak([0, 1, 2, 3], steps, sizes) == 210
    order = best_order(steps, sizes)
    assert order == [1, 2, 0, 3]
    assert peak(order, steps, sizes) == 120


def test_best_order_keeps_a_chain():
    steps = [Step((i,), (i + 1,)) for i in range(6)]
    sizes = {i: 10 * (i + 1) for i in range(7)}
    assert best_order(steps, sizes) == list(range(6))


def random_dag(rng: random.Random, n: int):
    steps, sizes = [], {0: rng.randrange(1, 50)}
    for i in range(n):
        avail = list(range(i + 1))
        reads = tuple(sorted(set(rng.sample(avail, min(len(avail), rng.randrange(1, 3))))))
        steps.append(Step(reads, (i + 1,), rng.choice([0, 0, 8])))
        sizes[i + 1] = rng.randrange(1, 200)
    return steps, sizes


def brute_best(steps, sizes, from_start=(), to_end=()):
    deps = dependencies(steps)
    best = None
    for perm in itertools.permutations(range(len(steps))):
        done = 0
        ok = True
        for i in perm:
            if deps[i] & ~done:
                ok = False
                break
            done |= 1 << i
        if ok:
            p = peak(list(perm), steps, sizes, from_start, to_end)
            best = p if best is None else min(best, p)
    return best


def test_best_order_is_optimal_on_small_random_graphs():
    rng = random.Random(7)
    better = 0
    for _ in range(60):
        steps, sizes = random_dag(rng, rng.randrange(2, 8))
        ends = ({0}, {len(steps)}) if rng.random() < 0.3 else ((), ())
        order = best_order(steps, sizes, *ends)
        assert sorted(order) == list(range(len(steps)))
        done = 0
        for i in order:                                   # respects the dependencies
            assert not dependencies(steps)[i] & ~done
            done |= 1 << i
        got = peak(order, steps, sizes, *ends)
        assert got == brute_best(steps, sizes, *ends)
        better += got < peak(list(range(len(steps))), steps, sizes, *ends)
    assert better >= 5


def test_best_order_gives_up_past_the_cap():
    steps = [Step(("x",), (f"b{i}",)) for i in range(16)] + \
        [Step(tuple(f"b{i}" for i in range(16)), ("y",))]
    sizes = {f"b{i}": i + 1 for i in range(16)}
    assert best_order(steps, sizes, max_states=1000) is None


def test_peak_is_the_planners_op_by_op_bound():
    # tensors 0..4 (0 the model input, 4 the output): the branchy graph on real calls
    g = _sized_graph([10, 100, 100, 12, 10, 8], [0], [5])
    calls = [_call(0, "A", [0], [1]), _call(1, "B", [0], [2]), _call(2, "C", [2], [3]),
             _call(3, "D", [1, 3], [4]), _call(4, "E", [4], [5])]
    uf = _UnionFind()
    order = choose_order(g, calls, uf, alignment=4)
    assert order == [1, 2, 0, 3, 4]
    before = plan_memory(g, calls, uf, alignment=4)
    after = plan_memory(g, [calls[i] for i in order], uf, alignment=4)
    assert before.lower_bound == 212 and after.lower_bound == 124
    assert after.arena_bytes < before.arena_bytes
    # with the input in the arena it is counted from the start
    order_io = choose_order(g, calls, uf, alignment=4, io_in_arena=True)
    assert order_io == [1, 2, 0, 3, 4]


def conv1x1(m: ModelWriter, rng, x, in_d, out_d, name, hw=8, out=None):
    w = m.const(f"w_{name}", rng.integers(-127, 128, (out_d, 1, 1, in_d)), "int8",
                scale=[0.01] * out_d, zero_point=[0] * out_d, axis=0)
    b = m.const(f"b_{name}", rng.integers(-500, 500, out_d), "int32",
                scale=[0.05 * 0.01] * out_d, zero_point=[0] * out_d)
    y = out if out is not None else m.tensor(name, (1, hw, hw, out_d), "int8", scale=0.3,
                                             zero_point=int(rng.integers(-20, 20)))
    m.op("CONV_2D", [x, w, b], [y], {"padding": 1, "stride_h": 1, "stride_w": 1,
                                      "fused_activation_function": 0}, version=3)
    return y


def test_reordered_model_is_bit_exact(tmp_path):
    rng = np.random.default_rng(3)
    m = ModelWriter()
    x = m.tensor("x", (1, 8, 8, 4), "int8", scale=0.05, zero_point=1)
    p = conv1x1(m, rng, x, 4, 8, "p")          # the short branch, read at the end
    q1 = conv1x1(m, rng, x, 4, 64, "q1")       # the long branch's big intermediate
    q2 = conv1x1(m, rng, q1, 64, 8, "q2")
    y = m.tensor("y", (1, 8, 8, 8), "int8", scale=0.5, zero_point=-3)
    m.op("ADD", [p, q2], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    model = m.build()
    assert [op.opcode for op in read_tflite(model).ops] == ["CONV_2D"] * 3 + ["ADD"]
    # (a downsampling residual block: fused by default, tests/test_resblock.py)
    res = assert_bit_exact(model, tmp_path, count=2, fuse_residual=False)
    assert [layer.index for layer in res.gen.program.layers] == [1, 2, 0, 3]
    assert res.gen.program.plan.arena_bytes == 64 * 64 + 8 * 64     # q1 + q2, not p + q1 + q2
