"""Kernel selection: which kernel variant runs each layer, and why.

For every layer the variants of an ordered preference list are asked in turn (the
target's `kernels` list in targets/*.toml, e.g. ["cmsis-nn", "portable"]; `--kernels`
replaces it for the whole model, `--kernel N=VARIANT[,VARIANT...]` for layer N).  Each
variant either lowers the layer or declines it with a reason (`lowering.base.Declined`,
or an `UnsupportedError` from the operator spec).  The first that accepts runs the
layer; the choice and every refusal are recorded in a `Selection`, which reaches
tinygen.json and the printed layer table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from codegen.errors import TinygenError, UnsupportedError
from codegen.graph import Graph, Op
from codegen.ir import LayerCall
from codegen.lowering import encoded_variants_of, known_variants, variants_of
from codegen.lowering.base import Declined, LowerContext


@dataclass(frozen=True)
class Refusal:
    variant: str
    reason: str


@dataclass
class Selection:
    """The kernel decision for one layer."""

    layer: int                    # the layer number (the model's operator index)
    opcode: str
    variant: str                  # the variant that runs it
    preference: list[str]         # the variants asked, in order
    refusals: list[Refusal] = field(default_factory=list)
    overridden: bool = False      # preference given for this layer with --kernel
    # how the layer's filter is stored (codegen.encoding.FilterEncoding), for layers with one
    filter: object | None = None

    def reason(self) -> str:
        """One line: why this layer got its variant."""
        if not self.refusals:
            return "forced with --kernel" if self.overridden else "first choice"
        return "; ".join(f"{r.variant}: {r.reason}" for r in self.refusals)

    def manifest(self) -> dict:
        return dict(variant=self.variant, preference=list(self.preference),
                    refused=[dict(variant=r.variant, reason=r.reason) for r in self.refusals],
                    overridden=self.overridden)


def parse_kernel_list(text: str, what: str) -> list[str]:
    """'cmsis-nn,portable' -> ['cmsis-nn', 'portable'], checked against the known variants."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise TinygenError(f"{what}: give at least one kernel variant "
                           f"({', '.join(known_variants())})")
    unknown = [n for n in names if n not in known_variants()]
    if unknown:
        raise TinygenError(f"{what}: unknown kernel variant {', '.join(map(repr, unknown))}; "
                           f"known: {', '.join(known_variants())}")
    return list(dict.fromkeys(names))


def parse_layer_overrides(specs: list[str] | None) -> dict[int, list[str]]:
    """['7=portable', '12=cmsis-nn,portable'] -> {7: ['portable'], 12: [...]}."""
    out: dict[int, list[str]] = {}
    for spec in specs or []:
        layer, sep, kernels = spec.partition("=")
        if not sep or not layer.strip().isdigit():
            raise TinygenError(f"--kernel {spec!r}: write LAYER=VARIANT, for example "
                               "--kernel 7=portable (layer numbers are in the layer table)")
        n = int(layer)
        if n in out:
            raise TinygenError(f"--kernel: layer {n} is given twice")
        out[n] = parse_kernel_list(kernels, f"--kernel {spec}")
    return out


def check_overrides(graph: Graph, overrides: dict[int, list[str]]) -> None:
    """Every overridden layer must be a layer of the (folded) graph."""
    layers = {op.index for op in graph.ops}
    bad = sorted(set(overrides) - layers)
    if bad:
        shown = ", ".join(str(n) for n in sorted(layers)[:40])
        folded = {op.options["folded_pad"]["op"]: op.index for op in graph.ops
                  if op.options.get("folded_pad")}
        notes = "".join(f"; operator {n} is a PAD folded into layer {folded[n]}"
                        for n in bad if n in folded)
        raise TinygenError(f"--kernel: the model has no layer {', '.join(map(str, bad))} "
                           f"after folding constant operators and PADs (its layers: {shown}"
                           f"{', ...' if len(layers) > 40 else ''}){notes}")


def select_kernel(op: Op, graph: Graph, preference: list[str],
                  context: Callable[[str], LowerContext],
                  overridden: bool = False, encoding: str = "raw") -> tuple[LayerCall, Selection]:
    """Lower `op` with the first variant of `preference` that accepts it.

    `context(variant)` gives the LowerContext for a variant (with its backend).
    `encoding`: how the layer's filter is stored; only variants reading it are asked.
    Raises UnsupportedError naming every refusal when no variant accepts the layer.
    """
    fns = variants_of(op.opcode) if encoding == "raw" else \
        encoded_variants_of(op.opcode, encoding)
    refusals: list[Refusal] = []
    last_error: UnsupportedError | None = None
    for variant in preference:
        fn = fns.get(variant)
        if fn is None:
            refusals.append(Refusal(variant, f"has no kernel for {op.opcode}"
                                    if encoding == "raw" else
                                    f"has no {op.opcode} kernel reading a filter stored as "
                                    f"{encoding}"))
            continue
        try:
            call = fn(op, graph, context(variant))
        except Declined as e:
            refusals.append(Refusal(variant, e.reason))
            continue
        except UnsupportedError as e:
            refusals.append(Refusal(variant, str(e)))
            last_error = e
            continue
        call.variant = variant
        return call, Selection(layer=op.index, opcode=op.opcode, variant=variant,
                               preference=list(preference), refusals=refusals,
                               overridden=overridden)
    if last_error is not None and refusals and refusals[-1].reason == str(last_error):
        raise last_error      # the operator spec's own message says what is wrong
    how = f"--kernel {op.index}={','.join(preference)}" if overridden else \
        f"kernel preference {', '.join(preference)}"
    detail = "; ".join(f"{r.variant}: {r.reason}" for r in refusals)
    others = sorted(set(fns) - set(preference))
    hint = f" (other variants with a kernel for it: {', '.join(others)})" if others else ""
    raise UnsupportedError(f"{op.describe()}: no kernel variant of the {how} accepts this "
                           f"layer: {detail}{hint}")
