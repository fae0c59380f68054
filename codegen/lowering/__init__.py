"""Lowering: for each operator family a package of kernel variants, siblings of each other.

`lowering/<family>/portable.py` lowers the family's operators onto tinygen's portable
C kernels, `lowering/<family>/cmsis_nn.py` onto Arm's CMSIS-NN, and so on.  A variant
registers its function for the opcodes it handles:

    @register("CONV_2D", variant="cmsis-nn")
    def lower_conv_2d_cmsis(op, graph, ctx) -> LayerCall: ...

The function reads the layer's meaning and numbers from the operator spec
(`codegen.ops.<family>`), and either returns the `LayerCall` or raises
`lowering.base.Declined` saying why it cannot run the layer bit-exactly on this target.
A lowering that reads a compressed filter (codegen/encoding.py) registers with the
encodings it reads, `@register("FULLY_CONNECTED", variant="dsp", reads=("int4",))`: it is
asked only for layers whose filter is stored so, and the others only for raw filters.
Which variant a layer gets is decided by `codegen.selection`, not here.  The registry finds
every module below this package by itself: adding a family or a variant needs no list.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Callable

from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext

LowerFn = Callable[[Op, Graph, LowerContext], LayerCall]

PORTABLE = "portable"
_REGISTRY: dict[str, dict[str, LowerFn]] = {}      # opcode -> variant -> lowering
# opcode -> encoding -> variant -> lowering reading a filter stored in that encoding
_ENCODED: dict[str, dict[str, dict[str, LowerFn]]] = {}
_loaded = False


def register(*opcodes: str, variant: str = PORTABLE, reads: tuple[str, ...] = ()):
    """`reads`: the filter encodings (codegen/encoding.py) the lowering reads; without it,
    a lowering of raw int8 filters."""
    def deco(fn: LowerFn) -> LowerFn:
        for oc in opcodes:
            if reads:
                for enc in reads:
                    _ENCODED.setdefault(oc, {}).setdefault(enc, {})[variant] = fn
            else:
                _REGISTRY.setdefault(oc, {})[variant] = fn
        return fn
    return deco


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    for mod in sorted(m.name for m in pkgutil.walk_packages(__path__, prefix=__name__ + ".")):
        importlib.import_module(mod)
    _loaded = True


def variants_of(opcode: str) -> dict[str, LowerFn]:
    """The kernel variants that can lower `opcode`: variant name -> lowering function."""
    _load_all()
    return dict(_REGISTRY.get(opcode, {}))


def encoded_variants_of(opcode: str, encoding: str) -> dict[str, LowerFn]:
    """The variants with a kernel for `opcode` reading a filter stored as `encoding`."""
    _load_all()
    return dict(_ENCODED.get(opcode, {}).get(encoding, {}))


def known_variants() -> list[str]:
    _load_all()
    return sorted({v for fns in _REGISTRY.values() for v in fns})


def supported_opcodes(variant: str | None = None) -> list[str]:
    """Opcodes some kernel variant can lower (only `variant`'s if given)."""
    _load_all()
    return sorted(oc for oc, fns in _REGISTRY.items() if variant is None or variant in fns)
