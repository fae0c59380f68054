"""What the lowerings of compressed filters share (codegen/encoding.py, runtime_c/tg_cw.h):
the layer's FilterEncoding and the `tg_cw_t` params field describing it."""
from __future__ import annotations

from codegen.encoding import FilterEncoding, int4_quads
from codegen.ir import CExpr, ConstArray
from codegen.lowering.base import Declined, LowerContext

INT4 = ("int4",)
ALL = ("int4", "palette")


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
