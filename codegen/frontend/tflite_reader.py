"""Read a .tflite flatbuffer into a Graph, validating everything on the way.

All knowledge of the TFLite schema lives here.  The file is read with the
bounds-checked reader of `flatbuf.py`: every table, vector and string offset
is checked to lie inside the file before it is followed, so a truncated or
corrupt file fails with a ModelError naming the broken field instead of
yielding garbage.  Semantic problems (indices out of range, buffers that do
not match their tensor's shape, bad quantization, operators reading tensors
nobody wrote) are ModelErrors naming the tensor or operator; valid models
using what tinygen cannot handle are UnsupportedErrors.  A problem TFLM
tolerates is accepted with a warning in Graph.warnings.

Compressed constants are read as their plain values: INT4 tensors unpacked to int8
(`int4.py`), sparse tensors densified (`sparsity.py`); the tensor's `stored_as` says how
the file held them.  TFLM_DECODE inputs are raw bytes (their quantization is ignored);
`passes/decompress.py` decodes them.
"""
from __future__ import annotations

import functools
import re
import struct
from pathlib import Path

import numpy as np

from codegen.cnames import display_text
from codegen.errors import ModelError, UnsupportedError
from codegen.frontend.flatbuf import Buffer, FlatBufferError, Table
from codegen.frontend.int4 import INT4_CONSUMERS, INT4_RANGE, packed_size, unpack_int4
from codegen.frontend.sparsity import densify, read_sparsity, stored_count
from codegen.frontend.tflm_decode import DECODE_OPCODE
from codegen.graph import Graph, Op, Quantization, Tensor
from codegen.ops import check_arity

TFLITE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

# TensorType enum value -> (dtype name, numpy dtype); types tinygen cannot hold are absent.
_TENSOR_TYPES = {
    0: ("float32", np.float32), 2: ("int32", np.int32), 3: ("uint8", np.uint8),
    4: ("int64", np.int64), 6: ("bool", np.bool_), 7: ("int16", np.int16),
    9: ("int8", np.int8),
}
INT4_TYPE = 17
_TENSOR_TYPE_NAMES = {1: "float16", 5: "string", 8: "complex64", 10: "float64",
                      11: "complex128", 12: "uint64", 13: "resource", 14: "variant",
                      15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16"}

# Largest tensor tinygen will plan (elements); anything larger is surely a corrupt shape.
MAX_TENSOR_ELEMENTS = 1 << 28
# Highest tensor rank accepted (TFLite kernels handle at most 6 dimensions).
MAX_RANK = 8
_QUANT_RANGES = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}

# Field slots of the TFLite schema tables the reader uses (schema.fbs order; a
# union takes two slots: its type and its value).
_MODEL = dict(version=0, operator_codes=1, subgraphs=2, description=3, buffers=4,
              metadata_buffer=5, metadata=6, signature_defs=7)
_SUBGRAPH = dict(tensors=0, inputs=1, outputs=2, operators=3, name=4)
_TENSOR = dict(shape=0, type=1, buffer=2, name=3, quantization=4, is_variable=5,
               sparsity=6, shape_signature=7, has_rank=8, variant_tensors=9,
               external_buffer=10)
_QUANT = dict(min=0, max=1, scale=2, zero_point=3, details_type=4, details=5,
              quantized_dimension=6)
_BUFFER = dict(data=0, offset=1, size=2)
_OPCODE = dict(deprecated_builtin_code=0, custom_code=1, version=2, builtin_code=3)
_OPERATOR = dict(opcode_index=0, inputs=1, outputs=2, builtin_options_type=3,
                 builtin_options=4, custom_options=5, custom_options_format=6,
                 mutating_variable_inputs=7, intermediates=8)
_SIGNATURE = dict(inputs=0, outputs=1, signature_key=2, subgraph_index=4)
_TENSOR_MAP = dict(name=0, tensor_index=1)
_METADATA = dict(name=0, buffer=1)

# Operators whose options table is not named after the operator.
_OPTIONS_EXCEPTIONS = {
    "AVERAGE_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions",
    "L2_POOL_2D": "Pool2DOptions", "MEAN": "ReducerOptions", "SUM": "ReducerOptions",
    "REDUCE_MAX": "ReducerOptions", "REDUCE_MIN": "ReducerOptions",
    "REDUCE_PROD": "ReducerOptions", "REDUCE_ANY": "ReducerOptions",
    "REDUCE_ALL": "ReducerOptions", "MAXIMUM": "MaximumMinimumOptions",
    "MINIMUM": "MaximumMinimumOptions", "UNIDIRECTIONAL_SEQUENCE_RNN": "SequenceRNNOptions",
}


