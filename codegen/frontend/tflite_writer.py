"""Write .tflite flatbuffers with the `tflite` package's builder functions.

The inverse of tflite_reader: tests use it to make random single-operator
models, examples to make a realistic model of their own.  It writes what the
TFLite converter writes for int8 models (schema version 3, buffer 0 empty,
one buffer per constant tensor).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np

from codegen.frontend.int4 import pack_int4
from codegen.frontend.sparsity import SPARSE_CSR, Sparsity, sparsify

# Builtin operator -> its options table (when it has one).
OPTIONS_TABLE = {
    "ADD": "AddOptions", "AVERAGE_POOL_2D": "Pool2DOptions", "CONCATENATION": "ConcatenationOptions",
    "CONV_2D": "Conv2DOptions", "DEPTHWISE_CONV_2D": "DepthwiseConv2DOptions",
    "DEQUANTIZE": "DequantizeOptions", "FULLY_CONNECTED": "FullyConnectedOptions",
    "L2_POOL_2D": "Pool2DOptions", "MAX_POOL_2D": "Pool2DOptions", "MUL": "MulOptions",
    "RESHAPE": "ReshapeOptions", "SOFTMAX": "SoftmaxOptions", "LOG_SOFTMAX": "LogSoftmaxOptions",
    "QUANTIZE": "QuantizeOptions", "PAD": "PadOptions", "PADV2": "PadV2Options",
    "MEAN": "ReducerOptions", "SUM": "ReducerOptions", "REDUCE_MAX": "ReducerOptions",
    "TRANSPOSE": "TransposeOptions", "SQUEEZE": "SqueezeOptions", "EXPAND_DIMS": "ExpandDimsOptions",
    "STRIDED_SLICE": "StridedSliceOptions", "SPLIT": "SplitOptions", "SPLIT_V": "SplitVOptions",
    "PACK": "PackOptions", "UNPACK": "UnpackOptions", "SUB": "SubOptions",
    "MAXIMUM": "MaximumMinimumOptions", "MINIMUM": "MaximumMinimumOptions",
    "RESIZE_NEAREST_NEIGHBOR": "ResizeNearestNeighborOptions", "HARD_SWISH": "HardSwishOptions",
    "SHAPE": "ShapeOptions", "FILL": "FillOptions",
    "UNIDIRECTIONAL_SEQUENCE_LSTM": "UnidirectionalSequenceLSTMOptions",
    "LEAKY_RELU": "LeakyReluOptions",
    "REDUCE_MIN": "ReducerOptions", "ARG_MAX": "ArgMaxOptions", "ARG_MIN": "ArgMinOptions",
    "GATHER": "GatherOptions", "TILE": "TileOptions", "SLICE": "SliceOptions",
    "GELU": "GeluOptions", "DIV": "DivOptions", "SQUARED_DIFFERENCE": "SquaredDifferenceOptions",
    "EXP": "ExpOptions", "LOG": None, "RSQRT": None, "ELU": None, "PRELU": None,
    "TRANSPOSE_CONV": "TransposeConvOptions", "BATCH_MATMUL": "BatchMatMulOptions",
}

_DTYPES = {"float32": 0, "int32": 2, "uint8": 3, "int64": 4, "bool": 6, "int16": 7, "int8": 9,
           "int4": 17}
_NP = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64,
       "bool": np.bool_, "int16": np.int16, "int8": np.int8, "int4": np.int8}
# SparseIndexVector union members by the element type of their values
_INDEX_VECTORS = {"int32": (1, "Int32Vector", "PrependInt32"),
                  "uint16": (2, "Uint16Vector", "PrependUint16"),
                  "uint8": (3, "Uint8Vector", "PrependUint8")}


def _camel(key: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


@dataclass
class _Tensor:
    name: str
    shape: tuple
    dtype: str
    buffer: int
    scale: list | None
    zero_point: list | None
    axis: int
    is_variable: bool
    sparsity: Sparsity | None = None
    index_type: str | None = None


@dataclass
class _Op:
    opcode: str
    inputs: list
    outputs: list
    options: dict
    version: int


@dataclass
class ModelWriter:
    """Collects tensors and operators, then `build()`s the flatbuffer bytes."""

    description: str = "tinygen test model"
    tensors: list = field(default_factory=list)
    buffers: list = field(default_factory=lambda: [b""])
    ops: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: list = field(default_factory=list)

    def tensor(self, name: str, shape, dtype: str = "int8", scale=None, zero_point=None,
               data: np.ndarray | None = None, axis: int = 0, is_variable: bool = False,
               sparsity: dict | None = None) -> int:
        """A tensor; `data` makes it a constant.  dtype "int4" packs the values two per
        byte.  `sparsity` stores the data in TFLite's sparse format: a dict of
        `sparsify`'s arguments (formats, traversal_order, block_map, block_size) and
        optionally index_type ("uint8", "uint16", "int32"; default: the smallest)."""
        buf = 0
        sp, index_type = None, None
        if data is not None:
            arr = np.ascontiguousarray(np.asarray(data, dtype=_NP[dtype]).reshape(shape))
            if sparsity is not None:
                opts = dict(sparsity)
                index_type = opts.pop("index_type", None)
                sp, kept = sparsify(arr, **opts)
                self.buffers.append(np.ascontiguousarray(kept).tobytes())
            elif dtype == "int4":
                self.buffers.append(pack_int4(arr))
            else:
                self.buffers.append(arr.tobytes())
            buf = len(self.buffers) - 1
        elif is_variable:
            self.buffers.append(b"")
            buf = len(self.buffers) - 1
        if scale is not None:
            scale = [float(s) for s in np.atleast_1d(scale)]
            zp = np.atleast_1d(0 if zero_point is None else zero_point)
            zero_point = [int(z) for z in (zp if zp.size == len(scale) else np.full(len(scale), zp[0]))]
        self.tensors.append(_Tensor(name, tuple(int(d) for d in shape), dtype, buf, scale,
                                    zero_point, axis, is_variable, sp, index_type))
        return len(self.tensors) - 1

    def const(self, name: str, data: np.ndarray, dtype: str, **quant) -> int:
        data = np.asarray(data)
        return self.tensor(name, data.shape, dtype, data=data, **quant)

    def op(self, opcode: str, inputs: list[int], outputs: list[int],
           options: dict[str, Any] | None = None, version: int = 1) -> None:
        self.ops.append(_Op(opcode, list(inputs), list(outputs), dict(options or {}), version))

    # -- serialization -----------------------------------------------------
    def build(self) -> bytes:
        import tflite

        b = flatbuffers.Builder(1024)

        def int_vector(start_fn, values, prepend="PrependInt32"):
            start_fn(b, len(values))
            for v in reversed(values):
                getattr(b, prepend)(v)
            return b.EndVector()

        # buffers
        buf_offsets = []
        for data in self.buffers:
            vec = None
            if data:
                b.StartVector(1, len(data), 16)
                b.head = b.head - len(data)
                b.Bytes[b.head:b.head + len(data)] = data
                vec = b.EndVector()
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buf_offsets.append(tflite.BufferEnd(b))

        # tensors
        t_offsets = []
        for t in self.tensors:
            name = b.CreateString(t.name)
            shape = int_vector(tflite.TensorStartShapeVector, list(t.shape))
            q = None
            if t.scale is not None:
                tflite.QuantizationParametersStartScaleVector(b, len(t.scale))
                for s in reversed(t.scale):
                    b.PrependFloat32(s)
                sv = b.EndVector()
                tflite.QuantizationParametersStartZeroPointVector(b, len(t.zero_point))
                for z in reversed(t.zero_point):
                    b.PrependInt64(z)
                zv = b.EndVector()
                tflite.QuantizationParametersStart(b)
                tflite.QuantizationParametersAddScale(b, sv)
                tflite.QuantizationParametersAddZeroPoint(b, zv)
                tflite.QuantizationParametersAddQuantizedDimension(b, t.axis)
                q = tflite.QuantizationParametersEnd(b)
            sp = self._sparsity(b, t) if t.sparsity is not None else None
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, _DTYPES[t.dtype])
            tflite.TensorAddBuffer(b, t.buffer)
            tflite.TensorAddName(b, name)
            if q is not None:
                tflite.TensorAddQuantization(b, q)
            if t.is_variable:
                tflite.TensorAddIsVariable(b, True)
            if sp is not None:
                tflite.TensorAddSparsity(b, sp)
            t_offsets.append(tflite.TensorEnd(b))

        # operator codes
        codes = sorted({(op.opcode, op.version) for op in self.ops},
                       key=lambda cv: [o.opcode for o in self.ops].index(cv[0]))
        code_index = {cv: i for i, cv in enumerate(codes)}
        code_offsets = []
        for opcode, version in codes:
            num = getattr(tflite.BuiltinOperator, opcode)
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(num, 127))
            tflite.OperatorCodeAddBuiltinCode(b, num)
            tflite.OperatorCodeAddVersion(b, version)
            code_offsets.append(tflite.OperatorCodeEnd(b))

        # operators
        op_offsets = []
        for op in self.ops:
            opt_type, opt = self._options(b, op)
            ins = int_vector(tflite.OperatorStartInputsVector, op.inputs)
            outs = int_vector(tflite.OperatorStartOutputsVector, op.outputs)
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, code_index[(op.opcode, op.version)])
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if opt is not None:
                tflite.OperatorAddBuiltinOptionsType(b, opt_type)
                tflite.OperatorAddBuiltinOptions(b, opt)
            op_offsets.append(tflite.OperatorEnd(b))

        def table_vector(start_fn, offsets):
            start_fn(b, len(offsets))
            for o in reversed(offsets):
                b.PrependUOffsetTRelative(o)
            return b.EndVector()

        tensors_vec = table_vector(tflite.SubGraphStartTensorsVector, t_offsets)
        ops_vec = table_vector(tflite.SubGraphStartOperatorsVector, op_offsets)
        in_vec = int_vector(tflite.SubGraphStartInputsVector, self.inputs)
        out_vec = int_vector(tflite.SubGraphStartOutputsVector, self.outputs)
        sg_name = b.CreateString("main")
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors_vec)
        tflite.SubGraphAddInputs(b, in_vec)
        tflite.SubGraphAddOutputs(b, out_vec)
        tflite.SubGraphAddOperators(b, ops_vec)
        tflite.SubGraphAddName(b, sg_name)
        sg = tflite.SubGraphEnd(b)

        subgraphs = table_vector(tflite.ModelStartSubgraphsVector, [sg])
        codes_vec = table_vector(tflite.ModelStartOperatorCodesVector, code_offsets)
        bufs_vec = table_vector(tflite.ModelStartBuffersVector, buf_offsets)
        desc = b.CreateString(self.description)
        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddOperatorCodes(b, codes_vec)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddDescription(b, desc)
        tflite.ModelAddBuffers(b, bufs_vec)
        model = tflite.ModelEnd(b)
        b.Finish(model, file_identifier=b"TFL3")
        return bytes(b.Output())

    def _sparsity(self, b, t: _Tensor):
        import tflite

        def ints(start_fn, values):
            start_fn(b, len(values))
            for v in reversed(values):
                b.PrependInt32(int(v))
            return b.EndVector()

        def index_vector(values: np.ndarray):
            kind = t.index_type or ("uint8" if values.size == 0 or values.max() < 256 else
                                    "uint16" if values.max() < 65536 else "int32")
            code, table, prepend = _INDEX_VECTORS[kind]
            getattr(tflite, f"{table}StartValuesVector")(b, len(values))
            for v in reversed(values.tolist()):
                getattr(b, prepend)(int(v))
            vec = b.EndVector()
            getattr(tflite, f"{table}Start")(b)
            getattr(tflite, f"{table}AddValues")(b, vec)
            return code, getattr(tflite, f"{table}End")(b)

        dims = []
        for d in t.sparsity.dims:
            seg = idx = None
            if d.format == SPARSE_CSR:
                seg = index_vector(d.segments)
                idx = index_vector(d.indices)
            tflite.DimensionMetadataStart(b)
            tflite.DimensionMetadataAddFormat(b, d.format)
            tflite.DimensionMetadataAddDenseSize(b, d.dense_size)
            if seg is not None:
                tflite.DimensionMetadataAddArraySegmentsType(b, seg[0])
                tflite.DimensionMetadataAddArraySegments(b, seg[1])
                tflite.DimensionMetadataAddArrayIndicesType(b, idx[0])
                tflite.DimensionMetadataAddArrayIndices(b, idx[1])
            dims.append(tflite.DimensionMetadataEnd(b))
        order = ints(tflite.SparsityParametersStartTraversalOrderVector,
                     t.sparsity.traversal_order)
        bmap = ints(tflite.SparsityParametersStartBlockMapVector, t.sparsity.block_map)
        tflite.SparsityParametersStartDimMetadataVector(b, len(dims))
        for o in reversed(dims):
            b.PrependUOffsetTRelative(o)
        dim_vec = b.EndVector()
        tflite.SparsityParametersStart(b)
        tflite.SparsityParametersAddTraversalOrder(b, order)
        tflite.SparsityParametersAddBlockMap(b, bmap)
        tflite.SparsityParametersAddDimMetadata(b, dim_vec)
        return tflite.SparsityParametersEnd(b)

    def _options(self, b, op: _Op):
        import tflite

        table = OPTIONS_TABLE.get(op.opcode)
        if table is None:
            if op.options:
                raise ValueError(f"no options table known for {op.opcode}")
            return 0, None
        # vectors must be created before the table starts
        vectors = {}
        for key, value in op.options.items():
            if isinstance(value, (list, tuple)):
                start = getattr(tflite, f"{table}Start{_camel(key)}Vector")
                start(b, len(value))
                for v in reversed(value):
                    b.PrependInt32(int(v))
                vectors[key] = b.EndVector()
        getattr(tflite, f"{table}Start")(b)
        for key, value in op.options.items():
            add = getattr(tflite, f"{table}Add{_camel(key)}", None)
            if add is None:
                raise ValueError(f"{table} has no field '{key}'")
            add(b, vectors[key] if key in vectors else value)
        return getattr(tflite.BuiltinOptions, table), getattr(tflite, f"{table}End")(b)


def snake_to_camel(s: str) -> str:  # kept small and public for tests of option names
    return re.sub(r"_([a-z])", lambda m: m.group(1).upper(), s)
