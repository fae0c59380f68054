"""Targets are data: one TOML file per core or board in the top-level targets/ folder.

A core file (`cortex-m4.toml`) describes an instruction set: compiler flags, DSP/MVE/FPU,
the kernel library it prefers, arena alignment.  A board file names its core
(`core = "cortex-m4"`) and adds what a real part has: flash and RAM sizes and
addresses; any core field it sets (for example `fpu`) overrides the core's.
Adding a target or a board means adding one file here.
"""
from __future__ import annotations

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
    data.setdefault("kernel_library", "portable")
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
