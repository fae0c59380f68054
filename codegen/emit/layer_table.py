"""The per-layer table (operator, shapes, MACs, weights, arena placement) of a Program.

README.md and tinygen.json of the generated project list it, and `tinygen` prints it.
"""
from __future__ import annotations

from codegen.cnames import display_text
from codegen.planning.report import step_memory
from codegen.program import Program


def folded_ops(op) -> list[dict]:
    """Operators folded into this layer's (a PAD whose padding the convolution does; the
    other layers of a fused residual block)."""
    fold = op.options.get("folded_pad")
    # the layers a fused residual block runs with this one (lowering/resblock.py)
    fused = [dict(index=f["index"], opcode=f["opcode"]) for f in op.options.get("fused", [])]
    if not fold:
        return fused
    return [dict(index=fold["op"], opcode=fold["opcode"],
                 padding=dict(top=fold["top"], bottom=fold["bottom"], left=fold["left"],
                              right=fold["right"]))] + fused


def operator_cell(row: dict) -> str:
    """The printed table's operator: the opcode, and '+PAD#n' per operator folded into it."""
    return row["opcode"] + "".join(f" +{f['opcode']}#{f['index']}" for f in row["folded"])


def layer_table(program: Program) -> list[dict]:
    """Per layer: operator, shapes, MACs, weight bytes and where its outputs live."""
    g, plan = program.graph, program.plan
    over = {o.output: g.tensors[o.input].name for o in plan.overlaps}   # in-place outputs
    memory = step_memory(plan, [layer.call.scratch for layer in program.layers])
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
            overridden=layer.selection.overridden, folded=folded_ops(call.op),
            inputs=[t.shape_str() for t in ins], outputs=[t.shape_str() for t in outs],
            macs=int(call.macs), weight_bytes=int(call.const_bytes),
            arena=placed, scratch=scratch, memory=_memory_entry(program, memory[step])))
        if compressed and layer.selection.filter is not None:
            rows[-1]["filter"] = layer.selection.filter.manifest()
    return rows


def _buffer_name(program: Program, key: tuple) -> str:
    if key[0] == "s":
        return f"scratch of layer {program.layers[key[1]].index}"
    return program.graph.tensors[key[1]].name


def _memory_entry(program: Program, m) -> dict:
    """A layer's memory: bytes live (as planned), the op-by-op bound there, the arena's end,
    the live buffers, the in-place outputs written there and the aliases it touches."""
    g, plan = program.graph, program.plan
    call = program.layers[m.step].call
    aliases = []
    for t in dict.fromkeys(list(call.reads) + list(call.writes)):
        s = plan.storage.get(t)
        if t >= 0 and s is not None and s.root != t and s.root >= 0:
            aliases.append(dict(tensor=g.tensors[t].name, same_bytes_as=g.tensors[s.root].name))
    return dict(
        live_bytes=m.planned, op_by_op_bytes=m.op_by_op, arena_end=m.arena_end,
        buffers=[dict(name=_buffer_name(program, b.key), offset=b.offset, bytes=b.bytes)
                 for b in m.buffers],
        in_place=[dict(output=g.tensors[o.output].name, input=g.tensors[o.input].name,
                       offset=o.offset) for o in m.in_place],
        aliases=aliases)


def memory_lines(program: Program, rows: list[dict], verbose: bool = False) -> list[str]:
    """The memory report for the console: the peak layer and what is live there; with
    `verbose`, every layer (live bytes, op-by-op bound, arena end, overlaps)."""
    if not rows:
        return []
    peak_row = max(rows, key=lambda r: (r["memory"]["live_bytes"], r["memory"]["op_by_op_bytes"]))
    bound_row = max(rows, key=lambda r: r["memory"]["op_by_op_bytes"])
    pm = peak_row["memory"]
    what = " + ".join(f"{display_text(b['name'], 40)} {b['bytes']:,}" for b in
                      sorted(pm["buffers"], key=lambda b: -b["bytes"])[:4])
    more = len(pm["buffers"]) - 4
    lines = [f"  peak: layer {peak_row['index']} ({peak_row['opcode']}), {pm['live_bytes']:,} "
             f"bytes live (op-by-op {pm['op_by_op_bytes']:,}): {what}"
             + (f" + {more} more" if more > 0 else "")]
    if bound_row is not peak_row:
        lines.append(f"        op-by-op peak: layer {bound_row['index']} "
                     f"({bound_row['opcode']}), {bound_row['memory']['op_by_op_bytes']:,} "
                     "bytes")
    if not verbose:
        return lines
    lines.append("  memory per layer (bytes live as planned, the op-by-op bound there, the "
                 "arena's end):")
    table = [("#", "operator", "live B", "op-by-op B", "arena end", "overlaps")]
    for r in rows:
        m = r["memory"]
        notes = [f"{display_text(o['output'], 40)} in place of {display_text(o['input'], 40)}"
                 + (f" ({o['offset']:+,} B)" if o["offset"] else "") for o in m["in_place"]]
        notes += [f"{display_text(a['tensor'], 40)} = {display_text(a['same_bytes_as'], 40)}"
                  for a in m["aliases"]]
        table.append((str(r["index"]), operator_cell(r), f"{m['live_bytes']:,}",
                      f"{m['op_by_op_bytes']:,}", f"{m['arena_end']:,}", "; ".join(notes)))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for k, t in enumerate(table):
        lines.append("  " + "  ".join(c.rjust(w) if i in (0, 2, 3, 4) else c.ljust(w)
                                      for i, (c, w) in enumerate(zip(t, widths))).rstrip())
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


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
