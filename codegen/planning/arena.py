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


def union_bytes(extents: list[tuple[int, int]]) -> int:
    """Bytes covered by half-open [start, end) extents (shared bytes counted once)."""
    total, reach = 0, None
    for start, end in sorted(extents):
        if reach is None or start >= reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


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


EXACT_MAX_BUFFERS = 12      # plan_best searches placements exactly up to this many buffers
EXACT_BUDGET = 20_000       # ... visiting at most this many partial placements


def plan_best(buffers: list[Interval], alignment: int = 4) -> tuple[dict[object, int], int]:
    """The smallest of `plan_greedy`'s placements over the `ORDERS` (the first on a tie),
    improved by `plan_exact` for a few buffers when it stays above the `lower_bound`."""
    best = None
    for name in ORDERS:
        offsets, total = plan_greedy(buffers, alignment, order=name)
        if best is None or total < best[1]:
            best = (offsets, total)
    if best[1] > lower_bound(buffers, alignment) and len(buffers) <= EXACT_MAX_BUFFERS:
        exact = plan_exact(buffers, alignment, best=best)
        if exact[1] < best[1]:
            best = exact
    return best


def _lowest_fit(b: Interval, placed: list[tuple[Interval, int]], alignment: int) -> int:
    size = align_up(max(b.size, 1), alignment)
    busy = sorted((off, off + align_up(max(p.size, 1), alignment))
                  for p, off in placed if p.overlaps(b))
    candidate = 0
    for start, end in busy:
        if candidate + size <= start:
            break
        candidate = max(candidate, align_up(end, alignment))
    return candidate


def plan_exact(buffers: list[Interval], alignment: int = 4, budget: int = EXACT_BUDGET,
               best: tuple[dict[object, int], int] | None = None
               ) -> tuple[dict[object, int], int]:
    """The smallest arena by search over placement orders (each buffer at the lowest offset
    that fits, in every order), pruned by the best found and stopped at the `lower_bound`.

    Some order reaches the optimum: place an optimal plan's buffers by increasing offset,
    each at the lowest offset that fits; by induction every buffer then lies at or below
    its optimal offset (a buffer placed before it that is live at the same time lies below
    its optimal offset, and moving down keeps it there).  So without the `budget` (partial
    placements visited) this is exact; with it, the best found, never worse than `best`
    (default: largest first)."""
    if best is None:
        best = plan_greedy(buffers, alignment)
    bound = lower_bound(buffers, alignment)
    state = dict(best=best, visits=0)
    ordered = sorted(buffers, key=ORDERS["size"])

    def search(placed: list[tuple[Interval, int]], left: list[Interval], top: int) -> None:
        if state["best"][1] <= bound or state["visits"] >= budget:
            return
        if not left:
            state["best"] = ({p.key: off for p, off in placed}, top)
            return
        seen = set()
        for k, b in enumerate(left):
            off = _lowest_fit(b, placed, alignment)
            end = off + align_up(max(b.size, 1), alignment)
            if max(top, end) >= state["best"][1] or (b.size, b.first, b.last, off) in seen:
                continue
            seen.add((b.size, b.first, b.last, off))    # identical buffers: one order
            state["visits"] += 1
            search(placed + [(b, off)], left[:k] + left[k + 1:], max(top, end))
    search([], ordered, 0)
    return state["best"]


def plan_greedy(buffers: list[Interval], alignment: int = 4,
                order: str = "size") -> tuple[dict[object, int], int]:
    """Offsets for each buffer and the arena size they need, placing the buffers in
    `order` (a name in ORDERS; default the largest first)."""
    order = sorted(buffers, key=ORDERS[order])
    placed: list[tuple[Interval, int]] = []
    offsets: dict[object, int] = {}
    for b in order:
        offsets[b.key] = _lowest_fit(b, placed, alignment)
        placed.append((b, offsets[b.key]))
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
