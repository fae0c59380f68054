"""Coded palette tables (codegen/encoding.py, runtime_c/tg_cw.c): 16-value tables of 4-bit
palettes stored in 12 bytes (Elias-Fano): the pure packing and padding, the choice and the
estimate, and single-op models whose per-channel and shared tables are coded (channels of
fewer than 16 values, shared tables read negated), bit-exact with TFLM on the host (the dsp
GEMM's three paths and the portable kernels, ASan/UBSan) and on the emulated Cortex-M4."""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codegen import resources
from codegen.encoding import (EF_TABLE_BYTES, KINDS, candidates, choose, decode, ef_fill,
                              encode_palette, encode_palette_shared, pack_ef_table,
                              unpack_bits, unpack_ef_table)
from codegen.frontend.tflite_writer import ModelWriter
from codegen.lowering.compressed_support import (CHUNK_INT8, EF_TABLE_CYCLES, cw_blocks,
                                                  cw_gemm_ratio, table_decodes)
from codegen.toolchain import cortexm
from tests.conv_models import ConvCase, add_layer
from tests.harness import assert_bit_exact
from tests.test_compress import DSP, _filters, clustered, draw, set_filter, verify_on_m4
from tests.test_dsp_kernels import add_fc

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True, database=None)


# --- the code of one table (pure) ----------------------------------------------------------

