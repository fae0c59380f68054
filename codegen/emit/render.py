"""Render a Program through the Jinja templates into {relative path: bytes}.

Python decides everything (names, numbers, order); templates only lay out C
text.  Output depends on nothing but the Program: no dates, no paths of this
machine, no dict or set ordering.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from codegen import __version__, kernel_config, resources
from codegen.emit import api_names, project
from codegen.emit.layer_table import folded_ops
from codegen.emit.runtime import RUNTIME_VERSION, module_files
from codegen.cnames import array_body, comment_text, float_literal, int_literal
from codegen.compression import compressed_code
from codegen.ir import CExpr, ConstRef, ScratchArg, StructRef, TensorArg
from codegen.profile import PROFILE_HEADER, profile_context
from codegen.planning.report import poison_ranges
from codegen.program import Program

TEMPLATES_DIR = resources.templates_dir()
RUNTIME_DIR = resources.runtime_dir()


def template_env() -> jinja2.Environment:
    """The Jinja environment of tinygen's templates (templates/): strict, no autoescape."""
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
                              trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                              undefined=jinja2.StrictUndefined, autoescape=False)


def _quant_str(t) -> str:
    if t.quant is None:
        return ""
    return f", scale {float(t.quant.scale[0]):.9g}, zero point {int(t.quant.zero_point[0])}"


def _compression_entry(program: Program) -> dict:
    """tinygen.json's `compression`: the filters' bytes as int8 and as stored, and the code
    the compressed kernels add (estimated: codegen/compressed_code.py)."""
    filters = [layer.selection.filter for layer in program.layers
               if layer.selection.filter is not None]
    units, code = compressed_code(layer.call for layer in program.layers)
    return dict(filter_bytes_int8=sum(f.before for f in filters),
                filter_bytes_stored=sum(f.after for f in filters),
                kernel_code_estimate=code, kernel_code_units=units)


def _io_info(program: Program, tensors: list[int], kind: str) -> list[dict]:
    g = program.graph
    out = []
    for pos, t in enumerate(tensors):
        tensor = g.tensors[t]
        out.append(dict(
            tensor=t, cname=program.cnames[t], CNAME=program.cnames[t].upper(),
            name=tensor.name, dtype=tensor.dtype, ctype=tensor.ctype,
            shape=list(tensor.shape), shape_str=tensor.shape_str(), elements=tensor.num_elements,
            quant_str=_quant_str(tensor),
            scale=float(tensor.quant.scale[0]) if tensor.quant else None,
            zero_point=int(tensor.quant.zero_point[0]) if tensor.quant else None,
            arena_offset=program.plan.io_offsets.get((kind, pos))))
    return out


def _param_value(value, program: Program, step: int | None = None, depth: int = 1) -> str:
    """`value` as a C initializer, for a field `depth` levels into the struct (4 spaces a
    level): a nested struct too long for one line gets one field a line."""
    if isinstance(value, ConstRef):
        cast = f"({value.cast})" if value.cast else ""
        return f"{cast}{program.name}_weights.{program.const_member(value.name)}"
    if isinstance(value, CExpr):
        return value.text
    if isinstance(value, ScratchArg) and step is not None:
        return _arg_expr(program, step, value)
    if isinstance(value, dict):   # a nested struct
        items = [f".{k} = {_param_value(v, program, step, depth + 1)}" for k, v in value.items()]
        one_line = "{" + ", ".join(items) + "}"
        if len(one_line) <= 72 and "\n" not in one_line:
            return one_line
        pad = "    " * (depth + 1)
        return "{\n" + "".join(f"{pad}{item},\n" for item in items) + "    " * depth + "}"
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, (int, np.integer)):
        return int_literal(int(value))
    if isinstance(value, (float, np.floating)):
        return float_literal(float(value))
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_param_value(v, program, step) for v in value) + "}"
    raise TypeError(f"cannot render params value {value!r}")


def _tensor_expr(program: Program, t: int) -> str:
    s = program.plan.storage[t]
    tensor = program.graph.tensors[t]
    if s.kind == "const":
        return f"{program.name}_weights.{program.const_member(program.cnames[t])}"
    if s.kind == "state":
        return f"({tensor.ctype} *)(void *)&{program.name}_state[{s.index}]"
    root = s.root if s.root >= 0 else t
    if s.kind == "input":
        return program.cnames[program.graph.inputs[s.index]]
    if s.kind == "output":
        return program.cnames[program.graph.outputs[s.index]]
    return program.cnames[root]


