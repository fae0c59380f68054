"""Targets are data: one TOML file per core or board in the top-level targets/ folder.

A core file (`cortex-m4.toml`) describes an instruction set: compiler flags, DSP/MVE/FPU,
the kernel library it prefers, arena alignment.  A board file names its core
(`core = "cortex-m4"`) and adds what a real part has: flash and RAM sizes and
addresses; any core field it sets (for example `fpu`) overrides the core's.
Adding a target or a board means adding one file here.
"""
from __future__ import annotations

import re
import tomllib

from codegen import resources
from codegen.errors import TinygenError

TARGETS_DIR = resources.targets_dir()

# Fields a Cortex-M core file must define (a board inherits them from its core).
CORE_FIELDS = ("mcpu", "float_abi", "fpu", "has_dsp", "has_mve", "has_fpu", "has_double_fpu")
ARM_GCC = "arm-none-eabi-gcc"


def available_targets() -> list[str]:
    return sorted(p.stem for p in TARGETS_DIR.glob("*.toml"))


def _read(name: str) -> dict:
    path = TARGETS_DIR / f"{name}.toml"
    if not path.is_file():
        raise TinygenError(f"unknown target '{name}'; available targets: "
                           f"{', '.join(available_targets())}")
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise TinygenError(f"{path}: not valid TOML: {e}") from None


def cpu_flags(target: dict) -> list[str]:
    """The compiler flags that select the target's instruction set and float ABI."""
    if target.get("kind") != "cortex-m":
        return list(target.get("cpu_flags", []))
    flags = [f"-mcpu={target['mcpu']}", "-mthumb", f"-mfloat-abi={target['float_abi']}"]
    if target.get("fpu"):
        flags.append(f"-mfpu={target['fpu']}")
    return flags


def load_target(name: str) -> dict:
    data = _read(name)
    data.setdefault("name", name)
    if "core" not in data:      # a board keeps its core's kernel preference and arena
        data.setdefault("kernels", ["portable"])    # alignment unless it sets its own
        data.setdefault("arena_alignment", 16)
    if "core" in data:  # a board: inherit its core's settings, override with its own
        core = load_target(data["core"])
        if core.get("is_board"):
            raise TinygenError(f"target '{name}': its core '{data['core']}' is itself a board")
        merged = dict(core)
        merged.update(data)
        merged["core_target"] = core
        merged["core_name"] = core["name"]
        merged["is_board"] = True
        merged["cpu_flags"] = cpu_flags(merged)
        merged["memory_regions"] = _memory_regions(merged)
        return merged
    data["is_board"] = False
    data["core_name"] = name
    if data.get("kind") == "cortex-m":
        missing = [f for f in CORE_FIELDS if f not in data]
        if missing:
            raise TinygenError(f"target '{name}': missing field(s) {', '.join(missing)}")
        data.setdefault("cc", ARM_GCC)
    data["cpu_flags"] = cpu_flags(data)
    return data


def is_cortex_m(target: dict) -> bool:
    return target.get("kind") == "cortex-m"


def describe(target: dict) -> str:
    """One line for `tinygen targets`."""
    return target.get("description", "")


REGION_KINDS = ("flash", "ram")
_REGION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _memory_regions(board: dict) -> list[dict]:
    """A board's memory regions, checked: `[[memory]]` tables, or, for a board file without
    them, one FLASH and one RAM region made of its flash_*/ram_* totals."""
    where = f"target '{board['name']}' ({TARGETS_DIR / board['name']}.toml)"
    raw = board.get("memory")
    if raw is None:
        raw = [dict(name=name, kind=kind, origin=board.get(f"{kind}_origin", 0),
                    size=board[f"{kind}_bytes"], default=True)
               for name, kind in (("FLASH", "flash"), ("RAM", "ram")) if f"{kind}_bytes" in board]
    if not isinstance(raw, list):
        raise TinygenError(f"{where}: `memory` must be a list of [[memory]] tables")
    regions, seen = [], set()
    for k, r in enumerate(raw):
        if not isinstance(r, dict):
            raise TinygenError(f"{where}: memory region {k} is not a table")
        name = r.get("name")
        if not isinstance(name, str) or not _REGION_NAME.match(name):
            raise TinygenError(f"{where}: memory region {k} needs a `name` that is a linker "
                               f"script identifier, not {name!r}")
        if name.upper() in seen:
            raise TinygenError(f"{where}: memory region {name} is listed twice")
        seen.add(name.upper())
        kind = r.get("kind")
        if kind not in REGION_KINDS:
            raise TinygenError(f"{where}: memory region {name}: `kind` must be one of "
                               f"{', '.join(REGION_KINDS)}, not {kind!r}")
        origin, size = r.get("origin"), r.get("size")
        if not isinstance(origin, int) or isinstance(origin, bool) or origin < 0 or \
                not isinstance(size, int) or isinstance(size, bool) or size <= 0:
            raise TinygenError(f"{where}: memory region {name} needs an integer `origin` "
                               ">= 0 and `size` > 0 (bytes)")
        unknown = set(r) - {"name", "kind", "origin", "size", "default", "external", "note"}
        if unknown:
            raise TinygenError(f"{where}: memory region {name}: unknown field(s) "
                               f"{', '.join(sorted(unknown))}")
        regions.append(dict(name=name, kind=kind, origin=origin, size=size,
                            default=bool(r.get("default", False)),
                            external=bool(r.get("external", False)), note=str(r.get("note", ""))))
    for kind in REGION_KINDS:
        of_kind = [r for r in regions if r["kind"] == kind]
        defaults = [r["name"] for r in of_kind if r["default"]]
        if of_kind and len(defaults) != 1:
            holds = "code and constants" if kind == "flash" else ".data/.bss and the stack"
            raise TinygenError(f"{where}: exactly one {kind} region must be `default = true` "
                               f"(where the vendor's linker script puts {holds}), not "
                               f"{len(defaults)}")
    return regions


def memory_regions(target: dict, kind: str | None = None) -> list[dict]:
    """The target's memory regions (boards only; [] for a core), optionally of one kind."""
    return [r for r in target.get("memory_regions", []) if kind in (None, r["kind"])]


def default_region(target: dict, kind: str) -> dict | None:
    """The region the vendor's default linker script puts code/constants (flash) or
    .data/.bss/stack (ram) in; None for a core."""
    return next((r for r in memory_regions(target, kind) if r["default"]), None)
