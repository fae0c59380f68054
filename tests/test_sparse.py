"""Sparse filters (codegen/encoding.py "sparse": 4-bit delta entries) on the portable
kernel tg_sparse_gemm_s8 and the DSP GEMM tg_dsp_sparse_gemm_s8: the edge cases of the
format (a channel or the whole filter of zeros, a dense channel, gaps longer than 15,
depths that are not multiples of 4) and of the DSP kernel's row blocks (1 row in place,
2 and 3 rows as a block of 4, 4 + 1, strided 1x1 convolutions, per-tensor quantization,
a clamping activation), bit for bit against TFLM on the host under ASan/UBSan and on the
emulated Cortex-M4; and where `auto` chooses the encoding."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from codegen.encoding import KINDS, SPARSE_MIN_ZEROS, choose, decode, encode_sparse
from codegen.frontend.tflite_writer import ModelWriter
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.conv_models import VALID, ConvCase, add_layer
from tests.harness import assert_bit_exact
from tests.test_compress import set_filter
from tests.test_dsp_kernels import add_fc


def sparse_values(rng, shape, zeros: float, pattern: str = "") -> np.ndarray:
    """int8 values with about `zeros` of them 0; `pattern`: "zero-channel" (channel 1 all
    0), "dense-channel" (channel 0 without zeros), "gaps" (channel 0: only its first and
    last values, channel 1: one value past 40 zeros), "all-zero" (every value 0)."""
    w = rng.integers(-127, 128, shape)
    w[w == 0] = 5
    w = np.where(rng.random(shape) < zeros, 0, w)
    flat = w.reshape(shape[0], -1)
    if "zero-channel" in pattern:
        flat[1] = 0
    if "dense-channel" in pattern:
        flat[0] = rng.integers(1, 128, flat.shape[1]) * rng.choice([-1, 1], flat.shape[1])
    if "gaps" in pattern:
        flat[0] = 0
        flat[0, 0], flat[0, -1] = -128, 127
        flat[1] = 0
        flat[1, min(41, flat.shape[1] - 1)] = 99
    if "all-zero" in pattern:
        flat[:] = 0
    return flat.reshape(shape).astype(np.int8)


# (batches, depth, units, per_channel, act, zeros, pattern): every row block of the dsp
# kernel (1, 2, 3, 4, 4 + 1, 4 + 3), depth tails 1..3, the format's edge cases
FC = [
    (1, 37, 6, True, "NONE", 0.8, "zero-channel"),
    (2, 70, 5, False, "RELU", 0.8, "gaps"),
    (3, 35, 4, True, "RELU6", 0.85, "dense-channel"),
    (4, 64, 7, True, "NONE", 0.9, "zero-channel,gaps"),
    (5, 100, 3, True, "NONE", 0.95, "gaps"),
    (7, 18, 5, True, "RELU", 0.7, ""),
    (2, 24, 4, True, "NONE", 0.8, "all-zero"),
]
CONV = [
    (ConvCase(in_h=4, in_w=5, in_d=22, out_d=6, k_h=1, k_w=1), 0.8, "zero-channel,gaps"),
    (ConvCase(in_h=5, in_w=5, in_d=20, out_d=5, k_h=1, k_w=1, stride=(2, 2), padding=VALID,
              act="RELU", per_channel=False), 0.85, "dense-channel"),
    (ConvCase(in_h=3, in_w=7, in_d=41, out_d=4, k_h=1, k_w=1, stride=(1, 2), padding=VALID,
              in_zp=-128, out_zp=127), 0.9, "gaps"),
]


def sparse_model(seed: str, fc=FC, conv=CONV) -> bytes:
    rng = np.random.default_rng(zlib.crc32(seed.encode()))
    m = ModelWriter()
    for k, (b, d, u, pc, act, z, pat) in enumerate(fc):
        add_fc(m, rng, f"f{k}", b, d, u, pc, act)
        set_filter(m, sparse_values(rng, (u, d), z, pat))
    for k, (case, z, pat) in enumerate(conv):
        add_layer(m, rng, case, f"c{k}")
        t = m.tensors[m.ops[-1].inputs[1]]
        set_filter(m, sparse_values(rng, tuple(t.shape), z, pat))
    return m.build()


def every_layer_sparse(n: int) -> dict[int, tuple[str, ...]]:
    return {i: ("sparse",) for i in range(n)}


def test_format_round_trips_and_edges():
    rng = np.random.default_rng(1)
    for shape, z, pat in [((5, 37), 0.8, "zero-channel"), ((3, 70), 0.9, "gaps"),
                          ((4, 5), 0.5, "dense-channel"), ((2, 9), 0.0, "all-zero"),
                          ((6, 1, 1, 33), 0.8, "")]:
        v = sparse_values(rng, shape, z, pat)
        e = encode_sparse(v)
        assert np.array_equal(decode(e, v.shape), v), (shape, pat)
        index = e.data.view("<u2")
        assert e.table.size == 4 * (index.size - shape[0])     # 4 weights a group
    # a gap of 41 zeros before the first value: two fillers (15 + 15) and a delta of 11
    v = np.zeros((1, 50), np.int8)
    v[0, 41] = 99
    e = encode_sparse(v)
    idx = e.data.view("<u2")
    assert list(idx) == [1, 15 | 15 << 4 | 11 << 8]
    assert list(e.table) == [0, 0, 99, 0]
    # a zero channel is one uint16
    assert list(encode_sparse(np.zeros((3, 8), np.int8)).data.view("<u2")) == [0, 0, 0]


def test_auto_uses_the_speed_rule():
    """auto picks sparse from SPARSE_MIN_ZEROS zeros; named for a layer, from any zeros."""
    rng = np.random.default_rng(2)
    below = sparse_values(rng, (16, 64), SPARSE_MIN_ZEROS - 0.12, "")
    e = choose(below, 0, KINDS)
    assert e.encoding == "raw" and f"needs {SPARSE_MIN_ZEROS:.0%}" in e.reason
    assert choose(below, 0, ("sparse",), forced=True).encoding == "sparse"
    above = sparse_values(rng, (16, 64), SPARSE_MIN_ZEROS + 0.08, "")
    assert choose(above, 0, KINDS).encoding == "sparse"


@pytest.mark.parametrize("kernels", [["dsp", "portable"], ["portable"]],
                         ids=["dsp", "portable"])
def test_sparse_bit_exact_sanitized(kernels, tmp_path):
    fc, conv = (FC, CONV) if kernels[0] == "dsp" else (FC, CONV[:1])   # portable: stride 1
    res = assert_bit_exact(sparse_model("host", fc, conv), tmp_path, count=2, kernels=kernels,
                           layer_compress=every_layer_sparse(len(fc) + len(conv)),
                           sanitize=True)
    calls = [layer.call.kernel for layer in res.gen.program.layers]
    want = "tg_dsp_sparse_gemm_s8" if kernels[0] == "dsp" else "tg_sparse_gemm_s8"
    assert calls == [want] * (len(fc) + len(conv))
    assert all(layer.selection.filter.encoding == "sparse"
               for layer in res.gen.program.layers)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_dsp_sparse_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """The Thumb-2 inner loops (built with -O2 for the Cortex-M4) on QEMU."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    path = tmp_path / "m.tflite"
    path.write_bytes(sparse_model("m4"))
    report = verify_cortexm(path, count=2, seed=3, target="cortex-m4", work_dir=tmp_path / "w",
                            layer_compress=every_layer_sparse(len(FC) + len(CONV)))
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "m.c").read_text()
    assert model_c.count("tg_dsp_sparse_gemm_s8(") == len(FC) + len(CONV)
