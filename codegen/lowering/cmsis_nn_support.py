"""What every CMSIS-NN kernel variant shares: the backend check, status, header, dims.

A CMSIS-NN lowering (`lowering/<family>/cmsis_nn.py`) starts with
`backend = require_backend(ctx)`, which declines the layer when no CMSIS-NN folder was
given, and builds its call with `cmsis_call(...)`: the kernel returns
ARM_CMSIS_NN_SUCCESS and is declared in arm_nnfunctions.h.
"""
from __future__ import annotations

from codegen.graph import Op
from codegen.ir import LayerCall
from codegen.lowering.base import Declined, LowerContext

VARIANT = "cmsis-nn"
SUCCESS = "ARM_CMSIS_NN_SUCCESS"
HEADER = "arm_nnfunctions.h"


def require_backend(ctx: LowerContext):
    """The located CMSIS-NN for this target, or Declined when none was given."""
    if ctx.backend is None:
        raise Declined("no CMSIS-NN folder given (--cmsis-nn PATH or CMSIS_NN_PATH)")
    return ctx.backend


def dims(n: int, h: int, w: int, c: int) -> dict:
    """A cmsis_nn_dims initializer."""
    return dict(n=int(n), h=int(h), w=int(w), c=int(c))


def cmsis_call(op: Op, kernel: str, args: list, comment: str, **fields) -> LayerCall:
    """A call of CMSIS-NN function `kernel` (returns a status, declared in arm_nnfunctions.h)."""
    return LayerCall(op=op, kernel=kernel, args=args, headers=[HEADER], status_ok=SUCCESS,
                     comment=comment + " (CMSIS-NN)", **fields)
