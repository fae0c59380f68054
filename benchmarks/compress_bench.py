"""Filter compression against the int8 dsp kernels: single-layer models (pointwise CONV_2D,
FULLY_CONNECTED) whose filters are int4-ranged, drawn from small palettes per output
channel ("pal<n>": n random values per channel), clustered ("clu<n>": n centroids per
tensor, a batch-norm scale folded in per channel, quantized per channel) or pruned
("sp<z>": z % exact zeros, two whole zero channels; benchmarks/sparse_bench.py's layers),
generated for cortex-m4 with --compress none and with the encoding, run under
../shared/tools/m4run: filter bytes stored / int8 and cycles / int8 cycles.

    python3 benchmarks/compress_bench.py [--cases NAME,...] [--models NAME,...|none]
                                         [--named] [--json FILE]
                                         [--markdown benchmarks/COMPRESSION.md]

The table it prints (and writes with --markdown) is the issue's goals table for these
models; `benchmarks/COMPRESSION.md` is written by it, never by hand.
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.m4_bench import SHARED, bench  # noqa: E402
from codegen import compression  # noqa: E402
from codegen.compression import has_filter  # noqa: E402
from codegen.encoding import KINDS  # noqa: E402
from codegen.frontend.tflite_reader import read_tflite  # noqa: E402
from codegen.frontend.tflite_writer import ModelWriter  # noqa: E402
from codegen.generate import generate  # noqa: E402
from tests.conv_models import SAME, VALID, ConvCase, add_layer  # noqa: E402
from tests.test_compress import draw, set_filter  # noqa: E402
from tests.test_dsp_kernels import add_fc  # noqa: E402
from benchmarks import sparse_bench  # noqa: E402

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
# k x k convolutions (tg_dsp_cw_conv_s8): resnet8's three 3x3 shapes, a first layer
for _kind, _enc in (("int4", "int4"), ("pal16", "palette"), ("clu16", "palette"),
                    ("pal4", "palette")):
    for _h, _d, _c in ((32, 16, 16), (16, 32, 32), (8, 64, 64)):
        CASES[f"{_kind}-3x3-{_h}x{_d}x{_c}"] = (("conv", _h, _h, _d, _c, 3), _kind, _enc)
CASES["int4-3x3-48x3x16"] = (("conv", 48, 48, 3, 16, 3), "int4", "int4")
# depthwise 3x3 (tg_dsp_cw_depthwise_s8): kws's, MobileNet's at two sizes
# (a 3x3 palette's 9 values a channel hardly repay its table: below the floor of pal<n>)
for _h, _w, _d, _s in ((25, 5, 64, 1), (24, 24, 32, 1), (12, 12, 128, 1)):
    CASES[f"int4-dw-{_h}x{_w}x{_d}"] = (("dw", _h, _w, _d, 3, _s), "int4", "int4")
for _name, _kind, _shape in sparse_bench.LAYERS:
    CASES[f"sp80-{_name}"] = ((_kind, *_shape), "sp80", "sparse")
# what each kind of filter must reach (issue 14): bytes, cycles against int8
GOALS = {"int4": (0.55, 1.15), "pal16": (0.55, 1.25), "clu16": (0.55, 1.25),
         "pal4": (0.30, 1.25), "clu4": (0.30, 1.25), "sp80": (0.40, 1.0)}


def entropy_floor(kind: str, depth: int, alphabet: int = 255) -> float | None:
    """The least filter bytes ratio (against int8) that any lossless encoding can reach on
    average for a random `pal<n>` filter (tests/test_compress.py draw: per output channel, a
    set S of n values drawn from `alphabet` int8 values, then `depth` values drawn uniformly
    from S); None for the other kinds, whose values are not drawn independently of the
    model's structure.

    Shannon: no uniquely decodable code is shorter on average than the entropy H of a
    channel's values x.  Exactly: a sequence x of `depth` values with k distinct ones has
    probability P_k = C(alphabet - k, n - k) / C(alphabet, n) / n^depth (S must hold its k
    values), and there are N_k = C(alphabet, k) k! S2(depth, k) such sequences (S2: Stirling
    numbers of the second kind), so H = -sum_k N_k P_k log2 P_k."""
    if not kind.startswith("pal"):
        return None
    n = int(kind[3:])
    # Stirling numbers of the second kind S2(depth, k), k = 0..n
    s2 = [1] + [0] * n
    for _ in range(depth):
        s2 = [0] + [k * s2[k] + s2[k - 1] for k in range(1, n + 1)]
    sets = math.comb(alphabet, n)
    bits = 0.0
    for k in range(1, n + 1):
        count = math.comb(alphabet, k) * math.factorial(k) * s2[k]
        if count == 0:
            continue
        mass = Fraction(count * math.comb(alphabet - k, n - k), sets * n ** depth)
        log_p = (math.log2(math.comb(alphabet - k, n - k)) - math.log2(sets)
                 - depth * math.log2(n))
        bits -= float(mass) * log_p
    return bits / 8 / depth


def layer_model(layer, kind: str, seed: str) -> bytes:
    if kind == "sp80":
        return sparse_bench.layer_model(layer[0], layer[1:], 0.8, zlib.crc32(seed.encode()))[0]
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    if layer[0] == "conv":
        _, h, w, d, c, *k = layer
        k = k[0] if k else 1
        add_layer(m, rng, ConvCase(in_h=h, in_w=w, in_d=d, out_d=c, k_h=k, k_w=k), "c")
        set_filter(m, draw(rng, kind, (c, k, k, d), 0))
    elif layer[0] == "dw":
        _, h, w, d, k, st = layer
        add_layer(m, rng, ConvCase(op="DEPTHWISE_CONV_2D", in_h=h, in_w=w, in_d=d, out_d=d,
                                   k_h=k, k_w=k, stride=(st, st)), "d")
        set_filter(m, draw(rng, kind, (1, k, k, d), 3))
    else:
        _, b, d, u = layer
        add_fc(m, rng, "f", b, d, u, True, "NONE")
        set_filter(m, draw(rng, kind, (u, d), 0))
    return m.build()


def _filter_shape(layer) -> tuple:
    """The int8 filter's shape of a case's layer."""
    if layer[0] == "conv":
        k = layer[5] if len(layer) > 5 else 1
        return (layer[4], k * k * layer[3])
    if layer[0] == "fc":
        return (layer[3], layer[2])
    if layer[0] == "dw":
        return (layer[3], layer[4] * layer[4])
    if layer[0] == "pw":
        return (layer[4], layer[3])
    raise ValueError(layer)


def measure(name: str, work: Path) -> dict:
    """One case: the layer with its filter int8 and with the encoding (--compress ENC, the
    code check off: compression.code_table({})), filter bytes from tinygen.json, cycles
    from m4run, and the code the layer's compressed kernel adds
    (codegen/compressed_code.py)."""
    layer, kind, enc = CASES[name]
    path = work / f"{name}.tflite"
    path.write_bytes(layer_model(layer, kind, name))
    base = bench(path, "dsp", None, work / "int8", per_layer=False, op_by_op=False)
    with compression.code_table({}):     # (a lone layer measured for its kernel)
        comp = bench(path, "dsp", None, work / "c", per_layer=False, compress=(enc,),
                     op_by_op=False)
        gen = generate(path, None, target="cortex-m4", measure=False, compress=(enc,))
    unit = compression.code_unit(gen.program.layers[0].call)
    man = json.loads((work / "c" / "whole" / "project" / "tinygen.json").read_text())
    f = man["layers"][0].get("filter") or {}
    int8 = f.get("bytes_int8") or int(np.prod(_filter_shape(layer)))
    stored = f.get("bytes_stored") or int8
    goal = GOALS[kind]
    row = dict(case=name, kind=kind, encoding=f.get("label") or "int8 (kept)",
               kernel=man["layers"][0].get("kernel"), bytes_stored=stored, bytes_int8=int8,
               cycles_int8=base["cycles"], cycles=comp["cycles"],
               bytes_goal=goal[0], cycles_goal=goal[1],
               kernel_code=compression.code_bytes([unit]) if unit else 0)
    row["bytes_ratio"] = stored / int8
    row["entropy_floor"] = entropy_floor(kind, _filter_shape(layer)[1])
    row["cycles_ratio"] = comp["cycles"] / base["cycles"]
    return row


# whole models: a shared model's filters made `int4` (each output channel scaled into
# [-7, 7], as 4-bit quantization-aware training leaves them) or `pal16` (each channel's
# values moved to the nearest of 16 levels at its quantiles, as per-channel clustering
# leaves them), the quantization parameters unchanged; run with --compress none and auto
MODEL_CASES = {f"{kind}-{short}": (name, kind)
               for short, name in (("resnet8", "mlperf_ic_resnet8"),
                                   ("vww", "mlperf_vww_mobilenet96"),
                                   ("kws", "mlperf_kws_dscnn"))
               for kind in ("int4", "pal16")}
FILTER_AXIS = {"CONV_2D": 0, "FULLY_CONNECTED": 0, "DEPTHWISE_CONV_2D": 3}


def _requantized(v: np.ndarray, axis: int, kind: str) -> np.ndarray:
    """A filter's int8 values as a model of that kind would hold them."""
    moved = np.moveaxis(v.astype(np.float64), axis, 0)
    rows = moved.reshape(moved.shape[0], -1)
    if kind == "int4":
        top = np.maximum(np.abs(rows).max(axis=1, keepdims=True), 1)
        out = np.clip(np.round(rows * 7 / top), -8, 7)
    else:
        out = np.empty_like(rows)
        for c, row in enumerate(rows):
            levels = np.unique(np.round(np.quantile(row, np.linspace(0, 1, 16))))
            out[c] = levels[np.abs(row[:, None] - levels[None, :]).argmin(axis=1)]
    return np.moveaxis(out.reshape(moved.shape), 0, axis).astype(np.int8)


