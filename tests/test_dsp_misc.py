"""The dsp kernel variant beyond the GEMM and depthwise kernels (tests/test_dsp_kernels.py):
the int8 LSTM (runtime_c/tg_dsp_lstm.c) and ADD/SUB/MUL (tg_dsp_elementwise.c), bit-exact
with TFLM on the host with the plain-C twins of the DSP instructions
(kernels=["dsp", "portable"]), also under ASan/UBSan.
"""
from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from codegen.frontend.tflite_writer import ModelWriter
from codegen.hostcc import find_cc
from codegen.lowering.lstm.dsp import lstm_weight_layout
from codegen.resources import runtime_dir
from codegen.toolchain import cortexm
from codegen.verify import verify_cortexm
from tests.harness import assert_bit_exact
from tests.test_hostile_cclean import CPPCHECK
from tests.test_op_lstm import CASES, _build, add_lstm, run_and_compare

DSP = ["dsp", "portable"]
ACTS = {"NONE": 0, "RELU": 1, "RELU_N1_TO_1": 2, "RELU6": 3}


def kernels_of(gen) -> list[str]:
    return [layer.call.kernel for layer in gen.program.layers]


# ---------------------------------------------------------------- LSTM
@pytest.mark.parametrize("units,depth", [(1, 1), (2, 4), (3, 7), (5, 8), (2, 13)])
def test_lstm_weight_layout_is_the_documented_order(units, depth):
    rng = np.random.default_rng(units * 31 + depth)
    gates = [rng.integers(-128, 128, (units, depth)).astype(np.int8) for _ in range(4)]
    got = lstm_weight_layout(gates).astype(np.int64)
    quads, tail = divmod(depth, 4)
    block = 2 * depth + 2 * tail
    assert got.size == units * block

    def lanes(word):                         # the two int16 halves, low first
        lo, hi = word & 0xFFFF, (word >> 16) & 0xFFFF
        return [lo - 0x10000 * (lo >= 0x8000), hi - 0x10000 * (hi >= 0x8000)]
    for u in range(units):
        pos = u * block
        for k in range(quads):
            for g in range(4):
                w = gates[g][u, 4 * k:4 * k + 4].tolist()
                assert lanes(got[pos]) == [w[0], w[2]] and lanes(got[pos + 1]) == [w[1], w[3]]
                pos += 2
        for g in range(4):
            assert got[pos:pos + tail].tolist() == gates[g][u, 4 * quads:].tolist()
            pos += tail


# every case of test_op_lstm (depths 1..40: every tail of the 8- and 4-value steps, batch-
# and time-major, zero points -128/127, cell scales and clips, saturation) in one model
def test_lstm_dsp_bit_exact_with_state_and_reset(tmp_path):
    gen = run_and_compare(_build(CASES), tmp_path, seed=21, invokes=2, after_reset=1,
                          kernels=DSP)
    assert kernels_of(gen) == ["tg_dsp_lstm_s8_s16"] * len(CASES)




# ---------------------------------------------------------------- ADD, SUB, MUL
def add_binary(m: ModelWriter, rng, tag: str, opcode: str, shape1, shape2, act="NONE",
               zps=None, const2=False, same_scale=False):
    """One ADD/SUB/MUL with its own inputs and output appended to `m`."""
    s1, s2 = (float(rng.uniform(0.005, 0.2)) for _ in range(2))
    if same_scale:
        s2 = s1
    so = (s1 * s2 * 128.0 if opcode == "MUL" else s1 + s2) * float(rng.uniform(0.4, 1.2))
    if act == "RELU_N1_TO_1":
        so = min(so, 1 / 100)
    z1, z2, zo = zps if zps is not None else (int(v) for v in rng.integers(-128, 128, 3))
    x1 = m.tensor(f"{tag}_a", shape1, "int8", scale=s1, zero_point=z1)
    if const2:
        x2 = m.const(f"{tag}_b", rng.integers(-128, 128, shape2), "int8", scale=s2,
                     zero_point=z2)
    else:
        x2 = m.tensor(f"{tag}_b", shape2, "int8", scale=s2, zero_point=z2)
    out_shape = np.broadcast_shapes(tuple(shape1), tuple(shape2))
    y = m.tensor(f"{tag}_y", out_shape, "int8", scale=so, zero_point=zo)
    m.op(opcode, [x1, x2], [y], {"fused_activation_function": ACTS[act]})
    m.inputs += [x1] + ([] if const2 else [x2])
    m.outputs.append(y)


