"""Lossless filter compression (codegen/encoding.py, --compress): the packing functions and
the chooser (pure), and single-op models whose filters are int4-ranged, drawn from small
palettes per channel or with whole zero channels, generated compressed and checked bit for
bit against TFLM (the model itself is an ordinary int8 model) on the host, under
ASan/UBSan, and on the emulated Cortex-M4."""
from __future__ import annotations

import json
import zlib

import numpy as np
import pytest

from codegen.encoding import (KINDS, EncodingChoiceError, choose, decode, encode_int4,
                              encode_palette, pack_indices, pack_int4_row, parse_compress,
                              parse_layer_compress, unpack_indices, unpack_int4_row)
from codegen.errors import TinygenError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.conv_models import SAME, VALID, ConvCase, add_layer
from tests.harness import assert_bit_exact
from tests.test_dsp_kernels import add_fc

DSP = ["dsp", "portable"]


# --- values ----------------------------------------------------------------------------------

def draw(rng: np.random.Generator, kind: str, shape, axis: int) -> np.ndarray:
    """Filter values of a kind: "int4" (all in [-8, 7]); "pal<n>" (n distinct values per
    output channel, from the int8 range); "tpal<n>" (n for the tensor); "zeros" (80 % exact
    zeros, two whole zero channels, the rest any int8)."""
    shape = tuple(shape)
    c = shape[axis]
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


@pytest.mark.parametrize("kind,shape,axis", [
    ("int4", (5, 3, 3, 7), 0), ("pal2", (6, 19), 0), ("pal4", (4, 1, 1, 33), 0),
    ("pal16", (3, 2, 2, 9), 0), ("tpal4", (7, 11), 0), ("pal4", (1, 3, 3, 10), 3),
    ("int4", (1, 3, 3, 10), 3), ("tpal2", (1, 2, 3, 5), 3)])
def test_encode_decode_round_trip(kind, shape, axis):
    rng = np.random.default_rng(zlib.crc32(f"{kind}{shape}".encode()))
    v = draw(rng, kind, shape, axis)
    encs = [encode_palette(v, b, pc, axis) for b in (1, 2, 4) for pc in (False, True)
            if _fits(v, axis, b, pc)]
    if v.min() >= -8 and v.max() <= 7:
        encs.append(encode_int4(v, axis))
    assert encs
    for e in encs:
        assert np.array_equal(decode(e, v.shape, axis), v), e.label()
        assert e.after == e.data.size + (e.table.size if e.table is not None else 0)


def _fits(v, axis, bits, per_channel):
    if per_channel:
        return max(np.unique(np.take(v, c, axis=axis)).size
                   for c in range(v.shape[axis])) <= 1 << bits
    return np.unique(v).size <= 1 << bits


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
    tpal4 = draw(rng, "tpal4", (16, 64), 0)        # one table beats one per channel
    e = choose(tpal4, 0, KINDS)
    assert (e.encoding, e.bits, e.per_channel, e.after) == ("palette", 2, False, 256 + 4)
    # int4-ranged with few values: the smaller palette wins over int4 unless only int4
    assert choose(np.tile([[-3, 5]], (8, 32)).astype(np.int8), 0, KINDS).encoding == "palette"
    assert choose(np.tile([[-3, 5]], (8, 32)).astype(np.int8), 0, ("int4",)).encoding == "int4"
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
]

FC_CASES = [   # (batches, depth, units, per_channel, kind)
    (1, 64, 10, True, "int4"),
    (3, 37, 7, False, "int4"),
    (2, 33, 5, True, "pal2"),
    (1, 50, 6, True, "pal4"),
    (4, 96, 3, True, "pal16"),
    (1, 30, 9, False, "tpal4"),
]


def fc_model(seed: str, cases=FC_CASES) -> bytes:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    for k, (b, d, u, pc, kind) in enumerate(cases):
        add_fc(m, rng, str(k), b, d, u, pc, "NONE" if k % 2 else "RELU")
        set_filter(m, draw(rng, kind, (u, d), 0))
    return m.build()


def conv_model(seed: str, cases=CONV_CASES) -> bytes:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    for k, (c, kind) in enumerate(cases):
        add_layer(m, rng, c, str(k))
        t = m.tensors[m.ops[-1].inputs[1]]
        set_filter(m, draw(rng, kind, t.shape, 0 if c.op == "CONV_2D" else 3))
    return m.build()


def _filters(gen) -> list[dict]:
    man = json.loads(gen.files["tinygen.json"])
    return [layer.get("filter") for layer in man["layers"]]


def test_compressed_models_bit_exact_portable(tmp_path):
    for what, model in (("fc", fc_model("fc")), ("conv", conv_model("conv"))):
        (tmp_path / what).mkdir()
        res = assert_bit_exact(model, tmp_path / what, count=2, kernels=["portable"],
                               compress=KINDS)
        filters = _filters(res.gen)
        assert all(f is not None and f["encoding"] != "raw" for f in filters), filters
        assert all(f["bytes_stored"] < f["bytes_int8"] for f in filters)
        kernels = {layer.call.kernel for layer in res.gen.program.layers}
        assert kernels <= {"tg_cw_fully_connected_s8", "tg_cw_conv_s8",
                           "tg_cw_depthwise_conv_s8"}, kernels


def test_compressed_models_bit_exact_dsp_sanitized(tmp_path):
    """The dsp preference on the host (plain-C twins of SMLAD) under ASan/UBSan: int4 FC and
    pointwise layers on tg_dsp_s4_gemm_s8, the others on the portable compressed kernels."""
    # every path of tg_dsp_s4_gemm_s8: 2 x 2, the odd row, channels left over, depth tails,
    # several 256-value chunks (depth 600)
    model = fc_model("dsp", FC_CASES[:2] + [(5, 24, 3, True, "int4"), (2, 8, 1, True, "int4"),
                                            (3, 600, 6, True, "int4")])
    (tmp_path / "fc").mkdir()
    (tmp_path / "conv").mkdir()
    res = assert_bit_exact(model, tmp_path / "fc", count=2, kernels=DSP, compress=KINDS,
                           sanitize=True)
    assert {layer.call.kernel for layer in res.gen.program.layers} == {"tg_dsp_s4_gemm_s8"}
    res = assert_bit_exact(conv_model("dspconv"), tmp_path / "conv", count=1, kernels=DSP,
                           compress=KINDS, sanitize=True)
    kernels = [layer.call.kernel for layer in res.gen.program.layers]
    assert kernels[4] == "tg_dsp_s4_gemm_s8"
    assert "tg_cw_conv_s8" in kernels and "tg_cw_depthwise_conv_s8" in kernels
