"""Several models in one project: `tinygen a.tflite b.tflite [...] -o OUT/`.

Each model keeps its own API (`<name>.h`, `<name>_invoke`, its macros and constants, its
persistent state), named from its file's stem.  The project carries ONE copy of the runtime
kernels (the union of the modules the models use) and, by default, ONE activation arena
(`tg_shared_arena`, as large as the largest model's) that every model uses in turn: the
models must then run one after another, never concurrently.  `separate_arenas` gives each
model its own static arena instead (for models that run from concurrent RTOS tasks).

Project-level files: `tinygen_models.h` (every model's header, the shared arena's size),
`tinygen_models.c` (the shared arena), `example_main.c`, Makefile, CMakeLists.txt,
README.md and tinygen.json (every model, the memory report of the whole project).
"""
from __future__ import annotations

import hashlib
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from codegen import __version__, kernel_config
from codegen.cnames import array_body, comment_text
from codegen.compression import compressed_code
from codegen.emit import project, render, write_project
from codegen.emit.runtime import RUNTIME_VERSION, module_files
from codegen.errors import ModelError, TinygenError, ToolchainError
from codegen.footprint import (CODE_PER_LAYER_CALL, CODE_PER_MODULE, CODE_PER_UNKNOWN_MODULE,
                               PARAMS_BYTES_PER_FIELD, STACK_ESTIMATE, io_bytes)
from codegen.footprint import check_fit as fit
from codegen.frontend import read_model_file, read_tflite
from codegen.generate import choose_kernels, default_name, golden_vectors
from codegen.program import Program, build_program
from codegen.reference_layers import reference_for
from codegen.targets import is_cortex_m, load_target
from codegen.toolchain import cortexm, linksize
from codegen.toolchain.host import WARNINGS, cmsis_nn_root, compile_cmsis_nn, find_cc
from codegen.vectors import NP_DTYPES, random_inputs
from codegen.verify import OutputReport, VerifyReport, compare

PROJECT_NAME = "tinygen_models"
SHARED_ARENA = "tg_shared_arena"


@dataclass
class MultiGenerated:
    programs: list[Program]
    files: dict[str, bytes]
    out_dir: Path | None
    memory: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def check_names(paths: list[Path], names: list[str]) -> None:
    """Each model's C name must be its own: same stems are an error saying what to rename."""
    seen: dict[str, Path] = {}
    for path, name in zip(paths, names):
        if name == PROJECT_NAME:
            raise ModelError(f"model file {path.name}: the name '{name}' belongs to the project "
                             f"files ({PROJECT_NAME}.h/.c) of a several-model project; rename "
                             "the file")
        if name in seen:
            raise ModelError(f"two models would both be named '{name}' ({seen[name]} and {path}): "
                             "with several models each model's API is named after its file's "
                             "stem; rename one of the files (e.g. copy it to "
                             f"{name}_2.tflite)")
        seen[name] = path


def _model_files(program: Program, model_file: str, model_bytes: bytes, golden,
                 shared_arena: str | None) -> tuple[dict[str, bytes], dict, str]:
    """The files of one model (API, layers, constants, self-test), without kernels."""
    sha = hashlib.sha256(model_bytes).hexdigest()
    ctx = render.model_context(program, model_file, sha)
    ctx.update(project.project_context(program, ctx, golden))
    ctx["shared_arena"] = shared_arena if program.plan.arena_bytes else None
    env = render.template_env()
    name = program.name
    files: dict[str, bytes] = {}
    for template, out in (("model.h.j2", f"{name}.h"), ("model.c.j2", f"{name}.c")):
        files[out] = env.get_template(template).render(**ctx).encode("ascii")
    if ctx["has_data"]:
        for template, out in (("model_data.h.j2", f"{name}_data.h"),
                              ("model_data.c.j2", f"{name}_data.c")):
            files[out] = env.get_template(template).render(**ctx).encode("ascii")
    files.update(project.library_files(env, ctx, files))
    return files, ctx, sha


