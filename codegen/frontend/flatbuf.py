"""A strict, bounds-checked FlatBuffers table reader.

The `flatbuffers` runtime reads lazily and trusts every offset: on a
truncated or corrupt file it may read garbage (negative offsets wrap around to
the end of the buffer, strings are silently cut short) instead of failing.
This reader checks every offset it follows before it reads through it:

* a table's vtable, and the table's inline fields as the vtable declares
  them, lie inside the file;
* a field's offset lies inside the table's inline size;
* a vector's length word and all its elements, and a string's bytes and
  terminator, lie inside the file.

Each check that fails raises `FlatBufferError` naming the field's path in the
schema (e.g. "subgraph 0 / tensor #5 / name") and the byte offset, so that
the importer can tell the user *where* the file is broken.  It reads only the
fields the importer asks for, by slot number; the schema lives with the caller.
"""
from __future__ import annotations

import struct

import numpy as np

_U8 = struct.Struct("<B")
_I8 = struct.Struct("<b")
_U16 = struct.Struct("<H")
_I32 = struct.Struct("<i")
_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U64 = struct.Struct("<Q")
_F32 = struct.Struct("<f")

# scalar kind -> (struct, size)
SCALARS = {
    "bool": _U8, "uint8": _U8, "int8": _I8, "uint16": _U16, "int32": _I32,
    "uint32": _U32, "int64": _I64, "uint64": _U64, "float32": _F32,
}
# vector element kind -> numpy little-endian dtype
VECTOR_DTYPES = {
    "uint8": "<u1", "int8": "<i1", "bool": "<u1", "uint16": "<u2", "int32": "<i4",
    "uint32": "<u4", "int64": "<i8", "float32": "<f4",
}


class FlatBufferError(Exception):
    """The buffer does not hold a well-formed table where the schema expects one."""

    def __init__(self, what: str, detail: str):
        super().__init__(f"{what}: {detail}")
        self.what = what
        self.detail = detail


