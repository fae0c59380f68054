"""The golden reference: TFLM's reference kernels through the tflite_micro package.

Where TFLM cannot run a model (it refuses it when loading, allocating or
invoking), LiteRT's interpreter with its reference kernels (BUILTIN_REF) is the
fallback, as ../shared/README.md names it; never LiteRT's optimized kernels,
which differ from the reference ones.  `make_reference` picks between them.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile

import numpy as np

from codegen.errors import ToolchainError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.graph import Graph
from codegen.passes import TFLITE_PASSES, run_passes
from codegen.passes.decompress import tflm_misreads
from codegen.ops.gather import positions_range


# The reference versions outputs are compared against (the `verify` extra in pyproject.toml).
TFLM_PIN = "tflite_micro==0.dev20261023182759"
LITERT_PIN = "ai-edge-litert==2.3.0"

_NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
       "int64": np.int64, "float32": np.float32, "bool": np.bool_}


class TflmCannotRun(ToolchainError):
    """TFLM refused this model (not a missing package): another reference may serve."""


def _arena_size(graph: Graph) -> int:
    act = sum(t.nbytes for t in graph.tensors if not t.is_const)
    return 2 * act + (1 << 20)


@contextlib.contextmanager
def _tflm_log(log: list[str]):
    """Collect what TFLM prints on the C stderr (its reasons for refusing a model)."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as f:
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            f.seek(0)
            log.extend(ln.strip() for ln in f.read().decode("utf-8", "replace").splitlines()
                       if ln.strip())


def _reason(e: Exception, log: list[str]) -> str:
    """TFLM's exception and what it printed, on one line."""
    text = "; ".join([str(e).strip() or type(e).__name__] + log[-3:])
    return text if len(text) <= 300 else text[:297] + "..."


class TflmReference:
    """One TFLM interpreter for a model, run on numpy inputs."""

    name = "TFLM reference kernels"

    def __init__(self, model_bytes: bytes, graph: Graph):
        try:  # lazily: an optional, heavy dependency (tests and verify only)
            from tflite_micro.python.tflite_micro import runtime
        except ImportError as e:
            raise ToolchainError("the golden reference needs the tflite_micro package, at the "
                                 f"version tinygen is tested with: pip install \"{TFLM_PIN}\" "
                                 "(or pip install \"tinygen[verify]\")") from e
        self.graph = graph
        log: list[str] = []
        try:
            with _tflm_log(log):
                self.interp = runtime.Interpreter.from_bytes(model_bytes,
                                                             arena_size=_arena_size(graph))
        except Exception as e:
            raise TflmCannotRun(f"TFLM could not load this model: {_reason(e, log)}") from None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for k, x in enumerate(inputs):
            t = self.graph.tensors[self.graph.inputs[k]]
            self.interp.set_input(np.ascontiguousarray(x).reshape(t.shape), k)
        try:
            # (not captured like loading: if a kernel aborts, its message must stay visible)
            self.interp.invoke()
        except Exception as e:
            raise TflmCannotRun(f"TFLM could not run this model: {_reason(e, [])}") from None
        return [np.array(self.interp.get_output(k)) for k in range(len(self.graph.outputs))]

    def reset(self) -> None:
        self.interp.reset()


