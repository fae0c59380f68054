"""`tinygen verify`: generate, build, run random inputs, compare with the reference exactly.

One skeleton (`run_verify`) does the work: generate the project, make random inputs,
get the reference's outputs, hand the inputs to a *runner* and compare what it
returns.  A runner builds the generated project and runs it: `HostRunner` on this
machine through cffi, `CortexMRunner` cross-compiled and run on an emulated board.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from codegen import progress
from codegen.errors import TinygenError
from codegen.generate import Generated, generate
from codegen.reference_layers import reference_for
from codegen.targets import is_cortex_m, load_target
from codegen.toolchain import cortexm
from codegen.toolchain.host import HostModel
from codegen.vectors import NP_DTYPES, random_inputs


@dataclass
class OutputReport:
    name: str
    compared: int = 0
    differing: int = 0
    max_abs_diff: float = 0.0


@dataclass
class LayerReport:
    """One layer's outputs against the reference's (verify --layers)."""
    layer: int
    opcode: str
    oracle: str
    shapes: str
    compared: int = 0
    differing: int = 0
    detail: str = ""      # the first differing output: where, got vs want

    def describe(self) -> str:
        return (f"layer {self.layer} ({self.opcode}, {self.shapes}, judged by {self.oracle}): "
                f"{self.detail}")


def compare_layers(program, gots: list[dict], wants: list[dict],
                   oracles: dict[int, str]) -> list[LayerReport]:
    """Every generated layer's outputs (`gots`: per vector, (layer, output) -> bytes from the
    layer hook) against the reference's tensors (`wants`: per vector, tensor -> array)."""
    g = program.graph
    reports = []
    for layer in program.layers:
        op = layer.call.op
        outs = [t for t in op.outputs if t >= 0]
        shapes = [", ".join(f"[{g.tensors[t].shape_str()}]" for t in ts) for ts in
                  ([t for t in op.inputs if t >= 0 and not g.tensors[t].is_const], outs)]
        rep = LayerReport(op.index, op.opcode, oracles.get(op.index, "?"),
                          f"{shapes[0]} -> {shapes[1]}")
        for v, (got, want) in enumerate(zip(gots, wants)):
            for k, t in enumerate(outs):
                tensor = g.tensors[t]
                x = np.frombuffer(got[(op.index, k)], dtype=NP_DTYPES[tensor.dtype])
                x = x.reshape(tensor.shape)
                w = np.asarray(want[t]).astype(x.dtype).reshape(tensor.shape)
                bad = (x.view(np.uint32) != w.view(np.uint32)) if x.dtype.kind == "f" else x != w
                rep.compared += x.size
                rep.differing += int(bad.sum())
                if bad.any() and not rep.detail:
                    pos = np.argwhere(bad)[:4]
                    rep.detail = (f"output {k} '{tensor.name}' differs in {int(bad.sum())} of "
                                  f"{x.size} elements (vector {v}), first at " + "; ".join(
                                      f"[{','.join(map(str, p))}] got {x[tuple(p)]} want "
                                      f"{w[tuple(p)]}" for p in pos))
        reports.append(rep)
    return reports