# shapes reaching every row of tg_dsp_elementwise.c: both inputs contiguous (odd and even
# lengths, 1 and 17 values), one broadcast along the row (either one), both broadcast
# (outer loops), a constant bias row, scalars; zero points -128/127, each activation
BINARY_CASES = [
    ((17,), (17,), "NONE", (-128, 127, -128), False),
    ((2, 3, 5, 8), (2, 3, 5, 8), "RELU", (127, -128, 127), False),
    ((1, 4, 4, 3), (3,), "RELU6", None, False),
    ((1, 4, 4, 3), (), "NONE", (127, 127, -128), False),
    ((5, 1), (1, 3), "RELU_N1_TO_1", None, False),
    ((3, 1, 5), (1, 4, 1), "NONE", None, False),
    ((1,), (1,), "RELU", None, False),
    ((1, 9), (9,), "NONE", (-128, -128, 127), True),
    ((1, 1, 1, 7), (1, 3, 2, 7), "RELU6", None, False),
    ((3, 1, 6), (1, 5, 6), "RELU", (-128, 127, 0), False, True),     # equal input scales
]
# ADD/SUB with 2048 outputs or more read the inputs' rescales from tables
# (tg_dsp_add_table_s8): contiguous, a broadcast row, one input broadcast along the row
TABLE_CASES = [
    ((1, 16, 16, 9), (1, 16, 16, 9), "RELU", (-128, 127, 5), False),
    ((1, 8, 16, 17), (17,), "NONE", (127, -128, -128), True),
    ((1, 64, 33), (1, 64, 1), "RELU6", None, False),
    ((1, 45, 47), (1, 45, 47), "NONE", None, False),             # the asm loop, a tail of 3
    ((2056,), (2056,), "NONE", (-128, 127, 5), False, True),      # equal scales
]


