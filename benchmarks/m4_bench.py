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
  arena / lower bound    activation arena bytes against the operator-by-operator bound
                         (the best with every tensor in its own bytes; in-place layers
                         take the arena below it)
  op-by-op RAM+I/O, ~cycles  the same model generated with --no-in-place
                         --no-fuse-residual (a third build; --no-op-by-op skips it): what
                         the in-place overlaps and fused blocks save, and what they cost
  ram                    the library's .data + .bss (arena and state included), stack excluded
  ram+io                 ram plus the caller's input and output buffers (none with
                         --io-in-arena: the bench passes <name>_input(i)/<name>_output(i))
  flash                  what the library adds to a firmware image: the .text, .rodata and
                         .data input sections a link with --gc-sections keeps of the
                         library's objects and of the C library functions they pull in
                         (memcpy, ...), the application calling the model's public
                         functions; startup and harness excluded; from the linker map
                         (codegen/toolchain/linksize.py: tinygen's own memory report
                         measures the same).  const = the model's data: its weights and
                         tables (<name>_data.c) and its layer descriptors (the const
                         params structs of <name>.c, JSON descriptors), as TFLM's figure
                         leaves out the flatbuffer that holds both for TFLM;
                         code = flash - const, TFLM + CMSIS-NN's "code bytes" beside it.
                         The JSON's flash_objects is the older measure, every section of
                         the library's object files (functions the link drops included)
  per layer              ~cycles of each layer and its cycles per MAC, from a second build
                         (generated with --profile) whose per-layer timer reads mark m4run
                         regions (--no-layers skips it)
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

from codegen.toolchain import cortexm, linksize  # noqa: E402
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


# The per-layer build (generated with --profile): the generated code reads
# TG_PROFILE_TIMER() before the first layer and after each one; here every read closes one
# m4run region and opens the next, so region k is layer k (plus the marker call, a few
# cycles: the per-layer figures add up to the whole inference within ~20 cycles a layer).
LAYER_PROFILE_H = """\
#ifndef BENCH_LAYERS_H
#define BENCH_LAYERS_H
#include <stdint.h>
uint32_t tg_bench_layer_mark(void);
#define TG_PROFILE_TIMER() tg_bench_layer_mark()
#define TG_PROFILE_TIMER_INIT() ((void)0)
#define TG_PROFILE_UNIT "m4run regions"
#endif
"""

LAYER_MARKS = """\
static int tg_bench_on, tg_bench_open;

uint32_t tg_bench_layer_mark(void);
uint32_t tg_bench_layer_mark(void)
{
    if (tg_bench_on) {
        if (tg_bench_open) {
            tg_bench_end();
        }
        tg_bench_begin();
        tg_bench_open = 1;
    }
    return 0u;
}
"""

BENCH_LAYERS_MAIN = """\
#include "tg_m4.h"
#include "{header}"

{buffers}
{marks}
int main(void)
{{
    int status = {call};           /* warm-up, unmeasured */
    tg_bench_on = 1;
    status |= {call};
    tg_bench_end();
    return status;
}}
"""


def _bench_main(man: dict, per_layer: bool = False) -> str:
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
    call = f"{man['invoke']}({', '.join(args)})"
    if per_layer:
        return BENCH_LAYERS_MAIN.format(header=man["header"], buffers="\n".join(bufs),
                                        marks=LAYER_MARKS, call=call)
    return BENCH_MAIN.format(header=man["header"], buffers="\n".join(bufs), call=call)


def _linked_sizes(objs: list[Path], model_obj: Path, work: Path, target: dict) -> dict:
    """What the library adds to the image (linksize.linked_sizes: the sections a
    --gc-sections link keeps, the model's public functions called)."""
    files = linksize.linked_sizes(objs, target, work / "linksize",
                                  linksize.defined_globals(model_obj))
    t = linksize.total(files)
    model = files.get(str(model_obj))
    return dict(text=t.code, rodata=t.rodata, data=t.data, bss=t.bss,
                descriptors=model.rodata if model is not None else 0)


def _sizes(objs: list[Path]) -> dict:
    """Every section of the object files (the older measure: JSON flash_objects)."""
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


# more arguments of generate() for every build (--no-fuse-residual)
GENERATE_OPTIONS: dict = {}


