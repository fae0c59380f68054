"""Checks every operator spec and kernel variant uses: errors that name the operator."""
from __future__ import annotations

from codegen.cnames import display_text
from codegen.errors import UnsupportedError
from codegen.graph import Graph, Op, Tensor


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
