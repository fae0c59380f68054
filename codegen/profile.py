"""Per-layer profiling (`--profile`): what the generated code and the verify harness need.

With --profile the generated <name>.c times every layer with TG_PROFILE_TIMER()
(runtime_c/tg_profile.h: the DWT cycle counter on Cortex-M3/M4/M7/M33/M55, clock()
on a host, a user-defined timer elsewhere) and keeps a table (layer, operator,
kernel, MACs, count) that <name>_profile() returns and <name>_profile_print()
prints.  Python decides every string and column width here; templates/model.c.j2
and model.h.j2 only lay them out in `{% if profile %}` blocks, so a project
generated without --profile is byte for byte what it was before.

On the emulator (`tinygen verify --target cortex-m4 --profile`), QEMU does not
emulate the DWT cycle counter (its registers read as zero), so the verify program
times layers with the board's CMSDK APB timer 0 instead (runtime_c/boards/mps2/
tg_board_profile.h) and QEMU runs with `-icount shift=ICOUNT_SHIFT`: every guest
instruction then advances the virtual clock by exactly 2**ICOUNT_SHIFT ns, and the
timer counts that virtual clock at 25 MHz.  The counts are therefore guest
instructions (exact after rounding, and deterministic), not cycles: the table
says "instructions (QEMU icount)".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.errors import TinygenError

PROFILE_HEADER = "tg_profile.h"
MACS_MAX = 0xFFFFFFFF               # the C table holds uint32_t MACs (saturating)

# QEMU -icount: 2**7 = 128 ns of virtual time per instruction; the MPS2 boards' APB
# timers run at 25 MHz (40 ns per tick), i.e. 3.2 ticks per instruction: the difference of
# two timer reads, divided by 3.2 and rounded, is the exact number of instructions between
# them (the read error is below one tick, 0.31 instruction).  The 32-bit timer wraps after
# 1.3e9 instructions, far above any one layer or inference on a microcontroller.
ICOUNT_SHIFT = 7
EMULATOR_TIMER_HZ = 25_000_000
EMULATOR_UNIT = "instructions (QEMU icount)"
PROFILE_TAG = "TGP"


def ticks_to_instructions(ticks: int) -> int:
    """Timer ticks of the emulator run -> guest instructions (see ICOUNT_SHIFT)."""
    ns_per_tick = 1e9 / EMULATOR_TIMER_HZ
    return int(round(ticks * ns_per_tick / (1 << ICOUNT_SHIFT)))


def qemu_flags() -> list[str]:
    """Extra QEMU options of a profiled emulator run: deterministic instruction counting."""
    return ["-icount", f"shift={ICOUNT_SHIFT},align=off,sleep=off"]


def _kernel_text(layer: dict) -> str:
    return f"{layer['kernel']} ({layer['variant']})"


def _c_text(text: str) -> str:
    """Only plain characters reach the C string literals (operator and kernel names are)."""
    if not all(ch.isalnum() or ch in "_-. ()+" for ch in text):
        raise TinygenError(f"--profile: unexpected characters in '{text}'")
    return text


def profile_context(layers: list[dict], target: dict) -> dict:
    """The `profile` entry of the render context: one row per layer (dicts of render.py).

    Layer numbers are the render's own (`layer["index"]`, the number in the layer's
    comment in <name>.c).
    """
    if not layers:
        raise TinygenError("--profile: the model has no layers to time (everything folded "
                           "away at generation time)")
    rows = [dict(layer=int(layer["index"]), op=_c_text(layer["opcode"]),
                 kernel=_c_text(_kernel_text(layer)), macs=min(int(layer["macs"]), MACS_MAX))
            for layer in layers]
    op_w = max(len("operator"), *(len(r["op"]) for r in rows))
    k_w = max(len("kernel"), *(len(r["kernel"]) for r in rows))
    lead = f"%5{{}}  %-{op_w}s  %-{k_w}s  %12lu  %12lu"
    nl = "\\n"   # a C escape inside the format literal
    return dict(
        rows=rows,
        dwt_unlock=target.get("core_name", target.get("name")) == "cortex-m7",
        head_format=f"%5s  %-{op_w}s  %-{k_w}s  %12s  %12s  %10s{nl}",
        row_format=lead.format("u") + f"  %7lu.%02lu{nl}",
        row_nomac_format=lead.format("u") + f"  %10s{nl}",
        total_format=lead.format("s") + nl,
    )


# ---------------------------------------------------------------- verify --profile
@dataclass
class ProfileRow:
    layer: int
    op: str
    kernel: str
    macs: int
    counts: list[int] = field(default_factory=list)   # one per inference

    @property
    def mean(self) -> float:
        return sum(self.counts) / len(self.counts) if self.counts else 0.0


@dataclass
class ProfileReport:
    """Per-layer counts of every inference of a verify run on the emulator."""

    unit: str
    rows: list[ProfileRow]
    totals: list[int] = field(default_factory=list)   # whole <name>_invoke() call, per inference

    @classmethod
    def for_manifest(cls, manifest: dict, unit: str = EMULATOR_UNIT) -> "ProfileReport":
        return cls(unit=unit, rows=[ProfileRow(layer=layer["index"], op=layer["opcode"],
                                               kernel=_kernel_text(layer), macs=layer["macs"])
                                    for layer in manifest["layers"]])

    def add_run(self, lines: list[list[str]]) -> None:
        """The `TGP <vector> <layer position>|T <ticks>` lines of one emulator run.

        The whole call's count comes from a 32-bit timer that wraps after 1.3e9
        instructions: it is unwrapped to the value nearest the layers' sum (each layer
        alone stays far below a wrap).
        """
        per_vector: dict[int, dict[str, int]] = {}
        for parts in lines:
            if len(parts) == 4:
                per_vector.setdefault(int(parts[1]), {})[parts[2]] = int(parts[3])
        for v in sorted(per_vector):
            ticks = per_vector[v]
            layers = [ticks.get(str(k)) for k in range(len(self.rows))]
            if None in layers or "T" not in ticks:
                raise TinygenError(f"the verify program printed an incomplete profile for "
                                   f"input vector {v}")
            layer_sum = sum(layers)
            total = ticks["T"] + (1 << 32) * round((layer_sum - ticks["T"]) / (1 << 32))
            for row, t in zip(self.rows, layers):
                row.counts.append(ticks_to_instructions(t))
            self.totals.append(ticks_to_instructions(total))

    @property
    def inferences(self) -> int:
        return len(self.totals)

    def layer_sum(self) -> float:
        return sum(r.mean for r in self.rows)

    def total(self) -> float:
        return sum(self.totals) / len(self.totals) if self.totals else 0.0

    def table(self) -> str:
        n = self.inferences
        head = ("layer", "operator", "kernel", "MACs", self.unit.split(" ")[0], "per MAC")
        rows = [head]
        for r in self.rows:
            per = f"{r.mean / r.macs:.2f}" if r.macs else "-"
            rows.append((str(r.layer), r.op, r.kernel, f"{r.macs:,}", f"{r.mean:,.0f}", per))
        macs = sum(r.macs for r in self.rows)
        layer_sum = self.layer_sum()
        rows.append(("total", "", "", f"{macs:,}", f"{layer_sum:,.0f}",
                     f"{layer_sum / macs:.2f}" if macs else "-"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
        lines = [f"per-layer profile: {self.unit}, "
                 + ("mean of " if n > 1 else "") + f"{n} inference{'s' if n != 1 else ''}"]
        for k, r in enumerate(rows):
            if k == len(rows) - 1:
                lines.append("  " + "  ".join("-" * w for w in widths))
            lines.append("  " + "  ".join(c.ljust(w) if i in (1, 2) else c.rjust(w)
                                          for i, (c, w) in enumerate(zip(r, widths))).rstrip())
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        lines.append(f"  whole invoke call: {self.total():,.0f} {self.unit.split(' ')[0]} "
                     "(the layers' sum plus the call's own and the timer's overhead)")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return dict(unit=self.unit, inferences=self.inferences, totals=self.totals,
                    layers=[dict(layer=r.layer, op=r.op, kernel=r.kernel, macs=r.macs,
                                 counts=r.counts) for r in self.rows])
