"""`tinygen verify`: generate, build, run random inputs, compare with the reference exactly."""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen import progress
from codegen.build.host import NP_DTYPES, HostModel
from codegen.generate import generate
from codegen.graph import Graph
from codegen.reference import make_reference


@dataclass
class OutputReport:
    name: str
    compared: int = 0
    differing: int = 0
    max_abs_diff: float = 0.0


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

    @property
    def ok(self) -> bool:
        return all(o.differing == 0 and o.compared > 0 for o in self.outputs)

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
        lines.append("  result: " + ("BIT-EXACT" if self.ok else "MISMATCH"))
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """Inputs covering each input's whole representable range."""
    out = []
    consumers = graph.consumers()
    for t_idx in graph.inputs:
        t = graph.tensors[t_idx]
        if t.dtype in ("int8", "uint8", "int16"):
            info = np.iinfo(NP_DTYPES[t.dtype])
            x = rng.integers(info.min, info.max, size=t.shape, endpoint=True)
            out.append(x.astype(NP_DTYPES[t.dtype]))
        elif t.dtype == "float32":
            lo, hi = -4.0, 4.0
            for op in consumers.get(t_idx, []):
                q = graph.tensors[op.outputs[0]].quant
                if op.opcode == "QUANTIZE" and q is not None:
                    s, zp = float(q.scale[0]), int(q.zero_point[0])
                    lo, hi = s * (-128 - zp), s * (127 - zp)
                    span = hi - lo
                    lo, hi = lo - 0.1 * span, hi + 0.1 * span
            out.append(rng.uniform(lo, hi, size=t.shape).astype(np.float32))
        elif t.dtype == "int32":
            out.append(rng.integers(-1000, 1000, size=t.shape).astype(np.int32))
        else:
            raise ValueError(f"cannot make random inputs of type {t.dtype}")
    return out


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


def verify_host(model_path: str | Path, count: int = 10, seed: int = 0, target: str = "host",
                library: str | None = None, work_dir: Path | None = None,
                extra_flags: list[str] | None = None,
                cmsis_nn: str | Path | None = None, force: bool = False) -> VerifyReport:
    """`work_dir` (--keep) is written like any output folder: files tinygen did not write
    are never overwritten unless `force`."""
    model_path = Path(model_path)
    with tempfile.TemporaryDirectory(prefix="tinygen-verify-") as tmp:
        out = Path(work_dir) if work_dir else Path(tmp) / "project"
        gen = generate(model_path, out, target=target, library=library,
                       force=force or work_dir is None, cmsis_nn=cmsis_nn)
        graph = gen.program.graph
        model = HostModel(out, Path(tmp) / "build", extra_flags=extra_flags,
                          cmsis_nn=cmsis_nn)
        ref = make_reference(model_path.read_bytes(), graph)
        rng = np.random.default_rng(seed)
        kernels = gen.program.library
        if "cmsis_nn" in gen.program.libraries:
            entry = gen.program.libraries["cmsis_nn"]
            kernels = f"CMSIS-NN {entry['version']}, {entry['code_path']} path"
        report = VerifyReport(model=model_path.name, target=f"{target} (cffi, {kernels})",
                              count=count,
                              reference=ref.name, arena_bytes=gen.program.plan.arena_bytes,
                              lower_bound=gen.program.plan.lower_bound)
        report.outputs = [OutputReport(graph.tensors[t].name) for t in graph.outputs]
        tick = progress.counter("verify: vector", count)
        for v in range(count):
            xs = random_inputs(graph, rng)
            want = ref.run(xs)
            got = model.invoke(xs)
            for k, (g, w) in enumerate(zip(got, want)):
                compare(graph.tensors[graph.outputs[k]].name, g, w, report.outputs[k])
            tick(v + 1)
        return report


def verify(model_path: str | Path, count: int = 10, seed: int = 0, target: str = "host",
           work_dir: Path | None = None, cmsis_nn: str | Path | None = None,
           force: bool = False, profile: bool = False) -> VerifyReport:
    """Verify on the host (cffi) or, for a Cortex-M core or board, on its emulated board.

    profile: also time every layer (emulated Cortex-M targets only; report.profile)."""
    from codegen.targets import is_cortex_m, load_target

    if is_cortex_m(load_target(target)):
        from codegen.build.cortexm import verify_cortexm
        return verify_cortexm(model_path, count=count, seed=seed, target=target,
                              work_dir=work_dir, cmsis_nn=cmsis_nn, force=force,
                              profile=profile)
    if profile:
        from codegen.errors import TinygenError
        raise TinygenError("verify --profile times layers on an emulated Cortex-M target "
                           "(--target cortex-m4, cortex-m3, cortex-m7 or a board on them); on "
                           "the host, generate with --profile and call <name>_profile_print"
                           "(printf) after <name>_invoke()")
    return verify_host(model_path, count=count, seed=seed, target=target, work_dir=work_dir,
                       cmsis_nn=cmsis_nn, force=force)