class LiteRtReference:
    """LiteRT's interpreter with reference kernels (BUILTIN_REF), for models TFLM cannot run."""

    def __init__(self, model_bytes: bytes, graph: Graph, why: str = ""):
        try:  # lazily: an optional, heavy dependency (the fallback reference only)
            from ai_edge_litert.interpreter import Interpreter, OpResolverType
        except ImportError as e:
            raise ToolchainError("TFLM cannot run this model and the fallback reference needs "
                                 f"LiteRT: pip install \"{LITERT_PIN}\" (or pip install "
                                 "\"tinygen[verify]\")") from e
        self.graph = graph
        self.name = "LiteRT reference kernels (BUILTIN_REF)" + (f"; {why}" if why else "")
        try:
            self.interp = Interpreter(model_content=model_bytes,
                                      experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
            self.interp.allocate_tensors()
        except Exception as e:
            raise ToolchainError(f"neither TFLM nor LiteRT can run this model: {why}; "
                                 f"LiteRT: {_reason(e, [])}") from None

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        for k, x in enumerate(inputs):
            t = self.graph.tensors[self.graph.inputs[k]]
            self.interp.set_tensor(t.index, np.ascontiguousarray(x).reshape(t.shape))
        try:
            self.interp.invoke()
        except RuntimeError as e:
            raise ToolchainError(f"the reference ({self.name}) failed on these inputs: "
                                 f"{_reason(e, [])}") from None
        return [np.array(self.interp.get_tensor(t)) for t in self.graph.outputs]

    def reset(self) -> None:
        self.interp.reset_all_variables()


def _trial_inputs(graph: Graph) -> list[np.ndarray]:
    """Fixed pseudo-random inputs (not zeros: TFLM aborts the process on all-zero inputs of
    some SOFTMAX test models, e.g. tests/test_op_softmax.py::test_softmax_random[0-int8])."""
    rng = np.random.default_rng(0)
    out = []
    for t in (graph.tensors[i] for i in graph.inputs):
        dt = np.dtype(_NP[t.dtype])
        if dt.kind == "f":
            out.append(rng.uniform(-1.0, 1.0, t.shape).astype(dt))
        elif dt.kind == "b":
            out.append(rng.integers(0, 2, t.shape).astype(dt))
        else:
            lo, hi = max(np.iinfo(dt).min, -1000), min(np.iinfo(dt).max, 1000)
            lo, hi = positions_range(graph, t.index) or (lo, hi)
            out.append(rng.integers(lo, hi, t.shape, endpoint=True).astype(dt))
    return out


def folded_model(model_bytes: bytes, extra_outputs: list[int] = ()) -> bytes:
    """The same model with tinygen's graph passes applied (SHAPE, FILL, ... of static shapes
    folded to constants), written back to a .tflite file.  `extra_outputs` (tensor indices)
    become model outputs too, after the model's own."""
    g = run_passes(read_tflite(model_bytes), TFLITE_PASSES)
    m = ModelWriter(description=f"{g.description} (static shapes folded by tinygen)")
    for t in g.tensors:
        q = {}
        if t.quant is not None:
            q = dict(scale=t.quant.scale, zero_point=t.quant.zero_point, axis=t.quant.axis)
        m.tensor(t.name, t.shape, t.dtype, data=t.data, is_variable=t.is_variable, **q)
    for op in g.ops:
        m.op(op.opcode, op.inputs, op.outputs, op.options, version=op.version)
    m.inputs = list(g.inputs)
    m.outputs = list(g.outputs) + [t for t in extra_outputs if t not in g.outputs]
    return m.build()


def _tflm_if_it_runs(model_bytes: bytes, graph: Graph) -> TflmReference:
    ref = TflmReference(model_bytes, graph)
    ref.run(_trial_inputs(graph))
    ref.reset()                       # the trial run must not leave state behind
    return ref


def make_reference(model_bytes: bytes, graph: Graph) -> TflmReference | LiteRtReference:
    """The reference firmware would run, as close as it can be had.

    1. TFLM on the model, if it loads and runs it (one trial run).
    2. Else TFLM on the model with static shapes folded (what tinygen itself compiles):
       TFLM cannot run SHAPE -> FILL, but runs every other layer of such models.
    3. Else LiteRT's BUILTIN_REF interpreter on the original model.
    """
    # (`graph` may be the graph after the passes, its DECODE operators gone: read the file)
    why = tflm_misreads(read_tflite(model_bytes)) if b"TFLM_DECODE" in model_bytes else None
    if why is None:
        try:
            return _tflm_if_it_runs(model_bytes, graph)
        except TflmCannotRun as e:
            why = str(e)
    try:
        folded = folded_model(model_bytes)
    except Exception:                 # a model the passes or writer cannot round-trip
        folded = None
    if folded is not None and folded != model_bytes:
        try:
            ref = _tflm_if_it_runs(folded, graph)
            raw = read_tflite(model_bytes)    # INT4, sparse or TFLM_DECODE constants?
            decoded = any(t.stored_as for t in raw.tensors) or any(
                op.opcode in ("DENSIFY", "CUSTOM(TFLM_DECODE)") for op in raw.ops)
            ref.name = (f"TFLM reference kernels, on the model with static shapes folded"
                        f"{' and compressed constants decoded' if decoded else ''} "
                        f"(not on the original: {why})")
            return ref
        except TflmCannotRun:
            pass
    return LiteRtReference(model_bytes, graph, why=why)
