"""What the portable 16x8 lowerings share (int16 activations, int8 weights; tg_s16.h)."""
from __future__ import annotations

import numpy as np

from codegen.ir import CExpr, ConstArray
from codegen.lowering.base import LowerContext


def bias_16x8(ctx: LowerContext, values: np.ndarray | None, acc32: bool,
              per: str = "") -> tuple[CExpr, CExpr, list[ConstArray]]:
    """(bias64, bias32, constants) of a 16x8 kernel's params: the model's bias in the type
    TFLM accumulates in (int32 when `acc32`, else int64), the other pointer NULL; both NULL
    without a bias.  `per` qualifies the constant's comment (" per output channel")."""
    null = CExpr("NULL")
    if values is None:
        return null, null, []
    values = np.asarray(values).reshape(-1)
    if acc32:
        c, r = ctx.const("bias", "int32_t", values.astype(np.int32),
                         f"int32 bias{per} (TFLM sums in 32 bits)")
        return null, r, [c]
    c, r = ctx.const("bias", "int64_t", values.astype(np.int64), f"int64 bias{per}")
    return r, null, [c]
