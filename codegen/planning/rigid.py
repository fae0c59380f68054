"""Placing groups of buffers that keep fixed distances (in-place overlaps): pure functions.

An in-place overlap ties an output to its input: the output starts a known number of bytes
after (or before) the input's first byte.  A chain of such overlaps is a `Rigid` group:
member buffers, each with its own lifetime and its offset inside the group.  A group is
placed as a whole, but each member only occupies its own bytes during its own life, so a
wide output that trails a narrow input does not reserve its width before it is written
(which the group's bounding box would).

`plan_rigid` places groups greedily (each at the lowest aligned offset where none of its
members collides with a member of a group already placed and live at the same time) in
the orders of `arena.ORDERS` and keeps the smallest arena; groups of one buffer each go
through `arena.plan_best` (the same placements as without overlaps, exact search
included).  `occupied_peak` is the largest number of bytes occupied at one step, shared
bytes counted once: the bound with the overlaps.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen.planning.arena import ORDERS, Interval, align_up, plan_best, union_bytes


@dataclass(frozen=True)
class Rigid:
    key: object
    parts: tuple[tuple[Interval, int], ...]   # (member, its offset in the group, >= 0)

    def extent(self, alignment: int) -> int:
        return max(rel + align_up(max(m.size, 1), alignment) for m, rel in self.parts)

    @property
    def first(self) -> int:
        return min(m.first for m, _ in self.parts)

    @property
    def last(self) -> int:
        return max(m.last for m, _ in self.parts)


def rigid_fit(group: Rigid, placed: list[tuple[Interval, int]], alignment: int) -> int:
    """The lowest aligned offset >= 0 for `group` where none of its members shares bytes
    with a `placed` (member, absolute offset) live at the same time."""
    banned = []          # half-open [lo, hi) of forbidden group offsets
    for m, rel in group.parts:
        size = align_up(max(m.size, 1), alignment)
        for p, off in placed:
            if p.overlaps(m):
                # m at o + rel collides with p at off when o + rel < off + |p| and
                # off < o + rel + size
                lo = off - rel - size + 1
                hi = off + align_up(max(p.size, 1), alignment) - rel
                if hi > lo:
                    banned.append((lo, hi))
    banned.sort()
    merged: list[list[int]] = []
    for lo, hi in banned:
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    candidate = 0
    for lo, hi in merged:
        if candidate < lo:
            break
        if candidate < hi:
            candidate = align_up(hi, alignment)
    return candidate


def plan_rigid_greedy(groups: list[Rigid], alignment: int = 4,
                      order: str = "size") -> tuple[dict[object, int], int]:
    """Offsets of each group (its offset 0) and the arena they need, placing the groups in
    `order` (arena.ORDERS, applied to each group's extent and span)."""
    bounding = {g.key: Interval(g.key, g.extent(alignment), g.first, g.last) for g in groups}
    by_key = {g.key: g for g in groups}
    placed: list[tuple[Interval, int]] = []
    offsets: dict[object, int] = {}
    for iv in sorted(bounding.values(), key=ORDERS[order]):
        g = by_key[iv.key]
        off = rigid_fit(g, placed, alignment)
        offsets[g.key] = off
        placed += [(m, off + rel) for m, rel in g.parts]
    total = max((off + align_up(max(m.size, 1), alignment) for m, off in placed), default=0)
    return offsets, total


def plan_rigid(groups: list[Rigid], alignment: int = 4) -> tuple[dict[object, int], int]:
    """The smallest placement of `plan_rigid_greedy` over the orders (the first on a tie);
    when every group is one buffer at offset 0, `arena.plan_best`'s."""
    if all(len(g.parts) == 1 and g.parts[0][1] == 0 for g in groups):
        ivs = [Interval(g.key, g.parts[0][0].size, g.first, g.last) for g in groups]
        return plan_best(ivs, alignment)
    best = None
    for name in ORDERS:
        offsets, total = plan_rigid_greedy(groups, alignment, order=name)
        if best is None or total < best[1]:
            best = (offsets, total)
    return best


def occupied_peak(placed: list[tuple[Interval, int]], alignment: int = 1) -> int:
    """The most bytes occupied at one step by (buffer, offset) pairs, bytes shared by
    buffers live together counted once."""
    steps = sorted({b.first for b, _ in placed} | {b.last for b, _ in placed})
    best = 0
    for s in steps:
        best = max(best, union_bytes([(off, off + align_up(b.size, alignment))
                                      for b, off in placed if b.first <= s <= b.last and b.size]))
    return best