def model_of_kind(path: Path, kind: str) -> bytes:
    """The model at `path` with every int8 filter of CONV_2D, DEPTHWISE_CONV_2D and
    FULLY_CONNECTED made `kind` (_requantized), written over its own bytes."""
    import tflite
    buf = bytearray(path.read_bytes())
    model = tflite.Model.GetRootAsModel(buf, 0)
    graph = model.Subgraphs(0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    done = set()
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code = model.OperatorCodes(op.OpcodeIndex())
        opcode = names.get(max(code.BuiltinCode(), code.DeprecatedBuiltinCode()))
        if opcode not in FILTER_AXIS or op.InputsLength() < 2 or op.Inputs(1) < 0:
            continue
        t = graph.Tensors(op.Inputs(1))
        data = model.Buffers(t.Buffer()).DataAsNumpy()
        if t.Type() != tflite.TensorType.INT8 or t.Buffer() in done or \
                not isinstance(data, np.ndarray) or data.size == 0:
            continue
        v = data.view(np.int8).reshape(t.ShapeAsNumpy())
        v[...] = _requantized(v, FILTER_AXIS[opcode], kind)      # in place, in buf
        done.add(t.Buffer())
    return bytes(buf)


def measure_model(name: str, work: Path, named: bool = False) -> dict:
    """One whole model of a kind: --compress none against auto (dsp kernels), or
    (`named`) against every filter named (--compress-layer N=auto for each: compressed
    wherever an encoding saves bytes, whatever it costs in cycles, RAM or code)."""
    shared, kind = MODEL_CASES[name]
    path = work / f"{name}.tflite"
    path.write_bytes(model_of_kind(SHARED / "models" / f"{shared}.tflite", kind))
    graph = read_tflite(path.read_bytes())
    layer_compress = {op.index: KINDS for op in graph.ops if has_filter(op, graph)} \
        if named else None
    base = bench(path, "dsp", None, work / "int8", per_layer=not named, op_by_op=False)
    comp = bench(path, "dsp", None, work / "c", per_layer=not named, compress=KINDS,
                 layer_compress=layer_compress, op_by_op=False)
    man = json.loads((work / "c" / "whole" / "project" / "tinygen.json").read_text())
    # per compressed filter: its layer's cycles, and the int8 layer's (none where the int8
    # build fuses it into a residual block)
    int8_cycles = {r["index"]: r for r in base["layer_cycles"]}
    per_filter = []
    for layer, r in zip(man["layers"], comp.get("layer_cycles") or []):
        f = layer.get("filter")
        if not f or f["encoding"] == "raw":
            continue
        was = int8_cycles.get(r["index"])
        per_filter.append(dict(layer=r["index"], op=r["op"], kernel=r["kernel"],
                               encoding=f["label"], bytes_int8=f["bytes_int8"],
                               bytes_stored=f["bytes_stored"], cycles=r["cycles"],
                               estimate=f.get("cycles_vs_int8_estimate"),
                               cycles_int8=was["cycles"] if was and was["op"] == r["op"]
                               else None))
    # every filter of the model (a fused residual block's layers list none: int8)
    int8 = sum(graph.tensors[i].data.size for i in
               {op.inputs[1] for op in graph.ops if has_filter(op, graph)})
    filters = [layer["filter"] for layer in man["layers"] if layer.get("filter")]
    stored = int8 - sum(f["bytes_int8"] - f["bytes_stored"] for f in filters)
    goal = GOALS[kind]
    return dict(case=name + (" (named)" if named else ""), model=shared, kind=kind,
                bytes_int8=int8, bytes_stored=stored,
                bytes_ratio=stored / int8, bytes_goal=goal[0],
                encodings=_kinds(filters),
                compressed=sum(f["encoding"] != "raw" for f in filters),
                filters=sum(has_filter(op, graph) for op in graph.ops),
                cycles_int8=base["cycles"], cycles=comp["cycles"],
                cycles_ratio=comp["cycles"] / base["cycles"], cycles_goal=goal[1],
                ram_io_int8=base["ram_io"], ram_io=comp["ram_io"],
                flash_int8=base["flash"], flash=comp["flash"], per_filter=per_filter)


def _kinds(filters: list[dict]) -> list[str]:
    """The encodings of a model's compressed filters, counted by kind ("int4 x7",
    "palette4/shared x3": shared tables, however many)."""
    counts: dict[str, int] = {}
    for f in filters:
        if f["encoding"] == "raw":
            continue
        kind = ("sparse" if f["encoding"] == "sparse" else
                f"palette{f['bits']}/shared" if "shared_tables" in f else f["label"])
        counts[kind] = counts.get(kind, 0) + 1
    return [f"{k} x{n}" for k, n in sorted(counts.items())]


def model_table(rows: list[dict]) -> list[str]:
    lines = ["| model | filters compressed | encodings | filter bytes | bytes ratio (goal) | "
             "cycles int8 | cycles | cycles ratio (goal) | flash | RAM+I/O |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok_b = "ok" if r["bytes_ratio"] <= r["bytes_goal"] else "over"
        ok_c = "ok" if r["cycles_ratio"] <= r["cycles_goal"] else "over"
        lines.append(f"| {r['case']} | {r['compressed']} of {r['filters']} | "
                     f"{', '.join(r['encodings']) or '-'} | "
                     f"{r['bytes_stored']:,} / {r['bytes_int8']:,} | "
                     f"{r['bytes_ratio']:.3f}x (<= {r['bytes_goal']}, {ok_b}) | "
                     f"{r['cycles_int8']:,} | {r['cycles']:,} | "
                     f"{r['cycles_ratio']:.3f}x (<= {r['cycles_goal']}, {ok_c}) | "
                     f"{r['flash_int8']:,} -> {r['flash']:,} | "
                     f"{r['ram_io_int8']:,} -> {r['ram_io']:,} |")
    return lines


def filter_table(rows: list[dict]) -> list[str]:
    """Per compressed filter of the whole models: bytes and its layer's cycles."""
    lines = ["| model | layer | kernel | encoding | filter bytes | cycles int8 | cycles | "
             "ratio | estimated |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        for f in r["per_filter"]:
            was = f["cycles_int8"]
            before = "fused" if was is None else f"{was:,}"
            ratio = "-" if was is None else f"{f['cycles'] / was:.3f}x"
            est = "-" if f.get("estimate") is None else f"{f['estimate']:.3f}x"
            lines.append(f"| {r['case']} | {f['layer']} {f['op']} | `{f['kernel']}` | "
                         f"{f['encoding']} | {f['bytes_stored']:,} / {f['bytes_int8']:,} | "
                         f"{before} | {f['cycles']:,} | {ratio} | {est} |")
    return lines


def _int8_and_int4(path: Path, work: Path, k: int) -> tuple[dict, dict, str]:
    """A single-layer model measured with its int8 filter and with it int4 (named): both
    benches' rows and the compressed build's model C text."""
    base = bench(path, "dsp", None, work / f"i{k}", per_layer=False, op_by_op=False)
    comp = bench(path, "dsp", None, work / f"c{k}", per_layer=False, compress=("int4",),
                 layer_compress={0: ("int4",)}, op_by_op=False)
    model_c = (work / f"c{k}" / "whole" / "project" / f"{path.stem}.c").read_text()
    print(f"  {path.stem}: int8 {base['cycles']:,}, int4 {comp['cycles']:,} "
          f"({comp['cycles'] / base['cycles']:.3f}x)", flush=True)
    return base, comp, model_c


def _least_squares(rows: list, values: list, names: list[str]) -> dict:
    """The constants (names) fitting rows . constants = values, each equation weighted by
    its size (relative errors), printed with the errors."""
    a, b = np.array(rows, float), np.array(values, float)
    wts = 1 / np.maximum(np.abs(b), 1)
    x, *_ = np.linalg.lstsq(a * wts[:, None], b * wts, rcond=None)
    fit = dict(zip(names, (round(float(v), 3) for v in x)))
    print("fitted:", fit)
    print("relative errors:", [f"{e:+.1%}" for e in (a @ x - b) / np.maximum(np.abs(b), 1)])
    return fit


# single k x k layers (in_h, in_w, in_d, out_d, k_h, k_w, stride, padding) that
# `--fit-conv` measures to fit lowering/conv/dsp_cw.py's estimate: resnet8's, kws's first
# layer, first layers on 3 channels, 5x5, strided and VALID ones
FIT_LAYERS = [(32, 32, 16, 16, 3, 3, 1, "SAME"), (16, 16, 32, 32, 3, 3, 1, "SAME"),
              (8, 8, 64, 64, 3, 3, 1, "SAME"), (32, 32, 16, 32, 3, 3, 2, "SAME"),
              (49, 10, 1, 64, 10, 4, 2, "SAME"), (48, 48, 3, 16, 3, 3, 1, "SAME"),
              (48, 48, 3, 8, 3, 3, 2, "SAME"), (12, 12, 24, 48, 5, 5, 1, "SAME"),
              (20, 20, 8, 24, 3, 3, 1, "VALID"), (10, 10, 32, 24, 3, 3, 1, "SAME"),
              (24, 24, 12, 30, 3, 3, 1, "SAME"), (6, 6, 96, 96, 3, 3, 1, "SAME")]


def fit_conv(work: Path) -> dict:
    """Measure FIT_LAYERS with int8 and int4 filters (every block size the lowering picks),
    and fit tg_dsp_cw_conv_s8's estimate (lowering/conv/dsp_cw.py) by least squares:
    int8 cycles = pairs (MAC 2 depth4 channels + OUT channels) + columns, columns = pairs
    (PAIR + WIDEN 2 depth4) + edge pairs EDGE 2 rows; int4 - int8 = (blocks - 1) columns
    + channels (CHANNEL + DECODE window)."""
    from codegen.lowering.conv.dsp_cw import conv_shape
    from codegen.ops.conv import analyse_conv
    names = ["MAC_CYCLES", "OUT_CYCLES", "PAIR_CYCLES", "WIDEN_CYCLES", "EDGE_CYCLES",
             "CHANNEL_CYCLES", "DECODE_CYCLES[int4]"]
    a_rows, b_vals = [], []
    for k, (h, w, d, c, kh, kw, st, pad) in enumerate(FIT_LAYERS):
        rng = np.random.default_rng(k)
        m = ModelWriter()
        add_layer(m, rng, ConvCase(in_h=h, in_w=w, in_d=d, out_d=c, k_h=kh, k_w=kw,
                                   stride=(st, st), padding=SAME if pad == "SAME" else VALID),
                  "c")
        set_filter(m, draw(rng, "int4", (c, kh, kw, d), 0))
        path = work / f"fit{k}.tflite"
        path.write_bytes(m.build())
        base, comp, model_c = _int8_and_int4(path, work, k)
        graph = read_tflite(path.read_bytes())
        s = conv_shape(analyse_conv(graph.ops[0], graph))
        block = int(re.search(r"\.block = (\d+),", model_c).group(1))
        blocks = -(-c // block)
        col = [s.pairs, s.pairs * 2 * s.depth4, s.edge_pairs * 2 * s.rows]
        a_rows.append([s.pairs * 2 * s.depth4 * c, s.pairs * c] + col + [0, 0])
        b_vals.append(base["cycles"])
        a_rows.append([0, 0] + [(blocks - 1) * x for x in col] + [c, c * s.window])
        b_vals.append(comp["cycles"] - base["cycles"])
    return _least_squares(a_rows, b_vals, names)


# single depthwise layers (in_h, in_w, channels, multiplier, k, stride) for
# `--fit-depthwise`: kws's, MobileNet's at several sizes, 5x5, a multiplier of 2
FIT_DEPTHWISE = [(25, 5, 64, 1, 3, 1), (48, 48, 8, 1, 3, 1), (24, 24, 32, 1, 3, 1),
                 (24, 24, 64, 1, 3, 2), (12, 12, 128, 1, 3, 1), (6, 6, 256, 1, 3, 1),
                 (16, 16, 16, 2, 5, 1), (10, 10, 96, 1, 3, 1)]


def fit_depthwise(work: Path) -> dict:
    """Measure FIT_DEPTHWISE with int8 and int4 filters and fit tg_dsp_cw_depthwise_s8's
    estimate (lowering/conv/dsp_cw.py): int8 cycles = MAC macs; int4 - int8 = DECODE
    values + BLOCK blocks."""
    names = ["DW_MAC_CYCLES", "DW_DECODE_CYCLES", "DW_BLOCK_CYCLES"]
    a_rows, b_vals = [], []
    for k, (h, w, d, mult, kk, st) in enumerate(FIT_DEPTHWISE):
        rng = np.random.default_rng(k)
        m = ModelWriter()
        add_layer(m, rng, ConvCase(op="DEPTHWISE_CONV_2D", in_h=h, in_w=w, in_d=d,
                                   out_d=d * mult, k_h=kk, k_w=kk, stride=(st, st)), "d")
        set_filter(m, draw(rng, "int4", (1, kk, kk, d * mult), 3))
        path = work / f"fit{k}.tflite"
        path.write_bytes(m.build())
        base, comp, model_c = _int8_and_int4(path, work, k)
        block = int(re.search(r"\.block = (\d+),", model_c).group(1))
        macs = -(-h // st) * -(-w // st) * d * mult * kk * kk
        a_rows.append([macs, 0, 0])
        b_vals.append(base["cycles"])
        a_rows.append([0, d * mult * kk * kk, -(-d // block)])
        b_vals.append(comp["cycles"] - base["cycles"])
    return _least_squares(a_rows, b_vals, names)


# pointwise layers (height, width, depth, channels) that `--fit-pointwise` measures: the
# compressed GEMM in blocks of rows (lowering/compressed_support.py's CHUNK_* constants)
FIT_POINTWISE = [(48, 48, 8, 16), (24, 24, 16, 32), (24, 24, 32, 32), (12, 12, 64, 128),
                 (6, 6, 128, 128), (12, 12, 32, 64), (25, 5, 64, 64), (48, 48, 16, 8),
                 (12, 12, 16, 64)]


def fit_pointwise(work: Path) -> dict:
    """Measure FIT_POINTWISE with int8 and int4 filters on tg_dsp_cw_gemm_s8 in blocks of
    rows and fit its estimate: int8 = rows (MAC channels depth + OUT channels + ROW);
    int4 - int8 = DECODE channels depth + rows ((blocks - 1) quads EXPAND + blocks CALL +
    channels COPY)."""
    import codegen.lowering.compressed_support as cs
    from codegen.encoding import encode_int4
    from codegen.lowering.compressed_support import cw_blocks
    # the blocks of chunks only: no rows expanded once, no rows_outer
    saved = cs.CW_ROWS_BYTES, cs.outer_ratio
    cs.CW_ROWS_BYTES, cs.outer_ratio = 0, lambda *args: float("inf")
    names8 = ["CHUNK_INT8[0]", "CHUNK_INT8[1]", "CHUNK_INT8[2]"]
    names = ["DECODE (int4)", "CHUNK_EXPAND", "CHUNK_ROW", "CHUNK_COPY"]
    a8, b8, a, b = [], [], [], []
    try:
        for k, (h, w, d, c) in enumerate(FIT_POINTWISE):
            rng = np.random.default_rng(k)
            m = ModelWriter()
            add_layer(m, rng, ConvCase(in_h=h, in_w=w, in_d=d, out_d=c, k_h=1, k_w=1), "c")
            v = draw(rng, "int4", (c, 1, 1, d), 0)
            set_filter(m, v)
            path = work / f"pw{k}.tflite"
            path.write_bytes(m.build())
            base, comp, _ = _int8_and_int4(path, work, k)
            rows = h * w
            block, chunk = cw_blocks(c, d, rows)
            blocks = -(-c // block)
            assert chunk < rows and blocks > 1 and encode_int4(v.reshape(c, d)).after
            a8.append([rows * c * d, rows * c, rows])
            b8.append(base["cycles"])
            a.append([c * d, rows * (blocks - 1) * -(-d // 4), rows * blocks, rows * c])
            b.append(comp["cycles"] - base["cycles"])
    finally:
        cs.CW_ROWS_BYTES, cs.outer_ratio = saved
    fit = {**_least_squares(a8, b8, names8), **_least_squares(a, b, names)}
    fit.update(_fit_rows_outer(work))
    print("fitted:", fit, "(CHUNK_DECODE: DECODE over DECODE_CYCLES['int4'])")
    return fit


# pointwise layers (height, width, depth, channels) measured with rows_outer forced
FIT_OUTER = [(25, 5, 64, 64), (48, 48, 8, 16), (24, 24, 32, 32), (12, 12, 64, 128),
             (16, 16, 32, 64)]


def _fit_rows_outer(work: Path) -> dict:
    """tg_dsp_cw_gemm_s8 with rows_outer (every layer of FIT_OUTER forced to it): the
    cycles it adds less the rows-once decoding of each chunk (ONCE_CYCLES) and OUTER_PAIR
    a pair of rows and block, fitted as OUTER_COPY a byte copied out and OUTER_CHUNK a
    chunk and a chunk and block."""
    import codegen.lowering.compressed_support as cs
    saved = dict(cs.AUTO_MAX_RATIO)
    cs.AUTO_MAX_RATIO.update({k: float("inf") for k in saved})
    rows_, vals = [], []
    try:
        for k, (h, w, d, c) in enumerate(FIT_OUTER):
            rng = np.random.default_rng(100 + k)
            m = ModelWriter()
            add_layer(m, rng, ConvCase(in_h=h, in_w=w, in_d=d, out_d=c, k_h=1, k_w=1), "c")
            set_filter(m, draw(rng, "int4", (c, 1, 1, d), 0))
            path = work / f"outer{k}.tflite"
            path.write_bytes(m.build())
            base, comp, model_c = _int8_and_int4(path, work, 50 + k)
            assert ".rows_outer = 1" in model_c
            rows = h * w
            block, chunk = cs.outer_blocks(c, d)
            blocks, chunks = -(-c // block), -(-rows // chunk)
            per_value, per_channel = cs.ONCE_CYCLES["int4"]
            known = chunks * (per_value * c * d + per_channel * c) + \
                cs.OUTER_PAIR * blocks * -(-rows // 2)
            rows_.append([rows * c, chunks, chunks * blocks])
            vals.append(comp["cycles"] - base["cycles"] - known)
    finally:
        cs.AUTO_MAX_RATIO.update(saved)
    return _least_squares(rows_, vals, ["OUTER_COPY", "OUTER_CHUNK[0]", "OUTER_CHUNK[1]"])


def table(rows: list[dict]) -> list[str]:
    lines = ["| case | encoding | kernel | filter bytes | bytes ratio (goal) | entropy floor | "
             "cycles int8 | cycles | cycles ratio (goal) | kernel code |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        ok_b = "ok" if r["bytes_ratio"] <= r["bytes_goal"] else "over"
        floor = r.get("entropy_floor")
        if ok_b == "over" and floor is not None and floor > r["bytes_goal"]:
            ok_b = "over; the floor is too"
        ok_c = "ok" if r["cycles_ratio"] <= r["cycles_goal"] else "over"
        lines.append(f"| {r['case']} | {r['encoding']} | `{r['kernel']}` | "
                     f"{r['bytes_stored']} / {r['bytes_int8']} | "
                     f"{r['bytes_ratio']:.3f}x (<= {r['bytes_goal']}, {ok_b}) | "
                     f"{'-' if floor is None else f'{floor:.3f}x'} | "
                     f"{r['cycles_int8']:,} | {r['cycles']:,} | "
                     f"{r['cycles_ratio']:.3f}x (<= {r['cycles_goal']}, {ok_c}) | "
                     f"{r['kernel_code']:,} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated case names "
                    "(default: all: " + ", ".join(CASES) + ")")
    ap.add_argument("--models", default=",".join(MODEL_CASES),
                    help="comma-separated whole-model cases, or none (default: all: " +
                         ", ".join(MODEL_CASES) + ")")
    ap.add_argument("--named", action="store_true",
                    help="run the compressed kernels even where --compress auto keeps the "
                         "int8 filter (as --compress-layer N=ENC does)")
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    ap.add_argument("--markdown", metavar="FILE",
                    help="write the table as Markdown (benchmarks/COMPRESSION.md)")
    ap.add_argument("--fit-conv", action="store_true",
                    help="measure single k x k layers and print the constants of "
                         "tg_dsp_cw_conv_s8's cycle estimate (lowering/conv/dsp_cw.py) "
                         "fitted to them, then stop")
    ap.add_argument("--fit-depthwise", action="store_true",
                    help="the same for the compressed depthwise kernel's estimate")
    ap.add_argument("--fit-pointwise", action="store_true",
                    help="the same for the compressed GEMM in blocks of rows")
    args = ap.parse_args(argv)
    fits = [f for flag, f in ((args.fit_conv, fit_conv), (args.fit_depthwise, fit_depthwise),
                              (args.fit_pointwise, fit_pointwise)) if flag]
    for fit in fits:
        with tempfile.TemporaryDirectory() as tmp:
            fit(Path(tmp))
    if fits:
        return 0
    if args.named:
        import codegen.lowering.compressed_support as cs
        cs.AUTO_MAX_RATIO = {k: float("inf") for k in cs.AUTO_MAX_RATIO}
    rows = []
    head = table([])
    print("\n".join(head), flush=True)
    for name in args.cases.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(measure(name, Path(tmp)))
        print(table(rows[-1:])[-1], flush=True)
    models = []
    names = [] if args.models == "none" else args.models.split(",")
    if names:
        print("\n" + "\n".join(model_table([])), flush=True)
    for name in names:
        for named in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                models.append(measure_model(name, Path(tmp), named))
            print(model_table(models[-1:])[-1], flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(dict(layers=rows, models=models), indent=1) +
                                   "\n")
    if args.markdown:
        argv_text = " ".join(sys.argv[1:] if argv is None else argv)
        Path(args.markdown).write_text("\n".join([
            "# Filter compression on the emulated Cortex-M4", "",
            f"Written by `python3 benchmarks/compress_bench.py {argv_text}` (do not edit: "
            "rerun it). Each case is one layer (FULLY_CONNECTED `fc<batches>x<depth>x<units>`, "
            "pointwise CONV_2D of 12x12 pixels and 64 output channels, `3x3-<size>x<depth>x"
            "<channels>` CONV_2D, `dw-<height>x<width>x<channels>` 3x3 DEPTHWISE_CONV_2D), "
            "generated for cortex-m4 with the filter int8 and with the encoding "
            "(`--compress ENC`: where `auto`'s estimates would keep int8 the row says so), "
            "on the dsp kernels; filter bytes as stored (indices, tables, references and "
            "sparse entries included) against int8; modelled cycles of one inference "
            "(`../shared/tools/m4run`); kernel code: the bytes of code the compressed "
            "kernel adds to the image (`codegen/compressed_code.py`). A layer is measured "
            "for its kernel: `auto` would keep a lone layer int8 where its filter saves "
            "less than that code (the whole models below count it). Kinds: `int4` values "
            "in [-8, 7]; `pal<n>` n random "
            "values per output channel; `clu<n>` n clusters per tensor, a per-channel "
            "batch-norm scale folded in and per-channel quantization; `sp80` 80 % exact "
            "zeros (two whole zero channels). Goals: issue 14. Entropy floor: the "
            "least bytes ratio any lossless encoding reaches on average for a `pal<n>` "
            "filter drawn this way (Shannon's bound, `entropy_floor`); where it is above the "
            "goal, no encoding can meet the goal on such filters.", "", *table(rows), "",
            "## Whole models", "",
            "A shared model with every int8 filter made `int4` (each output channel scaled "
            "into [-7, 7], as 4-bit quantization-aware training leaves it) or `pal16` (each "
            "channel's values moved to the nearest of 16 levels at its quantiles, as "
            "per-channel clustering leaves it), quantization parameters unchanged "
            "(`model_of_kind`), generated for cortex-m4 on the dsp kernels with "
            "`--compress none` and `--compress auto`: the filters as stored against int8, "
            "modelled cycles of one inference, flash (code and constants) and RAM (library "
            "statics and the caller's I/O buffers) as a firmware links them (`auto` keeps "
            "int8 the filters that do not repay their kernels' code, and those that would "
            "cost more than twice their flash saving in RAM). `(named)`: every filter named "
            "with `--compress-layer N=auto` instead, compressed wherever an encoding saves "
            "bytes, whatever that costs in cycles, RAM or code.", "",
            *model_table(models), "",
            "Per compressed filter: its layer's modelled cycles alone (the per-layer build), "
            "against the same layer with the int8 filter (`fused`: the int8 build runs it in "
            "a fused residual block, which a compressed filter cannot join), and the ratio "
            "the generator estimated (`cycles_vs_int8_estimate` in tinygen.json; what "
            "`--compress auto` decides by).", "",
            *filter_table(models), ""]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
