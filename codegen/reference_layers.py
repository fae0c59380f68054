"""A layer-by-layer golden reference, for programs whose layers do not all follow TFLM.

Some layers are generated with TFLite's reference arithmetic rather than TFLM's
(`LayerCall.oracle == "litert"`): a standalone RELU/RELU6 whose output
quantization differs from its input's (TFLM computes something else there),
and operators TFLM has no kernel for (RELU_N1_TO_1).  Comparing such a program
with TFLM, or with LiteRT's interpreter on the whole model (whose FULLY_CONNECTED,
SUM and LSTM differ from TFLM's), would judge the other layers against the wrong
arithmetic.  `LayeredReference` runs each layer as a single-operator model with
that layer's own tensors and quantization, fed with the reference's previous
activations: through TFLM for every layer tinygen computes as TFLM does, and
through LiteRT's reference kernels (BUILTIN_REF) for the others (and for any
layer TFLM refuses).  A layer whose TFLM arithmetic is undefined C++ for some inputs
(`LayerCall.oracle == "spec"`: int8 DIV) runs through tinygen's Python model of that
arithmetic (`SPEC_ORACLES`), which tests check against TFLM wherever TFLM is defined.
`reference_for` picks it only where it is needed.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from codegen.graph import Graph, Op
from codegen.ops.div import div_reference
from codegen.reference import (LiteRtReference, TflmCannotRun, TflmReference,
                               make_reference)


def single_op_model(graph: Graph, op: Op) -> tuple[bytes, list[int], list[int], dict[int, int]]:
    """`op` alone as a model: (bytes, graph indices of its inputs, of its outputs, graph index ->
    index in the small model).  Constants keep their data, variable tensors stay variables."""
    from codegen.frontend.tflite_writer import ModelWriter

    m = ModelWriter(description=f"tinygen layer reference: {op.describe()}")
    index: dict[int, int] = {}
    inputs: list[int] = []
    for t_idx in [i for i in op.inputs if i >= 0] + list(op.outputs):
        if t_idx in index:
            continue
        t = graph.tensors[t_idx]
        q = {}
        if t.quant is not None:
            q = dict(scale=t.quant.scale, zero_point=t.quant.zero_point, axis=t.quant.axis)
        index[t_idx] = m.tensor(t.name, t.shape, t.dtype, data=t.data,
                                is_variable=t.is_variable, **q)
        if not t.is_const and not t.is_variable and t_idx not in op.outputs:
            inputs.append(t_idx)
    m.op(op.opcode, [index[i] if i >= 0 else -1 for i in op.inputs],
         [index[i] for i in op.outputs], op.options, version=op.version)
    m.inputs = [index[i] for i in inputs]
    m.outputs = [index[i] for i in op.outputs]
    return m.build(), inputs, list(op.outputs), index


class _SmallGraph:
    """Just what TflmReference/LiteRtReference read of a graph: inputs, outputs, tensors."""

    def __init__(self, graph: Graph, index: dict[int, int], inputs: list[int], outputs: list[int]):
        self.tensors = [dataclasses.replace(graph.tensors[i], index=index[i])
                        for i in sorted(index, key=index.get)]
        self.inputs = [index[i] for i in inputs]
        self.outputs = [index[i] for i in outputs]


# opcode -> f(graph, op, {tensor index: array}) -> the op's outputs: the Python models of
# layers whose TFLM arithmetic is undefined for some inputs (codegen/ops/<family>.py)
SPEC_ORACLES = {"DIV": div_reference}


class _SpecReference:
    """A layer through its Python model (SPEC_ORACLES), on the layer's non-constant inputs."""

    def __init__(self, graph: Graph, op: Op, inputs: list[int]):
        self.graph, self.op, self.inputs = graph, op, inputs
        self.fn = SPEC_ORACLES[op.opcode]

    def run(self, xs: list[np.ndarray]) -> list[np.ndarray]:
        return self.fn(self.graph, self.op, dict(zip(self.inputs, xs)))

    def reset(self) -> None:
        pass


def _unfold_pad(graph: Graph, op: Op) -> tuple[Graph, Op, list | None]:
    """A layer with a PAD folded into it (passes/fold_pad.py) as the reference runs it: on
    its input padded with the PAD's value (a tensor of the padded shape in its place),
    without the folding option; and the numpy paddings to apply to that input."""
    fold = op.options.get("folded_pad")
    if not fold:
        return graph, op, None
    inp = graph.tensors[op.inputs[0]]
    pads = [(0, 0), (fold["top"], fold["bottom"]), (fold["left"], fold["right"]), (0, 0)]
    shape = tuple(d + a + b for d, (a, b) in zip(inp.shape, pads))
    tensors = list(graph.tensors)
    tensors[inp.index] = dataclasses.replace(inp, shape=shape)
    options = {k: v for k, v in op.options.items() if k != "folded_pad"}
    return dataclasses.replace(graph, tensors=tensors), dataclasses.replace(op, options=options), pads


