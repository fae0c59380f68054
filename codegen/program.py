"""Graph -> Program: passes, kernel selection and lowering, memory planning; nothing rendered.

A Program is everything the templates need: the ordered layer calls with the kernel
decision of each, the memory plan, the C names of every buffer, and the constant arrays.
Every layer is numbered by its operator's index in the model, everywhere (C names, the
comment above its call, the printed table, tinygen.json, `--kernel N=...`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from codegen import cheaders
from codegen.cnames import Namer, display_text
from codegen.compression import (CodeCost, check_layer_compress, code_bytes, code_unit,
                                 filter_encoding, select_for_filter, unprofitable_filters)
from codegen.encoding import FilterEncoding, raw
from codegen.errors import UnsupportedError
from codegen.graph import Graph
from codegen.ir import ConstArray, LayerCall, TensorArg
from codegen.lowering import PORTABLE, supported_opcodes
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.elementwise.dsp import unify_fast_modes
from codegen.lowering.resblock import fuse_calls
from codegen.ops import check_constant_inputs
from codegen.ops.checks import unsupported
from codegen.passes import run_passes
from codegen.passes.fold_constants import EVALUATORS
from codegen.passes.fuse_residual import FUSED_OPCODE, find_residual_blocks
from codegen.planning.memory import MemoryPlan, plan_memory, resolve_aliases
from codegen.planning.order import choose_order
from codegen.planning.report import step_memory
from codegen.quant import QuantRangeError
from codegen.selection import Refusal, Selection, check_overrides

RESERVED = {"arena", "state", "weights", "params", "input", "output", "status"}


@dataclass
class Layer:
    name: str          # C-safe layer name, prefix of its constants and params
    call: LayerCall
    selection: Selection

    @property
    def index(self) -> int:
        """The layer number: its operator's index in the model."""
        return self.call.op.index


@dataclass
class Program:
    name: str
    graph: Graph
    target: dict
    kernels: list[str]              # the kernel preference the layers were selected with
    layers: list[Layer]
    plan: MemoryPlan
    cnames: dict[int, str]          # tensor index -> C identifier (buffers and params)
    consts: list[ConstArray]
    warnings: list[str] = field(default_factory=list)
    # external kernel libraries the layers call: tinygen.json key -> what a build needs
    libraries: dict[str, dict] = field(default_factory=dict)
    # constant name -> name of the identical array that is emitted in its place
    const_alias: dict[str, str] = field(default_factory=dict)

    @property
    def library(self) -> str:
        """The preferred kernel variant (tinygen.json's kernel_library)."""
        return self.kernels[0]

    def const_member(self, name: str) -> str:
        """The weights-struct member holding constant `name` (shared if identical)."""
        return self.const_alias.get(name, name)

    @property
    def runtime_modules(self) -> list[str]:
        """runtime_c modules to copy: those declaring the kernels called, what they include."""
        return cheaders.runtime_modules(layer.call.kernel for layer in self.layers)

    @property
    def const_bytes(self) -> int:
        return sum(c.nbytes for c in self.consts)

    @property
    def macs(self) -> int:
        return sum(layer.call.macs for layer in self.layers)


def check_supported(graph: Graph) -> None:
    known = supported_opcodes()
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


