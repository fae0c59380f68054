"""Which filters are stored compressed, and the kernel selection that follows from it.

Before a layer's kernel is selected, its filter (FULLY_CONNECTED, CONV_2D,
DEPTHWISE_CONV_2D) is given an encoding from its values (`codegen.encoding.choose`,
with the encodings `--compress` allows, or `--compress-layer N=...` for one layer).  A
compressed filter is then offered only to the lowerings that read that encoding
(`register(..., reads=...)`); when none of the preference accepts the layer, the filter
stays int8 (raw) with the reason, unless the user named the encoding for that layer.
"""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator

from codegen import kernel_config
from codegen.compressed_code import UNITS
from codegen.encoding import EncodingChoiceError, FilterEncoding, choose, raw
from codegen.errors import TinygenError, UnsupportedError
from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext
from codegen.selection import Selection, select_kernel

# operators with a compressible filter: the axis of its output channels
FILTER_AXIS = {"FULLY_CONNECTED": 0, "CONV_2D": 0, "DEPTHWISE_CONV_2D": 3}


def has_filter(op: Op, graph: Graph) -> bool:
    """Whether `op` has a constant filter that could be compressed."""
    return (op.opcode in FILTER_AXIS and len(op.inputs) >= 2 and op.inputs[1] >= 0
            and graph.tensors[op.inputs[1]].is_const)


def filter_encoding(op: Op, graph: Graph, allowed: tuple[str, ...],
                    forced: bool = False) -> FilterEncoding | None:
    """How `op`'s filter is to be stored: None when no compression is asked for the layer
    or it has no constant filter (stored as today, nothing reported)."""
    if not allowed or not has_filter(op, graph):
        return None
    axis = FILTER_AXIS[op.opcode]
    t = graph.tensors[op.inputs[1]]
    data = t.data
    if data.ndim != (2 if op.opcode == "FULLY_CONNECTED" else 4):
        return raw(data, f"filter of shape {t.shape_str()}")
    if op.opcode == "CONV_2D" and data.shape[1:3] != (1, 1):
        allowed = tuple(k for k in allowed if k != "sparse")   # sparse: GEMM-shaped only
    try:
        return choose(data, axis, allowed, forced=forced)
    except EncodingChoiceError as e:
        raise UnsupportedError(f"{op.describe()}: --compress-layer {op.index}: its filter "
                               f"cannot be stored as asked: {e}") from None


def check_layer_compress(graph: Graph, layers: dict[int, tuple[str, ...]]) -> None:
    """Every layer of --compress-layer must be a layer with a constant filter."""
    ok = {op.index for op in graph.ops if has_filter(op, graph)}
    bad = sorted(set(layers) - ok)
    if bad:
        raise TinygenError(f"--compress-layer: layer {', '.join(map(str, bad))} has no "
                           "constant filter to compress (layers with one: "
                           f"{', '.join(map(str, sorted(ok))) or 'none'})")


def select_for_filter(op: Op, graph: Graph, preference: list[str],
                      context: Callable[[str, FilterEncoding | None], LowerContext],
                      overridden: bool, enc: FilterEncoding | None) -> tuple[LayerCall, Selection]:
    """select_kernel for a layer whose filter is stored as `enc` (None or raw: as today)."""
    if enc is None or not enc.encoded:
        call, sel = select_kernel(op, graph, preference, lambda v: context(v, None), overridden)
        sel.filter = enc
        return call, sel
    try:
        call, sel = select_kernel(op, graph, preference, lambda v: context(v, enc), overridden,
                                  encoding=enc.encoding)
    except UnsupportedError as e:
        if enc.forced:
            raise UnsupportedError(f"{op.describe()}: --compress-layer {op.index}: no kernel "
                                   f"of the preference reads its filter as {enc.label()}: "
                                   f"{e}") from None
        call, sel = select_kernel(op, graph, preference, lambda v: context(v, None), overridden)
        sel.filter = raw(graph.tensors[op.inputs[1]].data,
                         f"{enc.label()} would store {enc.after} of {enc.before} bytes, but no "
                         f"kernel of the preference reads it here ({e})")
        return call, sel
    if not enc.forced:
        # never trade speed for flash silently: keep the int8 filter where it runs on a
        # variant earlier in the preference than any kernel reading the encoding
        raw_call, raw_sel = select_kernel(op, graph, preference, lambda v: context(v, None),
                                          overridden)
        if preference.index(raw_sel.variant) < preference.index(sel.variant):
            why = [r.reason for r in sel.refusals if r.variant == raw_sel.variant]
            raw_sel.filter = raw(graph.tensors[op.inputs[1]].data,
                                 f"{enc.label()} would store {enc.after} of {enc.before} "
                                 f"bytes, but only {sel.variant} kernels read it here and "
                                 f"{raw_sel.variant} runs the int8 filter (faster"
                                 + (f"; {raw_sel.variant}: {why[0]}" if why else "") +
                                 f"); --compress-layer {op.index}={enc.encoding} forces it")
            return raw_call, raw_sel
    sel.filter = enc
    return call, sel


