"""The C side of the contract between the lowerings and runtime_c, read from the headers.

A lowering names a C function (`LayerCall.kernel`) and a params struct (`params_type`)
and fills the struct's fields by name (`params`).  This module reads what the C side
declares, so that the two can be compared mechanically (tests/test_contract.py) and the
C files a program needs can be derived from the kernels it calls (`runtime_modules`):

- `scan(root)`: from the header text alone (no compiler needed, used at generation time):
  which module declares each function, what each module `#include`s, integer macros;
- `parse(root)`: the headers preprocessed by the host C preprocessor and parsed with
  pycparser: every struct typedef with its fields in order, and every function.

A "module" is a header stem (`tg_conv` for runtime_c/tg_conv.h and tg_conv.c).
This module imports nothing else from codegen.
"""
from __future__ import annotations

import functools
import numbers
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from codegen import resources

RUNTIME_DIR = resources.runtime_dir()   # in a checkout or an installed wheel

# Limits the lowerings share with the C kernels: the lowerings read them from here, and
# tests/test_contract.py checks each equals the header's macro.
C_LIMITS = {
    "TG_ELEMENTWISE_MAX_DIMS": 6,   # loops of ADD/SUB/MUL broadcasting (lowering/elementwise/)
    "TG_DSP_ELEMENTWISE_MAX_DIMS": 6,   # the same for the dsp kernels (elementwise/dsp.py)
    "TG_MAXMIN_MAX_DIMS": 8,        # loops of MAXIMUM/MINIMUM (lowering/maximum_minimum/)
    "TG_STRIDED_COPY_DIMS": 5,      # loops of tg_strided_copy (lowering/strided_copy.py)
    "TG_REDUCE_MAX_DIMS": 4,        # outer and reduced loops of tg_reduce_sum_s8 (lowering/reduce/)
    "TG_REDUCE_MINMAX_DIMS": 4,     # the same for tg_reduce_max/min (lowering/reduce_minmax/)
    "TG_TILE_MAX_DIMS": 6,          # merged dimensions of tg_tile (lowering/tile/)
    "TG_PRELU_MAX_DIMS": 4,         # loops of tg_prelu_s8 (lowering/prelu/)
    "TG_SQDIFF_MAX_DIMS": 4,        # loops of tg_squared_difference_s8 (squared_difference/)
    "TG_BATCH_MATMUL_BATCH_DIMS": 3,  # batch loops of tg_batch_matmul_s8 (batch_matmul/)
    "TG_DIV_MAX_DIMS": 5,           # loops of tg_div_s8 (lowering/div/)
}

# Just enough of the C library for the preprocessor (-nostdinc): pycparser needs the
# typedef names, the values do not matter.
FAKE_LIBC = {
    "stdint.h": "".join(f"typedef int {p}int{n}_t;\n" for p in ("", "u") for n in (8, 16, 32, 64))
    + "typedef int intptr_t;\ntypedef int uintptr_t;\n"
    + "".join(f"#define INT{n}_MIN (-1)\n#define INT{n}_MAX 1\n#define UINT{n}_MAX 1\n"
              for n in (8, 16, 32, 64)),
    "stddef.h": "typedef int size_t;\ntypedef int ptrdiff_t;\n#define NULL 0\n",
    "stdbool.h": "#define bool _Bool\n#define true 1\n#define false 0\n",
    "limits.h": "#define INT_MIN (-1)\n#define INT_MAX 1\n#define CHAR_BIT 8\n",
    "float.h": "#define FLT_MAX 1.0f\n#define FLT_MIN 1.0f\n",
    "string.h": "#include <stddef.h>\n",
    "math.h": "",
    "time.h": "typedef long clock_t;\nclock_t clock(void);\n#define CLOCKS_PER_SEC 1000000\n",
}

_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
_DEFINE_INT = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+"
                         r"(\(\s*-?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)|-?(?:0[xX][0-9a-fA-F]+|\d+)"
                         r"[uUlL]*)[ \t]*$", re.M)