def _build_and_count(model: Path, work: Path, cmsis_nn: str | None, kernels, io_in_arena: bool,
                     profile: int, per_layer: bool, compress: tuple = (),
                     layer_compress: dict | None = None,
                     in_place: bool = True, options: dict | None = None) -> tuple:
    """Generate, cross-compile, link and run under m4run: (gen, manifest, sizes, regions)."""
    out = work / "project"
    gen = generate(model, out, target="cortex-m4", cmsis_nn=cmsis_nn, kernels=kernels,
                   force=True, io_in_arena=io_in_arena, profile=per_layer, compress=compress,
                   layer_compress=layer_compress, in_place=in_place,
                   **{**GENERATE_OPTIONS, **(options or {})})
    man = json.loads((out / "tinygen.json").read_text())
    target = load_target("cortex-m4")
    cmsis = cortexm.CmsisNNSources.of(man, cmsis_nn)
    lib = [s for s in man["sources"] if "selftest" not in s and "example" not in s]
    extra = []
    if per_layer:
        (work / "bench_layers.h").write_text(LAYER_PROFILE_H)
        extra = [f"-I{work}", '-DTG_PROFILE_CONFIG="bench_layers.h"']
    objs = cortexm.compile_objects(out, lib, work / "lib", target, extra_flags=extra,
                                   cmsis=cmsis)
    if cmsis:
        objs += cortexm.compile_cmsis_nn(cmsis, work / "cmsis", target)
    objects = _sizes(objs)
    if per_layer:   # its marks call the harness: no library of its own, and no size used
        sizes = dict(objects, descriptors=0)
    else:
        sizes = _linked_sizes(objs, work / "lib" / f"{man['name']}.o", work, target)
    sizes["flash_objects"] = sum(v for k, v in objects.items() if k != "bss")
    main_c = work / "bench_main.c"
    main_c.write_text(_bench_main(man, per_layer))
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
    return gen, man, sizes, c.get("regions") or [c]


def _per_layer(gen, regions: list[dict]) -> list[dict]:
    """One row per emitted layer: region k of the per-layer build is layer k."""
    rows = []
    for layer, region in zip(gen.program.layers, regions):
        call = layer.call
        rows.append(dict(index=layer.index, op=call.op.opcode, kernel=call.kernel,
                         variant=call.variant, macs=call.macs,
                         cycles=region.get("cycles_approx"),
                         instructions=region.get("instructions")))
    return rows


def bench(model: Path, kset: str, cmsis_path: str | None, work: Path,
          profile: int = 0, io_in_arena: bool = False, per_layer: bool = True,
          compress: tuple = (), layer_compress: dict | None = None,
          op_by_op: bool = True) -> dict:
    use_cmsis, kernels = SETS[kset]
    cmsis_nn = cmsis_path if use_cmsis else None
    gen, man, sizes, regions = _build_and_count(model, work / "whole", cmsis_nn, kernels,
                                                io_in_arena, profile, per_layer=False,
                                                compress=compress, layer_compress=layer_compress)
    region = regions[0]
    layers = []
    if per_layer:
        lgen, _, _, lregions = _build_and_count(model, work / "layers", cmsis_nn, kernels,
                                                io_in_arena, 0, per_layer=True,
                                                compress=compress, layer_compress=layer_compress)
        layers = _per_layer(lgen, lregions)
    obo = {}
    if op_by_op:       # the same planned operator by operator: no in-place overlaps, no
        # fused residual blocks (RAM and cycles to compare)
        _, oman, osizes, oregions = _build_and_count(model, work / "obo", cmsis_nn, kernels,
                                                      io_in_arena, 0, per_layer=False,
                                                      compress=compress,
                                                      layer_compress=layer_compress,
                                                      in_place=False,
                                                      options={"fuse_residual": False})
        obo = dict(ram_io_obo=osizes["data"] + osizes["bss"] + _io_bytes(oman),
                   cycles_obo=oregions[0].get("cycles_approx"))
    return dict(**obo,
        layer_cycles=layers, model=model.stem, kernels=kset,
        variants=_variant_counts(man), functions=region.get("functions") or region.get("profile"),
        macs=man["macs"], instructions=region.get("instructions"), cycles=region.get("cycles_approx"),
        arena=man["arena_bytes"], lower_bound=man["arena_lower_bound"], state=man["state_bytes"],
        ram=sizes["data"] + sizes["bss"],     # the library's statics: arena and state included
        ram_io=sizes["data"] + sizes["bss"] + _io_bytes(man),
        flash=sizes["text"] + sizes["rodata"] + sizes["data"],
        const=man["const_bytes"] + sizes["descriptors"], weights=man["const_bytes"],
        descriptors=sizes["descriptors"], flash_objects=sizes["flash_objects"],
        layers=len(gen.program.layers))


def _variant_counts(man: dict) -> dict:
    counts: dict = {}
    for layer in man.get("layers", []):
        v = layer.get("variant", "?")
        counts[v] = counts.get(v, 0) + 1
    return counts


