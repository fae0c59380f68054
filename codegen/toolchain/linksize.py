"""What a library adds to a linked firmware image: its code, constants and data after the
linker's --gc-sections, read from a linker map.

Every firmware build tinygen is compared with links with -ffunction-sections /
-fdata-sections and --gc-sections (STM32CubeIDE's default, TFLM's benchmark build), so a
kernel function no layer reaches costs nothing there.  Summing the sections of the object
files would count it; `linked_sizes` instead links the objects with a one-line `main` as
the entry, the public functions of the model objects (`roots`) kept with `-u`, newlib-nano
and libm as a firmware links them, and reads from the map (`parse_map`) the input sections
the linker kept, per file.  C library members the library pulls in (memcpy, memset, ...)
are counted: they are in the image because of it.  Alignment padding (`*fill*`) is not.

Both `tinygen`'s memory report (codegen/footprint.py, codegen/multi.py) and the Cortex-M4
benchmark (benchmarks/m4_bench.py) measure with this, so they agree.
"""
from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from codegen.errors import ToolchainError

PREFIX = "arm-none-eabi-"
COMPILE_FLAGS = ["-O2", "-ffunction-sections", "-fdata-sections"]


@dataclass
class ObjectSizes:
    code: int = 0        # .text*, .ARM.exidx*
    rodata: int = 0      # .rodata*
    data: int = 0        # .data* (initialized: flash image + RAM)
    bss: int = 0         # .bss*, COMMON


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolchainError(f"{what} failed:\n{' '.join(cmd)}\n{(r.stdout + r.stderr)[-4000:]}")
    return r

STUB_MAIN = "int main(void);\nint main(void)\n{\n    return 0;\n}\n"

_HEADER = "Linker script and memory map"
_INPUT_FULL = re.compile(r"^ (\S+)\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")
_INPUT_NAME = re.compile(r"^ ([^\s*]\S*)\s*$")
_INPUT_REST = re.compile(r"^\s+0x([0-9a-fA-F]+)\s+0x([0-9a-fA-F]+)\s+(\S.*)$")


def section_kind(name: str) -> str | None:
    """The ObjectSizes field an input section counts in (None: not in the image)."""
    if name.startswith((".text", ".ARM.exidx", ".ARM.extab", ".glue_7", ".vfp11_veneer",
                        ".v4_bx", ".iplt")):
        return "code"
    if name.startswith(".rodata"):
        return "rodata"
    if name.startswith(".data"):
        return "data"
    if name.startswith((".bss", "COMMON")):
        return "bss"
    return None


def parse_map(text: str) -> dict[str, ObjectSizes]:
    """{input file: the sizes of its sections the link kept} from a GNU ld map (-Map).

    Reads the "Linker script and memory map" part (the discarded sections are listed
    before it); an input section's line is ` NAME ADDRESS SIZE FILE`, or ` NAME` alone
    when the name is long and the rest on the next line.  Archive members are named
    `archive(member)` as ld writes them; sections of /DISCARD/ are not counted."""
    sizes: dict[str, ObjectSizes] = {}
    lines = text.splitlines()
    try:
        start = lines.index(_HEADER) + 1
    except ValueError:
        raise ValueError("not a GNU ld map: no 'Linker script and memory map' line") from None
    output = ""
    pending = None
    for line in lines[start:]:
        if line and not line[0].isspace():
            output = line.split()[0]        # an output section (or OUTPUT(...), LOAD ...)
            pending = None
            continue
        m = _INPUT_FULL.match(line)
        if m:
            name, size, file = m.group(1), int(m.group(3), 16), m.group(4).strip()
        elif pending and _INPUT_REST.match(line):
            r = _INPUT_REST.match(line)
            name, size, file = pending, int(r.group(2), 16), r.group(3).strip()
        else:
            n = _INPUT_NAME.match(line)
            pending = n.group(1) if n else None
            continue
        pending = None
        kind = section_kind(name)
        if kind is None or output == "/DISCARD/" or name.startswith("*"):
            continue
        s = sizes.setdefault(file, ObjectSizes())
        setattr(s, kind, getattr(s, kind) + size)
    return sizes


def defined_globals(obj: Path) -> list[str]:
    """The external symbols an object defines (functions and data), sorted."""
    r = _run([PREFIX + "nm", "-g", "--defined-only", str(obj)], f"reading {obj.name}'s symbols")
    return sorted({parts[-1] for parts in (line.split() for line in r.stdout.splitlines())
                   if len(parts) >= 3})


def linked_sizes(objects: list[Path], target: dict, build_dir: Path,
                 roots: list[str]) -> dict[str, ObjectSizes]:
    """Link `objects` for `target` as a firmware does (--gc-sections, newlib-nano, libm) with
    an empty main as the entry and `roots` kept (the functions the application calls);
    return {file: kept sizes} for every file but the stub main (parse_map's keys: the
    object paths as given, C library members as `archive(member)`)."""
    build_dir.mkdir(parents=True, exist_ok=True)
    stub = build_dir / "tg_linksize_main.c"
    stub.write_text(STUB_MAIN)
    stub_obj = build_dir / "tg_linksize_main.o"
    _run([PREFIX + "gcc", *target["cpu_flags"], *COMPILE_FLAGS, "-c", str(stub), "-o",
          str(stub_obj)], "compiling the size-measuring stub")
    elf, map_file = build_dir / "tg_linksize.elf", build_dir / "tg_linksize.map"
    _run([PREFIX + "gcc", *target["cpu_flags"], "-nostartfiles", "--specs=nano.specs",
          "-Wl,--gc-sections", "-Wl,-e,main", *[f"-Wl,-u,{r}" for r in roots],
          f"-Wl,-Map={map_file}", str(stub_obj), *map(str, objects), "-lm", "-o", str(elf)],
         "linking the library to measure it")
    sizes = parse_map(map_file.read_text(errors="replace"))
    sizes.pop(str(stub_obj), None)
    return sizes


def total(sizes: dict[str, ObjectSizes]) -> ObjectSizes:
    """The sum of parse_map's per-file sizes."""
    t = ObjectSizes()
    for s in sizes.values():
        t.code += s.code
        t.rodata += s.rodata
        t.data += s.data
        t.bss += s.bss
    return t
