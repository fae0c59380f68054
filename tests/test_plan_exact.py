"""The exact arena placement for a few buffers (planning/arena.py plan_exact, used by
plan_best when the greedy orders stay above the op-by-op bound)."""
from __future__ import annotations

import itertools
import random

from codegen.planning.arena import (ORDERS, Interval, check_plan, lower_bound, plan_best,
                                    plan_exact, plan_greedy)

# found by search: every greedy order needs 8 bytes, 7 is possible (the op-by-op bound)
HARD = [Interval("a", 2, 3, 4), Interval("b", 3, 4, 6), Interval("c", 1, 1, 2),
        Interval("d", 4, 1, 3), Interval("e", 2, 4, 4)]


def brute_optimum(bufs):
    """The smallest arena over every assignment of offsets below the greedy size."""
    top = plan_greedy(bufs, 1)[1]
    best = top
    for offs in itertools.product(range(top), repeat=len(bufs)):
        end = max(o + b.size for o, b in zip(offs, bufs))
        if end >= best:
            continue
        try:
            check_plan(bufs, {b.key: o for b, o in zip(bufs, offs)})
        except AssertionError:
            continue
        best = end
    return best


def test_exact_beats_every_greedy_order():
    assert min(plan_greedy(HARD, 1, order)[1] for order in ORDERS) == 8
    offsets, total = plan_exact(HARD, 1)
    check_plan(HARD, offsets)
    assert total == 7 == lower_bound(HARD)
    offsets, total = plan_best(HARD, 1)            # plan_best uses it
    check_plan(HARD, offsets)
    assert total == 7


def test_exact_is_optimal_on_small_random_sets():
    rng = random.Random(11)
    for _ in range(40):
        n = rng.randrange(2, 5)
        bufs = [Interval(i, rng.randrange(1, 5), a, a + rng.randrange(3))
                for i, a in enumerate(rng.randrange(4) for _ in range(n))]
        offsets, total = plan_exact(bufs, 1, budget=10**6)
        check_plan(bufs, offsets)
        assert total == brute_optimum(bufs), bufs


def test_exact_respects_alignment_and_budget():
    offsets, total = plan_exact(HARD, 4)
    assert all(o % 4 == 0 for o in offsets.values())
    check_plan(HARD, offsets)
    assert total == lower_bound(HARD, 4)
    # no search at all: the greedy plan it starts from
    assert plan_exact(HARD, 1, budget=0)[1] == plan_greedy(HARD, 1)[1]