def build_program(graph: Graph, name: str, target: dict, kernels: list[str] | None = None,
                  backends: dict | None = None,
                  layer_kernels: dict[int, list[str]] | None = None,
                  match_tflm: bool = False, io_in_arena: bool = False,
                  compress: tuple[str, ...] = (),
                  layer_compress: dict[int, tuple[str, ...]] | None = None,
                  fuse_residual: bool = True, in_place: bool = True,
                  code_paid: Iterable[str] = ()) -> Program:
    """`kernels`: the kernel preference (default: the target's `kernels`); `backends`: the
    external kernel libraries located for it, by variant (e.g. {"cmsis-nn": CMSIS-NN});
    `layer_kernels`: per-layer preferences (--kernel N=...); `match_tflm`: reproduce TFLM's
    arithmetic where it differs from TFLite's (--match-tflm); `io_in_arena`: plan the
    model's inputs and outputs in the arena too (--io-in-arena); `compress`: the filter
    encodings allowed (codegen/encoding.py KINDS; () stores every filter as int8),
    `layer_compress` per layer (--compress-layer N=...); `fuse_residual`: run basic residual
    blocks fused, row by row, where their kernels can (--no-fuse-residual turns it off);
    `in_place`: use the overlaps the kernels declare (False: the operator-by-operator plan,
    --no-in-place); `code_paid`: compressed kernels' code units (compression.code_unit) the
    image holds anyway, for other models of a several-model project: compressed filters
    need not repay them."""
    graph = run_passes(graph)     # folding first: SHAPE, FILL, ... of constants disappear
    if isinstance(kernels, str):
        raise TypeError("build_program: kernels is a list of variants, e.g. ['cmsis-nn', "
                        "'portable']")
    kernels = list(kernels or target.get("kernels") or [PORTABLE])
    backends = backends or {}
    layer_kernels = layer_kernels or {}
    check_supported(graph)
    check_constant_inputs(graph)
    check_overrides(graph, layer_kernels)
    layer_compress = layer_compress or {}
    check_layer_compress(graph, layer_compress)

    # layers whose filters --compress keeps int8 because the compressed kernels' code
    # would cost more flash than they save (code_reverts), and why
    reverts: dict[int, str] = {}

    def lower(op, int8: bool = False) -> tuple[str, LayerCall, Selection]:
        """`int8`: with the filter stored as int8 whatever --compress says."""
        lname = f"l{op.index}_{op.opcode.lower()}"
        pref = layer_kernels.get(op.index, kernels)

        def context(variant: str, enc, lname=lname, pref=pref) -> LowerContext:
            return LowerContext(graph, target, lname, backends.get(variant), match_tflm,
                                preference=pref, filter=enc)
        kept = op.index in reverts
        enc = None if int8 or kept else filter_encoding(op, graph,
                                                        layer_compress.get(op.index, compress),
                                                        forced=op.index in layer_compress)
        try:
            call, sel = select_for_filter(op, graph, pref, context,
                                          op.index in layer_kernels, enc)
        except QuantRangeError as e:
            raise unsupported(op, graph, str(e)) from None
        if kept and not int8:
            why = f"{reverts[op.index]}; --compress-layer {op.index}=ENC compresses it"
            sel.refusals.append(Refusal("compress", why))
            sel.filter = raw(graph.tensors[op.inputs[1]].data, why)
        return lname, call, sel

    # (lowered again with the reverted layers int8, which may then run fused; each round
    # reverts some compressed filter for good, so the rounds end)
    while True:
        calls, options = lower_with_fusion(graph, lower, fuse_residual, set(layer_compress))
        more = code_reverts(calls, code_paid)
        if not more:
            break
        reverts.update(more)
    alignment = int(target.get("arena_alignment", 16))

    def arrange(calls):
        """The layers in their order and the memory plan of these calls."""
        # choices that depend on the whole project: one table ADD loop where it can be one
        unify_fast_modes([c for _, c, _ in calls])
        uf, elided = resolve_aliases(graph, [c for _, c, _ in calls])
        layer_namer = Namer(RESERVED)
        layers = [Layer(layer_namer.identifier(lname, "l"), call, sel)
                  for pos, (lname, call, sel) in enumerate(calls) if pos not in elided]
        # where the graph branches, the order of the branches with the smaller arena
        layers = [layers[i] for i in choose_order(graph, [layer.call for layer in layers], uf,
                                                  alignment=alignment,
                                                  io_in_arena=io_in_arena)]
        plan = plan_memory(graph, [layer.call for layer in layers], uf, alignment=alignment,
                           io_in_arena=io_in_arena, in_place=in_place)
        return layers, plan, layer_namer

    layers, plan, layer_namer = arrange(calls)
    # layers that compressed filters keep from running fused or in place: with int8
    # filters where the arena shrinks by more than RAM_PER_FLASH times what compression
    # saves of flash (round after round: the peak moves as layers are taken back)
    tried = bool(options)
    memory = None       # per step of the current plan: (its bytes, its layer's operator)
    for _ in range(len(options) + 1 if options else 0):
        # (planning is slow on large graphs: only where the arena can shrink by more than
        # the flash saved, the layers' steps being at the peak: no other step needs as
        # much; an option alone, else all those at the peak together, as layers of the
        # same shape often share it)
        if memory is None:
            memory = [(m.planned, layer.call.op.index) for m, layer in zip(
                step_memory(plan, [layer.call.scratch for layer in layers]), layers)]
        peak = max((b for b, _ in memory), default=0)
        at_peak = [o for o in options if any(n in o.ops for b, n in memory if b == peak)]
        trials = [[o] for o in options] + ([at_peak] if len(at_peak) > 1 else [])
        for group in trials:
            ops = {n for o in group for n in o.ops}
            # the flash they save: their filters' bytes less the code that would go with
            # them (kernels no other compressed filter needs)
            saved = max(sum(o.saved for o in group) - freed_code(calls, ops, code_paid),
                        0)
            others = max((b for b, n in memory if n not in ops), default=0)
            if plan.arena_bytes - others <= RAM_PER_FLASH * saved:
                continue
            other = calls
            for o in group:
                other = o.apply(other)
            o_layers, o_plan, o_namer = arrange(other)
            ram = plan.arena_bytes - o_plan.arena_bytes
            if ram > RAM_PER_FLASH * saved:
                for o in group:
                    o.note(ram, saved, len(group))
                    options.remove(o)
                calls, layers, plan, layer_namer = other, o_layers, o_plan, o_namer
                memory = None
                break
        else:
            break
    # filters the RAM check took back may leave the others' code not worth it: those layers
    # int8 too, in their places
    more = code_reverts(calls, code_paid) if tried else {}
    if more:
        reverts.update(more)
        calls = [lower(entry[1].op) if entry[1].op.index in more else entry for entry in calls]
    if tried:       # (unify_fast_modes last ran on the last calls tried)
        layers, plan, layer_namer = arrange(calls)

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
    for variant, backend in sorted(backends.items()):
        warnings += list(getattr(backend, "warnings", []))
        used = [layer.call.kernel for layer in layers if layer.call.variant == variant]
        if used:
            libraries[backend.name.replace("-", "_")] = backend.manifest(used)
    return Program(name=name, graph=graph, target=target, kernels=kernels, layers=layers,
                   plan=plan, cnames=cnames, consts=consts, warnings=warnings,
                   libraries=libraries, const_alias=const_alias)