@dataclass
class VerifyReport:
    model: str
    target: str
    count: int
    reference: str
    outputs: list[OutputReport] = field(default_factory=list)
    arena_bytes: int = 0
    lower_bound: int = 0
    notes: list[str] = field(default_factory=list)
    profile: object = None        # codegen.profile.ProfileReport with --profile (emulator)
    layers: list[LayerReport] | None = None     # with --layers

    @property
    def ok(self) -> bool:
        return (all(o.differing == 0 and o.compared > 0 for o in self.outputs)
                and all(r.differing == 0 for r in self.layers or []))

    @property
    def first_bad_layer(self) -> LayerReport | None:
        return next((r for r in self.layers or [] if r.differing), None)

    def table(self) -> str:
        rows = [("output", "compared", "differing", "max |diff|")]
        for o in self.outputs:
            rows.append((o.name, str(o.compared), str(o.differing), f"{o.max_abs_diff:g}"))
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = [f"{self.model}: {self.count} random input(s) on {self.target}, "
                 f"reference: {self.reference}"]
        for k, r in enumerate(rows):
            lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                          for i, (c, w) in enumerate(zip(r, widths))))
            if k == 0:
                lines.append("  " + "  ".join("-" * w for w in widths))
        if self.layers is not None:
            rows = [("layer", "operator", "oracle", "compared", "differing")] + [
                (str(r.layer), r.opcode, r.oracle, str(r.compared), str(r.differing))
                for r in self.layers]
            widths = [max(len(r[i]) for r in rows) for i in range(5)]
            lines.append("  every layer's outputs (--layers):")
            lines.extend("    " + "  ".join(c.rjust(w) if i >= 3 else c.ljust(w)
                                            for i, (c, w) in enumerate(zip(r, widths)))
                         for r in rows)
            if self.first_bad_layer:
                lines.append("  first differing " + self.first_bad_layer.describe())
        lines.append("  result: " + ("BIT-EXACT" if self.ok else "MISMATCH"))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def compare(name: str, got: np.ndarray, want: np.ndarray, report: OutputReport) -> None:
    got = np.asarray(got).reshape(-1)
    want = np.asarray(want).reshape(-1)
    report.name = name
    report.compared += want.size
    if got.dtype.kind == "f":
        # bit-exact for floats too: compare the bit patterns
        diff_mask = got.view(np.uint32) != want.astype(got.dtype).view(np.uint32)
    else:
        diff_mask = got != want
    report.differing += int(diff_mask.sum())
    if diff_mask.any():
        d = np.abs(got.astype(np.float64) - want.astype(np.float64))
        report.max_abs_diff = max(report.max_abs_diff, float(np.nanmax(d)))


