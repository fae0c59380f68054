"""The arena planner on its own: placements never collide and reach known optima."""
import random

import pytest

from codegen.planning.arena import Interval, check_plan, lower_bound, plan_greedy


def test_chain_reuses_memory():
    # a -> b -> c: a and c never live together, so they can share
    bufs = [Interval("a", 100, 0, 1), Interval("b", 100, 1, 2), Interval("c", 100, 2, 3)]
    offsets, total = plan_greedy(bufs, alignment=4)
    check_plan(bufs, offsets)
    assert total == 200
    assert lower_bound(bufs) == 200


def test_alignment_is_respected():
    bufs = [Interval("a", 3, 0, 0), Interval("b", 5, 0, 0), Interval("c", 1, 0, 0)]
    offsets, total = plan_greedy(bufs, alignment=8)
    assert all(o % 8 == 0 for o in offsets.values())
    assert total == 24


def test_fills_gaps_between_placed_buffers():
    bufs = [Interval("big1", 1000, 0, 1), Interval("big2", 1000, 1, 2),
            Interval("small", 10, 2, 3)]
    offsets, total = plan_greedy(bufs, alignment=1)
    check_plan(bufs, offsets)
    assert total == 2000  # "small" reuses big1's bytes, which are dead by step 2


@pytest.mark.parametrize("seed", range(20))
def test_random_plans_are_valid_and_near_bound(seed):
    rng = random.Random(seed)
    bufs = []
    for i in range(30):
        a = rng.randrange(20)
        bufs.append(Interval(i, rng.randrange(1, 5000), a, a + rng.randrange(4)))
    offsets, total = plan_greedy(bufs, alignment=4)
    check_plan(bufs, offsets)
    lb = lower_bound(bufs, alignment=4)
    assert lb <= total <= 2 * lb


def test_best_of_several_orders():
    from codegen.planning.arena import plan_best

    # largest first needs 6 bytes here; one of the other orders reaches the bound, 5
    bufs = [Interval("a", 3, 4, 5), Interval("b", 2, 1, 3), Interval("c", 3, 0, 2),
            Interval("d", 1, 3, 4)]
    assert plan_greedy(bufs, alignment=1)[1] == 6
    offsets, total = plan_best(bufs, alignment=1)
    check_plan(bufs, offsets)
    assert total == lower_bound(bufs) == 5
    # never worse than largest-first
    for seed in range(20):
        rng = random.Random(seed)
        bufs = [Interval(i, rng.randrange(1, 500), a, a + rng.randrange(4))
                for i, a in enumerate(rng.randrange(15) for _ in range(25))]
        offsets, total = plan_best(bufs, alignment=4)
        check_plan(bufs, offsets)
        assert lower_bound(bufs, 4) <= total <= plan_greedy(bufs, alignment=4)[1]


def test_check_plan_detects_collision():
    bufs = [Interval("a", 10, 0, 1), Interval("b", 10, 1, 2)]
    with pytest.raises(AssertionError):
        check_plan(bufs, {"a": 0, "b": 5})


def test_identical_constants_are_emitted_once():
    import numpy as np

    from codegen.ir import ConstArray
    from codegen.program import dedupe_consts

    a = ConstArray("l0_weights", "int8_t", np.arange(6, dtype=np.int8))
    b = ConstArray("l1_weights", "int8_t", np.arange(6, dtype=np.int8))
    c = ConstArray("l2_bias", "int32_t", np.arange(6, dtype=np.int32))
    d = ConstArray("l3_weights", "int8_t", np.arange(1, 7, dtype=np.int8))
    kept, alias = dedupe_consts([a, b, c, d])
    assert [k.name for k in kept] == ["l0_weights", "l2_bias", "l3_weights"]
    assert alias == {"l1_weights": "l0_weights"}
    assert "shared by 2" in kept[0].comment


# -- planning from calls: aliases, lifetimes, elided calls ------------------------------------

def _graph(n_tensors: int, inputs, outputs, const=()):
    import numpy as np

    from codegen.graph import Graph, Tensor

    tensors = [Tensor(i, f"t{i}", (4,), "int8",
                      data=np.zeros(4, np.int8) if i in const else None)
               for i in range(n_tensors)]
    return Graph(tensors=tensors, ops=[], inputs=list(inputs), outputs=list(outputs))


