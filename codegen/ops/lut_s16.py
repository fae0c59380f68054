"""TFLite's 513-entry int16 lookup tables (LUTPopulate<int16_t>, LUTLookup), kernel-neutral.

An int16 -> int16 function is a table of 513 values: the top 9 bits of the input (offset by
256) pick an entry, the low 7 bits interpolate linearly to the next one (tg_lut_s16.h).
The reference builds the table in float32 (its float LUTPopulate, the one every current
kernel calls) from the two quantizations and a float function f:

  input_min/max   = in_scale * (-32768 - in_zp), in_scale * (32767 - in_zp)
  output_min/max  = out_scale * (-32768 - out_zp), out_scale * (32767 - out_zp)
  step            = (input_max - input_min) / 512
  inv             = 65536 / (output_max - output_min)
  for i in 0..511:
    v, m, n       = f(input_min + i*step), f(input_min + i*step + step/2),
                    f(input_min + (i+1)*step)
    bias          = round((round((n*inv + round(v*inv)) / 2) - round(m*inv)) / 2)
    table[i]      = clamp(round(v*inv) - bias)    (the midpoint error, halved, is removed)
  table[512]      = clamp(round(f(input_max) * inv))

every operation in float32, round = roundf (halves away from zero).  The float functions
are the C library's (codegen/ops/float_lut.libm_f32) where the reference calls std::exp & co.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

F32 = np.float32
LUT_S16_SIZE = 513


def roundf(x: np.ndarray) -> np.ndarray:
    """C's roundf on float32 values: halves away from zero (numpy's round goes to even)."""
    x = np.asarray(x, dtype=F32)
    t = np.trunc(x)
    frac = np.abs(x - t)                      # exact in float32
    return (t + np.where(frac >= F32(0.5), np.sign(x), F32(0))).astype(F32)


def lut_populate_s16(fn: Callable[[F32], F32], in_scale: float, in_zp: int, out_scale: float,
                     out_zp: int) -> np.ndarray:
    """TFLite's float LUTPopulate<int16_t> (see the module docstring)."""
    in_scale, out_scale = F32(in_scale), F32(out_scale)
    input_min = F32(in_scale * F32(-32768 - in_zp))
    input_max = F32(in_scale * F32(32767 - in_zp))
    output_min = F32(out_scale * F32(-32768 - out_zp))
    output_max = F32(out_scale * F32(32767 - out_zp))
    step = F32(F32(input_max - input_min) / F32(512))
    half = F32(step / F32(2))
    inv = F32(F32(65536) / F32(output_max - output_min))

    def f(xs: np.ndarray) -> np.ndarray:
        return np.array([fn(F32(x)) for x in xs], dtype=F32)

    i = np.arange(512, dtype=F32)
    start = (input_min + i * step).astype(F32)
    val = f(start)
    mid = f((start + half).astype(F32))
    nxt = f((input_min + (i + F32(1)) * step).astype(F32))
    sample = roundf(val * inv)
    interp = roundf((nxt * inv + sample) / F32(2))
    bias = roundf((interp - roundf(mid * inv)) / F32(2))
    table = np.empty(LUT_S16_SIZE, dtype=np.int16)
    table[:512] = np.clip(sample - bias, -32768, 32767).astype(np.int16)
    last = roundf(F32(fn(input_max) * inv))
    table[512] = int(np.clip(last, -32768, 32767))
    return table


def lut_lookup_s16(x: np.ndarray, table: np.ndarray) -> np.ndarray:
    """TFLite's LUTLookup(int16_t): what tg_lut_s16 computes (for tests and folding)."""
    x = np.asarray(x, dtype=np.int32)
    index = 256 + (x >> 7)
    base = table[index].astype(np.int32)
    slope = (table[index + 1].astype(np.int32) - base).astype(np.int16).astype(np.int32)
    return (base + ((slope * (x & 0x7F) + 64) >> 7)).astype(np.int16)