def table(rows: list[dict]) -> str:
    head = ["model", "kernels", "MACs", "instructions", "~cycles", "cyc/MAC", "arena",
            "lower bd", "RAM", "RAM+I/O", "flash", "of it const", "op-by-op RAM+I/O",
            "~cycles"]
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
                      f"{r['ram_io']:,}", f"{r['flash']:,}", f"{r['const']:,}",
                      f"{r['ram_io_obo']:,}" if "ram_io_obo" in r else "-",
                      f"{r['cycles_obo']:,}" if r.get("cycles_obo") else "-"])
    w = [max(len(str(x[i])) for x in lines) for i in range(len(head))]
    out = []
    for k, x in enumerate(lines):
        out.append("  ".join(str(c).ljust(w[i]) if i < 2 else str(c).rjust(w[i])
                             for i, c in enumerate(x)))
        if k == 0:
            out.append("  ".join("-" * n for n in w))
    return "\n".join(out)


def layer_grid(rows: list[dict]) -> dict:
    """model -> (kernel sets, one row per layer: index, op, MACs, {set: (cycles, variant)})."""
    grid: dict = {}
    for r in rows:
        if "error" in r or not r.get("layer_cycles"):
            continue
        sets, layers = grid.setdefault(r["model"], ([], {}))
        sets.append(r["kernels"])
        for L in r["layer_cycles"]:
            row = layers.setdefault(L["index"], dict(index=L["index"], op=L["op"],
                                                     macs=L["macs"], by_set={}))
            row["by_set"][r["kernels"]] = (L["cycles"], L["variant"])
    return {m: (sets, [layers[k] for k in sorted(layers)]) for m, (sets, layers) in grid.items()}


def _layer_cells(row: dict, sets: list[str]) -> list[str]:
    cells = [str(row["index"]), row["op"], f"{row['macs']:,}"]
    for k in sets:
        cyc, variant = row["by_set"].get(k, (None, ""))
        if cyc is None:
            cells.append("-")
            continue
        cpm = f" ({cyc / row['macs']:.2f}/MAC)" if row["macs"] >= 1000 else ""
        cells.append(f"{cyc:,} {variant}{cpm}")
    return cells


