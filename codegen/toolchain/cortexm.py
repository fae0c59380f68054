"""Cortex-M builds: cross-compile with arm-none-eabi-gcc, measure, and run on QEMU.

`tinygen verify MODEL --target cortex-m4` (codegen/verify.py, its Cortex-M runner)
builds the model's project, generated for the target, with a harness program
that holds the random input vectors (`harness_source`), tinygen's own startup
code and linker script for the emulated MPS2+ AN386 board
(runtime_c/boards/mps2_an386/), and runs it under `qemu-system-arm -M mps2-an386`
with semihosting.  The program prints every output tensor in hex on the host's
stdout (`parse_outputs` reads it back); verify compares it with TFLM's outputs
exactly as on the host, so both print the same table.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codegen.cnames import array_body
from codegen.emit.render import template_env
from codegen import progress
from codegen.profile import PROFILE_TAG, ProfileReport, qemu_flags
from codegen.errors import TinygenError, ToolchainError
from codegen import resources
from codegen.targets import available_targets, load_target
from codegen.toolchain.host import NP_DTYPES, WARNINGS, cmsis_nn_root
from codegen.toolchain.linksize import (COMPILE_FLAGS, PREFIX, ObjectSizes, defined_globals,
                                        linked_sizes)

BOARDS_DIR = resources.boards_dir()
QEMU = "qemu-system-arm"
INSTALL_HINT = ("install them from Debian's packages: sudo apt-get install gcc-arm-none-eabi "
                "libnewlib-arm-none-eabi qemu-system-arm (or run setup.sh as root)")
VERIFY_TAG = "TGV"
HEX_CHUNK = 48        # output bytes per semihosting write


# ---------------------------------------------------------------- tools
def _newlib_present() -> bool:
    gcc = shutil.which(PREFIX + "gcc")
    if gcc is None:
        return False
    r = subprocess.run([gcc, "-print-file-name=libc_nano.a"], capture_output=True, text=True)
    return r.returncode == 0 and Path(r.stdout.strip()).is_file()


def missing_packages(need_qemu: bool = True) -> list[str]:
    """Debian packages whose programs tinygen's Cortex-M builds (and runs) need but cannot find."""
    missing = []
    if not shutil.which(PREFIX + "gcc") or not shutil.which(PREFIX + "size"):
        missing.append("gcc-arm-none-eabi")
    if not _newlib_present():
        missing.append("libnewlib-arm-none-eabi")
    if need_qemu and not shutil.which(QEMU):
        missing.append("qemu-system-arm")
    return missing


def require_tools(need_qemu: bool = True, what: str = "this") -> None:
    missing = missing_packages(need_qemu)
    if missing:
        raise ToolchainError(f"{what} needs {', '.join(missing)}, which is not installed: "
                             f"{INSTALL_HINT}")


def toolchain_version() -> str:
    r = subprocess.run([PREFIX + "gcc", "-dumpfullversion"], capture_output=True, text=True)
    return f"{PREFIX}gcc {r.stdout.strip() or '?'}"


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd)
    if r.returncode != 0:
        raise ToolchainError(f"{what} failed:\n{' '.join(cmd)}\n{(r.stdout + r.stderr)[-4000:]}")
    return r


@dataclass
class CmsisNNSources:
    """The CMSIS-NN sources a project calls (tinygen.json `cmsis_nn`), in the user's folder."""

    root: Path
    include_dirs: list[str]
    sources: list[str]

    @classmethod
    def of(cls, manifest: dict, cmsis_nn: str | Path | None = None) -> "CmsisNNSources | None":
        """For a project's manifest: None if it calls no CMSIS-NN, else the checked folder
        (cmsis_nn, or $CMSIS_NN_PATH; it must be the release the project was made for)."""
        entry = manifest.get("cmsis_nn")
        if not entry:
            return None
        return cls(cmsis_nn_root(entry, cmsis_nn), list(entry["include_dirs"]),
                   list(entry["sources"]))

    @property
    def include_flags(self) -> list[str]:
        # -isystem: tinygen's strict warnings are for its own code, not CMSIS-NN's headers
        return [f"-isystem{self.root / d}" for d in self.include_dirs]


