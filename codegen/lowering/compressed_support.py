"""What the lowerings of compressed filters share (codegen/encoding.py, runtime_c/tg_cw.h):
the layer's FilterEncoding and the `tg_cw_t` params field describing it."""
from __future__ import annotations

import numpy as np

from codegen.encoding import FilterEncoding, int4_quads, unpack_bits
from codegen.graph import Op
from codegen.ir import CExpr, ConstArray, LayerCall, ScratchArg, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.dsp_support import (gemm_overlaps, gemm_quant_table,
                                          require_word_scratch)
from codegen.ops.fully_connected import folded_bias

INT4 = ("int4",)
PALETTE = ("palette",)
SPARSE = ("sparse",)
ALL = ("int4", "palette")      # what tg_cw_t describes (tg_cw.h)
# tg_dsp_cw_gemm_s8's scratch: decoded weights of at most this many bytes (at least one
# channel triple); every row sign-extended (int16) once for all blocks when that takes at
# most CW_ROWS_BYTES (then blocks of up to CW_ONCE_BLOCK_BYTES: each block is a pass over
# the rows), else the results of CW_CHUNK_ROWS rows at a time
CW_BLOCK_BYTES = 4096
CW_ROWS_BYTES = 8192
CW_ONCE_BLOCK_BYTES = 6144
CW_CHUNK_ROWS = 16
# the cycles (against the int8 dsp GEMM) --compress auto accepts for a compressed filter on
# the DSP GEMMs (the goals of issue 14); a layer estimated slower keeps its int8 filter
AUTO_MAX_RATIO = {"int4": 1.15, "palette": 1.25}
# the estimate (emulated Cortex-M4, benchmarks/compress_bench.py): the int8 GEMM about
# 1.2 cycles a product and 25 an output; tg_dsp_cw_gemm_s8 adds the decoding (cycles per
# value), 2.2 per output copied and the sign extension of each row again per extra block;
# with the rows expanded once (ONCE_CYCLES: tg_cwg_s4 / tg_cwg_pal) cycles per value and
# per channel, and about 80 per row pair and block; tg_dsp_s4_gemm_s8 about 1.1x on one
# row, 1.4x on more
DECODE_CYCLES = {"int4": 3.6, 1: 5.0, 2: 5.5, 4: 5.3}
ONCE_CYCLES = {"int4": (1.07, 65), 1: (1.45, 155), 2: (2.6, 170), 4: (4.7, 90)}
S4_RATIO = (1.1, 1.4)
S4_MAX_ROWS = 3
# rows_outer (tg_dsp_cw_gemm.h): OUTER_ROWS rows at a time; per pair of rows and block
# (the rows-once path's), per byte copied out, per chunk and per chunk and block (fitted to
# 5 pointwise layers, within 1.5 % of the cycles they add: benchmarks/compress_bench.py
# --fit-pointwise, its FIT_OUTER)
OUTER_ROWS = 16
OUTER_PAIR = 80.0
OUTER_COPY = 0.21
OUTER_CHUNK = (377.0, 754.0)
# tg_dsp_cw_gemm_s8 in chunks of rows against tg_dsp_gemm_s8 (see cw_gemm_ratio): the int8
# GEMM per row (a product, a channel, the row), the decoding (times DECODE_CYCLES), per row
# the expansion of a 4-value step for every block after the first, a block's call and
# copy, and an output's byte
CHUNK_INT8 = (1.189, 11.95, 75.1)
CHUNK_DECODE = 1.28
CHUNK_EXPAND = 5.0
CHUNK_ROW = 73.5
CHUNK_COPY = 1.72
# a coded table decoded (tg_cw_table_coded, runtime_c/tg_cw.c; compress_bench.py, coded
# against plain tables: 196-199 cycles a decode on pal16-1x1-d256, pal16-fc-b8 and
# clu16-1x1-d16): once per channel, shared tables once per run of channels reading the same
# table in a block of the rows-once path (tg_cwg_pal keeps the last one decoded), every
# channel on the chunked path
EF_TABLE_CYCLES = 200