def code_reverts(calls: list[tuple[str, LayerCall, Selection]],
                 code_paid: Iterable[str] = ()) -> dict[int, str]:
    """{layer: why} of the compressed filters of these calls that do not pay for their
    kernels' code (compression.unprofitable_filters; filters named by --compress-layer
    stay, their kernels' code counted as there, as is `code_paid`'s)."""
    filters, paid = [], list(code_paid)
    for _, call, sel in calls:
        unit = code_unit(call)      # (a kernel reading a compressed filter: sel.filter's)
        if unit is None:
            continue
        f = sel.filter
        if f.forced:
            paid.append(unit)
        else:
            filters.append(CodeCost(call.op.index, unit, f.before - f.after))
    return unprofitable_filters(filters, paid)


def freed_code(calls: list[tuple[str, LayerCall, Selection]], ops: set[int],
               code_paid: Iterable[str] = ()) -> int:
    """The code bytes the compressed kernels of these calls take in the image that
    would go with the compressed filters of the layers `ops` (compression.code_bytes; the
    units of `code_paid` stay)."""
    paid = list(code_paid)
    units = [(call.op.index, code_unit(call)) for _, call, _ in calls]
    return code_bytes([*paid, *(u for _, u in units if u)]) - \
        code_bytes([*paid, *(u for n, u in units if u and n not in ops)])


# --compress auto takes a compressed filter back to int8 (a fused residual block, a layer in
# place) only where that saves more than this many bytes of RAM per byte of flash it costs:
# the user asked for flash; a decoded block of a filter in the scratch (half the filter at
# most) is part of the price, a lost fusion or in-place layer (whole activations) is not
RAM_PER_FLASH = 2


@dataclass
class Int8Option:
    """Layers whose compressed filters cost RAM (a residual block they keep from running
    fused, a layer they keep from running in place), and the call that runs them with
    int8 filters instead (program.build_program chooses by the arena)."""

    ops: tuple[int, ...]                       # the operators
    entry: tuple[str, LayerCall, Selection]    # their call with int8 filters
    saved: int                                 # filter bytes compression saves in them
    before: int = 0                            # their filter bytes as int8
    fused: bool = True                         # a residual block (else one layer in place)

    def apply(self, calls: list) -> list:
        """`calls` with the layers' calls replaced by the int8 one, at the first's place."""
        out, placed = [], False
        for entry in calls:
            if entry[1].op.index in self.ops:
                if not placed:
                    out.append(self.entry)
                    placed = True
                continue
            out.append(entry)
        return out

    def note(self, ram: int, saved: int | None = None, together: int = 1) -> None:
        """Say why the filters stay int8 (the layer table's reason column, the filters'
        report): `ram` bytes of arena the int8 filters save against `saved` bytes of flash
        (this option's, or with `together` options taken back at once, all theirs)."""
        saved = self.saved if saved is None else saved
        flash = (f"saving {saved} bytes of flash" if together == 1 else
                 f"{together} such layers saving {saved} bytes of flash together") + \
            " net of the kernels' code"
        if self.fused:
            why = (f"filters kept int8: the block runs fused, row by row, in {ram} bytes "
                   f"less RAM than compressed filters ({flash}) would take unfused (over "
                   f"{RAM_PER_FLASH}x); --compress-layer N=ENC on one of its layers "
                   "compresses them")
        else:
            why = (f"filter kept int8: the int8 kernel (in place, no decoded blocks) takes "
                   f"{ram} bytes less RAM than the compressed filter ({flash}) would (over "
                   f"{RAM_PER_FLASH}x); --compress-layer {self.ops[0]}=ENC compresses it")
        sel = self.entry[2]
        sel.refusals.append(Refusal("compress", why))
        sel.filter = FilterEncoding("raw", self.before, self.before, why)


