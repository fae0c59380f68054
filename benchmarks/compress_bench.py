"""Filter compression against the int8 dsp kernels: single-layer models (pointwise CONV_2D,
FULLY_CONNECTED) whose filters are int4-ranged, drawn from small palettes per output
channel ("pal<n>": n random values per channel) or clustered ("clu<n>": n centroids per
tensor, a batch-norm scale folded in per channel, quantized per channel), generated for cortex-m4 with --compress none and with the encoding, run under
../shared/tools/m4run: filter bytes stored / int8 and cycles / int8 cycles.

    python3 benchmarks/compress_bench.py [--cases NAME,...] [--named]
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.m4_bench import bench  # noqa: E402
from codegen.frontend.tflite_writer import ModelWriter  # noqa: E402
from tests.conv_models import ConvCase, add_layer  # noqa: E402
from tests.test_compress import draw, set_filter  # noqa: E402
from tests.test_dsp_kernels import add_fc  # noqa: E402

# name: (layer, filter kind (tests/test_compress.py draw), encoding)
CASES = {
    "int4-fc": (("fc", 1, 256, 64), "int4", "int4"),
    "int4-fc-b8": (("fc", 8, 256, 64), "int4", "int4"),
    "pal16-fc-b8": (("fc", 8, 256, 64), "pal16", "palette"),
}
for _d in (16, 64, 256):
    for _kind, _enc in (("int4", "int4"), ("pal16", "palette"), ("pal4", "palette"),
                        ("clu16", "palette"), ("clu4", "palette")):
        CASES[f"{_kind}-1x1-d{_d}"] = (("conv", 12, 12, _d, 64), _kind, _enc)


def layer_model(layer, kind: str, seed: str) -> bytes:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    if layer[0] == "conv":
        _, h, w, d, c = layer
        add_layer(m, rng, ConvCase(in_h=h, in_w=w, in_d=d, out_d=c, k_h=1, k_w=1), "c")
        set_filter(m, draw(rng, kind, (c, 1, 1, d), 0))
    else:
        _, b, d, u = layer
        add_fc(m, rng, "f", b, d, u, True, "NONE")
        set_filter(m, draw(rng, kind, (u, d), 0))
    return m.build()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--named", action="store_true",
                    help="run the compressed kernels even where --compress auto keeps the "
                         "int8 filter (as --compress-layer N=ENC does)")
    args = ap.parse_args(argv)
    if args.named:
        import codegen.lowering.compressed_support as cs
        cs.AUTO_MAX_RATIO = {k: float("inf") for k in cs.AUTO_MAX_RATIO}
    print("| case | encoding | filter bytes | cycles int8 | cycles | bytes ratio | cycles ratio |")
    print("|---|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        layer, kind, enc = CASES[name]
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"{name}.tflite"
            path.write_bytes(layer_model(layer, kind, name))
            base = bench(path, "dsp", None, Path(tmp) / "int8", per_layer=False)
            comp = bench(path, "dsp", None, Path(tmp) / "c", per_layer=False,
                         compress=(enc,))
            man = json.loads((Path(tmp) / "c" / "whole" / "project" /
                              "tinygen.json").read_text())
            f = man["layers"][0].get("filter") or {}
        print(f"| {name} | {f.get('label')} | {f.get('bytes_stored')} / {f.get('bytes_int8')} "
              f"| {base['cycles']:,} | {comp['cycles']:,} | "
              f"{f.get('bytes_stored', 0) / max(f.get('bytes_int8', 1), 1):.3f}x | "
              f"{comp['cycles'] / base['cycles']:.3f}x |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
