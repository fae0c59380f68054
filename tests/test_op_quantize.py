"""QUANTIZE and DEQUANTIZE against TFLM, bit for bit (float outputs compared as bit patterns).

Each model holds several independent layers, one per model input, so one
compile covers many scales and zero points; 8-bit inputs are fed all 256
values.
"""
import math
import zlib

import numpy as np
import pytest

from codegen.toolchain.host import HostModel
from codegen.errors import ModelError, UnsupportedError
from codegen.frontend import read_tflite
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.program import build_program
from codegen.targets import load_target
from tests.harness import assert_bit_exact

NP = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
      "float32": np.float32}
RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def layers_model(layers: list[dict]) -> bytes:
    """layer: op, src, dst (dtypes), shape, in_q / out_q = (scale, zero point) or None."""
    m = ModelWriter()
    ins, outs = [], []
    for k, layer in enumerate(layers):
        q_in, q_out = layer.get("in_q"), layer.get("out_q")
        x = m.tensor(f"x{k}", layer["shape"], layer["src"],
                     **({} if q_in is None else dict(scale=q_in[0], zero_point=q_in[1])))
        y = m.tensor(f"y{k}", layer["shape"], layer["dst"],
                     **({} if q_out is None else dict(scale=q_out[0], zero_point=q_out[1])))
        m.op(layer["op"], [x], [y])
        ins.append(x)
        outs.append(y)
    m.inputs, m.outputs = ins, outs
    return m.build()


def log_uniform(rng, lo: float, hi: float) -> float:
    return float(np.float32(math.exp(rng.uniform(math.log(lo), math.log(hi)))))


def random_zp(rng, dtype: str) -> int:
    lo, hi = RANGE.get(dtype, (-128, 127))
    if dtype in ("int16", "int32"):
        return 0 if rng.random() < 0.5 else int(rng.integers(-300, 300))
    return int(rng.choice([lo, hi, int(rng.integers(lo, hi + 1))]))


def all_values(dtype: str, shape=(256,)) -> np.ndarray:
    lo, hi = RANGE[dtype]
    return np.arange(lo, hi + 1).astype(NP[dtype]).reshape(shape)


# --- float32 -> int8 / int16 --------------------------------------------------------------

def float_quantize_inputs(scale: float, zp: int, n: int) -> np.ndarray:
    """Values x with x/scale: beyond the 8/16-bit range, on and next to halfway points, +-0."""
    s = np.float32(scale)
    q = np.array([0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, 127.5, -127.5, -128.5, -129.5,
                  254.5, 255.5, 32766.5, 32767.5, -32768.5, -zp - 0.5, -zp + 0.5,
                  200, -200, 1000, -1000, 1e5, -1e5, 1e6, -1e6, 2e9, -2e9, 1e-3, -1e-3])
    halves = (q.astype(np.float64) * float(s)).astype(np.float32)
    vals = np.concatenate([halves, np.nextafter(halves, np.float32(np.inf)),
                           np.nextafter(halves, np.float32(-np.inf)),
                           np.array([0.0, -0.0, 1e-45, -1e-45, 1e-38, -1e-38], np.float32)])
    vals = np.resize(vals, n).astype(np.float32)
    return vals


@pytest.mark.parametrize("dst", ["int8", "int16"])
@pytest.mark.parametrize("seed", range(2))
def test_quantize_float(dst, seed, tmp_path):
    rng = rng_for(f"quantize float {dst} {seed}")
    scales = [log_uniform(rng, 1e-5, 10.0) for _ in range(5)] + [2.0 ** -7, 0.1, 1.0]
    layers = []
    for k, s in enumerate(scales):
        zp = random_zp(rng, dst) if k else RANGE.get(dst)[0]
        layers.append(dict(op="QUANTIZE", src="float32", dst=dst, shape=(2, 3, 31),
                           out_q=(s, zp)))
    model = layers_model(layers)
    assert_bit_exact(model, tmp_path, count=3, seed=seed)
    crafted = [float_quantize_inputs(l["out_q"][0], l["out_q"][1], 186).reshape(2, 3, 31)
               for l in layers]
    assert_bit_exact(model, tmp_path, inputs=[crafted], name="crafted")


