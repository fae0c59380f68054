"""HARD_SWISH, int8 (lookup table).

x * relu6(x + 3) / 6, computed as TFLM's reference kernel does it in 16-bit
fixed point (reference_ops::HardSwish with the multipliers of
HardSwishPrepare), for each of the 256 input values:

  hires   = (x - in_zp) * 2^7                       int16, input on scale in_scale/128
  pre_out = SRDHM16(hires, output_multiplier16)     on the output scale, before its shift
  reluish = hires rescaled so that real 3.0 maps to 2^15 (saturating, int16),
            then mapped from [-1, 1] to [0, 1]: (reluish + 2^15) >> 1
  out     = RDBPOT16(SDHM16(reluish, pre_out), -output_exponent) + out_zp, saturated

The multipliers are float32 ratios of the scales (hires_input_scale =
in_scale / 128 in float32; reluish scale 3 / 32768), quantized to Q31 and then
rounded to Q15.  The int16 helpers below mirror gemmlowp's int16 overloads,
including C's integer conversions and truncating division.
"""
from __future__ import annotations


from codegen.graph import Graph, Op
from codegen.lowering import register
from codegen.ir import LayerCall
from codegen.lowering.base import LowerContext
from codegen.ops.checks import unsupported
from codegen.lowering.lut import elementwise_s8_tensors, lut_layer, quant_desc
from codegen.ops.hard_swish import hard_swish_table


@register("HARD_SWISH")
def lower_hard_swish(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    inp, out = elementwise_s8_tensors(op, g)
    try:
        table = hard_swish_table(inp.quant.scalar_scale, inp.quant.scalar_zero_point,
                                 out.quant.scalar_scale, out.quant.scalar_zero_point)
    except ValueError as e:
        raise unsupported(op, g, str(e)) from None
    return lut_layer(op, g, ctx, inp, out, table,
                     f"HARD_SWISH, input {quant_desc(inp)} -> output {quant_desc(out)}")
