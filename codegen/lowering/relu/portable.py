"""RELU, RELU6, RELU_N1_TO_1 and LEAKY_RELU as standalone int8 operators (lookup tables);
RELU, RELU6 and LEAKY_RELU on int16 (16x8 models) as TFLM's int16 kernels (tg_relu_s16).

Each table entry is the reference kernel's integer arithmetic on one input value.
TFLite's reference kernels (what the model means) and TFLM's differ when a
standalone RELU/RELU6's output quantization differs from its input's (the
converter emits such layers, e.g. ReLU(6) after tanh).  By default tinygen
computes TFLite's arithmetic and warns, naming the layer and the largest
difference from TFLM in LSB; with `ctx.match_tflm` (--match-tflm) it computes
TFLM's.  Where both agree (equal quantization) the table is the same either way.

RELU, TFLite (ReluPrepare + QuantizedReluX): requantize from the input to the output
    scale with a multiplier of float32(in_scale / out_scale) (float division,
    then QuantizeMultiplier in double), then clamp to
    [max(-128, out_zp + roundf(0 / out_scale)), 127].
RELU, TFLM (CalculateReluOpData): the same, but the ratio is divided in double
    (differs by at most 1 LSB, on a few inputs of a few quantizations).
RELU6, TFLite: as RELU with the upper bound min(127, out_zp + roundf(6 / out_scale)).
RELU6, TFLM (Relu6Quantized): no requantization at all.  TFLM clamps the raw
    input to [in_zp, quantize(6.0, input scale)]; the output's quantization
    parameters are not read.
RELU_N1_TO_1: TFLM has no kernel for it.  TFLite's reference kernel uses the
    RELU arithmetic with bounds quantize(-1) and quantize(1) on the output scale;
    tinygen does the same in both modes.
LEAKY_RELU (TFLM QuantizeLeakyRelu): inputs at or above the zero point are
    requantized with float32(in_scale / out_scale), the others with
    float32(in_scale * alpha / out_scale); a negative alpha keeps its sign
    outside the multiplier.
"""
from __future__ import annotations

import numpy as np

from codegen.cnames import display_text
from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall, Overlap, TensorArg
from codegen.lowering.base import LowerContext
from codegen.ops.checks import require_dtype, require_quant, unsupported
from codegen.lowering.lut import elementwise_s8_tensors, lut_layer, quant_desc
from codegen.ops.relu import (leaky_relu_table, relu6_table, relu6_tflite_table, relu_n1_to_1_table,
                              relu_s16_params, relu_table)


def _tflm_differs(op: Op, g: Graph, ctx: LowerContext, call: LayerCall, bound: int,
                  what_tflm_does: str) -> None:
    """Mark a layer computed with TFLite's arithmetic where TFLM computes something else."""
    out = g.tensors[op.outputs[0]]
    call.oracle = "litert"
    call.warnings.append(
        f"layer {ctx.layer_name} ({op.describe()} -> '{display_text(out.name)}'): its input "
        f"and output quantization differ; tinygen computes what the model means (TFLite's "
        f"reference arithmetic), but TFLM {what_tflm_does}, so TFLM's output differs here by "
        f"up to {bound} LSB. Pass --match-tflm to reproduce TFLM's arithmetic instead")