def read_model_file(path: str | Path) -> bytes:
    """The bytes of a model file, or a ModelError saying why they cannot be read."""
    p = Path(path)
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise ModelError(f"{p}: no such file") from None
    except IsADirectoryError:
        raise ModelError(f"{p}: is a folder, not a .tflite file") from None
    except OSError as e:
        raise ModelError(f"{p}: cannot read: {e.strerror}") from None


def load_tflite(path: str | Path) -> Graph:
    """Read a .tflite file from disk."""
    return read_tflite(read_model_file(path), source=str(path))


def read_tflite(data: bytes, source: str = "model") -> Graph:
    """Parse TFLite flatbuffer bytes into a Graph."""
    source = display_text(source, 200)
    if len(data) < 8:
        raise ModelError(f"{source}: file is {len(data)} bytes long, too short to be a "
                         "TFLite model (empty or truncated?)")
    if data[4:8] != TFLITE_IDENTIFIER:
        hint = _guess_format(bytes(data[:4096]))
        raise ModelError(f"{source}: not a TFLite flatbuffer (no 'TFL3' identifier at "
                         f"byte 4){hint}. tinygen reads int8-quantized .tflite models.")
    if len(data) >= 1 << 31:
        raise UnsupportedError(f"{source}: the file is {len(data)} bytes long; tinygen reads "
                               "models smaller than 2 GB")
    try:
        return _Reader(data, source).read()
    except FlatBufferError as e:
        raise ModelError(f"{source}: the file is corrupt or truncated: {e.what}: {e.detail}. "
                         "Re-export or re-download the model.") from None


def _guess_format(head: bytes) -> str:
    """A hint naming what the file looks like instead, or ''."""
    low = head.lower()
    if head[:8] == b"\x89HDF\r\n\x1a\n" or b"\x89HDF\r\n\x1a\n" in head[:1024]:
        return ("; it looks like a Keras/HDF5 (.h5) file: convert it with "
                "tf.lite.TFLiteConverter and int8 quantization")
    if head[:4] == b"PK\x03\x04" or head[:4] == b"PK\x05\x06":
        return ("; it looks like a zip archive (a Keras .keras file or a PyTorch model?): "
                "convert it to an int8 .tflite first")
    if head.startswith(b"version https://git-lfs"):
        return "; it is a Git LFS pointer, not the model itself: run `git lfs pull`"
    if head[:2] == b"\x1f\x8b":
        return "; it looks gzip-compressed: decompress it first"
    if low.lstrip().startswith((b"<!doctype html", b"<html")):
        return "; it is an HTML page (a failed download?)"
    if re.search(rb"(unsigned\s+char|uint8_t|const\s+char)\s+\w+\s*\[", head) or \
            re.search(rb"0x[0-9a-f]{2}\s*,\s*0x[0-9a-f]{2}", low):
        return "; it looks like a C array (xxd -i): convert it back to a binary file"
    if head[:1] == b"\x08" and (b"onnx" in low or b"pytorch" in low or b"tf2onnx" in low
                                or b"skl2onnx" in low):
        return "; it looks like an ONNX model: convert it to an int8 TFLite model first"
    if head[:4] in (b"\x08\x01\x12\x00", b"\x12\x00") or b"saved_model" in low:
        return "; it looks like a TensorFlow SavedModel/protobuf: convert it with TFLiteConverter"
    return ""


def _snake(name: str) -> str:
    """DilationHFactor -> dilation_h_factor, FusedActivationFunction -> fused_activation_function."""
    s = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name)
    s = re.sub(r"(?<=[A-Z])([A-Z][a-z])", r"_\1", s)
    return s.lower()


@functools.lru_cache(maxsize=None)
def _options_classes() -> tuple[dict[int, str], dict[str, str]]:
    """(BuiltinOptions value -> class name, lower-case squashed name -> class name)."""
    import tflite

    names = {v: n for n, v in vars(tflite.BuiltinOptions).items()
             if not n.startswith("_") and isinstance(v, int)}
    return names, {n.lower(): n for n in names.values()}


def expected_options(opcode: str) -> str | None:
    """Name of the options table an operator carries, when tinygen knows it."""
    if opcode in _OPTIONS_EXCEPTIONS:
        return _OPTIONS_EXCEPTIONS[opcode]
    _, by_lower = _options_classes()
    return by_lower.get(opcode.replace("_", "").lower() + "options")