def layer_table(rows: list[dict]) -> str:
    """Per-layer cycles, one block per model, a column per kernel set (plain text)."""
    out = []
    for model, (sets, layers) in layer_grid(rows).items():
        lines = [["layer", "op", "MACs", *sets]] + [_layer_cells(r, sets) for r in layers]
        w = [max(len(x[i]) for x in lines) for i in range(len(lines[0]))]
        out.append(f"\n{model}: ~cycles per layer (kernel variant, cycles per MAC)")
        for k, x in enumerate(lines):
            out.append("  ".join(c.ljust(w[i]) if i < 2 else c.rjust(w[i])
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
                                 ram=int(cells[6].replace(",", "")),
                                 code=int(cells[7].replace(",", "")))
    return out


def geomean_summary(rows: list[dict], tflm: dict) -> list[dict]:
    """Per kernel set, over the measured models TFLM + CMSIS-NN has figures for: the geometric
    means of tinygen / TFLM + CMSIS-NN for cycles, RAM (+ I/O) and code bytes."""
    import math
    by_set: dict = {}
    for r in rows:
        t = tflm.get(r["model"])
        if "error" in r or not t or not r.get("cycles"):
            continue
        by_set.setdefault(r["kernels"], []).append(
            (r["cycles"] / t["cycles"], r["ram_io"] / t["ram"], (r["flash"] - r["const"]) / t["code"]))
    out = []
    for kset, ratios in by_set.items():
        gm = [math.exp(sum(math.log(x[k]) for x in ratios) / len(ratios)) for k in range(3)]
        out.append(dict(kernels=kset, models=len(ratios), cycles=gm[0], ram=gm[1], code=gm[2]))
    return out


def summary_table(rows: list[dict]) -> str:
    lines = ["", "geometric mean against TFLM + CMSIS-NN (../shared/benchmarks.md):"]
    for g in geomean_summary(rows, tflm_figures()):
        lines.append(f"  {g['kernels']:<13} {g['models']:>2} models: cycles {g['cycles']:.3f}x, "
                     f"RAM+I/O {g['ram']:.3f}x, code {g['code']:.3f}x")
    return "\n".join(lines)


def markdown(rows: list[dict], argv: list[str]) -> str:
    """The results as Markdown: one row per model and kernel set, with TFLM + CMSIS-NN's
    cycles beside them, then the cycles per kernel function (m4run --profile)."""
    tflm = tflm_figures()
    lines = ["# Cortex-M4 benchmark results", "",
             f"Written by `python3 benchmarks/m4_bench.py {' '.join(argv)}` (do not edit: "
             "rerun it). Modelled cycles of one warm inference on the emulated Cortex-M4F "
             "(`../shared/tools/m4run`, deterministic); TFLM + CMSIS-NN from "
             "`../shared/benchmarks.md`; code = flash minus constants (the model's weights "
             "and its const layer descriptors, as TFLM's code figure leaves out the "
             "flatbuffer holding both); layers = how many "
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
    summary = geomean_summary(rows, tflm)
    if summary:
        lines += ["", "## Geometric means against TFLM + CMSIS-NN", "",
                  "Over the models above that `../shared/benchmarks.md` has figures for: "
                  "tinygen's cycles, RAM (library `.data` + `.bss` plus the caller's input and "
                  "output buffers) and code bytes, each divided by TFLM + CMSIS-NN's.", "",
                  "| kernels | models | cycles | RAM + I/O | code |", "|---|---|---|---|---|"]
        lines += [f"| {g['kernels']} | {g['models']} | {g['cycles']:.3f}x | {g['ram']:.3f}x | "
                  f"{g['code']:.3f}x |" for g in summary]
    mem = [r for r in rows if "error" not in r]
    if mem:
        lines += ["", "## RAM", "",
                  "RAM + I/O: the library's `.data` + `.bss` plus the caller's input and output "
                  "buffers (none with `--io-in-arena`). Op-by-op: the same model generated with "
                  "`--no-in-place --no-fuse-residual` (every tensor in its own bytes), its RAM "
                  "+ I/O and ~cycles beside the default's; arena bound: the operator-by-operator "
                  "lower bound of the default build's tensors.", "",
                  "| model | kernels | arena | arena bound | RAM + I/O | op-by-op RAM + I/O | "
                  "TFLM RAM | vs TFLM | ~cycles | op-by-op ~cycles |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in mem:
            t = tflm.get(r["model"], {})
            obo = f"{r['ram_io_obo']:,}" if "ram_io_obo" in r else "-"
            ocyc = f"{r['cycles_obo']:,}" if r.get("cycles_obo") else "-"
            lines.append(f"| {r['model']} | {r['kernels']} | {r['arena']:,} | "
                         f"{r['lower_bound']:,} | {r['ram_io']:,} | {obo} | "
                         + (f"{t['ram']:,} | {r['ram_io'] / t['ram']:.2f}x | " if t else
                            "- | - | ")
                         + f"{r['cycles']:,} | {ocyc} |")
    grid = layer_grid(rows)
    if grid:
        lines += ["", "## Cycles per layer", "",
                  "Each layer's ~cycles, the kernel variant that ran it and its cycles per MAC "
                  "(a build whose per-layer timer reads mark m4run regions; each layer's figure "
                  "includes a marker call of a few cycles)."]
        for model, (sets, layers) in grid.items():
            lines += ["", f"### {model}", "",
                      "| layer | op | MACs | " + " | ".join(sets) + " |",
                      "|---|---|---|" + "---|" * len(sets)]
            lines += ["| " + " | ".join(_layer_cells(r, sets)) + " |" for r in layers]
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
    ap.add_argument("--no-fuse-residual", action="store_true",
                    help="generate with --no-fuse-residual (residual blocks as three layers)")
    ap.add_argument("--no-op-by-op", action="store_true",
                    help="skip the build planned operator by operator (--no-in-place), "
                    "whose RAM+I/O and cycles the table shows next to the default's")
    ap.add_argument("--no-layers", action="store_true",
                    help="skip the per-layer build and run (cycles per layer)")
    ap.add_argument("--markdown", metavar="FILE", help="write the results as Markdown "
                    "(benchmarks/RESULTS.md)")
    ap.add_argument("--compress", metavar="auto|none|LIST", default="none",
                    help="generate with --compress (lossless filter encodings; default none)")
    args = ap.parse_args()
    if args.no_fuse_residual:
        GENERATE_OPTIONS["fuse_residual"] = False
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
                                io_in_arena=args.io_in_arena, per_layer=not args.no_layers,
                                compress=compress, op_by_op=not args.no_op_by_op)
                except (TinygenError, subprocess.CalledProcessError) as e:
                    row = dict(model=p.stem, kernels=kset, error=str(e).splitlines()[0])
            rows.append(row)
            print(f"  measured {row['model']} ({row['kernels']})", file=sys.stderr, flush=True)
    print(table(rows))
    print(summary_table(rows))
    if not args.no_layers:
        print(layer_table(rows))
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
