"""The execution order of the layers: where the graph branches, the one with the lowest peak.

Layers are pure functions of the tensors they read, so any order in which every layer runs
after the layers whose results it reads gives the same results.  The model's order is one
such order; where the graph branches (a skip connection, parallel towers), running one
branch before the other can leave fewer large tensors live at once.

`best_order` finds an order with the lowest operator-by-operator peak (the largest sum of
the sizes of the tensors live at one step, plus that step's scratch) exactly, by dynamic
programming over the sets of layers already run (the tensors live at a step depend only on
that set): bottleneck shortest path from "nothing run" to "everything run", level by level.
The number of such sets is small for the graphs of microcontroller models (a chain with a
few branches) and is capped; past the cap the model's order is kept.

Dependencies are taken from the model's order: a layer runs after every earlier layer that
writes a tensor it reads or writes, or reads a tensor it writes (variables too), so a
layer updating state keeps its place relative to every other use of that state.

`choose_order` applies it to a program's calls and keeps the new order only when the
planned arena (with in-place layers) is strictly smaller than with the model's order.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen.graph import Graph
from codegen.ir import LayerCall
from codegen.planning.arena import align_up
from codegen.planning.memory import plan_memory

MAX_STATES = 2_000


@dataclass(frozen=True)
class Step:
    """One layer as the order sees it: the buffers (keys) it reads and writes, its scratch."""

    reads: tuple
    writes: tuple
    scratch: int = 0
    # bytes an output shares in place with an input only this step reads (that input dies
    # here in every order, so the planner may grant the overlap: an estimate, see steps_of)
    shared: int = 0


def dependencies(steps: list[Step]) -> list[int]:
    """Per step, a bit mask of the steps that must run before it (from the given order)."""
    deps = []
    last_write: dict = {}
    readers: dict = {}
    for i, s in enumerate(steps):
        mask = 0
        for t in s.reads:
            if t in last_write:
                mask |= 1 << last_write[t]
        for t in s.writes:
            if t in last_write:
                mask |= 1 << last_write[t]
            for r in readers.get(t, ()):
                mask |= 1 << r
        deps.append(mask & ~(1 << i))
        for t in s.reads:
            readers.setdefault(t, []).append(i)
        for t in s.writes:
            last_write[t] = i
            readers[t] = []
    return deps


def _touch_masks(steps: list[Step], sizes: dict) -> dict:
    masks: dict = {}
    for i, s in enumerate(steps):
        for t in set(s.reads) | set(s.writes):
            if sizes.get(t):
                masks[t] = masks.get(t, 0) | (1 << i)
    return masks


def peak(order: list[int], steps: list[Step], sizes: dict, from_start=(), to_end=()) -> int:
    """The op-by-op peak of running `steps` in `order`: at each step the sizes of the buffers
    written at or before it and read at or after it (`from_start`: live from before the first
    step; `to_end`: until after the last), plus its scratch."""
    pos = {s: k for k, s in enumerate(order)}
    first: dict = {t: -1 for t in from_start if sizes.get(t)}
    last: dict = {t: len(order) for t in to_end if sizes.get(t)}
    for i, s in enumerate(steps):
        for t in set(s.reads) | set(s.writes):
            if sizes.get(t):
                first[t] = min(first.get(t, pos[i]), pos[i])
                last[t] = max(last.get(t, pos[i]), pos[i])
    best = 0
    for k, i in enumerate(order):
        live = sum(sizes[t] for t in first if first[t] <= k <= last[t])
        best = max(best, live + steps[i].scratch - steps[i].shared)
    return best


def best_order(steps: list[Step], sizes: dict, from_start=(), to_end=(),
               max_states: int = MAX_STATES) -> list[int] | None:
    """An order of `steps` (indices) respecting `dependencies` with the lowest `peak`;
    among equals the one that picks the earliest step first.  None when the search would
    visit more than `max_states` sets of run steps."""
    n = len(steps)
    if n == 0:
        return []
    deps = dependencies(steps)
    masks = _touch_masks(steps, sizes)
    start = {t for t in from_start if sizes.get(t)}
    end = {t for t in to_end if sizes.get(t)}
    full = (1 << n) - 1
    touched = [[t for t in dict.fromkeys(s.reads + s.writes) if t in masks] for s in steps]
    succ: list[list[int]] = [[] for _ in range(n)]
    for j, m in enumerate(deps):
        for i in range(n):
            if m >> i & 1:
                succ[i].append(j)

    def move(done: int, live: int, i: int) -> tuple[int, int]:
        """(bytes live while step i runs, bytes live after it) from `live` before it."""
        during = live + steps[i].scratch + sum(
            sizes[t] for t in touched[i] if not masks[t] & done and t not in start)
        after = done | (1 << i)
        freed = sum(sizes[t] for t in touched[i] if not masks[t] & ~after & full
                    and t not in end)
        return during - steps[i].shared, during - steps[i].scratch - freed

    # state (set of steps run) -> (peak so far, bytes live, ready steps, previous state,
    # step taken); level by level (the states of one level have run the same number)
    live0 = sum(sizes[t] for t in start)
    level = {0: (0, live0, tuple(i for i in range(n) if not deps[i]), None, None)}
    history = [level]
    visited = 1
    for _ in range(n):
        nxt: dict = {}
        for done in sorted(level):
            so_far, live, ready = level[done][:3]
            for i in ready:
                during, after = move(done, live, i)
                cost = max(so_far, during)
                state = done | (1 << i)
                if state in nxt and cost >= nxt[state][0]:
                    continue
                newly = tuple(j for j in succ[i] if not deps[j] & ~state)
                nxt[state] = (cost, after, tuple(sorted(set(ready) - {i} | set(newly))),
                              done, i)
        visited += len(nxt)
        if visited > max_states:
            return None
        history.append(nxt)
        level = nxt
    order = []
    state = full
    for k in range(n, 0, -1):
        prev, i = history[k][state][3:]
        order.append(i)
        state = prev
    return order[::-1]


def steps_of(graph: Graph, calls: list[LayerCall], find, alignment: int,
             io_in_arena: bool) -> tuple[list[Step], dict, set, set]:
    """The `Step`s of a program's calls (buffers named by alias root), the arena size of
    each root, and the roots live from the start / to the end (inputs/outputs in the
    arena)."""
    io = {find(t) for t in list(graph.inputs) + list(graph.outputs)}
    sizes: dict = {}
    steps = []
    readers: dict = {}
    for k, c in enumerate(calls):
        for t in c.reads:
            if t >= 0:
                readers.setdefault(find(t), set()).add(k)
    for k, c in enumerate(calls):
        reads = tuple(dict.fromkeys(find(t) for t in c.reads if t >= 0))
        writes = tuple(dict.fromkeys(find(t) for t in c.writes if t >= 0))
        for r in reads + writes:
            t = graph.tensors[r]
            arena = not (t.is_const or t.is_variable) and (io_in_arena or r not in io)
            sizes[r] = align_up(t.nbytes, alignment) if arena else 0
        # in place over an input no other step reads (grant_overlaps decides for real;
        # choose_order keeps an order only when the planned arena shrinks)
        shared = sum(min(sizes[find(o.input)], sizes[find(o.output)]) for o in c.overlaps
                     if not o.alias and o.offset == 0 and find(o.input) in sizes
                     and find(o.output) in sizes and readers.get(find(o.input)) == {k}
                     and find(o.input) != find(o.output))
        steps.append(Step(reads, writes, sum(align_up(s, alignment) for s in c.scratch
                                             if s > 0), shared))
    from_start = {find(t) for t in graph.inputs} if io_in_arena else set()
    to_end = {find(t) for t in graph.outputs} if io_in_arena else set()
    return steps, sizes, from_start, to_end


def choose_order(graph: Graph, calls: list[LayerCall], alias_uf, alignment: int = 4,
                 io_in_arena: bool = False) -> list[int]:
    """The order to run `calls` in (indices): `best_order`'s when the arena planned with it
    is strictly smaller than with the given order, else the given order."""
    default = list(range(len(calls)))
    steps, sizes, from_start, to_end = steps_of(graph, calls, alias_uf.find, alignment,
                                                io_in_arena)
    order = best_order(steps, sizes, from_start, to_end)
    if order is None or order == default or \
            peak(order, steps, sizes, from_start, to_end) >= \
            peak(default, steps, sizes, from_start, to_end):
        return default
    before = plan_memory(graph, calls, alias_uf, alignment, io_in_arena).arena_bytes
    after = plan_memory(graph, [calls[i] for i in order], alias_uf, alignment,
                        io_in_arena).arena_bytes
    return order if after < before else default
