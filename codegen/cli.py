"""The `tinygen` command line."""
from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from codegen import __version__, progress
from codegen.errors import TinygenError

# Each command imports the pipeline it runs when it runs (numpy, jinja2, tflite...), so that
# `tinygen --help` and argument errors answer at once; none of these imports breaks a circle.

GENERATE_HELP = """\
Turn an int8-quantized TensorFlow Lite model into a self-contained C99 project:
one kernel call per layer, weights as const data, every activation in one
static arena planned at generation time. No interpreter, no malloc.

commands:
  tinygen MODEL [options]         generate the C project (the options below)
  tinygen verify MODEL [options]  generate, build and run it on random inputs and
                                  compare every output with TFLM's reference kernels,
                                  on the host or an emulated Cortex-M (QEMU);
                                  see `tinygen verify --help`
  tinygen targets                 list the cores and boards --target/--board accept
  tinygen A.tflite B.tflite ...   several models in one project (one runtime, one arena)
  tinygen runtime -o DIR          every runtime kernel, for models generated --runtime-from DIR

examples:
  tinygen model.tflite -o out/                    generate for the host
  tinygen model.tflite --target cortex-m4 -o out/ generate for a Cortex-M4
  tinygen model.tflite --board nucleo-l4r5zi --selftest 5 -o out/
                                                  for a board: checks that the model
                                                  fits, embeds a golden self-test
  tinygen model.tflite --board nucleo-l4r5zi --arena-region RAM -o out/
                                                  put the arena in another RAM region
  tinygen model.tflite --cmsis-nn ~/CMSIS-NN -o out/
                                                  call Arm's CMSIS-NN kernels where it has one
  tinygen model.tflite --cmsis-nn ~/CMSIS-NN --kernel 7=portable -o out/
                                                  ... except for layer 7
  tinygen verify model.tflite --count 20          prove bit-exactness vs TFLM
  tinygen verify model.tflite --target cortex-m4  ... on an emulated Cortex-M4 (QEMU)
  tinygen kws.tflite wake.tflite -o out/         several models in one project: one
                                                  copy of the kernels, one shared arena
  tinygen b.tflite --runtime-from a/ -o b/        a model without kernels of its own, for a
                                                  firmware that already has folder a/
  tinygen runtime -o rt/                          every runtime kernel, for --runtime-from
  tinygen model.tflite --target cortex-m4 --profile -o out/
                                                  time each layer (<name>_profile_print)
  tinygen verify model.tflite --target cortex-m4 --profile
                                                  per-layer table from the emulator run
  tinygen targets                                 list targets and boards

The output folder gets <name>.h (the API), <name>.c (the layers),
<name>_data.c (constants), the runtime kernels it uses, a Makefile, a
CMakeLists.txt (and a CMake toolchain file for Cortex-M), example_main.c,
a README.md and tinygen.json (a manifest of what tinygen wrote, with the
flash/RAM report). It also drops into an STM32CubeIDE project as is (see its
README.md). Files are written to a temporary folder first and moved into OUT
only when everything succeeded, so an error leaves OUT as it was. On
re-generation tinygen replaces or removes only the files its manifest lists;
it never overwrites a file it did not write or that was edited since, unless
you pass --force.

exit status: 0 success, 1 verify mismatch, 2 bad input (model, options, output
folder, or a model that does not fit the --board), 3 internal error (please
report). --debug or TINYGEN_DEBUG=1 shows tracebacks.
"""