def _arg_expr(program: Program, step: int, arg) -> str:
    if isinstance(arg, StructRef):
        return f"&{program.layers[step].name}_{arg.name}"
    if isinstance(arg, ConstRef):
        return _param_value(arg, program)
    if isinstance(arg, TensorArg):
        return _tensor_expr(program, arg.tensor)
    if isinstance(arg, ScratchArg):
        off = program.plan.scratch_offsets[(step, arg.index)]
        return f"(void *)&{program.name}_arena[{off}]"
    if isinstance(arg, CExpr):
        return arg.text
    if isinstance(arg, (int, np.integer)):
        return f"{int(arg)}u"
    raise TypeError(f"cannot render kernel argument {arg!r}")


def _wrap_args(args: list[str], column: int, width: int = 100) -> str:
    """Arguments on one line, or one per line under the first when that line gets too long."""
    one_line = ", ".join(args)
    if column + len(one_line) <= width:
        return one_line
    return (",\n" + " " * column).join(args)


def _struct_context(program: Program, step: int, struct) -> dict:
    fields = [(k, _param_value(v, program, step)) for k, v in struct.fields.items()]
    cname = f"{program.layers[step].name}_{struct.name}"
    one_line = "{" + ", ".join(f".{k} = {v}" for k, v in fields) + "}"
    if len(f"static const {struct.ctype} {cname} = {one_line};") > 100:
        one_line = None
    return dict(ctype=struct.ctype, cname=cname, fields=fields, one_line=one_line)


def _layer_title(program: Program, step: int) -> str:
    layer = program.layers[step]
    return comment_text(f"Layer {layer.index}: {layer.call.comment}", limit=160)


def _state_info(program: Program) -> tuple[list[dict], str | None]:
    """The variable tensors in the persistent state, and its initializer (None: all zeros).

    Like TFLM's ResetVariableTensors, an int8 variable starts at (and is reset to)
    its zero point, every other variable at zero.
    """
    g = program.graph
    init = np.zeros(program.plan.state_bytes, dtype=np.uint8)
    out = []
    for t in g.tensors:
        s = program.plan.storage.get(t.index)
        if s is None or s.kind != "state" or s.root not in (-1, t.index):
            continue
        fill = 0
        if t.dtype == "int8" and t.quant is not None:
            fill = t.quant.scalar_zero_point & 0xFF
        init[s.index:s.index + t.nbytes] = fill
        out.append(dict(offset=s.index, end=s.index + t.nbytes, fill=fill,
                        comment=comment_text(f"'{t.name}' {t.dtype}[{t.shape_str()}]"
                                             + (f", reset to its zero point "
                                                f"{t.quant.scalar_zero_point} (byte {fill})"
                                                if fill else ""),
                                             100)))
    out.sort(key=lambda v: v["offset"])
    body = array_body(init, "uint8_t") if init.any() else None
    return out, body


