"""Operator specs: what each operator means, independent of any kernel.

One module per family (`conv`, `fully_connected`, `pooling`, `elementwise`, ...) holds the
operator's checks and its generation-time setup maths (TFLM's Prepare / OpData): shapes,
window and padding (`window`, one copy), requantization multipliers, folded constants.
Every kernel variant (codegen/lowering/<family>/<variant>.py) and the folding pass read
these; none of them knows about a kernel.

This module holds each operator's signature: its inputs (which are optional, which must
be constant) and outputs.  `check_arity` runs on import, before any pass or lowering, so
a malformed operator is a clear error instead of an index out of range somewhere later;
`check_constant_inputs` runs after constant folding, before lowering.
"""
from __future__ import annotations

from dataclasses import dataclass

from codegen.cnames import display_text
from codegen.errors import ModelError, UnsupportedError
from codegen.graph import Graph, Op


@dataclass(frozen=True)
class Operand:
    name: str
    optional: bool = False     # may be absent or -1
    const: bool = False        # must be a constant once constants are folded


@dataclass(frozen=True)
class Signature:
    inputs: tuple[Operand, ...]
    outputs: int = 1                  # exact number of outputs (min if variadic_outputs)
    variadic_inputs: bool = False     # the last operand repeats (at least once)
    variadic_outputs: bool = False

    def input_counts(self) -> tuple[int, int | None]:
        """(fewest, most) inputs; most is None when variadic."""
        required = [k for k, o in enumerate(self.inputs) if not o.optional]
        fewest = required[-1] + 1 if required else 0
        return fewest, None if self.variadic_inputs else len(self.inputs)

    def operand(self, k: int) -> Operand:
        if k < len(self.inputs):
            return self.inputs[k]
        return self.inputs[-1]

    def describe_inputs(self) -> str:
        parts = [f"{o.name}{' (optional)' if o.optional else ''}" for o in self.inputs]
        if self.variadic_inputs:
            parts[-1] += ", ..."
        return ", ".join(parts)


def _sig(*inputs: str, outputs: int = 1, variadic_inputs: bool = False,
         variadic_outputs: bool = False) -> Signature:
    """Operands written as 'name', 'name?' (optional) and 'name!' (must be constant)."""
    ops = []
    for text in inputs:
        name = text.rstrip("?!")
        ops.append(Operand(name, optional="?" in text[len(name):], const="!" in text[len(name):]))
    return Signature(tuple(ops), outputs, variadic_inputs, variadic_outputs)


UNARY = _sig("input")
BINARY = _sig("input1", "input2")

