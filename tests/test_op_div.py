"""DIV, int8: TFLM's arithmetic, defined where TFLM's C++ is not (codegen/ops/div.py).

The Python model (`div_s8`, verify's oracle for such layers) is checked against TFLM on
every pair of int8 values wherever TFLM is defined; the generated C is checked against
the model (and against TFLM directly for a layer that never leaves TFLM's defined range).
"""
import zlib

import numpy as np
import pytest

from codegen import fixedpoint
from codegen.errors import UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ops.div import analyse_div, div_s8
from codegen.reference import TflmReference
from tests.harness import assert_bit_exact


def div_model(rng, shape1, shape2, const2=None, zps=None, scales=None, act=0,
              m: ModelWriter | None = None, tag: str = ""):
    """A one-layer model (bytes), or with `m` the layer added to it: (inputs, outputs)."""
    s1, s2 = (float(v) for v in rng.uniform(0.01, 0.1, 2))
    s_out = s1 / s2 * float(rng.uniform(0.3, 4))
    if scales:
        s1, s2, s_out = scales
    z1, z2, zo = zps or [int(v) for v in rng.integers(-128, 128, 3)]
    alone = m is None
    m = m or ModelWriter()
    x1 = m.tensor("x1" + tag, shape1, "int8", scale=s1, zero_point=z1)
    if const2 is not None:
        x2 = m.const("x2" + tag, np.asarray(const2).reshape(shape2), "int8", scale=s2,
                     zero_point=z2)
    else:
        x2 = m.tensor("x2" + tag, shape2, "int8", scale=s2, zero_point=z2)
    y = m.tensor("y" + tag, np.broadcast_shapes(shape1, shape2), "int8", scale=s_out,
                 zero_point=zo)
    m.op("DIV", [x1, x2], [y], dict(fused_activation_function=act))
    feeds = [x1] if const2 is not None else [x1, x2]
    if not alone:
        return feeds, [y]
    m.inputs, m.outputs = feeds, [y]
    return m.build()


def _defined_by_tflm(layer, n, d):
    """Where TFLM's C++ is defined: a nonzero divisor and a right shift below 32."""
    def right(a, b):
        a, b = (-a, -b) if b < 0 else (a, b)
        headroom = 31 - (a if a >= 0 else ~a).bit_length()
        return 31 - fixedpoint.clz32(b) + headroom - layer.output_shift
    return np.vectorize(lambda a, b: b != 0 and right(int(a), int(b)) < 32)(n, d)


@pytest.mark.parametrize("k", range(2))
def test_div_model_equals_tflm_where_tflm_is_defined(k):
    """Every (x1, x2) pair of one quantization: the model equals TFLM wherever TFLM's C++ is
    defined; where it is not, the model gives the rounded quotient (0) or saturates."""
    rng = np.random.default_rng(zlib.crc32(b"div exhaustive %d" % k))
    model = div_model(rng, (256, 256), (256, 256), act=[0, 1][k])
    g = read_tflite(model)
    a, b = np.meshgrid(np.arange(-128, 128), np.arange(-128, 128), indexing="ij")
    a, b = a.astype(np.int8), b.astype(np.int8)
    layer = analyse_div(g.ops[0], g)
    want = TflmReference(model, g).run([a, b])[0]
    got = div_s8(layer, a, b)
    n, d = a.astype(int) + layer.input1_offset, b.astype(int) + layer.input2_offset
    defined = _defined_by_tflm(layer, n, d)
    assert 1000 < np.count_nonzero(~defined) < defined.size / 2   # both kinds are exercised
    np.testing.assert_array_equal(got[defined], want[defined])
    zp = min(max(layer.output_offset, layer.act_min), layer.act_max)
    assert np.all(got[~defined & (d != 0)] == zp)
    assert np.all(got[(d == 0) & (n > 0)] == layer.act_max)
    assert np.all(got[(d == 0) & (n < 0)] == layer.act_min)


