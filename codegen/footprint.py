"""Flash and RAM of a generated model: measured when the Arm toolchain is there, estimated if not.

Flash = code (.text) + constants (.rodata: weights struct, layer params) + .data images,
        as a firmware link with --gc-sections keeps them: what the library adds to an
        image whose application calls the model's public functions, the C library
        functions it pulls in included (codegen/toolchain/linksize.py).
RAM   = the activation arena + other static data (.bss/.data) + the caller's input/output
        buffers + an estimate of the stack the inference needs.
Measured: the library's sources cross-compiled for the target with arm-none-eabi-gcc
(-O2, as the generated Makefile builds them) and linked, sizes from the linker map, stack
from GCC's call-graph information.  Estimated: constants and arena are exact (they
are known at generation time); code and stack come from rough per-kernel figures.
With a board, the report splits this over the board's memory regions (codegen/regions.py),
and `check_fit` turns a region that cannot hold its part into a clear error.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

from codegen.errors import DoesNotFitError, ToolchainError
from codegen.program import Program
from codegen.regions import arena_section, fit_problems, region_usage
from codegen.targets import is_cortex_m
from codegen.toolchain import cortexm

# Estimates used without a toolchain (bytes, Cortex-M4 -O2 ballpark).
CODE_PER_MODULE = {"tg_fully_connected": 340, "tg_copy": 24}
CODE_PER_UNKNOWN_MODULE = 600
CODE_PER_LAYER_CALL = 12
PARAMS_BYTES_PER_FIELD = 4
STACK_ESTIMATE = 256


def io_bytes(program: Program) -> int:
    """The caller's input and output buffers (none with --io-in-arena: the arena has them)."""
    if program.plan.io_in_arena:
        return 0
    g = program.graph
    return sum(g.tensors[t].nbytes for t in dict.fromkeys(list(g.inputs) + list(g.outputs)))


def _estimate(program: Program) -> dict:
    params = sum(PARAMS_BYTES_PER_FIELD * len(layer.call.params) for layer in program.layers
                 if layer.call.params_type)
    code = 64 + CODE_PER_LAYER_CALL * len(program.layers) + sum(
        CODE_PER_MODULE.get(m, CODE_PER_UNKNOWN_MODULE)
        for m in program.runtime_modules if m != "tg_common")
    return dict(code=code, constants=program.const_bytes + params, data=0,
                static=program.plan.state_bytes, stack=STACK_ESTIMATE, stack_exact=False)


def _selftest_estimate(selftest) -> dict:
    """Flash/RAM of the self-test without a toolchain: its arrays, plus a little code."""
    flash = sum(a.nbytes for vec in selftest.inputs + selftest.expected for a in vec)
    ram = sum(a.nbytes for a in selftest.expected[0]) if selftest.expected else 0
    return dict(flash=flash + 200, ram=ram, stack=0)


def footprint(program: Program, files: dict[str, bytes], sources: list[str],
              measure: bool = True, selftest=None, cmsis_nn_root: Path | None = None) -> dict:
    """The memory report written into tinygen.json (`memory`) and printed after generation."""
    target = program.target
    name = program.name
    selftest_sources = [s for s in sources if s == f"{name}_selftest.c"]
    method, tool = "estimated", None
    m = None
    if measure and is_cortex_m(target) and not cortexm.missing_packages(need_qemu=False):
        with tempfile.TemporaryDirectory(prefix="tinygen-measure-") as tmp:
            proj = Path(tmp)
            for rel, data in files.items():
                if rel.endswith((".c", ".h")):
                    (proj / rel).parent.mkdir(parents=True, exist_ok=True)
                    (proj / rel).write_bytes(data)
            entry = program.libraries.get("cmsis_nn")
            cmsis = cortexm.CmsisNNSources(cmsis_nn_root, entry["include_dirs"],
                                           entry["sources"]) if entry and cmsis_nn_root else None
            try:
                m = cortexm.measure_library(proj, sources, target, name, selftest_sources, cmsis,
                                            root_sources=[f"{name}.c"])
            except ToolchainError as e:
                detail = str(e).replace(str(proj) + "/", "").replace(str(proj), ".")
                program.warnings.append("could not measure the library with arm-none-eabi-gcc, "
                                        f"sizes are estimated: {detail}")
    if m is not None:
        lib = list(m["linked"].values())     # what the link keeps (linksize.py)
        est = dict(code=sum(s.code for s in lib), constants=sum(s.rodata for s in lib),
                   data=sum(s.data for s in lib),
                   # the arena is .bss, unless --arena-region put it in a .noinit.* section
                   static=sum(s.data + s.bss for s in lib) -
                   (0 if target.get("arena_region") else program.plan.arena_bytes),
                   stack=m["stack"], stack_exact=m["stack_exact"])
        method, tool = "measured", f"{m['tool']} {m['flags']}"
        if selftest_sources:
            st = m["per_file"][selftest_sources[0]]
            selftest = dict(flash=st.code + st.rodata + st.data, ram=st.data + st.bss,
                            stack=m["selftest_stack"])
    else:
        est = _estimate(program)
        if selftest is not None:
            selftest = _selftest_estimate(selftest)
    flash_total = est["code"] + est["constants"] + est["data"]
    io = io_bytes(program)
    ram_total = program.plan.arena_bytes + est["static"] + io + est["stack"]
    report = dict(
        method=method,
        measured_with=tool,
        flash=dict(code=est["code"], constants=est["constants"], data_init=est["data"],
                   weights=program.const_bytes, total=flash_total),
        ram=dict(arena=program.plan.arena_bytes, arena_lower_bound=program.plan.lower_bound,
                 static=est["static"], io_buffers=io, io_in_arena=program.plan.io_in_arena,
                 stack=est["stack"],
                 stack_exact=est["stack_exact"], total=ram_total),
        macs=program.macs,
        selftest=selftest or None,
        board=None,
    )
    if target.get("arena_region"):
        report["placement"] = dict(arena_region=target["arena_region"],
                                   arena_section=arena_section(target["arena_region"]))
    if target.get("flash_bytes") and target.get("ram_bytes"):
        # the totals (flash_bytes, ram_bytes) are for the report; the fit check uses regions
        report["board"] = dict(name=target["name"], flash_bytes=int(target["flash_bytes"]),
                               ram_bytes=int(target["ram_bytes"]),
                               flash_free=int(target["flash_bytes"]) - flash_total,
                               ram_free=int(target["ram_bytes"]) - ram_total)
        usage = region_usage(report, target)
        if usage:
            report["board"]["regions"] = usage
            report["board"]["arena_region"] = next(r["name"] for r in usage if r["arena"])
    return report


