"""Lossless filter compression (codegen/encoding.py, --compress): the packing functions and
the chooser (pure), and single-op models whose filters are int4-ranged, drawn from small
palettes per channel or with whole zero channels, generated compressed and checked bit for
bit against TFLM (the model itself is an ordinary int8 model) on the host, under
ASan/UBSan, and on the emulated Cortex-M4."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import zlib

import numpy as np
import pytest

from codegen.encoding import (KINDS, EncodingChoiceError, choose, decode, encode_int4,
                              encode_palette, encode_palette_shared, encode_sparse, pack_bits,
                              pack_indices, pack_int4_row, parse_compress,
                              parse_layer_compress, unpack_bits, unpack_indices,
                              unpack_int4_row)
from codegen.errors import TinygenError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.conv_models import SAME, VALID, ConvCase, add_layer
from tests.harness import assert_bit_exact
from tests.test_dsp_kernels import add_fc
from tests.test_hostile_cclean import CPPCHECK

DSP = ["dsp", "portable"]


# --- values ----------------------------------------------------------------------------------

def draw(rng: np.random.Generator, kind: str, shape, axis: int) -> np.ndarray:
    """Filter values of a kind: "int4" (all in [-8, 7]); "pal<n>" (n distinct values per
    output channel, from the int8 range); "tpal<n>" (n for the tensor); "clu<n>" (a clustered
    model's, see clustered); "zeros" (80 % exact zeros, two whole zero channels, the rest
    any int8)."""
    shape = tuple(shape)
    c = shape[axis]
    if kind.startswith("clu"):
        return clustered(rng, shape, int(kind[3:]), axis)
    if kind == "int4":
        return rng.integers(-8, 8, shape).astype(np.int8)
    if kind.startswith("tpal"):
        pal = rng.choice(np.arange(-127, 128), int(kind[4:]), replace=False)
        return pal[rng.integers(0, pal.size, shape)].astype(np.int8)
    moved = (shape[axis],) + tuple(s for i, s in enumerate(shape) if i != axis)
    out = np.zeros(moved, np.int64)
    for ch in range(c):
        if kind.startswith("pal"):
            pal = rng.choice(np.arange(-127, 128), int(kind[3:]), replace=False)
            out[ch] = pal[rng.integers(0, pal.size, moved[1:])]
        elif kind == "zeros":
            if ch not in (0, c // 2):
                v = rng.integers(-127, 128, moved[1:])
                out[ch] = np.where(rng.random(moved[1:]) < 0.8, 0, v)
        else:
            raise ValueError(kind)
    return np.moveaxis(out, 0, axis).astype(np.int8)


def clustered(rng: np.random.Generator, shape, clusters: int, axis: int) -> np.ndarray:
    """A clustered filter as the tools write it: the tensor's float weights take `clusters`
    centroids, a per-channel batch-norm scale (of either sign) is folded in, and each output
    channel is quantized symmetrically (scale max |w| / 127): channels using the largest
    centroid get the same table up to sign, the others tables of their own scale."""
    c = shape[axis]
    moved = (c,) + tuple(s for i, s in enumerate(shape) if i != axis)
    col = (-1,) + (1,) * (len(moved) - 1)
    centroids = rng.normal(0, 1, clusters)
    bn = rng.uniform(0.2, 2.0, c) * rng.choice([-1, 1], c)
    w = centroids[rng.integers(0, clusters, moved)] * bn.reshape(col)
    scale = np.abs(w).reshape(c, -1).max(axis=1) / 127
    q = np.clip(np.round(w / scale.reshape(col)), -127, 127)
    return np.moveaxis(q, 0, axis).astype(np.int8)


def set_filter(m: ModelWriter, values: np.ndarray) -> None:
    """Replace the filter of the model's last operator."""
    t = m.tensors[m.ops[-1].inputs[1]]
    assert tuple(t.shape) == values.shape
    m.buffers[t.buffer] = np.ascontiguousarray(values, np.int8).tobytes()


# --- packing and choice (pure) ------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 7, 8, 9, 16, 23])
def test_int4_pack_round_trip(n):
    rng = np.random.default_rng(n)
    v = rng.integers(-8, 8, n).astype(np.int8)
    packed = pack_int4_row(v)
    assert packed.size == (n + 7) // 8 * 4
    assert np.array_equal(unpack_int4_row(packed, n), v)
    # the documented layout: value j of a group at bit INT4_BITPOS[j] of its word
    full = np.zeros(8, np.int64)
    full[:min(n, 8)] = v[:8]
    word = int(packed[:4].view("<u4")[0])
    assert [((word >> p) & 15) for p in (12, 8, 28, 24, 4, 0, 20, 16)] == list(full & 15)
    with pytest.raises(EncodingChoiceError):
        pack_int4_row(np.array([8]))


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_indices_round_trip(bits):
    rng = np.random.default_rng(bits)
    idx = rng.integers(0, 1 << bits, 37)
    packed = pack_indices(idx, bits)
    assert packed.size == (37 * bits + 7) // 8
    assert np.array_equal(unpack_indices(packed, bits, 37), idx)
    assert int(packed[0]) & ((1 << bits) - 1) == idx[0]      # least significant first


@pytest.mark.parametrize("bits", range(1, 9))
def test_bit_fields_round_trip(bits):
    """References of any width 1..8: one bit stream, least significant first, a field
    running on into the next byte; for 1, 2, 4 bits the indices' layout, for 8 bytes."""
    rng = np.random.default_rng(bits)
    v = rng.integers(0, 1 << bits, 29)
    packed = pack_bits(v, bits)
    assert packed.size == (29 * bits + 7) // 8
    assert np.array_equal(unpack_bits(packed, bits, 29), v)
    if bits in (1, 2, 4):
        assert np.array_equal(packed, pack_indices(v, bits))
    if bits == 8:
        assert np.array_equal(packed, v.astype(np.uint8))
    stream = int.from_bytes(packed.tobytes(), "little")
    assert [(stream >> (i * bits)) & ((1 << bits) - 1) for i in range(29)] == v.tolist()
    with pytest.raises(ValueError):
        pack_bits([1 << bits], bits)