def _call(index, opcode, ins, outs, alias=False, scratch=()):
    from codegen.graph import Op
    from codegen.ir import LayerCall, Overlap

    op = Op(index, opcode, list(ins), list(outs))
    overlaps = [Overlap(outs[0], ins[0], alias=True)] if alias else []
    return LayerCall(op=op, kernel="k", overlaps=overlaps, scratch=list(scratch))


def test_alias_call_is_elided_and_shares_storage():
    from codegen.planning.memory import plan_memory, resolve_aliases

    # t0 (input) -> A -> t1 -> RESHAPE -> t2 -> B -> t3 (output)
    g = _graph(4, [0], [3])
    calls = [_call(0, "A", [0], [1]), _call(1, "RESHAPE", [1], [2], alias=True),
             _call(2, "B", [2], [3])]
    uf, elided = resolve_aliases(g, calls)
    assert elided == {1} and uf.find(1) == uf.find(2)
    kept = [c for k, c in enumerate(calls) if k not in elided]
    plan = plan_memory(g, kept, uf, alignment=4)
    assert plan.storage[1].kind == plan.storage[2].kind == "arena"
    assert plan.storage[1].index == plan.storage[2].index
    assert plan.arena_bytes == 4


def test_alias_between_two_caller_buffers_stays_a_call():
    from codegen.planning.memory import resolve_aliases

    # model input reshaped straight into the model output: two caller buffers, a copy
    g = _graph(2, [0], [1])
    uf, elided = resolve_aliases(g, [_call(0, "RESHAPE", [0], [1], alias=True)])
    assert elided == set() and uf.find(0) != uf.find(1)
    # a constant cannot be written through either
    g = _graph(3, [], [2], const={0})
    uf, elided = resolve_aliases(g, [_call(0, "RESHAPE", [0], [1], alias=True),
                                     _call(1, "B", [1], [2])])
    assert elided == set()


def test_lifetimes_come_from_what_calls_read_and_write():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t1 is read by the last call only through `reads` (not the op's inputs): it must
    # stay live until then, so t2 cannot take its bytes
    g = _graph(4, [0], [3])
    a, b, c = _call(0, "A", [0], [1]), _call(1, "B", [0], [2]), _call(2, "C", [2], [3])
    c.reads = [2, 1]
    plan = plan_memory(g, [a, b, c], _UnionFind(), alignment=4)
    assert plan.storage[1].index != plan.storage[2].index and plan.arena_bytes == 8
    c.reads = [2]          # now t1 dies at step 0 and t2 may reuse its bytes
    plan = plan_memory(g, [a, b, c], _UnionFind(), alignment=4)
    assert plan.storage[1].index == plan.storage[2].index and plan.arena_bytes == 4


def test_constant_encoding_is_checked():
    import numpy as np

    from codegen.ir import ConstArray

    assert ConstArray("w", "int8_t", np.zeros(3, np.int8)).encoding == "raw"
    with pytest.raises(ValueError, match="unknown constant encoding 'zip'"):
        ConstArray("w", "int8_t", np.zeros(3, np.int8), encoding="zip")


# -- in-place overlaps (not aliases) ---------------------------------------------------------

def _inplace(index, ins, outs, over=0, offset=0, scratch=()):
    """A call whose output may take input `over`'s bytes (`offset` bytes in)."""
    from codegen.graph import Op
    from codegen.ir import LayerCall, Overlap

    op = Op(index, "X", list(ins), list(outs))
    return LayerCall(op=op, kernel="k", scratch=list(scratch),
                     overlaps=[Overlap(outs[0], ins[over], offset=offset)])


def _sized_graph(sizes, inputs, outputs, const=(), variable=()):
    import numpy as np

    from codegen.graph import Graph, Tensor

    tensors = [Tensor(i, f"t{i}", (n,), "int8",
                      data=np.zeros(n, np.int8) if i in const else None,
                      is_variable=i in variable)
               for i, n in enumerate(sizes)]
    return Graph(tensors=tensors, ops=[], inputs=list(inputs), outputs=list(outputs))


def test_inplace_output_takes_the_dying_inputs_bytes():
    from codegen.planning.memory import Granted, _UnionFind, plan_memory

    # t0 (input) -> A -> t1 -> RELU in place -> t2 -> B -> t3 (output)
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _call(2, "B", [2], [3])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.overlaps == [Granted(step=1, output=2, input=1, offset=0)]
    assert plan.storage[1].index == plan.storage[2].index
    assert plan.arena_bytes == 100            # below the op-by-op bound
    assert plan.lower_bound == 200 and plan.placed_bound == 100


def test_inplace_refused_when_the_input_is_read_later():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t1 feeds the in-place call and C: it does not die at step 1
    g = _sized_graph([100] * 5, [0], [4])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _call(2, "C", [1, 2], [3]),
             _call(3, "D", [3], [4])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.overlaps == []
    assert plan.storage[1].index != plan.storage[2].index
    assert plan.arena_bytes == plan.lower_bound


def test_inplace_refused_for_caller_buffers_constants_and_state():
    from codegen.planning.memory import _UnionFind, plan_memory

    # over the model's input (the caller's buffer), into the model's output
    g = _sized_graph([100, 100], [0], [1])
    assert plan_memory(g, [_inplace(0, [0], [1])], _UnionFind()).overlaps == []
    g = _sized_graph([100, 100, 100], [0], [2])
    plan = plan_memory(g, [_call(0, "A", [0], [1]), _inplace(1, [1], [2])], _UnionFind())
    assert plan.overlaps == [] and plan.storage[2].kind == "output"
    # a constant, and a variable (persistent state), are never written over
    g = _sized_graph([100, 100, 100, 100], [0], [3], const={1})
    calls = [_inplace(0, [1, 0], [2]), _call(1, "B", [2], [3])]
    assert plan_memory(g, calls, _UnionFind()).overlaps == []
    g = _sized_graph([100, 100, 100, 100], [0], [3], variable={1})
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _call(2, "B", [2], [3])]
    plan = plan_memory(g, calls, _UnionFind())
    assert plan.overlaps == [] and plan.storage[1].kind == "state"