class _Reader:
    def __init__(self, data: bytes, source: str):
        import tflite  # only the importer depends on it (opcode names, options classes)

        self.tflite = tflite
        self.buf = Buffer(data)
        self.data = self.buf.data
        self.source = source
        self.warnings: list[str] = []

    # -- helpers -----------------------------------------------------------
    def _err(self, msg: str) -> ModelError:
        return ModelError(f"{self.source}: {msg}")

    def _unsupported(self, msg: str) -> UnsupportedError:
        return UnsupportedError(f"{self.source}: {msg}")

    def _opcodes(self, model: Table) -> list[tuple[str, int]]:
        names = []
        code_names = self.tflite.utils.BUILTIN_OPCODE2NAME
        for i, oc in enumerate(model.tables(_MODEL["operator_codes"], "operator_codes",
                                            "operator code")):
            dep = oc.scalar(_OPCODE["deprecated_builtin_code"], "int8", 0,
                            "deprecated_builtin_code")
            new = oc.scalar(_OPCODE["builtin_code"], "int32", 0, "builtin_code")
            version = oc.scalar(_OPCODE["version"], "int32", 1, "version")
            code = max(dep, new)
            if code < 0:
                raise self._err(f"operator code #{i} has a negative builtin code {code}")
            if code == 32:  # CUSTOM
                custom = oc.string(_OPCODE["custom_code"], "custom_code")
                custom = display_text(custom.decode("utf-8", "replace"), 60) if custom else "?"
                names.append((f"CUSTOM({custom})", version))
            else:
                names.append((code_names.get(code, f"UNKNOWN_BUILTIN_{code}"), version))
        return names

    def _buffers(self, model: Table) -> list[tuple[int, int] | None]:
        """Every buffer as (start byte, size) in the file, or None when empty; all checked."""
        out = []
        for i, b in enumerate(model.tables(_MODEL["buffers"], "buffers", "buffer")):
            offset = b.scalar(_BUFFER["offset"], "uint64", 0, "offset")
            size = b.scalar(_BUFFER["size"], "uint64", 0, "size")
            if offset > 1:  # data stored after the flatbuffer (models over 2 GB)
                if offset + size > len(self.data):
                    raise self._err(f"buffer {i} points past the end of the file "
                                    f"(offset {offset} + size {size} > {len(self.data)} bytes)")
                out.append((offset, size) if size else None)
                continue
            loc = b.vector_location(_BUFFER["data"], 1, "data")
            out.append(loc if loc is not None and loc[1] > 0 else None)
        return out

    # -- main ----------------------------------------------------------------
    def read(self) -> Graph:
        model = self.buf.root("model")
        version = model.scalar(_MODEL["version"], "uint32", 0, "version")
        if version != SCHEMA_VERSION:
            raise self._err(f"the model declares TFLite schema version {version}; tinygen (like "
                            f"TFLM) reads schema version {SCHEMA_VERSION} only (corrupt file, "
                            "or a converter from before 2018?)")
        buffers = self._buffers(model)
        opcodes = self._opcodes(model)
        subgraphs = model.tables(_MODEL["subgraphs"], "subgraphs", "subgraph")
        description = model.string(_MODEL["description"], "description") or b""
        sig_tensors = self._check_metadata(model, len(buffers), len(subgraphs))
        if not subgraphs:
            raise self._err("the model has no subgraph")
        if len(subgraphs) > 1:
            raise self._unsupported(
                f"the model has {len(subgraphs)} subgraphs (control flow such as WHILE/IF, "
                "or several signatures); tinygen supports single-subgraph models")
        sub = subgraphs[0]

        tensor_tables = sub.tables(_SUBGRAPH["tensors"], "tensors", "tensor")
        encoded = self._decode_inputs(sub, opcodes)
        tensors = [self._tensor(t, i, buffers, i in encoded)
                   for i, t in enumerate(tensor_tables)]
        n_t = len(tensors)

        def check_index(i: int, what: str, allow_optional: bool = False) -> int:
            if allow_optional and i == -1:
                return -1
            if not 0 <= i < n_t:
                raise self._err(f"{what} refers to tensor {i}, but the model has {n_t} tensors")
            return i

        sub_in = sub.vector(_SUBGRAPH["inputs"], "int32", "inputs")
        sub_out = sub.vector(_SUBGRAPH["outputs"], "int32", "outputs")
        inputs = [check_index(int(i), f"model input #{k}")
                  for k, i in enumerate(sub_in if sub_in is not None else [])]
        outputs = [check_index(int(i), f"model output #{k}")
                   for k, i in enumerate(sub_out if sub_out is not None else [])]
        if not inputs or not outputs:
            raise self._err("the subgraph declares no inputs or no outputs")
        for what, i in sig_tensors:
            check_index(i, what)

        ops = []
        for k, o in enumerate(sub.tables(_SUBGRAPH["operators"], "operators", "operator")):
            ci = o.scalar(_OPERATOR["opcode_index"], "uint32", 0, "opcode_index")
            if not 0 <= ci < len(opcodes):
                raise self._err(f"operator #{k} has opcode index {ci}, but the model "
                                f"has {len(opcodes)} operator codes")
            name, version = opcodes[ci]
            o_in = o.vector(_OPERATOR["inputs"], "int32", "inputs")
            o_out = o.vector(_OPERATOR["outputs"], "int32", "outputs")
            ins = [check_index(int(i), f"operator #{k} ({name}) input #{j}", True)
                   for j, i in enumerate(o_in if o_in is not None else [])]
            outs = [check_index(int(i), f"operator #{k} ({name}) output #{j}")
                    for j, i in enumerate(o_out if o_out is not None else [])]
            inter = o.vector(_OPERATOR["intermediates"], "int32", "intermediates")
            for j, i in enumerate(inter if inter is not None else []):
                check_index(int(i), f"operator #{k} ({name}) intermediate #{j}", True)
            if not outs:
                raise self._err(f"operator #{k} ({name}) has no outputs")
            ops.append(Op(index=k, opcode=name, inputs=ins, outputs=outs,
                          options=self._options(o, name, k), version=version))

        graph = Graph(tensors=tensors, ops=ops, inputs=inputs, outputs=outputs,
                      description=description.decode("utf-8", "replace"),
                      warnings=self.warnings)
        _fill_empty_constants(graph)
        try:
            check_arity(graph)        # each operator's inputs and outputs, from its spec
        except ModelError as e:
            raise self._err(str(e)) from None
        _check_io(graph, self.source)
        _check_dataflow(graph, self.source)
        _check_sizes(graph, self.source)
        _check_quantized(graph, self.source)
        _check_int4_uses(graph, self.source)
        return graph

    def _check_metadata(self, model: Table, n_buffers: int, n_subgraphs: int
                        ) -> list[tuple[str, int]]:
        """Metadata and signatures are not used, but their indices must be in range.

        Returns the (description, tensor index) pairs the signatures of subgraph 0 name,
        to be checked once the tensors are known.
        """
        refs: list[tuple[str, int]] = []
        mb = model.vector(_MODEL["metadata_buffer"], "int32", "metadata_buffer")
        for k, b in enumerate(mb if mb is not None else []):
            if not 0 <= int(b) < n_buffers:
                raise self._err(f"metadata_buffer #{k} refers to buffer {int(b)}, but the model "
                                f"has {n_buffers} buffers")
        for k, m in enumerate(model.tables(_MODEL["metadata"], "metadata", "metadata")):
            m.string(_METADATA["name"], "name")
            b = m.scalar(_METADATA["buffer"], "uint32", 0, "buffer")
            if b >= n_buffers:
                raise self._err(f"metadata #{k} refers to buffer {b}, but the model has "
                                f"{n_buffers} buffers")
        for k, s in enumerate(model.tables(_MODEL["signature_defs"], "signature_defs",
                                           "signature")):
            key = s.string(_SIGNATURE["signature_key"], "signature_key") or b""
            where = f"signature #{k} '{display_text(key.decode('utf-8', 'replace'), 60)}'"
            si = s.scalar(_SIGNATURE["subgraph_index"], "uint32", 0, "subgraph_index")
            if si >= n_subgraphs:
                raise self._err(f"{where} refers to subgraph {si}, but the model has "
                                f"{n_subgraphs} subgraph(s)")
            for field in ("inputs", "outputs"):
                for j, tm in enumerate(s.tables(_SIGNATURE[field], field, field[:-1])):
                    tm.string(_TENSOR_MAP["name"], "name")
                    ti = tm.scalar(_TENSOR_MAP["tensor_index"], "uint32", 0, "tensor_index")
                    if si == 0:
                        refs.append((f"{where} {field[:-1]} #{j}", ti))
        return refs

    def _decode_inputs(self, sub: Table, opcodes: list[tuple[str, int]]) -> set[int]:
        """Tensors TFLM_DECODE operators read (encoded data and tables: raw bytes whose
        quantization, which the compression tool leaves on them, means nothing)."""
        codes = {k for k, (name, _) in enumerate(opcodes) if name == DECODE_OPCODE}
        found: set[int] = set()
        if not codes:
            return found
        for o in sub.tables(_SUBGRAPH["operators"], "operators", "operator"):
            if o.scalar(_OPERATOR["opcode_index"], "uint32", 0, "opcode_index") in codes:
                ins = o.vector(_OPERATOR["inputs"], "int32", "inputs")
                found.update(int(i) for i in (ins if ins is not None else []))
        return found

    def _tensor(self, t: Table, index: int, buffers: list, encoded: bool = False) -> Tensor:
        raw_name = t.string(_TENSOR["name"], "name")
        name = raw_name.decode("utf-8", "replace") if raw_name else f"tensor_{index}"
        where = f"tensor #{index} '{display_text(name, 80)}'"
        ttype = t.scalar(_TENSOR["type"], "int8", 0, "type")
        stored_as = ""
        if ttype == INT4_TYPE:        # read as the int8 tensor of the same values
            ttype, stored_as = 9, "int4"
        if ttype not in _TENSOR_TYPES:
            tname = _TENSOR_TYPE_NAMES.get(ttype, f"type {ttype}")
            raise self._unsupported(f"{where} has element type {tname}; tinygen supports int8, "
                                    "uint8, int16, int32, int64, float32 and bool tensors")
        dtype, np_dtype = _TENSOR_TYPES[ttype]
        raw_shape = t.vector(_TENSOR["shape"], "int32", "shape")
        shape = tuple(int(d) for d in raw_shape) if raw_shape is not None else ()
        if len(shape) > MAX_RANK:
            raise self._unsupported(f"{where} has rank {len(shape)}; tinygen supports tensors "
                                    f"of at most {MAX_RANK} dimensions")
        if any(d < 0 for d in shape):
            raise self._unsupported(f"{where} has a dynamic or negative shape {list(shape)}; "
                                    "tinygen needs static shapes (set the batch size when "
                                    "converting)")
        n = 1
        for d in shape:
            n *= d
        if n > MAX_TENSOR_ELEMENTS:
            raise self._err(f"{where} has shape {list(shape)} ({n} elements), far beyond what "
                            "a microcontroller can hold; the file is probably corrupt")
        # shape_signature may mark the batch as -1; the static shape is what TFLM plans
        # with, and so do we.  It must still be well-formed.
        sig = t.vector(_TENSOR["shape_signature"], "int32", "shape_signature")
        if sig is not None and sig.size and sig.size != len(shape):
            raise self._err(f"{where} has shape {list(shape)} but a shape_signature of rank "
                            f"{sig.size}")
        sp_table = t.table(_TENSOR["sparsity"], "sparsity")
        sparsity = read_sparsity(sp_table, where) if sp_table is not None else None
        if sparsity is not None and stored_as:
            raise self._unsupported(f"{where} is both sparse and int4; tinygen reads either, "
                                    "not both at once")
        if t.scalar(_TENSOR["external_buffer"], "uint32", 0, "external_buffer"):
            raise self._unsupported(f"{where} keeps its data in an external buffer; tinygen "
                                    "reads self-contained .tflite files")
        variants = t.tables(_TENSOR["variant_tensors"], "variant_tensors", "variant")
        if variants:
            raise self._unsupported(f"{where} is a variant tensor; tinygen does not support them")

        b_index = t.scalar(_TENSOR["buffer"], "uint32", 0, "buffer")
        if b_index >= len(buffers):
            raise self._err(f"{where} refers to buffer {b_index}, but the model has "
                            f"{len(buffers)} buffers")
        data = None
        loc = buffers[b_index]
        if sparsity is not None and loc is None:
            raise self._unsupported(f"{where} is sparse but has no data; tinygen reads sparse "
                                    "constants only")
        if loc is not None and stored_as == "int4":
            start, size = loc
            if size != packed_size(n):
                raise self._err(f"{where} has shape {list(shape)} of int4 ({n} values, "
                                f"{packed_size(n)} bytes packed two per byte) but its "
                                f"buffer {b_index} holds {size} bytes")
            data = unpack_int4(self.data[start:start + size], n).reshape(shape)
        elif loc is not None and sparsity is not None:
            start, size = loc
            kept = stored_count(sparsity, shape, where)
            need = kept * np.dtype(np_dtype).itemsize
            if size != need:
                raise self._err(f"{where} is sparse with {kept} stored {dtype} value(s) "
                                f"({need} bytes) but its buffer {b_index} holds {size} bytes")
            le = np.dtype(np_dtype).newbyteorder("<")
            values = np.frombuffer(self.data[start:start + size], dtype=le).astype(np_dtype)
            data = densify(sparsity, shape, values, where)
            stored_as = "sparse"
        elif loc is not None:
            start, size = loc
            need = n * np.dtype(np_dtype).itemsize
            if size != need:
                raise self._err(f"{where} has shape {list(shape)} of {dtype} ({need} bytes) but "
                                f"its buffer {b_index} holds {size} bytes")
            raw = self.data[start:start + size]
            if dtype == "bool":
                data = (np.frombuffer(raw, dtype=np.uint8) != 0).reshape(shape)
            else:
                le = np.dtype(np_dtype).newbyteorder("<")
                data = np.frombuffer(raw, dtype=le).astype(np_dtype).reshape(shape)
            if dtype == "float32" and not np.all(np.isfinite(data)):
                bad = int(np.count_nonzero(~np.isfinite(data)))
                self.warnings.append(f"{where}: constant data holds {bad} NaN or infinite "
                                     "value(s)")

        if stored_as == "int4" and data is None:
            raise self._unsupported(f"{where} has element type int4 but no data (an "
                                    "activation); tinygen reads int4 constants (filters) only")
        quant = None if encoded else self._quant(t, where, shape, dtype,
                                                  is_const=data is not None)
        if stored_as == "int4" and quant is not None:
            lo, hi = INT4_RANGE
            bad = quant.zero_point[(quant.zero_point < lo) | (quant.zero_point > hi)]
            if bad.size:
                raise self._err(f"{where}: zero point {int(bad[0])} is outside the int4 range "
                                f"[{lo}, {hi}]")
        return Tensor(index=index, name=name, shape=shape, dtype=dtype, quant=quant,
                      data=data, is_variable=t.scalar(_TENSOR["is_variable"], "bool", False,
                                                      "is_variable"), stored_as=stored_as)

    def _quant(self, t: Table, where: str, shape: tuple[int, ...], dtype: str,
               is_const: bool = False) -> Quantization | None:
        q = t.table(_TENSOR["quantization"], "quantization")
        if q is None:
            return None
        # min/max are only for importing back into TensorFlow, but must be well-formed.
        q.vector(_QUANT["min"], "float32", "min")
        q.vector(_QUANT["max"], "float32", "max")
        details = q.scalar(_QUANT["details_type"], "uint8", 0, "details_type")
        if details != 0:
            raise self._unsupported(f"{where} uses custom quantization (details type "
                                    f"{details}); tinygen supports affine quantization only")
        scale = q.vector(_QUANT["scale"], "float32", "scale")
        zp = q.vector(_QUANT["zero_point"], "int64", "zero_point")
        axis = int(q.scalar(_QUANT["quantized_dimension"], "int32", 0, "quantized_dimension"))
        if scale is None or scale.size == 0:
            if zp is not None and zp.size and np.any(zp != 0):
                raise self._err(f"{where}: quantization has zero point(s) "
                                f"{zp[:4].tolist()} but no scale")
            return None
        scale = scale.astype(np.float32)
        if zp is None or zp.size == 0:
            zp = np.zeros(scale.shape, dtype=np.int64)
        else:
            zp = zp.astype(np.int64)
        if zp.size != scale.size:
            if zp.size == 1:
                zp = np.full(scale.shape, zp[0], dtype=np.int64)
            else:
                raise self._err(f"{where}: quantization has {scale.size} scales but "
                                f"{zp.size} zero points")
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            bad = scale[~np.isfinite(scale) | (scale <= 0)]
            raise self._err(f"{where}: quantization scale must be finite and positive, got "
                            f"{bad[:4].tolist()}")
        if scale.size > 1:
            if not 0 <= axis < len(shape):
                if len(shape) == 1:
                    # TFLM accepts this (seen on person_detect's depthwise biases): the only
                    # axis a rank-1 tensor has is 0.
                    self.warnings.append(
                        f"{where}: per-channel quantized_dimension is {axis} on a rank-1 tensor; "
                        "treated as 0, as TFLM does")
                    axis = 0
                else:
                    raise self._err(f"{where}: quantized_dimension {axis} is out of range "
                                    f"for shape {list(shape)}")
            if shape[axis] != scale.size:
                raise self._err(f"{where}: {scale.size} per-channel scales, but dimension "
                                f"{axis} of shape {list(shape)} has {shape[axis]} channels")
        elif not 0 <= axis < max(len(shape), 1):
            axis = 0
        if dtype in _QUANT_RANGES:
            lo, hi = _QUANT_RANGES[dtype]
            if np.any(zp < lo) or np.any(zp > hi):
                raise self._err(f"{where}: zero point {zp[(zp < lo) | (zp > hi)][0]} is outside "
                                f"the {dtype} range [{lo}, {hi}]")
        if dtype == "int32" and is_const and np.any(zp != 0):
            self.warnings.append(f"{where}: int32 constant (a bias?) has zero point "
                                 f"{int(zp[zp != 0][0])}; TFLM's kernels ignore it, and so does "
                                 "tinygen")
        return Quantization(scale=scale, zero_point=zp, axis=axis)

    def _options(self, o: Table, opname: str, k: int) -> dict:
        """Read an operator's builtin options table into a plain dict (snake_case keys)."""
        otype = o.scalar(_OPERATOR["builtin_options_type"], "uint8", 0, "builtin_options_type")
        table = o.table(_OPERATOR["builtin_options"], "builtin_options")
        where = f"operator #{k} ({opname})"
        # custom options are opaque bytes, but must lie inside the file
        o.vector_location(_OPERATOR["custom_options"], 1, "custom_options")
        o.vector(_OPERATOR["mutating_variable_inputs"], "bool", "mutating_variable_inputs")
        if otype == 0:
            if table is not None:
                raise self._err(f"{where} has builtin options of type NONE but an options table")
            return {}
        names, _ = _options_classes()
        cls_name = names.get(otype)
        expected = expected_options(opname)
        if cls_name is None:
            if expected is not None:
                raise self._err(f"{where} has options of unknown type {otype}; "
                                f"{opname} takes {expected}")
            return {}
        if expected is not None and cls_name != expected:
            raise self._err(f"{where} carries {cls_name}, but {opname} takes {expected}")
        if table is None:
            return {}
        table.check_all_fields()
        opts = getattr(self.tflite, cls_name)()
        opts.Init(self.data, table.pos)
        out = {}
        for attr in sorted(dir(opts)):
            if attr.startswith("_") or attr == "Init" or attr.startswith("GetRootAs"):
                continue
            if attr.endswith(("Length", "IsNone", "AsNumpy")) or \
                    attr.endswith("BufferHasIdentifier"):
                continue
            fn = getattr(opts, attr)
            if not callable(fn):
                continue
            try:
                if hasattr(opts, attr + "AsNumpy"):  # vector field
                    if getattr(opts, attr + "IsNone")():
                        out[_snake(attr)] = []
                    else:
                        out[_snake(attr)] = [int(v) for v in getattr(opts, attr + "AsNumpy")()]
                    continue
                try:
                    value = fn()
                except TypeError:  # accessors taking an index (vector elements)
                    continue
            except (struct.error, ValueError, IndexError, OverflowError) as e:
                raise FlatBufferError(f"{o.what} / builtin_options ({cls_name}) / {attr}",
                                      f"unreadable ({e})") from None
            if isinstance(value, (bytes, bytearray)):
                value = bytes(value).decode("utf-8", "replace")
            elif not isinstance(value, (int, float, bool, str)) and value is not None:
                continue  # nested tables: not used by any lowering
            out[_snake(attr)] = value
        return out


