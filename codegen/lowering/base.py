"""What a lowering produces: one kernel call per layer, with its constants.

A lowering turns one graph operator into a `LayerCall`: the C function to
call, a params struct filled with numbers computed at generation time, the
buffers it reads and writes, the constant arrays (weights, folded biases,
requantization tables) it needs in flash, and the runtime_c modules that
define the kernel.  Templates render LayerCalls; they make no decisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codegen.cnames import display_text
from codegen.errors import UnsupportedError
from codegen.graph import Graph, Op, Tensor


@dataclass
class ConstArray:
    """A constant array placed in the model's weights struct (flash)."""

    name: str          # member name, unique in the model
    ctype: str         # int8_t, int16_t, int32_t, float, ...
    values: np.ndarray
    comment: str = ""

    @property
    def nbytes(self) -> int:
        return int(self.values.size * self.values.dtype.itemsize)


@dataclass(frozen=True)
class ConstRef:
    """A params field or argument pointing at a ConstArray: renders as `<model>_weights.<name>`.

    `cast` (e.g. "int32_t *") prefixes a cast, for library structs whose pointer fields are
    not const-qualified although the library only reads through them.
    """

    name: str
    cast: str | None = None


@dataclass(frozen=True)
class TensorArg:
    """A kernel argument that is the data pointer of a graph tensor."""

    tensor: int


@dataclass(frozen=True)
class ScratchArg:
    """A kernel argument that is a scratch buffer planned in the arena for this layer."""

    index: int   # into LayerCall.scratch


@dataclass(frozen=True)
class StructRef:
    """A kernel argument that is the address of one of the layer's ConstStructs."""

    name: str    # ConstStruct.name


@dataclass
class ConstStruct:
    """A `static const` struct of one layer, e.g. a kernel library's params or dims struct.

    Renders as `static const <ctype> <layer>_<name> = {...};` before `<model>_invoke`.
    Field values are what `LayerCall.params` accepts; a dict value is a nested struct.
    """

    name: str
    ctype: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class CExpr:
    """A params field given as literal C text (an enum constant, a macro)."""

    text: str


@dataclass
class LayerCall:
    op: Op
    kernel: str                                   # C function
    params_type: str | None = None                # C struct typedef of the params
    params: dict[str, Any] = field(default_factory=dict)
    args: list[Any] = field(default_factory=list)  # after &params: TensorArg/ScratchArg/
                                                   # StructRef/ConstRef/CExpr
    runtime: list[str] = field(default_factory=list)  # runtime_c module stems
    consts: list[ConstArray] = field(default_factory=list)
    scratch: list[int] = field(default_factory=list)  # bytes per scratch buffer
    comment: str = ""
    macs: int = 0
    library: str = "portable"                      # which kernel library was chosen
    structs: list[ConstStruct] = field(default_factory=list)  # more const structs to emit
    headers: list[str] = field(default_factory=list)  # headers of an external kernel library
    status_ok: str | None = None   # the kernel returns a status: anything but this aborts
    warnings: list[str] = field(default_factory=list)  # printed by generate, naming the layer
    # whose arithmetic this layer reproduces: "tflm" (TFLM's reference kernel), or "litert"
    # (TFLite's reference kernel, where TFLM has none or computes something else)
    oracle: str = "tflm"

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)


class LowerContext:
    """What a lowering may consult: the graph, the target, and a namer for its constants.

    `backend` is the external kernel library located for this run (for example a
    `codegen.cmsis_nn.CmsisNNBackend`), or None when only portable kernels are used.
    """

    def __init__(self, graph: Graph, target: dict, layer_name: str, backend: Any = None,
                 match_tflm: bool = False):
        self.graph = graph
        # reproduce TFLM's arithmetic where it differs from what the model means (--match-tflm)
        self.match_tflm = match_tflm
        self.target = target
        self.layer_name = layer_name  # e.g. "l3_conv_2d", prefix for constant names
        self.backend = backend

    def const(self, suffix: str, ctype: str, values, comment: str = "") -> tuple[ConstArray, ConstRef]:
        arr = np.ascontiguousarray(values)
        c = ConstArray(name=f"{self.layer_name}_{suffix}", ctype=ctype, values=arr.reshape(-1),
                       comment=comment)
        return c, ConstRef(c.name)


def tensors_of(op: Op, graph: Graph) -> tuple[list[Tensor | None], list[Tensor]]:
    return graph.op_inputs(op), graph.op_outputs(op)


def unsupported(op: Op, graph: Graph, what: str) -> UnsupportedError:
    """An error naming the operator, its tensors, and what is not supported about it."""
    ins = ", ".join(f"'{display_text(t.name)}' {t.dtype}[{t.shape_str()}]"
                    for t in graph.op_inputs(op) if t)
    return UnsupportedError(f"{op.describe()} with inputs {ins}: {what}")


def require_dtype(op: Op, graph: Graph, tensor: Tensor | None, allowed: tuple[str, ...],
                  role: str) -> None:
    if tensor is None:
        raise unsupported(op, graph, f"its {role} is missing")
    if tensor.dtype not in allowed:
        extra = ""
        if tensor.dtype == "float32" and "int8" in allowed:
            extra = (" (a float model: quantize it to int8 with TFLiteConverter and a "
                     "representative dataset)")
        raise unsupported(op, graph, f"{role} '{display_text(tensor.name)}' is "
                          f"{tensor.dtype}; supported: {', '.join(allowed)}{extra}")


def require_quant(op: Op, graph: Graph, tensor: Tensor, role: str, per_tensor: bool = True):
    if tensor.quant is None:
        raise unsupported(op, graph, f"{role} '{display_text(tensor.name)}' has no quantization "
                          "parameters")
    if per_tensor and tensor.quant.per_channel:
        raise unsupported(op, graph, f"{role} '{display_text(tensor.name)}' is per-channel "
                          "quantized; this operator needs per-tensor quantization")
    return tensor.quant
