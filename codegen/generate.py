"""The main job as a library call: model file -> Program -> files in OUT/."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen import progress
from codegen.cmsis_nn import LIBRARY, locate
from codegen.cnames import c_identifier, display_text, is_reserved
from codegen.emit import render_library, render_project_files, write_project
from codegen.emit.project import Selftest
from codegen.lowering.dsp_support import VARIANT as DSP_VARIANT
from codegen.emit.runtime import external_runtime, module_files
from codegen.footprint import check_fit as fit
from codegen.footprint import footprint
from codegen.frontend import read_model_file, read_tflite
from codegen.kernel_config import project_flags
from codegen.errors import ModelError, TinygenError
from codegen.program import Program, build_program
from codegen.reference_layers import reference_for
from codegen.regions import resolve_arena_region
from codegen.targets import load_target
from codegen.vectors import random_inputs


@dataclass
class Generated:
    program: Program
    files: dict[str, bytes]
    out_dir: Path | None
    memory: dict = field(default_factory=dict)   # footprint.footprint() report


def default_name(model_path: str | Path) -> str:
    return c_identifier(Path(model_path).stem, "model")


def generate(model_path: str | Path, out_dir: str | Path | None, target: str = "host",
             name: str | None = None, library: str | None = None, force: bool = False,
             model_bytes: bytes | None = None, cmsis_nn: str | Path | None = None,
             selftest: int = 0, selftest_seed: int = 0, measure: bool = True,
             check_fit: bool = True, arena_region: str | None = None,
             kernels: list[str] | None = None,
             layer_kernels: dict[int, list[str]] | None = None,
             match_tflm: bool = False,
             runtime_from: str | Path | None = None,
             profile: bool = False, layer_hook: bool = False, poison: bool = False,
             io_in_arena: bool = False, compress: tuple[str, ...] = (),
             in_place: bool = True,
             layer_compress: dict[int, tuple[str, ...]] | None = None,
             fuse_residual: bool = True, all_kernel_paths: bool = False) -> Generated:
    """Generate the C project for a model; write it to out_dir unless that is None.

    `cmsis_nn`: a CMSIS-NN folder; its kernels then run every layer they can.  With
    library="cmsis-nn" and no folder, $CMSIS_NN_PATH is used.
    selftest: embed that many golden vectors (TFLM's outputs) in <name>_selftest.c.
    measure: cross-compile the library to measure flash/RAM (Cortex-M targets, when
    arm-none-eabi-gcc is installed; estimated otherwise).  check_fit: on a board, refuse
    a model that does not fit its flash or RAM (DoesNotFitError, nothing written).
    arena_region: a RAM region of the board (or any linker-script name for a core) to place
    the arena in (codegen/regions.py).
    kernels: the kernel preference for every layer (default: the target's, with
    "cmsis-nn" first, after "dsp" if the target has it, when a CMSIS-NN folder is given);
    layer_kernels: per-layer preferences, {layer number: [variant, ...]} (`--kernel N=...`).
    match_tflm: where TFLM's arithmetic differs from what the model means (a standalone
    RELU/RELU6 requantizing), reproduce TFLM's (default: TFLite's, with a warning).
    runtime_from: a folder tinygen generated (a model's, or `tinygen runtime`'s): the project
    then carries no runtime kernels and compiles against that folder's (emit/runtime.py).
    profile: time every layer in the generated code (--profile, codegen/profile.py).
    layer_hook: host-only debugging: `<name>_layer_hook`, called after every layer with its
    outputs (verify --layers).
    poison: tests only: before every layer, fill the arena bytes it may not read with a
    pattern, so a kernel reading one of them fails its comparison (tests/test_poison.py).
    io_in_arena: plan the model's inputs and outputs in the arena (--io-in-arena):
    `<name>_input(i)`/`<name>_output(i)` point at them.
    in_place: let outputs overlap inputs where the kernels allow it (False: the
    operator-by-operator plan, --no-in-place).
    compress: the filter encodings allowed (`--compress`, codegen/encoding.py; () = none);
    layer_compress: per layer, {layer number: encodings} (`--compress-layer N=...`).
    fuse_residual: run basic residual blocks fused, row by row (passes/fuse_residual.py;
    False: `--no-fuse-residual`).
    """
    model_path = Path(model_path)
    if model_bytes is None:
        model_bytes = read_model_file(model_path)
    graph = read_tflite(model_bytes, source=str(model_path))
    cname = c_identifier(name, "model") if name else default_name(model_path)
    if name and cname != name:
        why = ("is reserved (a C or C++ keyword, a standard name, or tinygen's tg_ prefix)"
               if is_reserved(name) else "is not a lower-case C identifier")
        raise ModelError(f"--name '{display_text(name, 60)}' {why}; try '{cname}'")
    target_spec = load_target(target)
    target_spec["arena_region"] = resolve_arena_region(target_spec, arena_region)
    kernel_choice = choose_kernels(target, target_spec, library, cmsis_nn, kernels,
                                   layer_kernels)
    backend = kernel_choice.backend
    program = build_program(graph, cname, target_spec, kernel_choice.preference,
                            kernel_choice.backends, layer_kernels, match_tflm=match_tflm,
                            io_in_arena=io_in_arena, compress=compress, in_place=in_place,
                            layer_compress=layer_compress, fuse_residual=fuse_residual)
    program.warnings[:0] = kernel_choice.notes
    golden = golden_vectors(model_bytes, program, selftest, selftest_seed) if selftest else None
    runtime = None
    if runtime_from is not None:
        runtime = external_runtime(runtime_from, program.runtime_modules, out_dir, cname,
                                   paths=project_flags(layer.call for layer in program.layers))
    # render the library, measure it, then render what describes and builds it
    lib_files = render_library(program, model_path.name, model_bytes, selftest=golden,
                               runtime_from=runtime, profile=profile, layer_hook=layer_hook,
                               poison=poison, all_kernel_paths=all_kernel_paths)
    measured, sources = lib_files.files, lib_files.sources
    if runtime is not None:   # measure the model with the kernels it will run with
        kernels = module_files(program.runtime_modules)
        measured = {**measured, **kernels}
        sources = sources + sorted(f for f in kernels if f.endswith(".c"))
    if measure and target_spec.get("kind") == "cortex-m":
        progress.note(f"measuring flash and RAM (cross-compiling for {target_spec['name']})")
    report = footprint(program, measured, sources, measure=measure, selftest=golden,
                       cmsis_nn_root=backend.lib.root if backend is not None else None)
    files = render_project_files(lib_files, memory=report)
    if check_fit:
        fit(report, target_spec)
    if out_dir is not None:
        write_project(Path(out_dir), files, force=force, notes=program.warnings)
    return Generated(program, files, Path(out_dir) if out_dir is not None else None, report)


@dataclass
class KernelChoice:
    """The kernel preference of a run, the external libraries located for it, and notes."""

    preference: list[str]
    backends: dict
    backend: object | None           # the CMSIS-NN backend, if any
    notes: list[str] = field(default_factory=list)


def choose_kernels(target: str, target_spec: dict, library: str | None = None,
                   cmsis_nn: str | Path | None = None, kernels: list[str] | None = None,
                   layer_kernels: dict[int, list[str]] | None = None) -> KernelChoice:
    """The kernel preference (the target's, `kernels`, with CMSIS-NN first when a folder is
    given) and the located CMSIS-NN; an error when CMSIS-NN is asked for without a folder."""
    backend = None
    notes: list[str] = []
    prefs = list(kernels or target_spec.get("kernels") or ["portable"])
    if cmsis_nn is not None or library == LIBRARY:
        if library not in (None, LIBRARY):
            raise TinygenError(f"a CMSIS-NN folder was given, but the kernel library asked for "
                               f"is '{library}'")
        backend = locate(cmsis_nn).backend(target_spec)
        if kernels is None:
            # CMSIS-NN first, except behind tinygen's dsp kernels, which run their layers in
            # fewer cycles than CMSIS-NN's (benchmarks/RESULTS.md)
            lead = [k for k in prefs if k == DSP_VARIANT]
            prefs = lead + [LIBRARY] + [k for k in prefs if k != LIBRARY and k not in lead]
    elif kernels is None and LIBRARY in prefs:
        # the target prefers CMSIS-NN but none was given: the next variants, and say so
        prefs = [k for k in prefs if k != LIBRARY] or ["portable"]
        notes.append(f"target '{target}' prefers CMSIS-NN kernels; none given (--cmsis-nn PATH "
                     "or CMSIS_NN_PATH), so every layer uses tinygen's portable kernels")
    wanted = set(prefs) | {k for ks in (layer_kernels or {}).values() for k in ks}
    if LIBRARY in wanted and backend is None:
        raise TinygenError("CMSIS-NN kernels were asked for (--kernels/--kernel), but no "
                           "CMSIS-NN folder was given: pass --cmsis-nn PATH or set "
                           "CMSIS_NN_PATH")
    return KernelChoice(prefs, {LIBRARY: backend} if backend is not None else {}, backend,
                        notes)


def golden_vectors(model_bytes: bytes, program: Program, count: int, seed: int) -> Selftest:
    """`count` random input vectors and the reference's outputs for them, for the self-test
    (TFLM's reference kernels; LiteRT's BUILTIN_REF where TFLM cannot run the model)."""
    if count < 0:
        raise ModelError("--selftest needs a number of vectors >= 0")
    graph = program.graph
    ref = reference_for(model_bytes, program)
    rng = np.random.default_rng(seed)
    golden = Selftest(seed=seed, reference=ref.name)
    tick = progress.counter(f"self-test: reference ({ref.name}) vector", count)
    for v in range(count):
        xs = random_inputs(graph, rng)
        golden.inputs.append(xs)
        golden.expected.append([np.array(y) for y in ref.run(xs)])
        tick(v + 1)
    return golden