def _name(graph: Graph, i: int) -> str:
    return f"tensor #{i} '{display_text(graph.tensors[i].name, 80)}'"


def _check_io(graph: Graph, source: str) -> None:
    """Model inputs and outputs: distinct, not constant, each its own caller buffer."""
    for kind, lst in (("input", graph.inputs), ("output", graph.outputs)):
        seen: dict[int, int] = {}
        for k, i in enumerate(lst):
            if i in seen:
                raise ModelError(f"{source}: model {kind}s #{seen[i]} and #{k} are the same "
                                 f"{_name(graph, i)}")
            seen[i] = k
            t = graph.tensors[i]
            if t.is_const and kind == "input":
                raise UnsupportedError(f"{source}: model input #{k} {_name(graph, i)} is a "
                                       "constant; tinygen needs inputs the caller provides")
            if t.is_variable:
                raise ModelError(f"{source}: model {kind} #{k} {_name(graph, i)} is a variable "
                                 "(persistent state) tensor")
    both = sorted(set(graph.inputs) & set(graph.outputs))
    if both:
        raise UnsupportedError(f"{source}: {_name(graph, both[0])} is both a model input and a "
                               "model output; tinygen needs separate input and output buffers")


def _check_dataflow(graph: Graph, source: str) -> None:
    """Every tensor an operator reads must exist before it runs; each is written once."""
    inputs = set(graph.inputs)
    available = set(inputs)
    available.update(t.index for t in graph.tensors if t.is_const or t.is_variable)
    written: dict[int, int] = {}
    for op in graph.ops:
        for i in op.inputs:
            if i >= 0 and i not in available:
                later = [o.index for o in graph.ops if i in o.outputs and o.index > op.index]
                why = (f"operator #{later[0]} writes it later: the operators are out of order "
                       "or form a cycle") if later else "no operator writes it and it is no " \
                                                         "model input or constant"
                raise ModelError(f"{source}: {op.describe()} reads {_name(graph, i)} before it "
                                 f"has a value ({why})")
        for i in op.outputs:
            if i in written:
                raise ModelError(f"{source}: {_name(graph, i)} is written by operator "
                                 f"#{written[i]} and again by {op.describe()}")
            if i in op.inputs:
                raise ModelError(f"{source}: {op.describe()} reads and writes the same "
                                 f"{_name(graph, i)}")
            if graph.tensors[i].is_const:
                raise ModelError(f"{source}: {op.describe()} writes {_name(graph, i)}, "
                                 "which is a constant")
            if i in inputs:
                raise ModelError(f"{source}: {op.describe()} writes {_name(graph, i)}, "
                                 "which is a model input")
            written[i] = op.index
            available.add(i)
    for i in graph.outputs:
        if i not in available:
            raise ModelError(f"{source}: model output {_name(graph, i)} is never written")


