"""Compile a generated project into a shared library and call it through cffi (ABI mode)."""
from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from codegen.cmsis_nn import locate
from codegen.errors import ToolchainError
from codegen.hostcc import WARNINGS, find_cc  # also this module's API (tests, benchmarks)
from codegen.vectors import NP_DTYPES

C_TYPES = {"int8": "int8_t", "uint8": "uint8_t", "int16": "int16_t", "int32": "int32_t",
           "float32": "float", "int64": "int64_t", "bool": "uint8_t"}


# CMSIS-NN's own sources build with its own, looser flags (they are C99, not -Wpedantic clean).
CMSIS_NN_FLAGS = ["-std=c99", "-O2", "-fPIC"]


def cmsis_nn_root(entry: dict, cmsis_nn: str | Path | None) -> Path:
    """The CMSIS-NN folder to build a project with, checked against the one it was made for."""
    lib = locate(cmsis_nn)
    if lib.revision_str != entry.get("header_revision"):
        raise ToolchainError(
            f"the project was generated for CMSIS-NN {entry.get('version')} (arm_nnfunctions.h "
            f"{entry.get('header_revision')}), but {lib.root} is {lib.describe()}; "
            "generate it again with this CMSIS-NN")
    return lib.root


_cmsis_objects: dict[tuple, str] = {}     # (source, mtime, flags, cc) -> object file
_cmsis_obj_dir: list[Path] = []


def _object_cache_dir() -> Path:
    """A folder for CMSIS-NN objects shared by the builds of this process, removed at exit."""
    if not _cmsis_obj_dir:
        d = Path(tempfile.mkdtemp(prefix="tinygen-cmsis-obj-"))
        atexit.register(shutil.rmtree, d, True)
        _cmsis_obj_dir.append(d)
    return _cmsis_obj_dir[0]


