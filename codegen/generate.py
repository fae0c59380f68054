"""The main job as a library call: model file -> Program -> files in OUT/."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from codegen import progress
from codegen.cmsis_nn import LIBRARY, locate
from codegen.cnames import c_identifier, display_text, is_reserved
from codegen.emit import render_project, write_project
from codegen.emit.project import Selftest
from codegen.footprint import check_fit as fit
from codegen.footprint import footprint
from codegen.frontend import read_model_file, read_tflite
from codegen.errors import ModelError, TinygenError
from codegen.program import Program, build_program
from codegen.targets import load_target


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
             check_fit: bool = True, profile: bool = False) -> Generated:
    """Generate the C project for a model; write it to out_dir unless that is None.

    `cmsis_nn`: a CMSIS-NN folder; its kernels then run every layer they can.  With
    library="cmsis-nn" and no folder, $CMSIS_NN_PATH is used.
    selftest: embed that many golden vectors (TFLM's outputs) in <name>_selftest.c.
    measure: cross-compile the library to measure flash/RAM (Cortex-M targets, when
    arm-none-eabi-gcc is installed; estimated otherwise).  check_fit: on a board, refuse
    a model that does not fit its flash or RAM (DoesNotFitError, nothing written).
    profile: time every layer in the generated code (--profile, codegen/profile.py).
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
    backend = None
    notes: list[str] = []
    if cmsis_nn is not None or library == LIBRARY:
        if library not in (None, LIBRARY):
            raise TinygenError(f"a CMSIS-NN folder was given, but the kernel library asked for "
                               f"is '{library}'")
        library = LIBRARY
        backend = locate(cmsis_nn).backend(target_spec)
    elif library is None and target_spec.get("kernel_library") == LIBRARY:
        # the target prefers CMSIS-NN but none was given: portable kernels, and say so
        library = "portable"
        notes.append(f"target '{target}' prefers CMSIS-NN kernels; none given (--cmsis-nn PATH "
                     "or CMSIS_NN_PATH), so every layer uses tinygen's portable kernels")
    program = build_program(graph, cname, target_spec, library, backend)
    program.warnings[:0] = notes
    golden = golden_vectors(model_bytes, program, selftest, selftest_seed) if selftest else None
    report: dict = {}
    cmsis_root = backend.lib.root if backend is not None else None

    def memory(files: dict[str, bytes], sources: list[str]) -> dict:
        if measure and target_spec.get("kind") == "cortex-m":
            progress.note(f"measuring flash and RAM (cross-compiling for {target_spec['name']})")
        report.update(footprint(program, files, sources, measure=measure, selftest=golden,
                                cmsis_nn_root=cmsis_root))
        return report

    files = render_project(program, model_path.name, model_bytes, selftest=golden, memory=memory,
                           profile=profile)
    if check_fit:
        fit(report, target_spec)
    if out_dir is not None:
        write_project(Path(out_dir), files, force=force, notes=program.warnings)
    return Generated(program, files, Path(out_dir) if out_dir is not None else None, report)


def golden_vectors(model_bytes: bytes, program: Program, count: int, seed: int) -> Selftest:
    """`count` random input vectors and the reference's outputs for them, for the self-test
    (TFLM's reference kernels; LiteRT's BUILTIN_REF where TFLM cannot run the model)."""
    import numpy as np

    from codegen.reference import make_reference
    from codegen.verify import random_inputs

    if count < 0:
        raise ModelError("--selftest needs a number of vectors >= 0")
    graph = program.graph
    ref = make_reference(model_bytes, graph)
    rng = np.random.default_rng(seed)
    golden = Selftest(seed=seed, reference=ref.name)
    tick = progress.counter(f"self-test: reference ({ref.name}) vector", count)
    for v in range(count):
        xs = random_inputs(graph, rng)
        golden.inputs.append(xs)
        golden.expected.append([np.array(y) for y in ref.run(xs)])
        tick(v + 1)
    return golden
