"""Memory regions: where the arena and the weights go, and whether they fit there.

A board file lists its memory regions as the vendor's default linker script names them
(targets/*.toml, `[[memory]]`), and which flash region holds code and constants and which RAM
region holds .data/.bss and the stack.  The activation arena is a static array, so it lands
in .bss, in that default RAM region, unless it is placed elsewhere: `--arena-region NAME`
makes the generated code put it in the input section `.noinit.<name>` (through the
TG_ARENA_SECTION macro), which the linker-script lines shown in the generated README place in
region NAME.  The weights struct has the same hook (TG_WEIGHTS_SECTION), defined by the user.

`region_usage` splits a footprint report over the regions; `fit_problems` says which region
overflows, by how much, and what to do.
"""
from __future__ import annotations

import re

from codegen.errors import TinygenError
from codegen.targets import default_region, is_cortex_m, memory_regions

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def arena_section(region: str) -> str:
    """The input section the arena goes to for --arena-region `region`.  GCC gives
    `.noinit.*` sections no file contents (like .bss), so a forgotten linker-script line
    never costs flash: the arena then lands after .bss."""
    return f".noinit.{region.lower()}"


def resolve_arena_region(target: dict, name: str | None) -> str | None:
    """Check --arena-region against the target: a RAM region of a board (any spelling of its
    name; the board's spelling is returned), or any linker-script identifier for a core."""
    if name is None:
        return None
    if not is_cortex_m(target):
        raise TinygenError(f"--arena-region {name}: placing the arena in a memory region is for "
                           "microcontrollers; generate with --board BOARD (or --target CORE)")
    regions = memory_regions(target)
    if not regions:
        if not _NAME.match(name):
            raise TinygenError(f"--arena-region {name!r}: a memory region's name is a linker "
                               "script identifier (letters, digits, _), e.g. RAM2")
        return name
    ram = [r["name"] for r in regions if r["kind"] == "ram"]
    for r in regions:
        if r["name"].upper() == name.upper():
            if r["kind"] != "ram":
                raise TinygenError(f"--arena-region {name}: {r['name']} is a {r['kind']} region "
                                   f"of {target['name']}; its RAM regions are {', '.join(ram)}")
            return r["name"]
    raise TinygenError(f"--arena-region {name}: {target['name']} has no memory region of that "
                       f"name; its RAM regions are {', '.join(ram)} (see targets/"
                       f"{target['name']}.toml)")


def describe_region(r: dict) -> str:
    """'RAM3 (0x20040000, 393,216 bytes, SRAM3)'."""
    extra = f", {r['note']}" if r.get("note") else ""
    ext = ", external" if r.get("external") else ""
    return f"{r['name']} (0x{r['origin']:08X}, {r['size']:,} bytes{extra}{ext})"


def region_usage(report: dict, target: dict) -> list[dict] | None:
    """What the model puts in each region of a board (None for a core).

    Default flash region: code, constants, .data images.  Default RAM region: the other static
    data, the caller's input/output buffers (static, in .bss), the stack (the inference's
    depth, at least the linker script's minimum) and the heap the linker script reserves.
    The arena: its region (--arena-region), else the default RAM region."""
    regions = memory_regions(target)
    if not regions:
        return None
    flash, ram = default_region(target, "flash"), default_region(target, "ram")
    arena_name = target.get("arena_region") or (ram["name"] if ram else None)
    f, m = report["flash"], report["ram"]
    about = "" if report["method"] == "measured" else "about "
    parts: dict[str, list[tuple[str, int]]] = {r["name"]: [] for r in regions}
    if flash:
        parts[flash["name"]] += [("code", f["code"]), ("constants", f["constants"])]
        if f["data_init"]:
            parts[flash["name"]].append(("initialized data", f["data_init"]))
    if ram:
        p = parts[ram["name"]]
        if m["static"]:
            p.append(("other static data", m["static"]))
        p.append(("input/output buffers", m["io_buffers"]))
        min_stack = int(target.get("min_stack_bytes", 0))
        stack_about = "" if m["stack_exact"] else "about "
        if min_stack > m["stack"]:
            p.append((f"stack (the linker script's minimum; the inference needs "
                      f"{stack_about}{m['stack']:,})", min_stack))
        else:
            p.append((f"stack {stack_about}".rstrip(), m["stack"]))
        if target.get("heap_bytes"):
            p.append(("heap reserved by the linker script", int(target["heap_bytes"])))
    if arena_name in parts:
        parts[arena_name].insert(0, ("arena", m["arena"]))
    out = []
    for r in regions:
        used = sum(b for _, b in parts[r["name"]])
        out.append(dict(r, used=used, free=r["size"] - used,
                        holds=", ".join(w for w, _ in parts[r["name"]]),
                        parts=[dict(what=w, bytes=b) for w, b in parts[r["name"]]],
                        arena=r["name"] == arena_name,
                        estimated=bool(about)))
    return out


