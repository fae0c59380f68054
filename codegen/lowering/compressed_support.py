"""What the lowerings of compressed filters share (codegen/encoding.py, runtime_c/tg_cw.h):
the layer's FilterEncoding and the `tg_cw_t` params field describing it."""
from __future__ import annotations

import numpy as np

from codegen.encoding import FilterEncoding, int4_quads
from codegen.graph import Op
from codegen.ir import CExpr, ConstArray, LayerCall, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.ops.fully_connected import folded_bias

INT4 = ("int4",)
PALETTE = ("palette",)
SPARSE = ("sparse",)
ALL = ("int4", "palette")      # what tg_cw_t describes (tg_cw.h)
# tg_dsp_pal_gemm_s8 looks a channel pair's indices up once for all rows, which costs about
# as much as one row's multiplications: fewer rows are faster on the int8 kernels
PALETTE_MIN_ROWS = 4


def require_filter(ctx: LowerContext, encodings: tuple[str, ...] = ALL) -> FilterEncoding:
    enc = ctx.filter
    if enc is None or enc.encoding not in encodings:   # selection asks only for these
        raise Declined(f"reads only filters stored as {', '.join(encodings)}")
    return enc


def cw_field(ctx: LowerContext, enc: FilterEncoding, what: str,
             quads: bool = False) -> tuple[dict, list[ConstArray]]:
    """The `tg_cw_t` field (a nested params dict) and the constants it points at.
    `quads`: int4 rows in the DSP GEMM's layout (encoding.int4_quads)."""
    how = (f"int4, two values per byte ({enc.before} values)" if enc.encoding == "int4" else
           f"{enc.bits}-bit palette indices ({enc.before} values)")
    data = int4_quads(enc.data, enc.channels, enc.row_bytes) if quads else enc.data
    c_d, r_d = ctx.const("filter_" + enc.encoding, "uint8_t", data,
                         f"{what}: {how}" + (", channels in fours" if quads else ""),
                         encoding=enc.encoding)
    consts = [c_d]
    table = CExpr("NULL")
    if enc.encoding == "palette":
        c_t, table = ctx.const("filter_table", "int8_t", enc.table,
                               f"{what}: palette, {1 << enc.bits} values "
                               + ("per output channel" if enc.per_channel else "for the tensor"))
        consts.append(c_t)
    return dict(data=r_d, table=table, palette=int(enc.encoding == "palette"), bits=enc.bits,
                table_stride=(1 << enc.bits) if enc.per_channel else 0,
                row_bytes=enc.row_bytes), consts


def check_s4_depth(depth: int) -> None:
    """tg_dsp_s4_gemm_s8 sums 16 times the products in 32 bits."""
    if depth >= 131072:
        raise Declined("the int4 GEMM sums 16 times the products: depth must be below 131072")


def dsp_gemm_call(op: Op, ctx: LowerContext, enc: FilterEncoding, *, rows: int,
                  weights: np.ndarray, bias, input_zero_point: int, multiplier, shift,
                  per_channel: bool, output_offset: int, act_min: int, act_max: int,
                  inp: int, out: int, comment: str, macs: int, what: str) -> LayerCall:
    """FULLY_CONNECTED / pointwise CONV_2D with a compressed filter on the DSP GEMMs:
    tg_dsp_s4_gemm_s8 (int4) or tg_dsp_pal_gemm_s8 (palette: at least PALETTE_MIN_ROWS rows
    unless the user named the encoding for the layer)."""
    channels, depth = weights.shape
    if enc.encoding == "int4":
        check_s4_depth(depth)
        kernel, ptype, scratch = "tg_dsp_s4_gemm_s8", "tg_dsp_s4_gemm_params_t", []
    else:
        if rows < PALETTE_MIN_ROWS and not enc.forced:   # asked for: still the fastest
            raise Declined(f"a palette on {rows} row(s): looking the values up costs more "
                           f"than the multiplications (the DSP palette GEMM needs at least "
                           f"{PALETTE_MIN_ROWS} rows)")
        kernel, ptype, scratch = "tg_dsp_pal_gemm_s8", "tg_dsp_pal_gemm_params_t", [2 * depth]
    w, c_w = cw_field(ctx, enc, what, quads=enc.encoding == "int4")
    c_b, r_b = ctx.const("bias", "int32_t", folded_bias(bias, weights, input_zero_point),
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", multiplier, "Q31 output multiplier per "
                         "channel" if per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", shift, "output shift (power of two)")
    return LayerCall(
        op=op, kernel=kernel, params_type=ptype,
        params=dict(rows=rows, depth=depth, channels=channels, weights=w, bias=r_b,
                    multiplier=r_m, shift=r_s, per_channel=int(per_channel),
                    output_offset=output_offset, act_min=act_min, act_max=act_max),
        args=[TensorArg(inp), TensorArg(out)] + ([ScratchArg(0)] if scratch else []),
        consts=[*c_w, c_b, c_m, c_s], scratch=scratch,
        comment=comment + f"; filter {enc.label()}", macs=macs)


def sparse_consts(ctx: LowerContext, enc: FilterEncoding, channels: int, depth: int,
                  words: bool = False) -> tuple:
    """The sparse filter's two constants (codegen/encoding.py): the uint16 index stream
    and the entries' weights (`words`: a group's 4 as one little-endian int32, aligned)."""
    c_i, r_i = ctx.const("filter_sparse", "uint16_t",
                         np.ascontiguousarray(enc.data).view("<u2").astype(np.uint16),
                         f"{channels}x{depth} filter: per channel its groups of 4 entries, "
                         "then their 4-bit position deltas", encoding="sparse")
    table = np.ascontiguousarray(enc.table, np.int8)
    c_v, r_v = ctx.const("filter_values", "int32_t" if words else "int8_t",
                         table.view("<i4").astype(np.int32) if words else table,
                         f"the filter's {enc.label()[7:-1]} weights, with fillers and "
                         "padding (0)" + (", 4 a word" if words else ""))
    return c_i, r_i, c_v, r_v


def sparse_call(op: Op, ctx: LowerContext, enc: FilterEncoding, *, rows: int,
                weights: np.ndarray, bias, input_zero_point: int, multiplier, shift,
                per_channel: bool, output_offset: int, act_min: int, act_max: int,
                inp: int, out: int, comment: str, macs: int) -> LayerCall:
    """FULLY_CONNECTED / pointwise CONV_2D with a sparse filter on tg_sparse_gemm_s8."""
    channels, depth = weights.shape
    c_bm, r_bm, c_v, r_v = sparse_consts(ctx, enc, channels, depth)
    c_b, r_b = ctx.const("bias", "int32_t", folded_bias(bias, weights, input_zero_point),
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", multiplier, "Q31 output multiplier per "
                         "channel" if per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", shift, "output shift (power of two)")
    return LayerCall(
        op=op, kernel="tg_sparse_gemm_s8", params_type="tg_sparse_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, index=r_bm,
                    values=r_v, bias=r_b, multiplier=r_m,
                    shift=r_s, per_channel=int(per_channel), output_offset=output_offset,
                    act_min=act_min, act_max=act_max),
        args=[TensorArg(inp), TensorArg(out)],
        consts=[c_bm, c_v, c_b, c_m, c_s],
        comment=comment + f"; filter {enc.label()}", macs=macs)