def test_inplace_chain_and_one_output_per_input():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t1 -> in place t2 -> in place t3: one group, all at one offset
    g = _sized_graph([64] * 5, [0], [4])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _inplace(2, [2], [3]),
             _call(3, "B", [3], [4])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert [o.step for o in plan.overlaps] == [1, 2]
    assert plan.storage[1].index == plan.storage[2].index == plan.storage[3].index
    assert plan.arena_bytes == 64
    # a call writing two outputs over the same dying input gets one of them
    from codegen.graph import Op
    from codegen.ir import LayerCall, Overlap

    g = _sized_graph([64] * 6, [0], [4, 5])
    two = LayerCall(op=Op(1, "SPLIT", [1], [2, 3]), kernel="k",
                    overlaps=[Overlap(2, 1), Overlap(3, 1)])
    calls = [_call(0, "A", [0], [1]), two, _call(2, "B", [2], [4]), _call(3, "C", [3], [5])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert len(plan.overlaps) == 1 and plan.overlaps[0].output == 2
    assert plan.storage[3].index != plan.storage[1].index


def test_inplace_offset_and_sizes():
    from codegen.planning.memory import _UnionFind, plan_memory

    # an 84-byte output trailing the 100-byte input by 16 bytes ends where it ends: granted
    g = _sized_graph([100, 100, 84, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2], offset=16),
             _call(2, "B", [2], [3])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.storage[2].index == plan.storage[1].index + 16
    assert plan.arena_bytes == 100 and plan.lower_bound == 184
    # any offset and size: the pair becomes one group as wide as their union
    for out_bytes, offset, arena in ((120, 0, 120), (84, 0, 100), (100, 16, 116),
                                     (160, -60, 160), (160, -80, 180), (40, -20, 120)):
        g = _sized_graph([100, 100, out_bytes, 100], [0], [3])
        calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2], offset=offset),
                 _call(2, "B", [2], [3])]
        plan = plan_memory(g, calls, _UnionFind(), alignment=4)
        assert len(plan.overlaps) == 1, (out_bytes, offset)
        assert plan.storage[2].index == plan.storage[1].index + offset
        assert plan.arena_bytes == arena == plan.placed_bound < plan.lower_bound
    # an offset the alignment cannot keep is not used
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2], offset=6), _call(2, "B", [2], [3])]
    assert plan_memory(g, calls, _UnionFind(), alignment=4).overlaps == []


