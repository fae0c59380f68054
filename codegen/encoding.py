"""Lossless filter encodings: the packing functions and the per-filter choice (pure numpy).

tinygen knows every weight at generation time, so a filter can be stored in the smallest
form that still gives exactly the same int8 values, read directly from flash by kernels
that know the form (runtime_c/tg_cw.h).  The encodings:

- "int4": every value in [-8, 7], two per byte.  Values go in groups of 8, one
  little-endian 32-bit word per group, value j at bit INT4_BITPOS[j] (12, 8, 28, 24, 4, 0,
  20, 16): shifted left by 0, 4, 8 or 12 bits and masked with 0xF000F000, the word gives
  the pairs (v0, v2), (v1, v3), (v4, v6), (v5, v7) times 4096 as the two int16 lanes the
  DSP kernels multiply with SMLAD against the input pairs SXTB16 makes, with no unpacking.
- "palette": k-bit indices (k = 1, 2 or 4) into tables of 2^k int8 values, one table per
  output channel or one for the tensor; index i sits at bit (i * k) % 8 of byte
  (i * k) // 8 (least significant first).  Shared tables: a few distinct tables for the
  tensor and per output channel a reference r (ref_bits bits, 1 to 8: as few as the largest
  reference needs, packed as one bit stream, pack_bits, a reference may span two bytes):
  the channel's values are table r // 2 negated when r is odd (clustered models quantized
  per channel repeat their tables, equal or equal up to sign).
  Coded tables (4-bit indices, per-channel or shared tables of "rows" filters): each table
  of 16 distinct values, sorted (a channel with fewer is padded with values it does not
  hold, never -128), in 12 bytes instead of 16 (Elias-Fano, pack_ef_table): u = v + 128
  strictly ascending; the low nibbles of u_0..u_15 in 8 bytes (u_i's at byte i // 2, the
  low nibble for even i), then one little-endian 32-bit word with bit (u_i >> 4) + i set
  for each i (16 ones): its i-th set bit, at b, gives u_i >> 4 = b - i.
- "sparse" (rows only): the non-zero values as entries (delta, weight), 4-bit deltas:
  per output channel, starting at position 0, each entry moves the position on by its
  delta (0..15) and multiplies the value there by its weight; a gap of more than 15 takes
  filler entries (delta 15, weight 0), and a channel's entries are padded to a multiple
  of 4 with (0, 0).  Stored as `index`, little-endian uint16: per channel the number of
  groups of 4 entries, then one uint16 per group (entry j's delta at bit 4 j), and the
  weights, 4 per group, in `table`; a channel of zeros is one uint16.  A kernel skips the
  zeros (TFLite int8 filters have zero point 0, so a skipped product is exactly zero).

Filters of FULLY_CONNECTED and CONV_2D are packed row by row (one row per output channel,
each starting on a byte boundary: int4 rows are padded to whole groups of 8 values, so
each row is whole 32-bit words); a DEPTHWISE_CONV_2D filter ([1, H, W, C], channel last)
is packed as one flat row, the table of element i being that of channel i % C.

`choose` decides per filter from its values: the smallest allowed encoding that saves at
least a quarter of the bytes (int4 over a palette that is not 20 % smaller: its kernels
need no table look-ups), with the reason; `FilterEncoding` carries the stored bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.errors import TinygenError

# the encodings --compress can name, and what they mean
KINDS = ("int4", "palette", "sparse")
DESCRIBE = {"int4": "all values in [-8, 7]: two per byte",
            "palette": "at most 2, 4 or 16 distinct values per output channel (or tensor): "
                       "1-, 2- or 4-bit indices into small tables",
            "sparse": "at least 80 % exact zeros: the non-zero values with 4-bit position "
                      "deltas (FULLY_CONNECTED and pointwise CONV_2D)"}
# auto stores a filter sparse from this fraction of zeros: where tg_dsp_sparse_gemm_s8 is
# faster than the int8 dsp GEMM with margin (emulated Cortex-M4, benchmarks/sparse_bench.py:
# at 80 % zeros 0.67x on a batch-1 FC, 0.50-0.60x on several rows; break-even near 70 %
# and 55 %), also once the dense GEMM is 25 % faster; named for a layer, any zeros
SPARSE_MIN_ZEROS = 0.8
MIN_SAVING = 0.25    # an encoding must save at least this fraction of the int8 bytes
INT4_EDGE = 0.8      # int4 is chosen over a palette storing more than this fraction of it


class EncodingChoiceError(TinygenError):
    """An encoding that was asked for cannot store this filter (says why)."""


# --- int4 ----------------------------------------------------------------------------------

def int4_row_bytes(n: int) -> int:
    """Bytes of one int4 row of n values (whole groups of 8 values, 4 bytes each)."""
    return (n + 7) // 8 * 4


INT4_BITPOS = (12, 8, 28, 24, 4, 0, 20, 16)


def pack_int4_row(values: np.ndarray) -> np.ndarray:
    """int8 values in [-8, 7] -> bytes in the grouped nibble layout (zero padded)."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    if v.size and (v.min() < -8 or v.max() > 7):
        raise EncodingChoiceError("int4 needs every value in [-8, 7]")
    groups = (v.size + 7) // 8
    padded = np.zeros(groups * 8, np.int64)
    padded[:v.size] = v
    nib = (padded & 0xF).reshape(groups, 8)
    words = (nib << np.array(INT4_BITPOS, np.int64)).sum(axis=1).astype("<u4")
    return words.view(np.uint8).copy()


