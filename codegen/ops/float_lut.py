"""ELU, EXP, LOG, GELU, int8: the lookup tables their reference kernels build in float32.

Each reference kernel's Prepare fills a 256-entry table (TFLM's ELU; LiteRT's
LUTPopulate for EXP, LOG and GELU, which TFLM has no int8 kernel for), in float32
throughout, for every int8 input v:

  x = in_scale * (v - in_zp)                       float32 product
  y = f(x)                                         float32 (libm's expf, logf, erfcf, tanhf)
  q = roundf(y * (1 / out_scale)) + out_zp         halves away from zero, float32
  table[v] = q clamped to [-128, 127]              NaN (log of a negative) gives -128

with f: ELU expf(x) - 1 for x < 0, else x; EXP expf(x); LOG logf(x);
GELU 0.5x * erfcf(-x / sqrt 2), or with `approximate`
0.5x * (1 + tanhf(sqrt(2/pi) * (x + 0.044715 x^3))).  The float functions are the C
library's own (through ctypes; numpy's float32 functions are not always glibc's to the
last bit), so the tables are the reference's on a glibc host, where the references run.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from typing import Callable

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ops.common import INT8_MAX, INT8_MIN, INT8_VALUES

F32 = np.float32
# which reference each operator's int8 arithmetic is TFLM's ("tflm") or only LiteRT's
ORACLE = {"ELU": "tflm", "EXP": "litert", "LOG": "litert", "GELU": "litert"}


@functools.lru_cache(maxsize=None)
def libm_f32(name: str) -> Callable[[float], F32]:
    """The C library's float function `name` (expf, ...): float32 in, float32 out."""
    lib = ctypes.CDLL(ctypes.util.find_library("m") or None)
    fn = getattr(lib, name)
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lambda x: F32(fn(float(x)))


def _elu(x: F32) -> F32:
    return F32(libm_f32("expf")(x) - F32(1)) if x < 0 else x


def _gelu(x: F32) -> F32:
    return F32(F32(F32(0.5) * x) * libm_f32("erfcf")(F32(x * F32(-math.sqrt(0.5)))))


def _gelu_tanh(x: F32) -> F32:
    cube = F32(F32(F32(F32(0.044715) * x) * x) * x)
    inner = F32(F32(math.sqrt(2.0 / math.pi)) * F32(x + cube))
    return F32(F32(F32(0.5) * x) * F32(F32(1) + libm_f32("tanhf")(inner)))


def transform(op: Op) -> tuple[Callable[[F32], F32], str]:
    """The operator's float function and its description."""
    if op.opcode == "GELU":
        if op.options.get("approximate", False):
            return _gelu_tanh, "GELU (tanh approximation)"
        return _gelu, "GELU"
    fns = {"ELU": _elu, "EXP": libm_f32("expf"), "LOG": libm_f32("logf")}
    return fns[op.opcode], op.opcode


def float_table(fn: Callable[[F32], F32], in_scale: float, in_zp: int, out_scale: float,
                out_zp: int) -> np.ndarray:
    """The int8 table of `fn` between the two quantizations (see the module docstring)."""
    inverse = F32(1) / F32(out_scale)
    values = []
    with np.errstate(all="ignore"):
        for v in INT8_VALUES:
            y = F32(fn(F32(in_scale) * F32(v - in_zp)) * inverse)
            q = F32(F32(np.sign(y) * np.floor(np.abs(y) + F32(0.5))) + F32(out_zp))
            values.append(INT8_MIN if np.isnan(q) else int(min(max(q, INT8_MIN), INT8_MAX)))
    return np.array(values, dtype=np.int8)


def float_lut_table(op: Op, g: Graph, inp: Tensor, out: Tensor) -> tuple[np.ndarray, str]:
    """(table, description) of an ELU/EXP/LOG/GELU layer with validated int8 tensors."""
    fn, what = transform(op)
    return float_table(fn, inp.quant.scalar_scale, inp.quant.scalar_zero_point,
                       out.quant.scalar_scale, out.quant.scalar_zero_point), what