def model_context(program: Program, model_file: str, model_sha256: str) -> dict:
    g = program.graph
    name = program.name
    inputs = _io_info(program, g.inputs, "input")
    outputs = _io_info(program, g.outputs, "output")
    seen_params = []
    params = []
    for io in inputs:
        if io["tensor"] in seen_params:
            continue
        seen_params.append(io["tensor"])
        params.append(f"const {io['ctype']} *{io['cname']}")
    for io in outputs:
        params.append(f"{io['ctype']} *{io['cname']}")

    layers = []
    used_exprs: set[str] = set()
    for step, layer in enumerate(program.layers):
        call = layer.call
        args = []
        if call.params_type:
            args.append(f"&{layer.name}_params")
        args += [_arg_expr(program, step, a) for a in call.args]
        used_exprs.update(args)
        column = 4 + len(call.kernel) + 1 + (4 if call.status_ok else 0)
        ins = [program.graph.tensors[t] for t in call.op.inputs if t >= 0]
        outs = [program.graph.tensors[t] for t in call.op.outputs]
        layers.append(dict(
            title=_layer_title(program, step), kernel=call.kernel,
            hooks=[dict(output=k, expr=_tensor_expr(program, t),
                        bytes=program.graph.tensors[t].nbytes)
                   for k, t in enumerate(call.op.outputs) if t >= 0],
            params_type=call.params_type, params_name=f"{layer.name}_params",
            fields=[(k, _param_value(v, program, step)) for k, v in call.params.items()],
            structs=[_struct_context(program, step, st) for st in call.structs],
            status_ok=call.status_ok,
            args=_wrap_args(args, column), opcode=call.op.opcode, macs=call.macs,
            const_bytes=call.const_bytes, variant=call.variant, index=layer.index,
            selection=layer.selection, op=call.op,
            shapes=" , ".join(t.shape_str() for t in ins if not t.is_const) + " -> " +
                   " , ".join(t.shape_str() for t in outs)))

    buffers = []
    for t in sorted({program.plan.storage[t].root for t in range(len(g.tensors))
                     if t in program.plan.storage and program.plan.storage[t].kind == "arena"}):
        cname = program.cnames.get(t)
        if cname is None or cname not in used_exprs:
            continue
        tensor = g.tensors[t]
        off = program.plan.storage[t].index
        buffers.append(dict(ctype=tensor.ctype, cname=cname, offset=off,
                            comment=comment_text(f"{tensor.dtype}[{tensor.shape_str()}], bytes "
                                                 f"{off}..{off + tensor.nbytes - 1}", 80)))
    buffers.sort(key=lambda b: (b["offset"], b["cname"]))

    unused = [p.split("*")[-1] for p in params if p.split("*")[-1] not in used_exprs]
    headers = [f"{m}.h" for m in program.runtime_modules if m != "tg_common"] or ["tg_common.h"]
    for layer in program.layers:
        headers += [h for h in layer.call.headers if h not in headers]

    state_vars, state_init = _state_info(program)
    consts = [dict(name=c.name, ctype=c.ctype, size=max(int(c.values.size), 1),
                   comment=comment_text(c.comment or c.name, 100),
                   body=array_body(c.values if c.values.size else np.zeros(1), c.ctype))
              for c in program.consts]
    return dict(
        name=name, NAME=name.upper(), guard=f"{name.upper()}_H", version=__version__,
        model_file=comment_text(model_file, 120), model_comment=comment_text(model_file, 80),
        model_sha256=model_sha256, target_name=program.target["name"], library=program.library,
        inputs=inputs, outputs=outputs, invoke_params=", ".join(params),
        call_args=", ".join([i["cname"] for i in inputs] + [o["cname"] for o in outputs]),
        arena_bytes=program.plan.arena_bytes, lower_bound=program.plan.lower_bound,
        in_place_layers=len(program.plan.overlaps), io_in_arena=program.plan.io_in_arena,
        alignment=program.plan.alignment, layers=layers, buffers=buffers,
        unused_params=unused, kernel_headers=headers, has_data=bool(consts), consts=consts,
        has_status=any(layer.call.status_ok for layer in program.layers),
        libraries=program.libraries,
        const_bytes=program.const_bytes, macs=program.macs,
        state_bytes=program.plan.state_bytes, state_vars=state_vars, state_init=state_init,
        runtime_version=RUNTIME_VERSION, shared_arena=None, runtime_from=None,
        api=api_names.api_context(name, inputs, outputs),
        profile=None)       # render_library sets it with --profile


def manifest(program: Program, ctx: dict, sources: list[str], files: dict[str, bytes],
             model_file: str, model_sha256: str) -> dict:
    def io_entry(io):
        entry = dict(name=io["name"], cname=io["cname"], shape=io["shape"], dtype=io["dtype"],
                     scale=io["scale"], zero_point=io["zero_point"])
        if io["arena_offset"] is not None:
            entry["arena_offset"] = io["arena_offset"]
        return entry

    # per filter, its encoding and bytes (--compress), once some filter is compressed
    compressed = any(layer.selection.filter is not None and layer.selection.filter.encoded
                     for layer in program.layers)
    return dict(
        tool="tinygen", version=__version__, name=program.name,
        model=dict(file=Path(model_file).name, sha256=model_sha256),
        target=program.target["name"], kernel_library=program.library,
        header=f"{program.name}.h", invoke=f"{program.name}_invoke",
        reset=f"{program.name}_reset" if program.plan.state_bytes else None,
        sources=sources, include_dirs=["."],
        inputs=[io_entry(io) for io in ctx["inputs"]],
        outputs=[io_entry(io) for io in ctx["outputs"]],
        arena_bytes=program.plan.arena_bytes, arena_lower_bound=program.plan.lower_bound,
        io_in_arena=program.plan.io_in_arena,
        io_pointers=(dict(input=f"{program.name}_input", output=f"{program.name}_output")
                     if program.plan.io_in_arena else None),
        arena_in_place=[dict(layer=program.layers[o.step].index,
                             output=program.graph.tensors[o.output].name,
                             input=program.graph.tensors[o.input].name, offset=o.offset)
                        for o in program.plan.overlaps],
        state_bytes=program.plan.state_bytes, const_bytes=program.const_bytes,
        macs=program.macs,
        kernel_preference=list(program.kernels),
        layers=[dict(index=layer["index"], opcode=layer["opcode"], kernel=layer["kernel"],
                     variant=layer["variant"], shapes=layer["shapes"], macs=layer["macs"],
                     const_bytes=layer["const_bytes"], folded=folded_ops(layer["op"]),
                     refused=[dict(variant=r.variant, reason=r.reason)
                              for r in layer["selection"].refusals],
                     **({"filter": layer["selection"].filter.manifest()}
                        if compressed and layer["selection"].filter is not None else {}))
                for layer in ctx["layers"]],
        **({"compression": _compression_entry(program)} if compressed else {}),
        **program.libraries,
        warnings=program.warnings,
        files={path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())},
    )


