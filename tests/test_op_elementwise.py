"""ADD, SUB and MUL against TFLM: broadcasting, constants, scales, zero points, activations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.lowering.elementwise.portable import broadcast_loops
from codegen.ops.elementwise import add_sub_multipliers
from tests.harness import assert_bit_exact

ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}
OPS = ["ADD", "SUB", "MUL"]


def _default_out_scale(opcode, s1, s2):
    return (s1 * s2 * 128.0) if opcode == "MUL" else (s1 + s2)


def binary_model(opcode, shape1, shape2, out_shape=None, rng=None, act="NONE", scales=None,
                 zps=None, const1=False, const2=False, dtype="int8"):
    """One binary op; `scales`/`zps` are (input1, input2, output), random where None."""
    rng = rng if rng is not None else np.random.default_rng(0)
    s1, s2 = (float(rng.uniform(0.005, 0.2)) for _ in range(2))
    if scales is not None:
        s1, s2 = scales[0], scales[1]
    so = _default_out_scale(opcode, s1, s2) * float(rng.uniform(0.4, 1.2))
    if scales is not None and scales[2] is not None:
        so = scales[2]
    z1, z2, zo = (int(rng.integers(-128, 128)) for _ in range(3))
    if zps is not None:
        z1, z2, zo = zps
    if out_shape is None:
        out_shape = np.broadcast_shapes(tuple(shape1), tuple(shape2))
    m = ModelWriter()

    def operand(name, shape, scale, zp, const):
        if const:
            info = np.iinfo(np.int16 if dtype == "int16" else np.int8)
            data = rng.integers(info.min, info.max, size=shape, endpoint=True)
            return m.const(name, np.asarray(data).reshape(shape), dtype, scale=scale,
                           zero_point=zp)
        return m.tensor(name, shape, dtype, scale=scale, zero_point=zp)

    x1 = operand("input1", shape1, s1, z1, const1)
    x2 = operand("input2", shape2, s2, z2, const2)
    y = m.tensor("output", out_shape, dtype, scale=so, zero_point=zo)
    m.op(opcode, [x1, x2], [y], {"fused_activation_function": ACTS[act]})
    m.inputs = [t for t, c in ((x1, const1), (x2, const2)) if not c]
    m.outputs = [y]
    return m.build()


def _rng(*key):
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


SHAPES = [
    ((7,), (7,)),
    ((1, 5, 3), (1, 5, 3)),
    ((2, 3, 5, 7), (2, 3, 5, 7)),
    ((1, 8, 8, 16), (1, 1, 1, 16)),     # per-channel bias style
    ((1, 8, 8, 16), (1, 8, 8, 1)),      # per-pixel scale style
    ((1, 1, 1, 16), (1, 8, 8, 16)),     # first input broadcast
    ((1, 4, 4, 3), (3,)),               # lower-rank operand
    ((1, 4, 4, 3), ()),                 # scalar operand
    ((1, 1), (5, 9)),
    ((3, 1, 5), (1, 4, 1)),             # both inputs broadcast
    ((2, 1, 3, 1, 4), (1, 3, 1, 5, 1)),  # 5-D, alternating
    ((2, 1, 2, 1, 2, 3), (1, 3, 1, 2, 1, 3)),  # 6-D
    ((1, 13, 1, 11), (1, 1, 17, 1)),
]


# SUB walks the broadcast exactly as ADD does (same loop nest code): a few shapes suffice
SHAPE_CASES = [(op, sh) for sh in SHAPES for op in ("ADD", "MUL")] + \
    [("SUB", SHAPES[i]) for i in (3, 6, 8, 11)]


@pytest.mark.parametrize("opcode,shapes", SHAPE_CASES,
                         ids=[f"{op}-{a}x{b}" for op, (a, b) in SHAPE_CASES])
def test_binary_shapes(opcode, shapes, tmp_path):
    rng = _rng(opcode, shapes)
    act = list(ACTS)[zlib.crc32(repr(shapes).encode()) % 4]
    assert_bit_exact(binary_model(opcode, *shapes, rng=rng, act=act), tmp_path, count=3)


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("act", list(ACTS))
def test_binary_activations(opcode, act, tmp_path):
    # zero output zero point and a small output scale make every clamp bound bite
    rng = _rng(opcode, act)
    assert_bit_exact(binary_model(opcode, (1, 6, 5, 4), (1, 6, 5, 4), rng=rng, act=act,
                                  scales=(0.05, 0.03, 0.02 if opcode != "MUL" else 0.002),
                                  zps=(3, -7, 0)), tmp_path, count=3)


ZPS = [(-128, -128, -128), (127, 127, 127), (-128, 127, 0)]


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("zps", ZPS, ids=[str(z) for z in ZPS])
def test_binary_zero_point_extremes(opcode, zps, tmp_path):
    rng = _rng(opcode, zps)
    assert_bit_exact(binary_model(opcode, (1, 9, 3, 5), (1, 1, 3, 5), rng=rng, zps=zps,
                                  act="RELU"), tmp_path, count=3)


SCALES = [
    (0.1, 0.1, 0.1),            # all equal
    (0.5, 0.001, 0.3),          # input2 negligible next to input1
    (0.0007, 0.9, 1.0),         # input1 negligible
    (0.02, 0.03, 0.0005),       # tiny output scale: saturates
    (0.0123456, 0.0987654, 3.0),  # huge output scale: most outputs near zero point
]


@pytest.mark.parametrize("opcode", ["ADD", "SUB"])
@pytest.mark.parametrize("scales", SCALES, ids=[str(s) for s in SCALES])
def test_add_sub_scales(opcode, scales, tmp_path):
    rng = _rng(opcode, scales)
    assert_bit_exact(binary_model(opcode, (2, 7, 3), (2, 7, 3), rng=rng, scales=scales),
                     tmp_path, count=3)


MUL_SCALES = [
    (0.05, 0.05, 0.3),          # equal input scales, multiplier < 1
    (0.5, 0.5, 0.01),           # multiplier 25: positive shift
    (0.9, 0.7, 0.0001),         # multiplier > 6000: saturates
    (0.001, 0.002, 0.5),        # multiplier 4e-6: big right shift
    (1.0, 0.003921569, 0.003921569),  # multiplier ~1
]


@pytest.mark.parametrize("scales", MUL_SCALES, ids=[str(s) for s in MUL_SCALES])
def test_mul_scales(scales, tmp_path):
    rng = _rng("MUL", scales)
    assert_bit_exact(binary_model("MUL", (1, 5, 5, 3), (3,), rng=rng, scales=scales),
                     tmp_path, count=3)


CONSTS = [
    ((1, 6, 6, 8), (1, 1, 1, 8), False, True),
    ((1, 6, 6, 8), (), False, True),        # scalar constant
    ((1, 1, 1, 8), (1, 6, 6, 8), True, False),  # first operand constant
]


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("case", CONSTS, ids=[str(c) for c in CONSTS])
def test_binary_constant_operand(opcode, case, tmp_path):
    shape1, shape2, c1, c2 = case
    rng = _rng(opcode, case)
    assert_bit_exact(binary_model(opcode, shape1, shape2, rng=rng, const1=c1, const2=c2,
                                  act="RELU6"), tmp_path, count=3)


EXHAUSTIVE_SCALES = [
    (0.05, 0.03, 0.02),   # SUB's multipliers differ here if its ratios were rounded in float32
    (0.0123, 0.0123, 0.0456),
]


@pytest.mark.parametrize("opcode", OPS)
@pytest.mark.parametrize("scales", EXHAUSTIVE_SCALES, ids=[str(s) for s in EXHAUSTIVE_SCALES])
def test_binary_all_input_pairs(opcode, scales, tmp_path):
    """Every (x1, x2) pair of int8 values once."""
    x1 = np.repeat(np.arange(-128, 128), 256).astype(np.int8)
    x2 = np.tile(np.arange(-128, 128), 256).astype(np.int8)
    so = scales[2] if opcode != "MUL" else scales[0] * scales[1] * 60.0
    model = binary_model(opcode, (256 * 256,), (256 * 256,), scales=(*scales[:2], so),
                         zps=(5, -9, 2))
    assert_bit_exact(model, tmp_path, inputs=[[x1, x2]])


def test_same_tensor_twice(tmp_path):
    m = ModelWriter()
    x = m.tensor("x", (1, 4, 4, 2), "int8", scale=0.02, zero_point=-5)
    y = m.tensor("y", (1, 4, 4, 2), "int8", scale=0.05, zero_point=10)
    m.op("ADD", [x, x], [y], {"fused_activation_function": 0})
    m.inputs, m.outputs = [x], [y]
    assert_bit_exact(m.build(), tmp_path, count=3)


# ---- generation-time helpers ------------------------------------------------------------

def test_broadcast_loops_merges_dimensions():
    assert broadcast_loops((1, 8, 8, 16), (1, 8, 8, 16), (1, 8, 8, 16)) == (
        [1, 1, 1, 1, 1, 1024], [0, 0, 0, 0, 0, 1], [0, 0, 0, 0, 0, 1])
    assert broadcast_loops((1, 8, 8, 16), (16,), (1, 8, 8, 16)) == (
        [1, 1, 1, 1, 64, 16], [0, 0, 0, 0, 16, 1], [0, 0, 0, 0, 0, 1])
    assert broadcast_loops((1, 8, 8, 16), (1, 8, 8, 1), (1, 8, 8, 16)) == (
        [1, 1, 1, 1, 64, 16], [0, 0, 0, 0, 16, 1], [0, 0, 0, 0, 1, 0])
    assert broadcast_loops((3, 1, 5), (1, 4, 1), (3, 4, 5)) == (
        [1, 1, 1, 3, 4, 5], [0, 0, 0, 5, 0, 1], [0, 0, 0, 0, 1, 0])
    assert broadcast_loops((), (), ()) == ([1] * 6, [0] * 6, [0] * 6)
    with pytest.raises(ValueError, match="7 nested loops"):
        broadcast_loops((2, 1, 3, 1, 4, 1, 5), (1, 2, 1, 3, 1, 4, 1), (2, 2, 3, 3, 4, 4, 5))


def test_add_sub_multipliers():
    m = add_sub_multipliers(0.05, 0.03, 0.02, 20)
    # the larger input is halved exactly; 0.03 / 0.1 and 0.1 / (2^20 * 0.02) are rounded in double
    assert (m["input1_multiplier"], m["input1_shift"]) == (1 << 30, 0)
    assert (m["input2_multiplier"], m["input2_shift"]) == (1288490141, -1)
    assert (m["output_multiplier"], m["output_shift"]) == (1342177330, -17)


def _generate(model: bytes, tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(model)
    generate(path, tmp_path / "out", target="host", force=True)


def test_binary_int16_limits(tmp_path):
    """int16 (16x8) ADD/SUB/MUL run (tests/test_op_16x8.py); what TFLM's int16 kernels refuse
    is refused: MUL zero points other than 0, broadcasting beyond 4-D, mixed types."""
    with pytest.raises(UnsupportedError, match="int16 MUL needs 0"):
        _generate(binary_model("MUL", (1, 4), (1, 4), dtype="int16", zps=(0, 3, 0)), tmp_path)
    with pytest.raises(UnsupportedError, match="up to 4-D"):
        _generate(binary_model("ADD", (2, 1, 3, 1, 2), (1, 2, 1, 4, 1), dtype="int16",
                               zps=(0, 0, 0)), tmp_path)


def test_binary_rejects_bad_broadcast(tmp_path):
    with pytest.raises(UnsupportedError, match="do not broadcast"):
        _generate(binary_model("ADD", (1, 4, 3), (1, 2, 3), out_shape=(1, 4, 3)), tmp_path)
    with pytest.raises(UnsupportedError, match="not the broadcast"):
        _generate(binary_model("MUL", (1, 4, 3), (1, 1, 3), out_shape=(1, 4, 1)), tmp_path)


def test_add_rejects_output_scale_tflm_refuses(tmp_path):
    # 2 * max input scale / (2^20 * output scale) >= 1: TFLM's Prepare fails
    with pytest.raises(UnsupportedError, match="not in \\(0, 1\\)"):
        _generate(binary_model("ADD", (4,), (4,), scales=(0.5, 0.5, 1e-7)), tmp_path)