# CMSIS-NN's own sources build with its own, looser flags (as codegen/toolchain/host.py does).
CMSIS_NN_FLAGS = ["-std=c99"]


def compile_objects(project: Path, sources: list[str], build_dir: Path, target: dict,
                    extra_flags: list[str] | None = None, werror: bool = True,
                    cmsis: CmsisNNSources | None = None) -> list[Path]:
    """Compile each source of `project` into build_dir (one compiler run); return the objects."""
    build_dir.mkdir(parents=True, exist_ok=True)
    flags = [*WARNINGS] if werror else [f for f in WARNINGS if f != "-Werror"]
    cmd = [PREFIX + "gcc", *flags, *target["cpu_flags"], *COMPILE_FLAGS,
           f"-I{project}", *(cmsis.include_flags if cmsis else []), *(extra_flags or []),
           "-c", *[str(project / s) for s in sources]]
    _run(cmd, f"cross-compiling {project} for {target['name']}", cwd=build_dir)
    return [build_dir / (Path(s).stem + ".o") for s in sources]


def compile_cmsis_nn(cmsis: CmsisNNSources, build_dir: Path, target: dict,
                     extra_flags: list[str] | None = None) -> list[Path]:
    """Cross-compile the CMSIS-NN sources a project uses (its code path follows -mcpu)."""
    out = build_dir / "cmsis_nn"
    out.mkdir(parents=True, exist_ok=True)
    cmd = [PREFIX + "gcc", *CMSIS_NN_FLAGS, *target["cpu_flags"], *COMPILE_FLAGS,
           *[f"-I{cmsis.root / d}" for d in cmsis.include_dirs], *(extra_flags or []),
           "-c", *[str(cmsis.root / s) for s in cmsis.sources]]
    _run(cmd, f"cross-compiling CMSIS-NN ({cmsis.root}) for {target['name']}", cwd=out)
    return [out / (Path(s).stem + ".o") for s in cmsis.sources]


# ---------------------------------------------------------------- measuring
def object_sizes(obj: Path) -> ObjectSizes:
    r = _run([PREFIX + "size", "-A", str(obj)], f"measuring {obj.name}")
    s = ObjectSizes()
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        sec, size = parts[0], int(parts[1])
        if sec.startswith((".text", ".ARM.exidx", ".ARM.extab")):
            s.code += size
        elif sec.startswith(".rodata"):
            s.rodata += size
        elif sec.startswith(".data"):
            s.data += size
        elif sec.startswith((".bss", "COMMON")):
            s.bss += size
    return s