def _union_cmsis_nn(programs: list[Program]) -> dict | None:
    entries = [p.libraries["cmsis_nn"] for p in programs if "cmsis_nn" in p.libraries]
    if not entries:
        return None
    out = dict(entries[0])
    for key in ("sources", "functions"):
        if key in out:
            out[key] = sorted({v for e in entries for v in e.get(key, [])})
    return out


def footprint(programs: list[Program], files: dict[str, bytes], sources: list[str],
              target: dict, arena_bytes: int, measure: bool, cmsis_nn_root: Path | None,
              cmsis_entry: dict | None) -> dict:
    """The memory report of the whole project (same keys as codegen/footprint.py's, plus
    `models`: each model's own share).  The stack is the deepest model's: they run in turn."""

    selftest_sources = [s for s in sources if s.endswith("_selftest.c")]
    per_model = {p.name: dict(name=p.name, arena=p.plan.arena_bytes, state=p.plan.state_bytes,
                              weights=p.const_bytes, macs=p.macs, io_buffers=io_bytes(p))
                 for p in programs}
    m = None
    if measure and is_cortex_m(target) and not cortexm.missing_packages(need_qemu=False):
        with tempfile.TemporaryDirectory(prefix="tinygen-measure-") as tmp:
            proj = Path(tmp)
            for rel, data in files.items():
                if rel.endswith((".c", ".h")):
                    (proj / rel).write_bytes(data)
            cmsis = cortexm.CmsisNNSources(cmsis_nn_root, cmsis_entry["include_dirs"],
                                           cmsis_entry["sources"]) \
                if cmsis_entry and cmsis_nn_root else None
            try:
                objs = cortexm.compile_objects(proj, sources, proj / "obj", target,
                                               extra_flags=["-fcallgraph-info=su"],
                                               werror=False, cmsis=cmsis)
                per_file = {s: cortexm.object_sizes(o) for s, o in zip(sources, objs)}
                if cmsis:
                    cobjs = cortexm.compile_cmsis_nn(cmsis, proj / "obj", target,
                                                     extra_flags=["-fcallgraph-info=su"])
                    per_file.update({f"cmsis_nn/{s}": cortexm.object_sizes(o)
                                     for s, o in zip(cmsis.sources, cobjs)})
                    objs = objs + cobjs
                # what a --gc-sections link keeps when the application calls every model
                names = {str(o): s for s, o in zip(sources + [f"cmsis_nn/{c}" for c in
                                                             (cmsis.sources if cmsis else [])],
                                                    objs)}
                roots = [g for s, o in zip(sources, objs)
                         if s in {f"{p.name}.c" for p in programs}
                         for g in linksize.defined_globals(o)]
                lib_objs = [o for s, o in zip(sources, objs) if s not in selftest_sources]
                lib_objs += objs[len(sources):]
                linked = {names.get(f, f"toolchain:{Path(f).name}"): v for f, v in
                          linksize.linked_sizes(lib_objs, target, proj / "link", roots).items()}
                cis = [o.with_suffix(".ci") for o in objs if o.with_suffix(".ci").is_file()]
                stacks = {p.name: cortexm.stack_depth(cis, [f"{p.name}_invoke"])
                          for p in programs}
                m = dict(per_file=per_file, linked=linked, stacks=stacks,
                         tool=f"{cortexm.toolchain_version()} "
                              f"{' '.join(target['cpu_flags'] + cortexm.COMPILE_FLAGS)}")
            except ToolchainError as e:
                detail = str(e).replace(str(proj) + "/", "").replace(str(proj), ".")
                programs[0].warnings.append("could not measure the project with "
                                            f"arm-none-eabi-gcc, sizes are estimated: {detail}")
    selftest = None
    if m is not None:
        pf, lk = m["per_file"], m["linked"]
        lib = list(lk.values())
        code, consts = sum(s.code for s in lib), sum(s.rodata for s in lib)
        data = sum(s.data for s in lib)
        static = sum(s.data + s.bss for s in lib) - arena_bytes
        stack = max(v[0] for v in m["stacks"].values())
        stack_exact = all(v[1] for v in m["stacks"].values())
        for p in programs:
            own = [lk[s] for s in (f"{p.name}.c", f"{p.name}_data.c") if s in lk]
            per_model[p.name].update(flash=sum(s.code + s.rodata + s.data for s in own),
                                     stack=m["stacks"][p.name][0])
        kernels = [v for s, v in lk.items() if s.startswith(("tg_", "toolchain:"))]
        runtime_flash = sum(s.code + s.rodata + s.data for s in kernels)
        if selftest_sources:
            st = [pf[s] for s in selftest_sources]
            selftest = dict(flash=sum(s.code + s.rodata + s.data for s in st),
                            ram=sum(s.data + s.bss for s in st), stack=0)
        method, tool = "measured", m["tool"]
    else:
        modules = sorted({mod for p in programs for mod in p.runtime_modules} - {"tg_common"})
        runtime_flash = sum(CODE_PER_MODULE.get(mod, CODE_PER_UNKNOWN_MODULE) for mod in modules)
        code = runtime_flash + sum(64 + CODE_PER_LAYER_CALL * len(p.layers) for p in programs)
        consts = sum(p.const_bytes + sum(PARAMS_BYTES_PER_FIELD * len(layer.call.params)
                                         for layer in p.layers if layer.call.params_type)
                     for p in programs)
        data, static = 0, sum(p.plan.state_bytes for p in programs)
        stack, stack_exact = STACK_ESTIMATE, False
        method, tool = "estimated", None
    io = sum(v["io_buffers"] for v in per_model.values())
    flash_total = code + consts + data
    ram_total = arena_bytes + static + io + stack
    report = dict(
        method=method, measured_with=tool,
        flash=dict(code=code, constants=consts, data_init=data,
                   weights=sum(p.const_bytes for p in programs), runtime=runtime_flash,
                   total=flash_total),
        ram=dict(arena=arena_bytes,
                 arena_lower_bound=max(p.plan.lower_bound for p in programs),
                 static=static, io_buffers=io, stack=stack, stack_exact=stack_exact,
                 total=ram_total),
        macs=sum(p.macs for p in programs), selftest=selftest, board=None,
        models=[per_model[p.name] for p in programs])
    if target.get("flash_bytes") and target.get("ram_bytes"):
        report["board"] = dict(name=target["name"], flash_bytes=int(target["flash_bytes"]),
                               ram_bytes=int(target["ram_bytes"]),
                               flash_free=int(target["flash_bytes"]) - flash_total,
                               ram_free=int(target["ram_bytes"]) - ram_total)
    return report


