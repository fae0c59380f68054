"""The host's C compiler and the strict flags tinygen's own C is built with.

Low level on purpose: it imports nothing of tinygen but its errors, so that both
the pipeline (CMSIS-NN's buffer sizes, computed on the host) and the toolchain
(host builds of generated projects) can use it.
"""
from __future__ import annotations

import shutil

from codegen.errors import ToolchainError

WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


def find_cc() -> str:
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return cc
    raise ToolchainError("no C compiler found on the host (install gcc: apt-get install gcc)")
