"""Compressed constants: DENSIFY of a sparse constant and TFLM_DECODE become constants.

The importer already holds a sparse tensor's dense values (`frontend/sparsity.py`),
so a DENSIFY of it is a copy: its output becomes that constant and the operator
goes.  A TFLM_DECODE operator's outputs become constants holding the values its
look-up tables decode to (`frontend/tflm_decode.py`), and it goes too.  What is
left is the graph the uncompressed model has, with exactly the same values; each
new constant records in `stored_as` how the file stored it.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from codegen.cnames import display_text
from codegen.errors import ModelError, UnsupportedError
from codegen.frontend.tflm_decode import DECODE_OPCODE, decode_lut, mishandled_by_tflm, \
    parse_header
from codegen.graph import Graph, Op, Tensor

_NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
       "int64": np.int64, "float32": np.float32, "bool": np.bool_}


def _name(t: Tensor) -> str:
    return f"tensor #{t.index} '{display_text(t.name, 80)}'"


def _check_not_output(graph: Graph, op: Op, t: Tensor) -> None:
    if t.index in graph.outputs:
        raise UnsupportedError(f"{op.describe()} writes the model output {_name(t)}, a "
                               "constant; tinygen needs model outputs computed from the inputs")


def _densify(graph: Graph, op: Op, tensors: list[Tensor]) -> bool:
    """Fold a DENSIFY of a constant; False (left in the graph) for anything else."""
    if len(op.inputs) != 1 or len(op.outputs) != 1 or op.inputs[0] < 0:
        raise ModelError(f"{op.describe()} has {len(op.inputs)} input(s) and "
                         f"{len(op.outputs)} output(s); DENSIFY takes one of each")
    src, out = tensors[op.inputs[0]], tensors[op.outputs[0]]
    if not src.is_const:
        return False
    if src.shape != out.shape or src.dtype != out.dtype:
        raise ModelError(f"{op.describe()} densifies {_name(src)} ({src.dtype}, shape "
                         f"{list(src.shape)}) into {_name(out)} ({out.dtype}, shape "
                         f"{list(out.shape)}); they must agree")
    _check_not_output(graph, op, out)
    tensors[out.index] = dataclasses.replace(out, data=src.data.copy(),
                                             stored_as=src.stored_as or "DENSIFY")
    return True


def _decode(graph: Graph, op: Op, tensors: list[Tensor]) -> None:
    if not op.outputs or len(op.inputs) != 2 * len(op.outputs):
        raise ModelError(f"{op.describe()} has {len(op.inputs)} input(s) for "
                         f"{len(op.outputs)} output(s); TFLM_DECODE takes an (encoded, "
                         "ancillary) pair of inputs per output")
    for k, o in enumerate(op.outputs):
        out = tensors[o]
        where = f"{op.describe()} output {_name(out)}"
        pair = [tensors[i] if i >= 0 else None for i in op.inputs[2 * k:2 * k + 2]]
        for j, (role, t) in enumerate(zip(("encoded data", "ancillary data"), pair)):
            if t is None or not t.is_const or t.dtype not in ("uint8", "int8"):
                what = "missing" if t is None else \
                    f"{_name(t)}, {'a constant' if t.is_const else 'not a constant'} of {t.dtype}"
                raise ModelError(f"{where}: its {role} (input {2 * k + j}) must be a uint8 "
                                 f"constant; it is {what}")
        _check_not_output(graph, op, out)
        values, header = decode_lut(pair[0].data.tobytes(), pair[1].data.tobytes(), out.shape,
                                    _NP[out.dtype], where)
        tensors[o] = dataclasses.replace(out, data=values, stored_as=header.describe())


def decompress(graph: Graph) -> Graph:
    """DENSIFY of constants and TFLM_DECODE operators replaced by their constant outputs."""
    if not any(op.opcode in ("DENSIFY", DECODE_OPCODE) for op in graph.ops):
        return graph
    tensors = list(graph.tensors)
    keep = []
    for op in graph.ops:
        if op.opcode == DECODE_OPCODE:
            _decode(graph, op, tensors)
        elif not (op.opcode == "DENSIFY" and _densify(graph, op, tensors)):
            keep.append(op)
    return dataclasses.replace(graph, tensors=tensors, ops=keep)


def tflm_misreads(graph: Graph) -> str | None:
    """Why TFLM's own run of this (imported, not yet decompressed) model is not the
    reference, or None: see `tflm_decode.mishandled_by_tflm`."""
    for op in graph.ops:
        if op.opcode != DECODE_OPCODE or len(op.inputs) != 2 * len(op.outputs):
            continue
        for k, o in enumerate(op.outputs):
            anc = op.inputs[2 * k + 1]
            out = graph.tensors[o]
            if anc < 0 or not graph.tensors[anc].is_const:
                continue
            try:
                header = parse_header(graph.tensors[anc].data.tobytes(), _name(out))
            except (ModelError, UnsupportedError):
                continue
            per_channel = out.quant is not None and out.quant.per_channel
            if mishandled_by_tflm(header, out.quant.axis if per_channel else None):
                quant = f"per-channel (axis {out.quant.axis})" if per_channel else "per-tensor"
                return (f"TFLM's DECODE kernel misreads {_name(out)}: it lays out the look-up "
                        f"tables by the {quant} quantization, the file has "
                        f"{header.describe().split(', ')[-1]}")
    return None
