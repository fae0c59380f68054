"""lowering/inplace.py: the offsets the dsp kernels declare, checked against a model of
each kernel's access order (every read must see the input byte it means, never a byte an
output write already replaced), on many shapes; and offsets one step past the safe range
must fail the same model (so it can see a wrong offset)."""
from __future__ import annotations

import itertools
import random

from codegen.lowering.inplace import (conv_overlap, depthwise_strided_in_place, extent,
                                      gather_rows,
                                      gemm_overlap)


def _gemm_order_ok(rows, depth, channels, gather, blocked, d, block=2) -> bool:
    """tg_dsp_gemm_s8's accesses (tg_dsp_gemm.c), input at byte 0, output at byte d:
    with a scratch, rows `block` at a time (a last shorter block too) copied to the
    scratch, then written; without one, each row read straight from the input once per
    channel triple while that row's outputs are written."""
    g = gather_rows(rows, gather)
    written: set[int] = set()

    def read_row(r):
        lo = g[r] * depth
        return not any(b in written for b in range(lo, lo + depth))

    r = 0
    while blocked and r < rows:
        n = min(block, rows - r)
        if not all(read_row(r + k) for k in range(n)):
            return False
        written.update(range(d + r * channels, d + (r + n) * channels))
        r += n
    for r in range(r, rows):
        for c in range(0, channels, 3):
            if not read_row(r):
                return False
            written.update(range(d + r * channels + c, d + r * channels + min(c + 3, channels)))
    return True


