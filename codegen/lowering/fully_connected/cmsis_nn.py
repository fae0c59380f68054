"""FULLY_CONNECTED through CMSIS-NN: arm_fully_connected_s8, or its per-channel variant.

Same checks and requantization as the portable lowering (`analyse_fully_connected`);
what differs is how CMSIS-NN wants the constants:
  - the bias stays as in the model: CMSIS-NN adds the input offset inside its loop
    (fc_params.input_offset = -input zero point), except on
  - Helium (MVE), where the kernel reads `ctx.buf` as precomputed kernel sums,
        kernel_sum[c] = bias[c] + input_offset * sum_d w[c, d],
    which TFLM computes with arm_vector_sum_s8 at Prepare; tinygen computes them here
    and points the context at them in flash.
  - other code paths get whatever scratch buffer CMSIS-NN's own get_buffer_size asks for
    (none in v7), planned in the arena.
Every params and dims struct is a `static const` in the generated .c.

16x8 layers (int16 activations) go to arm_fully_connected_s16: int64 bias, one multiplier
per tensor.  It declines per-channel filters and layers TFLM sums in 32 bits (int32 bias),
and what codegen/lowering/cmsis_nn_s16.py finds not bit-exact.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import ConstRef, ConstStruct, CExpr, LayerCall, ScratchArg, StructRef, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.cmsis_nn_s16 import (MAX_COL_COUNT, accumulator_bounds, bias64,
                                           check_int32_partial_sums, check_requantize_s64)
from codegen.lowering.cmsis_nn_support import VARIANT, cmsis_call, dims, require_backend
from codegen.ops.fully_connected import (FcLayer, analyse_fully_connected, folded_bias,
                                         wrap_int32)

S16 = "arm_fully_connected_s16"


def _lower_s16(op: Op, fc: FcLayer, ctx: LowerContext) -> LayerCall:
    """int16 activations, int8 weights: arm_fully_connected_s16 (no offsets)."""
    if fc.per_channel:
        raise Declined(f"{S16} takes one output multiplier per tensor, the filter is "
                       "quantized per channel")
    if fc.accumulate32:
        raise Declined(f"{S16} sums in 64 bits with an int64 bias; TFLM sums this layer "
                       "in 32 bits (int32 bias or quantized_bias_type INT32)")
    units, depth, batches = fc.units, fc.depth, fc.batches
    rows = fc.filt.data.reshape(units, depth)
    bias = fc.bias_values if fc.bias is not None else None
    check_int32_partial_sums(rows, MAX_COL_COUNT, S16)
    check_requantize_s64(accumulator_bounds(rows, bias), fc.multiplier, fc.shift, S16)
    filter_dims = dims(depth, 1, 1, units)   # CMSIS-NN: n = accumulation depth, c = units
    size = ctx.backend.buffer_size(S16, tuple(filter_dims.values()))
    scratch: list[int] = []
    if size > 0:
        scratch = [size]
        context = dict(buf=ScratchArg(0), size=size)
    else:
        context = dict(buf=CExpr("NULL"), size=0)
    c_w, r_w = ctx.const("weights", "int8_t", fc.filt.data, f"{units}x{depth} int8 weights")
    r_b, c_b = bias64(ctx, bias)
    structs = [
        ConstStruct("ctx", "cmsis_nn_context", context),
        ConstStruct("fc_params", "cmsis_nn_fc_params", dict(
            input_offset=0, filter_offset=0, output_offset=0,
            activation=dict(min=fc.act_min, max=fc.act_max))),
        ConstStruct("quant_params", "cmsis_nn_per_tensor_quant_params", dict(
            multiplier=int(fc.multiplier[0]), shift=int(fc.shift[0]))),
        ConstStruct("input_dims", "cmsis_nn_dims", dims(batches, 1, 1, depth)),
        ConstStruct("filter_dims", "cmsis_nn_dims", filter_dims),
        ConstStruct("bias_dims", "cmsis_nn_dims", dims(1, 1, 1, units)),
        ConstStruct("output_dims", "cmsis_nn_dims", dims(batches, 1, 1, units)),
    ]
    return cmsis_call(
        op, S16,
        [StructRef("ctx"), StructRef("fc_params"), StructRef("quant_params"),
         StructRef("input_dims"), TensorArg(fc.inp.index),
         StructRef("filter_dims"), r_w,
         StructRef("bias_dims"), r_b,
         StructRef("output_dims"), TensorArg(fc.out.index)],
        fc.comment(" (16x8)"), consts=[c_w, *c_b], structs=structs, scratch=scratch,
        macs=batches * units * depth)


@register("FULLY_CONNECTED", variant=VARIANT)
def lower_fully_connected_cmsis(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    backend = require_backend(ctx)
    fc = analyse_fully_connected(op, g, ("int8", "int16"))
    if fc.is_16x8:
        return _lower_s16(op, fc, ctx)
    units, depth, batches = fc.units, fc.depth, fc.batches
    input_offset = -fc.input_zero_point
    if not -127 <= input_offset <= 128:
        raise Declined(f"input offset {input_offset} is outside CMSIS-NN's documented range "
                       "[-127, 128]")

    kernel = "arm_fully_connected_per_channel_s8" if fc.per_channel \
        else "arm_fully_connected_s8"
    filter_dims = dims(depth, 1, 1, units)   # CMSIS-NN: n = accumulation depth, c = units
    consts = []
    c_w, r_w = ctx.const("weights", "int8_t", fc.filt.data, f"{units}x{depth} int8 weights")
    consts.append(c_w)
    if fc.bias is not None:
        c_b, r_b = ctx.const("bias", "int32_t", wrap_int32(fc.bias_values), "bias")
        consts.append(c_b)
        bias_arg = r_b
    else:
        bias_arg = CExpr("NULL")

    scratch: list[int] = []
    size = backend.buffer_size(kernel, tuple(filter_dims.values()))
    if backend.arch == "mve":
        # Helium reads precomputed kernel sums (bias folded in) through ctx.buf
        if size != units * 4:
            raise Declined(f"this CMSIS-NN's Helium buffer ({size} bytes) is not the "
                           f"{units} kernel sums tinygen precomputes")
        sums = folded_bias(fc.bias_values, fc.filt.data, -input_offset)
        c_k, _ = ctx.const("kernel_sum", "int32_t", sums,
                           "bias + input offset * row sums of the weights (Helium)")
        consts.append(c_k)
        context = dict(buf=ConstRef(c_k.name, cast="void *"), size=size)
    elif size > 0:
        scratch = [size]
        context = dict(buf=ScratchArg(0), size=size)
    else:
        context = dict(buf=CExpr("NULL"), size=0)

    structs = [
        ConstStruct("ctx", "cmsis_nn_context", context),
        ConstStruct("fc_params", "cmsis_nn_fc_params", dict(
            input_offset=input_offset, filter_offset=0, output_offset=fc.output_zero_point,
            activation=dict(min=fc.act_min, max=fc.act_max))),
    ]
    if fc.per_channel:
        c_m, r_m = ctx.const("multiplier", "int32_t", fc.multiplier,
                             "Q31 output multiplier per channel")
        c_s, r_s = ctx.const("shift", "int32_t", fc.shift, "output shift per channel")
        consts += [c_m, c_s]
        structs.append(ConstStruct("quant_params", "cmsis_nn_per_channel_quant_params", dict(
            multiplier=ConstRef(r_m.name, cast="int32_t *"),
            shift=ConstRef(r_s.name, cast="int32_t *"))))
    else:
        structs.append(ConstStruct("quant_params", "cmsis_nn_per_tensor_quant_params", dict(
            multiplier=int(fc.multiplier[0]), shift=int(fc.shift[0]))))
    structs += [
        ConstStruct("input_dims", "cmsis_nn_dims", dims(batches, 1, 1, depth)),
        ConstStruct("filter_dims", "cmsis_nn_dims", filter_dims),
        ConstStruct("bias_dims", "cmsis_nn_dims", dims(1, 1, 1, units)),
        ConstStruct("output_dims", "cmsis_nn_dims", dims(batches, 1, 1, units)),
    ]
    return cmsis_call(
        op, kernel,
        [StructRef("ctx"), StructRef("fc_params"), StructRef("quant_params"),
         StructRef("input_dims"), TensorArg(fc.inp.index),
         StructRef("filter_dims"), r_w,
         StructRef("bias_dims"), bias_arg,
         StructRef("output_dims"), TensorArg(fc.out.index)],
        fc.comment(), consts=consts, structs=structs, scratch=scratch,
        macs=batches * units * depth)