class _Layer:
    def __init__(self, graph: Graph, op: Op, name: str, litert: bool, spec: bool = False):
        self.name, self.op = name, op
        graph, op, self.pads = _unfold_pad(graph, op)
        self.pad_value = self.op.options["folded_pad"]["value"] if self.pads else 0
        self.model, self.inputs, self.outputs, index = single_op_model(graph, op)
        self.small = _SmallGraph(graph, index, self.inputs, self.outputs)
        self.why = "tinygen computes TFLite's arithmetic here" if litert else ""
        if spec:
            self.why = ("TFLM's C++ is undefined for some inputs; tinygen's model equals TFLM "
                        "wherever it is defined")
            self.ref = _SpecReference(graph, op, self.inputs)
            return
        self.ref = None if litert else self._tflm()
        if self.ref is None:
            self.ref = LiteRtReference(self.model, self.small)

    def _tflm(self):
        try:
            return TflmReference(self.model, self.small)
        except TflmCannotRun as e:
            self.why = f"TFLM cannot run it: {e}"
            return None

    def run(self, values: dict[int, np.ndarray]) -> None:
        xs = [values[i] for i in self.inputs]
        if self.pads:
            xs[0] = np.pad(xs[0], self.pads, constant_values=self.pad_value)
        try:
            ys = self.ref.run(xs)
        except TflmCannotRun as e:      # e.g. a kernel refusing an output type when invoked
            self.why = f"TFLM cannot run it: {e}"
            self.ref = LiteRtReference(self.model, self.small)
            ys = self.ref.run(xs)
        for t, y in zip(self.outputs, ys):
            values[t] = np.array(y)

    @property
    def oracle(self) -> str:
        if isinstance(self.ref, _SpecReference):
            return f"tinygen's model (ops/{self.op.opcode.lower()}.py)"
        return "TFLM" if isinstance(self.ref, TflmReference) else "LiteRT BUILTIN_REF"


class LayeredReference:
    """Each layer through its own oracle (see the module docstring)."""

    def __init__(self, graph: Graph, layer_names: dict[int, str], litert_ops: set[int],
                 spec_ops: frozenset[int] = frozenset()):
        """`layer_names`: id(op) -> layer name; `litert_ops`: id(op) of the layers tinygen
        computes with TFLite's arithmetic; `spec_ops`: those judged by SPEC_ORACLES."""
        self.graph = graph
        self.layers = [_Layer(graph, op, layer_names.get(id(op), f"op{op.index}"),
                              id(op) in litert_ops, id(op) in spec_ops) for op in graph.ops]

    @property
    def name(self) -> str:
        other = [f"{l.name} ({l.op.opcode})" for l in self.layers
                 if l.oracle == "LiteRT BUILTIN_REF"]
        spec = [f"{l.name} ({l.op.opcode})" for l in self.layers
                if isinstance(l.ref, _SpecReference)]
        text = "layer by layer: TFLM reference kernels"
        if other:
            text += (f", and LiteRT reference kernels (BUILTIN_REF) for {', '.join(other)} "
                     "(TFLite's arithmetic; TFLM has no kernel for it or computes something "
                     "else there)")
        if spec:
            text += (f", and tinygen's model of TFLM's arithmetic for {', '.join(spec)} "
                     "(TFLM's C++ is undefined for some of its inputs; the model equals TFLM "
                     "wherever it is defined)")
        return text

    def oracles(self) -> list[tuple[str, str, str]]:
        """(layer, oracle, why) for every layer, in order."""
        return [(l.name, l.oracle, l.why) for l in self.layers]

    def run(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        values: dict[int, np.ndarray] = {}
        for k, x in enumerate(inputs):
            t = self.graph.tensors[self.graph.inputs[k]]
            values[self.graph.inputs[k]] = np.ascontiguousarray(x).reshape(t.shape)
        for layer in self.layers:
            layer.run(values)
        self.values = values        # every tensor of the last run (verify --layers)
        return [values[t] for t in self.graph.outputs]

    def reset(self) -> None:
        for layer in self.layers:
            layer.ref.reset()


def reference_for(model_bytes: bytes, program, layered: bool = False):
    """The reference a generated `program` must equal: TFLM on the whole model (or its usual
    fallbacks, `make_reference`), unless some layers compute TFLite's arithmetic (see
    `LayerCall.oracle`) or `layered` (every intermediate wanted); then a `LayeredReference`
    judging each layer by its own oracle."""
    graph = program.graph
    litert = {id(layer.call.op) for layer in program.layers if layer.call.oracle == "litert"}
    spec = frozenset(id(layer.call.op) for layer in program.layers
                     if layer.call.oracle == "spec")
    if not litert and not spec and not layered:
        return make_reference(model_bytes, graph)
    names = {id(layer.call.op): layer.name for layer in program.layers}
    return LayeredReference(graph, names, litert, spec)