def _check_int4_uses(graph: Graph, source: str) -> None:
    """INT4 tensors are filters: TFLite writes them for CONV_2D, DEPTHWISE_CONV_2D and
    FULLY_CONNECTED only, and only those are checked against TFLM."""
    for op in graph.ops:
        for k, i in enumerate(op.inputs):
            if i >= 0 and graph.tensors[i].stored_as == "int4" and \
                    INT4_CONSUMERS.get(op.opcode) != k:
                raise UnsupportedError(
                    f"{source}: {op.describe()} reads the int4 {_name(graph, i)} as its input "
                    f"#{k}; tinygen reads int4 tensors only as the filter of "
                    f"{', '.join(INT4_CONSUMERS)} (convert with int8 weights for this layer)")


def _check_sizes(graph: Graph, source: str) -> None:
    """Activations (model inputs, operator outputs) must hold at least one element."""
    for k, i in enumerate(graph.inputs):
        if graph.tensors[i].num_elements == 0:
            raise UnsupportedError(f"{source}: model input #{k} {_name(graph, i)} has no "
                                   f"elements (shape {list(graph.tensors[i].shape)})")
    for op in graph.ops:
        for i in op.outputs:
            if graph.tensors[i].num_elements == 0:
                raise UnsupportedError(f"{source}: {op.describe()} output {_name(graph, i)} "
                                       f"has no elements (shape {list(graph.tensors[i].shape)})")


