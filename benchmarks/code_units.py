"""The code each compressed-filter kernel adds to a firmware image, measured.

For every code unit of codegen/compression.py (a compressed kernel, and for
tg_dsp_cw_gemm_s8 its path), a one-layer probe model is generated for cortex-m4 twice:
with the filter compressed (named, as --compress-layer does) and int8.  Both libraries are
cross-compiled and linked as a firmware links them (codegen/toolchain/linksize.py:
--gc-sections, the model's public functions as roots); the functions the compressed
link keeps that the int8 link does not, and what functions in both grew by, are the
unit's code (the model's own functions left out).  `--write` writes the table
codegen/compressed_code.py that `--compress auto` weighs filter bytes against (never edit
it by hand: rerun this); tests/test_compress_code.py checks it against a new measurement.

    python3 benchmarks/code_units.py [--write]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codegen.compression import code_unit  # noqa: E402
from codegen.encoding import KINDS  # noqa: E402
from codegen.frontend.tflite_writer import ModelWriter  # noqa: E402
from codegen.generate import generate  # noqa: E402
from codegen.targets import load_target  # noqa: E402
from codegen.toolchain import cortexm, linksize  # noqa: E402
from tests.conv_models import ConvCase, add_layer  # noqa: E402
from tests.test_compress import draw, set_filter  # noqa: E402
from tests.test_dsp_kernels import add_fc  # noqa: E402

TARGET = "cortex-m4"
TABLE = ROOT / "codegen" / "compressed_code.py"
NAME = "probe"          # the probes' model name: its functions are left out
DSP, PORTABLE = ["dsp", "portable"], ["portable"]
DW = "DEPTHWISE_CONV_2D"
# unit: (kernel preference, layer: ("fc", batches, depth, units) or a ConvCase, filter kind)
PROBES = {
    "tg_dsp_cw_gemm_s8/once-int4": (DSP, ("fc", 8, 125, 8), "int4"),
    "tg_dsp_cw_gemm_s8/once-palette": (DSP, ("fc", 7, 69, 8), "pal16"),
    "tg_dsp_cw_gemm_s8/blocks": (DSP, ("fc", 5, 24, 3), "int4"),
    "tg_dsp_cw_conv_s8": (DSP, ConvCase(in_h=8, in_w=8, in_d=16, out_d=16), "int4"),
    "tg_dsp_cw_depthwise_s8": (DSP, ConvCase(op=DW, in_h=12, in_w=12, in_d=32, out_d=32),
                               "int4"),
    "tg_dsp_s4_gemm_s8/row": (DSP, ("fc", 1, 64, 10), "int4"),
    "tg_dsp_s4_gemm_s8/pairs": (DSP, ("fc", 2, 64, 10), "int4"),
    "tg_dsp_sparse_gemm_s8": (DSP, ("fc", 1, 128, 32), "zeros"),
    "tg_cw_fully_connected_s8": (PORTABLE, ("fc", 1, 64, 10), "int4"),
    "tg_cw_conv_s8": (PORTABLE, ConvCase(in_h=8, in_w=8, in_d=16, out_d=16), "int4"),
    "tg_cw_depthwise_conv_s8": (PORTABLE, ConvCase(op=DW, in_h=12, in_w=12, in_d=32,
                                                   out_d=32), "int4"),
    "tg_sparse_gemm_s8": (PORTABLE, ("fc", 1, 128, 32), "zeros"),
}


def probe_model(unit: str) -> bytes:
    _, layer, kind = PROBES[unit]
    rng = np.random.default_rng(zlib.crc32(unit.encode()))
    m = ModelWriter()
    if isinstance(layer, ConvCase):
        add_layer(m, rng, layer, "p")
        t = m.tensors[m.ops[-1].inputs[1]]
        set_filter(m, draw(rng, kind, t.shape, 0 if layer.op == "CONV_2D" else 3))
    else:
        _, b, d, u = layer
        add_fc(m, rng, "p", b, d, u, True, "NONE")
        set_filter(m, draw(rng, kind, (u, d), 0))
    return m.build()


def linked_functions(project: Path, build: Path) -> dict[str, int]:
    """{function: code bytes} a firmware link of the generated library keeps."""
    man = json.loads((project / "tinygen.json").read_text())
    target = load_target(TARGET)
    sources = man["sources"]
    objs = cortexm.compile_objects(project, sources, build, target, werror=False)
    roots = [g for s, o in zip(sources, objs) if s == f"{NAME}.c"
             for g in linksize.defined_globals(o)]
    linksize.linked_sizes(objs, target, build / "link", roots)
    nm = subprocess.run([linksize.PREFIX + "nm", "-S", "--defined-only",
                         str(build / "link" / "tg_linksize.elf")],
                        capture_output=True, text=True, check=True).stdout
    out: dict[str, int] = {}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] in "tT" and not parts[3].startswith((NAME, "main")):
            out[parts[3]] = out.get(parts[3], 0) + int(parts[1], 16)
    return out


def measure(unit: str, work: Path) -> dict[str, int]:
    """The unit's functions and growths ("name+": bytes a function in both links grew by)."""
    kernels, _, _ = PROBES[unit]
    work.mkdir(parents=True, exist_ok=True)
    path = work / "probe.tflite"
    path.write_bytes(probe_model(unit))
    funcs = []
    for tag, compress in (("c", {0: KINDS}), ("int8", None)):
        gen = generate(path, work / tag / "p", target=TARGET, name=NAME, kernels=kernels,
                       layer_compress=compress, measure=False, force=True)
        if compress:
            got = code_unit(gen.program.layers[0].call)
            if got != unit:
                raise SystemExit(f"probe of {unit} lowered to {got}: update PROBES")
        funcs.append(linked_functions(work / tag / "p", work / tag / "build"))
    comp, int8 = funcs
    added = {f: n for f, n in comp.items() if f not in int8}
    added.update({f + "+": n - int8[f] for f, n in comp.items() if n > int8.get(f, n)})
    return dict(sorted(added.items()))


