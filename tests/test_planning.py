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