class Runner(Protocol):
    """Builds a generated project and runs input vectors through it."""

    generate_options: dict      # extra arguments of generate() for this runner

    def prepare(self, gen: Generated, project: Path, tmp: Path, keep: bool) -> None:
        """Called right after generation (before the reference runs): build or check."""

    def run(self, vectors: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """The project's outputs for each input vector: [vector][output]."""

    def describe(self) -> str:
        """How it ran, for the report's header: 'cffi, portable', 'QEMU mps2-an386'..."""

    def notes(self, gots: list[list[np.ndarray]], wants: list[list[np.ndarray]]) -> list[str]:
        """Explanations of a mismatch, if this runner knows any."""


def run_verify(runner: Runner, model_path: str | Path, count: int, seed: int, target: str,
               work_dir: Path | None = None, cmsis_nn: str | Path | None = None,
               force: bool = False, library: str | None = None,
               options: dict | None = None, layers: bool = False) -> VerifyReport:
    """Generate the model's project, run `count` random input vectors (from `seed`) through
    it with `runner`, and compare every output with the reference's, bit for bit.

    `work_dir` (--keep) is written like any output folder: files tinygen did not write
    are never overwritten unless `force`.  `options`: more arguments of generate()
    (match_tflm, kernels, layer_kernels); the reference follows what the generated layers
    compute (`reference_for`).  `layers`: compare every layer's outputs too (host runner:
    the layer hook), each against its own oracle, and name the first layer that differs."""
    model_path = Path(model_path)
    with tempfile.TemporaryDirectory(prefix="tinygen-verify-") as tmp:
        out = Path(work_dir) if work_dir else Path(tmp) / "project"
        gen = generate(model_path, out, target=target, library=library,
                       force=force or work_dir is None, cmsis_nn=cmsis_nn,
                       **runner.generate_options, **(options or {}), layer_hook=layers)
        runner.prepare(gen, out, Path(tmp), keep=work_dir is not None)
        graph = gen.program.graph
        ref = reference_for(model_path.read_bytes(), gen.program, layered=layers)
        rng = np.random.default_rng(seed)
        vectors = [random_inputs(graph, rng) for _ in range(count)]
        tick = progress.counter(f"verify: reference ({ref.name}) vector", count)
        wants, want_layers = [], []
        for k, xs in enumerate(vectors):
            wants.append(ref.run(xs))
            want_layers.append(getattr(ref, "values", None))
            tick(k + 1)
        gots = runner.run(vectors)
        report = VerifyReport(model=model_path.name, target=f"{target} ({runner.describe()})",
                              count=count, reference=ref.name,
                              arena_bytes=gen.program.plan.arena_bytes,
                              lower_bound=gen.program.plan.lower_bound)
        report.outputs = [OutputReport(graph.tensors[t].name) for t in graph.outputs]
        report.notes.extend(w for layer in gen.program.layers for w in layer.call.warnings)
        for got, want in zip(gots, wants):
            for k, (g, w) in enumerate(zip(got, want)):
                compare(graph.tensors[graph.outputs[k]].name, g, w, report.outputs[k])
        if layers:
            oracles = {l.op.index: l.oracle for l in ref.layers}
            report.layers = compare_layers(gen.program, runner.layer_values, want_layers,
                                           oracles)
        if not report.ok:
            report.notes.extend(runner.notes(gots, wants))
        report.profile = getattr(runner, "profile_report", None)
        report.notes.extend(getattr(runner, "run_notes", []))
        return report


class HostRunner:
    """This machine: the project built into a shared library, called through cffi."""

    generate_options: dict = {}

    def __init__(self, extra_flags: list[str] | None = None,
                 cmsis_nn: str | Path | None = None):
        self.extra_flags = extra_flags
        self.cmsis_nn = cmsis_nn

    def prepare(self, gen: Generated, project: Path, tmp: Path, keep: bool) -> None:
        self.model = HostModel(project, tmp / "build", extra_flags=self.extra_flags,
                               cmsis_nn=self.cmsis_nn)
        self.layer_values = self.model.layer_history    # per invoke, with a layer hook
        self.kernels = gen.program.library
        if "cmsis_nn" in gen.program.libraries:
            entry = gen.program.libraries["cmsis_nn"]
            self.kernels = f"CMSIS-NN {entry['version']}, {entry['code_path']} path"

    def run(self, vectors: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        tick = progress.counter("verify: vector", len(vectors))
        outs = []
        for k, xs in enumerate(vectors):
            outs.append(self.model.invoke(xs))
            tick(k + 1)
        return outs

    def describe(self) -> str:
        return f"cffi, {self.kernels}"

    def notes(self, gots, wants) -> list[str]:
        return []


class CortexMRunner:
    """A Cortex-M target: cross-compiled with a harness holding the vectors, run on the
    emulated board with the same core (QEMU)."""

    # the memory report is not needed, and a board's limits are not the emulator's
    generate_options: dict

    def __init__(self, target: str, timeout: float = 300.0,
                 cmsis_nn: str | Path | None = None, profile: bool = False,
                 flash_bytes: int | None = None):
        self.target = load_target(target)
        if not is_cortex_m(self.target):
            raise TinygenError(f"target '{target}' is not a Cortex-M target")
        self.board = cortexm.emulated_board(self.target)
        cortexm.require_tools(what=f"verify on {self.board['name']}")
        self.timeout = timeout
        self.cmsis_nn = cmsis_nn
        self.profile = profile
        self.flash_bytes = flash_bytes
        self.generate_options = dict(measure=False, check_fit=False, profile=profile)
        self.profile_report = None
        self.run_notes: list[str] = []

    def prepare(self, gen: Generated, project: Path, tmp: Path, keep: bool) -> None:
        self.gen, self.project = gen, project
        self.manifest = json.loads((project / "tinygen.json").read_text())
        self.cmsis = cortexm.CmsisNNSources.of(self.manifest, self.cmsis_nn)
        # with --keep, the ELF stays too: qemu-system-arm -M <machine> -semihosting ... -kernel
        self.build = project / "build" / "verify" if keep else tmp / "build"

    def run(self, vectors: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """The vectors are split over as many emulator runs as the board's flash needs
        (`flash_bytes`, default the board's, caps it and is enforced by the linker)."""
        self.build.mkdir(parents=True, exist_ok=True)
        runs = cortexm.EmulatorRuns(self.gen, self.manifest, self.target, self.board,
                                    self.build, self.cmsis, profile=self.profile,
                                    flash_bytes=self.flash_bytes, timeout=self.timeout)
        gots, self.profile_report = runs.run_all(vectors)
        if len(runs.plan) > 1:
            self.run_notes.append(f"{len(vectors)} vectors in {len(runs.plan)} emulator runs "
                                  f"of up to {runs.per_run} ({runs.split_reason})")
        return gots

    def describe(self) -> str:
        kernels = ""
        if self.cmsis:
            entry = self.manifest["cmsis_nn"]
            kernels = f", CMSIS-NN {entry['version']}, {entry['code_path']} path"
        return f"QEMU {self.board['qemu_machine']}{kernels}"

    def notes(self, gots, wants) -> list[str]:
        return cortexm.libm_notes(self.project, self.manifest, self.target, gots, wants)


def verify_host(model_path: str | Path, count: int = 10, seed: int = 0, target: str = "host",
                library: str | None = None, work_dir: Path | None = None,
                extra_flags: list[str] | None = None,
                cmsis_nn: str | Path | None = None, force: bool = False,
                layers: bool = False, **options) -> VerifyReport:
    """Verify on this machine (cffi); `options`: match_tflm, kernels, layer_kernels.
    `layers`: compare every layer's outputs too (report.layers)."""
    return run_verify(HostRunner(extra_flags, cmsis_nn), model_path, count, seed, target,
                      work_dir=work_dir, cmsis_nn=cmsis_nn, force=force, library=library,
                      options=options, layers=layers)


def verify_cortexm(model_path: str | Path, count: int = 10, seed: int = 0,
                   target: str = "cortex-m4", work_dir: Path | None = None,
                   timeout: float = 300.0, cmsis_nn: str | Path | None = None,
                   force: bool = False, profile: bool = False,
                   flash_bytes: int | None = None, **options) -> VerifyReport:
    """`tinygen verify --target <cortex-m core or board>`: bit-exactness on the emulator.

    cmsis_nn: a CMSIS-NN folder; its kernels (their DSP/MVE code path for the core) run the
    layers they can, cross-compiled into the same program.  profile: time every layer too
    (report.profile, instructions counted by QEMU).  The vectors are split over as many
    emulator runs as the flash needs (`flash_bytes`, default the board's, caps it).
    `options`: match_tflm, kernels, layer_kernels."""
    runner = CortexMRunner(target, timeout, cmsis_nn, profile=profile, flash_bytes=flash_bytes)
    return run_verify(runner, model_path, count, seed, target, work_dir=work_dir,
                      cmsis_nn=cmsis_nn, force=force, options=options)


def verify(model_path: str | Path, count: int = 10, seed: int = 0, target: str = "host",
           work_dir: Path | None = None, cmsis_nn: str | Path | None = None,
           force: bool = False, profile: bool = False, layers: bool = False,
           **options) -> VerifyReport:
    """Verify on the host (cffi) or, for a Cortex-M core or board, on its emulated board.
    `options`: more arguments of generate() (match_tflm, kernels, layer_kernels).
    profile: also time every layer (emulated Cortex-M targets only; report.profile).
    layers: compare every layer's outputs too (host only; report.layers)."""
    if layers and is_cortex_m(load_target(target)):
        raise TinygenError("verify --layers compares every layer's outputs on the host only "
                           "(the generated code's host-only layer hook); drop --target, or "
                           "--layers")
    if is_cortex_m(load_target(target)):
        return verify_cortexm(model_path, count=count, seed=seed, target=target,
                              work_dir=work_dir, cmsis_nn=cmsis_nn, force=force,
                              profile=profile, **options)
    if profile:
        raise TinygenError("verify --profile times layers on an emulated Cortex-M target "
                           "(--target cortex-m4, cortex-m3, cortex-m7 or a board on them); on "
                           "the host, generate with --profile and call <name>_profile_print"
                           "(printf) after <name>_invoke()")
    return verify_host(model_path, count=count, seed=seed, target=target, work_dir=work_dir,
                       cmsis_nn=cmsis_nn, force=force, layers=layers, **options)
