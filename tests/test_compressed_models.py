"""Models whose filters come compressed: INT4 tensors, TFLite sparse tensors (DENSIFY) and
TFLM's TFLM_DECODE look-up tables.  Each must import as the graph of the same model
written with plain int8 filters, with exactly the same values, and run bit-exactly.

One model holds a CONV_2D, a DEPTHWISE_CONV_2D and a FULLY_CONNECTED (compiling costs
more than running), written with `ModelWriter` in each form.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from codegen.errors import ModelError, UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.sparsity import DENSE, SPARSE_CSR
from codegen.frontend.tflite_writer import ModelWriter
from codegen.passes import run_passes
from codegen.reference import LiteRtReference
from codegen.vectors import random_inputs
from tests.harness import assert_bit_exact

D, S = DENSE, SPARSE_CSR
# name -> (shape, channel axis) of each filter of the chain model
FILTERS = {"conv_w": ((8, 3, 3, 3), 0), "dw_w": ((1, 3, 3, 8), 3), "fc_w": ((5, 288), 0)}


def filters(rng, kind: str) -> dict[str, np.ndarray]:
    """Filter values: "int4" in [-8, 7]; "sparse" ~70 % zeros with a zero channel and zero
    blocks; "palette" at most 4 values per output channel (and 16 in the whole tensor)."""
    out = {}
    for name, (shape, axis) in FILTERS.items():
        if kind == "int4":
            w = rng.integers(-8, 8, shape)
        elif kind == "sparse":
            w = rng.integers(-127, 128, shape) * (rng.random(shape) < 0.3)
            np.moveaxis(w, axis, 0)[1] = 0                       # a whole zero channel
            w.reshape(-1, 4)[::3] = 0                            # and zero blocks of 4
        else:
            palette = rng.choice(np.arange(-127, 128), 16, replace=False)
            chans = [rng.choice(palette, 4, replace=False) for _ in range(shape[axis])]
            w = np.moveaxis(np.stack([rng.choice(c, np.moveaxis(np.zeros(shape), axis, 0)
                                                 .shape[1:]) for c in chans]), 0, axis)
        out[name] = np.ascontiguousarray(w).astype(np.int8)
    return out


def chain_model(rng, weights, dtype="int8", per_channel=(True, True, False), sparsity=None,
                densify=True) -> bytes:
    """input 1x6x6x3 -> CONV_2D 3x3 (8) -> DEPTHWISE_CONV_2D 3x3 -> RESHAPE -> FC (5).
    `sparsity`: filter name -> ModelWriter sparsity dict (the filter stored sparse, read
    through a DENSIFY when `densify`)."""
    m = ModelWriter()
    sparsity = sparsity or {}
    x = m.tensor("input", (1, 6, 6, 3), "int8", scale=0.04, zero_point=-5)
    in_scale, prev = 0.04, x
    outs = {"conv_w": (1, 6, 6, 8), "dw_w": (1, 6, 6, 8), "fc_w": (1, 5)}
    ops = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")
    for (name, (shape, axis)), pc, op in zip(FILTERS.items(), per_channel, ops):
        n = shape[axis] if pc else 1
        ws = rng.uniform(0.002, 0.02, n)
        q = dict(scale=ws, zero_point=[0] * n, axis=axis)
        if name in sparsity:
            w = m.const(name + "_sparse", weights[name], dtype, sparsity=sparsity[name], **q)
            if densify:
                dense = m.tensor(name, shape, dtype, **q)
                m.op("DENSIFY", [w], [dense])
                w = dense
        else:
            w = m.const(name, weights[name], dtype, **q)
        b = m.const(name[:-2] + "_b", rng.integers(-2000, 2000, (shape[axis],)), "int32",
                    scale=in_scale * ws, zero_point=[0] * n)
        if op == "FULLY_CONNECTED":
            flat = m.tensor("flat", (1, 288), "int8", scale=in_scale, zero_point=3)
            m.op("RESHAPE", [prev, m.const("new_shape", np.array([1, 288]), "int32")], [flat],
                 {"new_shape": [1, 288]})
            prev = flat
        out_scale = float(rng.uniform(0.05, 0.2))
        y = m.tensor(name[:-2] + "_out", outs[name], "int8", scale=out_scale, zero_point=3)
        opts = {"padding": 0, "stride_w": 1, "stride_h": 1}
        if op == "DEPTHWISE_CONV_2D":
            opts["depth_multiplier"] = 1
        m.op(op, [prev, w, b], [y], opts if op != "FULLY_CONNECTED" else {})
        prev, in_scale = y, out_scale
    m.inputs, m.outputs = [x], [prev]
    return m.build()


def filter_values(graph) -> dict[str, np.ndarray]:
    """The filter each conv/FC layer of the graph reads, by layer kind."""
    names = {"CONV_2D": "conv_w", "DEPTHWISE_CONV_2D": "dw_w", "FULLY_CONNECTED": "fc_w"}
    return {names[op.opcode]: graph.tensors[op.inputs[1]] for op in graph.ops
            if op.opcode in names}



# -- INT4 -------------------------------------------------------------------------------------

@pytest.mark.parametrize("per_channel", [(False, False, False), (True, True, False),
                                         (True, True, True)],
                         ids=["per-tensor", "per-channel-conv", "per-channel"])
def test_int4_filters_read_as_their_int8_values(per_channel, tmp_path):
    weights = filters(np.random.default_rng(4), "int4")
    int4 = chain_model(np.random.default_rng(5), weights, "int4", per_channel)
    int8 = chain_model(np.random.default_rng(5), weights, "int8", per_channel)
    assert len(int4) < len(int8) - 700          # really stored two values per byte
    got = filter_values(run_passes(read_tflite(int4)))
    for name, t in got.items():
        assert t.dtype == "int8" and t.stored_as == "int4"
        np.testing.assert_array_equal(t.data, weights[name])
    (tmp_path / "int4").mkdir()
    (tmp_path / "int8").mkdir()
    r = assert_bit_exact(int4, tmp_path / "int4", count=2)
    if per_channel[2]:
        # TFLM refuses per-channel INT4 on FULLY_CONNECTED: the same model with int8 filters
        assert "compressed constants decoded" in r.reference
    else:
        assert r.reference == "TFLM reference kernels"      # TFLM runs the int4 file itself
    # the generated program is the int8 model's, byte for byte
    r8 = assert_bit_exact(int8, tmp_path / "int8", count=1)
    for f in ("model.c", "model_data.c", "model.h"):
        assert (tmp_path / "int4/out" / f).read_bytes() == (tmp_path / "int8/out" / f).read_bytes()
    assert r8.reference == "TFLM reference kernels"


def test_int4_pack_unpack():
    from codegen.frontend.int4 import pack_int4, unpack_int4
    assert pack_int4(np.array([1, -1, -8, 7, 5])) == bytes([0xF1, 0x78, 0x05])
    np.testing.assert_array_equal(unpack_int4(bytes([0xF1, 0x78, 0x85]), 6),
                                  [1, -1, -8, 7, 5, -8])
    v = np.random.default_rng(0).integers(-8, 8, 101)
    np.testing.assert_array_equal(unpack_int4(pack_int4(v), 101), v)
    with pytest.raises(ValueError):
        pack_int4(np.array([8]))


def _int4_fc(m: ModelWriter, as_input: int = 1) -> bytes:
    x = m.tensor("x", (1, 4), "int8", scale=0.1, zero_point=0)
    w = m.const("w4", np.zeros((2, 4)), "int4", scale=0.1, zero_point=0)
    y = m.tensor("y", (1, 2), "int8", scale=0.1, zero_point=0)
    m.op("FULLY_CONNECTED", [x, w, -1] if as_input == 1 else [w, x, -1], [y])
    m.inputs, m.outputs = [x], [y]
    return m.build()


def test_int4_errors_name_the_tensor():
    with pytest.raises(UnsupportedError, match=r"tensor #1 'w4' as its input #0.*filter of"):
        read_tflite(_int4_fc(ModelWriter(), as_input=0))
    m = ModelWriter()
    data = _int4_fc(m)
    good = bytes(m.buffers[1])
    assert len(good) == 4
    m.buffers[1] = good + b"\0"                       # 5 bytes for 8 int4 values
    with pytest.raises(ModelError, match=r"'w4' has shape \[2, 4\] of int4 \(8 values, 4 bytes"):
        read_tflite(m.build())
    assert read_tflite(data).tensors[1].stored_as == "int4"
    m.buffers[1] = good
    m.tensors[1].zero_point = [9]
    with pytest.raises(ModelError, match=r"'w4': zero point 9 is outside the int4 range"):
        read_tflite(m.build())


# -- sparse tensors and DENSIFY ----------------------------------------------------------------

SPARSE_FORMS = {
    "csr": {"conv_w": dict(formats=[D, S, D, S]), "dw_w": dict(formats=[D, D, S, S]),
            "fc_w": dict(formats=[D, S])},
    "blocks": {"conv_w": dict(formats=[D, D, S, S, D], block_map=[3], block_size=[3]),
               "dw_w": dict(formats=[D, S, D, S, D], block_map=[3], block_size=[4]),
               "fc_w": dict(formats=[S, S, D], block_map=[1], block_size=[4],
                            index_type="uint16")},
    "reordered": {"conv_w": dict(formats=[D, S, S, D], traversal_order=[0, 3, 1, 2]),
                  "dw_w": dict(formats=[S, D, D, S], index_type="int32"),
                  "fc_w": dict(formats=[D, S, D, D], traversal_order=[1, 0, 2, 3],
                               block_map=[0, 1], block_size=[1, 8])},
}


@pytest.mark.parametrize("form", list(SPARSE_FORMS))
def test_sparse_filters_densify_exactly(form, tmp_path):
    weights = filters(np.random.default_rng(6), "sparse")
    sparse = chain_model(np.random.default_rng(7), weights, sparsity=SPARSE_FORMS[form])
    dense = chain_model(np.random.default_rng(7), weights)
    graph = run_passes(read_tflite(sparse))
    assert "DENSIFY" not in [op.opcode for op in graph.ops]
    for name, t in filter_values(graph).items():
        assert t.stored_as == "sparse"
        np.testing.assert_array_equal(t.data, weights[name])
    # TFLite's own DENSIFY (LiteRT) reads the file as the dense model: the format is TFLite's
    g0 = read_tflite(dense)
    xs = random_inputs(g0, np.random.default_rng(8))
    want = LiteRtReference(dense, g0).run(xs)[0]
    np.testing.assert_array_equal(LiteRtReference(sparse, read_tflite(sparse)).run(xs)[0], want)
    if form == "csr":                           # compiling costs: one form end to end
        r = assert_bit_exact(sparse, tmp_path, count=2)
        assert "compressed constants decoded" in r.reference    # TFLM has no DENSIFY


def test_sparse_without_densify_is_read_dense():
    """TFLite's sparse FULLY_CONNECTED reads a sparse filter directly: the same values."""
    weights = filters(np.random.default_rng(6), "sparse")
    g = read_tflite(chain_model(np.random.default_rng(7), weights,
                                sparsity={"fc_w": dict(formats=[D, S])}, densify=False))
    np.testing.assert_array_equal(filter_values(g)["fc_w"].data, weights["fc_w"])