@pytest.mark.parametrize("kind,shape,axis", [
    ("int4", (5, 3, 3, 7), 0), ("pal2", (6, 19), 0), ("pal4", (4, 1, 1, 33), 0),
    ("pal16", (3, 2, 2, 9), 0), ("tpal4", (7, 11), 0), ("pal4", (1, 3, 3, 10), 3),
    ("int4", (1, 3, 3, 10), 3), ("tpal2", (1, 2, 3, 5), 3), ("zeros", (6, 70), 0),
    ("zeros", (5, 1, 1, 33), 0)])
def test_encode_decode_round_trip(kind, shape, axis):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{shape}".encode()))
    v = draw(rng, kind, shape, axis)
    encs = [encode_palette(v, b, pc, axis) for b in (1, 2, 4) for pc in (False, True)
            if _fits(v, axis, b, pc)]
    if v.min() >= -8 and v.max() <= 7:
        encs.append(encode_int4(v, axis))
    if kind == "zeros":
        encs.append(encode_sparse(v))
    assert encs
    for e in encs:
        assert np.array_equal(decode(e, v.shape, axis), v), e.label()
        assert e.after == e.data.size + (e.table.size if e.table is not None else 0)


def _fits(v, axis, bits, per_channel):
    if per_channel:
        return max(np.unique(np.take(v, c, axis=axis)).size
                   for c in range(v.shape[axis])) <= 1 << bits
    return np.unique(v).size <= 1 << bits