_DEFINE_FUNC = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(\w+)\(", re.M)
_DIRECTIVE = re.compile(r"^[ \t]*#.*$", re.M)


def _text(path: Path) -> str:
    """A C file without comments and with backslash-continued lines joined."""
    return _COMMENT.sub(" ", path.read_text(encoding="utf-8")).replace("\\\n", " ")


def _modules(root: Path) -> list[str]:
    return sorted(p.stem for p in root.glob("tg_*.h"))


@dataclass(frozen=True)
class Scan:
    """What the header text says, without a compiler."""

    functions: dict[str, str]        # function or function-like macro -> declaring module
    includes: dict[str, frozenset]   # module -> modules its .h and .c include, transitively
    macros: dict[str, int]           # simple integer macros -> value (conflicting ones left out)
    macro_modules: dict[str, str]    # integer macro -> declaring module
    function_macros: dict[str, str]  # function-like macro -> declaring module

    def closure(self, modules: Iterable[str]) -> set[str]:
        """`modules` and everything they include."""
        out: set[str] = set()
        for m in modules:
            out.add(m)
            out |= self.includes.get(m, frozenset())
        return out


def _top_level_functions(text: str) -> list[str]:
    """Names of the functions declared or defined at file scope of a header's text."""
    text = _DIRECTIVE.sub(" ", text)
    text = re.sub(r'extern\s*"C"\s*\{', " ", text)   # C++ guards: their `}` is left at depth 0
    flat, depth = [], 0
    for ch in text:                  # drop what is inside braces: bodies, members, enumerators
        if ch == "{":
            depth += 1
            flat.append(ch if depth == 1 else " ")
        elif ch == "}":
            depth = max(depth - 1, 0)
            flat.append(ch if depth == 0 else " ")
        else:
            flat.append(ch if depth == 0 else " ")
    names = []
    for chunk in re.split(r"[;{}]", "".join(flat)):
        chunk = chunk.strip()
        if not chunk or re.match(r"typedef\b", chunk):
            continue
        m = re.search(r"(\w+)\s*\(", chunk)
        if m:
            names.append(m.group(1))
    return names


def _c_int(literal: str) -> int:
    """The value of a C integer literal, possibly negated and in parentheses."""
    text = re.sub(r"[()\s]", "", literal).rstrip("uUlL")
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text)
    base = 16 if digits[:2] in ("0x", "0X") else 8 if len(digits) > 1 and digits[0] == "0" else 10
    return sign * int(digits, base)


@functools.lru_cache(maxsize=None)
def scan(root: Path = RUNTIME_DIR) -> Scan:
    """The runtime_c headers (and .c files, for includes) in `root`, read as text."""
    root = Path(root)
    modules = _modules(root)
    functions: dict[str, str] = {}
    direct: dict[str, set[str]] = {}
    values: dict[str, set[int]] = {}
    macro_modules: dict[str, str] = {}
    function_macros: dict[str, str] = {}
    for mod in modules:
        h = _text(root / f"{mod}.h")
        function_macros.update((name, mod) for name in _DEFINE_FUNC.findall(h))
        for name in _top_level_functions(h) + _DEFINE_FUNC.findall(h):
            if functions.get(name, mod) != mod:
                raise ValueError(f"{name} is declared in both {functions[name]}.h and {mod}.h")
            functions[name] = mod
        for name, value in _DEFINE_INT.findall(h):
            values.setdefault(name, set()).add(_c_int(value))
            macro_modules[name] = mod
        deps = set()
        for ext in (".h", ".c"):
            if (root / f"{mod}{ext}").is_file():
                deps |= {Path(inc).stem for inc in _INCLUDE.findall(_text(root / f"{mod}{ext}"))
                         if (root / inc).is_file()}
        direct[mod] = deps - {mod}
    includes = {}
    for mod in modules:
        seen, todo = set(), list(direct[mod])
        while todo:
            m = todo.pop()
            if m not in seen:
                seen.add(m)
                todo.extend(direct.get(m, ()))
        includes[mod] = frozenset(seen - {mod})
    macros = {k: next(iter(v)) for k, v in values.items() if len(v) == 1}
    return Scan(functions, includes, macros, macro_modules, function_macros)