def test_densify_round_trips_and_checks():
    from codegen.frontend.sparsity import densify, sparsify
    rng = np.random.default_rng(9)
    for shape, fmts, kw in [((6, 8), [S, S], {}), ((4, 6, 8), [D, S, D], {}),
                            ((6, 8), [D, S, D, D], dict(block_map=[0, 1], block_size=[2, 4])),
                            ((2, 3, 4, 8), [S, D, S, S, D], dict(block_map=[3],
                                                                block_size=[2])),
                            ((6, 8), [S, D], dict(traversal_order=[1, 0]))]:
        dense = rng.integers(-3, 4, shape) * (rng.random(shape) < 0.3)
        sp, values = sparsify(dense, fmts, **kw)
        assert values.size < dense.size or S not in fmts
        np.testing.assert_array_equal(densify(sp, shape, values, "t"), dense)
    sp, values = sparsify(np.eye(4, dtype=np.int8), [D, S])
    assert sp.dims[1].segments.tolist() == [0, 1, 2, 3, 4]
    assert sp.dims[1].indices.tolist() == [0, 1, 2, 3]
    bad = [("indices", [0, 1, 2, 4], r"holds 4 \(or a negative index\); the dimension has 4"),
           ("indices", [0, 1, 2, 2], None), ("segments", [0, 1, 2, 4, 3], "must rise"),
           ("segments", [0, 1, 2, 4], "needs 5")]
    for field, v, msg in bad:
        sp, values = sparsify(np.eye(4, dtype=np.int8), [D, S])
        setattr(sp.dims[1], field, np.array(v))
        if msg is None:                  # a repeated index in another row: fine, not twice
            sp.dims[1].segments = np.array([0, 1, 2, 3, 4])
            np.testing.assert_array_equal(densify(sp, (4, 4), values, "t")[3], [0, 0, 1, 0])
            continue
        with pytest.raises(ModelError, match=r"tensor 'w': sparsity level 1.*" + msg):
            densify(sp, (4, 4), values, "tensor 'w'")
    sp, values = sparsify(np.eye(4, dtype=np.int8), [D, S])
    sp.dims[1].indices = np.array([0, 0, 2, 3])
    sp.dims[1].segments = np.array([0, 2, 2, 3, 4])
    with pytest.raises(ModelError, match="the same element twice"):
        densify(sp, (4, 4), values, "t")
    with pytest.raises(ModelError, match="keep 4 value"):
        densify(sparsify(np.eye(4), [D, S])[0], (4, 4), np.ones(5), "t")
    with pytest.raises(ModelError, match="traversal_order"):
        densify(sparsify(np.eye(4), [D, S], traversal_order=[0, 1])[0].__class__(
            [0, 0], [], []), (4, 4), np.ones(4), "t")


