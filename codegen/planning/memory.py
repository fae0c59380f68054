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
and the call disappears (`resolve_aliases`).  Any other overlap may be used
(`overlap_candidates`) when its input dies at the call and both tensors live in
the arena, at any offset (negative: the input trailing inside a wider output)
and any sizes: the output then starts `offset` bytes from the input's start, the
chain of such tensors becoming one rigid placement group (planning/rigid.py)
whose members occupy their bytes only during their own lives.  `choose_overlaps`
keeps the overlaps that do not enlarge the arena.  `lower_bound` stays the
operator-by-operator bound (every tensor in its own bytes); `placed_bound` is
the most bytes occupied at one step with the overlaps.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.graph import Graph
from codegen.ir import LayerCall
from codegen.planning.arena import Interval, align_up, check_plan, lower_bound
from codegen.planning.rigid import Rigid, occupied_peak, plan_rigid


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
                alignment: int = 4, io_in_arena: bool = False,
                in_place: bool = True) -> MemoryPlan:
    """`steps`: the program's calls in order (what each reads and writes, its scratch).

    io_in_arena: the model's inputs and outputs get arena bytes too (`io_offsets`), an input
    live from before the first call to its last read, an output from its first write to
    after the last call; their storage stays "input"/"output" (the kernels read and write
    them through the pointers the caller passes, which may be these arena bytes).
    in_place=False: no in-place overlap (the operator-by-operator plan)."""
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
    intervals = []          # per tensor: the op-by-op problem
    for r in sorted(first):
        if r in storage and r not in io_roots:
            continue
        intervals.append(Interval(("t", r), graph.tensors[r].nbytes, first[r], last[r]))
    scratch_ivs = []
    for step, call in enumerate(steps):
        for k, size in enumerate(call.scratch):
            if size > 0:
                scratch_ivs.append(Interval(("s", step, k), size, step, step))

    candidates = overlap_candidates(graph, steps, alias_uf, first, last, caller, alignment) \
        if in_place else []
    granted, offsets, total = choose_overlaps(intervals, scratch_ivs, candidates, alignment)
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
                      placed_bound=occupied_peak(
                          [(iv, offsets[iv.key]) for iv in intervals + scratch_ivs],
                          alignment))


def overlap_candidates(graph: Graph, steps: list[LayerCall], alias_uf: _UnionFind,
                       first: dict[int, int], last: dict[int, int], caller: set[int],
                       alignment: int = 1) -> list[Granted]:
    """The in-place (non-alias) overlaps of `steps` the planner may use, in step order.

    `first`/`last`: the step each arena tensor (alias root) is first written and last
    read; `caller`: roots in the caller's buffers.  An overlap qualifies when its input
    is an arena tensor whose last read is this call and its output an arena tensor first
    written by this call, with an offset (any sign: a negative one puts the output's start
    before the input's) that keeps both aligned.  Constants, variables (state) and caller
    buffers never qualify.  Which ones are used is `choose_overlaps`' decision.
    """
    found: list[Granted] = []
    for step, call in enumerate(steps):
        for ov in call.overlaps:
            if ov.alias or ov.offset % alignment:
                continue
            tin, tout = graph.tensors[ov.input], graph.tensors[ov.output]
            if tin.is_const or tin.is_variable or tout.is_const or tout.is_variable:
                continue
            ri, ro = alias_uf.find(ov.input), alias_uf.find(ov.output)
            if ri == ro or ri in caller or ro in caller:
                continue
            if ri not in last or ro not in first:
                continue
            if last[ri] != step or first[ro] != step:
                continue
            found.append(Granted(step, ro, ri, ov.offset))
    return found


def group_overlaps(intervals: list[Interval], scratch: list[Interval],
                   granted: list[Granted]) -> list[Rigid]:
    """The placement groups: each chain of `granted` overlaps (in step order) one `Rigid`
    with its tensors at their distances, every other buffer a group of its own."""
    where: dict[int, tuple[int, int]] = {}     # root -> (group head, offset from the head)
    for g in granted:
        head, off = where.get(g.input, (g.input, 0))
        where[g.input] = (head, off)
        where[g.output] = (head, off + g.offset)
    members: dict[object, list[tuple[Interval, int]]] = {}
    for iv in intervals:
        head, off = where.get(iv.key[1], (iv.key[1], 0))
        members.setdefault(("t", head), []).append((iv, off))
    groups = []
    for key, parts in members.items():
        low = min(off for _, off in parts)
        groups.append(Rigid(key, tuple((iv, off - low) for iv, off in parts)))
    groups += [Rigid(iv.key, ((iv, 0),)) for iv in scratch]
    return groups