def test_inplace_wide_output_trailing_does_not_reserve_its_width_early():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t1 (100) lives with t4 (200) before the in-place call widens it to t2 (300, input
    # trailing at its end); the group's bounding box (300 x steps 0..2) plus t4 would
    # need 500, its members only 300 at step 0 (t1 + t4) and 300 at step 1
    g = _sized_graph([100, 100, 300, 100, 200, 100], [0], [3])
    calls = [_call(0, "A", [0], [1, 4]), _call(1, "B", [4], [5]),
             _inplace(2, [1], [2], offset=-200), _call(3, "C", [2, 5], [3])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert len(plan.overlaps) == 1
    assert plan.arena_bytes == plan.placed_bound == 400


def test_inplace_grant_refused_when_it_would_enlarge_the_arena():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t1 (100) -> in place t2 (100) declared 200 bytes after t1's start: the pair spans
    # 300 bytes, more than the 200 the two need apart; not used
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2], offset=200),
             _call(2, "B", [2], [3])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.overlaps == [] and plan.arena_bytes == plan.lower_bound == 200


def test_rigid_fit_and_peak():
    from codegen.planning.arena import Interval
    from codegen.planning.rigid import Rigid, occupied_peak, plan_rigid, rigid_fit

    a = Interval("a", 100, 0, 1)
    b = Interval("b", 50, 1, 2)
    grp = Rigid("g", ((a, 0), (b, 60)))       # b's last 10 bytes past a's end
    # a buffer live at step 2 only collides with b (group bytes 60..112 then): below
    # b it does not push the group; over [40, 70) it pushes it to offset 12 (aligned)
    other = Interval("o", 60, 2, 2)
    assert rigid_fit(grp, [(other, 0)], 4) == 0
    assert rigid_fit(grp, [(Interval("x", 30, 2, 2), 40)], 4) == 12
    assert rigid_fit(grp, [(Interval("y", 30, 0, 0), 0)], 4) == 32      # a lives at 0
    offsets, total = plan_rigid([grp, Rigid("o", ((other, 0),))], 4)
    assert total == 112
    placed = [(a, offsets["g"]), (b, offsets["g"] + 60), (other, offsets["o"])]
    assert occupied_peak(placed, 4) == 112
    assert occupied_peak([(a, 0), (b, 200)], 4) == 152