def fit_problems(report: dict, target: dict) -> tuple[list[str], list[str]]:
    """(problems, advice) for a board whose regions cannot hold the model: each problem names
    the region, what goes there and by how many bytes it overflows."""
    usage = (report.get("board") or {}).get("regions")
    if not usage:
        return [], []
    how = "measured" if report["method"] == "measured" else "estimated"
    problems, advice = [], []
    arena_bytes = report["ram"]["arena"]
    for r in usage:
        if r["free"] >= 0:
            continue
        what = " + ".join(f"{p['what']} {p['bytes']:,}" for p in r["parts"])
        role = []
        if r["default"]:
            role.append("code and constants" if r["kind"] == "flash"
                        else ".data/.bss/stack in the vendor's linker script")
        if r["arena"] and not r["default"]:
            role.append(f"the arena, --arena-region {r['name']}")
        label = "flash" if r["kind"] == "flash" else "RAM"
        problems.append(
            f"{label}: the model needs {r['used']:,} bytes ({how}: {what}) in region "
            f"{r['name']} (0x{r['origin']:08X}" + (f", {'; '.join(role)}" if role else "") +
            f"), which has {r['size']:,}: {-r['free']:,} bytes too many")
        if r["arena"] and r["kind"] == "ram":
            room = [o for o in usage if o["kind"] == "ram" and not o["arena"]
                    and o["free"] >= arena_bytes]
            if room:
                best = sorted(room, key=lambda o: (o["external"], -o["free"]))
                advice.append(
                    f"The arena ({arena_bytes:,} bytes) fits in " +
                    ", ".join(f"{o['name']} ({o['free']:,} bytes free"
                              f"{', external' if o['external'] else ''})" for o in best) +
                    f": place it there with --arena-region {best[0]['name']} (the generated "
                    "README shows the linker-script lines).")
            elif any(o["kind"] == "ram" and not o["arena"] for o in usage):
                advice.append(f"No other RAM region of {target['name']} has room for the arena "
                              f"({arena_bytes:,} bytes).")
        if r["kind"] == "flash" and r["default"] and \
                any(o["kind"] == "flash" and not o["default"] for o in usage):
            advice.append("The weights can go to another flash region with TG_WEIGHTS_SECTION "
                          "(see the generated README).")
    return problems, advice


def placement_context(target: dict) -> dict:
    """Template keys: the arena's region and section, the board's regions (README)."""
    name = target.get("arena_region")
    regions = memory_regions(target)
    region = next((r for r in regions if r["name"] == name), None)
    ram, flash = default_region(target, "ram"), default_region(target, "flash")
    others = [r for r in regions if r["kind"] == "ram" and not r["default"]]
    # the region of the README's example lines: the arena's, else another RAM region
    shown = name or (others[0]["name"] if others else "RAM2")
    return dict(
        arena_region=name,
        arena_section=arena_section(name) if name else None,
        arena_region_info=region,
        example_region=shown,
        example_section=arena_section(shown),
        arena_output_section=f".{shown.lower()}_arena",
        memory_regions=regions,
        default_ram_region=ram["name"] if ram else None,
        default_flash_region=flash["name"] if flash else None,
        other_ram_regions=others,
        other_flash_regions=[r for r in regions if r["kind"] == "flash" and not r["default"]],
    )
