"""tg_expf / tg_logf (runtime_c/tg_mathf.c) against the C library's expf / logf.

TFLite's float SOFTMAX and LOG_SOFTMAX call expf()/logf(), so the golden reference (TFLM on
this x86-64 Linux host) carries glibc's results; tg_mathf.c reproduces them bit for bit with
no libm.  Here tg_mathf.c is built into a small shared library and compared with libm's own
expf/logf, called directly through cffi (numpy's float32 exp is not glibc's expf), on about
4 million inputs: every exponent of both signs, the special values, dense runs of
consecutive floats around every threshold and table boundary of the two algorithms, and
random bit patterns.  The tables and constants of tg_mathf.c that have an exact definition
are recomputed here.

Every one of the 2^32 inputs (a few minutes on one core; rerun when tg_mathf.c changes):

    python3 tests/test_mathf.py --exhaustive
"""
from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import zlib
from decimal import Decimal, getcontext
from fractions import Fraction
from pathlib import Path

import cffi
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from codegen.toolchain.host import WARNINGS, find_cc  # noqa: E402

RUNTIME = ROOT / "runtime_c"

# Inputs whose glibc expf depends on the CPU: glibc's x86-64 build runs an FMA-compiled expf
# where the CPU has FMA (as on the reference host) and a plain one elsewhere, and these are
# the only two floats where the two differ (found comparing both over all 2^32 inputs).
# tg_expf gives the FMA build's answer on every target.  bits: (FMA build, plain build)
EXPF_CPU_DEPENDENT = {0x4202422F: (0x56FC9F1C, 0x56FC9F1B),
                      0xC27C65D9: (0x11FA2993, 0x11FA2992)}

SHIM = r"""
#include "tg_mathf.c"

typedef float (*shim_fn)(float);

void shim_map(shim_fn f, const float *in, float *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; ++i) {
        out[i] = f(in[i]);
    }
}

shim_fn shim_tg(int which) { return which == 0 ? tg_expf : tg_logf; }
const uint64_t *shim_exp2_table(void) { return EXP2_J_OVER_32; }
const double *shim_logf_table(void) { return &LOGF_TABLE[0].invc; }

double shim_constant(int which)
{
    switch (which) {
    case 0: return EXPF_INV_LN2_32;
    case 1: return EXPF_INV_LN2_32_HI;
    case 2: return EXPF_INV_LN2_32_LO;
    case 3: return EXPF_ROUND_SHIFT;
    default: return LOGF_LN2;
    }
}
"""

CDEF = """
typedef float (*shim_fn)(float);
void shim_map(shim_fn f, const float *in, float *out, size_t n);
shim_fn shim_tg(int which);
const uint64_t *shim_exp2_table(void);
const double *shim_logf_table(void);
double shim_constant(int which);
"""


def _cpu_has_fma() -> bool:
    if platform.machine() != "x86_64":
        return False
    try:
        return " fma " in Path("/proc/cpuinfo").read_text().replace("\n", " ")
    except OSError:
        return False


def _build(d: Path, name: str, extra: list[str]) -> Path:
    (d / "shim.c").write_text(SHIM)
    lib = d / f"lib{name}.so"
    subprocess.run([find_cc(), *WARNINGS, "-O2", "-fPIC", "-shared", *extra, f"-I{RUNTIME}",
                    str(d / "shim.c"), "-o", str(lib)], check=True)
    return lib


@pytest.fixture(scope="module")
def mathf(tmp_path_factory):
    d = tmp_path_factory.mktemp("mathf")
    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    ffi.cdef("float expf(float); float logf(float);")
    libs = {"plain": ffi.dlopen(str(_build(d, "plain", [])))}
    # a build where the compiler may fuse any a*b+c (the results must not change)
    fused = ["-ffp-contract=fast"] + (["-mfma"] if _cpu_has_fma() else [])
    libs["contracted"] = ffi.dlopen(str(_build(d, "contracted", fused)))
    libm = ffi.dlopen("libm.so.6")
    return ffi, libs, libm


def _map(ffi, lib, fn, bits: np.ndarray) -> np.ndarray:
    x = np.ascontiguousarray(bits, dtype=np.uint32).view(np.float32)
    out = np.empty_like(x)
    lib.shim_map(fn, ffi.from_buffer("float[]", x), ffi.from_buffer("float[]", out), x.size)
    return out.view(np.uint32)


def _f32(value: float) -> int:
    return int(np.array([value], np.float32).view(np.uint32)[0])


# --- inputs ------------------------------------------------------------------------------

def _runs(centres: list[int], half_width: int) -> np.ndarray:
    """Consecutive bit patterns around each centre (wrapping within 32 bits)."""
    offs = np.arange(-half_width, half_width, dtype=np.int64)
    return ((np.array(centres, np.int64)[:, None] + offs) % (1 << 32)).astype(np.uint32).ravel()


