"""Shared test helpers: generate a model's C, build it on the host, compare with TFLM."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.toolchain.host import HostExecutable, HostModel
from codegen.frontend import read_tflite
from codegen.generate import Generated, generate
from codegen.reference_layers import reference_for
from codegen.vectors import random_inputs

SHARED_MODELS = Path(__file__).resolve().parent.parent.parent / "shared" / "models"
@dataclass
class BitExact:
    gen: Generated       # what tinygen generated
    reference: str       # which reference the outputs were compared with


SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]


def assert_bit_exact(model_bytes: bytes, tmp_path: Path, count: int = 3, seed: int = 0,
                     name: str = "model", inputs: list[list[np.ndarray]] | None = None,
                     library: str | None = None, cmsis_nn: str | Path | None = None,
                     reference_model: bytes | None = None, sanitize: bool = False,
                     kernels: list[str] | None = None, **options) -> "BitExact":
    """Generate, build and run `model_bytes`; every output must equal the reference's exactly.

    The reference is TFLM, or LiteRT's BUILTIN_REF where TFLM cannot run the model
    (`codegen.reference.make_reference`), or layer by layer where tinygen computes
    TFLite's arithmetic for some layers (`codegen.reference_layers.reference_for`); it
    runs `reference_model` if given (an
    equivalent file, e.g. with static shapes folded).  `cmsis_nn`: a CMSIS-NN folder to
    generate and build with.  sanitize=True builds a standalone program under ASan/UBSan
    instead of the cffi library (slower; catches out-of-bounds accesses and undefined
    behaviour).  `kernels`: the kernel preference (e.g. ["dsp", "portable"]); `options`:
    more arguments of generate() (e.g. compress=("int4",)).
    """
    model_path = tmp_path / f"{name}.tflite"
    model_path.write_bytes(model_bytes)
    out = tmp_path / "out"
    gen = generate(model_path, out, target="host", library=library, force=True,
                   cmsis_nn=cmsis_nn, kernels=kernels, **options)
    graph = read_tflite(model_bytes)
    ref = reference_for(reference_model or model_bytes, gen.program)
    rng = np.random.default_rng(seed)
    runs = inputs if inputs is not None else [random_inputs(graph, rng) for _ in range(count)]
    if sanitize:
        all_got = HostExecutable(out, tmp_path / "build_asan", sanitize=True).invoke_many(runs)
    else:
        host = HostModel(out, tmp_path / "build", cmsis_nn=cmsis_nn)
    for k, xs in enumerate(runs):
        want = ref.run(xs)
        got = all_got[k] if sanitize else host.invoke(xs)
        for j, (g, w) in enumerate(zip(got, want)):
            g = np.asarray(g).reshape(-1)
            w = np.asarray(w).reshape(-1)
            if g.dtype.kind == "f":
                same = np.array_equal(g.view(np.uint32), w.astype(g.dtype).view(np.uint32))
            else:
                same = np.array_equal(g, w)
            if not same:
                bad = np.nonzero(g != w)[0]
                raise AssertionError(
                    f"run {k}, output {j}: {bad.size}/{w.size} elements differ; first at "
                    f"{bad[:8].tolist()}: got {g[bad[:8]].tolist()} want {w[bad[:8]].tolist()}\n"
                    f"layers: {[l.call.kernel for l in gen.program.layers]}")
    return BitExact(gen, ref.name)