def render_multi(programs: list[Program], model_files: list[str], model_bytes: list[bytes],
                 goldens: list, separate_arenas: bool = False, measure: bool = True,
                 cmsis_nn_root: Path | None = None,
                 all_kernel_paths: bool = False) -> tuple[dict[str, bytes], dict]:
    """All files of a several-model project, tinygen.json included; and the memory report."""
    target = programs[0].target
    shared_bytes = max(p.plan.arena_bytes for p in programs)
    alignment = max(p.plan.alignment for p in programs)
    shared = None if separate_arenas or shared_bytes == 0 else SHARED_ARENA
    files: dict[str, bytes] = {}
    models = []
    for program, model_file, data, golden in zip(programs, model_files, model_bytes, goldens):
        own, ctx, sha = _model_files(program, model_file, data, golden, shared)
        clash = sorted(set(own) & set(files))
        if clash:
            raise ModelError(f"model '{program.name}' ({model_file}) would write "
                             f"{', '.join(clash)}, which another model of the project writes "
                             "too: rename one of the model files")
        files.update(own)
        models.append(dict(program=program, ctx=ctx, sha=sha, model_file=model_file,
                           files=sorted(own)))
    modules = sorted({mod for p in programs for mod in p.runtime_modules})
    files.update(module_files(modules))
    if kernel_config.HEADER in files and not all_kernel_paths:
        # the paths the layers of all the models take
        files[kernel_config.HEADER] = kernel_config.render(kernel_config.project_flags(
            layer.call for p in programs for layer in p.layers))
    env = render.template_env()
    cmsis = _union_cmsis_nn(programs)
    first = models[0]["ctx"]
    ctx = dict(first)       # target, build and toolchain keys are the same for every model
    ctx.update(
        name=PROJECT_NAME, NAME=PROJECT_NAME.upper(), version=__version__,
        runtime_version=RUNTIME_VERSION, runtime_from=None,
        models=[dict(m["ctx"], model_file=comment_text(m["model_file"], 120),
                     manifest_sources=[f for f in m["files"] if f.endswith(".c")])
                for m in models],
        shared_arena=shared, shared_arena_bytes=shared_bytes if shared else 0,
        separate_arenas=separate_arenas, alignment=alignment,
        arena_total=sum(p.plan.arena_bytes for p in programs) if not shared else shared_bytes,
        arena_total_separate=sum(p.plan.arena_bytes for p in programs),
        libraries={"cmsis_nn": cmsis} if cmsis else {}, cmsis_nn=cmsis,
        cmsis_nn_make_sources=[f"$({cmsis['path_variable']})/{s}" for s in cmsis["sources"]]
        if cmsis else [],
        selftest=any(g is not None for g in goldens), modules=modules)
    files[f"{PROJECT_NAME}.h"] = env.get_template("multi/models.h.j2").render(**ctx).encode("ascii")
    if shared:
        files[f"{PROJECT_NAME}.c"] = env.get_template("multi/models.c.j2").render(**ctx).encode("ascii")
    headers: set[str] = set()
    for m in models:
        headers.update(m["ctx"]["system_headers"])
    ctx["system_headers"] = sorted(headers)
    sources = sorted(p for p in files if p.endswith(".c"))
    memory = footprint(programs, files, sources, target, ctx["arena_total"], measure,
                       cmsis_nn_root, cmsis)
    ctx["memory"] = memory
    files["README.md"] = env.get_template("multi/README.md.j2").render(**ctx).encode("ascii")
    build_ctx = dict(ctx, lib_sources=sources)
    files[project.EXAMPLE_SOURCE] = env.get_template("multi/example_main.c.j2").render(
        **build_ctx).encode("ascii")
    files["Makefile"] = env.get_template("project/Makefile.j2").render(**build_ctx).encode("ascii")
    files["CMakeLists.txt"] = env.get_template("project/CMakeLists.txt.j2").render(
        **build_ctx).encode("ascii")
    if ctx["is_cortex_m"]:
        files["cmake/arm-none-eabi.cmake"] = env.get_template(
            "project/arm-none-eabi.cmake.j2").render(**build_ctx).encode("ascii")
    man = _manifest(models, ctx, sources, files, memory, modules)
    files["tinygen.json"] = (json.dumps(man, indent=2, sort_keys=False) + "\n").encode("ascii")
    return files, memory