def require_filter(ctx: LowerContext, encodings: tuple[str, ...] = ALL) -> FilterEncoding:
    enc = ctx.filter
    if enc is None or enc.encoding not in encodings:   # selection asks only for these
        raise Declined(f"reads only filters stored as {', '.join(encodings)}")
    return enc


def require_kept(kernel_weights: np.ndarray, weights: np.ndarray) -> None:
    """Declined where the int8 kernel's setup changed the filter (it zeroes the weights of a
    channel whose output is always the zero point): a stored filter cannot change."""
    if not np.array_equal(kernel_weights, weights):
        raise Declined("an output channel whose result is always the output zero point "
                       "has non-zero weights")


def accept_estimate(enc: FilterEncoding, ratio: float, what: str) -> None:
    """Record a kernel's estimated cycles against the int8 filter's on `enc`; Declined when
    above the goal --compress auto accepts, unless the user named the encoding.  `what`:
    the decline's reason up to the ratio ('... about 1.20x the int8 X's cycles (why)')."""
    goal = AUTO_MAX_RATIO[enc.encoding]
    if ratio > goal and not enc.forced:
        raise Declined(f"{what}, above the {goal}x that --compress auto accepts")
    enc.cycles_ratio = ratio


def decode_key(enc: FilterEncoding):
    """The key of an encoding in the decoders' cycle tables: "int4", or the index bits."""
    return "int4" if enc.encoding == "int4" else enc.bits


