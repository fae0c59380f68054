"""MAXIMUM and MINIMUM, int8 (and int16 in 16x8 models), with numpy-style broadcasting (up
to rank 8, as TFLM).

TFLM's kernel (maximum_minimum.cc) compares the stored values and copies
the winner: it neither checks nor applies the tensors' quantization.  The
converter gives both inputs and the output the same parameters, so that is
also the right answer; with different parameters tinygen still matches TFLM
bit for bit, and warns.

At generation time the broadcast is simplified: output dimensions of extent 1
are dropped and neighbours with the same broadcast pattern are merged (equal
shapes become one flat loop, a tensor against a per-channel vector two).
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, unsupported

MAX_RANK = 8           # TFLM's BroadcastBinaryOpSimple limit


def _row_major_strides(shape: tuple[int, ...]) -> list[int]:
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k + 1]
    return strides


def broadcast_loops(out_shape: tuple[int, ...], shapes: list[tuple[int, ...]]
                    ) -> list[tuple[int, list[int]]]:
    """Merged loops, outermost first: (extent, [stride of each input]).

    Raises ValueError when an input does not broadcast to `out_shape`.
    """
    rank = len(out_shape)
    ext = []
    for s in shapes:
        if len(s) > rank:
            raise ValueError(f"input rank {len(s)} exceeds the output rank {rank}")
        e = (1,) * (rank - len(s)) + tuple(s)
        for d, o in zip(e, out_shape):
            if d not in (1, o):
                raise ValueError(f"input shape {list(s)} does not broadcast to {list(out_shape)}")
        ext.append(e)
    own = [_row_major_strides(e) for e in ext]
    loops: list[list] = []        # innermost first while building: [extent, strides]
    for k in range(rank - 1, -1, -1):
        extent = out_shape[k]
        if extent == 1:
            continue
        strides = [0 if e[k] == 1 else st[k] for e, st in zip(ext, own)]
        if loops:
            g_extent, g_strides = loops[-1]
            if all((s == 0 and gs == 0) or (gs != 0 and s == gs * g_extent)
                   for s, gs in zip(strides, g_strides)):
                loops[-1] = [g_extent * extent, g_strides]
                continue
        loops.append([extent, strides])
    return [(e, s) for e, s in reversed(loops)]


def _quant_key(t: Tensor):
    q = t.quant
    return None if q is None else (q.scalar_scale, q.scalar_zero_point)


@dataclass
class MaxMinLayer:
    op: Op
    a: Tensor
    b: Tensor
    out: Tensor
    loops: list[tuple[int, list[int]]]    # merged broadcast loops, outermost first

    def comment(self) -> str:
        bcast = "" if self.a.shape == self.b.shape else " (broadcast)"
        return (f"{self.op.opcode} {self.a.shape_str()}, {self.b.shape_str()} -> "
                f"{self.out.shape_str()}{bcast}")


def analyse_maximum_minimum(op: Op, g: Graph, activations: tuple[str, ...] = ("int8",)
                            ) -> MaxMinLayer:
    """Check a MAXIMUM/MINIMUM whose tensors are all one of `activations`."""
    ins = g.op_inputs(op)
    if len(ins) != 2 or any(t is None for t in ins):
        raise unsupported(op, g, "expected two inputs")
    a, b = ins
    out = g.op_outputs(op)[0]
    require_dtype(op, g, a, activations, "first input")
    require_dtype(op, g, b, (a.dtype,), "second input")
    require_dtype(op, g, out, (a.dtype,), "output")
    if len(out.shape) > MAX_RANK:
        raise unsupported(op, g, f"rank {len(out.shape)} exceeds TFLM's limit of {MAX_RANK}")
    try:
        loops = broadcast_loops(out.shape, [a.shape, b.shape])
    except ValueError as e:
        raise unsupported(op, g, str(e)) from None
    if not (_quant_key(a) == _quant_key(b) == _quant_key(out)):
        msg = (f"{op.describe()}: inputs and output have different quantization; like TFLM, "
               f"tinygen compares the stored {a.dtype} values without requantizing")
        if msg not in g.warnings:
            g.warnings.append(msg)
    return MaxMinLayer(op=op, a=a, b=b, out=out, loops=loops or [(1, [0, 0])])