def _manifest(models: list[dict], ctx: dict, sources: list[str], files: dict[str, bytes],
              memory: dict, modules: list[str]) -> dict:
    entries = []
    for m in models:
        program, mctx = m["program"], m["ctx"]
        own_sources = [f for f in m["files"] if f.endswith(".c")]
        entry = render.manifest(program, mctx, own_sources, {}, m["model_file"], m["sha"])
        for key in ("tool", "version", "target", "files", "include_dirs"):
            entry.pop(key, None)
        entry["files"] = m["files"]
        for layer, row in zip(entry["layers"], mctx["layer_table"]):
            layer.update(arena=row["arena"], scratch=row["scratch"])
        entry["arena"] = "shared" if ctx["shared_arena"] else "own"
        if mctx["selftest"]:
            entry["selftest"] = dict(function=f"{program.name}_selftest",
                                     header=f"{program.name}_selftest.h",
                                     vectors=mctx["selftest"]["count"],
                                     seed=mctx["selftest"]["seed"])
        entries.append(entry)
    warnings = [w for m in models for w in m["program"].warnings]
    man = dict(
        tool="tinygen", version=__version__, name=PROJECT_NAME, kind="models",
        target=ctx["target_name"], kernel_library=models[0]["program"].library,
        header=f"{PROJECT_NAME}.h", models=entries, sources=sources, include_dirs=["."],
        runtime_modules=modules,
        arena=dict(shared=bool(ctx["shared_arena"]), symbol=ctx["shared_arena"],
                   bytes=ctx["arena_total"]),
        **({"cmsis_nn": ctx["cmsis_nn"]} if ctx["cmsis_nn"] else {}),
        memory=memory,
        build=dict(makefile="Makefile", cmake="CMakeLists.txt",
                   toolchain_file="cmake/arm-none-eabi.cmake" if ctx["is_cortex_m"] else None,
                   example=project.EXAMPLE_SOURCE, example_define="TINYGEN_EXAMPLE_MAIN",
                   cpu_flags=ctx["cpu_flags"]),
        warnings=warnings,
        files={path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())})
    return man


