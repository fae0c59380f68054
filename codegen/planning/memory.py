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
and the call disappears (`resolve_aliases`).  Any other overlap is granted
(`grant_overlaps`) when its input dies at the call and both tensors live in the
arena: the output then takes the input's bytes (`offset` bytes in), the two
becoming one placement group (a chain in time) for `plan_best`, with per-layer
scratch buffers placed alongside.  `lower_bound` stays the operator-by-operator
bound (every tensor in its own bytes); the planned arena may go below it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.graph import Graph
from codegen.ir import LayerCall
from codegen.planning.arena import Interval, align_up, check_plan, lower_bound, plan_best


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
    intervals: list[Interval] = field(default_factory=list)   # per tensor (alias root)
    overlaps: list["Granted"] = field(default_factory=list)   # in-place overlaps granted
    placed_bound: int = 0   # the bound with the granted overlaps (<= lower_bound)
    # --io-in-arena: the arena offset of each model input/output, ("input"|"output", position)
    io_offsets: dict[tuple[str, int], int] = field(default_factory=dict)

    @property
    def io_in_arena(self) -> bool:
        return bool(self.io_offsets)


@dataclass(frozen=True)
class Granted:
    """An in-place overlap the planner used: at `step`, tensor `output` (alias root) starts
    `offset` bytes after the first byte of `input` (alias root), which dies there."""

    step: int
    output: int
    input: int
    offset: int


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
                alignment: int = 4, io_in_arena: bool = False) -> MemoryPlan:
    """`steps`: the program's calls in order (what each reads and writes, its scratch).

    io_in_arena: the model's inputs and outputs get arena bytes too (`io_offsets`), an input
    live from before the first call to its last read, an output from its first write to
    after the last call; their storage stays "input"/"output" (the kernels read and write
    them through the pointers the caller passes, which may be these arena bytes)."""
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

    io_roots = dict(storage) if io_in_arena else {}
    if io_in_arena:
        for r, s in io_roots.items():
            if s.kind == "input":
                first[r] = 0
                last.setdefault(r, 0)
            else:
                first.setdefault(r, max(len(steps) - 1, 0))
                last[r] = max(len(steps) - 1, 0)
    caller = set() if io_in_arena else set(storage)
    granted = grant_overlaps(graph, steps, alias_uf, first, last, caller)
    group: dict[int, tuple[int, int]] = {}      # root -> (group head, offset in the group)
    for g in granted:
        head, off = group.get(g.input, (g.input, 0))
        group[g.input] = (head, off)
        group[g.output] = (head, off + g.offset)

    intervals = []          # per tensor: the op-by-op problem
    members: dict[int, list[int]] = {}
    for r in sorted(first):
        if r in storage and r not in io_roots:
            continue
        intervals.append(Interval(("t", r), graph.tensors[r].nbytes, first[r], last[r]))
        members.setdefault(group.get(r, (r, 0))[0], []).append(r)
    scratch_ivs = []
    for step, call in enumerate(steps):
        for k, size in enumerate(call.scratch):
            if size > 0:
                scratch_ivs.append(Interval(("s", step, k), size, step, step))
    placed = []             # per placement group: what plan_best places
    for head, rs in sorted(members.items()):
        size = max(group.get(r, (r, 0))[1] + graph.tensors[r].nbytes for r in rs)
        placed.append(Interval(("g", head), size, min(first[r] for r in rs),
                               max(last[r] for r in rs)))

    offsets, total = plan_best(placed + scratch_ivs, alignment)
    for iv in intervals:
        r = iv.key[1]
        head, off = group.get(r, (r, 0))
        offsets[iv.key] = offsets[("g", head)] + off
    check_plan(intervals + scratch_ivs, offsets,
               shared={(("t", g.output), ("t", g.input), g.offset) for g in granted})
    scratch = {}
    for iv in intervals:
        if iv.key[1] not in io_roots:
            storage[iv.key[1]] = Storage("arena", offsets[iv.key])
    io_offsets = {}
    if io_in_arena:
        for kind, ts in (("input", graph.inputs), ("output", graph.outputs)):
            for pos, t in enumerate(ts):
                io_offsets[(kind, pos)] = offsets[("t", alias_uf.find(t))]
    for iv in scratch_ivs:
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
                      lower_bound=lower_bound(intervals + scratch_ivs, alignment),
                      state_bytes=state_off, alignment=alignment, intervals=intervals,
                      overlaps=granted, io_offsets=io_offsets,
                      placed_bound=lower_bound(placed + scratch_ivs, alignment))


def grant_overlaps(graph: Graph, steps: list[LayerCall], alias_uf: _UnionFind,
                   first: dict[int, int], last: dict[int, int],
                   caller: set[int]) -> list[Granted]:
    """The in-place (non-alias) overlaps of `steps` the planner uses, in step order.

    `first`/`last`: the step each arena tensor (alias root) is first written and last
    read; `caller`: roots in the caller's buffers.  An overlap is granted when its input
    is an arena tensor whose last read is this call, its output an arena tensor first
    written by this call, the output has no other overlap and the input gives its bytes
    to one output only.  Constants, variables (state) and caller buffers never qualify.

    The output must end where the input ends (`offset` + its bytes = the input's bytes):
    the tensors of a chain of grants are placed as one group as wide as its widest member
    for its whole life, so a wider output, or a narrower one with a long life, could cost
    more than the bytes it saves.  (With offset 0 and equal sizes the group's plan is never
    worse than the operator-by-operator one.)
    """
    granted: list[Granted] = []
    given: set[int] = set()      # inputs that already gave their bytes away
    taken: set[int] = set()      # outputs already placed over an input
    for step, call in enumerate(steps):
        for ov in call.overlaps:
            if ov.alias or ov.offset < 0:
                continue
            tin, tout = graph.tensors[ov.input], graph.tensors[ov.output]
            if tin.is_const or tin.is_variable or tout.is_const or tout.is_variable:
                continue
            ri, ro = alias_uf.find(ov.input), alias_uf.find(ov.output)
            if ri == ro or ri in caller or ro in caller or ri in given or ro in taken:
                continue
            if ri not in last or ro not in first:
                continue
            if last[ri] != step or first[ro] != step:
                continue
            if ov.offset + graph.tensors[ro].nbytes != graph.tensors[ri].nbytes:
                continue     # the group keeps the input's extent (see the docstring)
            given.add(ri)
            taken.add(ro)
            granted.append(Granted(step, ro, ri, ov.offset))
    return granted
