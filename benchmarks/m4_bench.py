#!/usr/bin/env python3
"""Benchmark generated models on the emulated Cortex-M4 (QEMU mps2-an386).

For each model: generate for cortex-m4 (portable kernels, or CMSIS-NN with
--cmsis-nn), cross-compile with arm-none-eabi-gcc -O2, link a program that runs
one warm inference between ../shared/tools/m4's benchmark markers, and count it
with ../shared/tools/m4run.  Prints a table a person can read and, with --json,
writes the same figures for scripts.

    python3 benchmarks/m4_bench.py                       # every model in ../shared/models
    python3 benchmarks/m4_bench.py mlperf_kws_dscnn --cmsis-nn $CMSIS_NN_PATH --json out.json

Figures:
  instructions, ~cycles  one inference (m4run's Cortex-M4 model, zero-wait-state memory)
  arena / lower bound    activation arena bytes against the best any placement can do
  ram                    the library's .data + .bss (arena and state included), stack excluded
  ram+io                 ram plus the caller's input and output buffers (none with
                         --io-in-arena: the bench passes <name>_input(i)/<name>_output(i))
  flash                  the library's .text + .rodata + .data (code and constants),
                         startup and C library excluded; const = weights and tables alone
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codegen.toolchain import cortexm  # noqa: E402
from codegen.errors import TinygenError  # noqa: E402
from codegen.generate import generate  # noqa: E402
from codegen.targets import load_target  # noqa: E402

SHARED = ROOT.parent / "shared"
M4 = SHARED / "tools" / "m4"
M4RUN = SHARED / "tools" / "m4run"

BENCH_MAIN = """\
#include "tg_m4.h"
#include "{header}"

{buffers}
int main(void)
{{
    int status = {call};           /* warm-up: caches nothing, but keeps runs alike */
    tg_bench_begin();
    status |= {call};
    tg_bench_end();
    return status;
}}
"""


def _bench_main(man: dict) -> str:
    bufs, args = [], []
    ctypes = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "float32": "float",
              "int32": "int32_t"}
    for kind, ios in (("in", man["inputs"]), ("out", man["outputs"])):
        for k, io in enumerate(ios):
            if man.get("io_in_arena"):       # the arena's bytes for it
                const = "const " if kind == "in" else ""
                getter = man["io_pointers"]["input" if kind == "in" else "output"]
                args.append(f"({const}{ctypes[io['dtype']]} *){getter}({k}u)")
                continue
            n = 1
            for d in io["shape"]:
                n *= d
            bufs.append(f"static {ctypes[io['dtype']]} {kind}{k}[{n}];")
            args.append(f"{kind}{k}")
    return BENCH_MAIN.format(header=man["header"], buffers="\n".join(bufs),
                             call=f"{man['invoke']}({', '.join(args)})")


def _sizes(objs: list[Path]) -> dict:
    out = subprocess.run([cortexm.PREFIX + "size", "-A", *map(str, objs)], capture_output=True,
                         text=True, check=True).stdout
    text = rodata = data = bss = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        sec, size = parts[0], int(parts[1])
        if sec.startswith(".text"):
            text += size
        elif sec.startswith(".rodata"):
            rodata += size
        elif sec.startswith(".data"):
            data += size
        elif sec.startswith(".bss") or sec.startswith("COMMON"):
            bss += size
    return dict(text=text, rodata=rodata, data=data, bss=bss)


def _io_bytes(man: dict) -> int:
    """The caller's input and output buffers (none when the arena holds them)."""
    if man.get("io_in_arena"):
        return 0
    size = {"int8": 1, "uint8": 1, "int16": 2, "float32": 4, "int32": 4}
    total = 0
    for io in man["inputs"] + man["outputs"]:
        n = size[io["dtype"]]
        for d in io["shape"]:
            n *= d
        total += n
    return total