SIGNATURES: dict[str, Signature] = {
    # arithmetic
    "ADD": BINARY, "SUB": BINARY, "MUL": BINARY, "DIV": BINARY, "MAXIMUM": BINARY, "MINIMUM": BINARY,
    # convolution, fully connected, pooling
    "CONV_2D": _sig("input", "filter!", "bias?!"),
    "DEPTHWISE_CONV_2D": _sig("input", "filter!", "bias?!"),
    "FULLY_CONNECTED": _sig("input", "weights!", "bias?!"),
    "TRANSPOSE_CONV": _sig("output_shape!", "filter!", "input", "bias?!"),
    "BATCH_MATMUL": _sig("lhs", "rhs"),
    "AVERAGE_POOL_2D": UNARY, "MAX_POOL_2D": UNARY,
    # activations and element-wise functions
    "RELU": UNARY, "RELU6": UNARY, "RELU_N1_TO_1": UNARY, "LEAKY_RELU": UNARY,
    "LOGISTIC": UNARY, "TANH": UNARY, "HARD_SWISH": UNARY,
    "ELU": UNARY, "EXP": UNARY, "LOG": UNARY, "GELU": UNARY,
    "PRELU": _sig("input", "alpha"), "SQUARED_DIFFERENCE": BINARY, "RSQRT": UNARY,
    "SOFTMAX": UNARY, "LOG_SOFTMAX": UNARY,
    "QUANTIZE": UNARY, "DEQUANTIZE": UNARY, "CAST": UNARY,
    # reductions
    "MEAN": _sig("input", "axis!"), "SUM": _sig("input", "axis!"),
    # data movement
    "RESHAPE": _sig("input", "shape?"), "SQUEEZE": UNARY, "EXPAND_DIMS": _sig("input", "axis"),
    "PAD": _sig("input", "paddings!", "constant_value?!"),
    "PADV2": _sig("input", "paddings!", "constant_value!"),
    "TRANSPOSE": _sig("input", "perm!"),
    "STRIDED_SLICE": _sig("input", "begin!", "end!", "strides!"),
    "CONCATENATION": _sig("input", variadic_inputs=True),
    "PACK": _sig("input", variadic_inputs=True),
    "UNPACK": _sig("input", outputs=1, variadic_outputs=True),
    "SPLIT": _sig("axis!", "input", outputs=1, variadic_outputs=True),
    "SPLIT_V": _sig("input", "size_splits!", "axis!", outputs=1, variadic_outputs=True),
    "RESIZE_NEAREST_NEIGHBOR": _sig("input", "size!"),
    "GATHER": _sig("params", "indices"),
    "SLICE": _sig("input", "begin!", "size!"),
    "TILE": _sig("input", "multiples!"),
    "REDUCE_MAX": _sig("input", "axis!"), "REDUCE_MIN": _sig("input", "axis!"),
    "ARG_MAX": _sig("input", "axis!"), "ARG_MIN": _sig("input", "axis!"),
    # folded at generation time
    "SHAPE": UNARY, "ZEROS_LIKE": UNARY, "FILL": _sig("dims", "value"),
    # recurrent: TFLite's 24 inputs (lstm_shared.h)
    "UNIDIRECTIONAL_SEQUENCE_LSTM": _sig(
        "input",
        "input_to_input_weights?!", "input_to_forget_weights!", "input_to_cell_weights!",
        "input_to_output_weights!",
        "recurrent_to_input_weights?!", "recurrent_to_forget_weights!",
        "recurrent_to_cell_weights!", "recurrent_to_output_weights!",
        "cell_to_input_weights?!", "cell_to_forget_weights?!", "cell_to_output_weights?!",
        "input_gate_bias?!", "forget_gate_bias!", "cell_gate_bias!", "output_gate_bias!",
        "projection_weights?!", "projection_bias?!",
        "output_state", "cell_state",
        "input_layer_norm_coefficients?!", "forget_layer_norm_coefficients?!",
        "cell_layer_norm_coefficients?!", "output_layer_norm_coefficients?!"),
}


def signature(opcode: str) -> Signature | None:
    return SIGNATURES.get(opcode)


def _count(n: int, what: str) -> str:
    return f"{n} {what}{'' if n == 1 else 's'}"


def check_op_arity(op: Op, graph: Graph) -> None:
    """Raise ModelError when `op` has the wrong number of inputs or outputs, or lacks a
    required one (unknown opcodes pass: they are reported as unsupported later)."""
    sig = SIGNATURES.get(op.opcode)
    if sig is None:
        return
    fewest, most = sig.input_counts()
    n_in = len(op.inputs)
    # trailing omitted optional inputs may be left out of the list entirely
    if n_in < fewest or (most is not None and n_in > most):
        want = f"{fewest}" if most == fewest else \
            (f"at least {fewest}" if most is None else f"{fewest} to {most}")
        raise ModelError(f"{op.describe()} has {_count(n_in, 'input')}; {op.opcode} takes "
                         f"{want} ({sig.describe_inputs()})")
    for k, t in enumerate(op.inputs):
        if t < 0 and not sig.operand(k).optional:
            raise ModelError(f"{op.describe()}: its {sig.operand(k).name} (input {k}) is "
                             "missing")
    n_out = len(op.outputs)
    if n_out < sig.outputs or (not sig.variadic_outputs and n_out != sig.outputs):
        want = f"at least {sig.outputs}" if sig.variadic_outputs else f"{sig.outputs}"
        raise ModelError(f"{op.describe()} has {_count(n_out, 'output')}; {op.opcode} "
                         f"writes {want}")
    if any(t < 0 for t in op.outputs):
        raise ModelError(f"{op.describe()}: an output tensor is missing (-1)")


def check_arity(graph: Graph) -> None:
    for op in graph.ops:
        check_op_arity(op, graph)


def check_constant_inputs(graph: Graph) -> None:
    """Inputs a spec declares constant must be constant (after folding)."""
    for op in graph.ops:
        sig = SIGNATURES.get(op.opcode)
        if sig is None:
            continue
        for k, t in enumerate(op.inputs):
            operand = sig.operand(k)
            if t < 0 or not operand.const:
                continue
            tensor = graph.tensors[t]
            if not tensor.is_const:
                raise UnsupportedError(
                    f"{op.describe()}: its {operand.name} '{display_text(tensor.name)}' "
                    f"(input {k}) is not a constant; tinygen needs it at generation time "
                    "(TFLM also requires it constant when the model is prepared)")