def compile_cmsis_nn(root: Path, entry: dict, extra_flags: list[str] | None, cc: str) -> list[str]:
    """Compile the CMSIS-NN sources a project lists (once per process); return the objects."""
    objects = []
    for rel in entry["sources"]:
        src = root / rel
        flags = [*CMSIS_NN_FLAGS, *[f"-I{root / d}" for d in entry["include_dirs"]],
                 *(extra_flags or [])]
        key = (str(src), src.stat().st_mtime_ns, tuple(flags), cc)
        if key not in _cmsis_objects:
            obj = _object_cache_dir() / f"{len(_cmsis_objects)}_{src.stem}.o"
            cmd = [cc, *flags, "-c", str(src), "-o", str(obj)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise ToolchainError(f"host build of CMSIS-NN's {rel} failed:\n{' '.join(cmd)}"
                                     f"\n{r.stderr[-4000:]}")
            _cmsis_objects[key] = str(obj)
        objects.append(_cmsis_objects[key])
    return objects


def compile_shared(project: Path, out: Path, extra_flags: list[str] | None = None,
                   cc: str | None = None, cmsis_nn: str | Path | None = None) -> Path:
    """Build the project into a shared library; `cmsis_nn` for projects that call CMSIS-NN
    (default: $CMSIS_NN_PATH)."""
    manifest = json.loads((project / "tinygen.json").read_text())
    cc = cc or find_cc()
    sources = [str(project / s) for s in manifest["sources"]]
    includes = [f"-I{project / d}" for d in manifest["include_dirs"]]
    objects: list[str] = []
    entry = manifest.get("cmsis_nn")
    if entry:
        root = cmsis_nn_root(entry, cmsis_nn)
        # -isystem: tinygen's strict warnings are for its own code, not CMSIS-NN's headers
        includes += [f"-isystem{root / d}" for d in entry["include_dirs"]]
        objects = compile_cmsis_nn(root, entry, extra_flags, cc)
    cmd = [cc, *WARNINGS, "-O2", "-fPIC", "-shared", *includes,
           *(extra_flags or []), *sources, *objects, "-o", str(out), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolchainError(f"host build of {project} failed:\n{' '.join(cmd)}\n{r.stderr[-4000:]}")
    return out


class HostModel:
    """A generated model compiled for the host, callable with numpy arrays."""

    def __init__(self, project: Path, build_dir: Path | None = None,
                 extra_flags: list[str] | None = None, cmsis_nn: str | Path | None = None):
        import cffi  # lazily (heavy): only calling a build from Python needs it

        self.project = Path(project)
        self.manifest = json.loads((self.project / "tinygen.json").read_text())
        build_dir = Path(build_dir or self.project)
        build_dir.mkdir(parents=True, exist_ok=True)
        # dlopen() hands back an already loaded library for a path it has seen, so each
        # distinct build gets its own file name (a digest of sources and flags).
        digest = hashlib.sha256(repr((extra_flags, str(cmsis_nn))).encode())
        for src in sorted(self.manifest["sources"]) + [self.manifest["header"]]:
            digest.update((self.project / src).read_bytes())
        self.lib_path = compile_shared(
            self.project, build_dir / f"lib{self.manifest['name']}-{digest.hexdigest()[:12]}.so",
            extra_flags, cmsis_nn=cmsis_nn)
        self.ffi = cffi.FFI()
        params = [f"const {C_TYPES[i['dtype']]} *" for i in self.manifest["inputs"]]
        params += [f"{C_TYPES[o['dtype']]} *" for o in self.manifest["outputs"]]
        self.ffi.cdef(f"int {self.manifest['invoke']}({', '.join(params)});")
        self.lib = self.ffi.dlopen(str(self.lib_path))
        self._invoke = getattr(self.lib, self.manifest["invoke"])
        self._io = None
        if self.manifest.get("io_in_arena"):   # --io-in-arena: pass the arena's pointers
            ptrs = self.manifest["io_pointers"]
            self.ffi.cdef(f"void *{ptrs['input']}(unsigned); void *{ptrs['output']}(unsigned);")
            self._io = (getattr(self.lib, ptrs["input"]), getattr(self.lib, ptrs["output"]))
        self._reset = None
        if self.manifest.get("reset"):
            self.ffi.cdef(f"void {self.manifest['reset']}(void);")
            self._reset = getattr(self.lib, self.manifest["reset"])
        # with a layer hook (verify --layers): per invoke, (layer, output) -> its bytes
        self.layer_history: list[dict[tuple[int, int], bytes]] = []
        if self.manifest.get("layer_hook"):
            sig = "void(uint32_t, uint32_t, const void *, uint32_t)"
            self.ffi.cdef(f"extern void (*{self.manifest['layer_hook']})({sig[5:-1]});")

            def hook(layer, output, data, nbytes):
                self.layer_history[-1][(layer, output)] = bytes(self.ffi.buffer(data, nbytes))
            self._hook = self.ffi.callback(sig, hook)      # kept alive with the model
            setattr(self.lib, self.manifest["layer_hook"], self._hook)

    def reset(self) -> None:
        """Clear the model's persistent state (a no-op for a model without state)."""
        if self._reset is not None:
            self._reset()

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        if self._io is not None:
            return self._invoke_in_arena(inputs)
        args = []
        for spec, x in zip(self.manifest["inputs"], inputs):
            arr = np.ascontiguousarray(x, dtype=NP_DTYPES[spec["dtype"]]).reshape(spec["shape"])
            args.append(self.ffi.from_buffer(f"{C_TYPES[spec['dtype']]}[]", arr))
        outs = [np.zeros(o["shape"], dtype=NP_DTYPES[o["dtype"]]) for o in self.manifest["outputs"]]
        args += [self.ffi.from_buffer(f"{C_TYPES[o['dtype']]}[]", y)
                 for o, y in zip(self.manifest["outputs"], outs)]
        if self.manifest.get("layer_hook"):
            self.layer_history.append({})
        status = self._invoke(*args)
        if status != 0:
            raise RuntimeError(f"{self.manifest['invoke']} returned {status}")
        return outs

    def _invoke_in_arena(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        """Inputs copied to `<name>_input(i)`, outputs read at `<name>_output(i)`."""
        get_in, get_out = self._io
        args = []
        for k, (spec, x) in enumerate(zip(self.manifest["inputs"], inputs)):
            arr = np.ascontiguousarray(x, dtype=NP_DTYPES[spec["dtype"]]).reshape(spec["shape"])
            ptr = get_in(k)
            self.ffi.memmove(ptr, self.ffi.from_buffer(arr), arr.nbytes)
            args.append(self.ffi.cast(f"{C_TYPES[spec['dtype']]} *", ptr))
        out_ptrs = [get_out(k) for k in range(len(self.manifest["outputs"]))]
        args += [self.ffi.cast(f"{C_TYPES[o['dtype']]} *", p)
                 for o, p in zip(self.manifest["outputs"], out_ptrs)]
        status = self._invoke(*args)
        if status != 0:
            raise RuntimeError(f"{self.manifest['invoke']} returned {status}")
        outs = []
        for o, p in zip(self.manifest["outputs"], out_ptrs):
            dtype = np.dtype(NP_DTYPES[o["dtype"]])
            n = int(np.prod(o["shape"], dtype=np.int64)) * dtype.itemsize
            outs.append(np.frombuffer(self.ffi.buffer(p, n), dtype=dtype).copy()
                        .reshape(o["shape"]))
        return outs


# --- a standalone host executable: main() reading inputs from a file ---------------------
#
# The shared library above is convenient from Python but cannot run under the address and
# undefined-behaviour sanitizers (their runtimes must be loaded first).  A small generated
# main() can: it reads input sets from a binary file, calls <name>_invoke on buffers
# allocated to their exact sizes (so a kernel reading or writing past one of them trips
# ASan), and writes the outputs to another file.

SANITIZE_FLAGS = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                  "-fno-omit-frame-pointer", "-g"]
SANITIZE_ENV = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0:exitcode=86",
                "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=87"}


def driver_source(manifest: dict) -> str:
    """C99 source of a host main() for a generated project (host only: stdio, malloc).

    Usage of the program: `prog INPUTS.bin OUTPUTS.bin`.  INPUTS.bin holds any number
    of input sets, each the raw bytes of every model input in model order (native byte
    order); OUTPUTS.bin receives, per set, the raw bytes of every output in model order.
    Exit status: 0 ok, 2 usage or I/O error, 3 input file size not a whole number of sets,
    4 invoke returned non-zero.
    """
    name = manifest["name"]
    ins, outs = manifest["inputs"], manifest["outputs"]

    def elems(io) -> int:
        n = 1
        for d in io["shape"]:
            n *= int(d)
        return n

    def decl(prefix, k, io):
        return (f"    {C_TYPES[io['dtype']]} *{prefix}{k} = malloc({elems(io)}u * "
                f"sizeof *{prefix}{k});")

    bufs = [("in", k, io) for k, io in enumerate(ins)] + \
        [("out", k, io) for k, io in enumerate(outs)]
    lines = [
        f"/* Host test driver for {name}: generated by tinygen, host only (stdio, malloc). */",
        "#include <stdio.h>",
        "#include <stdlib.h>",
        "",
        f'#include "{manifest["header"]}"',
        "",
        "int main(int argc, char **argv)",
        "{",
        "    FILE *fin;",
        "    FILE *fout;",
        "    long sets = 0;",
        "    int status = 0;",
        *[decl(p, k, io) for p, k, io in bufs],
        "    if (argc != 3) {",
        '        fprintf(stderr, "usage: %s INPUTS.bin OUTPUTS.bin\\n", argv[0]);',
        "        return 2;",
        "    }",
        "    if (" + " || ".join(f"!{p}{k}" for p, k, _ in bufs) + ") {",
        '        fprintf(stderr, "out of memory\\n");',
        "        return 2;",
        "    }",
        '    fin = fopen(argv[1], "rb");',
        '    fout = fopen(argv[2], "wb");',
        "    if (!fin || !fout) {",
        '        fprintf(stderr, "cannot open the input or output file\\n");',
        "        return 2;",
        "    }",
        "    for (;;) {",
        "        size_t got;",
        "        int rc;",
    ]
    lines += [
        "        int c = getc(fin);",
        "        if (c == EOF) {",
        "            break;",
        "        }",
        "        (void)ungetc(c, fin);",
    ]
    for k, io in enumerate(ins):
        lines += [
            f"        got = fread(in{k}, sizeof *in{k}, {elems(io)}u, fin);",
            f"        if (got != {elems(io)}u) {{",
            '            fprintf(stderr, "input set %ld is incomplete\\n", sets);',
            "            status = 3;",
            "            break;",
            "        }",
        ]
    args = ", ".join([f"in{k}" for k in range(len(ins))] + [f"out{k}" for k in range(len(outs))])
    lines += [
        f"        rc = {manifest['invoke']}({args});",
        "        if (rc != 0) {",
        f'            fprintf(stderr, "{manifest["invoke"]} returned %d\\n", rc);',
        "            status = 4;",
        "            break;",
        "        }",
    ]
    for k, io in enumerate(outs):
        lines += [
            f"        if (fwrite(out{k}, sizeof *out{k}, {elems(io)}u, fout) != {elems(io)}u) {{",
            '            fprintf(stderr, "cannot write the outputs\\n");',
            "            status = 2;",
            "            break;",
            "        }",
        ]
    lines += [
        "        ++sets;",
        "    }",
        "    if (fclose(fout) != 0 && status == 0) {",
        "        status = 2;",
        "    }",
        "    (void)fclose(fin);",
        *[f"    free({p}{k});" for p, k, _ in bufs],
        "    return status;",
        "}",
        "",
    ]
    return "\n".join(lines)


def compile_executable(project: Path, exe: Path, extra_flags: list[str] | None = None,
                       cc: str | None = None, opt: str = "-O1") -> Path:
    """Build `project` with a driver_source() main() into a host program at `exe`."""
    project, exe = Path(project), Path(exe)
    manifest = json.loads((project / "tinygen.json").read_text())
    exe.parent.mkdir(parents=True, exist_ok=True)
    driver = exe.parent / f"{manifest['name']}_host_main.c"
    driver.write_text(driver_source(manifest))
    sources = [str(project / s) for s in manifest["sources"]] + [str(driver)]
    cmd = [cc or find_cc(), *WARNINGS, opt,
           *[f"-I{project / d}" for d in manifest["include_dirs"]],
           *(extra_flags or []), *sources, "-o", str(exe), "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ToolchainError(f"host build of {project} failed:\n{' '.join(cmd)}\n"
                             f"{r.stderr[-4000:]}")
    return exe


class HostExecutable:
    """A generated model built as a standalone host program (optionally sanitized)."""

    def __init__(self, project: Path, build_dir: Path, extra_flags: list[str] | None = None,
                 cc: str | None = None, sanitize: bool = False):
        self.project = Path(project)
        self.build_dir = Path(build_dir)
        self.manifest = json.loads((self.project / "tinygen.json").read_text())
        flags = (SANITIZE_FLAGS if sanitize else []) + list(extra_flags or [])
        self.env = dict(SANITIZE_ENV) if sanitize else {}
        self.exe = compile_executable(self.project,
                                      self.build_dir / f"{self.manifest['name']}_host", flags, cc)

    def invoke_many(self, input_sets: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
        """Run every input set in one process; return the outputs of each."""
        specs_in, specs_out = self.manifest["inputs"], self.manifest["outputs"]
        blob = b"".join(np.ascontiguousarray(x, dtype=NP_DTYPES[s["dtype"]]).reshape(s["shape"])
                        .tobytes() for xs in input_sets for s, x in zip(specs_in, xs))
        fin, fout = self.build_dir / "inputs.bin", self.build_dir / "outputs.bin"
        fin.write_bytes(blob)
        r = subprocess.run([str(self.exe), str(fin), str(fout)], capture_output=True, text=True,
                           env={**os.environ, **self.env}, timeout=600)
        if r.returncode != 0:
            raise RuntimeError(f"{self.exe.name} exited with status {r.returncode}:\n"
                               f"{r.stderr[-6000:]}")
        data = fout.read_bytes()
        results, pos = [], 0
        for _ in input_sets:
            outs = []
            for s in specs_out:
                dt = np.dtype(NP_DTYPES[s["dtype"]])
                n = int(np.prod(s["shape"], dtype=np.int64))
                outs.append(np.frombuffer(data, dtype=dt, count=n, offset=pos)
                            .reshape(s["shape"]).copy())
                pos += n * dt.itemsize
            results.append(outs)
        if pos != len(data):
            raise RuntimeError(f"{self.exe.name} wrote {len(data)} bytes, expected {pos}")
        return results

    def invoke(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        return self.invoke_many([inputs])[0]
