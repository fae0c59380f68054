#!/usr/bin/env python3
"""Benchmark generated models on the emulated Cortex-M4 (QEMU mps2-an386).

For each model and kernel set: generate for cortex-m4, cross-compile with
arm-none-eabi-gcc -O2, link a program that runs one warm inference between
../shared/tools/m4's benchmark markers, and count it with ../shared/tools/m4run.
Prints a table a person can read and, with --json, writes the same figures for
scripts; --markdown FILE writes the table with the cycles each kernel function
took (m4run --profile) and TFLM + CMSIS-NN's cycles from ../shared/benchmarks.md.

Kernel sets (--sets, default portable,dsp, plus cmsis-nn,dsp+cmsis-nn with --cmsis-nn):
  portable      tinygen's portable kernels only (--kernels portable)
  dsp           the Cortex-M4 default: tinygen's DSP-extension kernels, then portable
  cmsis-nn      CMSIS-NN first, then portable (--kernels cmsis-nn,portable)
  dsp+cmsis-nn  --cmsis-nn PATH as a user gets it: tinygen's dsp kernels first, CMSIS-NN
                for the rest, then portable

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
from codegen.encoding import parse_compress  # noqa: E402
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


SETS = {   # kernel set -> (uses CMSIS-NN, kernel preference or None for the default)
    "portable": (False, ["portable"]),
    "dsp": (False, None),
    "cmsis-nn": (True, ["cmsis-nn", "portable"]),
    "dsp+cmsis-nn": (True, None),
}


def bench(model: Path, kset: str, cmsis_path: str | None, work: Path,
          profile: int = 0, io_in_arena: bool = False, compress: tuple = ()) -> dict:
    use_cmsis, kernels = SETS[kset]
    cmsis_nn = cmsis_path if use_cmsis else None
    out = work / "project"
    gen = generate(model, out, target="cortex-m4", cmsis_nn=cmsis_nn, kernels=kernels,
                   force=True, io_in_arena=io_in_arena, compress=compress)
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
    r = subprocess.run([sys.executable, str(M4RUN), "--quiet", "--json", str(counts),
                        *(["--profile", str(profile)] if profile else []), str(elf)],
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        raise TinygenError(f"m4run failed ({r.returncode}): {r.stderr[-500:]}")
    c = json.loads(counts.read_text())
    region = c["regions"][0] if c.get("regions") else c
    return dict(
        model=model.stem, kernels=kset,
        variants=_variant_counts(man), functions=region.get("functions") or region.get("profile"),
        macs=man["macs"], instructions=region.get("instructions"), cycles=region.get("cycles_approx"),
        arena=man["arena_bytes"], lower_bound=man["arena_lower_bound"], state=man["state_bytes"],
        ram=sizes["data"] + sizes["bss"],     # the library's statics: arena and state included
        ram_io=sizes["data"] + sizes["bss"] + _io_bytes(man),
        flash=sizes["text"] + sizes["rodata"] + sizes["data"], const=man["const_bytes"],
        layers=len(gen.program.layers))


def _variant_counts(man: dict) -> dict:
    counts: dict = {}
    for layer in man.get("layers", []):
        v = layer.get("variant", "?")
        counts[v] = counts.get(v, 0) + 1
    return counts


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


def tflm_figures(path: Path = SHARED / "benchmarks.md") -> dict:
    """TFLM + CMSIS-NN's ~cycles and code bytes per model, from ../shared/benchmarks.md."""
    out: dict = {}
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[4].replace(",", "").isdigit():
            out[cells[0]] = dict(cycles=int(cells[4].replace(",", "")),
                                 code=int(cells[7].replace(",", "")))
    return out


