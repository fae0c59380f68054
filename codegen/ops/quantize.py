"""QUANTIZE and DEQUANTIZE: TFLM's Prepare maths (requantization multiplier, tables).
"""
from __future__ import annotations

import numpy as np

from codegen import quant
from codegen.fixedpoint import wrap32

_NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32}

def requantize_multiplier(in_scale: float, out_scale: float) -> tuple[int, int]:
    """TFLM's QUANTIZE Prepare: QuantizeMultiplier(double(in_scale) / double(out_scale))."""
    return quant.quantize_multiplier(float(in_scale) / float(out_scale))


def requantize_table(in_dtype: str, out_dtype: str, in_zp: int, multiplier: int, shift: int,
                     out_zp: int) -> np.ndarray:
    """TFLite's Requantize on every 8-bit input value, in increasing input order."""
    qmin, qmax = quant.DTYPE_RANGE[out_dtype]
    lo, hi = quant.DTYPE_RANGE[in_dtype]
    table = []
    for v in range(lo, hi + 1):
        y = quant.multiply_by_quantized_multiplier(wrap32(v - in_zp), multiplier, shift)
        table.append(min(max(wrap32(y + out_zp), qmin), qmax))
    return np.array(table, dtype=_NP[out_dtype])