def cw_field(ctx: LowerContext, enc: FilterEncoding, what: str,
             quads: bool = False, offset: bool = False) -> tuple[dict, list[ConstArray]]:
    """The `tg_cw_t` field (a nested params dict) and the constants it points at.
    `quads`: int4 rows in the DSP GEMM's layout (encoding.int4_quads); `offset`: int4 rows
    whose whole 8-value groups hold each value + 8 (nibble ^ 8), for tg_dsp_cw_gemm_s8
    with the rows expanded once (tg_dsp_cw_gemm.h)."""
    how = (f"int4, two values per byte ({enc.before} values)" if enc.encoding == "int4" else
           f"{enc.bits}-bit palette indices ({enc.before} values)")
    data = int4_quads(enc.data, enc.channels, enc.row_bytes) if quads else enc.data
    if offset:
        rows = np.array(data, np.uint8).reshape(enc.channels, enc.row_bytes)
        rows[:, :enc.before // enc.channels // 8 * 4] ^= 0x88
        data = rows.reshape(-1)
    c_d, r_d = ctx.const("filter_" + enc.encoding, "uint8_t", data,
                         f"{what}: {how}" + (", channels in fours" if quads else "") +
                         (", whole groups of 8 as value + 8" if offset else ""),
                         encoding=enc.encoding)
    consts = [c_d]
    table = refs = CExpr("NULL")
    if enc.encoding == "palette":
        n = enc.n_tables
        c_t, table = ctx.const("filter_table", "int8_t", enc.table,
                               f"{what}: palette, {1 << enc.bits} values "
                               + (f"in each of {n} shared tables" if enc.ref_bits else
                                  "per output channel" if enc.per_channel else "for the tensor")
                               + (f", each coded in {enc.table_bytes} bytes (tg_cw.h)"
                                  if enc.coded_tables else ""))
        consts.append(c_t)
        if enc.ref_bits:
            c_r, refs = ctx.const("filter_refs", "uint8_t", enc.refs,
                                  f"{what}: each output channel's table (x 2, + 1: negated), "
                                  f"{enc.ref_bits} bits each")
            consts.append(c_r)
    return dict(data=r_d, table=table, palette=int(enc.encoding == "palette"), bits=enc.bits,
                table_stride=enc.table_bytes if enc.per_channel else 0,
                row_bytes=enc.row_bytes, refs=refs, ref_bits=enc.ref_bits,
                table_coded=int(enc.coded_tables)), consts


def check_s4_depth(depth: int) -> None:
    """tg_dsp_s4_gemm_s8 sums 16 times the products in 32 bits."""
    if depth >= 131072:
        raise Declined("the int4 GEMM sums 16 times the products: depth must be below 131072")


def cw_blocks(channels: int, depth: int, rows: int) -> tuple[int, int]:
    """tg_dsp_cw_gemm_s8's channel block and row chunk: 0 for one block (no chunks), the
    rows when they are sign-extended once for every block (CW_ROWS_BYTES), else fewer."""
    quads, triples = -(-depth // 4), -(-channels // 3)
    # never the whole filter decoded (unless one triple): at most half its triples
    block = 3 * max(1, min(-(-triples // 2), CW_BLOCK_BYTES // (12 * quads)))
    if block >= channels:
        return block, 0
    if rows <= 2 or 16 * quads * -(-rows // 2) <= CW_ROWS_BYTES:
        # the rows expanded once: fewer, larger blocks (each costs a pass over the rows)
        block = 3 * max(1, min(-(-triples // 2), CW_ONCE_BLOCK_BYTES // (12 * quads)))
        return block, (0 if block >= channels else rows)
    return block, min(CW_CHUNK_ROWS, rows - 1) & ~1


def outer_blocks(channels: int, depth: int) -> tuple[int, int]:
    """tg_dsp_cw_gemm_s8's block and chunk with rows_outer: OUTER_ROWS rows at a time
    expanded once, against blocks as large as with every row expanded once."""
    quads, triples = -(-depth // 4), -(-channels // 3)
    return 3 * max(1, min(-(-triples // 2), CW_ONCE_BLOCK_BYTES // (12 * quads))), OUTER_ROWS


def cw_scratch(channels: int, depth: int, rows: int, rows_outer: bool = False) -> int:
    """tg_dsp_cw_gemm_s8's scratch bytes (tg_dsp_cw_gemm.h)."""
    quads = -(-depth // 4)
    if rows_outer:
        block, chunk = outer_blocks(channels, depth)
        return 4 * block * quads + 16 * quads * -(-chunk // 2) + chunk * channels
    block, chunk = cw_blocks(channels, depth, rows)
    if chunk >= rows:
        return 4 * block * quads + 16 * quads * -(-rows // 2)
    return 4 * block * quads + 16 * quads + chunk * block


def outer_ratio(enc: FilterEncoding, rows: int, channels: int, depth: int) -> float:
    """tg_dsp_cw_gemm_s8's cycles with rows_outer estimated against tg_dsp_gemm_s8's: the
    rows-once decoding again for every chunk of rows, OUTER_PAIR a pair of rows and block
    (the passes), OUTER_COPY a byte copied out, OUTER_CHUNK a chunk (and block)."""
    block, chunk = outer_blocks(channels, depth)
    blocks, chunks = -(-channels // block), -(-rows // chunk)
    key = decode_key(enc)
    per_value, per_channel = ONCE_CYCLES[key]
    int8 = rows * (CHUNK_INT8[0] * channels * depth + CHUNK_INT8[1] * channels +
                   CHUNK_INT8[2])
    decode = chunks * (per_value * channels * depth + per_channel * channels +
                       EF_TABLE_CYCLES * table_decodes(enc, block))
    extra = OUTER_PAIR * blocks * -(-rows // 2) + OUTER_COPY * rows * channels + \
        chunks * (OUTER_CHUNK[0] + OUTER_CHUNK[1] * blocks)
    return 1 + (decode + extra) / int8


def table_decodes(enc: FilterEncoding, block: int) -> int:
    """How many times a kernel decoding `block` channels at a time (tg_dsp_cw_gemm_s8 on
    either path, tg_dsp_cw_conv_s8) decodes a coded table (0 without them): per channel,
    or with shared tables per run of channels of a block reading the same table (the
    reference's table number, refs // 2)."""
    if not enc.coded_tables:
        return 0
    if not enc.ref_bits:
        return enc.channels
    tables = unpack_bits(enc.refs, enc.ref_bits, enc.channels) >> 1
    starts = np.arange(enc.channels) % max(block, 1) == 0
    starts[1:] |= tables[1:] != tables[:-1]
    return int(np.count_nonzero(starts))


def cw_gemm_ratio(enc: FilterEncoding, rows: int, channels: int, depth: int) -> float:
    """tg_dsp_cw_gemm_s8's cycles estimated against tg_dsp_gemm_s8's (the int8 filter)."""
    int8 = 1.2 * rows * channels * depth + 25 * rows * channels
    block, chunk = cw_blocks(channels, depth, rows)
    blocks = -(-channels // block)
    key = decode_key(enc)
    if chunk >= rows:              # the rows expanded once, the outputs straight in place
        per_value, per_channel = ONCE_CYCLES[key]
        decode = per_value * channels * depth + per_channel * channels
        extra = 80.0 * blocks * -(-rows // 2)
    elif blocks == 1:
        decode = DECODE_CYCLES[key] * channels * depth
        extra = 0.0
    else:
        # blocks of `chunk` rows (CHUNK_*: fitted to 9 pointwise layers with int4 filters,
        # 36-2304 rows, depth 8-128, 8-128 channels, within 5 %: `benchmarks/
        # compress_bench.py --fit-pointwise`): each block expands every
        # row again, a call and a copy per row and block, a byte copied per output
        int8 = rows * (CHUNK_INT8[0] * channels * depth + CHUNK_INT8[1] * channels +
                       CHUNK_INT8[2])
        decode = DECODE_CYCLES[key] * CHUNK_DECODE * channels * depth
        extra = rows * ((blocks - 1) * -(-depth // 4) * CHUNK_EXPAND + blocks * CHUNK_ROW +
                        channels * CHUNK_COPY)
    decode += EF_TABLE_CYCLES * table_decodes(enc, block)
    return 1 + (decode + extra) / int8


def dsp_gemm_call(op: Op, ctx: LowerContext, enc: FilterEncoding, *, rows: int,
                  weights: np.ndarray, bias, input_zero_point: int, multiplier, shift,
                  per_channel: bool, output_offset: int, act_min: int, act_max: int,
                  inp: int, out: int, comment: str, macs: int, what: str) -> LayerCall:
    """FULLY_CONNECTED / pointwise CONV_2D with a compressed filter on the DSP GEMMs:
    tg_dsp_cw_gemm_s8 (int4, palettes) or tg_dsp_s4_gemm_s8 (int4), whichever is estimated
    faster; declined when that is above AUTO_MAX_RATIO the int8 GEMM's cycles, unless the
    user named the encoding for the layer."""
    channels, depth = weights.shape
    ratio = cw_gemm_ratio(enc, rows, channels, depth)
    block, chunk = cw_blocks(channels, depth, rows)
    outer = False
    if 0 < chunk < rows and block < channels:
        # rows in chunks against several blocks: each chunk through every block instead
        # (the blocks decoded again for each), which lets the output overlap the input,
        # where that stays within the goal or is faster
        r_out = outer_ratio(enc, rows, channels, depth)
        if r_out <= AUTO_MAX_RATIO[enc.encoding] or r_out <= ratio:
            outer, ratio = True, r_out
    # (tg_dsp_s4_gemm_s8 measured 2.5-3.5x on thousands of rows of depth 8-16: a few
    # rows only, where the compressed GEMM's blocks cost most)
    s4 = enc.encoding == "int4" and rows <= S4_MAX_ROWS and S4_RATIO[rows > 1] < ratio
    best = S4_RATIO[rows > 1] if s4 else ratio
    accept_estimate(enc, best, f"{enc.label()} on {rows} row(s) of {depth}: about "
                    f"{best:.2f}x the int8 GEMM's cycles (decoding costs more than the rows "
                    "repay)")
    if not s4:
        return _cw_gemm_call(op, ctx, enc, rows=rows, weights=weights, bias=bias,
                             input_zero_point=input_zero_point, multiplier=multiplier,
                             shift=shift, output_offset=output_offset, act_min=act_min,
                             act_max=act_max, inp=inp, out=out, comment=comment, macs=macs,
                             what=what, rows_outer=outer)
    check_s4_depth(depth)
    w, c_w = cw_field(ctx, enc, what, quads=True)
    c_b, r_b = ctx.const("bias", "int32_t", folded_bias(bias, weights, input_zero_point),
                         "bias with the input zero point folded in")
    c_m, r_m = ctx.const("multiplier", "int32_t", multiplier, "Q31 output multiplier per "
                         "channel" if per_channel else "Q31 output multiplier")
    c_s, r_s = ctx.const("shift", "int32_t", shift, "output shift (power of two)")
    return LayerCall(
        op=op, kernel="tg_dsp_s4_gemm_s8", params_type="tg_dsp_s4_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, weights=w, bias=r_b,
                    multiplier=r_m, shift=r_s, per_channel=int(per_channel),
                    output_offset=output_offset, act_min=act_min, act_max=act_max),
        args=[TensorArg(inp), TensorArg(out)],
        consts=[*c_w, c_b, c_m, c_s],
        comment=comment + f"; filter {enc.label()}", macs=macs)


def _cw_gemm_call(op: Op, ctx: LowerContext, enc: FilterEncoding, *, rows: int,
                  weights: np.ndarray, bias, input_zero_point: int, multiplier, shift,
                  output_offset: int, act_min: int, act_max: int, inp: int, out: int,
                  comment: str, macs: int, what: str, rows_outer: bool = False) -> LayerCall:
    """tg_dsp_cw_gemm_s8: a channel block decoded once into the scratch for all rows (or,
    `rows_outer`, for each chunk of rows), the requantization constants of tg_dsp_gemm_s8
    (dsp_support.gemm_quant_table)."""
    channels, depth = weights.shape
    probe = np.array(weights, dtype=np.int8)
    biases, table, post = gemm_quant_table(probe, np.asarray(bias, np.int64).reshape(-1),
                                           input_zero_point, multiplier, shift,
                                           output_offset)
    require_kept(probe, weights)
    require_word_scratch(ctx)
    shared = table.size == 9
    block, chunk = outer_blocks(channels, depth) if rows_outer else \
        cw_blocks(channels, depth, rows)
    once = chunk >= rows or rows_outer          # rows expanded once: tg_cwg_s4 / tg_cwg_pal
    w, c_w = cw_field(ctx, enc, what, offset=enc.encoding == "int4" and once)
    c_b, r_b = ctx.const("bias", "int32_t", biases,
                         "biases with the input zero point folded in (channel triples)")
    c_q, r_q = ctx.const("quant", "int32_t", table,
                         ("for every channel: " if shared else "per channel triple: ") +
                         "multipliers 2M - 2^32, right shifts, rounding + offset")
    return LayerCall(
        op=op, kernel="tg_dsp_cw_gemm_s8", params_type="tg_dsp_cw_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, block=block, chunk=chunk,
                    rows_outer=int(rows_outer),
                    weights=w, bias=r_b, quant=r_q, quant_step=0 if shared else 9,
                    output_offset=post, act_min=act_min, act_max=act_max),
        args=[TensorArg(inp), TensorArg(out), ScratchArg(0)],
        consts=[*c_w, c_b, c_q], scratch=[cw_scratch(channels, depth, rows, rows_outer)],
        # every input row (of a chunk: rows_outer) read before any output (of the chunk)
        # is written, or tg_dsp_gemm_s8's own order (one block): in place as the int8
        # GEMM; blocks of chunks read every row again for each block
        overlaps=gemm_overlaps(out, inp, rows, depth, channels, None, True, ctx)
        if once or chunk == 0 else [],
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
