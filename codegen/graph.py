"""tinygen's own model graph: tensors, operators and the graph that holds them.

The importer turns a .tflite flatbuffer into these classes; nothing after the
importer touches the flatbuffer.  Constant data is held as numpy arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Element size in bytes and C type of each supported tensor dtype.
DTYPE_BYTES = {"int8": 1, "uint8": 1, "int16": 2, "int32": 4, "int64": 8,
               "float32": 4, "bool": 1}
DTYPE_CTYPE = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t",
               "int32": "int32_t", "int64": "int64_t", "float32": "float",
               "bool": "uint8_t"}


@dataclass
class Quantization:
    """Affine quantization: real = scale * (q - zero_point).

    `scale` and `zero_point` have one entry (per-tensor) or one per slice of
    `axis` (per-channel).
    """

    scale: np.ndarray       # float32
    zero_point: np.ndarray  # int64
    axis: int = 0

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def scalar_scale(self) -> float:
        return float(self.scale[0])

    @property
    def scalar_zero_point(self) -> int:
        return int(self.zero_point[0])


@dataclass
class Tensor:
    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: Quantization | None = None
    data: np.ndarray | None = None   # set for constant tensors
    is_variable: bool = False        # persistent state (e.g. LSTM cell state)
    # How the model file stored a constant, when not plainly ("int4", "sparse",
    # "TFLM_DECODE lut ..."): information only, the data is always the plain values.
    stored_as: str = ""

    @property
    def is_const(self) -> bool:
        return self.data is not None

    @property
    def num_elements(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.num_elements * DTYPE_BYTES[self.dtype]

    @property
    def ctype(self) -> str:
        return DTYPE_CTYPE[self.dtype]

    def shape_str(self) -> str:
        return "x".join(str(d) for d in self.shape) if self.shape else "scalar"


@dataclass
class Op:
    index: int                 # position in the model's operator list
    opcode: str                # e.g. "CONV_2D"
    inputs: list[int]          # tensor indices; -1 marks an omitted optional input
    outputs: list[int]
    options: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def describe(self) -> str:
        return f"operator #{self.index} ({self.opcode})"


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]
    inputs: list[int]
    outputs: list[int]
    description: str = ""
    warnings: list[str] = field(default_factory=list)

    def tensor(self, index: int) -> Tensor:
        return self.tensors[index]

    def producers(self) -> dict[int, Op]:
        """Tensor index -> the op that writes it."""
        return {t: op for op in self.ops for t in op.outputs if t >= 0}

    def consumers(self) -> dict[int, list[Op]]:
        """Tensor index -> ops that read it, in execution order."""
        out: dict[int, list[Op]] = {}
        for op in self.ops:
            for t in op.inputs:
                if t >= 0:
                    out.setdefault(t, []).append(op)
        return out

    def op_inputs(self, op: Op) -> list[Tensor | None]:
        return [self.tensors[i] if i >= 0 else None for i in op.inputs]

    def op_outputs(self, op: Op) -> list[Tensor]:
        return [self.tensors[i] for i in op.outputs]