def unpack_int4_row(data: np.ndarray, n: int) -> np.ndarray:
    """The inverse of pack_int4_row: the first n values."""
    words = np.ascontiguousarray(data, dtype=np.uint8).view("<u4").astype(np.int64)
    nib = (words.reshape(-1, 1) >> np.array(INT4_BITPOS, np.int64)) & 0xF
    return (((nib ^ 8) - 8).reshape(-1)[:n]).astype(np.int8)


def int4_quads(data: np.ndarray, channels: int, row_bytes: int) -> np.ndarray:
    """int4 rows re-laid out for the DSP GEMM (tg_dsp_s4_gemm.h): channels in fours, the
    words of group 0 of each of the four, then group 1, ...; the channels left as rows."""
    words = np.ascontiguousarray(data, np.uint8).view("<u4").reshape(channels, row_bytes // 4)
    quads = channels // 4 * 4
    head = words[:quads].reshape(-1, 4, row_bytes // 4).transpose(0, 2, 1).reshape(-1)
    return np.concatenate([head, words[quads:].reshape(-1)]).astype("<u4").view(np.uint8)


# --- palette -------------------------------------------------------------------------------

def palette_row_bytes(n: int, bits: int) -> int:
    return (n * bits + 7) // 8


def pack_indices(idx: np.ndarray, bits: int) -> np.ndarray:
    """k-bit indices -> bytes, index i at bit (i * k) % 8 of byte (i * k) // 8."""
    idx = np.asarray(idx, dtype=np.int64).reshape(-1)
    if bits not in (1, 2, 4):
        raise ValueError(f"palette indices are 1, 2 or 4 bits, not {bits}")
    if idx.size and (idx.min() < 0 or idx.max() >= 1 << bits):
        raise ValueError(f"index out of range for {bits}-bit indices")
    per = 8 // bits
    padded = np.zeros(palette_row_bytes(idx.size, bits) * per, np.int64)
    padded[:idx.size] = idx
    shifts = np.arange(per, dtype=np.int64) * bits
    return (padded.reshape(-1, per) << shifts).sum(axis=1).astype(np.uint8)


def unpack_indices(data: np.ndarray, bits: int, n: int) -> np.ndarray:
    b = np.asarray(data, dtype=np.int64).reshape(-1, 1)
    shifts = np.arange(8 // bits, dtype=np.int64) * bits
    return ((b >> shifts) & ((1 << bits) - 1)).reshape(-1)[:n]


def pack_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Unsigned values of 1..8 bits as one bit stream: value i at bit (i * bits) % 8 of byte
    (i * bits) // 8, least significant first, running on into the next byte when it does
    not fit (for 1, 2, 4 and 8 bits the layout of pack_indices / plain bytes)."""
    v = np.asarray(values, dtype=np.int64).reshape(-1)
    if not 1 <= bits <= 8:
        raise ValueError(f"bit fields are 1 to 8 bits, not {bits}")
    if v.size and (v.min() < 0 or v.max() >= 1 << bits):
        raise ValueError(f"value out of range for {bits}-bit fields")
    stream = ((v[:, None] >> np.arange(bits, dtype=np.int64)) & 1).reshape(-1)
    padded = np.zeros(palette_row_bytes(v.size, bits) * 8, np.int64)
    padded[:stream.size] = stream
    return (padded.reshape(-1, 8) << np.arange(8, dtype=np.int64)).sum(axis=1).astype(np.uint8)


def unpack_bits(data: np.ndarray, bits: int, n: int) -> np.ndarray:
    """The inverse of pack_bits: the first n values."""
    b = np.asarray(data, dtype=np.int64).reshape(-1, 1)
    stream = ((b >> np.arange(8, dtype=np.int64)) & 1).reshape(-1)[:n * bits]
    return (stream.reshape(n, bits) << np.arange(bits, dtype=np.int64)).sum(axis=1)


# --- coded tables (Elias-Fano) --------------------------------------------------------------

EF_TABLE_BYTES = 12      # a coded table of 16 int8 values


def pack_ef_table(table: np.ndarray) -> np.ndarray:
    """16 strictly ascending int8 values -> 12 bytes: u = v + 128; u_i's low nibble at byte
    i // 2 (the low one for even i), then the little-endian word with bit (u_i >> 4) + i."""
    t = np.asarray(table, dtype=np.int64).reshape(-1)
    if t.size != 16 or t.min() < -128 or t.max() > 127 or np.any(np.diff(t) <= 0):
        raise ValueError("a coded table holds 16 strictly ascending int8 values")
    u = t + 128
    lo = u & 15
    out = np.zeros(EF_TABLE_BYTES, np.uint8)
    out[:8] = lo[0::2] | (lo[1::2] << 4)
    word = sum(1 << int((u[i] >> 4) + i) for i in range(16))
    out[8:] = np.frombuffer(word.to_bytes(4, "little"), np.uint8)
    return out


def unpack_ef_table(data: np.ndarray) -> np.ndarray:
    """The inverse of pack_ef_table: the 16 int8 values (the i-th set bit b gives the high
    nibble b - i)."""
    d = np.asarray(data, dtype=np.int64).reshape(-1).astype(np.uint8).astype(np.int64)
    if d.size != EF_TABLE_BYTES:
        raise ValueError(f"a coded table is {EF_TABLE_BYTES} bytes, not {d.size}")
    word = int.from_bytes(bytes(d[8:].tolist()), "little")
    ones = [b for b in range(32) if word >> b & 1]
    if len(ones) != 16:
        raise ValueError(f"a coded table's high word has 16 bits set, not {len(ones)}")
    lo = np.stack([d[:8] & 15, d[:8] >> 4], axis=1).reshape(-1)
    hi = np.array(ones, np.int64) - np.arange(16)
    return ((hi << 4 | lo) - 128).astype(np.int8)


def ef_fill(values) -> np.ndarray:
    """At most 16 distinct int8 values padded to 16 distinct ones, sorted: the fillers are
    the values nearest 0 the set does not hold, never -128 (a table a channel reads negated
    must not gain one)."""
    have = sorted({int(x) for x in np.asarray(values).reshape(-1)})
    if len(have) > 16:
        raise ValueError(f"a coded table holds 16 values, not {len(have)}")
    fill = (x for a in range(128) for x in ((a, -a) if a else (0,)) if x not in have)
    return np.array(sorted(have + [next(fill) for _ in range(16 - len(have))]), np.int8)


# --- one filter ----------------------------------------------------------------------------

@dataclass
class FilterEncoding:
    """How one filter tensor is stored, and why."""

    encoding: str                 # "raw", "int4" or "palette"
    before: int                   # bytes as int8
    after: int                    # bytes as stored (indices and tables included)
    reason: str
    bits: int = 8                 # bits per stored value or index
    channels: int = 0             # output channels
    layout: str = "rows"          # "rows" (one row per output channel) or "flat"
    row_bytes: int = 0            # bytes per row ("rows" layout)
    per_channel: bool = False     # palette: one table per output channel
    data: np.ndarray | None = None    # packed values or indices (uint8)
    refs: np.ndarray | None = None    # palette, shared tables: packed per-channel references
    ref_bits: int = 0                 # bits per reference, 1..8 (0: no references)
    table: np.ndarray | None = None   # palette tables (int8): [channels][2^k] or [2^k];
                                      # sparse: the non-zero values
    forced: bool = False          # named for this layer (--compress-layer)
    coded_tables: bool = False    # palette: tables of 16 in 12 bytes each (pack_ef_table)
    cycles_ratio: float | None = None  # the kernel's cycles against the int8 filter's, as
                                       # its lowering estimates them (DSP kernels)

    @property
    def table_bytes(self) -> int:
        """Palette: the bytes one table takes as stored."""
        return EF_TABLE_BYTES if self.coded_tables else 1 << self.bits

    @property
    def n_tables(self) -> int:
        return self.table.size // self.table_bytes

    def table_values(self) -> np.ndarray:
        """Palette: the tables' values, [tables * 2^k] int8 (coded ones decoded)."""
        if not self.coded_tables:
            return self.table
        codes = np.asarray(self.table).view(np.uint8).reshape(-1, EF_TABLE_BYTES)
        return np.concatenate([unpack_ef_table(c) for c in codes])

    @property
    def encoded(self) -> bool:
        return self.encoding != "raw"

    def label(self) -> str:
        if self.encoding == "sparse":
            return f"sparse ({int(np.count_nonzero(self.table))} non-zero)"
        if self.encoding == "palette":
            ef = " ef" if self.coded_tables else ""
            if self.ref_bits:
                n = self.n_tables
                return f"palette{self.bits}/{n} table" + ("s" if n > 1 else "") + \
                    (" +-" if self.negated_channels() else "") + ef
            return f"palette{self.bits}" + ("/ch" if self.per_channel else "") + ef
        return self.encoding

    def negated_channels(self) -> int:
        """Shared tables: the channels reading their table negated."""
        if not self.ref_bits:
            return 0
        return int(np.count_nonzero(unpack_bits(self.refs, self.ref_bits, self.channels) & 1))

    def manifest(self) -> dict:
        out = dict(encoding=self.encoding, label=self.label(), bits=self.bits,
                   per_channel_tables=self.per_channel, bytes_int8=self.before,
                   bytes_stored=self.after, reason=self.reason)
        if self.encoding == "palette":
            out["coded_tables"] = self.coded_tables
        if self.cycles_ratio is not None:
            out["cycles_vs_int8_estimate"] = round(float(self.cycles_ratio), 3)
        if self.ref_bits:
            out["shared_tables"] = self.n_tables
            out["reference_bits"] = self.ref_bits
            out["negated_channels"] = self.negated_channels()
        return out


def _rows(values: np.ndarray, channel_axis: int) -> tuple[np.ndarray, str]:
    """The filter as rows to pack: [C, D] per output channel, or [1, N] flat (channel last)."""
    v = np.asarray(values)
    if channel_axis == 0:
        return v.reshape(v.shape[0], -1), "rows"
    return v.reshape(1, -1), "flat"


def _channel_of(values: np.ndarray, channel_axis: int) -> np.ndarray:
    """Per element of the flattened filter, its output channel."""
    v = np.asarray(values)
    c = v.shape[channel_axis]
    if channel_axis == 0:
        return np.repeat(np.arange(c), v.size // max(c, 1))
    return np.tile(np.arange(c), v.size // max(c, 1))


def encode_int4(values: np.ndarray, channel_axis: int = 0) -> FilterEncoding:
    rows, layout = _rows(values, channel_axis)
    rb = int4_row_bytes(rows.shape[1])
    data = np.concatenate([pack_int4_row(r) for r in rows]) if rows.size else \
        np.zeros(0, np.uint8)
    return FilterEncoding("int4", int(np.asarray(values).size), int(data.size), "",
                          bits=4, channels=int(np.asarray(values).shape[channel_axis]),
                          layout=layout, row_bytes=rb if layout == "rows" else 0, data=data)


def palette_tables(values: np.ndarray, channel_axis: int, bits: int,
                   per_channel: bool) -> np.ndarray | None:
    """Sorted distinct values (padded with 0) per channel [C, 2^k], or for the tensor
    [1, 2^k]; None when some channel (or the tensor) has more than 2^k."""
    v = np.asarray(values)
    k = 1 << bits
    groups = [np.moveaxis(v, channel_axis, 0).reshape(v.shape[channel_axis], -1)[c]
              for c in range(v.shape[channel_axis])] if per_channel else [v.reshape(-1)]
    out = np.zeros((len(groups), k), np.int8)
    for i, g in enumerate(groups):
        u = np.unique(g)
        if u.size > k:
            return None
        out[i, :u.size] = u
    return out


def _pack_palette_indices(v: np.ndarray, channel_axis: int, idx: np.ndarray,
                          bits: int) -> tuple[np.ndarray, str, int]:
    """The k-bit indices `idx` (one per value of v, in v's order) packed as the filter's
    layout wants them (_rows): each row from a byte of its own ("rows"), or one stream
    ("flat"); -> (data, layout, row bytes: 0 for "flat")."""
    rows, layout = _rows(v, channel_axis)
    if layout != "rows":
        return pack_indices(idx, bits), layout, 0
    n = rows.shape[1]
    data = np.concatenate([pack_indices(idx[r * n:(r + 1) * n], bits)
                           for r in range(rows.shape[0])]) if rows.size else \
        np.zeros(0, np.uint8)
    return data, layout, palette_row_bytes(n, bits)


def _check_coded(bits: int, channel_axis: int, per_channel: bool = True) -> None:
    if bits != 4 or channel_axis != 0 or not per_channel:
        raise ValueError("coded tables are for 4-bit indices into per-channel or shared "
                         "tables of filters stored row by row")


def _ef_tables(tables: np.ndarray) -> np.ndarray:
    """Tables [T][16] (their distinct values; zeros as padding) padded to 16 distinct
    values each (ef_fill), sorted."""
    return np.array([ef_fill(np.unique(t)) for t in tables], np.int8).reshape(-1, 16)


def _ef_codes(tables: np.ndarray) -> np.ndarray:
    """Tables [T][16] of distinct sorted values -> their codes, [T * 12] (int8)."""
    if not len(tables):
        return np.zeros(0, np.int8)
    return np.concatenate([pack_ef_table(t) for t in tables]).view(np.int8)


def encode_palette(values: np.ndarray, bits: int, per_channel: bool,
                   channel_axis: int = 0, coded: bool = False) -> FilterEncoding:
    """k-bit indices into one table per output channel or one for the tensor; `coded`:
    16-value tables in 12 bytes each (4-bit indices, per channel, rows only)."""
    v = np.asarray(values).astype(np.int8)
    if coded:
        _check_coded(bits, channel_axis, per_channel)
    tables = palette_tables(v, channel_axis, bits, per_channel)
    if tables is None:
        where = "some output channel has" if per_channel else "the filter has"
        raise EncodingChoiceError(f"{where} more than {1 << bits} distinct values")
    flat = v.reshape(-1)
    chans = _channel_of(v, channel_axis) if per_channel else np.zeros(flat.size, np.int64)
    if coded:     # each channel's values padded to 16 distinct ones
        tables = np.array([ef_fill(np.unique(flat[chans == c]))
                           for c in range(tables.shape[0])], np.int8).reshape(-1, 16)
    # index of each value in its table (tables are sorted; padding zeros come after)
    idx = np.empty(flat.size, np.int64)
    for c in range(tables.shape[0]):
        sel = chans == c
        used = tables[c] if coded else np.unique(flat[sel]) if per_channel else np.unique(flat)
        idx[sel] = np.searchsorted(used, flat[sel])
    data, layout, rb = _pack_palette_indices(v, channel_axis, idx, bits)
    table = _ef_codes(tables) if coded else tables.reshape(-1)
    return FilterEncoding("palette", int(v.size), int(data.size + table.size), "", bits=bits,
                          channels=int(v.shape[channel_axis]), layout=layout, row_bytes=rb,
                          per_channel=per_channel, data=data, table=table, coded_tables=coded)


SPARSE_GROUP = 4       # entries per uint16 of deltas
SPARSE_MAX_DELTA = 15


def sparse_entries(row: np.ndarray) -> tuple[list[int], list[int]]:
    """One row's (deltas, weights) entries: fillers for gaps over 15, padded to groups."""
    deltas: list[int] = []
    weights: list[int] = []
    pos = 0
    for i in np.flatnonzero(row):
        gap = int(i) - pos
        while gap > SPARSE_MAX_DELTA:
            deltas.append(SPARSE_MAX_DELTA)
            weights.append(0)
            gap -= SPARSE_MAX_DELTA
        deltas.append(gap)
        weights.append(int(row[i]))
        pos = int(i)
    pad = -len(deltas) % SPARSE_GROUP
    return deltas + [0] * pad, weights + [0] * pad


MAX_SHARED_TABLES = 128    # references are at most 8 bits: table number and sign


def share_tables(values: np.ndarray, channel_axis: int, bits: int) -> \
        tuple[np.ndarray, np.ndarray] | None:
    """Per-channel value sets merged into few tables of 2^k values: (tables [T][2^k] int8,
    refs [C]: 2 t + 1 if the channel's values are table t negated, else 2 t), or None when
    a channel has more than 2^k values or more than MAX_SHARED_TABLES tables are needed.
    Greedy, largest sets first: each channel goes to the table (as is or negated) that
    already holds most of its values and has room for the rest."""
    v = np.asarray(values)
    rows = np.moveaxis(v, channel_axis, 0).reshape(v.shape[channel_axis], -1)
    k = 1 << bits
    sets = [frozenset(int(x) for x in np.unique(r)) for r in rows]
    if any(len(s) > k for s in sets):
        return None
    tables: list[list[int]] = []
    members: list[set[int]] = []
    refs = np.zeros(len(sets), np.int64)
    for c in sorted(range(len(sets)), key=lambda c: (-len(sets[c]), c)):
        forms = [(0, sets[c])]
        if -128 not in sets[c]:
            forms.append((1, frozenset(-x for x in sets[c])))
        best = None
        for t, have in enumerate(members):
            for neg, want in forms:
                grow = len(want - have)
                if len(have) + grow <= k and (best is None or grow < best[0]):
                    best = (grow, t, neg, want)
            if best is not None and best[0] == 0:
                break
        if best is None:
            if len(tables) == MAX_SHARED_TABLES:
                return None
            tables.append(sorted(sets[c]))
            members.append(set(sets[c]))
            refs[c] = 2 * (len(tables) - 1)
        else:
            _, t, neg, want = best
            tables[t] += sorted(want - members[t])
            members[t] |= want
            refs[c] = 2 * t + neg
    out = np.zeros((len(tables), k), np.int8)
    for t, tab in enumerate(tables):
        out[t, :len(tab)] = tab
    return out, refs


def encode_palette_shared(values: np.ndarray, bits: int, channel_axis: int = 0,
                          coded: bool = False) -> FilterEncoding | None:
    """k-bit indices into shared tables (share_tables), or None when they do not apply;
    `coded`: the tables padded to 16 distinct values, in 12 bytes each (4-bit, rows)."""
    v = np.asarray(values).astype(np.int8)
    if coded:
        _check_coded(bits, channel_axis)
    shared = share_tables(v, channel_axis, bits)
    if shared is None:
        return None
    tables, refs = shared
    if coded:
        tables = _ef_tables(tables)
    flat = v.reshape(-1).astype(np.int64)
    r = refs[_channel_of(v, channel_axis)]
    want = np.where(r & 1, -flat, flat)              # the value to find in the table
    rows_t = tables.astype(np.int64)[r >> 1]         # [elements][2^k]
    hit = rows_t == want[:, None]
    hit[:, 1:] &= ~np.cumsum(hit, axis=1)[:, :-1].astype(bool)   # the first match
    idx = np.argmax(hit, axis=1)
    data, layout, rb = _pack_palette_indices(v, channel_axis, idx, bits)
    ref_bits = max(int(refs.max(initial=0)).bit_length(), 1)    # 1..8 bits, no rounding up
    packed = pack_bits(refs, ref_bits)
    table = _ef_codes(tables) if coded else tables.reshape(-1)
    return FilterEncoding("palette", int(v.size), int(data.size + table.size + packed.size),
                          "", bits=bits, channels=int(v.shape[channel_axis]), layout=layout,
                          row_bytes=rb, per_channel=True, data=data, table=table,
                          refs=packed, ref_bits=ref_bits, coded_tables=coded)


def encode_sparse(values: np.ndarray) -> FilterEncoding:
    """Rows [C, ...] -> the uint16 index stream (groups per row, then the 4-bit deltas of
    each group) and the entries' weights (row order)."""
    v = np.asarray(values).astype(np.int8)
    rows = v.reshape(v.shape[0], -1)
    index: list[int] = []
    weights: list[int] = []
    for row in rows:
        d, w = sparse_entries(row)
        groups = len(d) // SPARSE_GROUP
        if groups > 0xFFFF:
            raise EncodingChoiceError(f"sparse: {groups} groups of entries in a row (at "
                                      "most 65535)")
        index.append(groups)
        for g in range(groups):
            index.append(sum(d[g * SPARSE_GROUP + j] << (4 * j) for j in range(SPARSE_GROUP)))
        weights += w
    data = np.array(index, "<u2").view(np.uint8).copy()
    table = np.array(weights, np.int8)
    return FilterEncoding("sparse", int(v.size), int(data.size + table.size), "", bits=4,
                          channels=rows.shape[0], layout="rows", data=data, table=table)


def decode(enc: FilterEncoding, shape: tuple[int, ...], channel_axis: int = 0) -> np.ndarray:
    """The int8 filter an encoding stores (for tests: decode(encode(x)) == x)."""
    n = int(np.prod(shape))
    c = shape[channel_axis]
    if enc.encoding == "int4":
        if enc.layout == "rows":
            d = n // max(c, 1)
            rows = [unpack_int4_row(enc.data[r * enc.row_bytes:(r + 1) * enc.row_bytes], d)
                    for r in range(c)]
            return np.concatenate(rows).reshape(shape) if rows else np.zeros(shape, np.int8)
        return unpack_int4_row(enc.data, n).reshape(shape)
    if enc.encoding == "palette":
        if enc.layout == "rows":
            d = n // max(c, 1)
            idx = np.concatenate([unpack_indices(enc.data[r * enc.row_bytes:
                                                          (r + 1) * enc.row_bytes], enc.bits, d)
                                  for r in range(c)])
        else:
            idx = unpack_indices(enc.data, enc.bits, n)
        k = 1 << enc.bits
        chans = _channel_of(np.zeros(shape), channel_axis)
        table = enc.table_values()
        if enc.ref_bits:
            refs = unpack_bits(enc.refs, enc.ref_bits, c)[chans]
            vals = table[(refs >> 1) * k + idx].astype(np.int64)
            return np.where(refs & 1, -vals, vals).astype(np.int8).reshape(shape)
        base = (chans * k) if enc.per_channel else 0
        return table[base + idx].astype(np.int8).reshape(shape)
    if enc.encoding == "sparse":
        d = n // max(c, 1)
        index = np.ascontiguousarray(enc.data).view("<u2").astype(np.int64)
        out = np.zeros((c, d), np.int64)
        k = e = 0
        for r in range(c):
            groups, pos = int(index[k]), 0
            for g in index[k + 1:k + 1 + groups]:
                for j in range(SPARSE_GROUP):
                    pos += (int(g) >> (4 * j)) & 15
                    out[r, pos] += int(enc.table[e])
                    e += 1
            k += 1 + groups
        return out.astype(np.int8).reshape(shape)
    raise ValueError(f"decode: {enc.encoding!r} is not an encoding of a packed filter")


def candidates(values: np.ndarray, channel_axis: int, allowed: tuple[str, ...],
               forced: bool = False) -> tuple[list[FilterEncoding], list[str]]:
    """Every allowed encoding that can store the filter, and why the others cannot
    (sparse below SPARSE_MIN_ZEROS only when `forced`: the threshold is a speed rule)."""
    v = np.asarray(values)
    out: list[FilterEncoding] = []
    why: list[str] = []
    if "int4" in allowed:
        if v.size and (v.min() < -8 or v.max() > 7):
            why.append(f"int4: values outside [-8, 7] (from {int(v.min())} to {int(v.max())})")
        else:
            out.append(encode_int4(v, channel_axis))
    if "palette" in allowed:
        n_ch = max((np.unique(np.moveaxis(v, channel_axis, 0)[c]).size
                    for c in range(v.shape[channel_axis])), default=0)
        n_all = np.unique(v).size
        for bits in (1, 2, 4):
            if n_all <= 1 << bits:
                out.append(encode_palette(v, bits, False, channel_axis))
            if n_ch <= 1 << bits:
                # 4-bit tables of a filter stored row by row also coded (12 bytes a table)
                for coded in (False, True) if bits == 4 and channel_axis == 0 else (False,):
                    out.append(encode_palette(v, bits, True, channel_axis, coded))
                    if n_all > 1 << bits:
                        shared = encode_palette_shared(v, bits, channel_axis, coded)
                        if shared is not None:
                            out.append(shared)
        if n_ch > 16:
            why.append(f"palette: up to {n_ch} distinct values in an output channel (more "
                       "than 16)")
    if "sparse" in allowed and channel_axis == 0 and v.size:
        zeros = float(np.mean(v == 0))
        if zeros >= SPARSE_MIN_ZEROS or (forced and zeros > 0):
            try:
                out.append(encode_sparse(v))
            except EncodingChoiceError as e:       # a row too long for its group count
                why.append(str(e))
        else:
            why.append(f"sparse: {zeros:.0%} zeros (needs {SPARSE_MIN_ZEROS:.0%})")
    return out, why


def raw(values: np.ndarray, reason: str) -> FilterEncoding:
    n = int(np.asarray(values).size)
    return FilterEncoding("raw", n, n, reason)


def choose(values: np.ndarray, channel_axis: int, allowed: tuple[str, ...],
           forced: bool = False) -> FilterEncoding:
    """The encoding to store an int8 filter in: the smallest of `allowed` (KINDS), kept only
    when it saves at least MIN_SAVING of the int8 bytes (any saving when `forced`: the user
    named the encodings for this layer).  Raw, with the reason, otherwise; with `forced`,
    an EncodingChoiceError saying why none of the named encodings can store it."""
    v = np.asarray(values)
    if not allowed:
        return raw(v, "compression off")
    if v.dtype != np.int8:
        return raw(v, f"filter is {v.dtype}, not int8")
    cands, why = candidates(v, channel_axis, allowed, forced)
    if not cands:
        if forced:
            raise EncodingChoiceError("; ".join(why))
        return raw(v, "; ".join(why) or "no encoding applies")
    # smallest; on a tie the faster kind (int4, then one table, then fewer bits).  int4
    # has the fastest kernels (no table look-ups): it is kept unless a palette stores
    # under INT4_EDGE of its bytes
    rank = {"int4": 0, "palette": 1, "sparse": 2}
    best = min(cands, key=lambda e: (e.after, rank[e.encoding], e.per_channel, e.ref_bits,
                                     e.bits, e.coded_tables))
    int4 = [e for e in cands if e.encoding == "int4"]
    if int4 and best.after >= INT4_EDGE * int4[0].after:
        best = int4[0]
    saving = 1 - best.after / max(best.before, 1)
    if best.after >= best.before or (saving < MIN_SAVING and not forced):
        return raw(v, f"{best.label()} would store {best.after} of {best.before} bytes "
                      f"(saves less than {MIN_SAVING:.0%})")
    best.forced = forced
    best.reason = (f"{best.label()}: {best.after} of {best.before} bytes "
                   f"({best.after / max(best.before, 1):.2f}x)")
    return best


# --- the option ----------------------------------------------------------------------------

def parse_compress(text: str | None, what: str = "--compress") -> tuple[str, ...]:
    """'auto' -> every kind; 'none' -> (); 'int4,palette' -> those (checked)."""
    if text is None:
        return ()
    names = [n.strip() for n in text.split(",") if n.strip()]
    if names == ["auto"]:
        return KINDS
    if names == ["none"]:
        return ()
    bad = [n for n in names if n not in KINDS]
    if bad or not names:
        raise EncodingChoiceError(
            f"{what}: unknown encoding {', '.join(map(repr, bad)) or repr(text)}; write "
            f"auto, none or a list of {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in names)


def parse_layer_compress(specs: list[str] | None) -> dict[int, tuple[str, ...]]:
    """['7=int4', '12=none'] -> {7: ('int4',), 12: ()} (--compress-layer)."""
    out: dict[int, tuple[str, ...]] = {}
    for spec in specs or []:
        layer, sep, kinds = spec.partition("=")
        if not sep or not layer.strip().isdigit():
            raise EncodingChoiceError(
                f"--compress-layer {spec!r}: write LAYER=ENCODING, for example "
                "--compress-layer 7=int4 or 7=none (layer numbers are in the layer table)")
        n = int(layer)
        if n in out:
            raise EncodingChoiceError(f"--compress-layer: layer {n} is given twice")
        out[n] = parse_compress(kinds, f"--compress-layer {spec}")
    return out
