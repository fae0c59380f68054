"""Elementwise int8 -> int8 operators as a 256-entry lookup table (kernel `tg_lookup_s8_s8`).

When an operator's int8 output depends on nothing but the int8 input value,
the generator runs the reference kernel's exact integer arithmetic (written in
Python by each operator's lowering) for all 256 possible inputs and emits the
results as a constant table.  The device then does one load per element: exact
by construction, and as fast as an elementwise operator can be.

`lut_layer` is the shared part: validation of the tensors and the LayerCall.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Graph, Op, Tensor
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported


def elementwise_s8_tensors(op: Op, g: Graph) -> tuple[Tensor, Tensor]:
    """The input and output of a one-input elementwise int8 operator, validated."""
    ins = [t for t in g.op_inputs(op) if t is not None]
    outs = g.op_outputs(op)
    if len(ins) != 1 or len(outs) != 1:
        raise unsupported(op, g, f"expected 1 input and 1 output, got {len(ins)} and {len(outs)}")
    inp, out = ins[0], outs[0]
    require_dtype(op, g, inp, ("int8",), "input")
    require_dtype(op, g, out, ("int8",), "output")
    require_quant(op, g, inp, "input")
    require_quant(op, g, out, "output")
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output '{out.name}' [{out.shape_str()}] does not have the "
                          f"input's {inp.num_elements} elements")
    return inp, out


def lut_layer(op: Op, g: Graph, ctx: LowerContext, inp: Tensor, out: Tensor,
              table: np.ndarray, what: str) -> LayerCall:
    """A LayerCall applying `table` (256 int8 values, input -128 first) to every element.

    `what` describes the function for the table's comment, e.g. "HARD_SWISH, input
    scale 0.05 zp -3 -> output scale 0.02 zp 5".
    """
    table = np.asarray(table, dtype=np.int8).reshape(-1)
    assert table.size == 256, "an int8 lookup table has one entry per int8 value"
    c_t, r_t = ctx.const("table", "int8_t", table,
                         f"{what}: output for each input value, input -128 first")
    return LayerCall(
        op=op,
        kernel="tg_lookup_s8_s8",
        params_type="tg_lookup_to_s8_params_t",
        params=dict(count=inp.num_elements, table=r_t),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        consts=[c_t],
        comment=f"{op.opcode} {inp.shape_str()} -> {out.shape_str()} (lookup table)",
        # one byte read, then one byte written at the same index, in order: in place is safe
        overlaps=[Overlap(output=out.index, input=inp.index)],
    )


def quant_desc(t: Tensor) -> str:
    return f"scale {t.quant.scalar_scale:.9g} zp {t.quant.scalar_zero_point}"