# ---------------------------------------------------------------- the code it costs
# A compressed filter needs its kernel's code in the image: the kernel, and for
# tg_dsp_cw_gemm_s8 the path its layer takes (tg_config.h links only those).  Each such code
# unit's functions and their sizes are measured (benchmarks/code_units.py writes
# codegen/compressed_code.py); units share functions (tg_dsp_cw_channel, tg_cw_table_coded)
# that an image holds once.
def code_unit(call: LayerCall) -> str | None:
    """The code unit a layer's call needs for its compressed filter (None: no such kernel)."""
    k = call.kernel
    if k == "tg_dsp_cw_gemm_s8":
        p = call.params
        return k + ("/once-int4" if kernel_config.cw_gemm_once_s4(p) else
                    "/once-palette" if kernel_config.cw_gemm_once_pal(p) else "/blocks")
    if k == "tg_dsp_s4_gemm_s8":
        return k + ("/pairs" if kernel_config.s4_gemm_pairs(call.params) else "/row")
    return k if k in COMPRESSED_KERNELS else None


# the kernels that read compressed filters (tg_dsp_cw_gemm_s8, tg_dsp_s4_gemm_s8: by path,
# code_unit)
COMPRESSED_KERNELS = ("tg_dsp_cw_conv_s8", "tg_dsp_cw_depthwise_s8",
                      "tg_dsp_sparse_gemm_s8", "tg_cw_fully_connected_s8", "tg_cw_conv_s8",
                      "tg_cw_depthwise_conv_s8", "tg_sparse_gemm_s8")


def compressed_code(calls: Iterable[LayerCall]) -> tuple[list[str], int]:
    """The code units these calls' compressed filters need, and the code bytes they add
    (code_bytes): the report's estimate of what compression costs in code."""
    units = sorted({u for u in (code_unit(c) for c in calls) if u})
    return units, code_bytes(units)


_code_table = [UNITS]        # the table code_bytes reads (code_table swaps it)


@contextmanager
def code_table(table: dict[str, dict[str, int]]) -> Iterator[None]:
    """Within, the code check reads `table` instead of codegen/compressed_code.py's ({}:
    compressed kernels' code counts as nothing: tests and benchmarks of the other rules on
    layers too small to repay it)."""
    _code_table.append(table)
    try:
        yield
    finally:
        _code_table.pop()


def code_bytes(units) -> int:
    """The code bytes an image holds for these units (each function once, at its largest:
    a kernel with more of its paths in is larger)."""
    table = _code_table[-1]
    funcs: dict[str, int] = {}
    for u in units:
        for f, n in table.get(u, {}).items():
            funcs[f] = max(funcs.get(f, 0), n)
    return sum(funcs.values())


@dataclass(frozen=True)
class CodeCost:
    """A compressed filter as the code check sees it: its layer, the code unit its call
    needs (code_unit), and the filter bytes compression saves."""
    layer: int
    unit: str
    saved: int


def unprofitable_filters(filters: list[CodeCost], paid: Iterable[str] = ()) -> dict[int, str]:
    """{layer: why} of the compressed filters --compress auto should keep int8: those whose
    kernels' code would take more flash than their filters save.  `paid`: units the image
    holds anyway (filters named by --compress-layer).

    First, one unit at a time (the worst first): a unit whose filters save no more than
    the code it alone brings (its functions no other unit shares) goes; then all of them,
    when together they save no more than all their code."""
    paid = sorted(set(paid))
    active = list(filters)
    out: dict[int, str] = {}

    def added(units) -> int:
        return code_bytes([*units, *paid]) - code_bytes(paid)

    while active:
        units = sorted({f.unit for f in active})
        worst = None
        for u in units:
            group = [f for f in active if f.unit == u]
            cost = added(units) - added([v for v in units if v != u])
            saved = sum(f.saved for f in group)
            if saved <= cost and (worst is None or saved - cost < worst[0]):
                worst = (saved - cost, u, cost, saved)
        if worst is None:
            break
        _, u, cost, saved = worst
        for f in active:
            if f.unit == u:
                out[f.layer] = (f"filter kept int8: its kernel's code ({u}, about {cost} "
                                f"bytes of flash) is more than compressing its layers' "
                                f"filters saves ({saved} bytes)")
        active = [f for f in active if f.unit != u]
    saved = sum(f.saved for f in active)
    cost = added({f.unit for f in active})
    if active and saved <= cost:
        for f in active:
            out[f.layer] = (f"filter kept int8: the compressed kernels' code (about {cost} "
                            f"bytes of flash) is more than compressing the filters saves "
                            f"({saved} bytes)")
    return out
