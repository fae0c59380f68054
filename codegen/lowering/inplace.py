"""Where a kernel's output may lie over its input: the geometry of the in-place overlaps the
dsp kernels declare (`ir.Overlap`), pure and unit-tested (tests/test_inplace_geometry.py).

Offsets are in bytes from the input's first byte to the output's first byte (negative: the
output starts before the input, the input trailing inside it).  The planner
(planning/memory.py) uses an overlap only where it lowers the arena; each function here
answers for one kernel's access order, as its header comment and the in-place contracts of
the kernel authors state it, and returns None where no offset is safe.
"""
from __future__ import annotations


def floor_to(x: int, a: int) -> int:
    return x // a * a


def ceil_to(x: int, a: int) -> int:
    return -(-x // a) * a


def gather_rows(rows: int, gather: dict | None) -> list[int]:
    """Input row of each output row of tg_dsp_gemm_s8 (tg_dsp_gemm.h's gather)."""
    if gather is None:
        return list(range(rows))
    ow, oh, iw, ih = gather["out_w"], gather["out_h"], gather["in_w"], gather["in_h"]
    sw, sh = gather["stride_w"], gather["stride_h"]
    return [((r // (ow * oh)) * ih + (r // ow % oh) * sh) * iw + (r % ow) * sw
            for r in range(rows)]


def extent(offset: int, out_bytes: int, in_bytes: int) -> int:
    """Bytes the input and the output span together at `offset`."""
    return max(offset + out_bytes, in_bytes) - min(offset, 0)


def gemm_overlap(rows: int, depth: int, channels: int, gather: dict | None = None,
                 blocked: bool = True, block: int = 2, align: int = 4) -> int | None:
    """The offset of tg_dsp_gemm_s8's output over its input with the smallest joint extent
    (then the nearest to 0), a multiple of `align`; None if no overlap is safe.

    The kernel (tg_dsp_gemm.c; the contract in its header): output rows r (`channels`
    bytes each, output row r at d + r * channels) are produced in increasing order.  With
    a scratch (`blocked`), the rows go `block` at a time: every input byte of a block is
    copied to the scratch before any output byte of the block is written (a last odd row
    is taken as a block of itself, copied first too).  Without one (fewer than 3 rows),
    each row goes alone straight from the int8 input row, which is read again for every
    channel triple while that row's outputs are written.  Input row g(r) (the gather,
    increasing in r) spans [g(r) * depth, (g(r) + 1) * depth).

    Proof of the conditions.  (1) A block, or a row done alone, must not write a byte of
    an input row a later one reads.  The last byte a block ending before row e writes is
    d + e * channels - 1, and the lowest input byte read from row e on is g(e) * depth
    (g increases): so d + e * channels <= g(e) * depth at every e where a block (or a
    lone row) ends and another starts.  We ask it at every e in 1..rows-1, which holds for
    any block size (the kernel's order survives a change of its block).  Bytes below the
    input (d < 0) or after it belong to the output alone.  (2) A row done alone reads its
    input row while writing its output row, so these must not share a byte:
    d + (r + 1) * channels <= g(r) * depth or d + r * channels >= (g(r) + 1) * depth.
    The rows done alone: none with the scratch, all without.
    Nothing else is read: the final clamp pass reads the output only.
    """
    g = gather_rows(rows, gather)
    upper = min((g[e] * depth - e * channels for e in range(1, rows)), default=None)
    alone = range(rows if blocked else 0, rows)
    out_bytes, in_bytes = rows * channels, (max(g) + 1) * depth if g else 0
    if gather is not None:
        in_bytes = gather["in_w"] * gather["in_h"] * depth * (
            rows // (gather["out_w"] * gather["out_h"]))

    def safe(d: int) -> bool:
        if upper is not None and d > upper:
            return False
        return all(d + (r + 1) * channels <= g[r] * depth or
                   d + r * channels >= (g[r] + 1) * depth for r in alone)

    cands = {0, floor_to(in_bytes - out_bytes, align), ceil_to(in_bytes - out_bytes, align)}
    if upper is not None:
        cands.add(floor_to(upper, align))
    for r in alone:
        cands.add(floor_to(g[r] * depth - (r + 1) * channels, align))
        cands.add(ceil_to((g[r] + 1) * depth - r * channels, align))
    if upper is not None:
        cands = {min(c, floor_to(upper, align)) for c in cands}
    ok = [d for d in cands if safe(d)]
    if not ok:
        return None
    best = min(ok, key=lambda d: (extent(d, out_bytes, in_bytes), abs(d)))
    if extent(best, out_bytes, in_bytes) >= out_bytes + in_bytes:
        return None             # no byte shared: nothing to gain
    return best


def depthwise_strided_in_place(batches: int, in_h: int, in_w: int, out_h: int, out_w: int,
                               depth_multiplier: int, transposed: bool, stride_lines: int,
                               pad_lines: int, filter_lines: int) -> bool:
    """Whether tg_dsp_depthwise_s8 stays right with its (smaller) output starting at its
    input's first byte (offset 0), for an output of fewer pixels (a stride of 2, ...).

    The kernel (tg_dsp_depthwise.c): per batch, per group of channels, output lines oy in
    increasing order; before output line oy is written, every input line up to
    oy * stride - pad + filter_lines - 1 has been gathered into the band (a ring it then
    reads instead of the input), and no input line is read twice.  With depth multiplier 1
    an output byte (pixel q, channel c) lands on input byte (pixel q, channel c): its own
    channel, whose other bytes the group no longer needs once gathered.  Lines must be
    image rows (not transposed): then output line oy's pixels q < (oy + 1) * out_w are
    input pixels of lines <= q / in_w <= oy (out_w <= in_w), gathered once
    oy * stride - pad + filter_lines - 1 >= oy; one batch (with more, a batch's output
    would land on the previous batch's bytes, also done, but we keep it simple).
    """
    if depth_multiplier != 1 or transposed or batches != 1:
        return False
    if out_w > in_w or out_h > in_h or (out_h, out_w) == (in_h, in_w):
        return False
    return all(oy * stride_lines - pad_lines + filter_lines - 1 >= oy for oy in range(out_h))


def conv_overlap(batches: int, in_h: int, in_w: int, in_d: int, out_h: int, out_w: int,
                 out_d: int, stride_h: int, pad_top: int, align: int = 4) -> int | None:
    """The offset of tg_dsp_conv_s8's (k x k, im2col) output over its input with the
    smallest joint extent (then the nearest to 0), a multiple of `align`; None if no byte
    can be shared.  The output trails the input by the rows later pixels still read.

    The kernel (tg_dsp_conv.c; the contract in its header): output pixels n (out_d bytes
    each, at d + n * out_d) in raster order, in blocks (of 2) whose im2col columns are all
    filled before any of the block's outputs are written (an odd last pixel fills both
    columns first too); a block whose first pixel is (b, oy, ox) and every later block
    read only input rows >= oy * stride_h - pad_top of image b or later images, i.e.
    bytes from L(n) = (b * in_h + max(0, oy * stride_h - pad_top)) * in_w * in_d on.
    So the writes of the pixels before n, up to byte d + n * out_d - 1, must stay below
    min(L(m), m >= n) at every n where a block may start; we ask it at every n in
    1..pixels-1 (any block size).  Bytes outside the input are the output's own."""
    pixels = batches * out_h * out_w
    low = [0] * pixels
    reach = None
    for n in range(pixels - 1, -1, -1):
        b, oy = n // (out_h * out_w), n // out_w % out_h
        first = (b * in_h + max(0, oy * stride_h - pad_top)) * in_w * in_d
        reach = first if reach is None else min(reach, first)
        low[n] = reach
    upper = min((low[n] - n * out_d for n in range(1, pixels)), default=None)
    out_bytes, in_bytes = pixels * out_d, batches * in_h * in_w * in_d
    cands = {floor_to(in_bytes - out_bytes, align), 0}
    if upper is not None:
        cands = {min(c, floor_to(upper, align)) for c in cands} | {floor_to(upper, align)}
    best = min(cands, key=lambda d: (extent(d, out_bytes, in_bytes), abs(d)))
    if extent(best, out_bytes, in_bytes) >= out_bytes + in_bytes:
        return None
    return best


def resblock_down_overlap(height: int, in_height: int, x_row: int, out_row: int,
                          stride1: int, kh1: int, pad1: int, kh2: int, pad2: int,
                          align: int = 4) -> int | None:
    """The offset of a fused downsampling residual block's output over its input x
    (tg_resblock_rows.h, with a shortcut) with the smallest joint extent (then the
    nearest to 0), a multiple of `align`; None if no byte can be shared.

    The pipeline, step y = 0 .. height-1: computes the rows of a up to
    need_hi(y) = min(height - 1, y - pad2 + kh2 - 1), row j reading x rows
    max(0, j * stride1 - pad1) .. j * stride1 - pad1 + kh1 - 1; then b's row y (from the
    window, not x), the shortcut's row y from x row y * stride1 into its own row buffer,
    and only then writes output row y (out_row bytes at d + y * out_row) from those row
    buffers.  So the steps after y read x rows from
    R(y) = min((y + 1) * stride1, max(0, (need_hi(y) + 1) * stride1 - pad1)) on (the second
    term only while rows of a remain), both increasing in y, and the output written by
    the end of step y, up to byte d + (y + 1) * out_row - 1, must stay below byte
    R(y) * x_row: d <= R(y) * x_row - (y + 1) * out_row for y in 0 .. height-2.  Bytes
    outside x are the output's own; the last step reads before it writes."""
    upper = None
    for y in range(height - 1):
        need_hi = min(height - 1, y - pad2 + kh2 - 1)
        later = [(y + 1) * stride1]
        if need_hi + 1 <= height - 1:
            later.append(max(0, (need_hi + 1) * stride1 - pad1))
        bound = min(later) * x_row - (y + 1) * out_row
        upper = bound if upper is None else min(upper, bound)
    out_bytes, in_bytes = height * out_row, in_height * x_row
    cands = {0, floor_to(in_bytes - out_bytes, align)}
    if upper is not None:
        cands = {min(c, floor_to(upper, align)) for c in cands}
    best = min(cands, key=lambda d: (extent(d, out_bytes, in_bytes), abs(d)))
    if extent(best, out_bytes, in_bytes) >= out_bytes + in_bytes:
        return None
    return best
