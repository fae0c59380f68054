"""What every kernel variant's lowering shares: its context, and the way it declines a layer.

A variant's lowering function takes `(op, graph, ctx)` and returns a `LayerCall`
(codegen/ir.py), or raises `Declined` with the reason this variant cannot run the
layer bit-exactly on this target (the selection step records the reason and tries
the next variant).  An `UnsupportedError` means the layer itself is outside what
tinygen supports.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from codegen.graph import Graph
from codegen.ir import ConstArray, ConstRef


class Declined(Exception):
    """This kernel variant cannot run this layer (bit-exactly, on this target): says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class LowerContext:
    """What a lowering may consult: the graph, the target, and a namer for its constants.

    `backend` is the external kernel library of the variant being tried (for example a
    `codegen.cmsis_nn.CmsisNNBackend` while the "cmsis-nn" variant is asked), or None.
    `preference` is the layer's kernel preference (the variants asked, in order).
    `filter` is how the layer's filter is stored (codegen.encoding.FilterEncoding) when it is
    compressed; only lowerings registered to read that encoding are then asked.
    """

    def __init__(self, graph: Graph, target: dict, layer_name: str, backend: Any = None,
                 match_tflm: bool = False, preference: list[str] | None = None,
                 filter: Any = None):
        self.graph = graph
        self.filter = filter
        self.preference = list(preference or [])
        # reproduce TFLM's arithmetic where it differs from what the model means (--match-tflm)
        self.match_tflm = match_tflm
        self.target = target
        self.layer_name = layer_name  # e.g. "l3_conv_2d", prefix for constant names
        self.backend = backend

    def const(self, suffix: str, ctype: str, values, comment: str = "",
              encoding: str = "raw") -> tuple[ConstArray, ConstRef]:
        arr = np.ascontiguousarray(values)
        c = ConstArray(name=f"{self.layer_name}_{suffix}", ctype=ctype, values=arr.reshape(-1),
                       comment=comment, encoding=encoding)
        return c, ConstRef(c.name)


