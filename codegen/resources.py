"""Where tinygen's data folders are: templates/, targets/ and runtime_c/.

In a checkout (and an editable install) they sit at the top of the repository, next to
codegen/.  A wheel carries the same folders as package data under codegen/_data/ (see
[tool.setuptools.package-dir] in pyproject.toml).  Code asks this module for them and never
builds paths from its own location.
"""
from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from codegen.errors import TinygenError

# one file each folder must hold, to tell it from an unrelated folder of the same name
_MARKERS = {"templates": "model.c.j2", "targets": "cortex-m4.toml", "runtime_c": "tg_common.h"}


@functools.cache
def data_dir(name: str) -> Path:
    """The folder `name` (one of templates, targets, runtime_c) as a real directory."""
    marker = _MARKERS[name]
    package = resources.files(__package__)
    candidates = [package / "_data" / name]            # installed from a wheel
    if isinstance(package, Path):
        candidates.append(package.parent / name)        # checkout or editable install
    for c in candidates:
        if isinstance(c, Path) and (c / marker).is_file():
            return c
    raise TinygenError(f"tinygen's {name}/ folder is missing (looked in "
                       f"{', '.join(str(c) for c in candidates)}): this installation is broken; "
                       "reinstall tinygen with pip (from a wheel or the source folder)")


def templates_dir() -> Path:
    return data_dir("templates")


def targets_dir() -> Path:
    return data_dir("targets")


def runtime_dir() -> Path:
    return data_dir("runtime_c")


def boards_dir() -> Path:
    return data_dir("runtime_c") / "boards"