def lower_with_fusion(graph: Graph, lower, fuse: bool, forced: set[int] = frozenset()) -> \
        tuple[list[tuple[str, LayerCall, Selection]], list[Int8Option]]:
    """Every layer's (name, call, selection) in model order, `lower(op)` selecting its
    kernel; with `fuse`, each residual block (passes/fuse_residual.py) whose layers got
    kernels that compute rows becomes one call at its first layer's place
    (lowering/resblock.py).  A block that stays three layers says why in its first
    layer's selection (the layer table's reason column, tinygen.json's refusals).  A block
    that stays unfused because of compressed filters (none named by --compress-layer:
    `forced`) and fuses with int8 ones (`lower(op, int8=True)`), and a layer whose
    compressed filter's kernel cannot run in place where the int8 one can, are returned as
    Int8Options too."""
    blocks, near = find_residual_blocks(graph) if fuse else ([], [])
    place = {op.index: pos for pos, op in enumerate(graph.ops)}
    # a block runs at the place of its first layer in the model's order
    first = {min((o.index for o in b.ops), key=place.get): b for b in blocks}
    notes = {r.layer: r.reason for r in near}
    lowered: dict[int, tuple[str, LayerCall, Selection]] = {}
    skip: set[int] = set()
    calls = []
    options: list[Int8Option] = []
    for op in graph.ops:
        if op.index in skip:
            continue
        block = first.get(op.index)
        if block is None:
            entry = lowered.pop(op.index, None) or lower(op)
            if op.index in notes:
                entry[2].refusals.append(Refusal(FUSED_OPCODE, "not fused: " + notes[op.index]))
            calls.append(entry)
            f = entry[2].filter
            if f is not None and f.encoded and not f.forced and not entry[1].overlaps and \
                    _in_place_bound(op, graph) > f.before - f.after:
                # a compressed filter on a kernel that cannot run in place: the int8 one
                # may, which can save up to the smaller of its input and output (weighed by
                # build_program where that is more than compression saves)
                alt = lower(op, int8=True)
                if alt[1].overlaps:
                    options.append(Int8Option((op.index,), alt, f.before - f.after,
                                              f.before, fused=False))
            continue
        subs = [lower(o) for o in block.ops]
        try:
            fused = fuse_calls(block, [c for _, c, _ in subs], graph)
        except Declined as e:
            lowered.update({o.index: s for o, s in zip(block.ops, subs)})
            subs[0][2].refusals.append(Refusal(FUSED_OPCODE, e.reason))
            calls.append(lowered.pop(op.index))
            filters = [s.filter for _, _, s in subs if s.filter is not None]
            saved = sum(f.before - f.after for f in filters)
            if saved and not forced & {o.index for o in block.ops}:
                try:
                    options.append(Int8Option(tuple(o.index for o in block.ops),
                                              _fused_entry(block, [lower(o, int8=True)
                                                                   for o in block.ops],
                                                           graph), saved,
                                              sum(f.before for f in filters)))
                except Declined:
                    pass
            continue
        calls.append(_fused_entry(block, subs, graph, fused))
        skip |= {o.index for o in block.ops}
    return calls, options


def _in_place_bound(op, graph: Graph) -> int:
    """The most RAM running `op` in place can save: its smaller activation."""
    sizes = [graph.tensors[t].nbytes for t in (op.inputs[:1] + op.outputs[:1])
             if t >= 0 and not graph.tensors[t].is_const]
    return min(sizes) if len(sizes) == 2 else 0


def _fused_entry(block, subs: list, graph: Graph,
                 fused: LayerCall | None = None) -> tuple[str, LayerCall, Selection]:
    """The (name, call, selection) of a residual block run fused from its layers' entries
    (fuse_calls, or Declined)."""
    if fused is None:
        fused = fuse_calls(block, [c for _, c, _ in subs], graph)
    refusals = list(dict.fromkeys(r for _, _, s in subs for r in s.refusals))
    sel = Selection(layer=block.conv1.index, opcode=FUSED_OPCODE, variant=fused.variant,
                    preference=list(subs[0][2].preference), refusals=refusals,
                    overridden=any(s.overridden for _, _, s in subs))
    filters = [(s.layer, s.filter) for _, _, s in subs if s.filter is not None]
    if filters:     # (--compress: the block's filters, int8, reported as one)
        before = sum(f.before for _, f in filters)
        sel.filter = FilterEncoding("raw", before, before,
                                    "; ".join(f"layer {n}: {f.reason}" for n, f in filters))
    return f"l{block.conv1.index}_resblock", fused, sel


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
