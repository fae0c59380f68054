"""Progress lines on stderr for long generate and verify steps.

Off by default (library calls and tests stay quiet); the command line turns it on
unless -q/--quiet.
"""
from __future__ import annotations

import sys

_enabled = False


def enable(on: bool = True) -> None:
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def note(message: str) -> None:
    if _enabled:
        print(f"tinygen: {message}", file=sys.stderr, flush=True)


def counter(what: str, total: int, steps: int = 10):
    """A function f(done) that notes `<what> <done>/<total>` about `steps` times in all."""
    every = max(1, -(-total // steps))

    def tick(done: int) -> None:
        if done == total or done % every == 0:
            note(f"{what} {done}/{total}")
    return tick
