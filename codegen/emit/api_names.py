"""Stable API names of a model's header: by position, not by the model's tensor names.

`<NAME>_INPUT0_ELEMENTS`, `<NAME>_OUTPUT0_DIMS`, `<NAME>_OUTPUT0_SHAPE`, `<NAME>_INPUT0_SCALE`,
`<NAME>_INPUT0_ZERO_POINT` and static inline helpers `<name>_quantize_input0(float)`,
`<name>_dequantize_output0(q)` (and the other direction), for every input and output.
The names that follow the tensor names (`<NAME>_<TENSOR>_ELEMENTS`) stay as aliases, except
where one would collide with a stable name (a tensor named e.g. `output0`).
"""
from __future__ import annotations

import math

from codegen.cnames import float_literal

# integer I/O types the helpers handle: C type -> (min, max)
QUANT_RANGE = {"int8_t": (-128, 127), "uint8_t": (0, 255), "int16_t": (-32768, 32767)}


def _entry(name_upper: str, kind: str, k: int, io: dict) -> dict:
    base = f"{name_upper}_{kind.upper()}{k}"
    e = dict(io, kind=kind, index=k, base=base, lower=f"{kind}{k}", dims=len(io["shape"]),
             shape_init="{" + ", ".join(str(int(d)) for d in io["shape"]) + "}",
             scale_literal=None, qmin=None, qmax=None)
    scale, zp = io.get("scale"), io.get("zero_point")
    if (io["ctype"] in QUANT_RANGE and scale is not None and zp is not None
            and math.isfinite(scale) and scale > 0):
        e["scale_literal"] = float_literal(scale)
        e["zp_literal"] = f"({zp})" if zp < 0 else str(zp)
        e["qmin"], e["qmax"] = QUANT_RANGE[io["ctype"]]
    return e


def api_context(name: str, inputs: list[dict], outputs: list[dict]) -> dict:
    """`stable`: one entry per input and output; `aliases`: (old name, stable name) pairs."""
    upper = name.upper()
    stable = [_entry(upper, "input", k, io) for k, io in enumerate(inputs)] + \
             [_entry(upper, "output", k, io) for k, io in enumerate(outputs)]
    taken = {f"{e['base']}_ELEMENTS" for e in stable}
    aliases, seen = [], set()
    for e in stable:
        old = f"{upper}_{e['CNAME']}_ELEMENTS"
        if old in seen:            # a tensor that is two inputs, or an input and an output
            continue
        seen.add(old)
        if old not in taken:
            aliases.append((old, f"{e['base']}_ELEMENTS"))
    return dict(stable=stable, aliases=aliases, n_inputs=len(inputs), n_outputs=len(outputs))
