"""Arm's CMSIS-NN as a kernel library: find the user's copy, check its version, plan its use.

tinygen never ships or copies CMSIS-NN.  The user points at a CMSIS-NN folder
(`--cmsis-nn PATH`, or the CMSIS_NN_PATH environment variable); tinygen reads
its release from the headers, refuses releases it does not support, computes
each call's scratch buffer size with CMSIS-NN's own `*_get_buffer_size`
functions built on the host, and records in tinygen.json which of its
sources the generated project needs (paths relative to the CMSIS-NN root).
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from codegen.cmsis_nn.buffer_sizes import buffer_size
from codegen.cmsis_nn.common import ARCHS, CmsisNNError
from codegen.cmsis_nn.sources import index_sources

ENV_VAR = "CMSIS_NN_PATH"
LIBRARY = "cmsis-nn"          # the kernel library name used by lowerings and tinygen.json
HEADER = "Include/arm_nnfunctions.h"
INCLUDE_DIRS = ["Include"]

# `$Revision` of Include/arm_nnfunctions.h in each CMSIS-NN release (read from the release tags).
RELEASES: list[tuple[tuple[int, int, int], str]] = [
    ((11, 2, 0), "4.0.0"),
    ((11, 3, 0), "4.1.0"),
    ((12, 4, 0), "5.0.0"),
    ((16, 0, 0), "6.0.0"),
    ((18, 0, 0), "7.0.0"),
]
OLDEST_SUPPORTED = (18, 0, 0)       # v7.0.0
NEWEST_TESTED = (19, 1, 0)          # main after v7.0.0, checked bit-exact with tinygen

# The functions the lowerings call; a copy lacking one is not a CMSIS-NN tinygen can use.
REQUIRED_API = ("arm_fully_connected_s8", "arm_fully_connected_per_channel_s8", "arm_softmax_s8",
                "arm_fully_connected_s8_get_buffer_size_mve")

# ARCHS (codegen/cmsis_nn/common.py): CMSIS-NN's code paths "c", "dsp" and "mve".
_CORE_ARCH = {"cortex-m0": "c", "cortex-m0plus": "c", "cortex-m0+": "c", "cortex-m1": "c",
              "cortex-m3": "c", "cortex-m23": "c", "cortex-m4": "dsp", "cortex-m7": "dsp",
              "cortex-m33": "dsp", "cortex-m35p": "dsp", "cortex-m52": "mve",
              "cortex-m55": "mve", "cortex-m85": "mve"}


_INDEXES: dict[tuple, object] = {}    # (root, revision) -> SourceIndex, scanned once per process


def _version_str(rev: tuple[int, int, int]) -> str:
    return "V." + ".".join(str(x) for x in rev)


def release_of(revision: tuple[int, int, int]) -> str:
    """A human name of the release a header revision belongs to."""
    for rev, name in RELEASES:
        if rev == revision:
            return name
    older = [name for rev, name in RELEASES if rev < revision]
    if not older:
        return f"older than {RELEASES[0][1]}"
    return f"newer than {older[-1]}"


def read_revision(header: Path) -> tuple[int, int, int] | None:
    try:
        head = header.read_text(errors="replace")[:4000]
    except OSError:
        return None
    m = re.search(r"\$Revision:\s*V\.?\s*(\d+)\.(\d+)\.(\d+)", head)
    return (int(m.group(1)), int(m.group(2)), int(m.group(3))) if m else None


def _hint_for(path: Path) -> str:
    """A suggestion when PATH is not a CMSIS-NN root but holds one."""
    for sub in ("CMSIS-NN", "CMSIS/NN", "cmsis-nn", "CMSIS_NN"):
        if (path / sub / HEADER).is_file():
            return f" (did you mean {path / sub}?)"
    if path.name == "Include" and (path.parent / HEADER).is_file():
        return f" (give the CMSIS-NN root, {path.parent}, not its Include folder)"
    return ""


@dataclass
class CmsisNN:
    """One CMSIS-NN folder, checked: its root, header revision and release."""

    root: Path
    revision: tuple[int, int, int]
    warnings: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        """The release, e.g. '7.0.0', or 'newer than 7.0.0' for a development snapshot."""
        return release_of(self.revision)

    @property
    def revision_str(self) -> str:
        return _version_str(self.revision)

    def describe(self) -> str:
        return f"CMSIS-NN {self.version} (arm_nnfunctions.h {self.revision_str})"

    @property
    def _index(self):
        key = (str(self.root), self.revision)
        if key not in _INDEXES:
            _INDEXES[key] = index_sources(self.root)
        return _INDEXES[key]

    def sources_for(self, functions: list[str]) -> list[str]:
        """Relative paths of the CMSIS-NN sources that define `functions` and what they call."""
        try:
            return self._index.closure(sorted(set(functions)))
        except KeyError as e:
            raise CmsisNNError(f"{self.describe()} at {self.root} defines no "
                               f"{e.args[0]} in Source/") from None

    def manifest(self, functions: list[str]) -> dict:
        """The tinygen.json entry of a project calling `functions` (nothing machine-specific)."""
        return dict(version=self.version, header_revision=self.revision_str,
                    path_variable=ENV_VAR, include_dirs=list(INCLUDE_DIRS),
                    functions=sorted(set(functions)), sources=self.sources_for(functions))

    def backend(self, target: dict) -> "CmsisNNBackend":
        return CmsisNNBackend(self, cmsis_arch(target))


@dataclass
class CmsisNNBackend:
    """CMSIS-NN for one target: which of its code paths runs, and that path's buffer sizes."""

    lib: CmsisNN
    arch: str            # one of ARCHS

    name = LIBRARY

    @property
    def warnings(self) -> list[str]:
        return self.lib.warnings

    def manifest(self, functions: list[str]) -> dict:
        """tinygen.json's record of what a build of the project needs from CMSIS-NN."""
        return dict(self.lib.manifest(functions), code_path=self.arch)

    def buffer_size(self, function: str, *args) -> int:
        """Bytes of scratch buffer CMSIS-NN's `function` needs on this target's code path.

        `function` names a CMSIS-NN kernel with a `<kernel>_get_buffer_size`; `args` are the
        get_buffer_size arguments, each struct given as the dict of its fields (as the
        lowerings emit them) and dims as (n, h, w, c).
        """
        return buffer_size(self.lib, self.arch, function, *args)