_NODE = re.compile(r'node: \{ title: "([^"]+)" label: "[^"]*?\\n(\d+) bytes \(([a-z,]+)\)"')
_NODE_ANY = re.compile(r'node: \{ title: "([^"]+)"')
_EDGE = re.compile(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"')
EXTERNAL_FRAME = 32   # stack allowed for a library function without -fcallgraph-info data
# the frames of runtime_c's hand-written assembly functions (GCC writes no -fcallgraph-info
# node for them): tg_dsp_gemm_2x3_thumb2 and tg_dsp_gemm_2x3_rows_thumb2 push r4-r11, lr
# and a 27-word frame, tg_dsp_conv_2x2_thumb2 r4-r11, lr and a 14-word frame;
# tg_dsp_dw_3x3_thumb2 r4-r11, lr and 18 words,
# tg_dsp_dw_px3_thumb2 r4-r11, lr and 8 words, tg_dsp_dw_fill4_thumb2 r4-r11, lr and 4 words
ASM_FRAMES = {"tg_dsp_gemm_2x3_thumb2": 9 * 4 + 31 * 4,
              "tg_dsp_gemm_2x3_rows_thumb2": 9 * 4 + 31 * 4,
              "tg_dsp_conv_2x2_thumb2": 9 * 4 + 14 * 4,
              "tg_dsp_dw_3x3_thumb2": 9 * 4 + 18 * 4,
              "tg_dsp_dw_px3_thumb2": 9 * 4 + 8 * 4,
              "tg_dsp_dw_fill4_thumb2": 9 * 4 + 4 * 4}


def stack_depth(ci_files: list[Path], roots: list[str]) -> tuple[int, bool]:
    """Deepest stack from `roots` through the call graph GCC wrote (-fcallgraph-info=su).

    Returns (bytes, exact): exact is False when a frame is dynamic, a callee is outside the
    compiled files (libc's memcpy: counted as EXTERNAL_FRAME) or the graph has a cycle.
    """
    frame: dict[str, int] = dict(ASM_FRAMES)
    dynamic: set[str] = set()
    calls: dict[str, set[str]] = {}
    known: set[str] = set()
    for path in ci_files:
        text = path.read_text(errors="replace")
        for m in _NODE.finditer(text):
            frame[m.group(1)] = int(m.group(2))
            if m.group(3) != "static":
                dynamic.add(m.group(1))
        for m in _NODE_ANY.finditer(text):
            known.add(m.group(1))
        for m in _EDGE.finditer(text):
            calls.setdefault(m.group(1), set()).add(m.group(2))
    exact = not dynamic
    memo: dict[str, int] = {}

    def depth(fn: str, path: tuple[str, ...]) -> int:
        nonlocal exact
        if fn in path:
            exact = False
            return 0
        if fn in memo:
            return memo[fn]
        if fn not in frame:
            exact = False
            own = EXTERNAL_FRAME
        else:
            own = frame[fn]
        deepest = max((depth(c, path + (fn,)) for c in calls.get(fn, ())), default=0)
        memo[fn] = own + deepest
        return memo[fn]

    return max((depth(r, ()) for r in roots if r in known), default=0), exact


def measure_library(project: Path, sources: list[str], target: dict, name: str,
                    selftest_sources: list[str], cmsis: CmsisNNSources | None = None,
                    root_sources: list[str] | None = None) -> dict:
    """Section sizes and stack depth of the model library, cross-compiled for `target`.

    per_file maps each source (CMSIS-NN's as 'cmsis_nn/<path>') to its ObjectSizes (every
    section of its object); linked maps the same names (and C library members, as
    'toolchain:<archive(member)>') to what a --gc-sections link keeps of them when the
    application calls the public functions of `root_sources` (linksize.linked_sizes).
    """
    with tempfile.TemporaryDirectory(prefix="tinygen-size-") as tmp:
        ci = ["-fcallgraph-info=su"]
        objs = compile_objects(project, sources, Path(tmp), target, extra_flags=ci,
                               werror=False, cmsis=cmsis)
        per_file = {s: object_sizes(o) for s, o in zip(sources, objs)}
        names = {str(o): s for s, o in zip(sources, objs)}
        if cmsis:
            cobjs = compile_cmsis_nn(cmsis, Path(tmp), target, extra_flags=ci)
            per_file.update({f"cmsis_nn/{s}": object_sizes(o)
                             for s, o in zip(cmsis.sources, cobjs)})
            names.update({str(o): f"cmsis_nn/{s}" for s, o in zip(cmsis.sources, cobjs)})
            objs = objs + cobjs
        linked = None
        if root_sources is not None:
            lib_objs = [o for s, o in zip(sources, objs) if s not in selftest_sources]
            lib_objs += objs[len(sources):]
            roots = [g for s, o in zip(sources, objs) if s in root_sources
                     for g in defined_globals(o)]
            linked = {names.get(f, f"toolchain:{Path(f).name}"): v for f, v in
                      linked_sizes(lib_objs, target, Path(tmp) / "link", roots).items()}
        cis = [o.with_suffix(".ci") for o in objs if o.with_suffix(".ci").is_file()]
        stack, stack_exact = stack_depth(cis, [f"{name}_invoke"])
        st_stack = 0
        if selftest_sources:
            st_stack, _ = stack_depth(cis, [f"{name}_selftest"])
    return dict(per_file=per_file, linked=linked, stack=stack, stack_exact=stack_exact,
                selftest_stack=st_stack, tool=toolchain_version(),
                flags=" ".join(target["cpu_flags"] + COMPILE_FLAGS))


# ---------------------------------------------------------------- emulated boards
def emulated_board(target: dict) -> dict:
    """The emulated board that runs code built for `target` (same core)."""
    if target.get("qemu_machine"):
        return target
    core = target.get("core_name", target["name"])
    boards = []
    for name in available_targets():
        t = load_target(name)
        if t.get("qemu_machine"):
            boards.append(t)
            if t["core_name"] == core:
                return t
    have = ", ".join(f"{b['name']} ({b['core_name']})" for b in boards) or "none"
    raise TinygenError(f"no emulated board runs {core} code; verify on the emulator supports "
                       f"the cores of: {have}.  Build for {target['name']} with the generated "
                       "Makefile or CMakeLists.txt and run the self-test (--selftest N) on "
                       "your board instead.")


def link_for_board(objects: list[Path], board: dict, target: dict, out: Path,
                   link_flags: list[str] | None = None) -> Path:
    """Link objects with the board's startup code and linker script into an ELF."""
    support = BOARDS_DIR / board["board_support"]
    startup = out.parent / "tg_board_startup.o"
    _run([PREFIX + "gcc", *WARNINGS, *target["cpu_flags"], *COMPILE_FLAGS, f"-I{support}",
          "-c", str(support / "startup.c"), "-o", str(startup)], "compiling the board startup")
    script = support / board.get("linker_script", "mps2.ld")
    _run([PREFIX + "gcc", *target["cpu_flags"], "-nostartfiles", "--specs=nano.specs",
          f"-L{support}", f"-T{script}", "-Wl,--gc-sections", str(startup), *map(str, objects),
          "-lm", *(link_flags or []), "-o", str(out)], f"linking {out.name}")
    return out


def run_on_emulator(elf: Path, board: dict, timeout: float = 300.0,
                    qemu_args: list[str] | None = None) -> subprocess.CompletedProcess:
    """Run an ELF on the board's emulator; stdout carries the semihosting output."""
    cmd = [QEMU, "-M", board["qemu_machine"], "-display", "none", "-monitor", "none",
           "-serial", "null", "-semihosting-config", "enable=on,target=native",
           *(qemu_args or []), "-kernel", str(elf)]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ToolchainError(f"{elf.name} did not finish on {board['qemu_machine']} within "
                             f"{timeout:.0f} s") from None


def build_program_elf(project: Path, lib_sources: list[str], main_sources: list[Path],
                      target: dict, build_dir: Path, defines: list[str] | None = None,
                      name: str = "program",
                      cmsis: CmsisNNSources | None = None) -> tuple[Path, dict]:
    """Library (+ CMSIS-NN) + main sources + board support -> ELF for the emulated board."""
    board = emulated_board(target)
    objs = compile_objects(project, lib_sources, build_dir / "lib", target, cmsis=cmsis)
    if cmsis:
        objs += compile_cmsis_nn(cmsis, build_dir, target)
    main_objs = []
    for src in main_sources:
        o = build_dir / (src.stem + ".o")
        _run([PREFIX + "gcc", *WARNINGS, *target["cpu_flags"], *COMPILE_FLAGS,
              f"-I{project}", f"-I{BOARDS_DIR / board['board_support']}",
              *(cmsis.include_flags if cmsis else []),
              *[f"-D{d}" for d in (defines or [])], "-c", str(src), "-o", str(o)],
             f"compiling {src.name}")
        main_objs.append(o)
    elf = link_for_board(main_objs + objs, board, target, build_dir / f"{name}.elf")
    return elf, board


def run_selftest_on_emulator(project: Path, target: str | dict, timeout: float = 300.0,
                             cmsis_nn: str | Path | None = None) -> int:
    """Build a generated project's example (its golden self-test) for the emulated board of
    its target, run it, and return its exit status (0 = every output bit-exact)."""
    t = load_target(target) if isinstance(target, str) else target
    require_tools(what="running the self-test on the emulator")
    manifest = json.loads((project / "tinygen.json").read_text())
    cmsis = CmsisNNSources.of(manifest, cmsis_nn)
    with tempfile.TemporaryDirectory(prefix="tinygen-selftest-") as tmp:
        elf, board = build_program_elf(project, manifest["sources"],
                                       [project / "example_main.c"], t, Path(tmp),
                                       defines=["TINYGEN_EXAMPLE_MAIN"], name="selftest",
                                       cmsis=cmsis)
        return run_on_emulator(elf, board, timeout).returncode


# ---------------------------------------------------------------- verify
def parse_outputs(stdout: str, manifest: dict, count: int) -> list[list[np.ndarray]]:
    """The outputs the verify program printed: [vector][output] arrays."""
    got: dict[tuple[int, int], np.ndarray] = {}
    done = False
    for line in stdout.splitlines():
        parts = line.strip().split()
        if not parts or parts[0] != VERIFY_TAG:
            continue
        if parts[1] == "END":
            done = True
        elif parts[1] == "ERR":
            raise TinygenError(f"{manifest['invoke']} returned {parts[3]} on input vector "
                               f"{parts[2]} on the emulator")
        else:
            v, k = int(parts[1]), int(parts[2])
            spec = manifest["outputs"][k]
            data = bytes.fromhex(parts[3] if len(parts) > 3 else "")
            got[(v, k)] = np.frombuffer(data, dtype=NP_DTYPES[spec["dtype"]]).reshape(spec["shape"])
    if not done:
        raise TinygenError("the verify program stopped before printing every output")
    n_out = len(manifest["outputs"])
    missing = [(v, k) for v in range(count) for k in range(n_out) if (v, k) not in got]
    if missing:
        raise TinygenError(f"the verify program printed no output for (vector, output) {missing[:4]}")
    return [[got[(v, k)] for k in range(n_out)] for v in range(count)]


def harness_source(gen, manifest: dict, vectors: list[list[np.ndarray]],
                   profile: bool = False) -> str:
    """C source of the verify program: `vectors` as input arrays, every output printed in hex
    (and, with `profile`, each layer's count)."""
    inputs, seen = [], set()
    for k, spec in enumerate(manifest["inputs"]):
        if spec["cname"] in seen:
            continue
        seen.add(spec["cname"])
        ctype = gen.program.graph.tensors[gen.program.graph.inputs[k]].ctype
        inputs.append(dict(cname=spec["cname"], ctype=ctype, pos=k,
                           elements=int(np.prod(spec["shape"], dtype=np.int64)),
                           vectors=[array_body(np.asarray(vec[k]).reshape(-1), ctype,
                                               indent=" " * 8) for vec in vectors]))
    outputs = []
    for k, spec in enumerate(manifest["outputs"]):
        ctype = gen.program.graph.tensors[gen.program.graph.outputs[k]].ctype
        outputs.append(dict(cname=spec["cname"], ctype=ctype,
                            elements=int(np.prod(spec["shape"], dtype=np.int64))))
    args = [f"verify_{i['cname']}[v]" for i in inputs] + [f"verify_out_{o['cname']}" for o in outputs]
    io_in_arena = bool(manifest.get("io_in_arena"))
    if io_in_arena:    # the inputs copied to, the outputs read from, the arena's bytes
        name = manifest["name"]
        args = ([f"(const {i['ctype']} *){name}_input({i['pos']}u)" for i in inputs] +
                [f"({o['ctype']} *){name}_output({k}u)" for k, o in enumerate(outputs)])
    return template_env().get_template("cortexm/verify_main.c.j2").render(
        io_in_arena=io_in_arena,
        name=manifest["name"], NAME=manifest["name"].upper(), header=manifest["header"],
        count=len(vectors), inputs=inputs, outputs=outputs, call_args=", ".join(args),
        tag=VERIFY_TAG, chunk=HEX_CHUNK, profile=profile, profile_tag=PROFILE_TAG)


def flash_used(elf: Path) -> int:
    """Bytes of flash an ELF for the emulated board takes: code, constants, .data image."""
    r = _run([PREFIX + "size", "-A", str(elf)], f"measuring {elf.name}")
    used = 0
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1].isdigit() and parts[0] in (".text", ".ARM.exidx",
                                                                    ".data"):
            used += int(parts[1]) + 8      # each section may be padded to 8 bytes
    return used


