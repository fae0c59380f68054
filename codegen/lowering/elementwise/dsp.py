"""ADD, SUB and MUL, int8, with broadcasting, on the dsp variant's kernels
(runtime_c/tg_dsp_elementwise.c: each rescale one SMMULR and a shift, exact on the value
ranges these operators reach, which the checks here keep it to): the same loop nest and
TFLM scalars as the portable kernels (codegen/ops/elementwise.py)."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from codegen import quant
from codegen.cheaders import C_LIMITS
from codegen.graph import Graph, Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering import register
from codegen.lowering.base import Declined, LowerContext
from codegen.lowering.dsp_support import VARIANT, require_dsp
from codegen.lowering.elementwise.portable import broadcast_loops, in_place
from codegen.ops.checks import unsupported
from codegen.ops.elementwise import ADD_SUB_LEFT_SHIFT, BinaryLayer, analyse_binary

LEFT_SHIFT_INT8 = ADD_SUB_LEFT_SHIFT["int8"]

MAX_LOOPS = C_LIMITS["TG_DSP_ELEMENTWISE_MAX_DIMS"]
TABLE_MIN_ELEMENTS = 2048  # from this output size on, ADD/SUB read the inputs' rescales
                           # from two 1 KB tables (flash) instead of computing them
PLAIN = (1 << 30, 0)       # multiplier and shift of a ratio of exactly 1/2
MUL_MAX_LEFT_SHIFT = 14    # the product (|p| <= 255^2) shifted left stays below 2^30


def _loops(layer: BinaryLayer, g: Graph) -> dict:
    try:
        dims, s1, s2 = broadcast_loops(layer.x1.shape, layer.x2.shape, layer.y.shape,
                                       MAX_LOOPS)
    except ValueError as e:
        raise unsupported(layer.op, g, str(e)) from None
    return dict(dims=dims, input1_strides=s1, input2_strides=s2)


def rescale_table(offset: int, multiplier: int, shift: int, negate: bool = False) -> np.ndarray:
    """An ADD/SUB input's value at the common scale for each int8 x = -128..127, as TFLite
    computes it: MultiplyByQuantizedMultiplierSmallerThanOneExp((x + offset) << 20, ...)."""
    out = []
    for x in range(-128, 128):
        v = quant.saturating_rounding_doubling_high_mul((x + offset) << LEFT_SHIFT_INT8,
                                                        multiplier)
        v = quant.rounding_divide_by_pot(v, -shift)
        out.append(-v if negate else v)
    return np.array(out, dtype=np.int32)


def _requantize_np(a: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplierSmallerThanOneExp (shift <= 0) on int64 arrays of
    int32 values (quant.multiply_by_quantized_multiplier, vectorised)."""
    ab = a * multiplier                                    # |a| < 2^31, multiplier < 2^31
    v = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(v >= 0, v >> 31, -((-v) >> 31))       # truncated toward zero
    right = -shift
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    return (high >> right) + ((high & mask) > threshold)


