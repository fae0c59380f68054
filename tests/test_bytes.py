"""runtime_c/tg_bytes.c: the kernels' copies and fills without the C library."""
from __future__ import annotations

import shutil
import subprocess

import cffi
import numpy as np
import pytest

from codegen.hostcc import find_cc
from codegen.resources import runtime_dir

RUNTIME = runtime_dir()
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror"]


@pytest.fixture(scope="module")
def tg_bytes(tmp_path_factory):
    d = tmp_path_factory.mktemp("bytes")
    lib = d / "libbytes.so"
    subprocess.run([find_cc(), *WARNINGS, "-O2", "-fPIC", "-shared", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", f"-I{RUNTIME}", str(RUNTIME / "tg_bytes.c"),
                    "-o", str(lib)], check=True)
    ffi = cffi.FFI()
    ffi.cdef("void tg_bytes_copy(void *dst, const void *src, size_t n);"
             "void tg_bytes_fill(void *dst, uint8_t value, size_t n);")
    return ffi, ffi.dlopen(str(lib))


def test_copy_and_fill_every_length_and_alignment(tg_bytes):
    ffi, lib = tg_bytes
    rng = np.random.default_rng(5)
    src = bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    src_c = ffi.from_buffer("uint8_t[]", src)
    for n in range(0, 19):
        for s_off in range(4):
            for d_off in range(4):
                dst = ffi.new("uint8_t[64]", [0xEE] * 64)
                lib.tg_bytes_copy(dst + d_off, src_c + s_off, n)
                got = bytes(ffi.buffer(dst, 64))
                want = b"\xee" * d_off + src[s_off:s_off + n] + b"\xee" * (64 - d_off - n)
                assert got == want, (n, s_off, d_off)
        for d_off in range(4):
            dst = ffi.new("uint8_t[64]", [0xEE] * 64)
            lib.tg_bytes_fill(dst + d_off, 0x80, n)
            assert bytes(ffi.buffer(dst, 64)) == \
                b"\xee" * d_off + b"\x80" * n + b"\xee" * (64 - d_off - n), (n, d_off)


def test_copy_moves_down_over_itself(tg_bytes):
    """A rolling window moves its rows down by one row, the regions overlapping."""
    ffi, lib = tg_bytes
    for shift in (1, 3, 4, 5, 17):
        for n in (0, 1, 7, 8, 33):
            data = bytes(range(64))
            buf = ffi.new("uint8_t[64]", list(data))
            lib.tg_bytes_copy(buf + 2, buf + 2 + shift, n)
            want = bytearray(data)
            want[2:2 + n] = data[2 + shift:2 + shift + n]
            assert bytes(ffi.buffer(buf, 64)) == bytes(want), (shift, n)


@pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None,
                    reason="needs arm-none-eabi-gcc (apt-get install gcc-arm-none-eabi)")
@pytest.mark.parametrize("cpu", ["cortex-m0plus", "cortex-m4"])
def test_no_c_library_call_on_cortex_m(tmp_path, cpu):
    """The loops must stay loops: GCC's idiom recognition would turn them back into the
    memcpy / memset calls they exist to avoid."""
    obj = tmp_path / "b.o"
    subprocess.run(["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb", *WARNINGS, "-O2",
                    f"-I{RUNTIME}", "-c", str(RUNTIME / "tg_bytes.c"), "-o", str(obj)],
                   check=True)
    undefined = subprocess.run(["arm-none-eabi-nm", "-u", str(obj)], capture_output=True,
                               text=True, check=True).stdout.split()
    assert not [s for s in undefined if s.startswith("mem")], undefined
