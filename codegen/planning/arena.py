"""Offline arena allocation: pure functions on (size, lifetime) intervals.

Buffers live over an inclusive range of steps.  Two buffers whose lifetimes
overlap must not overlap in memory.  `plan_greedy` places the largest buffers
first, each at the lowest aligned offset that fits between the buffers already
placed (TFLM's greedy-by-size strategy), or in another order; `plan_best` keeps the
smallest of a few orders; `lower_bound` is the largest sum of sizes live at one step,
which no placement can beat.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    key: object     # anything hashable that names the buffer
    size: int       # bytes
    first: int      # first step it is live (written)
    last: int       # last step it is live (read), >= first

    def overlaps(self, other: "Interval") -> bool:
        return self.first <= other.last and other.first <= self.last


def align_up(n: int, alignment: int) -> int:
    return (n + alignment - 1) // alignment * alignment


def lower_bound(buffers: list[Interval], alignment: int = 1) -> int:
    """The largest total size of buffers live at the same step."""
    if not buffers:
        return 0
    steps = sorted({b.first for b in buffers} | {b.last for b in buffers})
    best = 0
    for s in steps:
        live = sum(align_up(b.size, alignment) for b in buffers if b.first <= s <= b.last)
        best = max(best, live)
    return best


# Orders `plan_best` tries, each a sort key of the buffers (ties by key, for determinism).
ORDERS = {
    "size": lambda b: (-b.size, b.first, b.last, str(b.key)),            # TFLM's greedy by size
    "area": lambda b: (-b.size * (b.last - b.first + 1), -b.size, b.first, str(b.key)),
    "life": lambda b: (-(b.last - b.first), -b.size, b.first, str(b.key)),
    "time": lambda b: (b.first, -b.size, b.last, str(b.key)),
}


def plan_best(buffers: list[Interval], alignment: int = 4) -> tuple[dict[object, int], int]:
    """The smallest of `plan_greedy`'s placements over the `ORDERS` (the first on a tie)."""
    best = None
    for name in ORDERS:
        offsets, total = plan_greedy(buffers, alignment, order=name)
        if best is None or total < best[1]:
            best = (offsets, total)
    return best


def plan_greedy(buffers: list[Interval], alignment: int = 4,
                order: str = "size") -> tuple[dict[object, int], int]:
    """Offsets for each buffer and the arena size they need, placing the buffers in
    `order` (a name in ORDERS; default the largest first)."""
    order = sorted(buffers, key=ORDERS[order])
    placed: list[tuple[Interval, int]] = []
    offsets: dict[object, int] = {}
    for b in order:
        size = align_up(max(b.size, 1), alignment)
        busy = sorted((off, off + align_up(max(p.size, 1), alignment))
                      for p, off in placed if p.overlaps(b))
        candidate = 0
        for start, end in busy:
            if candidate + size <= start:
                break
            candidate = max(candidate, align_up(end, alignment))
        offsets[b.key] = candidate
        placed.append((b, candidate))
    total = max((off + align_up(max(p.size, 1), alignment) for p, off in placed), default=0)
    return offsets, total


def check_plan(buffers: list[Interval], offsets: dict[object, int],
               shared: set[tuple[object, object, int]] = frozenset()) -> None:
    """Raise AssertionError if two buffers that are live together share bytes.

    `shared`: (a, b, d) allows buffers a and b to share bytes when a starts exactly d
    bytes after b (an in-place overlap the kernel declared), nowhere else.
    """
    allowed = {(a, b): d for a, b, d in shared}
    for i, a in enumerate(buffers):
        for b in buffers[i + 1:]:
            if a.overlaps(b) and a.size and b.size:
                oa, ob = offsets[a.key], offsets[b.key]
                if oa < ob + b.size and ob < oa + a.size:
                    if allowed.get((a.key, b.key)) == oa - ob or \
                            allowed.get((b.key, a.key)) == ob - oa:
                        continue
                    raise AssertionError(f"buffers {a.key} and {b.key} overlap in time and memory")