def test_inplace_keeps_clear_of_the_other_inputs_and_scratch():
    from codegen.planning.memory import _UnionFind, plan_memory

    # ADD(t1, t2) -> t3 over t1, with a scratch buffer: t2 and the scratch stay apart
    g = _sized_graph([100, 100, 100, 100, 100], [0], [4])
    calls = [_call(0, "A", [0], [1]), _call(1, "B", [0], [2]),
             _inplace(2, [1, 2], [3], scratch=(40,)), _call(3, "C", [3], [4])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.overlaps and plan.overlaps[0].input == 1
    s = plan.scratch_offsets[(2, 0)]
    spans = sorted([(plan.storage[2].index, 100), (plan.storage[3].index, 100), (s, 40)])
    for (a, n), (b, _) in zip(spans, spans[1:]):
        assert a + n <= b
    assert plan.arena_bytes == 240


def test_inplace_through_an_alias_group():
    from codegen.planning.memory import plan_memory, resolve_aliases

    # t1 -> RESHAPE -> t2 -> in place -> t3: the group of t1/t2 dies at the in-place call
    g = _sized_graph([100] * 5, [0], [4])
    calls = [_call(0, "A", [0], [1]), _call(1, "RESHAPE", [1], [2], alias=True),
             _inplace(2, [2], [3]), _call(3, "B", [3], [4])]
    uf, elided = resolve_aliases(g, calls)
    kept = [c for k, c in enumerate(calls) if k not in elided]
    plan = plan_memory(g, kept, uf, alignment=4)
    assert [(o.output, o.input) for o in plan.overlaps] == [(3, uf.find(2))]
    assert plan.storage[1].index == plan.storage[2].index == plan.storage[3].index
    assert plan.arena_bytes == 100


def _random_program(seed):
    from codegen.planning.memory import _UnionFind, plan_memory

    rng = random.Random(seed)
    n = 12
    sizes = [rng.choice((64, 100, 256)) for _ in range(n + 1)]
    g = _sized_graph(sizes, [0], [n])
    calls = []
    for k in range(n):
        ins = [k] + ([rng.randrange(0, k)] if k > 1 and rng.random() < 0.4 else [])
        if rng.random() < 0.6:
            calls.append(_inplace(k, ins, [k + 1], over=rng.randrange(len(ins))))
        else:
            calls.append(_call(k, "A", ins, [k + 1]))
    return calls, plan_memory(g, calls, _UnionFind(), alignment=4)


def test_random_programs_with_overlaps_stay_valid():
    # random chains with branches: every granted pair checked by check_plan (inside
    # plan_memory), the granted input dead after its step, never worse than op by op
    granted = 0
    for seed in range(20):
        calls, plan = _random_program(seed)
        granted += len(plan.overlaps)
        _check_random_plan(calls, plan)
    assert granted >= 20


def _check_random_plan(calls, plan):
    for o in plan.overlaps:
        assert all(o.input not in c.reads for c in calls[o.step + 1:])
        assert plan.storage[o.output].index == plan.storage[o.input].index
    assert plan.placed_bound <= plan.lower_bound
    assert plan.arena_bytes <= 2 * plan.lower_bound


def test_check_plan_allows_only_the_declared_sharing():
    bufs = [Interval("in", 10, 0, 1), Interval("out", 10, 1, 2)]
    check_plan(bufs, {"in": 0, "out": 0}, shared={("out", "in", 0)})
    check_plan(bufs, {"in": 0, "out": 4}, shared={("out", "in", 4)})
    with pytest.raises(AssertionError):      # not at the declared distance
        check_plan(bufs, {"in": 0, "out": 4}, shared={("out", "in", 0)})
    with pytest.raises(AssertionError):      # not declared at all
        check_plan(bufs, {"in": 0, "out": 0})


def test_io_in_arena_places_inputs_and_outputs():
    from codegen.planning.memory import _UnionFind, plan_memory

    # t0 (input) -> A -> t1 -> in place -> t2 -> B -> t3 (output)
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _call(2, "B", [2], [3])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4, io_in_arena=True)
    assert plan.storage[0].kind == "input" and plan.storage[3].kind == "output"
    inp, out = plan.io_offsets[("input", 0)], plan.io_offsets[("output", 0)]
    # the input is live at step 0 with t1; the output at step 2 with t2: 200 bytes
    assert plan.arena_bytes == 200 and plan.lower_bound == 200 and inp == out
    assert inp != plan.storage[1].index and out != plan.storage[2].index
    # the model's input dies at step 0: an in-place first layer writes over it
    g = _sized_graph([100, 100, 100], [0], [2])
    calls = [_inplace(0, [0], [1]), _call(1, "B", [1], [2])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4, io_in_arena=True)
    assert plan.overlaps and plan.storage[1].index == plan.io_offsets[("input", 0)]
    assert plan.arena_bytes == 200
    # without the option nothing of the caller's is in the arena
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert plan.io_offsets == {} and not plan.overlaps and plan.arena_bytes == 100


def test_many_overlap_candidates_plan_three_times(monkeypatch):
    """Past SEARCH_WORK (unrolled recurrent models) choose_overlaps compares three plans
    only (none, every candidate, those keeping their input's extent) and still finds the
    chain's in-place plan."""
    from codegen.planning import memory
    from codegen.planning.memory import _UnionFind, plan_memory

    n = 60
    monkeypatch.setattr(memory, "SEARCH_WORK", n * n * n // 2)
    g = _sized_graph([64] * (n + 3), [0], [n + 2])
    calls = [_call(0, "A", [0], [1])] + [_inplace(k, [k], [k + 1]) for k in range(1, n + 1)] + \
        [_call(n + 1, "B", [n + 1], [n + 2])]
    plans = []
    real = memory.plan_groups
    monkeypatch.setattr(memory, "plan_groups", lambda *a: plans.append(a) or real(*a))
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    assert len(plans) <= 3 + 1           # the three compared (+ at most one for the result)
    assert len(plan.overlaps) == n and plan.arena_bytes == 64
