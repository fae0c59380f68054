"""The program's vocabulary: what a lowering produces and the planner and templates consume.

A lowering turns one graph operator into a `LayerCall`: the C function to
call, a params struct filled with numbers computed at generation time, the
tensors it reads and writes, which output may share bytes with which input
(`Overlap`), the temporaries it needs (`scratch`), the constant arrays
(weights, folded biases, requantization tables) it needs in flash with how
each is stored (`ConstArray.encoding`).  The runtime_c files a kernel needs are found
from its name (codegen/cheaders.py).  The planner works from these calls alone; templates render them
and make no decisions.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from codegen.graph import Op

# How a constant array is stored in flash: "raw" (the values as a C array of `ctype`), or a
# compressed filter (codegen/encoding.py: "int4" packed values, "palette" packed indices,
# "sparse" the index stream of the non-zero values; `values` are then the packed bytes) that only kernels reading that form are given.
ENCODINGS = ("raw", "int4", "palette", "sparse")


@dataclass
class ConstArray:
    """A constant array placed in the model's weights struct (flash)."""

    name: str          # member name, unique in the model
    ctype: str         # int8_t, int16_t, int32_t, float, ...
    values: np.ndarray
    comment: str = ""
    encoding: str = "raw"   # how the values are stored (see ENCODINGS)

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown constant encoding {self.encoding!r} "
                             f"(known: {', '.join(ENCODINGS)})")

    @property
    def nbytes(self) -> int:
        """Bytes as stored in flash."""
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


@dataclass(frozen=True)
class Overlap:
    """A kernel's promise that output tensor `output` may share bytes with input `input`.

    `alias`: the output IS the input (same bytes, same values: RESHAPE and friends);
    when the planner grants it, the call does nothing and is dropped from the program.
    Otherwise the kernel stays correct when the output starts `offset` bytes after the
    input's first byte (0: exactly in place), provided the input is not read after this
    call.  The planner decides whether to use an overlap; a kernel must be right either way.
    """

    output: int
    input: int
    offset: int = 0
    alias: bool = False


@dataclass
class LayerCall:
    op: Op
    kernel: str                                   # C function
    params_type: str | None = None                # C struct typedef of the params
    params: dict[str, Any] = field(default_factory=dict)
    args: list[Any] = field(default_factory=list)  # after &params: TensorArg/ScratchArg/
                                                   # StructRef/ConstRef/CExpr
    consts: list[ConstArray] = field(default_factory=list)
    scratch: list[int] = field(default_factory=list)  # bytes per scratch buffer
    comment: str = ""
    macs: int = 0
    variant: str = "portable"                      # the kernel variant that produced the call
    structs: list[ConstStruct] = field(default_factory=list)  # more const structs to emit
    headers: list[str] = field(default_factory=list)  # headers of an external kernel library
    status_ok: str | None = None   # the kernel returns a status: anything but this aborts
    # tensors the call reads and writes (default: the operator's inputs and outputs)
    reads: list[int] | None = None
    writes: list[int] | None = None
    overlaps: list[Overlap] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # printed by generate, naming the layer
    # whose arithmetic this layer reproduces: "tflm" (TFLM's reference kernel), "litert"
    # (TFLite's reference kernel, where TFLM has none or computes something else), or
    # "spec" (TFLM's arithmetic made defined where TFLM's C++ is undefined for some inputs;
    # judged by tinygen's Python model, codegen.reference_layers.SPEC_ORACLES)
    oracle: str = "tflm"

    def __post_init__(self):
        if self.reads is None:
            self.reads = [t for t in self.op.inputs if t >= 0] if self.op is not None else []
        if self.writes is None:
            self.writes = [t for t in self.op.outputs if t >= 0] if self.op is not None else []

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)

    @property
    def aliases(self) -> list[Overlap]:
        return [o for o in self.overlaps if o.alias]