def measure_all(units=None) -> dict[str, dict[str, int]]:
    with tempfile.TemporaryDirectory(prefix="tinygen-code-units-") as tmp:
        return {u: measure(u, Path(tmp) / str(i)) for i, u in enumerate(units or PROBES)}


def render(table: dict[str, dict[str, int]]) -> str:
    tool = cortexm.toolchain_version()
    flags = " ".join(load_target(TARGET)["cpu_flags"] + linksize.COMPILE_FLAGS)
    lines = ['"""The code each compressed-filter kernel adds to a firmware image (bytes, by',
             "function: codegen/compression.py's code units), as a --gc-sections link keeps",
             "it beside the int8 kernel of the same layer.",
             "",
             "Written by `python3 benchmarks/code_units.py --write` (do not edit: rerun it).",
             f"Measured with {tool},",
             f"{flags};",
             "other cores and compilers differ by some tens of percent (Thumb-1 cores:",
             'larger)."""',
             "",
             "UNITS = {"]
    for unit, funcs in table.items():
        lines.append(f'    "{unit}": {{')
        lines += [f'        "{f}": {n},' for f, n in funcs.items()]
        lines.append("    },")
    lines += ["}", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"write {TABLE.relative_to(ROOT)}")
    args = ap.parse_args(argv)
    missing = cortexm.missing_packages(need_qemu=False)
    if missing:
        print(f"needs the Arm toolchain: {', '.join(missing)}", file=sys.stderr)
        return 2
    table = measure_all()
    w = max(map(len, table))
    for unit, funcs in table.items():
        print(f"{unit:<{w}}  {sum(funcs.values()):6,d} bytes  " +
              ", ".join(f"{f} {n}" for f, n in funcs.items()))
    print(json.dumps(table))
    if args.write:
        TABLE.write_text(render(table))
        print(f"wrote {TABLE.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