@dataclass
class LibraryFiles:
    """The first rendering step: the model library's files, and what the second step needs."""

    program: Program
    model_file: str
    model_sha256: str
    ctx: dict
    env: jinja2.Environment
    files: dict[str, bytes]

    @property
    def sources(self) -> list[str]:
        return sorted(p for p in self.files if p.endswith(".c"))


def render_library(program: Program, model_file: str, model_bytes: bytes,
                   selftest: project.Selftest | None = None,
                   runtime_from: dict | None = None, profile: bool = False,
                   layer_hook: bool = False, poison: bool = False,
                   all_kernel_paths: bool = False) -> LibraryFiles:
    """Step 1: the C files of the model library (runtime kernels and the self-test included).

    `selftest`: golden vectors for <name>_selftest.c.  These are the files a memory
    report (codegen/footprint.py) measures before step 2, `render_project_files`.
    `runtime_from`: the external runtime (emit/runtime.py `external_runtime`): then the
    project carries no kernels of its own.
    `profile`: time every layer (codegen/profile.py).  `layer_hook`: host-only debugging,
    `<name>_layer_hook` called after every layer with its outputs (verify --layers).
    `poison`: tests only: before every layer, fill the arena bytes it may not read with a
    pattern (planning/report.py `poison_ranges`).
    """
    sha = hashlib.sha256(model_bytes).hexdigest()
    ctx = model_context(program, model_file, sha)
    ctx["profile"] = profile_context(ctx["layers"], program.target) if profile else None
    ctx.update(project.project_context(program, ctx, selftest))
    ctx["runtime_from"] = runtime_from
    ctx["layer_hook"] = layer_hook
    if poison:
        ranges = poison_ranges(program.plan, [layer.call.scratch for layer in program.layers])
        for step, (layer, rs) in enumerate(zip(ctx["layers"], ranges)):
            layer["poison"] = [dict(offset=o, bytes=n, value=(0xA5 + 61 * step) & 0xFF)
                               for o, n in rs]
    ctx["poison"] = poison
    env = template_env()
    name = program.name
    files: dict[str, bytes] = {}

    def render(template: str, out: str) -> None:
        files[out] = env.get_template(template).render(**ctx).encode("ascii")

    render("model.h.j2", f"{name}.h")
    render("model.c.j2", f"{name}.c")
    if ctx["has_data"]:
        render("model_data.h.j2", f"{name}_data.h")
        render("model_data.c.j2", f"{name}_data.c")
    if runtime_from is None:
        files.update(module_files(program.runtime_modules))
        if kernel_config.HEADER in files and not all_kernel_paths:
            # the paths this model's layers take (all_kernel_paths: all, runtime_c's copy)
            files[kernel_config.HEADER] = kernel_config.render(
                kernel_config.project_flags(layer.call for layer in program.layers))
    if profile:
        files[PROFILE_HEADER] = (RUNTIME_DIR / PROFILE_HEADER).read_bytes()
    files.update(project.library_files(env, ctx, files))
    return LibraryFiles(program, model_file, sha, ctx, env, files)


def render_project_files(lib: LibraryFiles, memory: dict | None = None) -> dict[str, bytes]:
    """Step 2: all files of the project: the library's, README.md, the build files and
    tinygen.json.  `memory`: the memory report to put in README.md and tinygen.json."""
    ctx = dict(lib.ctx, memory=memory or None)
    files = dict(lib.files)
    sources = lib.sources
    files["README.md"] = lib.env.get_template("README.md.j2").render(**ctx).encode("ascii")
    files.update(project.build_files(lib.env, ctx, sources))
    man = manifest(lib.program, ctx, sources, files, lib.model_file, lib.model_sha256)
    project.extend_manifest(man, ctx)
    runtime_from = ctx.get("runtime_from")
    if runtime_from is not None:
        man["include_dirs"].append(runtime_from["dir"])
        man["runtime_from"] = runtime_from
    if ctx.get("profile"):
        name = lib.program.name
        man["profile"] = dict(header=PROFILE_HEADER, table=f"{name}_profile",
                              print=f"{name}_profile_print", total=f"{name}_profile_total")
    if ctx.get("layer_hook"):
        man["layer_hook"] = f"{lib.program.name}_layer_hook"
    files["tinygen.json"] = (json.dumps(man, indent=2, sort_keys=False) + "\n").encode("ascii")
    return files


def render_project(program: Program, model_file: str, model_bytes: bytes,
                   selftest: project.Selftest | None = None,
                   memory: dict | None = None,
                   runtime_from: dict | None = None, profile: bool = False) -> dict[str, bytes]:
    """All files of the generated project, tinygen.json included (both steps at once)."""
    return render_project_files(render_library(program, model_file, model_bytes, selftest,
                                               runtime_from, profile), memory)