def plan_groups(intervals: list[Interval], scratch: list[Interval], granted: list[Granted],
                alignment: int) -> tuple[dict[object, int], int]:
    """Every buffer's offset (tensors and scratch) and the arena, with `granted` overlaps."""
    groups = group_overlaps(intervals, scratch, granted)
    at, total = plan_rigid(groups, alignment)
    offsets = {}
    for grp in groups:
        for iv, rel in grp.parts:
            offsets[iv.key] = at[grp.key] + rel
    return offsets, total


# choose_overlaps searches candidates one by one while candidates x buffers^2 (a plan is
# about quadratic in the buffers) stays under this; past it, three plans
SEARCH_WORK = 8_000_000


def choose_overlaps(intervals: list[Interval], scratch: list[Interval],
                    candidates: list[Granted], alignment: int
                    ) -> tuple[list[Granted], dict[object, int], int]:
    """The overlaps used, each buffer's offset and the arena.

    A set of overlaps is valid when no input gives its bytes to two outputs and no output
    lies over two inputs.  Two searches, the smaller arena kept (the first on a tie): adding
    the candidates in step order, each kept when the arena does not grow; and starting from
    every candidate (the first one per input and output), dropping each in turn when the
    arena shrinks.  Then single additions and removals while one shrinks it.  The result is
    never above the plan without overlaps (a wide output trailing a narrow input, or a
    chain whose shape fits badly among the other buffers, is left out).

    Where that search would be too long (SEARCH_WORK: unrolled recurrent models have
    hundreds of candidates, and a plan of their ~1,000 buffers takes about a second) only
    three plans are compared: none, every candidate (the first one per input and output),
    and those that keep their input's extent (offset + output bytes = input bytes, which
    never widens a group)."""
    memo: dict[tuple, tuple[dict[object, int], int]] = {}
    sizes = {iv.key[1]: iv.size for iv in intervals}

    def plan(chosen: list[Granted]) -> tuple[dict[object, int], int]:
        key = tuple(chosen)
        if key not in memo:
            memo[key] = plan_groups(intervals, scratch, list(chosen), alignment)
        return memo[key]

    def valid(chosen: list[Granted]) -> bool:
        ins = [c.input for c in chosen]
        outs = [c.output for c in chosen]
        return len(set(ins)) == len(ins) and len(set(outs)) == len(outs)

    def ordered(chosen) -> list[Granted]:
        return [c for c in candidates if c in chosen]

    if len(candidates) * (len(intervals) + len(scratch)) ** 2 > SEARCH_WORK:
        every: list[Granted] = []
        for c in candidates:
            if valid(every + [c]):
                every.append(c)
        keeps = [c for c in every if c.offset >= 0 and
                 c.offset + sizes.get(c.output, 0) == sizes.get(c.input, -1)]
        best = min(([], keeps, every), key=lambda ch: plan(ch)[1])
        offsets, total = plan(best)
        return best, offsets, total
    forward: list[Granted] = []
    total = plan(forward)[1]
    for c in candidates:
        trial = ordered(forward + [c])
        if valid(trial) and plan(trial)[1] <= total:
            forward, total = trial, plan(trial)[1]
    backward: list[Granted] = []
    for c in candidates:
        if valid(backward + [c]):
            backward.append(c)
    for c in list(backward):
        trial = [x for x in backward if x != c]
        if plan(trial)[1] < plan(backward)[1]:
            backward = trial
    best = min((forward, backward), key=lambda ch: plan(ch)[1])
    improved = True
    while improved:
        improved = False
        for c in candidates:
            trial = [x for x in best if x != c] if c in best else ordered(best + [c])
            if valid(trial) and plan(trial)[1] < plan(best)[1]:
                best, improved = trial, True
    offsets, total = plan(best)
    return best, offsets, total