VERIFY_HELP = """\
Generate the project for MODEL, build it on the host, run it on random inputs
and compare every output with TFLM's reference kernels, element by element.
Exits 0 only if all outputs are bit-identical.  With --cmsis-nn (or
CMSIS_NN_PATH) the project is built with that CMSIS-NN's plain C code path.

With --target cortex-m4 (or a board on that core, e.g. nucleo-l4r5zi) the
project is cross-compiled with arm-none-eabi-gcc and run on QEMU's emulated
mps2-an386 board (Cortex-M4F) instead: the inputs travel inside the program,
its outputs come back through semihosting; with --cmsis-nn, CMSIS-NN is
cross-compiled too and runs its DSP code path.  cortex-m3, cortex-m7,
cortex-m33 and cortex-m55 (and their boards) run the same way on mps2-an385,
mps2-an500, mps2-an505 and mps3-an547 (Helium: with --cmsis-nn, CMSIS-NN's
MVE path; --profile needs a board timer, which the AN547 lacks).  The input
vectors live in the program's flash: when they do not all fit, they are split
over several emulator runs (the report counts them all).  --profile adds a
per-layer table counted by QEMU (-icount): instructions, not cycles, exact and
deterministic.  Progress goes to stderr (-q silences it).

Several models (tinygen verify a.tflite b.tflite ...) are verified as the one
project `tinygen a.tflite b.tflite -o OUT` generates: one program runs input
vector v of every model in turn, so that they share the arena as in firmware.
"""

CMSIS_HELP = ("a CMSIS-NN folder (v7.0.0 or newer): layers CMSIS-NN has a kernel for call it; "
              "the project lists the CMSIS-NN sources it needs but never copies them "
              "(default: $CMSIS_NN_PATH)")


MATCH_TFLM_HELP = ("where TFLM's kernels compute something other than what the model means "
                   "(a standalone RELU or RELU6 whose output quantization differs from its "
                   "input's), reproduce TFLM's arithmetic; by default tinygen computes TFLite's "
                   "reference arithmetic there and warns")