class EmulatorRuns:
    """Builds and runs the verify program for a list of input vectors on the emulated board,
    in as many runs as needed: the vectors live in flash, so a large model with many vectors
    does not fit in one program, and a run is kept to about RUN_MACS multiply-accumulates
    so that none comes near the emulator's timeout and progress shows between runs.

    The library is compiled once.  When the objects' file sizes (an upper bound of what they
    put in flash) leave no doubt that everything fits, there is one run; otherwise a probe
    program with one vector is linked to measure the code and constants, and the rest of
    the flash sets the vectors per run.  The plan depends only on the model and the board.
    """

    SLACK = 64                  # bytes kept free per run for alignment between input arrays
    RUNTIME_ALLOWANCE = 64 << 10  # startup code, libc/libgcc functions, harness code
    RUN_MACS = 200_000_000      # well under a minute of emulation per run, portable kernels

    def __init__(self, gen, manifest: dict, target: dict, board: dict, build: Path,
                 cmsis: CmsisNNSources | None, profile: bool = False,
                 flash_bytes: int | None = None, timeout: float = 300.0):
        self.gen, self.manifest, self.target, self.board = gen, manifest, target, board
        self.build, self.cmsis, self.profile, self.timeout = build, cmsis, profile, timeout
        self.flash_limit = int(flash_bytes or board["flash_bytes"])
        self.link_flags = [f"-Wl,--defsym=__flash_bytes={self.flash_limit}"] if flash_bytes else []
        support = BOARDS_DIR / board["board_support"]
        # the profiled build times layers with the board's timer (tg_board_profile.h)
        timer = board.get("profile_timer")
        self.defines = ([f"-I{support}", '-DTG_PROFILE_CONFIG="tg_board_profile.h"',
                         f"-DTG_BOARD_TIMER0_BASE={int(timer):#010x}u"]
                        if profile and timer is not None
                        and (support / "tg_board_profile.h").is_file() else [])
        if profile and not self.defines:
            raise TinygenError(f"--profile: the emulated board {board['name']} has no "
                               "profiling timer (no profile_timer in its board file); "
                               "profile on a board that has one, e.g. --target cortex-m4, "
                               "cortex-m7 or cortex-m33")
        self.name = manifest["name"]
        self.objects: list[Path] = []
        self.plan: list[tuple[int, int]] = []
        self.per_run = 0
        self.split_reason = ""

    def _library(self) -> None:
        progress.note(f"verify: cross-compiling {self.name} for {self.target['name']}")
        self.objects = compile_objects(self._project, self.manifest["sources"],
                                       self.build / "lib", self.target,
                                       extra_flags=self.defines, cmsis=self.cmsis)
        if self.cmsis:
            self.objects += compile_cmsis_nn(self.cmsis, self.build, self.target)

    @property
    def _project(self) -> Path:
        return Path(self.gen.out_dir)

    def elf(self, vectors: list[list[np.ndarray]], suffix: str = "",
            probe: bool = False) -> Path:
        """The verify program for these vectors (a probe is linked without the flash cap,
        to measure it)."""
        src = self.build / f"tinygen_verify_main{suffix}.c"
        src.write_text(harness_source(self.gen, self.manifest, vectors, profile=self.profile))
        obj = src.with_suffix(".o")
        support = BOARDS_DIR / self.board["board_support"]
        _run([PREFIX + "gcc", *WARNINGS, *self.target["cpu_flags"], *COMPILE_FLAGS,
              f"-I{self._project}", f"-I{support}",
              *(self.cmsis.include_flags if self.cmsis else []), *self.defines,
              "-c", str(src), "-o", str(obj)], f"compiling {src.name}")
        return link_for_board([obj, *self.objects], self.board, self.target,
                              self.build / f"{self.name}_verify{suffix}.elf",
                              link_flags=[] if probe else self.link_flags)

    def vector_bytes(self, vector: list[np.ndarray]) -> int:
        seen, total = set(), 0
        for spec, x in zip(self.manifest["inputs"], vector):
            if spec["cname"] not in seen:
                seen.add(spec["cname"])
                total += int(np.asarray(x).nbytes)
        return total

    def plan_runs(self, vectors: list[list[np.ndarray]]) -> None:
        """Split the vectors into runs that fit the flash (and RUN_MACS)."""
        n = len(vectors)
        vec_bytes = max(1, self.vector_bytes(vectors[0]))
        upper = sum(o.stat().st_size for o in self.objects) + self.RUNTIME_ALLOWANCE
        if upper + n * (vec_bytes + self.SLACK) <= self.flash_limit:
            per_flash = n
        else:
            probe = self.elf(vectors[:1], suffix="_probe", probe=True)
            used = flash_used(probe)
            free = self.flash_limit - used - self.SLACK
            if free < 0:
                raise TinygenError(
                    f"the verify program for {self.name} needs about {used:,} bytes of flash "
                    f"with a single input vector, more than the {self.flash_limit:,} bytes of "
                    f"the emulated {self.board['name']}: the model itself is too large to "
                    "verify on it")
            per_flash = 1 + free // vec_bytes
        per_time = max(1, self.RUN_MACS // max(1, int(self.gen.program.macs)))
        per = max(1, min(n, per_flash, per_time))
        self.split_reason = ("they do not all fit in the "
                             f"{self.flash_limit:,} bytes of {self.board['name']}'s flash"
                             if per_flash < n else
                             f"at most {per_time} inferences of this model per run")
        self.per_run = per
        self.plan = [(a, min(a + per, n)) for a in range(0, n, per)]

    def run(self, elf: Path, count: int):
        r = run_on_emulator(elf, self.board, self.timeout,
                            qemu_args=qemu_flags() if self.profile else None)
        stdout = r.stdout.decode("ascii", "replace")
        if r.returncode != 0:
            tail = (stdout + r.stderr.decode("ascii", "replace"))[-2000:]
            raise TinygenError(f"the verify program failed on {self.board['qemu_machine']} "
                               f"(exit status {r.returncode}):\n{tail}")
        return parse_outputs(stdout, self.manifest, count), stdout

    def run_all(self, vectors: list[list[np.ndarray]]):
        """Outputs of every vector, in order, and the ProfileReport (None without profile)."""
        self._library()
        self.plan_runs(vectors)
        prof = ProfileReport.for_manifest(self.manifest) if self.profile else None
        gots: list[list[np.ndarray]] = []
        for r, (a, b) in enumerate(self.plan):
            where = f" {r + 1}/{len(self.plan)}" if len(self.plan) > 1 else ""
            progress.note(f"verify: emulator run{where} ({self.board['qemu_machine']}), "
                          f"vectors {a + 1}-{b} of {len(vectors)}")
            elf = self.elf(vectors[a:b], suffix=f"_{r + 1}" if len(self.plan) > 1 else "")
            got, stdout = self.run(elf, b - a)
            gots += got
            if prof is not None:
                prof.add_run([line.split() for line in stdout.splitlines()
                              if line.startswith(PROFILE_TAG + " ")])
        return gots, prof


def float_ulp_distance(got: np.ndarray, want: np.ndarray) -> int:
    """Largest distance in units in the last place between two float32 arrays."""
    def ordered(a: np.ndarray) -> np.ndarray:
        bits = np.ascontiguousarray(a, dtype=np.float32).view(np.int32).astype(np.int64)
        return np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)
    return int(np.max(np.abs(ordered(got) - ordered(want)), initial=0))