def _lower_s16(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    """int16 RELU / RELU6 / LEAKY_RELU: TFLM's kernels, where TFLite's agree (or --match-tflm)."""
    inp, out = g.op_inputs(op)[0], g.op_outputs(op)[0]
    require_dtype(op, g, out, ("int16",), "output")
    in_q, out_q = require_quant(op, g, inp, "input"), require_quant(op, g, out, "output")
    if inp.num_elements != out.num_elements:
        raise unsupported(op, g, f"output '{out.name}' [{out.shape_str()}] does not have the "
                          f"input's {inp.num_elements} elements")
    if op.opcode == "RELU_N1_TO_1":
        raise unsupported(op, g, "int16 RELU_N1_TO_1 has no TFLM kernel; quantize the model "
                          "with int8 activations, or use a clip that fuses into the layer before")
    in_s, in_zp = in_q.scalar_scale, in_q.scalar_zero_point
    out_s, out_zp = out_q.scalar_scale, out_q.scalar_zero_point
    if op.opcode == "RELU" and (in_zp, out_zp) != (0, 0):
        raise unsupported(op, g, f"int16 RELU needs zero points 0 (TFLM requires them), got "
                          f"input {in_zp}, output {out_zp}")
    if op.opcode == "RELU6" and (in_s, in_zp) != (out_s, out_zp) and \
            not getattr(ctx, "match_tflm", False):
        raise unsupported(op, g, "int16 RELU6 whose output quantization differs from its "
                          "input's: TFLite requantizes to the output, TFLM clamps the raw "
                          "input and ignores the output quantization, and tinygen has only "
                          "TFLM's int16 arithmetic; pass --match-tflm to compute TFLM's")
    alpha = float(op.options.get("alpha", 0.0))
    try:
        params = relu_s16_params(op.opcode, in_s, in_zp, out_s, out_zp, alpha)
    except ValueError as e:
        raise unsupported(op, g, f"quantization parameters out of range: {e}") from None
    extra = f" alpha {alpha:.9g}" if op.opcode == "LEAKY_RELU" else ""
    return LayerCall(
        op=op, kernel="tg_relu_s16", params_type="tg_relu_s16_params_t",
        params=dict(count=inp.num_elements, **params),
        args=[TensorArg(inp.index), TensorArg(out.index)],
        overlaps=[Overlap(output=out.index, input=inp.index)],
        comment=f"{op.opcode} int16{extra} {inp.shape_str()}, input {quant_desc(inp)} -> "
                f"output {quant_desc(out)}")


@register("RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU")
def lower_relu(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    ins = [t for t in g.op_inputs(op) if t is not None]
    if len(ins) == 1 and ins[0].dtype == "int16" and len(g.op_outputs(op)) == 1:
        return _lower_s16(op, g, ctx)
    inp, out = elementwise_s8_tensors(op, g)
    in_s, in_zp = inp.quant.scalar_scale, inp.quant.scalar_zero_point
    out_s, out_zp = out.quant.scalar_scale, out.quant.scalar_zero_point
    what = f"{op.opcode}, input {quant_desc(inp)} -> output {quant_desc(out)}"
    match_tflm = getattr(ctx, "match_tflm", False)
    tflm_table = None      # TFLM's table where it differs from TFLite's
    try:
        if op.opcode == "RELU":
            table = relu_table(in_s, in_zp, out_s, out_zp)
            tflm_table = relu_table(in_s, in_zp, out_s, out_zp, tflm=True)
            what_tflm_does = "divides the scales in double (TFLite: in float)"
        elif op.opcode == "RELU_N1_TO_1":
            table = relu_n1_to_1_table(in_s, in_zp, out_s, out_zp)
        elif op.opcode == "RELU6":
            table = relu6_table(in_s, in_zp)
            what = (f"RELU6 on the input's quantization ({quant_desc(inp)}); TFLM does not "
                    "requantize to the output's")
            if (in_s, in_zp) != (out_s, out_zp):
                tflm_table, table = table, relu6_tflite_table(in_s, in_zp, out_s, out_zp)
                what_tflm_does = ("clamps the raw input to [0, 6] on the input's quantization "
                                  "and ignores the output's")
        else:
            alpha = float(op.options.get("alpha", 0.0))
            table = leaky_relu_table(in_s, in_zp, out_s, out_zp, alpha)
            what = f"LEAKY_RELU alpha {alpha:.9g}, input {quant_desc(inp)} -> output {quant_desc(out)}"
    except ValueError as e:
        raise unsupported(op, g, f"quantization parameters out of range: {e}") from None
    bound = 0
    if tflm_table is not None:
        bound = int(np.max(np.abs(table.astype(np.int32) - tflm_table.astype(np.int32))))
    if bound and match_tflm:
        table = tflm_table
    elif bound:
        what = (f"{op.opcode}, input {quant_desc(inp)} -> output {quant_desc(out)}, "
                f"requantized as TFLite's reference kernel (TFLM: up to {bound} LSB away)")
    call = lut_layer(op, g, ctx, inp, out, table, what)
    if bound and not match_tflm:
        _tflm_differs(op, g, ctx, call, bound, what_tflm_does)
    if op.opcode == "RELU_N1_TO_1":
        call.oracle = "litert"     # TFLM has no RELU_N1_TO_1 kernel
        if match_tflm:
            call.warnings.append(
                f"layer {ctx.layer_name} ({op.describe()}): TFLM has no RELU_N1_TO_1 kernel, "
                "so --match-tflm has nothing to match there; tinygen computes TFLite's "
                "reference arithmetic")
    return call