def _add_cmsis_nn(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cmsis-nn", metavar="PATH", default=None, help=CMSIS_HELP)
    p.add_argument("--no-cmsis-nn", action="store_true",
                   help="use only tinygen's own kernels, even if CMSIS_NN_PATH is set")


def _cmsis_nn_path(args) -> str | None:
    if args.no_cmsis_nn:
        if args.cmsis_nn:
            raise TinygenError("--cmsis-nn and --no-cmsis-nn contradict each other")
        return None
    if args.cmsis_nn:
        return args.cmsis_nn
    path = os.environ.get("CMSIS_NN_PATH") or None
    if path is not None:
        from codegen.cmsis_nn import CmsisNNError, locate
        try:
            locate(path)
        except CmsisNNError as e:
            raise CmsisNNError(f"{e} (from the CMSIS_NN_PATH environment variable; fix or "
                               "unset it, or pass --no-cmsis-nn for portable kernels only)") from None
    return path


KERNELS_HELP = ("kernel variants in order of preference for every layer, comma-separated "
                "(portable, dsp, cmsis-nn; e.g. dsp,portable; default: the target's list, "
                "dsp,portable on cores with the DSP extension, with cmsis-nn first, after dsp, "
                "when a CMSIS-NN folder is given). Each layer runs on the first variant that "
                "can run it bit-exactly; the layer table says which, and why the others "
                "declined")
KERNEL_HELP = ("LAYER=VARIANT[,VARIANT...]: the kernel preference of one layer (numbers as in "
               "the layer table), e.g. --kernel 7=portable; repeatable")


COMPRESS_HELP = ("store filters (FULLY_CONNECTED, CONV_2D, DEPTHWISE_CONV_2D) losslessly in "
                 "fewer bits, read from flash by kernels for that form: auto (each filter in "
                 "the smallest form that saves at least 25%%), none (default: int8 as "
                 "stored), or a list of int4 (all values in [-8, 7]), palette (at most 2, 4 "
                 "or 16 distinct values per output channel or tensor), sparse (at least 80%% "
                 "zeros; FULLY_CONNECTED and 1x1 CONV_2D). A filter stays int8, with the "
                 "reason in the layer table, where its kernel would be much slower (above "
                 "1.15x int4, 1.25x palettes), where the code of the kernel reading it is "
                 "more than it saves, or where running int8 saves more than twice as many "
                 "bytes of RAM; --compress-layer N=ENC overrides these. The layer table "
                 "shows each filter's form and bytes")
COMPRESS_LAYER_HELP = ("LAYER=ENCODINGS: the encodings of one layer's filter (int4, palette, "
                       "sparse, auto, none), e.g. --compress-layer 3=palette; an encoding named for "
                       "a layer must apply (else an error); repeatable")


def _add_kernels(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernels", metavar="LIST", help=KERNELS_HELP)
    p.add_argument("--kernel", metavar="N=VARIANT", action="append", default=[],
                   help=KERNEL_HELP)
    p.add_argument("--compress", metavar="auto|none|LIST", default=None, help=COMPRESS_HELP)
    p.add_argument("--compress-layer", metavar="N=ENC", action="append", default=[],
                   help=COMPRESS_LAYER_HELP)
    p.add_argument("--no-fuse-residual", action="store_true",
                   help="run basic residual blocks (CONV -> CONV -> ADD with the block's "
                   "input or its 1x1 projection) as separate layers instead of one "
                   "row-pipelined CONV+CONV+ADD layer (the fused one keeps only a few rows "
                   "of the intermediates: less RAM)")


IO_IN_ARENA_HELP = ("give the model's inputs and outputs bytes in the activation arena "
                    "(planned with the rest; the RAM report counts them there): "
                    "<name>_input(i) and <name>_output(i) point at them; pass those to "
                    "<name>_invoke and the firmware needs no buffers of its own (one model)")


def _kernel_choice(args) -> dict:
    from codegen.encoding import parse_compress, parse_layer_compress
    from codegen.selection import parse_kernel_list, parse_layer_overrides

    return dict(kernels=parse_kernel_list(args.kernels, "--kernels") if args.kernels else None,
                layer_kernels=parse_layer_overrides(args.kernel),
                compress=parse_compress(args.compress),
                layer_compress=parse_layer_compress(args.compress_layer),
                fuse_residual=not args.no_fuse_residual)


def _generate_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygen", description=GENERATE_HELP,
                                usage="tinygen MODEL [MODEL ...] [options]\n"
                                      "       tinygen verify MODEL [MODEL ...] [options]\n"
                                      "       tinygen targets\n"
                                      "       tinygen runtime -o DIR",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="+", help="the .tflite model (int8 quantized); several "
                   "models give one project with one copy of the kernels and one arena they "
                   "share (they must run one after another), each model with its own API named "
                   "after its file's stem")
    p.add_argument("-o", "--output", metavar="OUT", help="output folder (default: ./<name>/)")
    p.add_argument("--target", default=None, help="core or board to generate for "
                   "(default: host; see `tinygen targets`)")
    p.add_argument("--board", help="a board (see `tinygen targets`): generate for its core and "
                   "stop with an error if the model does not fit its flash or RAM")
    p.add_argument("--arena-region", metavar="REGION", default=None,
                   help="place the activation arena in this RAM region of the board (e.g. "
                   "RAM2; default: the region .bss goes to): the fit check counts it there, and "
                   "the code puts the arena in section .noinit.<region> for the linker-script "
                   "lines that README.md shows")
    p.add_argument("--selftest", type=int, default=0, metavar="N",
                   help="embed N random input vectors and TFLM's outputs for them in "
                   "<name>_selftest.c, with int <name>_selftest(void) returning the number of "
                   "differing output elements (0 = pass)")
    p.add_argument("--selftest-seed", type=int, default=0, metavar="S",
                   help="random seed of the self-test inputs (default 0)")
    p.add_argument("--name", help="C name prefix of the generated API (default: the model "
                   "file's stem as a C identifier)")
    p.add_argument("--separate-arenas", action="store_true",
                   help="with several models: one activation arena per model instead of one "
                   "shared arena (more RAM; for models that run concurrently, e.g. from "
                   "different RTOS tasks)")
    p.add_argument("--runtime-from", metavar="DIR",
                   help="generate the model without tinygen's runtime kernels: it compiles "
                   "against those of DIR, a folder tinygen (the same release) generated for "
                   "another model of the firmware, or `tinygen runtime -o DIR`")
    p.add_argument("--all-kernel-paths", action="store_true",
                   help="compile every path of the kernels in (tg_config.h), not only those "
                   "this model's layers take: for a folder whose kernels other models will "
                   "use (their --runtime-from); more flash")
    p.add_argument("--profile", action="store_true",
                   help="time every layer: <name>_profile() returns, <name>_profile_print(printf) "
                   "prints a table of layer, operator, kernel, MACs and cycles of the last "
                   "inference (DWT cycle counter on Cortex-M3/M4/M7/M33/M55; elsewhere "
                   "TG_PROFILE_TIMER(), see tg_profile.h)")
    p.add_argument("--force", action="store_true",
                   help="overwrite files in OUT that tinygen did not write, or that were "
                   "edited since it wrote them (they are lost; without --force tinygen "
                   "stops and writes nothing)")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of errors (also TINYGEN_DEBUG=1)")
    _add_cmsis_nn(p)
    _add_kernels(p)
    p.add_argument("--match-tflm", action="store_true", help=MATCH_TFLM_HELP)
    p.add_argument("--io-in-arena", action="store_true", help=IO_IN_ARENA_HELP)
    p.add_argument("--no-in-place", action="store_true",
                   help="plan operator by operator: no output overlaps an input, even where "
                   "the kernel allows it (more RAM; to compare)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print the memory report of every layer (bytes live, the "
                   "op-by-op bound there, the arena's end, in-place and aliased buffers; "
                   "tinygen.json has it too)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    p.add_argument("--version", action="version", version=f"tinygen {__version__}")
    return p


def _verify_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tinygen verify", description=VERIFY_HELP,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="+", help="the .tflite model; several models are verified "
                   "as one project (tinygen a.tflite b.tflite -o OUT) in one program, taking "
                   "turns in the shared arena")
    p.add_argument("--separate-arenas", action="store_true",
                   help="with several models: verify the project with one arena per model")
    p.add_argument("--target", default="host", help="target to verify on: host (default), or a "
                   "Cortex-M core or board that tinygen can emulate (cortex-m3, cortex-m4, cortex-m7 and boards on them)")
    p.add_argument("--count", type=int, default=10, help="random inputs to run (default 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--keep", metavar="DIR", help="keep the generated project in DIR")
    _add_cmsis_nn(p)
    _add_kernels(p)
    p.add_argument("--match-tflm", action="store_true", help=MATCH_TFLM_HELP + "; verify then "
                   "compares those layers with TFLM instead of TFLite's reference kernels")
    p.add_argument("--force", action="store_true",
                   help="with --keep: overwrite files in DIR that tinygen did not write")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of errors (also TINYGEN_DEBUG=1)")
    p.add_argument("--profile", action="store_true",
                   help="also time every layer on the emulator and print a per-layer table "
                   "(instructions counted by QEMU, deterministic; Cortex-M targets only)")
    p.add_argument("--layers", action="store_true",
                   help="compare every layer's outputs too, each layer fed the reference's "
                   "previous activations and judged by its own oracle (TFLM, or LiteRT "
                   "BUILTIN_REF where TFLM has no kernel or tinygen computes TFLite's "
                   "arithmetic, or tinygen's model where TFLM's C++ is undefined: int8 DIV); "
                   "names the first layer that differs, with its shapes and the "
                   "differing positions (host only: a host-only layer hook in the generated "
                   "code)")
    p.add_argument("--io-in-arena", action="store_true",
                   help="verify the project generated with --io-in-arena (inputs written to "
                   "and outputs read from the arena's bytes)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="no progress lines on stderr")
    return p


def _summary(gen, verbose: bool = False) -> str:
    from codegen.compression import compressed_code
    from codegen.emit.layer_table import arena_cell, layer_table, memory_lines, operator_cell
    from codegen.footprint import format_report

    prog = gen.program
    table = layer_table(prog)
    why = any(row["refused"] or row["overridden"] for row in table)
    rows = [("#", "operator", "kernel", "variant", "shapes", "MACs", "const B",
             "arena offset+bytes") + (("why not the first choice",) if why else ())]
    for row in table:
        shapes = ",".join(row["inputs"]) + " -> " + ",".join(row["outputs"])
        rows.append((str(row["index"]), operator_cell(row), row["kernel"], row["variant"], shapes,
                     f"{row['macs']:,}", f"{row['weight_bytes']:,}", arena_cell(row))
                    + ((row["why"] if row["refused"] or row["overridden"] else "",)
                       if why else ()))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  " + "  ".join(c.rjust(w) if i in (0, 5, 6) else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    plan = prog.plan
    lines.append("")
    filters = [row for row in table if "filter" in row]
    if filters:
        before = sum(r["filter"]["bytes_int8"] for r in filters)
        after = sum(r["filter"]["bytes_stored"] for r in filters)
        _, code = compressed_code(layer.call for layer in prog.layers)
        lines.append(f"  filters (--compress): {after:,} bytes stored for {before:,} as int8 "
                     f"({after / max(before, 1):.2f}x); the kernels reading them add about "
                     f"{code:,} bytes of code")
        lines += [f"    layer {r['index']}: {r['filter']['reason']}" +
                  (f"; about {r['filter']['cycles_vs_int8_estimate']:.2f}x the int8 "
                   "kernel's cycles (estimated)" if "cycles_vs_int8_estimate" in r["filter"]
                   else "") for r in filters]
    elif any(layer.selection.filter is not None for layer in prog.layers):
        # --compress asked, nothing compressed (the reports stay those of int8 filters)
        lines.append("  filters (--compress): every filter stays int8")
        lines += [f"    layer {layer.call.op.index}: {layer.selection.filter.reason}"
                  for layer in prog.layers if layer.selection.filter is not None]
    if "cmsis_nn" in prog.libraries:
        entry = prog.libraries["cmsis_nn"]
        lines.append(f"  CMSIS-NN {entry['version']} ({entry['code_path']} code path): "
                     f"{len(entry['sources'])} of its sources needed, listed in tinygen.json")
    in_place = f", {len(plan.overlaps)} layer(s) in place" if plan.overlaps else ""
    lines.append(f"  arena: {plan.arena_bytes:,} bytes (op-by-op bound {plan.lower_bound:,}"
                 f"{in_place}); "
                 f"constants: {prog.const_bytes:,} bytes; {prog.macs:,} MACs per inference")
    memory = memory_lines(prog, table, verbose)
    lines += memory[:2 if len(memory) > 1 and memory[1].startswith("        ") else 1]
    if gen.memory:
        lines.append(format_report(gen.memory, []))
    if verbose:
        lines += [""] + [m for m in memory[1:] if not m.startswith("        ")]
    return "\n".join(lines)


def _print_warnings(warnings: list[str]) -> None:
    for w in warnings:
        print(f"tinygen: warning: {w}", file=sys.stderr)


def cmd_generate(argv: list[str]) -> int:
    from codegen.generate import default_name, generate

    args = _generate_parser().parse_args(argv)
    progress.enable(not args.quiet)
    target = _resolve_target(args.target, args.board)
    if args.selftest < 0:
        raise TinygenError("--selftest needs a number of vectors >= 0")
    if len(args.model) > 1:
        if args.io_in_arena:
            raise TinygenError("--io-in-arena is for one model: models sharing an arena would "
                               "overwrite each other's inputs and outputs")
        return _generate_several(args, target)
    if args.separate_arenas:
        raise TinygenError("--separate-arenas is for several models in one project "
                           "(tinygen a.tflite b.tflite -o OUT --separate-arenas)")
    args.model = args.model[0]
    out = Path(args.output) if args.output else Path(args.name or default_name(args.model))
    gen = generate(args.model, out, target=target, name=args.name, force=args.force,
                   selftest=args.selftest, selftest_seed=args.selftest_seed,
                   cmsis_nn=_cmsis_nn_path(args), arena_region=args.arena_region,
                   match_tflm=args.match_tflm, runtime_from=args.runtime_from,
                   profile=args.profile, io_in_arena=args.io_in_arena,
                   in_place=not args.no_in_place, all_kernel_paths=args.all_kernel_paths,
                   **_kernel_choice(args))
    _print_warnings(gen.program.warnings)
    if not args.quiet:
        print(f"tinygen: {args.model} -> {out}/ ({len(gen.files)} files, target {target})")
        print(_summary(gen, args.verbose))
    return 0


def _several_options(args) -> dict:
    """The options of generate_multi from the command line of several models; an error for
    the options that name one model's layers or are for one model at a time."""
    for flag, given in (("--kernel N=...", args.kernel),
                        ("--compress-layer N=...", args.compress_layer)):
        if given:
            raise TinygenError(f"{flag} names a layer of one model; with several models use the "
                               "model-wide option (--kernels, --compress), or give the model on "
                               "its own")
    for flag in ("profile", "arena_region", "layers"):
        if getattr(args, flag, None):
            raise TinygenError(f"--{flag.replace('_', '-')} is for one model at a time; give the "
                               "model on its own to use it")
    choice = _kernel_choice(args)
    return dict(kernels=choice["kernels"], compress=choice["compress"],
                fuse_residual=choice["fuse_residual"], match_tflm=args.match_tflm,
                in_place=not getattr(args, "no_in_place", False))


def _generate_several(args, target: str) -> int:
    from codegen.multi import PROJECT_NAME, generate_multi

    if args.name:
        raise TinygenError("--name names one model; with several models each model's API is "
                           "named after its file's stem (rename or copy the files to choose)")
    if args.runtime_from:
        raise TinygenError("--runtime-from is for one model; a project of several models "
                           "carries one copy of the kernels for all of them")
    options = _several_options(args)
    out = Path(args.output) if args.output else Path(PROJECT_NAME)
    gen = generate_multi(args.model, out, target=target, force=args.force,
                         selftest=args.selftest, selftest_seed=args.selftest_seed,
                         cmsis_nn=_cmsis_nn_path(args), separate_arenas=args.separate_arenas,
                         all_kernel_paths=args.all_kernel_paths, **options)
    _print_warnings(gen.warnings)
    if not args.quiet:
        from codegen.footprint import format_report

        print(f"tinygen: {len(args.model)} models -> {out}/ ({len(gen.files)} files, "
              f"target {target})")
        for p in gen.programs:
            print(f"  {p.name}: {len(p.layers)} layers, arena {p.plan.arena_bytes:,} bytes, "
                  f"constants {p.const_bytes:,} bytes, {p.macs:,} MACs")
        arena = "one per model" if args.separate_arenas else "shared, the models run in turn"
        print(f"  activation arena: {gen.memory['ram']['arena']:,} bytes ({arena})")
        print(format_report(gen.memory, []))
    return 0


def cmd_runtime(argv: list[str]) -> int:
    from codegen.emit import write_project
    from codegen.emit.runtime import runtime_folder

    p = argparse.ArgumentParser(prog="tinygen runtime", description=(
        "Write every tinygen runtime kernel (runtime_c/tg_*) into a folder, for models "
        "generated with --runtime-from: the firmware compiles the kernels once."))
    p.add_argument("-o", "--output", metavar="OUT", required=True, help="output folder")
    p.add_argument("--force", action="store_true",
                   help="overwrite files in OUT that tinygen did not write")
    args = p.parse_args(argv)
    files = runtime_folder()
    write_project(Path(args.output), files, force=args.force)
    print(f"tinygen: runtime -> {args.output}/ ({len(files)} files)")
    return 0


def _resolve_target(target: str | None, board: str | None) -> str:
    """--target and --board: a board must be a board, and agree with --target if both given."""
    from codegen.targets import load_target

    if board is None:
        return target or "host"
    b = load_target(board)
    if not b.get("is_board"):
        raise TinygenError(f"--board {board}: '{board}' is a core, not a board; use --target "
                           f"{board}, or one of the boards listed by `tinygen targets`")
    if target is not None and target not in (board, b["core_name"]):
        raise TinygenError(f"--board {board} has a {b['core_name']} core, but --target is "
                           f"{target}")
    return board


def cmd_verify(argv: list[str]) -> int:
    from codegen.verify import verify

    args = _verify_parser().parse_args(argv)
    progress.enable(not args.quiet)
    if args.count < 1:
        raise TinygenError("--count must be at least 1")
    if len(args.model) > 1:
        from codegen.multi import verify_multi

        if args.io_in_arena:
            raise TinygenError("--io-in-arena is for one model")
        reports = verify_multi(args.model, count=args.count, seed=args.seed,
                               target=args.target, cmsis_nn=_cmsis_nn_path(args),
                               work_dir=Path(args.keep) if args.keep else None, force=args.force,
                               separate_arenas=args.separate_arenas, **_several_options(args))
        for report in reports:
            print(report.table())
            print(f"  arena: {report.arena_bytes:,} bytes (op-by-op bound {report.lower_bound:,})")
        return 0 if all(r.ok for r in reports) else 1
    if args.separate_arenas:
        raise TinygenError("--separate-arenas is for several models")
    args.model = args.model[0]
    report = verify(args.model, count=args.count, seed=args.seed, target=args.target,
                    work_dir=Path(args.keep) if args.keep else None,
                    cmsis_nn=_cmsis_nn_path(args), force=args.force,
                    match_tflm=args.match_tflm, profile=args.profile, layers=args.layers,
                    io_in_arena=args.io_in_arena, **_kernel_choice(args))
    print(report.table())
    if report.profile is not None:
        print(report.profile.table())
    print(f"  arena: {report.arena_bytes:,} bytes (op-by-op bound {report.lower_bound:,})")
    return 0 if report.ok else 1


def cmd_targets(argv: list[str]) -> int:
    from codegen.targets import available_targets, load_target

    argparse.ArgumentParser(prog="tinygen targets", description="List the cores (--target) and "
                            "boards (--board or --target) tinygen generates for, with their "
                            "compiler flags and memory sizes.").parse_args(argv)
    cores, boards = [], []
    for name in available_targets():
        t = load_target(name)
        (boards if t.get("is_board") else cores).append(t)
    print("cores (--target):")
    for t in cores:
        extra = f"  [{' '.join(t['cpu_flags'])}]" if t["cpu_flags"] else ""
        print(f"  {t['name']:18s} {t.get('description', '')}{extra}")
    print("boards (--board or --target):")
    for t in boards:
        mem = f"flash {t['flash_bytes'] // 1024} KB, RAM {t['ram_bytes'] // 1024} KB"
        emu = ", emulated: tinygen verify runs here" if t.get("qemu_machine") else ""
        mcu = f"{t['mcu']}, " if t.get("mcu") else ""
        print(f"  {t['name']:18s} {mcu}core {t['core_name']}, {mem}{emu}")
        regions = t.get("memory_regions", [])
        if len(regions) > 2:
            print(f"  {'':18s} regions: " + ", ".join(
                f"{r['name']} {r['size'] // 1024} KB{' (default)' if r['default'] else ''}"
                for r in regions))
    return 0


DEBUG_ENV = "TINYGEN_DEBUG"


def _safe(text: str) -> str:
    """A message fit for the terminal: control characters other than newlines escaped."""
    return "".join(ch if ch == "\n" or ch.isprintable() else f"\\x{ord(ch):02x}"
                   if ord(ch) < 0x100 else f"\\u{ord(ch):04x}" for ch in text)


def main(argv: list[str] | None = None) -> int:
    """Run one tinygen command; return the exit status.

    0 success, 1 verification mismatch, 2 a problem with the input (bad model, unsupported
    operator, output folder in the way; one "tinygen: error:" line, no traceback), 3 an
    internal error (a bug in tinygen: please report it), 130 interrupted.
    `--debug` (anywhere on the command line) or TINYGEN_DEBUG=1 shows tracebacks.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get(DEBUG_ENV, "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    commands = {"verify": cmd_verify, "targets": cmd_targets, "runtime": cmd_runtime}
    try:
        if argv and argv[0] in commands:
            return commands[argv[0]](argv[1:])
        return cmd_generate(argv)
    except TinygenError as e:
        if debug:
            traceback.print_exc()
        print(f"tinygen: error: {_safe(str(e))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("tinygen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader of our output went away (e.g. `tinygen ... | head`): not an error of ours
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except MemoryError:
        print("tinygen: error: out of memory (is the model far larger than a microcontroller "
              "can hold?)", file=sys.stderr)
        return 2
    except SystemExit:
        raise
    except BaseException as e:  # anything else is a bug in tinygen
        if debug:
            traceback.print_exc()
        print(f"tinygen: internal error: {type(e).__name__}: {_safe(str(e))[:500]}\n"
              f"This is a bug in tinygen {__version__}, not in your model or command. Please "
              "report it to the tinygen maintainers with the model and the command line"
              + ("." if debug else f"; run again with --debug (or {DEBUG_ENV}=1) to see the "
                 "traceback."), file=sys.stderr)
        return 3
    finally:
        progress.enable(False)      # progress lines belong to this command only
