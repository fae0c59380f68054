"""ADD, SUB and MUL, int8 and int16, with TFLite broadcasting, on tinygen's portable kernels.

The generator turns the three shapes into a loop nest over the output with one
stride per input (0 where broadcast), merging dimensions that can be walked as
one, so the kernel needs no shape logic.  The layer's scalars come from the
operator spec (codegen/ops/elementwise.py).
"""
from __future__ import annotations

from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering import register
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.ops.elementwise import BinaryLayer, analyse_binary

MAX_LOOPS = C_LIMITS["TG_ELEMENTWISE_MAX_DIMS"]   # loops of tg_elementwise.h's params


def broadcast_loops(shape1: tuple, shape2: tuple, out_shape: tuple,
                    max_loops: int = MAX_LOOPS) -> tuple[list[int], list[int], list[int]]:
    """The output loop nest of a broadcast binary op: (dims, input1 strides, input2 strides).

    Outermost loop first, padded in front with loops of extent 1 to `max_loops`.
    Neighbouring dimensions are merged when both inputs walk them as one
    (contiguously, or both broadcast).  Raises ValueError when the nest needs
    more than `max_loops` loops.
    """
    n = max(len(shape1), len(shape2), len(out_shape))
    a = (1,) * (n - len(shape1)) + tuple(shape1)
    b = (1,) * (n - len(shape2)) + tuple(shape2)
    o = (1,) * (n - len(out_shape)) + tuple(out_shape)
    loops: list[list[int]] = []   # innermost first: [extent, stride1, stride2]
    acc1 = acc2 = 1               # elements of each input inside the dimensions seen so far
    for i in reversed(range(n)):
        extent = o[i]
        if extent == 1:
            continue              # a size-1 output dimension has size-1 inputs too
        s1 = 0 if a[i] == 1 else acc1
        s2 = 0 if b[i] == 1 else acc2
        if loops:
            ext, p1, p2 = loops[-1]
            if (s1 == p1 * ext) and (s2 == p2 * ext):   # both contiguous or both broadcast
                loops[-1][0] *= extent
                acc1 *= a[i]
                acc2 *= b[i]
                continue
        loops.append([extent, s1, s2])
        acc1 *= a[i]
        acc2 *= b[i]
    if not loops:
        loops = [[1, 0, 0]]
    if len(loops) > max_loops:
        raise ValueError(f"the broadcast needs {len(loops)} nested loops; the kernel has "
                         f"{max_loops}")
    loops = [[1, 0, 0]] * (max_loops - len(loops)) + loops[::-1]
    return ([int(l[0]) for l in loops], [int(l[1]) for l in loops], [int(l[2]) for l in loops])


def in_place(layer: BinaryLayer) -> list[Overlap]:
    """The inputs the output may overwrite: those of the output's shape.

    tg_elementwise.c walks the output in order and reads both inputs' elements for output
    element i before writing it; an input of the output's shape has element i at the same
    index (its strides are the output's), so it is never read after being overwritten."""
    return [Overlap(output=layer.y.index, input=x.index) for x in (layer.x1, layer.x2)
            if x.num_elements == layer.y.num_elements and x.dtype == layer.y.dtype
            and not x.is_const]


def _loops(layer: BinaryLayer, g: Graph) -> dict:
    try:
        dims, s1, s2 = broadcast_loops(layer.x1.shape, layer.x2.shape, layer.y.shape)
    except ValueError as e:
        raise unsupported(layer.op, g, str(e)) from None
    return dict(dims=dims, input1_strides=s1, input2_strides=s2)


ACTIVATIONS = ("int8", "int16")      # int16: 16x8 models


def _suffix(b: BinaryLayer) -> str:
    return "s16" if b.y.dtype == "int16" else "s8"


@register("ADD", "SUB")
def lower_add_sub(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    b = analyse_binary(op, g, ACTIVATIONS)
    params = dict(left_shift=b.left_shift,
                  input1_offset=b.input1_offset,
                  input1_multiplier=b.input1_multiplier,
                  input1_shift=b.input1_shift,
                  input2_offset=b.input2_offset,
                  input2_multiplier=b.input2_multiplier,
                  input2_shift=b.input2_shift,
                  output_offset=b.output_offset,
                  output_multiplier=b.output_multiplier,
                  output_shift=b.output_shift,
                  act_min=b.act_min, act_max=b.act_max, **_loops(b, g))
    return LayerCall(
        op=op,
        kernel=f"tg_{op.opcode.lower()}_{_suffix(b)}",
        params_type="tg_add_sub_params_t",
        params=params,
        args=[TensorArg(b.x1.index), TensorArg(b.x2.index), TensorArg(b.y.index)],
        overlaps=in_place(b),
        comment=b.comment(),
    )


@register("MUL")
def lower_mul(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    b = analyse_binary(op, g, ACTIVATIONS)
    return LayerCall(
        op=op,
        kernel=f"tg_mul_{_suffix(b)}",
        params_type="tg_mul_params_t",
        params=dict(input1_offset=b.input1_offset,
                    input2_offset=b.input2_offset,
                    output_offset=b.output_offset,
                    output_multiplier=b.output_multiplier, output_shift=b.output_shift,
                    act_min=b.act_min, act_max=b.act_max, **_loops(b, g)),
        args=[TensorArg(b.x1.index), TensorArg(b.x2.index), TensorArg(b.y.index)],
        overlaps=in_place(b),
        comment=b.comment(),
    )