def _fill_empty_constants(graph: Graph) -> None:
    """A zero-element tensor no operator writes is an empty constant.

    Its buffer is necessarily empty (e.g. the shape [] given to a RESHAPE to a scalar),
    which would otherwise make it look like an activation nobody computes.
    """
    written = {i for op in graph.ops for i in op.outputs}
    read = {i for op in graph.ops for i in op.inputs if i >= 0}
    for i, t in enumerate(graph.tensors):
        if (t.num_elements == 0 and not t.is_const and not t.is_variable
                and i in read and i not in written and i not in graph.inputs):
            graph.tensors[i] = Tensor(index=t.index, name=t.name, shape=t.shape, dtype=t.dtype,
                                      quant=t.quant,
                                      data=np.zeros(t.shape, dtype=_np_dtype(t.dtype)))


def _np_dtype(dtype: str):
    return next(np_t for name, np_t in _TENSOR_TYPES.values() if name == dtype)


# Operators whose float32 form means the model was never quantized.
FLOAT_MODEL_OPS = {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "TRANSPOSE_CONV",
                   "BATCH_MATMUL", "UNIDIRECTIONAL_SEQUENCE_LSTM"}


FULL_INTEGER_HOWTO = (
    "convert it again with full-integer quantization: TFLiteConverter with "
    "optimizations=[tf.lite.Optimize.DEFAULT], a representative_dataset (a generator yielding "
    "~100 typical inputs, which sets the activation ranges), "
    "target_spec.supported_ops=[tf.lite.OpsSet.TFLITE_BUILTINS_INT8] and "
    "inference_input_type/inference_output_type tf.int8 (or keep them float32: tinygen "
    "handles the QUANTIZE/DEQUANTIZE around an int8 body)")