def generate_multi(model_paths: list[str | Path], out_dir: str | Path | None,
                   target: str = "host", library: str | None = None, force: bool = False,
                   cmsis_nn: str | Path | None = None, selftest: int = 0,
                   selftest_seed: int = 0, measure: bool = True, check_fit: bool = True,
                   separate_arenas: bool = False, kernels: list[str] | None = None,
                   match_tflm: bool = False, compress: tuple[str, ...] = (),
                   fuse_residual: bool = True, in_place: bool = True,
                   all_kernel_paths: bool = False) -> MultiGenerated:
    """Generate one project holding every model (see the module docstring).  `kernels`,
    `match_tflm`, `compress`, `fuse_residual` and `in_place` apply to every model, as
    generate()'s do to one; `all_kernel_paths` keeps every kernel path in tg_config.h."""

    paths = [Path(p) for p in model_paths]
    if len(paths) < 2:
        raise TinygenError("a several-model project needs at least two models")
    names = [default_name(p) for p in paths]
    check_names(paths, names)
    target_spec = load_target(target)
    choice = choose_kernels(target, target_spec, library, cmsis_nn, kernels)
    backend, notes = choice.backend, choice.notes
    datas = [read_model_file(path) for path in paths]

    def build(paid: list[set[str]]) -> list[Program]:
        return [build_program(read_tflite(data, source=str(path)), name, target_spec,
                              choice.preference, choice.backends, match_tflm=match_tflm,
                              compress=compress, fuse_residual=fuse_residual,
                              in_place=in_place, code_paid=sorted(others))
                for path, name, data, others in zip(paths, names, datas, paid)]

    # compressed kernels' code is in the image once: a model's filters need not repay the
    # code another model's filters already bring in (again until no model takes up more)
    units: list[set[str]] = [set() for _ in paths]
    while True:
        programs = build([set().union(*(u for j, u in enumerate(units) if j != i))
                          for i in range(len(paths))])
        now = [set(compressed_code(layer.call for layer in p.layers)[0]) for p in programs]
        if not compress or now == units:
            break
        units = now
    goldens = [golden_vectors(data, program, selftest, selftest_seed) if selftest else None
               for data, program in zip(datas, programs)]
    files, memory = render_multi(programs, [p.name for p in paths], datas, goldens,
                                 separate_arenas=separate_arenas, measure=measure,
                                 cmsis_nn_root=backend.lib.root if backend is not None else None,
                                 all_kernel_paths=all_kernel_paths)
    if check_fit:
        fit(memory, target_spec)
    warnings = notes + [f"{p.name}: {w}" for p in programs for w in p.warnings]
    if out_dir is not None:
        write_project(Path(out_dir), files, force=force, notes=warnings)
    return MultiGenerated(programs, files, Path(out_dir) if out_dir is not None else None,
                          memory, warnings)