def cmsis_arch(target: dict) -> str:
    """The CMSIS-NN code path a target's build compiles: 'c', 'dsp' or 'mve'.

    A target may say so itself (`cmsis_nn_arch` in its TOML); otherwise it follows from the
    core (`cpu`, `mcpu`, `core`, `name` or a `-mcpu=` in `cflags`): the host and cores without
    the DSP extension run the portable C path; `+nodsp` / `+nomve` modifiers are honoured.
    """
    arch = target.get("cmsis_nn_arch")
    if arch is None and target.get("kind") == "host":
        arch = "c"
    if arch is None:
        flags = [f.split("=", 1)[1] for f in target.get("cflags", []) + target.get("flags", [])
                 if isinstance(f, str) and f.startswith("-mcpu=")]
        for value in [target.get(k) for k in ("cpu", "mcpu", "core", "name")] + flags:
            if isinstance(value, str):
                core, *mods = value.lower().split("+") if value.lower() != "cortex-m0+" \
                    else ("cortex-m0plus",)
                if core in _CORE_ARCH:
                    arch = _CORE_ARCH[core]
                    if "nomve" in mods and arch == "mve":
                        arch = "dsp"
                    if "nodsp" in mods:
                        arch = "c"
                    break
        core = target.get("core_target")
        if arch is None and isinstance(core, dict):
            return cmsis_arch(core)
    if arch not in ARCHS:
        raise CmsisNNError(
            f"target '{target.get('name')}' does not say which CMSIS-NN code path it builds; "
            f"set cmsis_nn_arch = \"c\", \"dsp\" or \"mve\" in its TOML file")
    return arch


def locate(path: str | os.PathLike | None = None, env: dict | None = None) -> CmsisNN:
    """Check a CMSIS-NN folder (PATH, else $CMSIS_NN_PATH) and return it.

    Raises CmsisNNError naming what is wrong: no path given, no CMSIS-NN there,
    an unreadable version, or a release older than v7.0.0.
    """
    env = os.environ if env is None else env
    if path is None or str(path) == "":
        path = env.get(ENV_VAR) or None
    if path is None:
        raise CmsisNNError(f"no CMSIS-NN given: pass --cmsis-nn PATH or set {ENV_VAR} to a "
                           "CMSIS-NN folder (https://github.com/ARM-software/CMSIS-NN, v7.0.0 "
                           "or newer)")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise CmsisNNError(f"CMSIS-NN folder {root} does not exist")
    header = root / HEADER
    if not header.is_file() or not (root / "Source").is_dir():
        raise CmsisNNError(f"{root} is not a CMSIS-NN folder: it has no {HEADER} and "
                           f"Source/{_hint_for(root)}")
    rev = read_revision(header)
    if rev is None:
        raise CmsisNNError(f"cannot tell which CMSIS-NN release {root} is: {HEADER} has no "
                           "'$Revision: V.x.y.z' line; tinygen supports CMSIS-NN v7.0.0 and newer")
    lib = CmsisNN(root.resolve(), rev)
    if rev < OLDEST_SUPPORTED:
        raise CmsisNNError(f"{lib.describe()} at {root} is too old: tinygen supports CMSIS-NN "
                           f"v7.0.0 and newer (arm_nnfunctions.h {_version_str(OLDEST_SUPPORTED)}"
                           " or later)")
    text = header.read_text(errors="replace")
    missing = [fn for fn in REQUIRED_API if not re.search(rf"\b{fn}\s*\(", text)]
    if missing:
        raise CmsisNNError(f"{lib.describe()} at {root} does not declare {', '.join(missing)} "
                           "in its arm_nnfunctions.h; tinygen supports CMSIS-NN v7.0.0 and newer")
    if rev[0] > NEWEST_TESTED[0]:
        lib.warnings.append(f"{lib.describe()} is newer than the releases tinygen was checked "
                            f"with (up to arm_nnfunctions.h {_version_str(NEWEST_TESTED)}); "
                            "run `tinygen verify --cmsis-nn` on your model")
    return lib
