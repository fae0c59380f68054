"""PAD folded into the following convolution (codegen/passes/fold_pad.py).

The pure core (the window along one axis, what the kernels take) on numbers; the pass on
small graphs (what folds, what must not); random PAD -> CONV_2D / DEPTHWISE_CONV_2D
models against TFLM, with the program checked for which PADs disappeared.
"""
from __future__ import annotations

import os
import zlib

import numpy as np
import pytest

from codegen.frontend import read_tflite
from codegen.passes.fold_pad import (AxisWindow, axis_refusal, fold_pads, folded_axis,
                                     plan_pad_folds)
from codegen.ops.window import PADDING_SAME, PADDING_VALID
from tests.batch import Batch
from tests.harness import assert_bit_exact

SAME, VALID = PADDING_SAME, PADDING_VALID


def seeded(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


# -- the pure core ----------------------------------------------------------------------------

def brute_window(size, before, after, filt, stride, dil, padding):
    """Which unpadded input positions each output position reads, computed on the padded
    input with TFLite's documented output size (independent of the code under test)."""
    padded = size + before + after
    eff = (filt - 1) * dil + 1
    out = -(-padded // stride) if padding == SAME else -(-(padded - eff + 1) // stride)
    total = max((out - 1) * stride + eff - padded, 0) if padding == SAME else 0
    lead = total // 2
    return [[o * stride - lead + k * dil - before for k in range(filt)] for o in range(out)]


@pytest.mark.parametrize("padding", [SAME, VALID])
def test_folded_axis_reads_the_same_positions(padding):
    for size in range(1, 9):
        for before in range(4):
            for after in range(4):
                for filt, stride, dil in ((1, 1, 1), (3, 1, 1), (3, 2, 1), (7, 2, 1),
                                          (2, 3, 1), (3, 1, 2), (5, 2, 1)):
                    want = brute_window(size, before, after, filt, stride, dil, padding)
                    if not want:
                        continue
                    w = folded_axis(size, before, after, filt, stride, dil, padding)
                    got = [[o * stride - w.before + k * dil for k in range(filt)]
                           for o in range(w.out)]
                    assert got == want, (size, before, after, filt, stride, dil)
                    assert w.before + w.after == (w.out - 1) * stride + (filt - 1) * dil + 1 - size


def test_folded_axis_mcunet_stage():
    # 10 -> PAD 3+3 -> 16, 7x7 depthwise stride 2 VALID -> 5: the window over the 10
    assert folded_axis(10, 3, 3, 7, 2, 1, VALID) == AxisWindow(5, 3, 2)
    # 3x3 stride 2 VALID after PAD 0+1 on an even size is TFLite's SAME window
    assert folded_axis(8, 0, 1, 3, 2, 1, VALID) == AxisWindow(4, 0, 1)


def test_axis_refusal():
    assert axis_refusal(8, AxisWindow(8, 1, 1), 3, 1, 1) is None
    # a 1x1 filter over padding: windows of padding alone
    assert "only padding" in axis_refusal(4, AxisWindow(6, 1, 1), 1, 1, 1)
    # padding larger than the filter
    assert "only padding" in axis_refusal(4, AxisWindow(8, 3, 1), 3, 1, 1)
    # 3-wide with one column of leading padding and two trailing: the CMSIS-NN 3x3 kernel
    assert axis_refusal(5, AxisWindow(5, 1, 2), 3, 1, 1) is None          # height
    assert "3x3" in axis_refusal(5, AxisWindow(5, 1, 2), 3, 1, 1, width=True)
    assert axis_refusal(5, AxisWindow(4, 2, 1), 3, 1, 1, width=True) is None
    # 1xN: symmetric or one more at the end
    assert axis_refusal(6, AxisWindow(6, 1, 1), 3, 1, 1, width=True, one_row=True) is None
    assert axis_refusal(6, AxisWindow(3, 0, 1), 3, 2, 1, width=True, one_row=True) is None
    assert "1xN" in axis_refusal(6, AxisWindow(3, 1, 0), 3, 2, 1, width=True, one_row=True)
    assert axis_refusal(6, AxisWindow(2, 0, -1), 3, 2, 1, width=True, one_row=True) is None


# -- the pass on small graphs -----------------------------------------------------------------

def pad_conv(b: Batch, rng, op="DEPTHWISE_CONV_2D", shape=(1, 6, 6, 4), pads=(1, 1, 1, 1),
             k=(3, 3), stride=(1, 1), padding=VALID, zp=None, value=None, out_zp=None,
             pad_zp=None, dilation=(1, 1), opcode="PAD", extra_reader=False, channels=0):
    """input -> PAD/PADV2 -> conv -> output; returns nothing (the Batch holds it)."""
    n, h, w, c = shape
    zp = int(rng.integers(-128, 128)) if zp is None else zp
    in_scale = float(rng.uniform(0.01, 0.1))
    x = b.input(shape, "int8", scale=in_scale, zero_point=zp)
    top, bottom, left, right = pads
    ph, pw = h + top + bottom, w + left + right
    pq = dict(scale=in_scale, zero_point=zp if pad_zp is None else pad_zp)
    padded = b.m.tensor(f"padded{len(b.m.tensors)}", (n, ph, pw, c + 2 * channels), "int8",
                        **pq)
    ins = [x, b.const(np.array([[0, 0], [top, bottom], [left, right], [channels, channels]],
                               np.int32))]
    if opcode == "PADV2":
        ins.append(b.const(np.array(zp if value is None else value, np.int64).reshape(()),
                           "int8", **pq))
    b.count += 1
    b.m.op(opcode, ins, [padded])
    c += 2 * channels
    out_d = c if op == "DEPTHWISE_CONV_2D" else int(rng.integers(1, 9))
    f_shape = (1, k[0], k[1], out_d) if op == "DEPTHWISE_CONV_2D" else (out_d, k[0], k[1], c)
    w_scale = rng.uniform(0.002, 0.02, out_d)
    filt = b.m.const(f"f{len(b.m.tensors)}", rng.integers(-127, 128, f_shape), "int8",
                     scale=w_scale, zero_point=[0] * out_d,
                     axis=3 if op == "DEPTHWISE_CONV_2D" else 0)
    taps = k[0] * k[1] * (1 if op == "DEPTHWISE_CONV_2D" else c)
    acc_std = 73.0 * 74.0 * np.sqrt(taps)
    bias = b.m.const(f"b{len(b.m.tensors)}", rng.integers(-int(acc_std), int(acc_std), out_d),
                     "int32", scale=in_scale * w_scale, zero_point=[0] * out_d)

    def out_size(size, f, s, d):
        eff = (f - 1) * d + 1
        return -(-size // s) if padding == SAME else -(-(size - eff + 1) // s)
    oh, ow = out_size(ph, k[0], stride[0], dilation[0]), out_size(pw, k[1], stride[1],
                                                                  dilation[1])
    out_scale = in_scale * float(np.mean(w_scale)) * acc_std / 40.0
    y = b.output((n, oh, ow, out_d), "int8", scale=out_scale,
                 zero_point=int(rng.integers(-128, 128)) if out_zp is None else out_zp)
    opts = {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
            "dilation_h_factor": dilation[0], "dilation_w_factor": dilation[1],
            "fused_activation_function": 0}
    if op == "DEPTHWISE_CONV_2D":
        opts["depth_multiplier"] = 1
    b.count += 1
    b.m.op(op, [padded, filt, bias], [y], opts, version=3 if op == "CONV_2D" else 6)
    if extra_reader:
        y2 = b.output((n, ph, pw, c), "int8", scale=in_scale * 2, zero_point=0)
        b.m.op("RELU", [padded], [y2])


def decisions(model: bytes):
    return plan_pad_folds(read_tflite(model))


def test_pass_folds_only_what_it_may():
    rng = seeded("pass")
    b = Batch()
    pad_conv(b, rng, pads=(1, 1, 1, 1))                          # folds
    pad_conv(b, rng, pads=(1, 1, 1, 1), opcode="PADV2")          # value = zp: folds
    pad_conv(b, rng, pads=(1, 1, 1, 1), opcode="PADV2", zp=3, value=4)
    pad_conv(b, rng, pads=(1, 1, 1, 1), extra_reader=True)       # two readers
    pad_conv(b, rng, pads=(0, 0, 0, 0), channels=1)              # pads channels
    pad_conv(b, rng, pads=(1, 1, 1, 1), zp=5, pad_zp=6)          # requantizing PAD
    pad_conv(b, rng, op="CONV_2D", k=(1, 1), pads=(1, 0, 0, 0))  # 1x1 over padding
    pad_conv(b, rng, pads=(3, 0, 3, 0), padding=SAME)            # windows of padding only
    model = b.build()
    ds = decisions(model)
    why = [d.reason for d in ds]
    assert why[0] == "" and why[1] == ""
    assert "pad value 4 is not the input zero point 3" in why[2]
    assert "not read by one convolution or max pooling only" in why[3]
    assert "batch or channel" in why[4]
    assert "quantized differently" in why[5]
    assert "only padding" in why[6] and "only padding" in why[7]
    g = read_tflite(model)
    f = fold_pads(g)
    pads = lambda graph: sum(op.opcode in ("PAD", "PADV2") for op in graph.ops)  # noqa: E731
    assert pads(g) == 8 and pads(f) == 6          # the input graph is not modified
    conv = next(op for op in f.ops if op.options.get("folded_pad"))
    zp = g.tensors[g.ops[0].inputs[0]].quant.scalar_zero_point
    assert conv.options["folded_pad"] == dict(op=0, opcode="PAD", top=1, bottom=1, left=1,
                                              right=1, value=zp)
    assert conv.inputs[0] == g.ops[0].inputs[0]


# -- random models against TFLM ---------------------------------------------------------------

def random_cases(rng, op: str, count: int):
    cases = []
    while len(cases) < count:
        k = [(3, 3), (3, 3), (5, 5), (7, 7), (1, 3), (3, 1), (2, 2), (1, 1)][int(rng.integers(8))]
        shape = (1, int(rng.integers(1, 9)), int(rng.integers(1, 9)), int(rng.integers(1, 7)))
        if k[0] == 1 and rng.random() < 0.5:
            shape = (1, 1, shape[2], shape[3])          # 1xN layers
        # mostly what the filter covers; sometimes more (those PADs must stay)
        hi = 4 if rng.random() < 0.2 else min(3, max(k) - 1) + 1
        pads = tuple(int(v) for v in rng.integers(0, hi, 4))
        stride = (int(rng.integers(1, 3)), int(rng.integers(1, 3)))
        padding = int(rng.choice([SAME, VALID]))
        ph, pw = shape[1] + pads[0] + pads[1], shape[2] + pads[2] + pads[3]
        if padding == VALID and (ph < k[0] or pw < k[1]):
            continue
        zp = [-128, 127, None][len(cases) % 3]
        mismatch = rng.random() < 0.2
        cases.append(dict(op=op, shape=shape, pads=pads, k=k, stride=stride, padding=padding,
                          zp=zp, opcode="PADV2" if mismatch else str(rng.choice(["PAD", "PADV2"])),
                          value=(126 if zp == 127 else (zp or 0) + 1) if mismatch else None,
                          out_zp=[127, -128, None][len(cases) % 3]))
    return cases


def build(cases, seed):
    rng = np.random.default_rng(seed)
    b = Batch()
    for c in cases:
        if c["opcode"] == "PADV2" and c["value"] is not None and c["zp"] is None:
            c = dict(c, zp=int(rng.integers(-100, 100)))
            c["value"] = c["zp"] + 1
        pad_conv(b, rng, **c)
    return b.build()


def check_random(op, tmp_path, label, count=14, **kw):
    seed = zlib.crc32(label.encode())
    cases = random_cases(np.random.default_rng(seed), op, count)
    model = build(cases, seed)
    ds = decisions(model)
    folded = [d for d in ds if not d.reason]
    mismatched = [d for d in ds if "not the input zero point" in d.reason]
    assert len(folded) >= count // 3, [d.reason for d in ds]
    assert mismatched, "the cases must include a pad value that is not the zero point"
    res = assert_bit_exact(model, tmp_path, count=2, seed=seed, **kw)
    layers = res.gen.program.layers
    kept = sum(layer.call.op.opcode in ("PAD", "PADV2") for layer in layers)
    assert kept == len(ds) - len(folded)
    assert sum(bool(layer.call.op.options.get("folded_pad")) for layer in layers) == len(folded)
    return res


# (shape, pads top/bottom/left/right, filter, stride, padding): every one must fold
MUST_FOLD = [((1, 10, 10, 4), (3, 3, 3, 3), (7, 7), (2, 2), VALID),   # mcunet_vww80's stage
             ((1, 6, 6, 3), (1, 1, 1, 1), (3, 3), (1, 1), VALID),     # = SAME
             ((1, 6, 6, 3), (1, 1, 1, 1), (3, 3), (2, 2), VALID),     # PyTorch's padding=1
             ((1, 8, 7, 2), (0, 1, 0, 1), (3, 3), (2, 2), VALID),     # Keras' ZeroPadding2D
             ((1, 5, 5, 3), (1, 1, 1, 1), (3, 3), (1, 1), SAME),      # padding twice
             ((1, 7, 6, 2), (2, 0, 1, 3), (5, 5), (1, 2), VALID),     # asymmetric, more after
             ((2, 5, 4, 3), (0, 0, 0, 0), (3, 3), (2, 1), SAME),      # a PAD that copies
             ((1, 1, 9, 4), (0, 0, 1, 1), (1, 3), (1, 1), VALID)]     # 1xN


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_pad_conv_cases_fold_bit_exact(op, tmp_path):
    rng = seeded("must fold " + op)
    b = Batch()
    for k, (shape, pads, f, stride, padding) in enumerate(MUST_FOLD):
        pad_conv(b, rng, op=op, shape=shape, pads=pads, k=f, stride=stride, padding=padding,
                 zp=[-128, 127][k % 2], out_zp=[127, -128][k % 2],
                 opcode=["PAD", "PADV2"][k // 4 % 2])
    model = b.build()
    assert [d.reason for d in decisions(model)] == [""] * len(MUST_FOLD)
    res = assert_bit_exact(model, tmp_path, count=2)
    assert not any(layer.call.op.opcode.startswith("PAD") for layer in res.gen.program.layers)


@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_random_pad_conv_bit_exact(op, tmp_path):
    check_random(op, tmp_path, f"fold {op}", count=24)


def test_random_pad_depthwise_dsp_kernels_sanitized(tmp_path):
    res = check_random("DEPTHWISE_CONV_2D", tmp_path, "fold dsp", sanitize=True,
                       kernels=["dsp", "portable"])
    assert any(layer.call.kernel == "tg_dsp_depthwise_s8" and
               layer.call.op.options.get("folded_pad") for layer in res.gen.program.layers)


@pytest.mark.skipif(not os.environ.get("CMSIS_NN_PATH"), reason="CMSIS_NN_PATH not set")
@pytest.mark.parametrize("op", ["CONV_2D", "DEPTHWISE_CONV_2D"])
def test_random_pad_conv_cmsis_nn(op, tmp_path):
    res = check_random(op, tmp_path, f"fold cmsis {op}", library="cmsis-nn",
                       cmsis_nn=os.environ["CMSIS_NN_PATH"])
    assert any(layer.call.variant == "cmsis-nn" and layer.call.op.options.get("folded_pad")
               for layer in res.gen.program.layers)


def test_verify_layers_runs_the_folded_layers_padded(tmp_path):
    # the layer-by-layer reference runs a folded convolution on its input padded again
    from codegen.verify import verify

    rng = seeded("layers")
    b = Batch()
    pad_conv(b, rng, pads=(1, 2, 0, 1), k=(3, 3), stride=(2, 1), zp=-128)
    pad_conv(b, rng, op="CONV_2D", pads=(3, 3, 3, 3), k=(7, 7), stride=(2, 2), zp=127)
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build())
    assert [d.reason for d in decisions(path.read_bytes())] == ["", ""]
    report = verify(path, count=2, seed=1, layers=True)
    assert report.ok and report.first_bad_layer is None


def test_kernel_override_of_a_folded_pad_says_where_it_went(tmp_path):
    from codegen.errors import TinygenError
    from codegen.generate import generate

    rng = seeded("override")
    b = Batch()
    pad_conv(b, rng, pads=(1, 1, 1, 1))
    path = tmp_path / "m.tflite"
    path.write_bytes(b.build())
    with pytest.raises(TinygenError, match="operator 0 is a PAD folded into layer 1"):
        generate(path, None, layer_kernels={0: ["portable"]})


# -- max pooling: a PAD of -128 folds, any other value (and average pooling) stays -----------

def pad_pool(b: Batch, rng, op="MAX_POOL_2D", shape=(1, 6, 6, 3), pads=(1, 1, 1, 1), k=(3, 3),
             stride=(2, 2), padding=VALID, zp=None, value=None):
    n, h, w, c = shape
    zp = int(rng.integers(-128, 128)) if zp is None else zp
    q = dict(scale=float(rng.uniform(0.01, 0.1)), zero_point=zp)
    x = b.input(shape, "int8", **q)
    top, bottom, left, right = pads
    ph, pw = h + top + bottom, w + left + right
    padded = b.m.tensor(f"padded{len(b.m.tensors)}", (n, ph, pw, c), "int8", **q)
    ins = [x, b.const(np.array([[0, 0], [top, bottom], [left, right], [0, 0]], np.int32))]
    if value is not None:
        ins.append(b.const(np.array(value, np.int64).reshape(()), "int8", **q))
    b.m.op("PADV2" if value is not None else "PAD", ins, [padded])

    def out_size(size, f, s):
        return -(-size // s) if padding == SAME else -(-(size - f + 1) // s)
    y = b.output((n, out_size(ph, k[0], stride[0]), out_size(pw, k[1], stride[1]), c), "int8",
                 **q)
    b.m.op(op, [padded], [y], {"padding": padding, "stride_h": stride[0], "stride_w": stride[1],
                               "filter_height": k[0], "filter_width": k[1],
                               "fused_activation_function": 0})
    b.count += 2


def test_max_pool_folds_a_pad_of_the_int8_minimum(tmp_path):
    rng = seeded("pool")
    b = Batch()
    expect = []
    for k, (pads, kk, stride, padding) in enumerate([
            ((1, 1, 1, 1), (3, 3), (2, 2), VALID), ((0, 1, 0, 1), (3, 3), (2, 2), VALID),
            ((1, 0, 1, 1), (3, 2), (1, 2), SAME), ((1, 2, 2, 1), (4, 4), (1, 1), VALID),
            ((1, 1, 0, 0), (2, 2), (2, 2), VALID), ((3, 3, 3, 3), (2, 2), (1, 1), VALID)]):
        # PADV2 -128 (any zero point), PAD whose zero point is -128: both fold
        pad_pool(b, rng, pads=pads, k=kk, stride=stride, padding=padding,
                 value=-128 if k % 2 else None, zp=-128 if k % 2 == 0 else None)
        expect.append("" if k < 5 else "only padding")
    pad_pool(b, rng, zp=5)                                  # pads with 5: a maximum may take it
    expect.append("is not -128")
    pad_pool(b, rng, zp=-128, op="AVERAGE_POOL_2D")         # the divisor would change
    expect.append("not read by one convolution or max pooling")
    model = b.build()
    why = [d.reason for d in decisions(model)]
    assert all((e in w) if e else w == "" for e, w in zip(expect, why)), why
    res = assert_bit_exact(model, tmp_path, count=3)
    kept = [layer.call.op.index for layer in res.gen.program.layers
            if layer.call.op.opcode.startswith("PAD")]
    assert len(kept) == 3
    if os.environ.get("CMSIS_NN_PATH"):
        (tmp_path / "cmsis").mkdir()
        res = assert_bit_exact(model, tmp_path / "cmsis", count=2, library="cmsis-nn",
                               cmsis_nn=os.environ["CMSIS_NN_PATH"])
        assert any(layer.call.variant == "cmsis-nn" and layer.call.op.options.get("folded_pad")
                   for layer in res.gen.program.layers)