def runtime_modules(kernels: Iterable[str], root: Path = RUNTIME_DIR) -> list[str]:
    """The runtime_c modules a program calling `kernels` needs: tg_common, the modules
    declaring those kernels and everything they include.  Kernels of other libraries
    (CMSIS-NN's arm_*) are not runtime_c's and add nothing."""
    s = scan(root)
    return sorted(s.closure({"tg_common"} | {s.functions[k] for k in kernels
                                             if k in s.functions}))


# ---------------------------------------------------------------- pycparser

@dataclass(frozen=True)
class Parsed:
    """What the preprocessed headers declare, from pycparser's syntax tree."""

    structs: dict[str, tuple[str, ...]]      # struct typedef -> field names, in order
    arrays: dict[str, dict[str, int]]        # struct typedef -> array field -> element count
    field_types: dict[str, dict[str, str]]   # struct typedef -> field -> type name ("int32_t *")
    functions: dict[str, str]                # function -> declaring header stem (parse():
                                             # and function-like macros, e.g. tg_concat)
    struct_modules: dict[str, str] = field(default_factory=dict)  # struct -> header stem


class NoPreprocessorError(RuntimeError):
    pass


def preprocessor() -> list[str]:
    """The command of a C preprocessor found on this machine ($CPP, cc, gcc, clang, cpp)."""
    if os.environ.get("CPP"):
        return os.environ["CPP"].split()
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return [cc, "-E"]
    if shutil.which("cpp"):
        return ["cpp"]
    raise NoPreprocessorError("no C preprocessor found (cc, gcc, clang, cpp or $CPP): "
                              "reading the runtime_c headers with pycparser needs one")


def _type_name(node: Any) -> str:
    from pycparser import c_ast

    if isinstance(node, c_ast.PtrDecl):
        return _type_name(node.type) + " *"
    if isinstance(node, c_ast.ArrayDecl):
        return _type_name(node.type)
    if isinstance(node, c_ast.TypeDecl):
        return _type_name(node.type)
    if isinstance(node, c_ast.IdentifierType):
        return " ".join(node.names)
    if isinstance(node, (c_ast.Struct, c_ast.Union, c_ast.Enum)):
        return f"{type(node).__name__.lower()} {node.name or ''}".strip()
    if isinstance(node, c_ast.FuncDecl):
        return "function"
    return type(node).__name__


def _const_int(node: Any) -> int | None:
    from pycparser import c_ast

    if isinstance(node, c_ast.Constant) and node.type == "int":
        return int(node.value.rstrip("uUlL"), 0)
    if isinstance(node, c_ast.UnaryOp) and node.op == "-":
        v = _const_int(node.expr)
        return None if v is None else -v
    return None


def parse_files(headers: list[Path], include_dirs: Iterable[Path] = (),
                defines: Iterable[str] = ()) -> Parsed:
    """Preprocess and parse `headers` (in one translation unit); what each declares."""
    from pycparser import c_ast, c_parser

    headers = [Path(h).resolve() for h in headers]
    with tempfile.TemporaryDirectory(prefix="tg_cheaders_") as tmp:
        fake = Path(tmp) / "include"
        fake.mkdir()
        for name, text in FAKE_LIBC.items():
            (fake / name).write_text(text)
        tu = Path(tmp) / "all.c"
        tu.write_text("".join(f'#include "{h}"\n' for h in headers))
        cmd = preprocessor() + ["-std=c99", "-undef", "-nostdinc", f"-I{fake}"]
        cmd += [f"-I{d}" for d in include_dirs] + [f"-D{d}" for d in defines] + [str(tu)]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr}")
        ast = c_parser.CParser().parse(res.stdout, filename=str(tu))

    wanted = {str(h): h.stem for h in headers}
    structs: dict[str, tuple[str, ...]] = {}
    arrays: dict[str, dict[str, int]] = {}
    field_types: dict[str, dict[str, str]] = {}
    functions: dict[str, str] = {}
    struct_modules: dict[str, str] = {}
    tagged: dict[str, c_ast.Struct] = {}
    for node in ast.ext:             # struct tags first: `typedef struct tag name;` refers back
        decl = node.decl if isinstance(node, c_ast.FuncDef) else node
        t = getattr(getattr(decl, "type", None), "type", None)
        if isinstance(t, c_ast.Struct) and t.name and t.decls is not None:
            tagged[t.name] = t
    for node in ast.ext:
        src = str(Path(node.coord.file).resolve()) if node.coord and node.coord.file else ""
        stem = wanted.get(src, Path(src).stem)
        own = src in wanted              # declared in runtime_c, not the stand-in C library
        if isinstance(node, c_ast.FuncDef):
            if own:
                functions[node.decl.name] = stem
        elif isinstance(node, c_ast.Decl) and isinstance(node.type, c_ast.FuncDecl):
            if own:
                functions[node.name] = stem
        elif isinstance(node, c_ast.Typedef) and isinstance(node.type, c_ast.TypeDecl) \
                and isinstance(node.type.type, c_ast.Struct):
            st = node.type.type
            if st.decls is None and st.name in tagged:
                st = tagged[st.name]
            if st.decls is None:
                continue
            structs[node.name] = tuple(d.name for d in st.decls)
            field_types[node.name] = {d.name: _type_name(d.type) for d in st.decls}
            arrays[node.name] = {d.name: _const_int(d.type.dim) for d in st.decls
                                 if isinstance(d.type, c_ast.ArrayDecl)}
            struct_modules[node.name] = stem
    return Parsed(structs, arrays, field_types, functions, struct_modules)