def _sparse_groups(row) -> int:
    """Groups of 4 entries the sparse encoding stores for a row: one entry per non-zero
    value and one filler per 15 zeros beyond the first 15 of a gap."""
    where = np.flatnonzero(row)
    gaps = np.diff(np.concatenate([[0], where]))
    entries = int(sum(max(1, -(-int(g) // 15)) for g in gaps))
    return -(-entries // 4)


def test_chooser_picks_smallest_and_says_why():
    rng = np.random.default_rng(1)
    int4 = draw(rng, "int4", (16, 64), 0)
    e = choose(int4, 0, KINDS)
    assert e.encoding == "int4" and e.after == 16 * 32 and e.before == 1024
    assert "int4" in e.reason and "0.50x" in e.reason
    pal2 = draw(rng, "pal2", (16, 64), 0)          # 1-bit indices + 2 entries per channel
    e = choose(pal2, 0, KINDS)
    assert (e.encoding, e.bits, e.per_channel) == ("palette", 1, True)
    assert e.after == 16 * 8 + 16 * 2
    dense = rng.integers(-128, 128, (16, 64)).astype(np.int8)
    tpal4 = draw(rng, "tpal4", (16, 64), 0)        # one table beats one per channel
    e = choose(tpal4, 0, KINDS)
    assert (e.encoding, e.bits, e.per_channel, e.after) == ("palette", 2, False, 256 + 4)
    # int4-ranged with few values: the smaller palette wins over int4 unless only int4
    assert choose(np.tile([[-3, 5]], (8, 32)).astype(np.int8), 0, KINDS).encoding == "palette"
    assert choose(np.tile([[-3, 5]], (8, 32)).astype(np.int8), 0, ("int4",)).encoding == "int4"
    # 80 % zeros, two whole zero channels: per channel a uint16 count of groups, then a
    # uint16 of 4 deltas and 4 weights a group of entries (a gap over 15 takes fillers)
    zeros = draw(rng, "zeros", (16, 64), 0)
    e = choose(zeros, 0, KINDS)
    assert e.encoding == "sparse"
    assert e.after == sum(2 + 6 * _sparse_groups(row) for row in zeros)
    assert e.after < 0.4 * e.before
    assert not np.any(decode(e, zeros.shape)[0]) and not np.any(decode(e, zeros.shape)[8])
    half = np.where(np.arange(64) % 2 == 0, 0, dense)      # 50 % zeros: too slow to skip
    assert "sparse: 50% zeros (needs 80%)" in choose(half.astype(np.int8), 0, KINDS).reason
    assert choose(draw(rng, "zeros", (1, 3, 3, 16), 3), 3, KINDS).encoding != "sparse"
    # nothing applies: raw, with the reasons
    dense = rng.integers(-128, 128, (16, 64)).astype(np.int8)
    e = choose(dense, 0, KINDS)
    assert e.encoding == "raw" and e.after == e.before
    assert "outside [-8, 7]" in e.reason and "distinct values" in e.reason
    # too small to gain: a 3x3 depthwise filter's 16-entry tables cost more than the values
    e = choose(draw(rng, "pal16", (1, 3, 3, 8), 3), 3, KINDS)
    assert e.encoding == "raw" and "saves less" in e.reason
    with pytest.raises(EncodingChoiceError, match="outside"):
        choose(dense, 0, ("int4",), forced=True)
    assert choose(dense, 0, ()).encoding == "raw"


def test_shared_tables_by_hand():
    """Channels with equal tables, tables equal up to sign, a subset, and one that cannot be
    negated (-128) share tables: the references and bytes, and the values decode back."""
    v = np.array([[1, 2, 3, 1], [-1, -2, -3, -3], [2, 3, 3, 2], [-128, 5, 5, 5],
                  [9, 8, 9, 8]], np.int8)
    e = encode_palette_shared(v, 2)
    assert e.table.reshape(-1, 4).tolist() == [[1, 2, 3, 0], [-128, 5, 8, 9]]
    refs = unpack_indices(e.refs, e.ref_bits, 5)
    assert refs.tolist() == [0, 1, 0, 2, 2] and e.ref_bits == 2
    assert e.after == 5 + 8 + 2 and e.label() == "palette2/2 tables +-"
    assert np.array_equal(decode(e, v.shape), v)
    assert encode_palette_shared(np.arange(-8, 8, dtype=np.int8).reshape(1, 16), 2) is None


def disjoint_tables(rng: np.random.Generator, units: int, depth: int) -> np.ndarray:
    """A 2-bit palette filter [units, depth] needing many shared tables: channel c takes the
    4 values of set c % 12 (disjoint sets, the last one holding -128), channels from 12 on
    negated (those of the -128 set cannot be: they get a table of their own), every value
    of the set present once at least."""
    sets = [[10 * t + 1, 10 * t + 2, 10 * t + 5, 10 * t + 9] for t in range(11)]
    sets.append([-128, -120, 125, 126])
    out = np.zeros((units, depth), np.int64)
    for c in range(units):
        vals = np.array(sets[c % 12]) * (-1 if c >= 12 and c % 12 != 11 else 1)
        row = np.concatenate([vals, vals[rng.integers(0, 4, depth - 4)]])
        out[c] = rng.permutation(row)
    return out.astype(np.int8)


def signed_tables() -> np.ndarray:
    """Six 2-bit channels sharing 3 tables: as is, negated, -128 (never negated: a table
    of its own), a subset; references 0, 1, 2, 4, 5, 2: 3 bits, spanning bytes."""
    return np.array([[1, 2, 3, 4], [-1, -2, -3, -4], [-128, -1, -2, -3], [1, 2, 3, 127],
                     [-1, -2, -3, -127], [-2, -128, -1, -1]], np.int8)


def two_value_tables(rng: np.random.Generator, units: int, depth: int) -> np.ndarray:
    """A 1-bit palette filter sharing 3 tables: {-7, 3}, negated, {5, 9}, negated, and
    {-128, 4} (never negated), the channels in turn; both values in every channel."""
    sets = [[-7, 3], [7, -3], [5, 9], [-5, -9], [-128, 4]]
    rows = [np.array(sets[c % 5])[rng.permutation(np.arange(depth) % 2)] for c in range(units)]
    return np.array(rows, np.int8)


def test_shared_tables_references_of_any_width():
    """References take as few bits as the largest needs (3 for 3 tables: table * 2 + sign;
    5 for 12), in one bit stream; signs both ways, -128 kept apart; decode(encode) == x."""
    v = signed_tables()
    e = encode_palette_shared(v, 2)
    assert e.table.reshape(-1, 4).tolist() == [[1, 2, 3, 4], [-128, -3, -2, -1],
                                               [1, 2, 3, 127]]
    assert e.ref_bits == 3 and unpack_bits(e.refs, 3, 6).tolist() == [0, 1, 2, 4, 5, 2]
    assert e.refs.size == 3 and e.after == 6 + 12 + 3     # 18 bits of references
    assert e.manifest()["reference_bits"] == 3 and e.manifest()["negated_channels"] == 2
    assert np.array_equal(decode(e, v.shape), v)
    v = two_value_tables(np.random.default_rng(2), 12, 20)
    e = choose(v, 0, ("palette",))
    assert (e.label(), e.ref_bits, e.negated_channels()) == ("palette1/3 tables +-", 3, 5)
    assert np.array_equal(decode(e, v.shape), v)
    v = disjoint_tables(np.random.default_rng(3), 24, 16)
    e = choose(v, 0, ("palette",))
    assert e.label() == "palette2/12 tables +-" and e.ref_bits == 5, e.reason
    refs = unpack_bits(e.refs, 5, 24)
    assert refs.tolist() == [2 * t for t in range(12)] + [2 * t + 1 for t in range(11)] + [22]
    assert e.after == 24 * 4 + 12 * 4 + 24 * 5 // 8
    assert np.array_equal(decode(e, v.shape), v)
    # a clustered filter of few values a channel: 4 scale families (channels missing the
    # largest centroids), 4 tables up to sign, 3-bit references (they were rounded to 4)
    v = clustered(np.random.default_rng(1), (64, 1, 1, 16), 16, 0)
    e = choose(v, 0, KINDS)      # the 4 tables coded, 12 bytes each
    assert (e.label(), e.ref_bits, e.after) == ("palette4/4 tables +- ef", 3, 512 + 48 + 24)
    assert np.array_equal(decode(e, v.shape), v)
    assert set(unpack_bits(e.refs, 3, 64) & 1) == {0, 1}       # signs both ways


@pytest.mark.parametrize("seed", range(8))
def test_shared_tables_random_round_trip(seed):
    """Random clustered filters (signs both ways, some channels' smallest value made -128,
    rows and flat layouts): decode(encode(x)) == x; no channel holding -128 is negated;
    references as narrow as the largest allows."""
    rng = np.random.default_rng(100 + seed)
    clusters = (4, 16)[seed % 2]
    c, d = int(rng.integers(3, 40)), int(rng.integers(2, 20))
    v = clustered(rng, (c, d), clusters, 0).astype(np.int64)
    for ch in rng.choice(c, c // 3, replace=False):
        v[ch][v[ch] == v[ch].min()] = -128
    v = v.astype(np.int8)
    for values, axis in ((v, 0), (np.ascontiguousarray(v.T.reshape(1, 1, d, c)), 3)):
        e = encode_palette_shared(values, (2, 4)[seed % 2], axis)
        assert e is not None and np.array_equal(decode(e, values.shape, axis), values)
        refs = unpack_bits(e.refs, e.ref_bits, c)
        assert e.ref_bits == max(int(refs.max()).bit_length(), 1)
        assert not any(refs[ch] & 1 and -128 in v[ch] for ch in range(c))


@pytest.mark.parametrize("clusters,depth,label,after", [
    (16, 64, "palette4/1 table +- ef", 64 * 32 + 12 + 8),
    (4, 16, "palette2/1 table +-", 64 * 4 + 4 + 8),
    (4, 256, "palette2/1 table +-", 64 * 64 + 4 + 8)])
def test_clustered_filters_share_tables(clusters, depth, label, after):
    v = clustered(np.random.default_rng(depth), (64, 1, 1, depth), clusters, 0)
    e = choose(v, 0, KINDS)
    assert (e.label(), e.after) == (label, after), e.reason
    assert np.array_equal(decode(e, v.shape), v)
    # a depthwise filter (channel last, one flat row) too
    dw = clustered(np.random.default_rng(1), (1, 5, 5, 24), clusters, 3)
    e = encode_palette_shared(dw, 4, 3)
    assert e.layout == "flat" and np.array_equal(decode(e, dw.shape, 3), dw)


def test_parse_compress_options():
    assert parse_compress("auto") == KINDS
    assert parse_compress("none") == () and parse_compress(None) == ()
    assert parse_compress("palette,int4") == ("int4", "palette")
    with pytest.raises(TinygenError, match="unknown encoding 'zip'"):
        parse_compress("int4,zip")
    assert parse_layer_compress(["3=palette", "5=none"]) == {3: ("palette",), 5: ()}
    for bad in (["x=int4"], ["3"], ["3=int4", "3=none"]):
        with pytest.raises(TinygenError, match="--compress-layer"):
            parse_layer_compress(bad)


# --- generated models, bit-exact ------------------------------------------------------------

CONV_CASES = [   # (case, kind of filter)
    (ConvCase(in_h=6, in_w=5, in_d=13, out_d=7, k_h=3, k_w=3, act="RELU"), "int4"),
    (ConvCase(in_h=5, in_w=5, in_d=9, out_d=6, k_h=3, k_w=2, stride=(2, 1), padding=VALID,
              per_channel=False, in_zp=-128, out_zp=127), "pal2"),
    (ConvCase(in_h=4, in_w=4, in_d=8, out_d=5, k_h=1, k_w=1, act="RELU6", bias=False), "pal4"),
    (ConvCase(in_h=5, in_w=4, in_d=16, out_d=4, k_h=3, k_w=3, dilation=(2, 1)), "pal16"),
    (ConvCase(in_h=4, in_w=5, in_d=11, out_d=9, k_h=1, k_w=1), "int4"),
    (ConvCase(in_h=3, in_w=3, in_d=12, out_d=6, k_h=2, k_w=2, groups=2), "tpal4"),
    (ConvCase(op="DEPTHWISE_CONV_2D", in_h=6, in_w=6, in_d=24, out_d=24, k_h=3, k_w=3,
              stride=(2, 2), act="RELU"), "int4"),
    (ConvCase(op="DEPTHWISE_CONV_2D", in_h=5, in_w=5, in_d=8, out_d=16, k_h=5, k_w=5,
              in_zp=127), "pal2"),
    (ConvCase(op="DEPTHWISE_CONV_2D", in_h=4, in_w=4, in_d=6, out_d=6, k_h=3, k_w=3,
              dilation=(1, 2), padding=SAME), "tpal2"),
    (ConvCase(op="DEPTHWISE_CONV_2D", in_h=5, in_w=5, in_d=16, out_d=16, k_h=3, k_w=3),
     "clu4"),
    (ConvCase(in_h=5, in_w=4, in_d=8, out_d=6, k_h=3, k_w=3, act="RELU"), "clu16"),
    (ConvCase(in_h=3, in_w=4, in_d=40, out_d=5, k_h=1, k_w=1), "zeros"),
]

FC_CASES = [   # (batches, depth, units, per_channel, kind)
    (1, 64, 10, True, "int4"),
    (3, 37, 7, False, "int4"),
    (2, 33, 5, True, "pal2"),
    (1, 50, 6, True, "pal4"),
    (4, 96, 3, True, "pal16"),
    (1, 30, 9, False, "tpal4"),
    (3, 48, 12, True, "clu16"),
    (2, 70, 6, True, "zeros"),
]


def model(seed: str, fc_cases=FC_CASES, conv_cases=CONV_CASES) -> bytes:
    """One model with a layer per case (each with its own input and output)."""
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    for k, (b, d, u, pc, kind) in enumerate(fc_cases):
        add_fc(m, rng, f"f{k}", b, d, u, pc, "NONE" if k % 2 else "RELU")
        set_filter(m, draw(rng, kind, (u, d), 0))
    for k, (c, kind) in enumerate(conv_cases):
        add_layer(m, rng, c, f"c{k}")
        t = m.tensors[m.ops[-1].inputs[1]]
        set_filter(m, draw(rng, kind, t.shape, 0 if c.op == "CONV_2D" else 3))
    return m.build()


def _filters(gen) -> list[dict]:
    man = json.loads(gen.files["tinygen.json"])
    return [layer.get("filter") for layer in man["layers"]]


def test_compressed_models_bit_exact_portable(tmp_path, code_free):
    """The portable kernels reading every encoding, under ASan/UBSan."""
    res = assert_bit_exact(model("portable"), tmp_path, count=2, kernels=["portable"],
                           compress=KINDS, sanitize=True)
    filters = _filters(res.gen)
    assert all(f is not None and f["encoding"] != "raw" for f in filters), filters
    assert all(f["bytes_stored"] < f["bytes_int8"] for f in filters)
    kinds = {(f["encoding"], f["bits"], f["per_channel_tables"]) for f in filters}
    assert {("int4", 4, False), ("palette", 1, True), ("palette", 2, False),
            ("palette", 4, True)} <= kinds, kinds
    kernels = {layer.call.kernel for layer in res.gen.program.layers}
    assert kernels == {"tg_cw_fully_connected_s8", "tg_cw_conv_s8", "tg_cw_depthwise_conv_s8",
                       "tg_sparse_gemm_s8"}
    assert ("sparse", 4, False) in kinds
    shared = [f["label"] for f in filters if "shared_tables" in f]
    assert len(shared) == 3, shared      # FC, depthwise (one flat row), 3x3 convolution


def test_compressed_models_bit_exact_dsp_sanitized(tmp_path):
    """The dsp preference on the host (plain-C twins of SMLAD) under ASan/UBSan: int4 FC and
    pointwise layers on tg_dsp_s4_gemm_s8 (up to 3 rows) or tg_dsp_cw_gemm_s8, palettes with
    rows enough on tg_dsp_cw_gemm_s8,
    a 3x3 convolution on tg_dsp_cw_conv_s8 (named: under auto its estimate keeps it int8).
    (Layers whose filter stays int8 are in test_encoding_no_kernel_reads_falls_back_or_fails.)"""
    # every path of tg_dsp_s4_gemm_s8: 2 x 2, the odd row, channels left over, depth tails,
    # several 256-value chunks (depth 600); of tg_dsp_cw_gemm_s8: int4 and 1-, 2- and 4-bit
    # indices (per channel and per tensor), odd rows, channels past the last triple, depth
    # tails after odd and even 4-value steps, one block, or several against rows expanded
    # once (int4 in the order of its nibbles: 8 rows of 125 reach every pass of tg_cwg_s4)
    # or with 16-row chunks (40 rows of 118)
    fcs = FC_CASES[:2] + [(5, 24, 3, True, "int4"), (2, 8, 1, True, "int4"),
                          (1, 600, 6, True, "int4"), (5, 19, 5, True, "pal4"),
                          (4, 33, 3, False, "pal2"), (6, 40, 4, True, "tpal4"),
                          (7, 69, 8, True, "pal16"), (19, 12, 7, True, "int4"),
                          (34, 22, 10, False, "pal2"), (5, 41, 2, True, "tpal16"),
                          (6, 64, 9, True, "clu16"), (40, 118, 7, True, "int4"),
                          (8, 125, 8, True, "int4"), FC_CASES[-1]]
    convs = [CONV_CASES[0], CONV_CASES[2], CONV_CASES[4],
             (ConvCase(in_h=6, in_w=5, in_d=30, out_d=13, k_h=1, k_w=1), "clu4"),
             CONV_CASES[-1]]
    # named for every layer (as --compress-layer N=auto does): run compressed even where
    # --compress auto would keep the int8 filter as faster (test_auto_keeps_to_the_goals)
    res = assert_bit_exact(model("dsp", fcs, convs), tmp_path, count=2, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(fcs) + len(convs))},
                           sanitize=True)
    kernels = [layer.call.kernel for layer in res.gen.program.layers]
    assert kernels == ["tg_dsp_s4_gemm_s8"] * 2 + ["tg_dsp_cw_gemm_s8"] + \
        ["tg_dsp_s4_gemm_s8"] * 2 + ["tg_dsp_cw_gemm_s8"] * 10 + \
        ["tg_dsp_sparse_gemm_s8", "tg_dsp_cw_conv_s8"] + ["tg_dsp_cw_gemm_s8"] * 3 + \
        ["tg_dsp_sparse_gemm_s8"]
    shared = [f["shared_tables"] for f in _filters(res.gen) if f and "shared_tables" in f]
    assert len(shared) == 2, shared
    paths = {("one block" if p["chunk"] == 0 else "rows once" if p["chunk"] >= p["rows"]
              else "chunks", p["weights"]["palette"])
             for p in (layer.call.params for layer in res.gen.program.layers
                       if layer.call.kernel == "tg_dsp_cw_gemm_s8")}
    assert paths == {(path, pal) for path in ("one block", "rows once", "chunks")
                     for pal in (0, 1)} - {("chunks", 1)}, paths


def signed_tables_model() -> bytes:
    """Layers whose palettes share tables up to sign with references of 3 and 5 bits (some
    spanning two bytes): FC layers on each path of tg_dsp_cw_gemm_s8 (one block, rows
    expanded once: tg_cwg_pal, 16-row chunks: tg_cwg_channel), a pointwise and a 3x3
    convolution and a depthwise one (one flat row)."""
    rng = np.random.default_rng(14)
    m = ModelWriter()
    fcs = [(2, 16, 24, lambda: clustered(rng, (24, 16), 16, 0)),
           (5, 4, 6, lambda: signed_tables()),
           (40, 118, 24, lambda: disjoint_tables(rng, 24, 118)),
           (3, 33, 3, lambda: signed_tables()[:3, rng.integers(0, 4, 33)]),
           (1, 21, 24, lambda: disjoint_tables(rng, 24, 21)),
           (6, 40, 12, lambda: two_value_tables(rng, 12, 40))]
    for k, (b, d, u, values) in enumerate(fcs):
        add_fc(m, rng, f"f{k}", b, d, u, True, "NONE" if k % 2 else "RELU")
        set_filter(m, values())
    convs = [ConvCase(in_h=4, in_w=3, in_d=16, out_d=24, k_h=1, k_w=1),
             ConvCase(in_h=4, in_w=4, in_d=3, out_d=24, k_h=2, k_w=2, act="RELU"),
             ConvCase(op="DEPTHWISE_CONV_2D", in_h=5, in_w=5, in_d=24, out_d=24, k_h=3,
                      k_w=3)]
    for k, c in enumerate(convs):
        add_layer(m, rng, c, f"c{k}")
        t = m.tensors[m.ops[-1].inputs[1]]
        axis = 0 if c.op == "CONV_2D" else 3
        rows = disjoint_tables(rng, 24, int(np.prod(t.shape)) // 24)     # [channels, ...]
        v = clustered(rng, t.shape, 16, axis) if k == 0 else \
            rows.reshape(t.shape) if axis == 0 else rows.T.reshape(t.shape)
        set_filter(m, v)
    return m.build()


SIGNED_LAYERS = 9


def _reference_bits(gen) -> list[int]:
    return [f.get("reference_bits", 0) for f in _filters(gen)]


@pytest.mark.parametrize("kernels", [["portable"], DSP], ids=["portable", "dsp"])
def test_shared_tables_odd_reference_bits_sanitized(kernels, tmp_path):
    """Shared tables with 3- and 5-bit references (tg_cw_ref reading across bytes) on the
    portable readers and the dsp decoders, host ASan/UBSan, bit-exact with TFLM."""
    res = assert_bit_exact(signed_tables_model(), tmp_path, count=2, kernels=kernels,
                           layer_compress={i: ("palette",) for i in range(SIGNED_LAYERS)},
                           sanitize=True)
    bits = _reference_bits(res.gen)
    assert {3, 5} <= set(bits) and 0 not in bits, bits
    calls = [layer.call for layer in res.gen.program.layers]
    if kernels == DSP:
        paths = {"one block" if c.params["chunk"] == 0 else "rows once"
                 if c.params["chunk"] >= c.params["rows"] else "chunks"
                 for c in calls if c.kernel == "tg_dsp_cw_gemm_s8"}
        assert paths == {"one block", "rows once", "chunks"}, paths
    else:
        assert {c.kernel for c in calls} == {"tg_cw_fully_connected_s8", "tg_cw_conv_s8",
                                             "tg_cw_depthwise_conv_s8"}


def test_shared_tables_odd_reference_bits_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """The same layers on QEMU (the dsp decoders built for the Cortex-M4)."""
    model_c = verify_on_m4(tmp_path, monkeypatch, signed_tables_model(),
                           {i: ("palette",) for i in range(SIGNED_LAYERS)}, 5)
    assert model_c.count("tg_dsp_cw_gemm_s8(") >= 6
    assert re.search(r"\.ref_bits = 3", model_c) and re.search(r"\.ref_bits = 5", model_c)


# --- the choice in a program -------------------------------------------------------------------

def test_nothing_to_compress_gives_the_same_files(tmp_path):
    """A model whose filters no encoding fits: --compress auto writes exactly what no
    compression writes (same code, same bytes, nothing added to the reports)."""
    rng = np.random.default_rng(3)
    m = ModelWriter()
    add_fc(m, rng, "f", 2, 40, 6, True, "RELU")
    add_layer(m, rng, CONV_CASES[0][0], "c")
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    plain = generate(path, None, target="cortex-m4", measure=False)
    auto = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    assert plain.files == auto.files
    assert all(layer.selection.filter.encoding == "raw" for layer in auto.program.layers)
    assert "outside [-8, 7]" in auto.program.layers[0].selection.filter.reason


def test_auto_keeps_to_the_goals(tmp_path):
    """--compress auto on the DSP GEMMs: the smallest encoding where its kernel is estimated
    within the goals (int4 1.15x, palettes 1.25x the int8 GEMM's cycles: pointwise layers
    with many pixels, a batch-1 int4 layer on tg_dsp_s4_gemm_s8, a batch-8 one on
    tg_dsp_cw_gemm_s8 with its rows expanded once), the int8 filter with the estimate where
    decoding costs more than few rows repay (a 16-entry palette per channel on 8 rows)."""
    rng = np.random.default_rng(14)
    m = ModelWriter()
    for k, kind in enumerate(("int4", "clu16", "clu4")):
        add_layer(m, rng, ConvCase(in_h=12, in_w=12, in_d=64, out_d=64, k_h=1, k_w=1), f"c{k}")
        set_filter(m, draw(rng, kind, (64, 1, 1, 64), 0))
    for k, (b, kind) in enumerate(((1, "int4"), (8, "pal16"), (8, "int4"))):
        add_fc(m, rng, f"f{k}", b, 256, 64, True, "NONE")
        set_filter(m, draw(rng, kind, (64, 256), 0))
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    gen = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    got = [(layer.call.kernel, layer.selection.filter.label())
           for layer in gen.program.layers]
    assert got == [("tg_dsp_cw_gemm_s8", "int4"), ("tg_dsp_cw_gemm_s8", "palette4/1 table +- ef"),
                   ("tg_dsp_cw_gemm_s8", "palette2/1 table +-"), ("tg_dsp_s4_gemm_s8", "int4"),
                   ("tg_dsp_gemm_s8", "raw"), ("tg_dsp_cw_gemm_s8", "int4")], got
    reasons = [layer.selection.filter.reason for layer in gen.program.layers]
    assert "above the 1.25x that --compress auto accepts" in reasons[4]
    # batch 8: int4 against rows expanded once (benchmarks/compress_bench.py: 1.14x)
    params = gen.program.layers[5].call.params
    assert params["chunk"] == params["rows"] == 8 and params["block"] < 64
    assert gen.program.layers[5].call.scratch == [4 * params["block"] * 64 + 16 * 64 * 4]
    assert [f["bytes_stored"] for f in _filters(gen)][:3] == [2048, 2048 + 12 + 8, 1024 + 4 + 8]


def test_encoding_no_kernel_reads_falls_back_or_fails(tmp_path, code_free):
    """A palette on one row (which the dsp palette GEMM declines) stays int8 under auto,
    with the reason: with only the dsp variant because no kernel reads it, with dsp,portable
    because only the portable kernel does and dsp runs the int8 filter (so does a small
    depthwise layer, whose int8 filter the dsp pixel kernel runs); named for a layer no
    kernel of the preference can read it for (dilated, on dsp only), an error naming the
    layer."""
    path = tmp_path / "m.tflite"
    path.write_bytes(model("fallback", [(1, 64, 8, True, "pal4"), (1, 64, 8, True, "int4")],
                           [CONV_CASES[6]]))
    gen = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    pal, int4, dw = (layer.selection for layer in gen.program.layers)
    assert (pal.variant, pal.filter.encoding, dw.variant, dw.filter.encoding) == \
        ("dsp", "raw", "dsp", "raw")
    assert "only portable kernels read it here and dsp runs the int8 filter" in dw.filter.reason
    assert "--compress-layer 0=palette forces it" in pal.filter.reason
    gen = generate(path, None, target="cortex-m4", measure=False, kernels=["dsp"],
                   compress=KINDS)
    pal, int4, _ = (layer.selection for layer in gen.program.layers)
    assert "palette2/ch on 1 row(s) of 64" in pal.filter.reason
    assert pal.filter.encoding == "raw" and pal.variant == "dsp"
    assert "no kernel of the preference reads it" in pal.filter.reason
    assert int4.filter.encoding == "int4"
    assert gen.program.layers[1].call.kernel == "tg_dsp_s4_gemm_s8"
    man = json.loads(gen.files["tinygen.json"])
    assert man["layers"][1]["filter"]["bytes_stored"] == 8 * 32
    assert "| 1 | int4 | 512 | 256 |" in gen.files["README.md"].decode()
    # named for the layer, the palette runs on the dsp palette GEMM even on one row
    gen = generate(path, None, target="cortex-m4", measure=False, kernels=["dsp"],
                   layer_compress={0: ("palette",)})
    assert gen.program.layers[0].call.kernel == "tg_dsp_cw_gemm_s8"
    dilated = tmp_path / "dilated.tflite"
    dilated.write_bytes(model("fallback", [], [(CONV_CASES[8][0], "int4")]))
    with pytest.raises(TinygenError, match="operator #0 .*--compress-layer 0: no kernel of "
                                           "the preference reads its filter as int4"):
        generate(dilated, None, target="cortex-m4", measure=False, kernels=["dsp"],
                 layer_compress={0: ("int4",)})
    with pytest.raises(TinygenError, match=r"--compress-layer 0: .*outside \[-8, 7\]"):
        generate(path, None, target="cortex-m4", measure=False, layer_compress={1: ("int4",),
                                                                                0: ("int4",)})
    with pytest.raises(TinygenError, match="--compress-layer: layer 5 has no constant filter"):
        generate(path, None, target="cortex-m4", measure=False, layer_compress={5: ("int4",)})
    # per layer: only layer 1 compressed, on the portable kernel when asked so
    gen = generate(path, None, target="host", measure=False, layer_compress={1: ("int4",)})
    assert [layer.selection.filter for layer in gen.program.layers][0] is None
    assert gen.program.layers[1].call.kernel == "tg_cw_fully_connected_s8"


def test_cli_compress_options(tmp_path, capsys, monkeypatch, code_free):
    from codegen.cli import main

    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)    # the kernels the output names

    path = tmp_path / "m.tflite"
    path.write_bytes(model("cli", [(1, 64, 8, True, "pal2")], []))
    assert main([str(path), "-o", str(tmp_path / "out"), "--compress", "auto"]) == 0
    out = capsys.readouterr().out
    assert "filters (--compress): 80 bytes stored for 512 as int8 (0.16x)" in out
    assert "layer 0: palette1/ch: 80 of 512 bytes" in out
    assert main([str(path), "-o", str(tmp_path / "o2"), "--compress", "lz4"]) == 2
    assert "unknown encoding 'lz4'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "--compress-layer" in capsys.readouterr().out


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_compressed_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    # tg_dsp_cw_gemm_s8 against rows expanded once (the asm through tg_dsp_gemm_xrows_s8):
    # 2, 5, 6 and 8 rows, channels past the last triple, depths not a multiple of 4, int4
    # and 1-, 2- and 4-bit palettes;
    # tg_dsp_s4_gemm_s8 on 2 rows and on 3 (the odd row)
    data = model("m4", [FC_CASES[1], (5, 19, 5, True, "pal4"),
                        (6, 64, 9, True, "clu16"), (2, 45, 7, True, "int4"),
                        (2, 45, 7, True, "pal4"), (5, 27, 11, True, "pal16"),
                        (8, 61, 10, False, "int4"), (3, 37, 3, False, "int4"),
                        (8, 125, 8, True, "int4"), (6, 70, 7, True, "pal2"),
                        FC_CASES[-1]],
                 [CONV_CASES[0], CONV_CASES[2], CONV_CASES[4]])
    # layer 11, the 3x3 convolution: under auto its filter would stay int8 (tg_dsp_cw_conv_s8
    # estimated above the goal on so few pixels); named, it runs compressed
    named = {i: KINDS for i in range(14)} | {11: ("int4",)}   # small layers: run compressed
    model_c = verify_on_m4(tmp_path, monkeypatch, data, named, 4)
    assert model_c.count("tg_dsp_s4_gemm_s8(") == 3
    # the 16-value palettes' tables coded (12 bytes): layer 5's 11 channels of 27 values
    # then store 286 bytes, fewer than 297 as int8
    assert model_c.count("tg_dsp_cw_gemm_s8(") == 9
    assert "palette4/ch ef" in model_c and ".table_coded = 1" in model_c
    once = re.findall(r"\.rows = (\d+),\s*\.depth = \d+,\s*\.channels = \d+,\s*"
                      r"\.block = (\d+),\s*\.chunk = (\d+),", model_c)
    assert {int(r) for r, b, c in once if int(c) >= int(r)} >= {2, 5, 6, 8}, once
    assert "palette1/ch" in model_c
    assert "shared tables" in (tmp_path / "w" / "m_data.c").read_text()
    assert model_c.count("tg_dsp_cw_conv_s8(") == 1
    assert model_c.count("tg_dsp_sparse_gemm_s8(") == 1


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck")
@pytest.mark.parametrize("arm", [False, True], ids=["c-fallbacks", "acle"])
def test_compressed_kernels_cppcheck_clean(arm, tmp_path):
    out = tmp_path / "out"
    path = tmp_path / "m.tflite"
    path.write_bytes(model("cpp", FC_CASES[:2] + [(5, 19, 5, True, "pal4"), FC_CASES[-1]],
                           [CONV_CASES[0], CONV_CASES[6]]))
    # the 3x3 convolution (layer 4) and the depthwise one (5) named: on tg_dsp_cw_conv_s8
    # and tg_dsp_cw_depthwise_s8
    generate(path, out, target="host", kernels=DSP, compress=KINDS,
             layer_compress={4: KINDS, 5: KINDS})
    defs = ["-D__ARM_FEATURE_DSP=1", "-D__ARM_FEATURE_SIMD32=1", "-D__GNUC__=12"] if arm else []
    files = [str(out / f) for f in ("tg_dsp_s4_gemm.c", "tg_dsp_cw_gemm.c", "tg_cw_fc.c",
                                    "tg_cw.c", "tg_sparse_gemm.c", "tg_dsp_sparse_gemm.c",
                                    "tg_dsp_cw_conv.c", "tg_dsp_conv.c",
                                    "tg_dsp_cw_depthwise.c")]
    r = subprocess.run([*CPPCHECK, *defs, f"-I{out}", *files], capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr


# rows_outer: chunks of rows through every block (tg_dsp_cw_gemm.h), the output over the
# input: a pointwise layer of kws's shape (125 rows, 2 blocks), 1-bit palettes (40 rows of
# 118 values; 33 rows in 3 blocks, a last chunk of one row), int4 in 4 blocks, 35 rows
OUTER_CONVS = [(ConvCase(in_h=25, in_w=5, in_d=64, out_d=64, k_h=1, k_w=1), "int4"),
               (ConvCase(in_h=40, in_w=1, in_d=118, out_d=24, k_h=1, k_w=1), "pal2"),
               (ConvCase(in_h=33, in_w=1, in_d=130, out_d=100, k_h=1, k_w=1), "pal2"),
               (ConvCase(in_h=35, in_w=1, in_d=120, out_d=160, k_h=1, k_w=1, act="RELU"),
                "int4")]


def _outer_calls(gen) -> list:
    return [layer.call for layer in gen.program.layers
            if layer.call.kernel == "tg_dsp_cw_gemm_s8" and layer.call.params["rows_outer"]]


def test_rows_outer_bit_exact_sanitized(tmp_path):
    res = assert_bit_exact(model("outer", [], OUTER_CONVS), tmp_path, count=2, kernels=DSP,
                           layer_compress={i: KINDS for i in range(len(OUTER_CONVS))},
                           sanitize=True)
    calls = _outer_calls(res.gen)
    assert len(calls) == len(OUTER_CONVS), [layer.call.kernel for layer in
                                            res.gen.program.layers]
    assert {c.params["weights"]["palette"] for c in calls} == {0, 1}
    assert any(c.params["rows"] % c.params["chunk"] for c in calls)     # a short last chunk
    assert any(-(-c.params["channels"] // c.params["block"]) > 2 for c in calls)
    assert all(c.overlaps for c in calls)


def verify_on_m4(tmp_path, monkeypatch, data: bytes, layer_compress: dict, seed: int) -> str:
    """The model `data` with these --compress-layer encodings, bit-exact on the emulated
    Cortex-M4 (tinygen's own kernels): its model C text."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    report = verify_cortexm(path, count=2, seed=seed, target="cortex-m4",
                            work_dir=tmp_path / "w", layer_compress=layer_compress)
    assert report.ok, report.table()
    return (tmp_path / "w" / "m.c").read_text()


def verify_named_on_m4(tmp_path, monkeypatch, seed_name: str, fcs, convs, seed: int) -> str:
    """The model of these layers (`model`), every filter named compressed (as
    --compress-layer N=auto), bit-exact on the emulated Cortex-M4: its model C text."""
    return verify_on_m4(tmp_path, monkeypatch, model(seed_name, fcs, convs),
                        {i: KINDS for i in range(len(fcs) + len(convs))}, seed)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_rows_outer_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    model_c = verify_named_on_m4(tmp_path, monkeypatch, "outer", [], OUTER_CONVS, 6)
    assert model_c.count(".rows_outer = 1") == len(OUTER_CONVS)


def test_rows_outer_keeps_the_arena_of_the_int8_layer(tmp_path):
    """--compress auto on kws's pointwise shape: the compressed GEMM runs its rows in chunks
    through both blocks, so its output overlaps its input as the int8 GEMM's does: the arena
    grows by the scratch only, not by a second activation."""
    data = model("outer", [], OUTER_CONVS[:1])
    int8 = generate(_write_model(tmp_path, data), None, target="cortex-m4", measure=False)
    auto = generate(_write_model(tmp_path, data), None, target="cortex-m4", measure=False,
                    compress=KINDS)
    (call,) = _outer_calls(auto)
    assert call.params["rows_outer"] == 1 and call.overlaps
    assert auto.program.plan.arena_bytes <= int8.program.plan.arena_bytes + call.scratch[0]
    assert auto.program.plan.arena_bytes < int8.program.plan.arena_bytes + 125 * 64


def _write_model(tmp_path, data: bytes):
    path = tmp_path / "m.tflite"
    path.write_bytes(data)
    return path