@SETTINGS
@given(st.sets(st.integers(-128, 127), min_size=16, max_size=16))
def test_ef_table_round_trip_and_layout(values):
    t = np.array(sorted(values), np.int8)
    code = pack_ef_table(t)
    assert code.dtype == np.uint8 and code.size == EF_TABLE_BYTES == 12
    assert np.array_equal(unpack_ef_table(code), t)
    # the documented layout: u = v + 128; u_i's low nibble at byte i // 2 (low nibble for
    # even i), then a little-endian word with bit (u_i >> 4) + i set for each i
    u = t.astype(np.int64) + 128
    assert [(int(code[i // 2]) >> (4 * (i % 2))) & 15 for i in range(16)] == list(u & 15)
    word = int.from_bytes(code[8:].tobytes(), "little")
    assert word == sum(1 << int((u[i] >> 4) + i) for i in range(16))


@SETTINGS
@given(st.sets(st.integers(-128, 127), max_size=16))
def test_ef_fill_pads_with_values_not_held_never_minus_128(values):
    t = ef_fill(np.array(sorted(values), np.int64))
    assert t.dtype == np.int8 and t.size == 16
    assert np.all(np.diff(t.astype(np.int64)) > 0)             # distinct, ascending
    assert set(values) <= set(t.tolist())
    assert (-128 in t.tolist()) == (-128 in values)
    assert np.array_equal(unpack_ef_table(pack_ef_table(t)), t)


def test_ef_table_errors():
    with pytest.raises(ValueError, match="16 strictly ascending"):
        pack_ef_table(np.arange(15))
    with pytest.raises(ValueError, match="16 strictly ascending"):
        pack_ef_table(np.array([0] * 16))
    with pytest.raises(ValueError, match="12 bytes"):
        unpack_ef_table(np.zeros(11, np.uint8))
    with pytest.raises(ValueError, match="16 bits set"):
        unpack_ef_table(np.zeros(12, np.uint8))
    with pytest.raises(ValueError, match="holds 16 values"):
        ef_fill(np.arange(17))
    with pytest.raises(ValueError, match="coded tables are for 4-bit"):
        encode_palette(np.zeros((2, 8), np.int8), 2, True, coded=True)
    with pytest.raises(ValueError, match="coded tables are for 4-bit"):
        encode_palette(np.zeros((1, 3, 3, 4), np.int8), 4, True, 3, coded=True)


# --- filters (pure) ------------------------------------------------------------------------

def few_values(rng: np.random.Generator, shape) -> np.ndarray:
    """A 4-bit palette filter [C, ...] of up to 16 values per channel: channel 0 one value
    (-128), channel 1 three (one of them -128), the others pal16."""
    v = draw(rng, "pal16", shape, 0).astype(np.int64)
    v[0] = -128
    v[1] = np.array([-128, 5, 77])[rng.integers(0, 3, v[1].shape)]
    return v.astype(np.int8)


def signed_clusters(rng: np.random.Generator, shape) -> np.ndarray:
    """A clustered filter (shared tables up to sign), some channels' smallest value -128."""
    v = clustered(rng, shape, 16, 0).astype(np.int64)
    for ch in rng.choice(shape[0], shape[0] // 4, replace=False):
        v[ch][v[ch] == v[ch].min()] = -128
    return v.astype(np.int8)


@pytest.mark.parametrize("seed", range(6))
def test_coded_tables_round_trip(seed):
    """decode(encode(x)) == x for coded per-channel and shared tables; the bytes; fillers
    never -128; no channel holding -128 reads its table negated."""
    rng = np.random.default_rng(700 + seed)
    c, d = int(rng.integers(3, 30)), int(rng.integers(2, 50))
    shape = (c, 1, 1, d) if seed % 2 else (c, d)
    v = few_values(rng, shape)
    e = encode_palette(v, 4, True, coded=True)
    assert e.coded_tables and e.label() == "palette4/ch ef"
    assert e.after == c * ((d + 1) // 2) + 12 * c and e.table.size == 12 * c
    assert np.array_equal(decode(e, v.shape), v)
    tables = e.table_values().reshape(c, 16)
    assert not np.any(tables[2:] == -128) or np.any(v[2:] == -128)
    assert np.count_nonzero(tables[0] == -128) == 1                # the one value held
    w = signed_clusters(rng, shape)
    s = encode_palette_shared(w, 4, coded=True)
    assert s is not None and s.coded_tables and s.label().endswith(" ef")
    assert s.after == s.data.size + 12 * s.n_tables + s.refs.size
    assert np.array_equal(decode(s, w.shape), w)
    refs = unpack_bits(s.refs, s.ref_bits, c)
    rows = w.reshape(c, -1)
    assert not any(refs[ch] & 1 and -128 in rows[ch] for ch in range(c))
    held = {int(x) for ch in range(c) for x in rows[ch]}
    assert (-128 in s.table_values().tolist()) == (-128 in held)
    plain = encode_palette_shared(w, 4)
    assert s.n_tables == plain.n_tables and s.after == plain.after - 4 * plain.n_tables
    man = s.manifest()
    assert man["coded_tables"] is True and man["shared_tables"] == s.n_tables


def test_choice_offers_coded_tables_beside_plain():
    """The bench's pal16-1x1-d256 filter: 8960 bytes of 16384 (0.547x) against 9216
    plain; coded only for 4-bit tables of filters stored row by row."""
    rng = np.random.default_rng(5)
    v = draw(rng, "pal16", (64, 256), 0)
    cands, _ = candidates(v, 0, ("palette",))
    labels = {e.label(): e.after for e in cands}
    assert labels["palette4/ch"] == 9216 and labels["palette4/ch ef"] == 8960
    e = choose(v, 0, KINDS)
    assert (e.label(), e.after, e.before) == ("palette4/ch ef", 8960, 16384)
    assert "0.55x" in e.reason and e.manifest()["coded_tables"] is True
    small = choose(draw(rng, "pal4", (16, 64), 0), 0, KINDS)
    assert not small.coded_tables and small.manifest()["coded_tables"] is False
    dw = draw(rng, "pal16", (1, 5, 5, 32), 3)                     # flat: never coded
    assert not any(e.coded_tables for e in candidates(dw, 3, ("palette",))[0])


def test_estimate_counts_table_decodes():
    """cw_gemm_ratio adds EF_TABLE_CYCLES per table decoded: every channel (per-channel
    tables), or per run of channels of a block reading one shared table."""
    rng = np.random.default_rng(9)
    v = draw(rng, "pal16", (64, 256), 0)
    plain, coded = encode_palette(v, 4, True), encode_palette(v, 4, True, coded=True)
    rows = 144
    block, chunk = cw_blocks(64, 256, rows)
    assert block < 64 and chunk < rows             # blocks of rows: the chunks' int8 model
    int8 = rows * (CHUNK_INT8[0] * 64 * 256 + CHUNK_INT8[1] * 64 + CHUNK_INT8[2])
    assert cw_gemm_ratio(coded, rows, 64, 256) - cw_gemm_ratio(plain, rows, 64, 256) == \
        pytest.approx(64 * EF_TABLE_CYCLES / int8)
    assert table_decodes(plain, 24) == 0 and table_decodes(coded, 24) == 64
    w = clustered(rng, (24, 16), 16, 0)
    s = encode_palette_shared(w, 4, coded=True)
    tables = unpack_bits(s.refs, s.ref_bits, 24) >> 1
    runs = 1 + int(np.count_nonzero(tables[1:] != tables[:-1]))
    block, chunk = cw_blocks(24, 16, 5)
    assert chunk >= 5 and block == 12
    assert table_decodes(s, 24) == runs
    assert runs <= table_decodes(s, block) <= runs + 1 < 24


# --- the C readers directly ------------------------------------------------------------------

def _c_bytes(name: str, ctype: str, values) -> str:
    return f"static const {ctype} {name}[] = {{{', '.join(str(int(x)) for x in values)}}};\n"


READER_MAIN = r"""
#include <stdio.h>
#include "tg_cw.h"
int main(void)
{
    tg_cw_t w;
    tg_cw_tab_t tab;
    int32_t c, i;
    w.data = data; w.table = table; w.palette = 1; w.bits = 4; w.table_stride = 12;
    w.row_bytes = ROW_BYTES; w.refs = REFS; w.ref_bits = REF_BITS; w.table_coded = 1;
    tab.which = -1;
    for (c = 0; c < CHANNELS; ++c) {
        const int8_t *t = tg_cw_table(&w, c, &tab);
        for (i = 0; i < DEPTH; ++i) {      /* value by value, and through the table */
            printf("%d %d\n", (int)tg_cw_get(&w, tg_cw_row(&w, c), i, c),
                   (int)t[tg_cw_index(&w, tg_cw_row(&w, c), i)]);
        }
    }
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
@pytest.mark.parametrize("builtins", [True, False], ids=["ctz-builtin", "ctz-plain-c"])
def test_c_readers_of_coded_tables(builtins, tmp_path):
    """tg_cw_get (one value: its table decoded for it) and tg_cw_table (a channel's table,
    kept while the next channel reads the same) on coded per-channel and shared tables
    (negated channels) give the filter's values; tg_cw.c also with its plain-C lowest set
    bit (built without __GNUC__)."""
    rng = np.random.default_rng(31)
    runtime = resources.runtime_dir()
    for v, enc in ((lambda v: (v, encode_palette(v, 4, True, coded=True)))(
                       few_values(rng, (7, 23))),
                   (lambda v: (v, encode_palette_shared(v, 4, coded=True)))(
                       signed_clusters(rng, (20, 9)))):
        c, d = v.shape
        src = tmp_path / "main.c"
        src.write_text("#include <stdint.h>\n" + _c_bytes("data", "uint8_t", enc.data)
                       + _c_bytes("table", "int8_t", enc.table)
                       + (_c_bytes("refs", "uint8_t", enc.refs) if enc.ref_bits else "")
                       + f"#define ROW_BYTES {enc.row_bytes}\n#define CHANNELS {c}\n"
                       f"#define DEPTH {d}\n#define REF_BITS {enc.ref_bits}\n"
                       f"#define REFS {'refs' if enc.ref_bits else 'NULL'}\n" + READER_MAIN)
        flags = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-O2",
                 f"-I{runtime}"]
        subprocess.run(["gcc", *flags, *([] if builtins else ["-U__GNUC__"]), "-c",
                        str(runtime / "tg_cw.c"), "-o", str(tmp_path / "cw.o")], check=True)
        subprocess.run(["gcc", *flags, str(src), str(tmp_path / "cw.o"), "-o",
                        str(tmp_path / "m")], check=True)
        out = subprocess.run([str(tmp_path / "m")], capture_output=True, text=True,
                             check=True).stdout.split()
        got = np.array(out, np.int64).reshape(c * d, 2)
        assert enc.coded_tables and (enc.ref_bits == 0) == (c == 7)
        assert c == 7 or enc.negated_channels() > 0
        assert np.array_equal(got[:, 0], v.reshape(-1)) and np.array_equal(got[:, 1],
                                                                           v.reshape(-1))


# --- generated models, bit-exact -----------------------------------------------------------

# (batches, depth, units, filter): the three paths of tg_dsp_cw_gemm_s8 (one block of 3
# channels: tg_cwg_channel; rows expanded once: tg_cwg_pal; 16-row chunks: tg_cwg_channel),
# depth tails after the 8-index steps (tg_cwg_tail with the table)
FCS = [(3, 45, 3, few_values), (6, 61, 10, few_values), (40, 118, 7, signed_clusters),
       (5, 48, 24, signed_clusters)]
CONVS = [(ConvCase(in_h=4, in_w=3, in_d=40, out_d=12, k_h=1, k_w=1), few_values),
         (ConvCase(in_h=5, in_w=4, in_d=8, out_d=6, k_h=3, k_w=3, act="RELU"), few_values),
         (ConvCase(in_h=4, in_w=4, in_d=9, out_d=12, k_h=2, k_w=2), signed_clusters)]
LAYERS = len(FCS) + len(CONVS)


def coded_model(convs=CONVS) -> bytes:
    rng = np.random.default_rng(1214)
    m = ModelWriter()
    for k, (b, d, u, values) in enumerate(FCS):
        add_fc(m, rng, f"f{k}", b, d, u, True, "NONE" if k % 2 else "RELU")
        set_filter(m, values(rng, (u, d)))
    for k, (c, values) in enumerate(convs):
        add_layer(m, rng, c, f"c{k}")
        set_filter(m, values(rng, tuple(m.tensors[m.ops[-1].inputs[1]].shape)))
    return m.build()


def _check_coded(gen) -> None:
    filters = _filters(gen)
    assert all(f and f["coded_tables"] and f["label"].endswith(" ef") for f in filters), \
        [f and f["label"] for f in filters]
    assert sum(f.get("negated_channels", 0) > 0 for f in filters) == 3


@pytest.mark.parametrize("kernels", [["portable"], DSP], ids=["portable", "dsp"])
def test_coded_tables_bit_exact_sanitized(kernels, tmp_path):
    """Coded tables per channel and shared (negated channels), host ASan/UBSan: the portable
    kernels (tg_cw_fully_connected_s8, tg_cw_conv_s8) and the dsp GEMM's three paths."""
    res = assert_bit_exact(coded_model(), tmp_path, count=2, kernels=kernels, sanitize=True,
                           layer_compress={i: ("palette",) for i in range(LAYERS)})
    _check_coded(res.gen)
    calls = [layer.call for layer in res.gen.program.layers]
    if kernels == DSP:
        gemm = [c for c in calls if c.kernel == "tg_dsp_cw_gemm_s8"]
        assert len(gemm) == 5
        paths = {"one block" if c.params["chunk"] == 0 else "rows once"
                 if c.params["chunk"] >= c.params["rows"] else "chunks" for c in gemm}
        assert paths == {"one block", "rows once", "chunks"}, paths
    else:
        assert {c.kernel for c in calls} == {"tg_cw_fully_connected_s8", "tg_cw_conv_s8"}
    assert all(c.params[f]["table_coded"] == 1 and c.params[f]["table_stride"] == 12
               for c in calls for f in ("weights", "filter") if f in c.params)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_coded_tables_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """The same layers on QEMU: the dsp GEMM's decoders and the portable 3x3 and 2x2
    convolutions built for the Cortex-M4 (tg_cw_table's CTZ is RBIT + CLZ there)."""
    model_c = verify_on_m4(tmp_path, monkeypatch, coded_model(),
                           {i: ("palette",) for i in range(LAYERS)}, 3)
    assert model_c.count("tg_dsp_cw_gemm_s8(") == 5
    assert model_c.count(".table_coded = 1") == LAYERS
