"""RESIZE_NEAREST_NEIGHBOR: the source index of every output row and column, as TFLM
computes it (float32 scale, std::round), kernel-neutral.
"""
from __future__ import annotations

import math

import numpy as np

def _round_half_away(x: np.float32) -> int:
    """std::round of a float: halfway cases away from zero (exact in double)."""
    v = float(x)
    return int(math.copysign(math.floor(abs(v) + 0.5), v))


def nearest_indices(in_size: int, out_size: int, align_corners: bool,
                    half_pixel_centers: bool) -> list[int]:
    """The input index each output index reads, exactly as the reference computes it."""
    f32 = np.float32
    if align_corners and out_size > 1:
        scale = f32(in_size - 1) / f32(out_size - 1)
    else:
        scale = f32(in_size) / f32(out_size)
    offset = f32(0.5) if half_pixel_centers else f32(0.0)
    out = []
    for i in range(out_size):
        v = (f32(i) + offset) * scale          # float32 throughout, as in the reference
        idx = _round_half_away(v) if align_corners else int(math.floor(float(v)))
        idx = min(idx, in_size - 1)
        if half_pixel_centers:
            idx = max(0, idx)
        out.append(idx)
    return out