def check_fit(report: dict, target: dict) -> None:
    """Raise DoesNotFitError when a region of the board cannot hold what the model puts there:
    the flash region of code and constants, the RAM region of .data/.bss and the stack (and of
    the arena, unless --arena-region put it elsewhere), as the vendor's linker script has them."""
    board = report.get("board")
    if not board:
        return
    problems, advice = fit_problems(report, target)
    if problems:
        desc = target.get("mcu") or target.get("description", "")
        core = target.get("core_name", "")
        advice.append(("Or choose" if advice else "Choose") +
                      " a board with more memory, a smaller model (fewer or narrower "
                      "layers)" + (f", or generate anyway with --target {core} (no fit check)"
                                   if core else "") + ".")
        raise DoesNotFitError(
            f"the model does not fit {target['name']}" + (f" ({desc})" if desc else "") + ":\n  " +
            "\n  ".join(problems) + "\n" + "\n".join(advice) + "\nNothing was written.")


def _plus(n: int, what: str) -> str:
    return f" + {what} {n:,}" if n else ""


def format_report(report: dict, layers: list[dict]) -> str:
    """The memory part of what `tinygen` prints after generating."""
    f, r = report["flash"], report["ram"]
    how = (f"measured with {report['measured_with']}" if report["method"] == "measured"
           else "estimated: install arm-none-eabi-gcc and generate for a Cortex-M target "
                "to measure")
    lines = [f"  flash: {f['total']:,} bytes = code {f['code']:,} + constants "
             f"{f['constants']:,} (weights {f['weights']:,}){_plus(f['data_init'], 'data')}",
             f"  RAM:   {r['total']:,} bytes = arena {r['arena']:,} (op-by-op bound "
             f"{r['arena_lower_bound']:,}) + static {r['static']:,} + inputs/outputs "
             f"{r['io_buffers']:,}{' (in the arena)' if r.get('io_in_arena') else ''} + stack {'' if r['stack_exact'] else '~'}{r['stack']:,}",
             f"         ({how})"]
    st = report.get("selftest")
    if st:
        lines.append(f"  self-test: {st['flash']:,} bytes of flash, {st['ram']:,} bytes of RAM "
                     "more (not counted above)")
    b = report.get("board")
    if b:
        lines.append(f"  board {b['name']}: flash {f['total']:,} of {b['flash_bytes']:,} bytes "
                     f"({100.0 * f['total'] / b['flash_bytes']:.1f}%), RAM {r['total']:,} of "
                     f"{b['ram_bytes']:,} bytes ({100.0 * r['total'] / b['ram_bytes']:.1f}%)")
        for reg in b.get("regions", []):
            if reg["used"]:
                lines.append(f"    region {reg['name']:8s} {reg['used']:>11,} of {reg['size']:,} "
                             f"bytes ({100.0 * reg['used'] / reg['size']:.1f}%): {reg['holds']}")
    elif report.get("placement"):
        p = report["placement"]
        lines.append(f"  arena in section {p['arena_section']} (region {p['arena_region']}: "
                     "add the linker-script lines of README.md)")
    return "\n".join(lines)