@functools.lru_cache(maxsize=None)
def parse(root: Path = RUNTIME_DIR) -> Parsed:
    """Every runtime_c header, parsed (needs a C preprocessor, see `preprocessor`)."""
    root = Path(root)
    parsed = parse_files([root / f"{m}.h" for m in _modules(root)], [root])
    parsed.functions.update(scan(root).function_macros)
    return parsed


# ---------------------------------------------------------------- the checks

def check_params(parsed: Parsed, params_type: str | None, params: dict[str, Any],
                 what: str = "params") -> list[str]:
    """What is wrong with `params` as an initializer of struct `params_type` (empty: nothing).

    Keys must be exactly the struct's fields (a missing one would silently be zero), a
    list must fill its array field exactly, and a dict fills a nested struct field.
    """
    if params_type is None:
        return [f"{what} has keys {sorted(params)} but no params_type"] if params else []
    if params_type not in parsed.structs:
        return [f"{what}: struct {params_type} is not declared in any header"]
    fields = parsed.structs[params_type]
    problems = []
    missing = [f for f in fields if f not in params]
    unknown = [k for k in params if k not in fields]
    if missing:
        problems.append(f"{what}: field(s) of {params_type} missing from params (would be "
                        f"zero): {', '.join(missing)}")
    if unknown:
        problems.append(f"{what}: key(s) not fields of {params_type}: {', '.join(unknown)}")
    for k, v in params.items():
        if k not in fields:
            continue
        n = parsed.arrays.get(params_type, {}).get(k)
        if n is not None:
            if not isinstance(v, (list, tuple)) or len(v) != n:
                got = f"{len(v)} values" if isinstance(v, (list, tuple)) else repr(v)
                problems.append(f"{what}.{k}: array of {n} in {params_type}, given {got}")
        elif isinstance(v, dict):
            problems += check_params(parsed, parsed.field_types[params_type][k], v,
                                     f"{what}.{k}")
        elif isinstance(v, (list, tuple)):
            problems.append(f"{what}.{k}: not an array in {params_type}, given a list")
        elif parsed.field_types[params_type][k].endswith("*"):
            if isinstance(v, numbers.Number) and not isinstance(v, bool) and v != 0:
                problems.append(f"{what}.{k}: a pointer in {params_type}, given the number {v}")
        elif hasattr(v, "name") and not isinstance(v, numbers.Number):
            problems.append(f"{what}.{k}: a {parsed.field_types[params_type][k]} in "
                            f"{params_type}, given a reference to array {v.name}")
    return problems


def check_call(parsed: Parsed, call: Any) -> list[str]:
    """Contract problems of one portable `LayerCall` (duck-typed: kernel, params_type, params)."""
    problems = []
    if call.kernel not in parsed.functions:
        problems.append(f"kernel {call.kernel} is not declared in any runtime_c header")
    return problems + check_params(parsed, call.params_type, call.params,
                                   f"{call.kernel} params")