SPECIALS = [0x00000000, 0x80000000, 0x7F800000, 0xFF800000,        # zeros, infinities
            0x7FC00000, 0xFFC00000, 0x7FC00001, 0xFFFFFFFF,        # quiet NaNs, payloads
            0x7F800001, 0xFF800001, 0x7FBFFFFF, 0xFFA5A5A5,        # signalling NaNs
            0x00000001, 0x80000001, 0x007FFFFF, 0x807FFFFF,        # subnormal ends
            0x00800000, 0x80800000, 0x7F7FFFFF, 0xFF7FFFFF,        # FLT_MIN, FLT_MAX
            0x3F800000, 0xBF800000, 0x40000000, 0x3F000000]        # 1, -1, 2, 1/2

# expf: |x| >= 88 takes the slow path; overflow above ln 2^128; results 2^-149 between
# ln 2^-150 and ln 2^-149, 0 below; subnormal results from ln 2^-126 down; x so small
# that e^x rounds to 1.
EXPF_EDGES = [_f32(88.0), _f32(-88.0), 0x42B17217, 0xC2CFF1B4, 0xC2CE8ECF, 0xC2AEAC50,
              0x33800000, 0xB3000000, 0x00000000, 0x80000000, *EXPF_CPU_DEPENDENT]
# logf: 1 (exact 0), the normal/subnormal boundary, 0 and the top of the range; the ends of
# z's interval [0x1.66p-1, 0x1.66p0) and the 16 table pieces inside it (for two exponents).
LOGF_Z_LOW = 0x3F330000
LOGF_EDGES = ([0x3F800000, 0x00800000, 0x00000000, 0x7F800000, 0xFF800000, 0x80000000]
              + [LOGF_Z_LOW + (j << 19) + (e << 23) for j in range(17) for e in (0, 9)])


def _inputs(name: str) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    # every sign and exponent field, with the mantissa ends and 4087 random mantissas
    ends = np.array([0, 1, 2, 3, 0x7FFFFF, 0x7FFFFE, 0x400000, 0x3FFFFF, 0x400001], np.uint32)
    mant = np.concatenate([np.broadcast_to(ends, (512, ends.size)),
                           rng.integers(0, 1 << 23, (512, 4096 - ends.size), dtype=np.uint32)],
                          axis=1)
    top = (np.arange(512, dtype=np.uint32) << np.uint32(23))[:, None]
    strat = (top | mant).ravel()
    return np.concatenate([
        strat,
        np.array(SPECIALS, np.uint32),
        _runs(EXPF_EDGES + LOGF_EDGES, 8192),
        rng.integers(0, 1 << 32, 1_000_000, dtype=np.uint32),
    ])


def _hex_list(idx, x, a, b, limit=8) -> str:
    return ", ".join(f"x={x[i]:#010x}: tg {a[i]:#010x} libm {b[i]:#010x}" for i in idx[:limit])


@pytest.mark.parametrize("fn", ["expf", "logf"])
@pytest.mark.parametrize("build", ["plain", "contracted"])
def test_bit_identical_to_libm(mathf, fn, build):
    ffi, libs, libm = mathf
    lib = libs[build]
    x = _inputs(fn)
    ours = _map(ffi, lib, lib.shim_tg(0 if fn == "expf" else 1), x)
    ref = _map(ffi, lib, getattr(libm, fn), x)
    differ = ours != ref
    if fn == "expf":
        for xi, (fma_build, plain_build) in EXPF_CPU_DEPENDENT.items():
            at = x == xi
            assert at.any()
            assert (ours[at] == fma_build).all(), f"tg_expf({xi:#x})"
            assert (ref[at] == fma_build).all() or (ref[at] == plain_build).all()
            differ &= ~at
    idx = np.flatnonzero(differ)
    assert idx.size == 0, f"{idx.size} of {x.size} differ: " + _hex_list(idx, x, ours, ref)


def test_reference_host_uses_the_fma_expf(mathf):
    """On a CPU with FMA glibc's x86-64 expf is the fused build, the one tg_expf follows."""
    ffi, libs, libm = mathf
    if not _cpu_has_fma():
        return  # the plain build: checked by the test above, within EXPF_CPU_DEPENDENT
    x = np.array(list(EXPF_CPU_DEPENDENT), np.uint32)
    ref = _map(ffi, libs["plain"], libm.expf, x)
    assert ref.tolist() == [v[0] for v in EXPF_CPU_DEPENDENT.values()]


# --- the tables and constants against their definitions -----------------------------------

def _exp2_j_over_32(j: int) -> float:
    """2^(j/32) correctly rounded to double, with integer arithmetic only."""
    extra = 120                                  # floor(2^(j/32 + extra)) by bisection
    target = 1 << (j + 32 * extra)
    lo, hi = 1 << extra, 1 << (extra + 1)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if mid ** 32 <= target else (lo, mid)
    drop = lo.bit_length() - 53
    q, rem = divmod(lo, 1 << drop)
    # 2^(j/32) is irrational for 0 < j < 32: never a tie, and rem >= half means above it
    q += rem >= (1 << (drop - 1))
    return float(Fraction(q << drop, 1 << extra))