def _hybrid_ops(graph: Graph) -> list:
    """Layers of a dynamic-range model: a float32 activation input and int8 constant weights."""
    found = []
    for op in graph.ops:
        ins = [graph.tensors[i] for i in op.inputs if i >= 0]
        if any(t.dtype == "float32" and not t.is_const for t in ins) and \
                any(t.dtype == "int8" and t.is_const for t in ins):
            found.append(op)
    return found


def _check_quantized(graph: Graph, source: str) -> None:
    """A model whose activations are all float is a float model: say so up front.  A model
    with int8 weights but float activations (dynamic-range quantization) too."""
    hybrid = _hybrid_ops(graph)
    if hybrid:
        names = ", ".join(
            f"{op.describe()} weights '{display_text(graph.tensors[w].name, 60)}'"
            for op in hybrid[:4]
            for w in [next(i for i in op.inputs if i >= 0 and graph.tensors[i].is_const
                           and graph.tensors[i].dtype == "int8")])
        more = f" and {len(hybrid) - 4} more" if len(hybrid) > 4 else ""
        raise UnsupportedError(
            f"{source}: this is a dynamic-range quantized model: its weights are int8 but its "
            f"activations are float32 ({len(hybrid)} layer(s) compute in float with int8 "
            f"weights: {names}{more}). The converter makes such a model from "
            "Optimize.DEFAULT without a representative dataset; the layers dequantize their "
            "weights and compute in float. tinygen generates code for full-integer (int8) "
            f"models, whose activations are quantized too: {FULL_INTEGER_HOWTO}")
    computed = set(graph.inputs) | {i for op in graph.ops for i in op.outputs}
    acts = [t for t in graph.tensors if not t.is_const and t.index in computed]
    float_compute = any(op.opcode in FLOAT_MODEL_OPS and all(
        graph.tensors[i].dtype == "float32" for i in op.inputs[:2] if i >= 0) for op in graph.ops)
    if float_compute and acts and all(t.dtype == "float32" for t in acts):
        raise UnsupportedError(
            f"{source}: this is a float model (all {len(acts)} activation tensors are float32); "
            "tinygen generates code for int8-quantized models: convert it with "
            "TFLiteConverter, optimizations=[tf.lite.Optimize.DEFAULT], a representative "
            "dataset and inference_input_type/inference_output_type tf.int8")
