"""BATCH_MATMUL, int8: out[..., m, n] = sum_k lhs[..., m, k] * rhs[..., k, n] (TFLM's kernel).

Operands: lhs and rhs, 2 to 5 dimensions each, either may be constant.  adj_x means lhs is
stored transposed ([..., k, m]), adj_y that rhs is ([..., n, k]).  The batch dimensions
(all but the last two, the shorter shape extended with leading ones) broadcast: equal, or
one of them 1.  No fused activation.

TFLM's Prepare: multiplier, shift = QuantizeMultiplier(lhs_scale * rhs_scale / out_scale)
(GetQuantizedConvolutionMultipler, in double); zero points of any value for int8; output
bounds -128..127.  Per output element (reference_ops::BatchMatMul):
  acc = sum_k (lhs + lhs_offset) * (rhs + rhs_offset)     offsets: minus the zero points
  out = clamp(MBQM(acc, multiplier, shift) + out_zp, -128, 127)
The sum is exact in int32 for depths below 33025 (checked), so any order gives it.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen import quant
from codegen.graph import Graph, Op, Tensor
from codegen.ops.checks import require_dtype, require_quant, unsupported

MIN_RANK, MAX_RANK = 2, 5        # TFLM's limits
BATCH_LOOPS = MAX_RANK - 2
INT32_MAX = (1 << 31) - 1


@dataclass
class BatchMatMulLayer:
    op: Op
    lhs: Tensor
    rhs: Tensor
    out: Tensor
    adj_x: bool
    adj_y: bool
    batch_dims: list[int]        # output batch extents, BATCH_LOOPS of them (leading ones)
    lhs_batch_strides: list[int]  # lhs elements per step of each batch loop (0: broadcast)
    rhs_batch_strides: list[int]
    rows: int                    # m
    cols: int                    # n
    depth: int                   # k
    multiplier: int
    shift: int

    @property
    def lhs_offset(self) -> int:
        return -self.lhs.quant.scalar_zero_point

    @property
    def rhs_offset(self) -> int:
        return -self.rhs.quant.scalar_zero_point

    @property
    def output_offset(self) -> int:
        return self.out.quant.scalar_zero_point

    @property
    def macs(self) -> int:
        b = 1
        for d in self.batch_dims:
            b *= d
        return b * self.rows * self.cols * self.depth

    def strides(self) -> dict[str, int]:
        """Element strides of lhs[m][k] and rhs[k][n] within one batch."""
        m, n, k = self.rows, self.cols, self.depth
        return dict(lhs_row_stride=1 if self.adj_x else k, lhs_depth_stride=m if self.adj_x else 1,
                    rhs_depth_stride=1 if self.adj_y else n, rhs_col_stride=k if self.adj_y else 1)

    def comment(self) -> str:
        def name(t: Tensor, adj: bool) -> str:
            s = f"const {t.shape_str()}" if t.is_const else t.shape_str()
            return s + (" (transposed)" if adj else "")
        return (f"BATCH_MATMUL {name(self.lhs, self.adj_x)} x {name(self.rhs, self.adj_y)} -> "
                f"{self.out.shape_str()}")


def _batch_strides(shape: tuple[int, ...], rank: int) -> tuple[list[int], list[int]]:
    """(batch extents, element strides) of `shape` extended to `rank` dimensions."""
    full = [1] * (rank - len(shape)) + list(shape)
    batch = full[:-2]
    strides, step = [0] * len(batch), full[-1] * full[-2]
    for i in range(len(batch) - 1, -1, -1):
        strides[i] = step if batch[i] != 1 else 0
        step *= batch[i]
    return batch, strides


def analyse_batch_matmul(op: Op, g: Graph) -> BatchMatMulLayer:
    """Check an int8 BATCH_MATMUL (clear errors) and compute TFLM's Prepare numbers."""
    lhs, rhs = g.op_inputs(op)
    out = g.op_outputs(op)[0]
    for t, role in ((lhs, "lhs"), (rhs, "rhs"), (out, "output")):
        require_dtype(op, g, t, ("int8",), role)
        require_quant(op, g, t, role)
        if t.num_elements == 0:
            raise unsupported(op, g, f"{role} '{t.name}' has no elements ({list(t.shape)})")
    for t, role in ((lhs, "lhs"), (rhs, "rhs")):
        if not MIN_RANK <= len(t.shape) <= MAX_RANK:
            raise unsupported(op, g, f"{role} '{t.name}' has {len(t.shape)} dimensions; "
                              f"supported: {MIN_RANK} to {MAX_RANK}, as TFLM")
    adj_x, adj_y = bool(op.options.get("adj_x", False)), bool(op.options.get("adj_y", False))
    rank = max(len(lhs.shape), len(rhs.shape))
    lb, ls = _batch_strides(tuple(lhs.shape), rank)
    rb, rs = _batch_strides(tuple(rhs.shape), rank)
    batch = []
    for a, b in zip(lb, rb):
        if a != b and a != 1 and b != 1:
            raise unsupported(op, g, f"batch dimensions of {list(lhs.shape)} and "
                              f"{list(rhs.shape)} do not broadcast")
        batch.append(max(a, b))
    m, k = (lhs.shape[-1], lhs.shape[-2]) if adj_x else (lhs.shape[-2], lhs.shape[-1])
    k2, n = (rhs.shape[-1], rhs.shape[-2]) if adj_y else (rhs.shape[-2], rhs.shape[-1])
    if k != k2:
        raise unsupported(op, g, f"lhs {list(lhs.shape)}{' (adj_x)' if adj_x else ''} and rhs "
                          f"{list(rhs.shape)}{' (adj_y)' if adj_y else ''} disagree on the "
                          f"summed dimension ({k} vs {k2})")
    if tuple(out.shape) != tuple(batch + [m, n]):
        raise unsupported(op, g, f"output shape {list(out.shape)} differs from "
                          f"{batch + [m, n]}, the product's shape")
    if k * 255 * 255 > INT32_MAX:
        raise unsupported(op, g, f"a sum of {k} products could overflow the 32-bit "
                          "accumulator")
    pad = BATCH_LOOPS - len(batch)
    mult, shift = quant.quantize_multiplier(
        lhs.quant.scalar_scale * rhs.quant.scalar_scale / out.quant.scalar_scale)
    return BatchMatMulLayer(op, lhs, rhs, out, adj_x, adj_y, [1] * pad + batch,
                            [0] * pad + ls, [0] * pad + rs, m, n, k, mult, shift)