def _ln(x) -> Decimal:
    getcontext().prec = 60
    return Decimal(x).ln()


def _significant_bits(v: float) -> int:
    n, _ = abs(v).as_integer_ratio()
    return (n >> ((n & -n).bit_length() - 1)).bit_length()


def test_tables_and_constants_match_their_definitions(mathf):
    ffi, libs, _ = mathf
    lib = libs["plain"]
    table = lib.shim_exp2_table()
    for j in range(32):
        want = int(np.array([_exp2_j_over_32(j)]).view(np.uint64)[0])
        assert table[j] == want, j
    inv, hi, lo, shift, ln2 = (lib.shim_constant(i) for i in range(5))
    assert inv == 32 * float(1 / _ln(2))
    assert Fraction(hi) + Fraction(lo) == Fraction(inv)
    assert _significant_bits(hi) <= 29 and _significant_bits(lo) <= 24  # x*hi, x*lo exact
    assert shift == 1.5 * 2.0 ** 52
    assert ln2 == float(_ln(2))
    pairs = lib.shim_logf_table()
    for i in range(16):
        invc, logc = pairs[2 * i], pairs[2 * i + 1]
        assert logc == float(-_ln(invc)), i
        # c_i = 1/invc lies in piece i of [0x1.66p-1, 0x1.66p0)
        c_bits = int(np.array([1 / invc], np.float32).view(np.uint32)[0])
        assert ((c_bits - LOGF_Z_LOW) >> 19) & 15 == i, i


def test_c_sources_clean(tmp_path):
    """Warning-free on gcc and clang with strict flags, cppcheck-clean (as test_hostile_cclean)."""
    sources = [RUNTIME / "tg_mathf.c", RUNTIME / "tg_softmax_f32.c"]
    strict = ["-Wshadow", "-Wconversion", "-Wsign-conversion", "-Wundef", "-Wdouble-promotion",
              "-Wstrict-prototypes", "-Wmissing-prototypes", "-Wcast-qual"]
    for cc in ("gcc", "clang"):
        assert shutil.which(cc), f"{cc} missing (setup.sh installs it)"
        for src in sources:
            r = subprocess.run([cc, *WARNINGS, *strict, "-O2", f"-I{RUNTIME}", "-c", str(src),
                                "-o", str(tmp_path / f"{cc}_{src.stem}.o")],
                               capture_output=True, text=True)
            assert r.returncode == 0, f"{cc} {src.name}:\n{r.stderr}"
    assert shutil.which("cppcheck"), "cppcheck missing (setup.sh installs it)"
    r = subprocess.run(["cppcheck", "--enable=all", "--inconclusive", "--std=c99",
                        "--error-exitcode=1", "--quiet", "--suppress=unusedFunction",
                        "--suppress=missingIncludeSystem", f"-I{RUNTIME}", *map(str, sources)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and not (r.stdout + r.stderr).strip(), r.stdout + r.stderr


# --- every input, once: python3 tests/test_mathf.py --exhaustive --------------------------

EXHAUSTIVE = r"""
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tg_mathf.h"

static unsigned long bits(float f) { uint32_t u; memcpy(&u, &f, sizeof u); return u; }

int main(void)
{
    unsigned long differ[2] = {0, 0};
    uint32_t u = 0;
    do {
        float x;
        memcpy(&x, &u, sizeof x);
        if (bits(tg_expf(x)) != bits(expf(x))) {
            printf("expf %#010lx: tg %#010lx libm %#010lx\n", (unsigned long)u,
                   bits(tg_expf(x)), bits(expf(x)));
            differ[0]++;
        }
        if (bits(tg_logf(x)) != bits(logf(x))) {
            printf("logf %#010lx: tg %#010lx libm %#010lx\n", (unsigned long)u,
                   bits(tg_logf(x)), bits(logf(x)));
            differ[1]++;
        }
    } while (++u != 0);
    printf("all 2^32 inputs: expf differs on %lu, logf on %lu\n", differ[0], differ[1]);
    return differ[0] != 0 || differ[1] != 0;
}
"""


def run_exhaustive(build_dir: Path) -> int:
    build_dir.mkdir(parents=True, exist_ok=True)
    (build_dir / "exhaustive.c").write_text(EXHAUSTIVE)
    exe = build_dir / "exhaustive"
    subprocess.run([find_cc(), *WARNINGS, "-O2", f"-I{RUNTIME}", str(build_dir / "exhaustive.c"),
                    str(RUNTIME / "tg_mathf.c"), "-o", str(exe), "-lm"], check=True)
    return subprocess.run([str(exe)]).returncode


if __name__ == "__main__":
    if sys.argv[1:] != ["--exhaustive"]:
        sys.exit(__doc__)
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        sys.exit(run_exhaustive(Path(tmp)))