class Buffer:
    """The whole file, with checked little-endian reads."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.size = len(self.data)

    def need(self, pos: int, nbytes: int, what: str) -> None:
        if pos < 0 or nbytes < 0 or pos + nbytes > self.size:
            raise FlatBufferError(what, f"{nbytes} byte(s) at offset {pos} lie outside "
                                        f"the {self.size}-byte file")

    def read(self, st: struct.Struct, pos: int, what: str):
        self.need(pos, st.size, what)
        return st.unpack_from(self.data, pos)[0]

    def root(self, what: str = "root table") -> "Table":
        off = self.read(_U32, 0, what)
        return Table(self, off, what)


class Table:
    """One table: its position, its vtable, and checked field accessors by slot."""

    __slots__ = ("buf", "pos", "what", "vt", "vt_size", "inline_size")

    def __init__(self, buf: Buffer, pos: int, what: str):
        self.buf, self.pos, self.what = buf, pos, what
        soff = buf.read(_I32, pos, f"{what} (table header)")
        vt = pos - soff
        vt_size = buf.read(_U16, vt, f"{what} (vtable)")
        inline = buf.read(_U16, vt + 2, f"{what} (vtable)")
        if vt_size < 4 or vt_size % 2:
            raise FlatBufferError(what, f"vtable at offset {vt} has an invalid size {vt_size}")
        if inline < 4:
            raise FlatBufferError(what, f"table at offset {pos} has an invalid size {inline}")
        buf.need(vt, vt_size, f"{what} (vtable)")
        buf.need(pos, inline, f"{what} (table fields)")
        self.vt, self.vt_size, self.inline_size = vt, vt_size, inline

    # -- raw field location --------------------------------------------------
    def _field(self, slot: int, width: int, name: str) -> int:
        """Absolute position of a field's inline value, or 0 if the field is absent."""
        vo = 4 + 2 * slot
        if vo + 2 > self.vt_size:
            return 0
        off = _U16.unpack_from(self.buf.data, self.vt + vo)[0]
        if off == 0:
            return 0
        if off < 4 or off + width > self.inline_size:
            raise FlatBufferError(f"{self.what} / {name}",
                                  f"field offset {off} lies outside its table "
                                  f"({self.inline_size} bytes)")
        return self.pos + off

    def check_all_fields(self) -> None:
        """Every field the vtable declares starts inside the table's inline area.

        For tables read by generated accessors (which do not check): together with the
        inline area lying inside the file, every scalar field read stays in the file.
        """
        data = self.buf.data
        for vo in range(4, self.vt_size, 2):
            off = _U16.unpack_from(data, self.vt + vo)[0]
            if off and not 4 <= off < self.inline_size:
                raise FlatBufferError(f"{self.what} / field {(vo - 4) // 2}",
                                      f"field offset {off} lies outside its table "
                                      f"({self.inline_size} bytes)")

    def has(self, slot: int) -> bool:
        vo = 4 + 2 * slot
        return vo + 2 <= self.vt_size and _U16.unpack_from(self.buf.data, self.vt + vo)[0] != 0

    def _indirect(self, slot: int, name: str) -> int:
        """Target of an offset field, or 0 when absent."""
        p = self._field(slot, 4, name)
        if not p:
            return 0
        rel = _U32.unpack_from(self.buf.data, p)[0]
        target = p + rel
        if rel == 0 or target >= self.buf.size:
            raise FlatBufferError(f"{self.what} / {name}",
                                  f"points to offset {target}, outside the "
                                  f"{self.buf.size}-byte file")
        return target

    # -- typed accessors -----------------------------------------------------
    def scalar(self, slot: int, kind: str, default, name: str):
        st = SCALARS[kind]
        p = self._field(slot, st.size, name)
        if not p:
            return default
        v = st.unpack_from(self.buf.data, p)[0]
        return bool(v) if kind == "bool" else v

    def table(self, slot: int, name: str) -> "Table | None":
        target = self._indirect(slot, name)
        return Table(self.buf, target, f"{self.what} / {name}") if target else None

    def _vector(self, slot: int, elem_size: int, name: str) -> tuple[int, int] | None:
        target = self._indirect(slot, name)
        if not target:
            return None
        what = f"{self.what} / {name}"
        n = self.buf.read(_U32, target, f"{what} (vector length)")
        start = target + 4
        if n * elem_size > self.buf.size - start:
            raise FlatBufferError(what, f"vector of {n} element(s) at offset {start} runs "
                                        f"past the end of the {self.buf.size}-byte file")
        return start, n

    def vector(self, slot: int, kind: str, name: str) -> np.ndarray | None:
        """A scalar vector as a numpy array (a copy), or None when the field is absent."""
        dt = np.dtype(VECTOR_DTYPES[kind])
        loc = self._vector(slot, dt.itemsize, name)
        if loc is None:
            return None
        start, n = loc
        arr = np.frombuffer(self.buf.data, dtype=dt, count=n, offset=start)
        return arr.astype(dt.newbyteorder("="))

    def vector_location(self, slot: int, elem_size: int, name: str) -> tuple[int, int] | None:
        """(start byte, element count) of a vector, bounds-checked, without reading it."""
        return self._vector(slot, elem_size, name)

    def string(self, slot: int, name: str) -> bytes | None:
        loc = self._vector(slot, 1, name)
        if loc is None:
            return None
        start, n = loc
        what = f"{self.what} / {name}"
        self.buf.need(start, n + 1, f"{what} (string terminator)")
        return self.buf.data[start:start + n]

    def tables(self, slot: int, name: str, item: str) -> list["Table"]:
        """A vector of tables, each checked; `item` names one element (e.g. 'tensor')."""
        loc = self._vector(slot, 4, name)
        if loc is None:
            return []
        start, n = loc
        out = []
        for k in range(n):
            p = start + 4 * k
            rel = _U32.unpack_from(self.buf.data, p)[0]
            target = p + rel
            what = f"{self.what} / {item} #{k}"
            if rel == 0 or target >= self.buf.size:
                raise FlatBufferError(what, f"points to offset {target}, outside the "
                                            f"{self.buf.size}-byte file")
            out.append(Table(self.buf, target, what))
        return out

    def union_table(self, slot: int, name: str) -> "Table | None":
        return self.table(slot, name)