def _gemm_cases():
    rng = random.Random(11)
    cases = [(125, 64, 64, None, True), (2304, 8, 16, None, True), (36, 16, 8, None, True),
             (5, 12, 16, None, True), (1, 32, 10, None, False), (2, 8, 8, None, False)]
    for _ in range(40):
        rows = rng.randint(3, 30)
        cases.append((rows, rng.randint(1, 24), rng.randint(1, 24), None, True))
    for _ in range(20):      # strided 1x1 convolutions
        ih, iw = rng.randint(2, 9), rng.randint(2, 9)
        sh, sw = rng.randint(1, 3), rng.randint(1, 3)
        oh, ow = -(-ih // sh), -(-iw // sw)
        b = rng.randint(1, 2)
        gather = dict(out_w=ow, out_h=oh, in_w=iw, in_h=ih, stride_w=sw, stride_h=sh)
        rows = b * oh * ow
        cases.append((rows, rng.randint(1, 16), rng.randint(1, 16), gather, rows >= 3))
    return cases


def _in_bytes(rows, depth, gather):
    if gather is None:
        return rows * depth
    return gather["in_w"] * gather["in_h"] * depth * rows // (gather["out_w"] * gather["out_h"])


def test_gemm_offsets_follow_the_kernels_order():
    used = 0
    for rows, depth, channels, gather, blocked in _gemm_cases():
        for align in (1, 4, 16):
            d = gemm_overlap(rows, depth, channels, gather, blocked, align=align)
            if d is None:
                continue
            used += 1
            assert d % align == 0
            assert _gemm_order_ok(rows, depth, channels, gather, blocked, d), \
                (rows, depth, channels, gather, blocked, d)
            ib, ob = _in_bytes(rows, depth, gather), rows * channels
            assert extent(d, ob, ib) < ib + ob
            if gather is not None or ib + ob > 700:
                continue
            # about the best: the declared conditions are a little stricter than this
            # model (they hold for any block size, and keep a row done alone clear of its
            # input row although its last channel triple is written after its last read)
            best = min(extent(e, ob, ib) for e in range(-ob - ib, ib + 1)
                       if e % align == 0 and
                       _gemm_order_ok(rows, depth, channels, gather, blocked, e))
            assert extent(d, ob, ib) < best + channels + align, \
                (rows, depth, channels, blocked, align, d)
    assert used > 100


def test_gemm_offsets_of_the_layers_that_matter():
    # kws: 125 rows of 64 -> 64 (the odd last row a pair of itself): exactly in place
    assert gemm_overlap(125, 64, 64, align=16) == 0
    assert not _gemm_order_ok(125, 64, 64, None, True, 128)        # the control
    assert not _gemm_order_ok(125, 64, 64, None, False, 0)         # rows read while written
    # an even number of rows of equal width: exactly in place
    assert gemm_overlap(124, 64, 64, align=16) == 0
    # person_detect 48x48x8 -> 16: the input trailing at the end of the output
    d = gemm_overlap(2304, 8, 16, align=8)
    assert extent(d, 2304 * 16, 2304 * 8) == 2304 * 16
    assert not _gemm_order_ok(2304, 8, 16, None, True, d + 16)   # past the last block
    # narrower rows: at the input's start
    assert gemm_overlap(36, 16, 8, align=4) == 0
    # a batch-1 fully connected layer reads its one row while writing: nothing shared
    assert gemm_overlap(1, 32, 10, blocked=False) is None
    # a strided 1x1 convolution 7x7x8 -> 4x4x8 (stride 2): the output at the input's start
    g = dict(out_w=4, out_h=4, in_w=7, in_h=7, stride_w=2, stride_h=2)
    assert gemm_overlap(16, 8, 8, g, align=4) == 0


def _depthwise_order_ok(h, w, c, oh, ow, stride, pad, fh, group) -> bool:
    """tg_dsp_depthwise_s8's accesses (rows as lines, depth multiplier 1, one batch), output
    at the input's first byte: per channel group, per output line, the input lines up to
    oy * stride - pad + fh - 1 gathered (each once), then the output line written."""
    written: set[int] = set()
    for ci in range(0, c, group):
        chans = range(ci, min(ci + group, c))
        nxt = -pad
        for oy in range(oh):
            while nxt < oy * stride - pad + fh:
                if 0 <= nxt < h:
                    for x in range(w):
                        if any((nxt * w + x) * c + k in written for k in chans):
                            return False
                nxt += 1
            for x in range(ow):
                written.update((oy * ow + x) * c + k for k in chans)
    return True


def test_depthwise_strided_follows_the_kernels_order():
    seen = 0
    for h, w, c, s, fh, pad in itertools.product((4, 7, 8), (4, 5, 9), (1, 4, 8), (2, 3),
                                                 (1, 3, 5), (0, 1, 2)):
        if pad >= fh:
            continue
        oh = (h + 2 * pad - fh) // s + 1
        ow = -(-w // s)
        if oh <= 0 or ow > w or oh > h:
            continue
        ok = depthwise_strided_in_place(1, h, w, oh, ow, 1, False, s, pad, fh)
        if ok:
            seen += 1
            for group in (1, 4):
                assert _depthwise_order_ok(h, w, c, oh, ow, s, pad, fh, group)
    assert seen > 50
    # refused: transposed lines, a depth multiplier, several batches, the same size
    assert not depthwise_strided_in_place(1, 8, 8, 4, 4, 1, True, 2, 0, 3)
    assert not depthwise_strided_in_place(1, 8, 8, 4, 4, 2, False, 2, 0, 3)
    assert not depthwise_strided_in_place(2, 8, 8, 4, 4, 1, False, 2, 0, 3)
    assert not depthwise_strided_in_place(1, 8, 8, 8, 8, 1, False, 1, 1, 3)


def test_depthwise_model_sees_a_wrong_overlap():
    # the control: an output written over its input one line further on (not declared)
    # overwrites a line before it is gathered
    def shifted_ok(h, w, c, oh, ow, s, pad, fh, shift):
        written: set[int] = set()
        nxt = -pad
        for oy in range(oh):
            while nxt < oy * s - pad + fh:
                if 0 <= nxt < h and any((nxt * w + x) * c + k in written
                                        for x in range(w) for k in range(c)):
                    return False
                nxt += 1
            written.update(shift + (oy * ow + x) * c + k for x in range(ow) for k in range(c))
        return True
    assert shifted_ok(8, 8, 4, 4, 4, 2, 0, 3, 0)
    assert not shifted_ok(8, 8, 4, 4, 4, 2, 0, 3, 3 * 8 * 4)


def _conv_order_ok(b, h, w, c, oh, ow, od, kh, kw, sh, sw, pt, pl, d) -> bool:
    """tg_dsp_conv_s8's accesses (tg_dsp_conv.c), input at byte 0, output at byte d: pixels
    two at a time, both windows gathered into the columns, then both outputs written."""
    written: set[int] = set()
    pixels = b * oh * ow
    for n in range(0, pixels, 2):
        for m in (n, min(n + 1, pixels - 1)):
            bb, oy, ox = m // (oh * ow), m // ow % oh, m % ow
            for ky in range(kh):
                for kx in range(kw):
                    iy, ix = oy * sh - pt + ky, ox * sw - pl + kx
                    if 0 <= iy < h and 0 <= ix < w:
                        at = ((bb * h + iy) * w + ix) * c
                        if any(at + k in written for k in range(c)):
                            return False
        written.update(range(d + n * od, d + min(n + 2, pixels) * od))
    return True


def test_conv_offsets_follow_the_kernels_order():
    rng = random.Random(5)
    used = 0
    cases = [(1, 8, 8, 4, 3, 3, 1, 1, 4), (1, 9, 9, 3, 3, 3, 2, 0, 8), (2, 6, 5, 2, 5, 5, 1, 2, 3),
             (1, 10, 10, 3, 3, 3, 2, 1, 2)]
    for _ in range(40):
        k = rng.choice((1, 3, 5))
        s = rng.choice((1, 2))
        cases.append((rng.randint(1, 2), rng.randint(k, 9), rng.randint(k, 9), rng.randint(1, 6),
                      k, k, s, rng.randint(0, k // 2), rng.randint(1, 9)))
    for b, h, w, c, kh, kw, s, pad, od in cases:
        oh, ow = (h + 2 * pad - kh) // s + 1, (w + 2 * pad - kw) // s + 1
        for align in (1, 4, 8):
            d = conv_overlap(b, h, w, c, oh, ow, od, s, pad, align=align)
            if d is None:
                continue
            used += 1
            assert d % align == 0
            assert _conv_order_ok(b, h, w, c, oh, ow, od, kh, kw, s, s, pad, pad, d), \
                (b, h, w, c, kh, s, pad, od, d)
            ib, ob = b * h * w * c, b * oh * ow * od
            assert extent(d, ob, ib) < ib + ob
    assert used > 60
    # resnet8's 3x3 convolutions (32x32x16, SAME): the output one input row (and the
    # pixels of the first output row) ahead; an input row later it fails
    assert conv_overlap(1, 32, 32, 16, 32, 32, 16, 1, 1, align=8) == -1008
    d = conv_overlap(1, 12, 12, 4, 12, 12, 4, 1, 1, align=1)
    assert _conv_order_ok(1, 12, 12, 4, 12, 12, 4, 3, 3, 1, 1, 1, 1, d)
    assert not _conv_order_ok(1, 12, 12, 4, 12, 12, 4, 3, 3, 1, 1, 1, 1, d + 12 * 4)


def _resblock_down_ok(h, in_h, x_row, out_row, s, kh1, pad1, kh2, pad2, d) -> bool:
    """tg_resblock_rows.h's accesses to x (at byte 0) and the output (at byte d) for a
    downsampling block: per step y, the rows of a conv2 needs (each reading its rows of
    x), the shortcut's x row y * s, then output row y."""
    written: set[int] = set()

    def read(r):
        return not any(b in written for b in range(r * x_row, (r + 1) * x_row))

    nxt = 0
    for y in range(h):
        need_hi = min(h - 1, y - pad2 + kh2 - 1)
        for j in range(nxt, need_hi + 1):
            top = j * s - pad1
            if not all(read(r) for r in range(max(0, top), min(in_h - 1, top + kh1 - 1) + 1)):
                return False
        nxt = max(nxt, need_hi + 1)
        if not read(y * s):
            return False
        written.update(range(d + y * out_row, d + (y + 1) * out_row))
    return True


def test_resblock_down_offsets_follow_the_pipelines_order():
    from codegen.lowering.inplace import resblock_down_overlap
    rng = random.Random(5)
    cases = [(16, 32, 512, 512, 2, 3, 0, 3, 1), (8, 16, 512, 512, 2, 3, 0, 3, 1)]  # resnet8
    for _ in range(60):
        s, kh1, kh2 = rng.randint(1, 3), rng.choice([1, 3, 5]), rng.choice([1, 3, 5])
        in_h = rng.randint(2, 12)
        pad1 = rng.randint(0, kh1 // 2)
        h = (in_h + 2 * pad1 - kh1) // s + 1
        if h < 1:
            continue
        cases.append((h, in_h, rng.randint(1, 6) * 4, rng.randint(1, 6) * 4, s, kh1, pad1,
                      kh2, kh2 // 2))
    for c in cases:
        d = resblock_down_overlap(*c)
        if d is None:
            continue
        assert _resblock_down_ok(*c, d), (c, d)
        assert not _resblock_down_ok(*c, d + c[2] * c[4] + 4) or d + c[0] * c[3] <= 0 or \
            c[0] == 1, (c, d)       # a row pair later overwrites rows still to be read
    # resnet8's blocks: the output (8 KB) over the first half of x (16 KB)
    assert resblock_down_overlap(*cases[0]) == 0
    assert not _resblock_down_ok(*cases[0], 1024)       # the control: two rows later
