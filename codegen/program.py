"""Graph -> Program: the passes, lowering and memory planning, with nothing rendered yet.

A Program is everything the templates need: the ordered layer calls, the
memory plan, the C names of every buffer, and the constant arrays.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from codegen.cnames import Namer, display_text
from codegen.errors import UnsupportedError
from codegen.graph import Graph
from codegen.lowering import ALIAS_OPS, lower_op, supported_opcodes
from codegen.lowering.base import ConstArray, LayerCall, LowerContext, TensorArg, unsupported
from codegen.passes import run_passes
from codegen.passes.fold_constants import EVALUATORS
from codegen.planning.memory import MemoryPlan, alias_groups, plan_memory
from codegen.quant import QuantRangeError

RESERVED = {"arena", "state", "weights", "params", "input", "output", "status"}


@dataclass
class Layer:
    name: str          # C-safe layer name, prefix of its constants and params
    call: LayerCall


@dataclass
class Program:
    name: str
    graph: Graph
    target: dict
    library: str
    layers: list[Layer]
    plan: MemoryPlan
    cnames: dict[int, str]          # tensor index -> C identifier (buffers and params)
    consts: list[ConstArray]
    warnings: list[str] = field(default_factory=list)
    # external kernel libraries the layers call: tinygen.json key -> what a build needs
    libraries: dict[str, dict] = field(default_factory=dict)
    # constant name -> name of the identical array that is emitted in its place
    const_alias: dict[str, str] = field(default_factory=dict)

    def const_member(self, name: str) -> str:
        """The weights-struct member holding constant `name` (shared if identical)."""
        return self.const_alias.get(name, name)

    @property
    def runtime_modules(self) -> list[str]:
        mods = {"tg_common"}
        for layer in self.layers:
            mods.update(layer.call.runtime)
        return sorted(mods)

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)

    @property
    def macs(self) -> int:
        return sum(layer.call.macs for layer in self.layers)


def check_supported(graph: Graph, library: str = "portable") -> None:
    known = supported_opcodes(library)
    bad = [op for op in graph.ops if op.opcode not in known]
    if not bad:
        return
    lines = []
    for op in bad[:20]:
        outs = ", ".join(f"'{display_text(graph.tensors[t].name)}'" for t in op.outputs)
        lines.append(f"  {op.describe()} producing {outs}")
    if len(bad) > 20:
        lines.append(f"  ... and {len(bad) - 20} more")
    kinds = sorted({op.opcode for op in bad})
    foldable = [k for k in kinds if k in EVALUATORS]
    hint = ""
    if foldable:
        hint = (f"\n{', '.join(foldable)}: supported only where generation can compute the "
                "result (constant inputs, or SHAPE of a static shape); here it depends on "
                "the model's inputs or could not be evaluated exactly")
    raise UnsupportedError(
        f"the model uses {len(bad)} operator(s) tinygen does not support "
        f"({', '.join(kinds)}):\n" + "\n".join(lines) + hint +
        f"\nSupported operators: {', '.join(sorted(known))}")


def build_program(graph: Graph, name: str, target: dict, library: str | None = None,
                  backend=None, match_tflm: bool = False) -> Program:
    """`backend`: the external kernel library located for `library` (e.g. CMSIS-NN), if any.
    `match_tflm`: reproduce TFLM's arithmetic where it differs from TFLite's (--match-tflm)."""
    graph = run_passes(graph)     # folding first: SHAPE, FILL, ... of constants disappear
    library = library or target.get("kernel_library", "portable")
    check_supported(graph, library)

    alias_ops = [op for op in graph.ops if op.opcode in ALIAS_OPS]
    uf, copies = alias_groups(graph, alias_ops)
    copy_ids = {id(op) for op in copies}

    layers: list[Layer] = []
    layer_namer = Namer(RESERVED)
    for op in graph.ops:
        if op.opcode in ALIAS_OPS and id(op) not in copy_ids:
            continue
        lname = layer_namer.identifier(f"l{op.index}_{op.opcode.lower()}", "l")
        try:
            call = lower_op(op, graph, LowerContext(graph, target, lname, backend, match_tflm),
                            library)
        except QuantRangeError as e:
            raise unsupported(op, graph, str(e)) from None
        layers.append(Layer(lname, call))

    plan = plan_memory(graph, [layer.call for layer in layers], uf,
                       alignment=int(target.get("arena_alignment", 16)))

    # C names: model inputs/outputs (function parameters) first, then arena buffers.
    # (tensor names must not shadow the model's globals `<name>_*` or a layer's `<layer>_*`)
    namer = Namer(RESERVED | layer_namer.used |
                  {name} | {f"{name}_{s}" for s in ("invoke", "reset", "arena", "state", "weights")},
                  reserved_prefixes=(f"{name}_", *(f"{layer.name}_" for layer in layers)))
    cnames: dict[int, str] = {}
    for t in list(graph.inputs) + list(graph.outputs):
        if t not in cnames:
            cnames[t] = namer.identifier(graph.tensors[t].name, "t")
    consts: list[ConstArray] = []
    for layer in layers:
        for arg in layer.call.args:
            if isinstance(arg, TensorArg):
                t = graph.tensors[arg.tensor]
                root = plan.storage[arg.tensor].root
                if t.is_const and arg.tensor not in cnames:
                    cname = namer.identifier("c_" + t.name, "c")
                    cnames[arg.tensor] = cname
                    consts.append(ConstArray(cname, t.ctype, t.data.reshape(-1),
                                             f"constant tensor '{t.name}' {t.shape_str()}"))
                elif root not in cnames and not t.is_const:
                    cnames[root] = namer.identifier(graph.tensors[root].name, "t")
        consts.extend(layer.call.consts)
    consts, const_alias = dedupe_consts(consts)
    warnings = list(graph.warnings) + [w for layer in layers for w in layer.call.warnings]
    libraries = {}
    if backend is not None:
        warnings += list(getattr(backend, "warnings", []))
        used = [layer.call.kernel for layer in layers if layer.call.library == backend.name]
        if used:
            libraries[backend.name.replace("-", "_")] = backend.manifest(used)
    return Program(name=name, graph=graph, target=target, library=library, layers=layers,
                   plan=plan, cnames=cnames, consts=consts, warnings=warnings,
                   libraries=libraries, const_alias=const_alias)


def dedupe_consts(consts: list[ConstArray]) -> tuple[list[ConstArray], dict[str, str]]:
    """Emit each distinct constant array once (layers sharing weights share flash).

    Returns the arrays to emit and a map from every dropped name to the kept one.
    """
    kept: list[ConstArray] = []
    first: dict[tuple, ConstArray] = {}
    alias: dict[str, str] = {}
    users: dict[str, int] = {}
    for c in consts:
        key = (c.ctype, c.values.dtype.str, c.values.size, c.values.tobytes())
        if key in first:
            alias[c.name] = first[key].name
            users[first[key].name] += 1
        else:
            first[key] = c
            users[c.name] = 1
            kept.append(c)
    for c in kept:
        if users[c.name] > 1:
            c.comment = f"{c.comment} (shared by {users[c.name]} uses)"
    return kept, alias