def bench(model: Path, cmsis_nn: str | None, work: Path, io_in_arena: bool = False) -> dict:
    out = work / "project"
    gen = generate(model, out, target="cortex-m4", cmsis_nn=cmsis_nn, force=True,
                   io_in_arena=io_in_arena)
    man = json.loads((out / "tinygen.json").read_text())
    target = load_target("cortex-m4")
    cmsis = cortexm.CmsisNNSources.of(man, cmsis_nn)
    lib = [s for s in man["sources"] if "selftest" not in s and "example" not in s]
    objs = cortexm.compile_objects(out, lib, work / "lib", target, cmsis=cmsis)
    if cmsis:
        objs += cortexm.compile_cmsis_nn(cmsis, work / "cmsis", target)
    sizes = _sizes(objs)
    main_c = work / "bench_main.c"
    main_c.write_text(_bench_main(man))
    elf = work / "bench.elf"
    flags = [*target["cpu_flags"], "-O2", "-ffunction-sections", "-fdata-sections"]
    subprocess.run([cortexm.PREFIX + "gcc", *flags, f"-I{M4}", f"-I{out}",
                    *(cmsis.include_flags if cmsis else []), str(main_c), str(M4 / "startup.c"),
                    *map(str, objs), "-T", str(M4 / "m4.ld"), "-nostartfiles",
                    "--specs=nano.specs", "-Wl,--gc-sections", "-lm", "-o", str(elf)],
                   check=True, capture_output=True)
    counts = work / "counts.json"
    r = subprocess.run([sys.executable, str(M4RUN), "--quiet", "--json", str(counts), str(elf)],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise TinygenError(f"m4run failed ({r.returncode}): {r.stderr[-500:]}")
    c = json.loads(counts.read_text())
    region = c["regions"][0] if c.get("regions") else c
    return dict(
        model=model.stem, kernels="cmsis-nn" if cmsis else "portable",
        macs=man["macs"], instructions=region.get("instructions"), cycles=region.get("cycles_approx"),
        arena=man["arena_bytes"], lower_bound=man["arena_lower_bound"], state=man["state_bytes"],
        ram=sizes["data"] + sizes["bss"],     # the library's statics: arena and state included
        ram_io=sizes["data"] + sizes["bss"] + _io_bytes(man),
        flash=sizes["text"] + sizes["rodata"] + sizes["data"], const=man["const_bytes"],
        layers=len(gen.program.layers))


def table(rows: list[dict]) -> str:
    head = ["model", "kernels", "MACs", "instructions", "~cycles", "cyc/MAC", "arena",
            "lower bd", "RAM", "RAM+I/O", "flash", "of it const"]
    lines = [head]
    for r in rows:
        if "error" in r:
            lines.append([r["model"], r.get("kernels", ""), "error: " + r["error"][:60]] +
                         [""] * (len(head) - 3))
            continue
        cpm = f"{r['cycles'] / r['macs']:.2f}" if r["cycles"] and r["macs"] > 1e5 else "-"
        lines.append([r["model"], r["kernels"], f"{r['macs'] / 1e6:.2f} M",
                      f"{r['instructions']:,}", f"{r['cycles']:,}" if r["cycles"] else "-", cpm,
                      f"{r['arena']:,}", f"{r['lower_bound']:,}", f"{r['ram']:,}",
                      f"{r['ram_io']:,}", f"{r['flash']:,}", f"{r['const']:,}"])
    w = [max(len(str(x[i])) for x in lines) for i in range(len(head))]
    out = []
    for k, x in enumerate(lines):
        out.append("  ".join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i])
                             for i, c in enumerate(x)))
        if k == 0:
            out.append("  ".join("-" * n for n in w))
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="model stems or .tflite paths (default: all shared)")
    ap.add_argument("--cmsis-nn", metavar="PATH", help="also generate with this CMSIS-NN")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--io-in-arena", action="store_true",
                    help="generate with --io-in-arena (inputs and outputs in the arena)")
    args = ap.parse_args()
    if not M4RUN.is_file():
        print(f"m4run not found at {M4RUN}", file=sys.stderr)
        return 2
    paths = [Path(m) if m.endswith(".tflite") else SHARED / "models" / f"{m}.tflite"
             for m in args.models] or sorted((SHARED / "models").glob("*.tflite"))
    rows = []
    for p in paths:
        for lib in ([None, args.cmsis_nn] if args.cmsis_nn else [None]):
            with tempfile.TemporaryDirectory(prefix="tinygen-bench-") as tmp:
                try:
                    row = bench(p, lib, Path(tmp), io_in_arena=args.io_in_arena)
                except (TinygenError, subprocess.CalledProcessError) as e:
                    row = dict(model=p.stem, kernels="cmsis-nn" if lib else "portable",
                               error=str(e).splitlines()[0])
            rows.append(row)
            print(f"  measured {row['model']} ({row['kernels']})", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