# ---------------------------------------------------------------- verify harness
VERIFY_TAG = "TGV"


def harness_source(programs: list[Program], vectors: list[list[list]], chunk: int = 48) -> str:
    """A main() running vector v of every model in turn (v = 0..count-1) and printing each
    output in hex: `TGV <model index> <vector> <output> <hex>`, then `TGV END`.

    vectors[m][v][k]: model m's input k for vector v (numpy arrays).  Runs on the emulated
    boards (tg_board.h of runtime_c/boards/) or on the host with a tg_board_write of its own."""

    models = []
    for m, (program, vecs) in enumerate(zip(programs, vectors)):
        g = program.graph
        inputs, seen = [], set()
        for k, t in enumerate(g.inputs):
            cname = program.cnames[t]
            if cname in seen:
                continue
            seen.add(cname)
            tensor = g.tensors[t]
            inputs.append(dict(cname=cname, ctype=tensor.ctype, elements=tensor.num_elements,
                               vectors=[array_body(np.asarray(vec[k]).reshape(-1), tensor.ctype,
                                                   indent=" " * 8) for vec in vecs]))
        outputs = [dict(cname=program.cnames[t], ctype=g.tensors[t].ctype,
                        elements=g.tensors[t].num_elements) for t in g.outputs]
        args = [f"verify_{m}_{i['cname']}[v]" for i in inputs] + \
               [f"verify_{m}_out_{o['cname']}" for o in outputs]
        models.append(dict(index=m, name=program.name, inputs=inputs, outputs=outputs,
                           call_args=", ".join(args)))
    return render.template_env().get_template("cortexm/verify_multi_main.c.j2").render(
        models=models, count=len(vectors[0]), tag=VERIFY_TAG, chunk=chunk)


def parse_harness_output(stdout: str, programs: list[Program], count: int) -> list[list[list]]:
    """got[m][v][k] from the harness's output; an error if anything is missing."""

    got: dict[tuple[int, int, int], object] = {}
    done = False
    for line in stdout.splitlines():
        parts = line.split()
        if not parts or parts[0] != VERIFY_TAG:
            continue
        if parts[1] == "END":
            done = True
            continue
        if parts[1] == "ERR":
            raise TinygenError("a model's invoke returned an error in the verify program")
        m, v, k = int(parts[1]), int(parts[2]), int(parts[3])
        t = programs[m].graph.tensors[programs[m].graph.outputs[k]]
        data = bytes.fromhex(parts[4] if len(parts) > 4 else "")
        got[(m, v, k)] = np.frombuffer(data, dtype=NP_DTYPES[t.dtype]).reshape(t.shape)
    if not done:
        raise TinygenError("the verify program stopped before printing every output")
    return [[[got[(m, v, k)] for k in range(len(p.graph.outputs))] for v in range(count)]
            for m, p in enumerate(programs)]


HOST_BOARD = """\
/* tg_board_write on the host, for the verify harness. */
#include <stdio.h>
#include "tg_board.h"
void tg_board_write(const char *text, size_t len) { fwrite(text, 1, len, stdout); }
"""


