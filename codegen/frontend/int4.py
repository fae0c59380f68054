"""INT4 tensors (TFLite TensorType INT4 = 17): two signed 4-bit values per byte.

TFLite packs the elements of the whole tensor in row-major order, two per byte,
the even element in the low nibble and the odd one in the high nibble; an odd
count leaves the last high nibble as padding.  Each nibble is a two's-complement
value in [-8, 7].  tinygen reads such a tensor as the int8 tensor of the same
values (TFLM unpacks them the same way before its kernels run); the graph tensor
keeps `stored_as = "int4"` for information.
"""
from __future__ import annotations

import numpy as np

# The operators and input positions TFLite writes INT4 tensors for (their filter).
INT4_CONSUMERS = {"CONV_2D": 1, "DEPTHWISE_CONV_2D": 1, "FULLY_CONNECTED": 1}
INT4_RANGE = (-8, 7)


def packed_size(num_elements: int) -> int:
    """Bytes a packed INT4 tensor of `num_elements` values takes."""
    return (num_elements + 1) // 2


def unpack_int4(raw: bytes, num_elements: int) -> np.ndarray:
    """The int8 values of a packed INT4 buffer (flat, `num_elements` long).

    The caller checks len(raw) == packed_size(num_elements)."""
    b = np.frombuffer(bytes(raw), dtype=np.uint8)
    low = (b & 0x0F).astype(np.int16)
    high = (b >> 4).astype(np.int16)
    both = np.stack([low, high], axis=1).reshape(-1)[:num_elements]
    return np.where(both >= 8, both - 16, both).astype(np.int8)


def pack_int4(values: np.ndarray) -> bytes:
    """The packed INT4 bytes of `values` (any shape, all in [-8, 7]); for the model writer."""
    v = np.asarray(values).reshape(-1).astype(np.int64)
    lo, hi = INT4_RANGE
    if v.size and (v.min() < lo or v.max() > hi):
        raise ValueError(f"INT4 values must lie in [{lo}, {hi}], got [{v.min()}, {v.max()}]")
    nib = (v & 0x0F).astype(np.uint8)
    if nib.size % 2:
        nib = np.append(nib, np.uint8(0))
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()
