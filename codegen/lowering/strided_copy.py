"""The strided-copy kernel (tg_strided_copy) that every portable data-movement lowering calls.

For each index of a block of up to five loops, copy a run of bytes from input offset
sum(i*in_stride) to output offset sum(i*out_stride); dimensions that are contiguous in
both tensors are merged, so most layers become a few memcpy calls.
"""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Op, Tensor
from codegen.ir import CExpr, ConstArray, LayerCall, TensorArg

COPY_LOOPS = C_LIMITS["TG_STRIDED_COPY_DIMS"]   # loops of tg_strided_copy


def strided_copy_params(shape, in_strides, out_strides, in_offset: int, out_offset: int,
                        elem_bytes: int) -> dict:
    """Params of tg_strided_copy for a block of `shape` with element strides and offsets.

    Loops of one iteration are dropped, neighbours that are contiguous in both
    tensors are merged, and an innermost loop of unit strides becomes the run
    of bytes copied at once.
    """
    dims = [(int(n), int(si), int(so)) for n, si, so in zip(shape, in_strides, out_strides)]
    if any(n == 0 for n, _, _ in dims):
        dims = [(0, 0, 0)]
    dims = [d for d in dims if d[0] != 1]
    merged: list[tuple[int, int, int]] = []
    for n, si, so in dims:
        if merged:
            pn, psi, pso = merged[-1]
            if psi == si * n and pso == so * n:
                merged[-1] = (pn * n, si, so)
                continue
        merged.append((n, si, so))
    run = 1
    if merged and merged[-1][1] == 1 and merged[-1][2] == 1:
        run = merged.pop()[0]
    if len(merged) > COPY_LOOPS:
        raise ValueError(f"strided copy needs {len(merged)} loops; the kernel has {COPY_LOOPS}")
    merged = [(1, 0, 0)] * (COPY_LOOPS - len(merged)) + merged
    return dict(
        shape=[n for n, _, _ in merged],
        in_stride=[si * elem_bytes for _, si, _ in merged],
        out_stride=[so * elem_bytes for _, _, so in merged],
        in_offset=in_offset * elem_bytes,
        out_offset=out_offset * elem_bytes,
        run_bytes=run * elem_bytes,
        fill_bytes=0, elem_bytes=elem_bytes, fill_value=CExpr("NULL"),
    )


def copy_call(op: Op, inp: Tensor, out: Tensor, params: dict, comment: str,
              consts: list[ConstArray] | None = None) -> LayerCall:
    return LayerCall(op=op, kernel="tg_strided_copy", params_type="tg_strided_copy_params_t",
                     params=params, args=[TensorArg(inp.index), TensorArg(out.index)],
                     consts=consts or [], comment=comment)
