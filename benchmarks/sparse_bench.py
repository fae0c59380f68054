"""Sparse filters on the emulated Cortex-M4: single-layer FULLY_CONNECTED and pointwise
CONV_2D models at given fractions of exact zeros (two whole zero channels too), the cycles
of the layer with its filter stored sparse against the same layer on the int8 dsp kernel,
and the filter bytes against int8.

    python3 benchmarks/sparse_bench.py [--zeros 0.5,0.8,0.9] [--json FILE]

The sparse encoding is forced on every layer (even where `auto` would keep int8), so the
table shows where it pays; `auto` column: what --compress auto chooses there.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.m4_bench import bench  # noqa: E402
from codegen.encoding import KINDS, choose  # noqa: E402
from codegen.frontend.tflite_writer import ModelWriter  # noqa: E402
from codegen.generate import generate  # noqa: E402

# (name, kind, shape): FC (batches, depth, units); 1x1 conv (h, w, in_d, out_d)
LAYERS = [
    ("fc1x256x128", "fc", (1, 256, 128)),
    ("fc4x256x64", "fc", (4, 256, 64)),
    ("pw16x16x64x64", "pw", (16, 16, 64, 64)),
    ("pw8x8x128x96", "pw", (8, 8, 128, 96)),
]


def sparse_filter(rng, shape, zeros: float) -> np.ndarray:
    """int8 values with a `zeros` fraction of exact zeros, then channels 0 and C/2 all zero
    (a little over `zeros` in all)."""
    w = rng.integers(-127, 128, shape)
    w[w == 0] = 1
    flat = w.reshape(-1)
    flat[rng.permutation(flat.size)[:int(round(zeros * flat.size))]] = 0   # exactly
    w[0] = 0
    w[shape[0] // 2] = 0
    return w.astype(np.int8)


def layer_model(kind: str, shape, zeros: float, seed: int) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    if kind == "fc":
        b, d, u = shape
        x = m.tensor("x", (b, d), "int8", scale=0.05, zero_point=-3)
        wv = sparse_filter(rng, (u, d), zeros)
        ws = rng.uniform(0.002, 0.02, u)
        w = m.const("w", wv, "int8", scale=ws, zero_point=[0] * u, axis=0)
        bias = m.const("b", rng.integers(-5000, 5000, (u,)), "int32", scale=0.05 * ws,
                       zero_point=[0] * u)
        y = m.tensor("y", (b, u), "int8", scale=0.05 * float(ws.mean()) * 60 * np.sqrt(d),
                     zero_point=5)
        m.op("FULLY_CONNECTED", [x, w, bias], [y], {"fused_activation_function": 0})
    else:
        h, wd, i, o = shape
        x = m.tensor("x", (1, h, wd, i), "int8", scale=0.05, zero_point=-3)
        wv = sparse_filter(rng, (o, 1, 1, i), zeros)
        ws = rng.uniform(0.002, 0.02, o)
        w = m.const("w", wv, "int8", scale=ws, zero_point=[0] * o, axis=0)
        bias = m.const("b", rng.integers(-5000, 5000, (o,)), "int32", scale=0.05 * ws,
                       zero_point=[0] * o)
        y = m.tensor("y", (1, h, wd, o), "int8",
                     scale=0.05 * float(ws.mean()) * 60 * np.sqrt(i), zero_point=5)
        m.op("CONV_2D", [x, w, bias], [y], {"padding": 1, "stride_w": 1, "stride_h": 1,
                                           "fused_activation_function": 0})
    m.inputs.append(x)
    m.outputs.append(y)
    return m.build(), wv


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--zeros", default="0.5,0.8,0.9", help="fractions of zeros")
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for name, kind, shape in LAYERS:
            for z in (float(s) for s in args.zeros.split(",")):
                model, wv = layer_model(kind, shape, z, seed=zlib.crc32(f"{name}{z}".encode()))
                path = work / f"{name}_{int(z * 100)}.tflite"
                path.write_bytes(model)
                enc = choose(wv, 0, ("sparse",), forced=True)
                auto = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
                chosen = auto.program.layers[0]
                int8 = bench(path, "dsp", None, work / "int8", per_layer=False, op_by_op=False)
                sp = bench(path, "dsp", None, work / "sparse", per_layer=False,
                           layer_compress={0: ("sparse",)}, op_by_op=False)
                rows.append(dict(layer=name, zeros=z, real_zeros=float(np.mean(wv == 0)),
                                 int8_bytes=enc.before, sparse_bytes=enc.after,
                                 int8_cycles=int8["cycles"], sparse_cycles=sp["cycles"],
                                 auto=f"{chosen.selection.filter.encoding} "
                                      f"({chosen.call.kernel})"))
                r = rows[-1]
                print(f"{name:15s} {z:4.0%} bytes {r['sparse_bytes'] / r['int8_bytes']:.3f}x "
                      f"cycles {r['int8_cycles']:>9,} -> {r['sparse_cycles']:>9,} "
                      f"({r['sparse_cycles'] / r['int8_cycles']:.2f}x)  auto: {r['auto']}",
                      flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