def exact_fast_modes(t1: np.ndarray, t2: np.ndarray, b) -> tuple[list[int], int]:
    """([fast modes], output_bias) of tg_dsp_add_table_s8 for doubled tables t1, t2: which
    of the one-SMMLAR requantizations (tg_dsp_elementwise.h) equal TFLite's on every pair of
    input values, 2 (no tie correction) and 1 (with it), none where an intermediate leaves
    int32.  `b`: the output's multiplier, shift, offset and activation bounds (a
    BinaryLayer, or anything with those attributes)."""
    r = -b.output_shift
    bias = (1 << (r - 1)) + b.output_offset * (1 << r)
    a2 = t1.astype(np.int64)[:, None] + t2.astype(np.int64)[None, :]
    lo, hi = -(1 << 31), (1 << 31) - 1
    if not (lo <= bias <= hi and a2.min() >= lo and a2.max() <= hi):
        return [], 0
    want = np.clip(_requantize_np(a2 // 2, b.output_multiplier, b.output_shift)
                   + b.output_offset, b.act_min, b.act_max)
    h = ((a2 * b.output_multiplier + (1 << 31)) >> 32) + bias     # SMMLAR
    modes = []
    for fast, fixed in ((2, h), (1, h - (a2 < 0))):
        if fixed.min() < lo or fixed.max() > hi:
            continue
        got = np.clip(np.clip(fixed >> r, -128, 127), b.act_min, b.act_max)
        if np.array_equal(got, want):
            modes.append(fast)
    return modes, bias


def fast_output_mode(t1: np.ndarray, t2: np.ndarray, b: BinaryLayer) -> tuple[int, int]:
    """(fast, output_bias) of tg_dsp_add_table_s8 for doubled tables t1, t2: the one-SMMLAR
    requantization compared with TFLite's on every pair of input values; fast 2 where it
    needs no tie correction, 1 with it, 0 where neither is exact (exact_fast_modes)."""
    modes, bias = exact_fast_modes(t1, t2, b)
    return (modes[0], bias) if modes else (0, 0)


def unify_fast_modes(calls: list[LayerCall]) -> None:
    """One asm loop for a project's table ADD/SUB layers where it can have one.

    A project whose layers take both one-SMMLAR forms (fast 1 and 2) links both loops of
    tg_dsp_add_table_s8 (tg_config.h).  Where every fast-2 layer is exact with the tie
    correction too (exact_fast_modes, on its own tables), they all take fast 1: about 290
    bytes less code for one more instruction per output on those layers.  The blocks of
    residual layers (tg_dsp_resblock_*_table_s8) keep their mode: with one of them at 2 the
    project keeps both loops, and nothing changes."""
    direct = [c for c in calls if c.kernel == "tg_dsp_add_table_s8"]
    nested = [c.params["add"]["fast"] for c in calls
              if c.kernel.startswith("tg_dsp_resblock") and "_table" in c.kernel]
    modes = {c.params["fast"] for c in direct} | set(nested)
    if not {1, 2} <= modes or 2 in nested:
        return
    twos = [c for c in direct if c.params["fast"] == 2]
    for c in twos:
        out = SimpleNamespace(**{k: c.params[k] for k in (
            "output_multiplier", "output_shift", "output_offset", "act_min", "act_max")})
        if 1 not in exact_fast_modes(c.consts[0].values, c.consts[1].values, out)[0]:
            return
    for c in twos:
        c.params["fast"] = 1


def _table_call(op: Op, b: BinaryLayer, g: Graph, ctx: LowerContext) -> LayerCall:
    sub = op.opcode == "SUB"
    t1 = 2 * rescale_table(b.input1_offset, b.input1_multiplier, b.input1_shift)
    t2 = 2 * rescale_table(b.input2_offset, b.input2_multiplier, b.input2_shift, sub)
    fast, bias = fast_output_mode(t1, t2, b)
    c1, r1 = ctx.const("input1_table", "int32_t", t1,
                       "input1 at the common scale, doubled, for x = -128..127")
    c2, r2 = ctx.const("input2_table", "int32_t", t2,
                       "input2 at the common scale" + (", negated" if sub else "")
                       + ", doubled, for x = -128..127")
    return LayerCall(
        op=op,
        kernel="tg_dsp_add_table_s8",
        params_type="tg_dsp_add_table_params_t",
        params=dict(input1_table=r1, input2_table=r2, output_offset=b.output_offset,
                    output_multiplier=b.output_multiplier, output_shift=b.output_shift,
                    output_bias=bias, fast=fast,
                    act_min=b.act_min, act_max=b.act_max, **_loops(b, g)),
        args=[TensorArg(b.x1.index), TensorArg(b.x2.index), TensorArg(b.y.index)],
        consts=[c1, c2],
        overlaps=in_place(b),
        comment=b.comment(),
    )


@register("ADD", "SUB", variant=VARIANT)
def lower_add_sub_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    b = analyse_binary(op, g)
    if b.left_shift != LEFT_SHIFT_INT8:
        raise Declined(f"the dsp ADD/SUB needs the int8 left shift of "
                       f"{LEFT_SHIFT_INT8}, not {b.left_shift}")
    # ops/elementwise.add_sub_multipliers: every rescale is < 1 (shift <= 0)
    assert max(b.input1_shift, b.input2_shift, b.output_shift) <= 0
    # tg_dsp_elementwise.c: the output rescale rounds by at least one bit; the larger-scale
    # input's ratio is exactly 1/2 (its rescale a shift), the other's below 1/2
    if b.output_shift > -1:
        raise Declined(f"output rescale shift {b.output_shift}: the dsp ADD/SUB needs a "
                       "right shift of at least 1")
    if b.y.num_elements >= TABLE_MIN_ELEMENTS:
        return _table_call(op, b, g, ctx)
    rescales = ((b.input1_multiplier, b.input1_shift), (b.input2_multiplier, b.input2_shift))
    if PLAIN not in rescales or any(r != PLAIN and r[1] > -1 for r in rescales):
        raise Declined(f"input rescales {rescales}: the dsp ADD/SUB expects one of 1/2 and "
                       "one of 1/2 or below")
    params = dict(input1_offset=b.input1_offset, input1_multiplier=b.input1_multiplier,
                  input1_shift=b.input1_shift, input2_offset=b.input2_offset,
                  input2_multiplier=b.input2_multiplier, input2_shift=b.input2_shift,
                  output_offset=b.output_offset, output_multiplier=b.output_multiplier,
                  output_shift=b.output_shift, act_min=b.act_min, act_max=b.act_max,
                  **_loops(b, g))
    return LayerCall(
        op=op,
        kernel="tg_dsp_add_s8" if op.opcode == "ADD" else "tg_dsp_sub_s8",
        params_type="tg_dsp_add_params_t",
        params=params,
        args=[TensorArg(b.x1.index), TensorArg(b.x2.index), TensorArg(b.y.index)],
        overlaps=in_place(b),
        comment=b.comment(),
    )


@register("MUL", variant=VARIANT)
def lower_mul_dsp(op: Op, g: Graph, ctx: LowerContext) -> LayerCall:
    require_dsp(ctx)
    b = analyse_binary(op, g)
    if b.output_shift > MUL_MAX_LEFT_SHIFT:
        raise Declined(f"output multiplier 2^{b.output_shift}: the dsp MUL takes up to "
                       f"2^{MUL_MAX_LEFT_SHIFT}")
    return LayerCall(
        op=op,
        kernel="tg_dsp_mul_s8",
        params_type="tg_dsp_mul_params_t",
        params=dict(input1_offset=b.input1_offset, input2_offset=b.input2_offset,
                    output_offset=b.output_offset,
                    output_multiplier=b.output_multiplier, output_shift=b.output_shift,
                    act_min=b.act_min, act_max=b.act_max, **_loops(b, g)),
        args=[TensorArg(b.x1.index), TensorArg(b.x2.index), TensorArg(b.y.index)],
        overlaps=in_place(b),
        comment=b.comment(),
    )