def markdown(rows: list[dict], argv: list[str]) -> str:
    """The results as Markdown: one row per model and kernel set, with TFLM + CMSIS-NN's
    cycles beside them, then the cycles per kernel function (m4run --profile)."""
    tflm = tflm_figures()
    lines = ["# Cortex-M4 benchmark results", "",
             f"Written by `python3 benchmarks/m4_bench.py {' '.join(argv)}` (do not edit: "
             "rerun it). Modelled cycles of one warm inference on the emulated Cortex-M4F "
             "(`../shared/tools/m4run`, deterministic); TFLM + CMSIS-NN from "
             "`../shared/benchmarks.md`; code = flash minus constants; layers = how many "
             "layers each kernel variant runs.", "",
             "| model | kernels | MACs | ~cycles | cyc/MAC | vs TFLM+CMSIS-NN | code bytes | "
             "TFLM+CMSIS-NN code | layers |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['model']} | {r['kernels']} | error: {r['error'][:80]} "
                         "| | | | | | |")
            continue
        t = tflm.get(r["model"], {})
        cpm = f"{r['cycles'] / r['macs']:.2f}" if r["cycles"] and r["macs"] > 1e5 else "-"
        ratio = f"{r['cycles'] / t['cycles']:.2f}x" if t and r["cycles"] else "-"
        layers = ", ".join(f"{v} {n}" for v, n in sorted(r.get("variants", {}).items()))
        lines.append(f"| {r['model']} | {r['kernels']} | {r['macs'] / 1e6:.2f} M | "
                     f"{r['cycles']:,} | {cpm} | {ratio} | {r['flash'] - r['const']:,} | "
                     f"{t['code']:,} | {layers} |" if t else
                     f"| {r['model']} | {r['kernels']} | {r['macs'] / 1e6:.2f} M | "
                     f"{r['cycles']:,} | {cpm} | - | {r['flash'] - r['const']:,} | - | "
                     f"{layers} |")
    prof = [r for r in rows if r.get("functions")]
    if prof:
        lines += ["", "## Cycles per kernel function", "",
                  "| model | kernels | function | ~cycles | share |", "|---|---|---|---|---|"]
        for r in prof:
            for f in r["functions"]:
                if f.get("cycles_approx") and f["cycles_approx"] >= 0.01 * r["cycles"]:
                    lines.append(f"| {r['model']} | {r['kernels']} | `{f['name']}` | "
                                 f"{f['cycles_approx']:,} | "
                                 f"{100 * f['cycles_approx'] / r['cycles']:.0f}% |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("models", nargs="*", help="model stems or .tflite paths (default: all shared)")
    ap.add_argument("--cmsis-nn", metavar="PATH", help="also generate with this CMSIS-NN")
    ap.add_argument("--sets", metavar="LIST",
                    help="kernel sets to measure, comma-separated (default: portable,dsp, "
                         "and cmsis-nn,dsp+cmsis-nn with --cmsis-nn)")
    ap.add_argument("--profile", type=int, default=12, metavar="N",
                    help="cycles of the N busiest functions (default 12; 0: none)")
    ap.add_argument("--json", metavar="FILE", help="write the figures as JSON")
    ap.add_argument("--io-in-arena", action="store_true",
                    help="generate with --io-in-arena (inputs and outputs in the arena)")
    ap.add_argument("--markdown", metavar="FILE", help="write the results as Markdown "
                    "(benchmarks/RESULTS.md)")
    ap.add_argument("--compress", metavar="auto|none|LIST", default="none",
                    help="generate with --compress (lossless filter encodings; default none)")
    args = ap.parse_args()
    compress = parse_compress(args.compress)
    if not M4RUN.is_file():
        print(f"m4run not found at {M4RUN}", file=sys.stderr)
        return 2
    sets = (args.sets.split(",") if args.sets else
            ["portable", "dsp"] + (["cmsis-nn", "dsp+cmsis-nn"] if args.cmsis_nn else []))
    bad = [k for k in sets if k not in SETS or (SETS[k][0] and not args.cmsis_nn)]
    if bad:
        print(f"unknown kernel set, or one needing --cmsis-nn: {', '.join(bad)} "
              f"(sets: {', '.join(SETS)})", file=sys.stderr)
        return 2
    paths = [Path(m) if m.endswith(".tflite") else SHARED / "models" / f"{m}.tflite"
             for m in args.models] or sorted((SHARED / "models").glob("*.tflite"))
    rows = []
    for p in paths:
        for kset in sets:
            with tempfile.TemporaryDirectory(prefix="tinygen-bench-") as tmp:
                try:
                    row = bench(p, kset, args.cmsis_nn, Path(tmp), profile=args.profile,
                                io_in_arena=args.io_in_arena, compress=compress)
                except (TinygenError, subprocess.CalledProcessError) as e:
                    row = dict(model=p.stem, kernels=kset, error=str(e).splitlines()[0])
            rows.append(row)
            print(f"  measured {row['model']} ({row['kernels']})", file=sys.stderr, flush=True)
    print(table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    if args.markdown:
        argv, skip = [], False
        for a in sys.argv[1:]:       # the command line, without the JSON file's name
            if skip or a == "--json" or a.startswith("--json="):
                skip = a == "--json" and not skip
                continue
            argv.append("$CMSIS_NN_PATH" if args.cmsis_nn and a == args.cmsis_nn else a)
        Path(args.markdown).write_text(markdown(rows, argv))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
