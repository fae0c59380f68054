"""Scratch buffer sizes from the user's own CMSIS-NN, built on the host and called through cffi.

How much scratch memory a CMSIS-NN kernel wants depends on the code path the
target compiles (plain C, DSP, MVE) and, between releases, on CMSIS-NN
itself.  Rather than copying its formulas, tinygen compiles CMSIS-NN's
`*_get_buffer_size` sources with `buffer_sizes.c` (a shim taking plain int32
arrays) once per code path and asks them.  The libraries are cached for the
life of the process.
"""
from __future__ import annotations

import subprocess
import tempfile
import threading
from pathlib import Path

from codegen.cmsis_nn.common import ARCHS, CmsisNNError
from codegen.hostcc import find_cc

SHIM = Path(__file__).resolve().parent / "buffer_sizes.c"

# kernel -> (shim function in buffer_sizes.c, kinds of its get_buffer_size arguments)
KERNELS = {
    "arm_fully_connected_s8": ("tg_fully_connected_s8", ("dims",)),
    "arm_fully_connected_per_channel_s8": ("tg_fully_connected_s8", ("dims",)),
    "arm_convolve_wrapper_s8": ("tg_convolve_wrapper_s8", ("conv", "dims", "dims", "dims")),
    "arm_depthwise_conv_wrapper_s8": ("tg_depthwise_conv_wrapper_s8",
                                      ("dw_conv", "dims", "dims", "dims")),
    "arm_avgpool_s8": ("tg_avgpool_s8", ("int", "int")),
    # 16x8 (int16 activations)
    "arm_fully_connected_s16": ("tg_fully_connected_s16", ("dims",)),
    "arm_convolve_wrapper_s16": ("tg_convolve_wrapper_s16", ("conv", "dims", "dims", "dims")),
    "arm_depthwise_conv_wrapper_s16": ("tg_depthwise_conv_wrapper_s16",
                                       ("dw_conv", "dims", "dims", "dims")),
    "arm_avgpool_s16": ("tg_avgpool_s16", ("int", "int")),
}
_GET_BUFFER_SIZE = ["arm_fully_connected_s8", "arm_convolve_wrapper_s8",
                    "arm_depthwise_conv_wrapper_s8", "arm_avgpool_s8",
                    "arm_fully_connected_s16", "arm_convolve_wrapper_s16",
                    "arm_depthwise_conv_wrapper_s16", "arm_avgpool_s16"]

# Field order of the int32 arrays buffer_sizes.c unpacks (dotted: nested struct fields).
_TILED = ["stride.h", "stride.w", "padding.h", "padding.w", "dilation.h", "dilation.w",
          "activation.min", "activation.max"]
FIELDS = {
    "conv": ["input_offset", "output_offset"] + _TILED,
    "dw_conv": ["input_offset", "output_offset", "ch_mult"] + _TILED,
}

CDEF = """
int32_t tg_fully_connected_s8(const int32_t *filter);
int32_t tg_convolve_wrapper_s8(const int32_t *conv, const int32_t *input, const int32_t *filter,
                               const int32_t *output);
int32_t tg_depthwise_conv_wrapper_s8(const int32_t *dw, const int32_t *input,
                                     const int32_t *filter, const int32_t *output);
int32_t tg_avgpool_s8(int32_t dim_dst_width, int32_t ch_src);
int32_t tg_fully_connected_s16(const int32_t *filter);
int32_t tg_convolve_wrapper_s16(const int32_t *conv, const int32_t *input, const int32_t *filter,
                                const int32_t *output);
int32_t tg_depthwise_conv_wrapper_s16(const int32_t *dw, const int32_t *input,
                                      const int32_t *filter, const int32_t *output);
int32_t tg_avgpool_s16(int32_t dim_dst_width, int32_t ch_src);
"""

_DEFINES = {"c": [], "dsp": ["-DARM_MATH_DSP"], "mve": ["-DTG_SIZES_MVE"]}
_cache: dict[tuple, tuple] = {}
_lock = threading.Lock()


def _field(params: dict, dotted: str) -> int:
    value = params
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"params lack field '{dotted}'")
        value = value[part]
    return int(value)


def _library(lib, arch: str):
    """(ffi, dlopen'ed shim) for `lib` (a codegen.cmsis_nn.CmsisNN: not imported here,
    the package imports this module) on code path `arch`, compiled on first use."""
    import cffi  # lazily (heavy): only CMSIS-NN layers need the shim

    key = (str(lib.root), lib.revision, arch)
    with _lock:
        if key in _cache:
            return _cache[key]
        functions = [f"{k}_get_buffer_size{suffix}" for k in _GET_BUFFER_SIZE
                     for suffix in ("", "_mve")]
        sources = [str(lib.root / s) for s in lib.sources_for(functions)]
        with tempfile.TemporaryDirectory(prefix="tinygen-cmsis-sizes-") as tmp:
            so = Path(tmp) / f"libtg_cmsis_sizes_{arch}.so"
            cmd = [find_cc(), "-std=c99", "-O1", "-fPIC", "-shared", *_DEFINES[arch],
                   f"-I{lib.root / 'Include'}", str(SHIM), *sources, "-o", str(so)]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                raise CmsisNNError(f"cannot build {lib.describe()}'s get_buffer_size functions "
                                   f"on this host:\n{' '.join(cmd)}\n{r.stderr[-3000:]}")
            ffi = cffi.FFI()
            ffi.cdef(CDEF)
            handle = ffi.dlopen(str(so))   # stays mapped after the file is removed
        _cache[key] = (ffi, handle)
        return ffi, handle


def buffer_size(lib, arch: str, kernel: str, *args) -> int:
    """Scratch bytes CMSIS-NN's `kernel` asks for on code path `arch` ('c', 'dsp', 'mve').

    args follow the kernel's get_buffer_size: params structs as dicts of their fields (nested
    dicts for stride, padding, dilation, activation), dims as (n, h, w, c), ints as ints.
    """
    if arch not in ARCHS:
        raise ValueError(f"unknown CMSIS-NN code path {arch!r}; one of {ARCHS}")
    if kernel not in KERNELS:
        raise ValueError(f"no get_buffer_size known for {kernel}; known: {sorted(KERNELS)}")
    shim_fn, kinds = KERNELS[kernel]
    if len(args) != len(kinds):
        raise TypeError(f"{kernel} buffer size takes {len(kinds)} arguments, got {len(args)}")
    ffi, handle = _library(lib, arch)
    cargs = []
    for kind, arg in zip(kinds, args):
        if kind == "int":
            cargs.append(int(arg))
        elif kind == "dims":
            dims = [int(x) for x in arg]
            if len(dims) != 4:
                raise ValueError(f"dims must be (n, h, w, c), got {arg!r}")
            cargs.append(ffi.new("int32_t[]", dims))
        else:
            cargs.append(ffi.new("int32_t[]", [_field(arg, f) for f in FIELDS[kind]]))
    size = int(getattr(handle, shim_fn)(*cargs))
    if size < 0:
        raise CmsisNNError(f"{lib.describe()} reported a negative buffer size ({size}) for "
                           f"{kernel} with {args}")
    return size