def libm_notes(project: Path, manifest: dict, target: dict, gots, wants) -> list[str]:
    """Explain float mismatches that come from the C library's math functions.

    TFLM's float kernels (e.g. LOG_SOFTMAX) call expf/logf.  The reference runs on the
    host with glibc; on the device the generated code, like TFLM built for that core,
    gets newlib's.  newlib uses the same algorithms as glibc only where it has a
    double-precision FPU; elsewhere its own single-precision functions round
    differently in the last place.
    """
    uses_libm = any("#include <math.h>" in (project / s).read_text(errors="replace")
                    for s in manifest["sources"])
    float_k = [k for k, o in enumerate(manifest["outputs"]) if o["dtype"] == "float32"]
    other_bad = any(not np.array_equal(np.asarray(g[k]), np.asarray(w[k]))
                    for g, w in zip(gots, wants) for k in range(len(manifest["outputs"]))
                    if k not in float_k)
    if not uses_libm or not float_k or other_bad or target.get("has_double_fpu", True):
        return []
    ulp = max(float_ulp_distance(g[k], w[k]) for g, w in zip(gots, wants) for k in float_k)
    text = (f"float outputs differ by at most {ulp} ULP, and only those. They go through the "
            "C library's math functions (expf, logf...): the reference used the host's "
            f"(glibc), this {target['name']} build newlib's single-precision ones (a core "
            "without a double-precision FPU), which round differently in the last place. "
            "TFLM built for this core calls the same newlib functions.")
    return ["\n        ".join(textwrap.wrap(text, 90))]