def verify_multi(model_paths: list[str | Path], count: int = 10, seed: int = 0,
                 target: str = "host", work_dir: Path | None = None,
                 cmsis_nn: str | Path | None = None, force: bool = False,
                 separate_arenas: bool = False, **options) -> list:
    """`tinygen verify a.tflite b.tflite ...`: the several-model project in ONE program that
    runs vector v of every model in turn, on the host or the emulated board of a Cortex-M
    target; every output compared with the reference.  One VerifyReport per model; each
    model's inputs are those `tinygen verify <model> --seed S` uses.  `options`: more
    arguments of generate_multi (kernels, match_tflm, compress, fuse_residual, in_place)."""

    paths = [Path(p) for p in model_paths]
    t = load_target(target)
    with tempfile.TemporaryDirectory(prefix="tinygen-verify-multi-") as tmp:
        out = Path(work_dir) if work_dir else Path(tmp) / "project"
        gen = generate_multi(paths, out, target=target, force=force or work_dir is None,
                             cmsis_nn=cmsis_nn, measure=False, check_fit=False,
                             separate_arenas=separate_arenas, **options)
        programs = gen.programs
        manifest = json.loads((out / "tinygen.json").read_text())
        refs = [reference_for(p.read_bytes(), prog) for p, prog in zip(paths, programs)]
        vectors, wants = [], []
        for prog, ref in zip(programs, refs):
            rng = np.random.default_rng(seed)
            vecs = [random_inputs(prog.graph, rng) for _ in range(count)]
            vectors.append(vecs)
            wants.append([ref.run(xs) for xs in vecs])
        build = out / "build" / "verify" if work_dir else Path(tmp) / "build"
        build.mkdir(parents=True, exist_ok=True)
        harness = build / "tinygen_verify_main.c"
        harness.write_text(harness_source(programs, vectors))
        entry = manifest.get("cmsis_nn")
        if is_cortex_m(t):
            cortexm.require_tools(what="verify on the emulator")
            cmsis = cortexm.CmsisNNSources.of(manifest, cmsis_nn)
            elf, board = cortexm.build_program_elf(out, manifest["sources"], [harness], t,
                                                   build, name="tinygen_models_verify",
                                                   cmsis=cmsis)
            r = cortexm.run_on_emulator(elf, board)
            stdout, where = r.stdout.decode("ascii", "replace"), f"QEMU {board['qemu_machine']}"
        else:
            (build / "tg_board.h").write_bytes(
                (cortexm.BOARDS_DIR / "mps2" / "tg_board.h").read_bytes())
            (build / "tg_host_board.c").write_text(HOST_BOARD)
            cc = find_cc()
            includes, objects = [f"-I{out}", f"-I{build}"], []
            if entry:
                root = cmsis_nn_root(entry, cmsis_nn)
                includes += [f"-isystem{root / d}" for d in entry["include_dirs"]]
                objects = compile_cmsis_nn(root, entry, None, cc)
            exe = build / "tinygen_models_verify"
            cmd = [cc, *WARNINGS, "-O2", *includes, *[str(out / s) for s in manifest["sources"]],
                   str(harness), str(build / "tg_host_board.c"), *objects, "-o", str(exe), "-lm"]
            c = subprocess.run(cmd, capture_output=True, text=True)
            if c.returncode != 0:
                raise ToolchainError(f"host build of the verify program failed:\n"
                                     f"{' '.join(cmd)}\n{c.stderr[-4000:]}")
            r = subprocess.run([str(exe)], capture_output=True, timeout=600)
            stdout, where = r.stdout.decode("ascii", "replace"), "host program"
        if r.returncode != 0:
            raise TinygenError(f"the verify program failed ({where}, exit status "
                               f"{r.returncode}):\n{stdout[-2000:]}")
        gots = parse_harness_output(stdout, programs, count)
        arena = "separate arenas" if separate_arenas else "shared arena"
        reports = []
        for path, prog, ref, got_m, want_m in zip(paths, programs, refs, gots, wants):
            g = prog.graph
            rep = VerifyReport(model=path.name, count=count, reference=ref.name,
                               target=f"{target} ({where}, {len(paths)} models in one "
                                      f"program, {arena})",
                               arena_bytes=prog.plan.arena_bytes,
                               lower_bound=prog.plan.lower_bound)
            rep.outputs = [OutputReport(g.tensors[o].name) for o in g.outputs]
            for got, want in zip(got_m, want_m):
                for k, (a, b) in enumerate(zip(got, want)):
                    compare(g.tensors[g.outputs[k]].name, a, b, rep.outputs[k])
            reports.append(rep)
        return reports
