"""What the CMSIS-NN 16x8 lowerings share: where CMSIS-NN's s16 kernels compute what TFLM does.

16x8 layers (int16 activations with zero point 0, int8 weights) in TFLM sum filter * input
in the bias's width (codegen docs: runtime_c/tg_s16.h):
  - int64 bias (or none, by default): an exact 64-bit sum, then the 64-bit
    MultiplyByQuantizedMultiplier: ((acc * reduced) + 2^(14 - shift)) >> (15 - shift) with
    reduced = the Q31 multiplier rounded to Q15, kept as int32;
  - int32 bias (or none with quantized_bias_type INT32): a wrapping 32-bit sum, then the
    32-bit MultiplyByQuantizedMultiplier (TFLM's double rounding).
CMSIS-NN's s16 kernels (arm_convolve_s16, arm_depthwise_conv_{fast_,}s16,
arm_fully_connected_s16) differ in two places, both decided here from the constants:
  - they sum the first products (up to 512 columns, all of them in some paths) in an
    int32 before widening; that is exact only when no such partial sum can leave int32,
    i.e. 32768 * sum |w| <= INT32_MAX over those columns of every output channel;
  - arm_nn_requantize_s64 keeps (acc * reduced) >> (14 - shift) in an int32 before its last
    rounding shift; that equals TFLM's result when the value fits int32, which holds for
    every input when |acc| bound * reduced < INT32_MAX * 2^(14 - shift).
A layer that fails either check is declined (the next kernel variant takes it).
"""
from __future__ import annotations

import numpy as np

from codegen.ir import CExpr, ConstStruct
from codegen.lowering.base import Declined, LowerContext

INT32_MAX = (1 << 31) - 1
INPUT_MAGNITUDE = 1 << 15   # the largest |int16 input|
MAX_COL_COUNT = 512         # CMSIS-NN's MAX_COL_COUNT: products summed in 32 bits first


def _row_magnitudes(rows: np.ndarray, columns: int | None = None) -> list[int]:
    """Per output channel: sum |w| over the first `columns` weights of each row (all: None)."""
    w = np.abs(rows.astype(np.int64))
    if columns is not None:
        w = w[:, :columns]
    return [int(v) for v in w.sum(axis=1)]


def check_int32_partial_sums(rows: np.ndarray, columns: int | None, kernel: str) -> None:
    """Decline unless no 32-bit partial sum of `kernel` over `columns` products can wrap.

    `rows`: the int8 weights, one row of taps per output channel.
    """
    worst = max(_row_magnitudes(rows, columns)) * INPUT_MAGNITUDE
    if worst > INT32_MAX:
        span = "its products" if columns is None else f"its first {columns} products"
        raise Declined(f"{kernel} sums {span} in 32 bits, and with these weights such a sum "
                       f"can reach {worst} (TFLM sums in 64 bits): not bit-exact")


def accumulator_bounds(rows: np.ndarray, bias: np.ndarray | None) -> list[int]:
    """Per output channel: the largest |sum of products + bias| any int16 input can give."""
    sums = [m * INPUT_MAGNITUDE for m in _row_magnitudes(rows)]
    if bias is None:
        return sums
    return [s + abs(int(b)) for s, b in zip(sums, bias.reshape(-1))]


def check_requantize_s64(bounds: list[int], multiplier, shift, kernel: str) -> None:
    """Decline unless arm_nn_requantize_s64 equals TFLM's 64-bit requantization for every
    accumulator within `bounds` (per channel; `multiplier`/`shift` one or per channel)."""
    mult = np.broadcast_to(np.asarray(multiplier, np.int64).reshape(-1), (len(bounds),))
    shifts = np.broadcast_to(np.asarray(shift, np.int64).reshape(-1), (len(bounds),))
    for c, (bound, m, s) in enumerate(zip(bounds, mult, shifts)):
        m, s = int(m), int(s)
        if s > 14:
            raise Declined(f"output shift {s} of channel {c} is beyond what {kernel}'s "
                           "arm_nn_requantize_s64 shifts (at most 14)")
        reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
        if bound * reduced >= INT32_MAX << (14 - s):
            raise Declined(f"channel {c}'s output before clamping can leave int32, where "
                           f"{kernel}'s arm_nn_requantize_s64 truncates differently from "
                           "TFLM's 64-bit requantization")


def check_int32_accumulator(bounds: list[int], kernel: str) -> None:
    """int32-bias layers: exact only where neither TFLM's nor CMSIS-NN's 32-bit sum wraps."""
    worst = max(bounds)
    if worst > INT32_MAX:
        raise Declined(f"with an int32 bias TFLM sums in 32 bits, wrapping; with these weights "
                       f"the sum can reach {worst}, and {kernel}'s wrapping is not TFLM's "
                       "(undefined in C): not bit-exact")


def bias64(ctx: LowerContext, bias: np.ndarray | None):
    """(argument, constants) of an `const int64_t *` bias: the model's, or NULL."""
    if bias is None:
        return CExpr("NULL"), []
    c, r = ctx.const("bias", "int64_t", bias.reshape(-1).astype(np.int64),
                     "int64 bias per output channel")
    return r, [c]


def bias_data_struct(ctx: LowerContext, bias: np.ndarray | None, int32: bool):
    """(cmsis_nn_bias_data struct, constants): the model's bias in its own width, or NULL."""
    consts = []
    data = CExpr("NULL")
    if bias is not None:
        ctype, np_type = ("int32_t", np.int32) if int32 else ("int64_t", np.int64)
        c, data = ctx.const("bias", ctype, bias.reshape(-1).astype(np_type),
                            f"{ctype[:-2]} bias per output channel"
                            + (" (TFLM sums in 32 bits)" if int32 else ""))
        consts.append(c)
    struct = ConstStruct("bias_data", "cmsis_nn_bias_data",
                         dict(data=data, is_int32_bias=int(int32)))
    return struct, consts