def test_sparse_huge_declared_shape_fails_without_allocating():
    from codegen.frontend.sparsity import DimMetadata, Sparsity, densify
    sp = Sparsity([0, 1, 2], [], [DimMetadata(D, 16384), DimMetadata(D, 16384),
                                  DimMetadata(S, segments=np.array([0, 0]),
                                              indices=np.zeros(0, np.int64))])
    with pytest.raises(ModelError, match=r"has 2 entries; the level above has 268435456 "
                                         r"positions, so it needs 268435457"):
        densify(sp, (16384, 16384, 1), np.zeros(0, np.int8), "tensor 'big'")


def test_sparse_file_errors_name_the_tensor():
    def fc(buffer_extra=b"", sparsity=None):
        m = ModelWriter()
        x = m.tensor("x", (1, 8), "int8", scale=0.1, zero_point=0)
        w = m.const("ws", np.eye(4, 8) * 3, "int8", scale=0.1, zero_point=0,
                    sparsity=sparsity or dict(formats=[D, S]))
        m.buffers[-1] += buffer_extra
        y = m.tensor("y", (1, 4), "int8", scale=0.1, zero_point=0)
        m.op("FULLY_CONNECTED", [x, w, -1], [y])
        m.inputs, m.outputs = [x], [y]
        return m
    assert read_tflite(fc().build()).tensors[1].stored_as == "sparse"
    with pytest.raises(ModelError, match=r"tensor #1 'ws' is sparse with 4 stored int8 value\(s\) "
                                         r"\(4 bytes\) but its buffer 1 holds 5 bytes"):
        read_tflite(fc(b"\0").build())
    m = fc()
    m.tensors[1].sparsity.dims[0].dense_size = 5
    with pytest.raises(ModelError, match=r"tensor #1 'ws': sparsity parameters: level 0 "
                                         r"\(dimension 0\) is DENSE of size 5, but the dimension "
                                         "has 4 entries"):
        read_tflite(m.build())


