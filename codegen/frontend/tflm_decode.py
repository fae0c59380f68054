"""TFLM's compressed models: the custom operator TFLM_DECODE and its look-up tables.

`tflite_micro.compression.compress()` replaces a constant by a DECODE operator in
front of each of its consumers.  A DECODE takes pairs of inputs (encoded tensor,
ancillary tensor), one pair per output, both uint8 constants.  The format, as
the package documents it (decode.py, lut.py: "DECODE Common Metadata"):

ancillary tensor, bytes 0-15, the DCM header:
  0      decode type: 0 LUT, 1 Huffman (Xtensa tables), 2 pruning, 128-255 custom
  1      DCM version (1)
  2-3    reserved
  4      LUT version (1)                                       } LUT's user data
  5      bits 7-4: the channel axis of the output's shape (0-14), 15 = one table;
         bits 2-0: the index bit width (1-7)
  6      value table stride: elements per table
  7-15   reserved
bytes 16 on: the value tables, one per channel (or one), `stride` elements each,
  of the output's element type (little-endian), concatenated.

encoded tensor: one index per element of the output, in row-major order, each
`bit width` bits, packed most significant bit first (big-endian bit order);
the element's value is its channel's table entry at that index.

tinygen decodes each table at generation time (`decode_lut`, pure) and replaces
the DECODE outputs by constants (`codegen/passes/decompress.py`).  Only LUT
decoding is read; the other decode types are refused, naming the tensor.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codegen.errors import ModelError, UnsupportedError

DECODE_OPCODE = "CUSTOM(TFLM_DECODE)"
DCM_SIZE = 16
LUT, HUFFMAN, PRUNING = 0, 1, 2
PER_TENSOR_AXIS = 15
_TYPE_NAMES = {LUT: "LUT", HUFFMAN: "Huffman", PRUNING: "pruning"}


@dataclass(frozen=True)
class LutHeader:
    axis: int | None       # channel axis, or None for one table
    bitwidth: int
    stride: int

    def describe(self) -> str:
        tables = "one table" if self.axis is None else f"a table per channel of axis {self.axis}"
        return f"TFLM_DECODE LUT, {self.bitwidth}-bit indices, {tables}"


def parse_header(ancillary: bytes, where: str) -> LutHeader:
    """The LUT header of an ancillary tensor; errors name `where` (the decoded tensor)."""
    if len(ancillary) < DCM_SIZE:
        raise ModelError(f"{where}: its TFLM_DECODE ancillary data is {len(ancillary)} bytes "
                         f"long, shorter than the {DCM_SIZE}-byte header")
    dtype, version = ancillary[0], ancillary[1]
    if dtype != LUT:
        name = _TYPE_NAMES.get(dtype, "custom" if dtype >= 128 else "reserved")
        raise UnsupportedError(f"{where} is compressed with TFLM_DECODE type {dtype} "
                               f"({name}); tinygen decodes the LUT type (0) only: compress "
                               "it with `lut` in the compression spec")
    if version != 1:
        raise UnsupportedError(f"{where}: TFLM_DECODE header version {version}; tinygen reads "
                               "version 1")
    if ancillary[4] != 1:
        raise UnsupportedError(f"{where}: TFLM_DECODE LUT version {ancillary[4]}; tinygen "
                               "reads version 1")
    params = ancillary[5]
    axis, bitwidth, stride = params >> 4, params & 0x07, ancillary[6]
    if bitwidth == 0:
        raise ModelError(f"{where}: TFLM_DECODE LUT bit width is 0 (must be 1-7)")
    if stride == 0:
        raise ModelError(f"{where}: TFLM_DECODE LUT value table stride is 0")
    return LutHeader(None if axis == PER_TENSOR_AXIS else axis, bitwidth, stride)


def unpack_indices(encoded: bytes, count: int, bitwidth: int) -> np.ndarray:
    """`count` indices of `bitwidth` bits each, most significant bit first (int64)."""
    bits = np.unpackbits(np.frombuffer(bytes(encoded), dtype=np.uint8))[:count * bitwidth]
    weights = 1 << np.arange(bitwidth - 1, -1, -1, dtype=np.int64)
    return bits.reshape(count, bitwidth).astype(np.int64) @ weights


def decode_lut(encoded: bytes, ancillary: bytes, shape: tuple[int, ...], dtype: np.dtype,
               where: str) -> tuple[np.ndarray, LutHeader]:
    """The values a LUT-compressed tensor stands for (`shape`, `dtype`), and its header."""
    h = parse_header(ancillary, where)
    shape = tuple(int(s) for s in shape)
    count = int(np.prod(shape, dtype=np.int64))
    if h.axis is None:
        channels, inner = 1, count
    else:
        if h.axis >= len(shape):
            raise ModelError(f"{where}: TFLM_DECODE LUT channel axis {h.axis} is out of range "
                             f"for shape {list(shape)}")
        channels = shape[h.axis]
        inner = int(np.prod(shape[h.axis + 1:], dtype=np.int64))
    dt = np.dtype(dtype).newbyteorder("<")
    need = DCM_SIZE + channels * h.stride * dt.itemsize
    if len(ancillary) < need:
        raise ModelError(f"{where}: TFLM_DECODE ancillary data is {len(ancillary)} bytes; "
                         f"{channels} table(s) of {h.stride} {np.dtype(dtype).name} value(s) "
                         f"after the header need {need}")
    tables = np.frombuffer(bytes(ancillary[DCM_SIZE:need]), dtype=dt).astype(dtype)
    need_enc = (count * h.bitwidth + 7) // 8
    if len(encoded) < need_enc:
        raise ModelError(f"{where}: TFLM_DECODE encoded data is {len(encoded)} bytes; "
                         f"{count} indices of {h.bitwidth} bits need {need_enc}")
    idx = unpack_indices(encoded, count, h.bitwidth)
    if count and idx.max() >= h.stride:
        raise ModelError(f"{where}: TFLM_DECODE index {int(idx.max())} is past the end of "
                         f"its {h.stride}-entry value table")
    channel = (np.arange(count, dtype=np.int64) // inner) % channels
    return tables[channel * h.stride + idx].reshape(shape), h


def mishandled_by_tflm(header: LutHeader, quant_axis: int | None) -> bool:
    """Whether TFLM's DECODE kernel (tflite_micro pip 0.dev20261023) misreads these tables.

    It takes the table layout from the tensor's quantization instead of the header: one
    table when per-tensor quantized, one per channel of the quantized dimension otherwise
    (`quant_axis`, None when per-tensor).  Where the header says otherwise, TFLM decodes
    other values than the file holds; such a model is judged against its decoded form."""
    return header.axis != quant_axis
