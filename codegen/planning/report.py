"""The memory report per layer: which arena buffers are live at each step and what they cost.

Pure: reads a `MemoryPlan` (and the scratch sizes of the calls it was planned for).  Per
step, `op_by_op` is the sum of the live buffers' aligned sizes, each in its own bytes (the
operator-by-operator bound at that layer; its maximum is `plan.lower_bound`), `planned`
the bytes they really occupy in the plan (bytes shared by an in-place layer counted
once; its maximum is what the overlaps brought the bound down to), and `arena_end` one
past the highest byte they use (its maximum is the arena).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.planning.arena import align_up, union_bytes
from codegen.planning.memory import Granted, MemoryPlan


@dataclass(frozen=True)
class LiveBuffer:
    key: tuple        # ("t", tensor root) or ("s", step, scratch index)
    offset: int
    bytes: int


@dataclass
class StepMemory:
    step: int
    buffers: list[LiveBuffer]                     # live arena buffers, by offset
    op_by_op: int
    planned: int
    arena_end: int
    in_place: list[Granted] = field(default_factory=list)   # overlaps granted here


def step_memory(plan: MemoryPlan, scratch: list[list[int]]) -> list[StepMemory]:
    """One `StepMemory` per step; `scratch[step]`: the scratch sizes of that step's call."""
    a = plan.alignment
    steps = []
    for step, sizes in enumerate(scratch):
        live = [LiveBuffer(iv.key, plan_offset(plan, iv.key[1]), iv.size)
                for iv in plan.intervals if iv.first <= step <= iv.last]
        live += [LiveBuffer(("s", step, k), plan.scratch_offsets[(step, k)], size)
                 for k, size in enumerate(sizes) if (step, k) in plan.scratch_offsets]
        live.sort(key=lambda b: (b.offset, b.key))
        extents = [(b.offset, b.offset + align_up(max(b.bytes, 1), a)) for b in live]
        steps.append(StepMemory(
            step=step, buffers=live,
            op_by_op=sum(align_up(b.bytes, a) for b in live),
            planned=union_bytes(extents),
            arena_end=max((end for _, end in extents), default=0),
            in_place=[g for g in plan.overlaps if g.step == step]))
    return steps


def plan_offset(plan: MemoryPlan, root: int) -> int:
    """The arena offset of a tensor root (its `io_offsets` entry for --io-in-arena I/O)."""
    s = plan.storage[root]
    if s.kind == "arena":
        return s.index
    return plan.io_offsets[(s.kind, s.index)]


def peak_step(steps: list[StepMemory]) -> StepMemory | None:
    """The step with the most bytes occupied (the first on a tie)."""
    return max(steps, key=lambda s: (s.planned, s.op_by_op, -s.step), default=None)


def poison_ranges(plan: MemoryPlan, scratch: list[list[int]]) -> list[list[tuple[int, int]]]:
    """Per step, the arena bytes that hold nothing the step may read, as (offset, bytes):
    every byte outside the buffers live at the step and written before it (its inputs and
    what lives across it; the model's inputs in the arena count as written before step 0).
    Its outputs (except bytes they share in place with an input), its scratch and dead
    buffers are in there: a test build fills them with a pattern before the step
    (`generate(poison=True)`), so a kernel that reads one of them, or a byte it already
    overwrote, computes something else and fails its comparison with the reference."""
    out = []
    for step in range(len(scratch)):
        kept = []
        for iv in plan.intervals:
            r = iv.key[1]
            before = iv.first < step or plan.storage[r].kind == "input"
            if before and iv.first <= step <= iv.last and iv.size:
                start = plan_offset(plan, r)
                kept.append((start, start + iv.size))
        ranges, pos = [], 0
        for start, end in sorted(kept) + [(plan.arena_bytes, plan.arena_bytes)]:
            if start > pos:
                ranges.append((pos, start - pos))
            pos = max(pos, end)
        out.append(ranges)
    return out