def test_quantize_float_power_of_two_scale_exact_halves(tmp_path):
    """With a power-of-two scale, (k + 1/2) * scale divides back to exact halves."""
    layers = [dict(op="QUANTIZE", src="float32", dst="int8", shape=(600,), out_q=(2.0 ** e, zp))
              for e, zp in [(-7, -128), (-3, 127), (0, 0), (4, 17)]]
    xs = [((np.arange(600) - 300 + 0.5) * 2.0 ** e).astype(np.float32) for e in (-7, -3, 0, 4)]
    assert_bit_exact(layers_model(layers), tmp_path, inputs=[xs])


def test_quantize_float_beyond_int32_saturates(tmp_path):
    """Beyond |x/scale| = 2^31 TFLM's float->int32 conversion is undefined; tinygen saturates."""
    path = tmp_path / "m.tflite"
    layers = [dict(op="QUANTIZE", src="float32", dst=d, shape=(8,), out_q=(0.5, zp))
              for d, zp in [("int8", -5), ("int8", 5), ("int16", 0)]]
    path.write_bytes(layers_model(layers))
    generate(path, tmp_path / "out", target="host", force=True)
    host = HostModel(tmp_path / "out", tmp_path / "build")
    x = np.array([1e10, -1e10, 3e38, -3e38, np.inf, -np.inf, np.nan, -np.nan], np.float32)
    got = host.invoke([x, x, x])
    assert got[0].tolist() == [127, -128, 127, -128, 127, -128, -5, -5]
    assert got[1].tolist() == [127, -128, 127, -128, 127, -128, 5, 5]
    assert got[2].tolist() == [32767, -32768, 32767, -32768, 32767, -32768, 0, 0]


# --- integer -> integer (8-bit inputs become tables) --------------------------------------

PAIRS_8BIT = [("int8", "int8"), ("int8", "uint8"), ("uint8", "int8"), ("int8", "int16"),
              ("int8", "int32")]


@pytest.mark.parametrize("src,dst", PAIRS_8BIT)
def test_requantize_8bit_all_values(src, dst, tmp_path):
    rng = rng_for(f"requantize {src} {dst}")
    in_scale = 0.05
    # output/input scale ratios: random, equal, a pure zero-point shift, 2^30 (left shift 31),
    # so small that the multiplier underflows to 0, and a large downscale
    quants = []
    for _ in range(4):
        quants.append(((log_uniform(rng, 1e-3, 30.0), random_zp(rng, src)),
                       (log_uniform(rng, 1e-3, 30.0), random_zp(rng, dst))))
    lo_src, lo_dst = RANGE[src][0], RANGE.get(dst, (0, 0))[0]
    quants += [((in_scale, 3), (in_scale, 3)),
               ((in_scale, lo_src), (in_scale, lo_dst)),
               ((1.0, random_zp(rng, src)), (2.0 ** -30, 0)),
               ((2.0 ** -40, 0), (1.0, 7 if dst != "uint8" else 200)),
               ((in_scale, random_zp(rng, src)), (in_scale * 1e4, random_zp(rng, dst)))]
    layers = [dict(op="QUANTIZE", src=src, dst=dst, shape=(16, 16), in_q=qi, out_q=qo)
              for qi, qo in quants]
    assert_bit_exact(layers_model(layers), tmp_path,
                     inputs=[[all_values(src, (16, 16))] * len(layers)])


@pytest.mark.parametrize("src,dst", [("int16", "int8"), ("int16", "int16"), ("int16", "int32"),
                                     ("int32", "int8"), ("int32", "int16")])