CASES = [
    # shape1, shape2, zero points (None: random), fused activation, constant input2
    ((2, 5, 8), (2, 5, 8), None, 0, None),
    ((1, 4, 4, 6), (6,), [-128, 127, 0], 0, None),          # per-channel divisor
    ((3, 1, 5), (1, 4, 1), [127, -128, -128], 1, None),     # both broadcast, RELU
    ((2, 1, 3, 2, 4), (2, 3, 1, 1), None, 3, None),         # 5-D broadcast, RELU6
    ((4, 2, 2, 2, 2, 3), (4, 2, 2, 2, 2, 3), None, 0, None),  # equal shapes: any rank
    ((2, 4, 9), (4, 1), [0, 0, -128], 0, [[0], [1], [-1], [127]]),  # a zero divisor
]


def test_div(tmp_path):
    """Every case as its own layer of one model (one build), under ASan/UBSan, against the
    model of the arithmetic (checked against TFLM above)."""
    m = ModelWriter()
    for k, case in enumerate(CASES):
        shape1, shape2, zps, act, const2 = case
        rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
        ins, outs = div_model(rng, shape1, shape2, const2=const2, zps=zps, act=act, m=m,
                              tag=str(k))
        m.inputs += ins
        m.outputs += outs
    result = assert_bit_exact(m.build(), tmp_path, count=3, seed=3, sanitize=True)
    for layer in result.gen.program.layers:
        assert layer.call.kernel == "tg_div_s8" and layer.call.oracle == "spec"
        assert any("undefined behaviour in C++" in w for w in layer.call.warnings)
    assert "tinygen's model of TFLM's arithmetic" in result.reference


def test_div_within_tflm_defined_range_is_judged_by_tflm(tmp_path):
    """A constant divisor of 1..3 LSB and an output multiplier above 2: no input leaves
    TFLM's defined range, so the layer is compared with TFLM itself and no warning."""
    rng = np.random.default_rng(11)
    d = rng.integers(1, 4, (1, 1, 8)) * rng.choice([-1, 1], (1, 1, 8)) + 5
    model = div_model(rng, (1, 3, 3, 8), (1, 1, 8), const2=d, zps=[-3, 5, 2],
                      scales=(0.05, 0.05, 0.2))
    result = assert_bit_exact(model, tmp_path, count=3, seed=4)
    call = result.gen.program.layers[0].call
    assert call.oracle == "tflm" and not call.warnings
    assert result.reference.startswith("TFLM")


def test_div_match_tflm_changes_nothing_but_says_so(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "m.tflite"
    path.write_bytes(div_model(rng, (4, 4), (4, 4)))
    default = generate(path, tmp_path / "a", target="host", force=True)
    matched = generate(path, tmp_path / "b", target="host", force=True, match_tflm=True)
    assert [l.call.params for l in default.program.layers] == \
        [l.call.params for l in matched.program.layers]
    assert matched.program.layers[0].call.oracle == "spec"
    assert any("--match-tflm cannot reproduce TFLM" in w
               for w in matched.program.layers[0].call.warnings)


def test_div_rejects_int16_and_huge_multipliers(tmp_path):
    m = ModelWriter()
    a = m.tensor("a", (4,), "int16", scale=0.01, zero_point=0)
    b = m.tensor("b", (4,), "int16", scale=0.01, zero_point=0)
    y = m.tensor("y", (4,), "int16", scale=0.01, zero_point=0)
    m.op("DIV", [a, b], [y])
    m.inputs, m.outputs = [a, b], [y]
    with pytest.raises(UnsupportedError, match=r"DIV.*input1 'a' is int16; supported: int8"):
        assert_bit_exact(m.build(), tmp_path)
    rng = np.random.default_rng(0)
    with pytest.raises(UnsupportedError, match=r"quotient multiplier .* supported: below 2\^23"):
        assert_bit_exact(div_model(rng, (4,), (4,), scales=(1.0, 1e-4, 1e-4)), tmp_path)