def binary_model(opcodes, cases, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    m = ModelWriter()
    for opcode in opcodes:
        for k, case in enumerate(cases):
            add_binary(m, rng, f"{opcode.lower()}{k}", opcode, *case)
    return m.build()


def test_add_sub_mul_dsp_bit_exact(tmp_path):
    opcodes = ("ADD", "SUB", "MUL")
    res = assert_bit_exact(binary_model(opcodes, BINARY_CASES + TABLE_CASES, 31), tmp_path,
                           count=3, seed=31, kernels=DSP)
    want = []
    for op in opcodes:
        want += [f"tg_dsp_{op.lower()}_s8"] * len(BINARY_CASES)
        table = "tg_dsp_add_table_s8" if op != "MUL" else "tg_dsp_mul_s8"
        want += [table] * len(TABLE_CASES)
    assert kernels_of(res.gen) == want


def test_add_table_fast_mode_matches_tflite_arithmetic():
    """fast_output_mode's one-SMMLAR requantization (tg_dsp_add_table_s8): over random
    scales, zero points and activations it picks each mode, and the vectorised reference
    it compares against equals quant.multiply_by_quantized_multiplier value by value."""
    from types import SimpleNamespace
    from codegen import quant
    from codegen.lowering.elementwise.dsp import _requantize_np, fast_output_mode, rescale_table
    rng = np.random.default_rng(5)
    modes = []
    for _ in range(40):
        s1, s2 = (float(v) for v in rng.uniform(0.002, 0.3, 2))
        so = (s1 + s2) * float(rng.uniform(0.05, 3.0))
        big = 2 * max(s1, s2)
        m1, e1 = quant.quantize_multiplier_smaller_than_one(s1 / big)
        m2, e2 = quant.quantize_multiplier_smaller_than_one(s2 / big)
        mo, eo = quant.quantize_multiplier_smaller_than_one(big / ((1 << 20) * so))
        z1, z2, zo = (int(v) for v in rng.integers(-128, 128, 3))
        lo, hi = sorted(int(v) for v in rng.integers(-128, 128, 2)) if rng.random() < 0.3 \
            else (-128, 127)
        b = SimpleNamespace(output_shift=eo, output_offset=zo, output_multiplier=mo,
                            act_min=lo, act_max=hi)
        t1 = 2 * rescale_table(-z1, m1, e1)
        t2 = 2 * rescale_table(-z2, m2, e2, bool(rng.random() < 0.5))
        fast, bias = fast_output_mode(t1, t2, b)
        modes.append(fast)
        if fast:
            assert bias == (1 << (-eo - 1)) + zo * (1 << -eo)
        a = rng.integers(-(1 << 29), 1 << 29, 200)
        got = _requantize_np(a.astype(np.int64), mo, eo)
        assert [int(v) for v in got] == [quant.multiply_by_quantized_multiplier(int(v), mo, eo)
                                         for v in a]
    assert {1, 2} <= set(modes), modes


RESCALE_SWEEP = r"""
#include <stdio.h>
#include "tg_common.h"
#include "tg_dsp_elementwise.c"

static uint32_t state = 99u;
static int32_t next(void) { state = state * 1664525u + 1013904223u; return (int32_t)state; }

int main(void)
{
    static const int32_t ms[] = {1073741824, 1073741825, 1518500250, 2147483646, 2147483647};
    long checked = 0, bad = 0;
    int32_t shift, v;
    int k;
    for (shift = 0; shift >= -31; --shift) {
        for (k = 0; k < 24; ++k) {
            const int32_t m = k < 5 ? ms[k] : (int32_t)(0x40000000u | ((uint32_t)next() >> 2));
            const tg_dsp_ew_rq_t q = tg_dsp_ew_rq(m, shift);
            /* an ADD/SUB input: (x + offset) << 20, |x + offset| <= 255 */
            for (v = -255; v <= 255; ++v) {
                bad += tg_dsp_ew_rescale(v * (1 << 21), &q) !=
                       tg_requantize_le1(v * (1 << 20), m, shift);
                ++checked;
            }
            /* the output rescale of a sum or difference: |sum| < 2^29 */
            for (v = 0; v < 3000; ++v) {
                const int32_t s = v < 8 ? (v & 1 ? -1 : 1) * ((1 << 29) - 1 - (v >> 1))
                                        : next() >> 3;
                const int32_t want = tg_requantize_le1(s, m, shift);
                bad += tg_dsp_ew_rescale(2 * s, &q) != want;
                bad += shift < 0 && tg_dsp_ew_rescale_r1(2 * s, &q) != want;
                ++checked;
            }
            if (shift < 0) {        /* the general ADD/SUB input */
                for (v = -255; v <= 255; ++v) {
                    bad += tg_dsp_ew_rescale_r1(v * (1 << 21), &q) !=
                           tg_requantize_le1(v * (1 << 20), m, shift);
                    ++checked;
                }
            }
        }
    }
    /* the plain input (multiplier 2^30, shift 0): exactly (x + offset) * 2^19 */
    for (v = -255; v <= 255; ++v) {
        bad += v * (1 << 19) != tg_requantize_le1(v * (1 << 20), 1 << 30, 0);
        ++checked;
    }
    /* MUL: products |p| <= 255 * 255 shifted left by 0..14 */
    for (shift = -31; shift <= 14; ++shift) {
        for (k = 0; k < 6; ++k) {
            const int32_t m = k < 5 ? ms[k] : (int32_t)(0x40000000u | ((uint32_t)next() >> 2));
            tg_dsp_mul_k_t mk;
            mk.offset1 = 0;
            mk.offset2 = 0;
            mk.left = shift > 0 ? shift : 0;
            mk.out = tg_dsp_ew_rq(m, shift > 0 ? 0 : shift);
            mk.out_offset = 0;
            mk.act_min = INT32_MIN;
            mk.act_max = INT32_MAX;
            for (v = -255; v <= 255; v += (v > -250 && v < 250) ? 7 : 1) {
                int32_t w;
                for (w = -255; w <= 255; w += (w > -250 && w < 250) ? 5 : 1) {
                    const int32_t want = tg_requantize(v * w, m, shift);
                    const int32_t got = tg_dsp_ew_rescale(v * w * (2 << mk.left), &mk.out);
                    bad += got != want;
                    ++checked;
                }
            }
        }
    }
    printf("%ld %ld\n", checked, bad);
    return bad != 0;
}
"""


def test_elementwise_rescale_identities_equal_the_reference(tmp_path):
    """tg_dsp_elementwise.c's rescale (SMMULR of the doubled value, then one rounding shift)
    equals TFLite's for ADD/SUB inputs (every offset input), sums and differences up to the
    bound, and MUL products at every shift the dsp MUL takes; every right shift, the edge
    multipliers and random ones, under UBSan (the plain-C twin of SMMULR)."""
    src = tmp_path / "sweep.c"
    src.write_text(RESCALE_SWEEP)
    exe = tmp_path / "sweep"
    subprocess.run([find_cc(), "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror",
                    "-Wno-unused-function", "-fsanitize=undefined", "-fno-sanitize-recover=all",
                    f"-I{runtime_dir()}", str(src), "-o", str(exe)], check=True)
    out = subprocess.run([str(exe)], capture_output=True, text=True)
    checked, bad = map(int, out.stdout.split())
    assert out.returncode == 0 and bad == 0 and checked > 2_500_000, out.stdout + out.stderr


# ---------------------------------------------------------------- AVERAGE_POOL_2D, MAX_POOL_2D
SAME, VALID = 0, 1


def add_pool(m: ModelWriter, rng, tag: str, opcode: str, shape, filt, stride, padding,
             act="NONE", zp=None):
    n, h, w, c = shape
    fh, fw = filt
    sh, sw = stride
    if padding == SAME:
        oh, ow = -(-h // sh), -(-w // sw)
    else:
        oh, ow = (h - fh) // sh + 1, (w - fw) // sw + 1
    zp = int(rng.integers(-128, 128)) if zp is None else zp
    scale = 1 / 100 if act == "RELU_N1_TO_1" else float(rng.uniform(0.01, 0.1))
    x = m.tensor(f"{tag}_x", shape, "int8", scale=scale, zero_point=zp)
    y = m.tensor(f"{tag}_y", (n, oh, ow, c), "int8", scale=scale, zero_point=zp)
    m.op(opcode, [x], [y], {"padding": padding, "stride_w": sw, "stride_h": sh,
                            "filter_width": fw, "filter_height": fh,
                            "fused_activation_function": ACTS[act]})
    m.inputs.append(x)
    m.outputs.append(y)


# shape (NHWC), filter, stride, padding, activation, zero point: channel counts 1, 3, 4, 5,
# 17 and 64 (4-channel words and their tails), windows clipped by SAME padding, larger
# than the input, global, 1x1, strides 1..3, batches
POOL_CASES = [
    ((1, 5, 7, 3), (2, 2), (2, 2), VALID, "NONE", -128),
    ((1, 7, 5, 4), (3, 3), (1, 1), SAME, "RELU", 127),
    ((2, 9, 9, 5), (3, 3), (2, 2), SAME, "RELU6", None),
    ((1, 4, 4, 17), (6, 6), (1, 2), SAME, "RELU_N1_TO_1", None),
    ((1, 25, 5, 64), (25, 5), (2, 2), VALID, "NONE", None),
    ((1, 6, 10, 8), (3, 5), (2, 3), SAME, "RELU", None),
    ((3, 11, 3, 1), (4, 1), (3, 1), SAME, "NONE", 5),
    ((1, 13, 13, 12), (1, 1), (2, 2), VALID, "RELU6", -128),
]


def test_pooling_dsp_bit_exact(tmp_path):
    rng = np.random.default_rng(41)
    m = ModelWriter()
    for opcode in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for k, case in enumerate(POOL_CASES):
            add_pool(m, rng, f"{opcode[:3].lower()}{k}", opcode, *case)
    res = assert_bit_exact(m.build(), tmp_path, count=3, seed=41, kernels=DSP)
    assert kernels_of(res.gen) == ["tg_dsp_avg_pool_s8"] * len(POOL_CASES) + \
        ["tg_dsp_max_pool_s8"] * len(POOL_CASES)


def test_average_pool_16_bit_sums_at_their_bounds_and_larger_windows_declined(tmp_path):
    """A 256-pixel window of all -128 or all 127 sums to the ends of the 16-bit lanes; a
    larger window is left to the portable kernel, saying why."""
    rng = np.random.default_rng(43)
    m = ModelWriter()
    add_pool(m, rng, "a", "AVERAGE_POOL_2D", (1, 16, 16, 7), (16, 16), (1, 1), VALID)
    add_pool(m, rng, "b", "AVERAGE_POOL_2D", (1, 17, 16, 4), (17, 16), (1, 1), VALID)
    add_pool(m, rng, "c", "MAX_POOL_2D", (1, 3, 3, 6), (2, 2), (1, 1), VALID, "RELU")
    runs = [[np.full((1, 16, 16, 7), v, np.int8), np.full((1, 17, 16, 4), v, np.int8),
             np.full((1, 3, 3, 6), v, np.int8)] for v in (-128, 127)]
    res = assert_bit_exact(m.build(), tmp_path, inputs=runs, kernels=DSP)
    layers = res.gen.program.layers
    assert kernels_of(res.gen) == ["tg_dsp_avg_pool_s8", "tg_avg_pool_s8",
                                   "tg_dsp_max_pool_s8"]
    assert "at most 256 pixels" in layers[1].selection.reason()




# ---------------------------------------------------------------- sanitizers, the real instructions
def test_dsp_misc_kernels_clean_under_sanitizers(tmp_path):
    """A layer of each kernel here (LSTM with state, ADD/SUB/MUL with broadcasts and tables,
    pools with clipped windows and channel tails) under ASan/UBSan on the host."""
    rng = np.random.default_rng(23)
    m = ModelWriter()
    add_lstm(m, rng, "a", 2, 3, 7, 5, False, x_zp=-128, h_zp=127, cell_clip=1.0)
    add_lstm(m, rng, "b", 3, 2, 9, 6, True)
    ops = ("ADD", "MUL", "SUB", "ADD", "MUL", "SUB", "ADD", "SUB", "ADD", "SUB")
    for k, case in enumerate(BINARY_CASES[:6] + TABLE_CASES[1:]):
        add_binary(m, rng, f"e{k}", ops[k], *case)
    for k, case in enumerate(POOL_CASES[:4]):
        add_pool(m, rng, f"s{k}", ("AVERAGE_POOL_2D", "MAX_POOL_2D")[k % 2], *case)
    res = assert_bit_exact(m.build(), tmp_path, count=2, seed=23, kernels=DSP, sanitize=True)
    assert set(kernels_of(res.gen)) == {
        "tg_dsp_lstm_s8_s16", "tg_dsp_add_s8", "tg_dsp_mul_s8", "tg_dsp_sub_s8",
        "tg_dsp_add_table_s8", "tg_dsp_avg_pool_s8", "tg_dsp_max_pool_s8"}



@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_dsp_misc_kernels_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch):
    """One model with a layer of each kernel here, on QEMU's Cortex-M4: SMLAD, SXTB16,
    SSAT, SMMULR, SXTAB16, SSUB8/SEL for real."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    rng = np.random.default_rng(47)
    m = ModelWriter()
    add_lstm(m, rng, "l", 2, 4, 7, 5, False, x_zp=-128, cell_clip=1.0)
    add_lstm(m, rng, "t", 2, 3, 12, 9, True, h_zp=127)
    ops = ("ADD", "SUB", "MUL", "ADD", "MUL", "ADD", "SUB")
    for k, case in enumerate(BINARY_CASES[:5] + TABLE_CASES[:2]):
        add_binary(m, rng, f"e{k}", ops[k], *case)
    for k, case in enumerate(POOL_CASES[:4]):
        add_pool(m, rng, f"p{k}", ("AVERAGE_POOL_2D", "MAX_POOL_2D")[k % 2], *case)
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    report = verify_cortexm(path, count=3, seed=47, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "m.c").read_text()
    for kernel, n in (("tg_dsp_lstm_s8_s16", 2), ("tg_dsp_add_s8", 2), ("tg_dsp_sub_s8", 1),
                      ("tg_dsp_mul_s8", 2), ("tg_dsp_add_table_s8", 2),
                      ("tg_dsp_avg_pool_s8", 2), ("tg_dsp_max_pool_s8", 2)):
        assert model_c.count(f"{kernel}(") == n, kernel


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def _fix_add(m: ModelWriter, shape) -> None:
    """An ADD whose output needs the tie correction (fast 1), rare in random scales: the
    fifth drawn from seed 7."""
    rng7 = np.random.default_rng(7)
    for k in range(4):
        add_binary(ModelWriter(), rng7, "x", ("ADD", "SUB")[k % 2], (1,), (1,))
    add_binary(m, rng7, "fix", "ADD", shape, shape)


@pytest.mark.parametrize("with_fix", [False, True], ids=["round", "tie-correction"])
def test_add_table_fast_asm_bit_exact_on_emulated_cortex_m4(tmp_path, monkeypatch, with_fix):
    """tg_dsp_add_table_s8's asm loops (contiguous rows, the full int8 range): ADD and SUB
    with random scales and zero points, lengths with and without a tail, on QEMU.  Their
    layers all take fast 2; with one layer that needs fast 1, the project's layers all take
    fast 1 (unify_fast_modes: each exact with it), and only that loop is compiled in."""
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    rng = np.random.default_rng(61)
    m = ModelWriter()
    shapes = [(2048,), (1, 7, 299), (2, 1029), (1, 33, 65), (2051,), (4, 515)]
    for k, shape in enumerate(shapes):
        add_binary(m, rng, f"f{k}", ("ADD", "SUB")[k % 2], shape, shape, "NONE",
                   None if k else (-128, 127, -128), False, k == 3)
    if with_fix:
        _fix_add(m, (2, 1030))
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    report = verify_cortexm(path, count=3, seed=61, target="cortex-m4", work_dir=tmp_path / "w")
    assert report.ok, report.table()
    model_c = (tmp_path / "w" / "m.c").read_text()
    layers = len(shapes) + with_fix
    assert model_c.count("tg_dsp_add_table_s8(") == layers
    assert model_c.count(f".fast = {1 if with_fix else 2}") == layers
    config = (tmp_path / "w" / "tg_config.h").read_text()
    assert f"TG_CFG_DSP_ADD_TABLE_FAST {int(not with_fix)}" in config
    assert f"TG_CFG_DSP_ADD_TABLE_FAST_FIX {int(with_fix)}" in config


def test_unify_fast_modes_only_where_every_layer_stays_exact(tmp_path):
    from types import SimpleNamespace
    from codegen.generate import generate
    from codegen.lowering.elementwise.dsp import unify_fast_modes
    m = ModelWriter()
    add_binary(m, np.random.default_rng(61), "a", "ADD", (2048,), (2048,))   # fast 2 alone
    _fix_add(m, (2048,))
    (tmp_path / "m.tflite").write_bytes(m.build())
    gen = generate(tmp_path / "m.tflite", tmp_path / "o", target="cortex-m4")
    calls = [layer.call for layer in gen.program.layers]
    assert [c.params["fast"] for c in calls] == [1, 1]
    # a fused residual block at fast 2 keeps the project's two loops: nothing changes
    two = SimpleNamespace(kernel="tg_dsp_add_table_s8", params=dict(calls[0].params, fast=2),
                          consts=calls[0].consts)
    block = SimpleNamespace(kernel="tg_dsp_resblock_table_s8", params={"add": {"fast": 2}})
    fix = SimpleNamespace(kernel="tg_dsp_add_table_s8", params=dict(calls[1].params))
    unify_fast_modes([two, block, fix])
    assert two.params["fast"] == 2
    unify_fast_modes([two, fix])
    assert two.params["fast"] == 1


@pytest.mark.skipif(shutil.which("cppcheck") is None, reason="needs cppcheck (apt-get install "
                    "cppcheck, or run setup.sh as root)")
@pytest.mark.parametrize("arm", [False, True], ids=["c-fallbacks", "acle"])
def test_dsp_misc_kernels_cppcheck_clean(arm, tmp_path):
    """These kernels pass cppcheck as tests/test_hostile_cclean.py runs it, with the plain-C
    fallbacks and with the ACLE branch of tg_acle.h."""
    rt = runtime_dir()
    defs = ["-D__ARM_FEATURE_DSP=1", "-D__ARM_FEATURE_SIMD32=1", "-D__GNUC__=12"] if arm else []
    r = subprocess.run([*CPPCHECK, *defs, f"-I{rt}",
                        *(str(rt / f) for f in ("tg_dsp_lstm.c", "tg_dsp_elementwise.c",
                                                "tg_dsp_pooling.c"))],
                       capture_output=True, text=True)
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