def test_requantize_wide_inputs(src, dst, tmp_path):
    rng = rng_for(f"requantize {src} {dst}")
    quants = [((log_uniform(rng, 1e-4, 1.0), random_zp(rng, src)),
               (log_uniform(rng, 1e-4, 1.0), random_zp(rng, dst))) for _ in range(4)]
    quants += [((1.0, 0), (1.0, 0)), ((2.0 ** -10, 5), (2.0, -3)), ((4.0, -7), (1e-3, 0))]
    layers = [dict(op="QUANTIZE", src=src, dst=dst, shape=(4, 50), in_q=qi, out_q=qo)
              for qi, qo in quants]
    model = layers_model(layers)
    assert_bit_exact(model, tmp_path, count=3)
    info = np.iinfo(NP[src])
    edge = np.array([info.min, info.max, info.min + 1, info.max - 1, 0, -1, 1], dtype=np.int64)
    x = np.resize(np.concatenate([edge, rng.integers(info.min, info.max, 193, endpoint=True)]),
                  200).astype(NP[src]).reshape(4, 50)
    assert_bit_exact(model, tmp_path, inputs=[[x] * len(layers)], name="edges")


# --- DEQUANTIZE ---------------------------------------------------------------------------

@pytest.mark.parametrize("src", ["int8", "uint8", "int16"])
def test_dequantize(src, tmp_path):
    rng = rng_for(f"dequantize {src}")
    quants = [(log_uniform(rng, 1e-6, 100.0), random_zp(rng, src)) for _ in range(4)]
    quants += [(1e-38, RANGE[src][0]), (3e-39, RANGE[src][1]), (1e35, 0), (1.0 / 3, 0),
               (0.00390625, RANGE[src][0])]
    n = 256 if src != "int16" else 65536
    layers = [dict(op="DEQUANTIZE", src=src, dst="float32", shape=(n,), in_q=q) for q in quants]
    x = all_values(src, (n,))
    assert_bit_exact(layers_model(layers), tmp_path, inputs=[[x] * len(layers)])


def test_quantize_dequantize_chain(tmp_path):
    """float -> int8 -> float, like the head and tail of a converted model."""
    m = ModelWriter()
    x = m.tensor("x", (1, 250), "float32")
    q = m.tensor("q", (1, 250), "int8", scale=1.0809112787246704, zero_point=101)
    r = m.tensor("r", (1, 250), "int8", scale=0.37, zero_point=-12)
    y = m.tensor("y", (1, 250), "float32")
    m.op("QUANTIZE", [x], [q])
    m.op("QUANTIZE", [q], [r])
    m.op("DEQUANTIZE", [r], [y])
    m.inputs, m.outputs = [x], [y]
    assert_bit_exact(m.build(), tmp_path, count=5)


# --- what is rejected ---------------------------------------------------------------------

@pytest.mark.parametrize("layer,message", [
    (dict(op="QUANTIZE", src="float32", dst="uint8", out_q=(0.1, 128)), "supported: int8, int16"),
    (dict(op="QUANTIZE", src="uint8", dst="uint8", in_q=(0.1, 128), out_q=(0.2, 128)),
     "supported: int8"),
    (dict(op="QUANTIZE", src="float32", dst="int8", out_q=None), "no quantization"),
    (dict(op="QUANTIZE", src="int8", dst="int8", in_q=(1.0, 0), out_q=(1e-10, 0)), "2\\^31"),
    (dict(op="DEQUANTIZE", src="int32", dst="float32", in_q=(0.1, 0)), "supported: int8"),
    (dict(op="DEQUANTIZE", src="int8", dst="int16", in_q=(0.1, 0), out_q=(0.1, 0)),
     "supported: float32"),
])
def test_rejected(layer, message):
    layer = dict(layer, shape=(1, 4))
    with pytest.raises(UnsupportedError, match=message):
        build_program(read_tflite(layers_model([layer])), "m", load_target("host"))


def test_zero_scale_rejected_by_the_reader():
    layer = dict(op="QUANTIZE", src="float32", dst="int8", shape=(1, 4), out_q=(0.0, 0))
    with pytest.raises(ModelError, match="finite and positive"):
        read_tflite(layers_model([layer]))


def test_per_channel_output_rejected():
    m = ModelWriter()
    x = m.tensor("x", (1, 2), "float32")
    y = m.tensor("y", (1, 2), "int8", scale=[0.1, 0.2], zero_point=[0, 0], axis=1)
    m.op("QUANTIZE", [x], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(UnsupportedError, match="per-channel"):
        build_program(read_tflite(m.build()), "m", load_target("host"))
