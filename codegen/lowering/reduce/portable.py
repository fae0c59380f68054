"""MEAN and SUM, int8 and int16 (16x8 models), over any constant set of axes (kernels
`tg_reduce_sum_s8`, `tg_reduce_sum_s16`).

TFLM (reduce_common.cc) runs both through reference_ops::QuantizedMeanOrSum:

    sum    = sum of the raw inputs over the reduced axes (int32)
    out    = saturate(MultiplyByQuantizedMultiplier(sum - in_zp * n, M, S) + out_zp)

with (M, S) = QuantizeMultiplier(double(in_scale) / double(out_scale)), the
same whether input and output quantization are equal or not.  MEAN folds 1/n
into (M, S) at run time; here it is done once, at generation time, the same
way: k = min(floor(log2 n), 32, 31 + S); M = (M << k) / n; S = S - k.

The input's axes are simplified before they reach the kernel: dimensions of
extent 1 are dropped and neighbouring dimensions of the same kind (kept or
reduced) are merged, so e.g. MEAN over axes [1, 2] of N x H x W x C becomes
"kept N (stride H*W*C), kept C (stride 1), reduced H*W (stride C)".
"""
from __future__ import annotations

from codegen import quant
from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.reduce import analyse_reduction, mean_multiplier, pad_groups

MAX_DIMS = C_LIMITS["TG_REDUCE_MAX_DIMS"]   # loops of tg_reduce_sum_s8
# elements per sum: keeps sum - in_zp * n inside int32
MAX_COUNT = {"int8": 1 << 23, "int16": 1 << 15}


@register("MEAN", "SUM")
def lower_mean_sum(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    r = analyse_reduction(op, g, activations=("int8", "int16"))
    inp, out, axes, count = r.inp, r.out, r.axes, r.count
    if count >= MAX_COUNT[inp.dtype]:
        raise unsupported(op, g, f"sums of {count} {inp.dtype} elements could overflow int32; "
                          f"at most {MAX_COUNT[inp.dtype] - 1} elements per output are "
                          "supported")
    in_s, out_s = float(r.in_q.scale[0]), float(r.out_q.scale[0])
    mult, shift = quant.quantize_multiplier(in_s / out_s)   # double division, as Prepare
    if op.opcode == "MEAN":
        try:
            mult, shift = mean_multiplier(mult, shift, count)
        except ValueError as e:
            raise unsupported(op, g, str(e)) from None
    if len(r.outer) > MAX_DIMS or len(r.reduce) > MAX_DIMS:
        raise unsupported(op, g, f"axes {axes} of [{inp.shape_str()}] alternate between kept "
                          f"and reduced more than {MAX_DIMS} times")
    outer_dims, outer_strides = pad_groups(r.outer, MAX_DIMS)
    reduce_dims, reduce_strides = pad_groups(r.reduce, MAX_DIMS)
    in_q, out_q = r.in_q, r.out_q
    kw = "keep_dims" if op.options.get("keep_dims") else "no keep_dims"
    return LayerCall(
        op=op,
        kernel="tg_reduce_sum_s8" if inp.dtype == "int8" else "tg_reduce_sum_s16",
        params_type="tg_reduce_params_t",
        params=dict(outer_dims=outer_dims, outer_strides=outer_strides,
                    reduce_dims=reduce_dims, reduce_strides=reduce_strides,
                    sum_offset=-in_q.scalar_zero_point * count,
                    multiplier=mult, shift=shift,
                    output_offset=out_q.scalar_zero_point),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        comment=f"{op.opcode} {inp.dtype} {inp.shape_str()} over axes {axes} ({count} elements each, {kw}) "
                f"-> {out.shape_str()}",
        macs=inp.num_elements,
    )
