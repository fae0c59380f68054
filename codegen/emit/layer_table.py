"""The per-layer table (operator, shapes, MACs, weights, arena placement) of a Program.

README.md and tinygen.json of the generated project list it, and `tinygen` prints it.
"""
from __future__ import annotations

from codegen.program import Program


def layer_table(program: Program) -> list[dict]:
    """Per layer: operator, shapes, MACs, weight bytes and where its outputs live."""
    g, plan = program.graph, program.plan
    over = {o.output: g.tensors[o.input].name for o in plan.overlaps}   # in-place outputs
    rows = []
    # per filter, its encoding and bytes (--compress), once some filter is compressed
    compressed = any(layer.selection.filter is not None and layer.selection.filter.encoded
                     for layer in program.layers)
    for step, layer in enumerate(program.layers):
        call = layer.call
        ins = [g.tensors[t] for t in call.op.inputs if t >= 0 and not g.tensors[t].is_const]
        outs = [g.tensors[t] for t in call.op.outputs]
        placed = []
        for t in outs:
            s = plan.storage.get(t.index)
            if s is None:
                continue
            if s.kind == "arena":
                placed.append(dict(tensor=t.name, offset=s.index, bytes=t.nbytes))
                if s.root in over:
                    placed[-1]["in_place_of"] = over[s.root]
            else:
                placed.append(dict(tensor=t.name, storage=s.kind, bytes=t.nbytes))
        scratch = [dict(offset=plan.scratch_offsets[(step, k)], bytes=size)
                   for k, size in enumerate(call.scratch) if (step, k) in plan.scratch_offsets]
        rows.append(dict(
            index=layer.index, opcode=call.op.opcode, kernel=call.kernel,
            variant=call.variant, why=layer.selection.reason(),
            refused=[dict(variant=r.variant, reason=r.reason)
                     for r in layer.selection.refusals],
            overridden=layer.selection.overridden,
            inputs=[t.shape_str() for t in ins], outputs=[t.shape_str() for t in outs],
            macs=int(call.macs), weight_bytes=int(call.const_bytes),
            arena=placed, scratch=scratch))
        if compressed and layer.selection.filter is not None:
            rows[-1]["filter"] = layer.selection.filter.manifest()
    return rows


def arena_cell(row: dict) -> str:
    """'offset+bytes' of a layer's outputs for the printed layer table ('in place' when the
    output took the bytes of an input that dies there)."""
    cells = []
    for p in row["arena"]:
        if "offset" in p:
            cells.append(f"{p['offset']}+{p['bytes']}" +
                         (" in place" if "in_place_of" in p else ""))
        else:
            cells.append(p["storage"])
    for s in row["scratch"]:
        cells.append(f"scratch {s['offset']}+{s['bytes']}")
    return ",".join(cells) or "-"
