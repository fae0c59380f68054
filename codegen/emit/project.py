"""The build side of a generated project: Makefile, CMake files, example program, self-test.

render.py calls in here in its two steps: `render_library` gets from
`library_files` the C files that belong to the model library (the golden
self-test); after measuring, `render_project_files` gets from `build_files`
what builds the library and the example program around it.
Python decides names, flags and values; the templates under
templates/project/ only lay them out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import jinja2
import numpy as np

from codegen.cnames import array_body
from codegen.emit.layer_table import arena_cell, layer_table
from codegen.program import Program
from codegen.regions import placement_context
from codegen.targets import is_cortex_m

# Link flags of the example program on a Cortex-M target: newlib-nano with stub system
# calls, so that it links without a board's startup code (it is not meant to run as is).
CORTEXM_EXAMPLE_LINK = ["-Wl,--gc-sections", "--specs=nano.specs", "--specs=nosys.specs"]
EXAMPLE_SOURCE = "example_main.c"


@dataclass
class Selftest:
    """Golden vectors for `<name>_selftest()`: inputs[v][k], expected[v][k] (numpy arrays)."""

    seed: int
    reference: str = "TFLM reference kernels"
    inputs: list[list[np.ndarray]] = field(default_factory=list)
    expected: list[list[np.ndarray]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.inputs)


def _hex_words(words: np.ndarray, per_line: int = 8, indent: str = " " * 8) -> str:
    items = [f"0x{int(w):08x}u" for w in words.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return (",\n" + indent).join(lines)


def _unique_io(ios: list[dict]) -> list[dict]:
    seen, out = set(), []
    for io in ios:
        if io["cname"] not in seen:
            seen.add(io["cname"])
            out.append(io)
    return out


def _selftest_context(ctx: dict, selftest: Selftest) -> dict:
    inputs = _unique_io(ctx["inputs"])
    outputs = ctx["outputs"]
    in_index = {io["cname"]: k for k, io in enumerate(ctx["inputs"])}
    st_inputs = []
    for io in inputs:
        k = in_index[io["cname"]]
        vectors = [array_body(np.asarray(vec[k]).reshape(-1), io["ctype"], indent=" " * 8)
                   for vec in selftest.inputs]
        st_inputs.append(dict(io, vectors=vectors))
    st_outputs = []
    for k, io in enumerate(outputs):
        bits = io["ctype"] == "float"
        vectors = []
        for vec in selftest.expected:
            arr = np.asarray(vec[k]).reshape(-1)
            if bits:
                arr = np.ascontiguousarray(arr, dtype=np.float32).view(np.uint32)
                vectors.append(_hex_words(arr))
            else:
                vectors.append(array_body(arr, io["ctype"], indent=" " * 8))
        st_outputs.append(dict(io, vectors=vectors, bits=bits,
                               expected_ctype="uint32_t" if bits else io["ctype"]))
    call_args = [f"selftest_{io['cname']}[v]" for io in inputs] + \
                [f"selftest_{io['cname']}" for io in outputs]
    return dict(count=selftest.count, seed=selftest.seed, reference=selftest.reference,
                inputs=st_inputs, outputs=st_outputs,
                call_args=", ".join(call_args), needs_memcpy=any(o["bits"] for o in st_outputs))


def project_context(program: Program, ctx: dict, selftest: Selftest | None) -> dict:
    """Keys the build templates (and README.md.j2) use, added to render.py's context."""
    target = program.target
    cortexm = is_cortex_m(target)
    cmsis = program.libraries.get("cmsis_nn")
    inputs = _unique_io(ctx["inputs"])
    fills = [dict(cname=io["cname"], CNAME=io["CNAME"], value=str(io["zero_point"]))
             for io in inputs
             if io["zero_point"] and io["ctype"] in ("int8_t", "uint8_t", "int16_t")]
    return dict(
        is_host=not cortexm, is_cortex_m=cortexm, is_board=bool(target.get("is_board")),
        target_description=target.get("description", target["name"]),
        core_name=target.get("core_name", target["name"]),
        board_mcu=target.get("mcu", ""),
        cpu_flags=list(target.get("cpu_flags", [])),
        link_flags=CORTEXM_EXAMPLE_LINK if cortexm else [],
        make_cc="arm-none-eabi-gcc" if cortexm else "cc",
        make_ar="arm-none-eabi-ar" if cortexm else "ar",
        make_size="arm-none-eabi-size" if cortexm else "size",
        exe_suffix=".elf" if cortexm else "",
        example_inputs=inputs,
        example_call_args=", ".join([io["cname"] for io in inputs] +
                                    [io["cname"] for io in ctx["outputs"]]),
        example_fills=fills,
        selftest=_selftest_context(ctx, selftest) if selftest else None,
        layer_table=[dict(row, arena_text=arena_cell(row)) for row in layer_table(program)],
        cmsis_nn=cmsis,
        cmsis_nn_make_sources=[f"$({cmsis['path_variable']})/{src}" for src in cmsis["sources"]]
        if cmsis else [],
        **placement_context(target),    # arena/weights placement, memory regions (README)
    )


def extend_manifest(man: dict, ctx: dict) -> None:
    """Add the memory report and each layer's arena placement to tinygen.json."""
    for entry, row in zip(man["layers"], ctx["layer_table"]):
        entry.update(arena=row["arena"],
                     scratch=row["scratch"], memory=row["memory"])
    if ctx.get("memory"):
        man["memory"] = ctx["memory"]
    man["build"] = dict(makefile="Makefile", cmake="CMakeLists.txt",
                        toolchain_file="cmake/arm-none-eabi.cmake" if ctx["is_cortex_m"] else None,
                        example=EXAMPLE_SOURCE, example_define="TINYGEN_EXAMPLE_MAIN",
                        cpu_flags=ctx["cpu_flags"])
    if ctx["selftest"]:
        man["selftest"] = dict(function=f"{ctx['name']}_selftest",
                               header=f"{ctx['name']}_selftest.h",
                               vectors=ctx["selftest"]["count"], seed=ctx["selftest"]["seed"])


def library_files(env: jinja2.Environment, ctx: dict, rendered: dict[str, bytes]) -> dict[str, bytes]:
    """C files that belong to the model library (listed in tinygen.json `sources`).

    Also records in ctx the C library headers the library includes (for the README).
    """
    files: dict[str, bytes] = {}
    if ctx["selftest"]:
        name = ctx["name"]
        files[f"{name}_selftest.h"] = env.get_template("project/selftest.h.j2").render(**ctx).encode("ascii")
        files[f"{name}_selftest.c"] = env.get_template("project/selftest.c.j2").render(**ctx).encode("ascii")
    headers = set()
    for path, data in list(rendered.items()) + list(files.items()):
        if path.endswith((".c", ".h")):
            headers.update(re.findall(rb"^\s*#\s*include\s*<([^>]+)>", data, re.M))
    ctx["system_headers"] = sorted(h.decode("ascii", "replace") for h in headers)
    return files


def build_files(env: jinja2.Environment, ctx: dict, lib_sources: list[str]) -> dict[str, bytes]:
    """The example program and the files that build library and example."""
    ctx = dict(ctx, lib_sources=lib_sources)

    def render(template: str) -> bytes:
        return env.get_template(f"project/{template}").render(**ctx).encode("ascii")

    files = {EXAMPLE_SOURCE: render("example_main.c.j2"),
             "Makefile": render("Makefile.j2"),
             "CMakeLists.txt": render("CMakeLists.txt.j2")}
    if ctx["is_cortex_m"]:
        files["cmake/arm-none-eabi.cmake"] = render("arm-none-eabi.cmake.j2")
    return files
