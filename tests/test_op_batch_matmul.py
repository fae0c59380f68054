"""BATCH_MATMUL, int8, against TFLM: ranks 2-5, adj_x/adj_y, broadcast batches, constants."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from tests.harness import assert_bit_exact


def batch_matmul_model(rng, lhs_shape, rhs_shape, adj_x=False, adj_y=False, const=None,
                       zps=None, m: ModelWriter | None = None, tag: str = ""):
    """A one-layer model (bytes), or with `m` the layer added to it: (inputs, outputs)."""
    s_l, s_r = float(rng.uniform(0.01, 0.1)), float(rng.uniform(0.01, 0.1))
    k = lhs_shape[-2] if adj_x else lhs_shape[-1]
    s_out = s_l * s_r * 128 * float(np.sqrt(k)) * float(rng.uniform(0.5, 2))
    z_l, z_r, z_o = zps or [int(v) for v in rng.integers(-128, 128, 3)]
    m_dim = lhs_shape[-1] if adj_x else lhs_shape[-2]
    n_dim = rhs_shape[-2] if adj_y else rhs_shape[-1]
    rank = max(len(lhs_shape), len(rhs_shape))
    lb = [1] * (rank - len(lhs_shape)) + list(lhs_shape[:-2])
    rb = [1] * (rank - len(rhs_shape)) + list(rhs_shape[:-2])
    out_shape = [max(a, b) for a, b in zip(lb, rb)] + [m_dim, n_dim]
    alone = m is None
    m = m or ModelWriter()
    ins, feeds = [], []
    for name, shape, s, z in (("lhs", lhs_shape, s_l, z_l), ("rhs", rhs_shape, s_r, z_r)):
        if const == name:
            ins.append(m.const(name + tag, rng.integers(-128, 128, shape), "int8", scale=s,
                               zero_point=z))
        else:
            ins.append(m.tensor(name + tag, shape, "int8", scale=s, zero_point=z))
            feeds.append(ins[-1])
    y = m.tensor("y" + tag, out_shape, "int8", scale=s_out, zero_point=z_o)
    m.op("BATCH_MATMUL", ins, [y], dict(adj_x=adj_x, adj_y=adj_y))
    if not alone:
        return feeds, [y]
    m.inputs, m.outputs = feeds, [y]
    return m.build()


CASES = [
    # lhs shape, rhs shape, adj_x, adj_y, constant operand, zero points
    ((3, 5), (5, 4), False, False, None, None),
    ((2, 4, 6), (2, 6, 3), False, False, None, None),            # attention scores
    ((2, 6, 4), (2, 6, 3), True, False, None, [-128, 127, 0]),
    ((2, 4, 6), (2, 3, 6), False, True, None, [127, -128, -128]),  # q @ k^T
    ((1, 2, 6, 4), (2, 3, 6), True, True, None, None),            # rank 4 with rank 3
    ((2, 1, 3, 5, 7), (4, 1, 7, 2), False, False, "rhs", None),   # rank 5, constant rhs
    ((1, 3, 5, 8), (3, 1, 8, 4), False, False, None, None),       # both broadcast
    ((5, 9), (2, 2, 9, 3), False, False, "lhs", None),            # constant lhs broadcast
    ((2, 1, 7, 5), (3, 4, 7), True, True, None, [127, -128, 5]),
]


def test_batch_matmul(tmp_path):
    """Every case as its own layer of one model (one build), under ASan/UBSan."""
    m = ModelWriter()
    for k, case in enumerate(CASES):
        lhs, rhs, adj_x, adj_y, const, zps = case
        rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
        ins, outs = batch_matmul_model(rng, lhs, rhs, adj_x, adj_y, const, zps, m=m, tag=str(k))
        m.inputs += ins
        m.outputs += outs
    result = assert_bit_exact(m.build(), tmp_path, count=3, seed=2, sanitize=True)
    assert [l.call.kernel for l in result.gen.program.layers] == \
        ["tg_batch_matmul_s8"] * len(CASES)
    assert result.reference.startswith("TFLM")


def test_batch_matmul_rejects_int16_and_bad_batches(tmp_path):
    m = ModelWriter()
    a = m.tensor("a", (2, 3), "int16", scale=0.01, zero_point=0)
    b = m.tensor("b", (3, 2), "int16", scale=0.01, zero_point=0)
    y = m.tensor("y", (2, 2), "int16", scale=0.01, zero_point=0)
    m.op("BATCH_MATMUL", [a, b], [y])
    m.inputs, m.outputs = [a, b], [y]
    with pytest.raises(UnsupportedError, match=r"BATCH_MATMUL.*lhs 'a' is int16; "
                                               r"supported: int8"):
        assert_bit_exact(m.build(), tmp_path)
    m = ModelWriter()
    a = m.tensor("a", (2, 3, 4), "int8", scale=0.01, zero_point=0)
    b = m.tensor("b", (3, 4, 2), "int8", scale=0.01, zero_point=0)
    y = m.tensor("y", (3, 3, 2), "int8", scale=0.01, zero_point=0)
    m.op("BATCH_MATMUL", [a, b], [y])
    m.inputs, m.outputs = [a, b], [y]
    with pytest.raises(UnsupportedError, match=r"batch dimensions of \[2, 3, 4\] and "
                                               r"\[3, 4, 2\] do not broadcast"):
        assert_bit_exact(m.build(), tmp_path)
