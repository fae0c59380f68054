"""Decide where each tensor of a lowered program lives.

Storage kinds:
  input   - the caller's input pointer (read-only)
  output  - the caller's output pointer
  const   - the weights struct in flash
  arena   - an offset in the one static activation arena
  state   - persistent memory that survives between calls (variables)

The planner works from the program's calls alone (codegen/ir.py): what each
call reads and writes gives the lifetimes, its `scratch` the temporaries, and
its `overlaps` which outputs may share bytes with which inputs.  An alias
overlap (RESHAPE and friends) puts the output in the same storage as the input
and the call disappears (`resolve_aliases`).  Arena tensors and per-layer
scratch buffers are then placed by `plan_greedy`.  (In-place overlaps that
are not aliases are declared by kernels but not used by this planner yet.)
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.graph import Graph
from codegen.ir import LayerCall
from codegen.planning.arena import Interval, align_up, check_plan, lower_bound, plan_greedy


@dataclass
class Storage:
    kind: str             # input | output | const | arena | state
    index: int = 0        # input/output position, or arena/state offset
    root: int = -1        # tensor whose storage this is (alias group root)


@dataclass
class MemoryPlan:
    storage: dict[int, Storage]
    scratch_offsets: dict[tuple[int, int], int]  # (step, scratch index) -> arena offset
    arena_bytes: int
    lower_bound: int
    state_bytes: int
    alignment: int
    intervals: list[Interval] = field(default_factory=list)


class _UnionFind:
    def __init__(self):
        self.parent: dict[int, int] = {}

    def find(self, x: int) -> int:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def resolve_aliases(graph: Graph, calls: list[LayerCall]) -> tuple[_UnionFind, set[int]]:
    """Grant the calls' alias overlaps where memory allows; return the union of aliased
    tensors and the positions of the calls that then do nothing (all they write aliased).

    A group may hold at most one caller-owned buffer (a model input or output): two of
    them cannot share memory, and a constant cannot be written through, so such a call
    stays a real call (e.g. RESHAPE's copy).
    """
    uf = _UnionFind()
    anchors: dict[int, set] = {}
    inputs, outputs = set(graph.inputs), set(graph.outputs)

    def anchor_of(t: int) -> set:
        a = set()
        if t in inputs:
            a.add(("in", t))
        if t in outputs:
            a.add(("out", t))
        return a

    elided: set[int] = set()
    for pos, call in enumerate(calls):
        aliases = call.aliases
        if not aliases:
            continue
        granted = []
        for ov in aliases:
            src, dst = ov.input, ov.output
            ra, rb = uf.find(src), uf.find(dst)
            a = anchors.get(ra, anchor_of(src)) | anchors.get(rb, anchor_of(dst))
            if len(a) > 1 or graph.tensors[src].is_const:
                continue
            uf.union(src, dst)
            anchors[uf.find(src)] = a
            granted.append(dst)
        if set(granted) >= set(call.writes):
            elided.add(pos)
    return uf, elided


def plan_memory(graph: Graph, steps: list[LayerCall], alias_uf: _UnionFind,
                alignment: int = 4) -> MemoryPlan:
    """`steps`: the program's calls in order (what each reads and writes, its scratch)."""
    storage: dict[int, Storage] = {}
    for pos, t in enumerate(graph.inputs):
        storage[alias_uf.find(t)] = Storage("input", pos)
    for pos, t in enumerate(graph.outputs):
        root = alias_uf.find(t)
        if root not in storage:          # an output that is also an input stays an input
            storage[root] = Storage("output", pos)

    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for step, call in enumerate(steps):
        for t in list(call.reads) + list(call.writes):
            if t < 0:
                continue
            tensor = graph.tensors[t]
            if tensor.is_const or tensor.is_variable:
                continue
            r = alias_uf.find(t)
            first.setdefault(r, step)
            last[r] = step

    intervals = []
    for r in sorted(first):
        if r in storage:
            continue
        members_size = graph.tensors[r].nbytes
        intervals.append(Interval(("t", r), members_size, first[r], last[r]))
    for step, call in enumerate(steps):
        for k, size in enumerate(call.scratch):
            if size > 0:
                intervals.append(Interval(("s", step, k), size, step, step))

    offsets, total = plan_greedy(intervals, alignment)
    check_plan(intervals, offsets)
    scratch = {}
    for iv in intervals:
        if iv.key[0] == "t":
            storage[iv.key[1]] = Storage("arena", offsets[iv.key])
        else:
            scratch[(iv.key[1], iv.key[2])] = offsets[iv.key]

    state_off = 0
    for t in graph.tensors:
        if t.is_variable:
            storage[t.index] = Storage("state", state_off)
            state_off += align_up(t.nbytes, alignment)
        elif t.is_const:
            storage[t.index] = Storage("const")

    # every tensor points at its group's storage
    for t in graph.tensors:
        r = alias_uf.find(t.index)
        if t.index not in storage or r != t.index:
            if r in storage:
                s = storage[r]
                storage[t.index] = Storage(s.kind, s.index, r)
        if t.index in storage and storage[t.index].root < 0:
            storage[t.index].root = r

    return MemoryPlan(storage=storage, scratch_offsets=scratch, arena_bytes=total,
                      lower_bound=lower_bound(intervals, alignment), state_bytes=state_off,
                      alignment=alignment, intervals=intervals)