# -- TFLM_DECODE -------------------------------------------------------------------------------

def _compress(model: bytes, layout: dict[int, tuple[int, int | None]]) -> bytes:
    """tflite_micro.compression on tensor index -> (bit width, channel axis or None)."""
    from tflite_micro import compression
    from tflite_micro.tensorflow.lite.micro.compression import spec

    specs = [spec.Tensor(subgraph=0, tensor=t, compression=[spec.LookUpTableCompression(
        index_bitwidth=bw, mode=spec.PerTensor() if axis is None else spec.PerChannel(axis)
    )]) for t, (bw, axis) in layout.items()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(compression.compress(model, specs))


def _index(model: bytes, name: str) -> int:
    return next(t.index for t in read_tflite(model).tensors if t.name == name)


@pytest.mark.parametrize("tables", ["match", "per-tensor table on per-channel"])
def test_tflm_decode_tables(tables, tmp_path, capfd):
    weights = filters(np.random.default_rng(10), "palette")
    model = chain_model(np.random.default_rng(11), weights)
    g0 = read_tflite(model)
    ix = {name: _index(model, name) for name in ("conv_w", "dw_w", "fc_w", "conv_b", "fc_b")}
    if tables == "match":   # tables laid out as the quantization: TFLM decodes them right
        layout = {ix["conv_w"]: (2, 0), ix["dw_w"]: (2, 3), ix["fc_w"]: (4, None),
                  ix["conv_b"]: (1, 0), ix["fc_b"]: (3, None)}
    else:
        layout = {ix["conv_w"]: (4, None), ix["dw_w"]: (3, 3), ix["fc_w"]: (7, None)}
    compressed = _compress(model, layout)
    capfd.readouterr()
    raw = read_tflite(compressed)
    assert [op.opcode for op in raw.ops].count("CUSTOM(TFLM_DECODE)") == 3
    graph = run_passes(raw)
    assert [op.opcode for op in graph.ops] == [op.opcode for op in g0.ops]
    for op0, op in zip(g0.ops, graph.ops):
        for i0, i in zip(op0.inputs, op.inputs):
            t0, t = g0.tensors[i0], graph.tensors[i]
            if t0.is_const:
                assert t.dtype == t0.dtype and t.shape == t0.shape
                np.testing.assert_array_equal(t.data, t0.data)
                assert t.stored_as.startswith("TFLM_DECODE LUT") == (t0.index in layout)
    r = assert_bit_exact(compressed, tmp_path, count=2)
    if tables == "match":
        assert r.reference == "TFLM reference kernels"
    else:
        assert "TFLM's DECODE kernel misreads tensor" in r.reference


def _lut_ancillary(axis: int, bitwidth: int, tables: np.ndarray, dtype=np.int8,
                   kind: int = 0) -> bytes:
    head = bytes([kind, 1, 0, 0, 1, (axis << 4) | bitwidth, tables.shape[-1]]) + bytes(9)
    return head + np.asarray(tables, dtype=dtype).astype(np.dtype(dtype).newbyteorder("<")) \
        .tobytes()


def test_decode_lut_by_hand():
    from codegen.frontend.tflm_decode import decode_lut, unpack_indices
    assert unpack_indices(bytes([0b10110001, 0b11000000]), 5, 2).tolist() == [2, 3, 0, 1, 3]
    assert unpack_indices(bytes([0b10110001, 0]), 3, 3).tolist() == [5, 4, 2]
    # per channel along the last axis: element (i, c) uses channel c's table
    tables = np.array([[10, 20], [-5, 7], [100, -100]])
    enc = bytes([0b01101100])            # indices 0 1 1 0 1 1 (1-bit) for shape (2, 3)
    got, h = decode_lut(enc, _lut_ancillary(1, 1, tables), (2, 3), np.int8, "t")
    assert got.tolist() == [[10, 7, -100], [10, 7, -100]] and h.axis == 1
    got, _ = decode_lut(enc, _lut_ancillary(0, 1, tables[:2]), (2, 3), np.int8, "t")
    assert got.tolist() == [[10, 20, 20], [-5, 7, 7]]
    got, _ = decode_lut(bytes([0b00011011]), _lut_ancillary(15, 2, np.array([[1, 2, 3, -70000]]),
                        np.int32), (4,), np.int32, "t")
    assert got.tolist() == [1, 2, 3, -70000] and got.dtype == np.int32
    cases = [(dict(anc=bytes(10)), ModelError, "10 bytes long, shorter than the 16-byte header"),
             (dict(kind=1), UnsupportedError, "type 1 \\(Huffman\\); tinygen decodes the LUT"),
             (dict(kind=2), UnsupportedError, "type 2 \\(pruning\\)"),
             (dict(enc=bytes([0b11000000, 0])), ModelError, "index 3 is past the end of its 2"),
             (dict(enc=b""), ModelError, "6 indices of 2 bits need 2"),
             (dict(tables=np.array([[1, 2]])), ModelError, "3 table\\(s\\) of 2 int8"),
             (dict(axis=4), ModelError, "channel axis 4 is out of range")]
    for kw, err, msg in cases:
        anc = kw.get("anc") or _lut_ancillary(kw.get("axis", 1), 2,
                                              kw.get("tables", tables), kind=kw.get("kind", 0))
        with pytest.raises(err, match="operator #0 output tensor #5 'w'.*" + msg):
            decode_lut(kw.get("enc", bytes([0, 0])), anc, (2, 3), np.int8,
                       "operator #0 output tensor #5 'w'")


def test_decode_operator_errors(capfd):
    import dataclasses

    from codegen.passes.decompress import decompress
    model = chain_model(np.random.default_rng(11), filters(np.random.default_rng(10), "palette"))
    raw = read_tflite(_compress(model, {_index(model, "fc_w"): (4, None)}))
    capfd.readouterr()
    k = next(i for i, op in enumerate(raw.ops) if op.opcode == "CUSTOM(TFLM_DECODE)")
    dec = raw.ops[k]

    def with_inputs(inputs):
        ops = list(raw.ops)
        ops[k] = dataclasses.replace(dec, inputs=inputs)
        return dataclasses.replace(raw, ops=ops)
    with pytest.raises(ModelError, match=r"\(CUSTOM\(TFLM_DECODE\)\) has 1 input\(s\) for 1 "
                                         r"output\(s\); TFLM_DECODE takes an \(encoded, ancillary"):
        decompress(with_inputs(dec.inputs[:1]))
    with pytest.raises(ModelError, match=r"output tensor #\d+ 'fc_w_decoded': its encoded data "
                                         r"\(input 0\) must be a uint8 constant; it is tensor "
                                         r"#0 'input', not a constant of int8"):
        decompress(with_inputs([0, dec.inputs[1]]))
    with pytest.raises(ModelError, match=r"'fc_w_decoded': its encoded data \(input 0\) must be "
                                         r"a uint8 constant; it is tensor #\d+ 'new_shape', a "
                                         r"constant of int32"):
        decompress(with_inputs([_index(model, "new_shape"), dec.inputs[1]]))
    with pytest.raises(ModelError, match=r"'fc_w_decoded': TFLM_DECODE encoded data is \d+ bytes; "
                                         r"1440 indices of 4 bits need 720"):
        decompress(with_inputs([dec.inputs[1], dec.inputs[1]]))
