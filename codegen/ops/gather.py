"""GATHER: what TFLM accepts, and the range of valid positions along its axis (for inputs
that feed GATHER positions at run time).
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph

GATHER_TYPES = ("int8", "float32")   # what TFLM's GATHER accepts


def product(xs) -> int:
    return int(np.prod([int(x) for x in xs], dtype=np.int64))


def positions_range(graph: Graph, tensor: int) -> tuple[int, int] | None:
    """[lo, hi] of the valid values of a model input that is a GATHER's positions, so that
    random test inputs stay inside what TFLM accepts; None when it is not one."""
    his = [int(graph.tensors[op.inputs[0]].shape[int(op.options.get("axis", 0)) %
                                               len(graph.tensors[op.inputs[0]].shape)]) - 1
           for op in graph.ops
           if op.opcode == "GATHER" and len(op.inputs) > 1 and op.inputs[1] == tensor
           and op.inputs[0] >= 0 and len(graph.tensors[op.inputs[0]].shape) > 0]
    return (0, max(0, min(his))) if his else None
