"""What the `dsp` kernel variants share: when they may run, and the GEMM they lower onto.

The dsp variant is tinygen's own kernels for cores with the Arm DSP extension (SMLAD,
SXTB16: Cortex-M4, M7, M33; `has_dsp` in targets/*.toml).  Its C kernels
(`runtime_c/tg_dsp_*.c`) use the instructions through `tg_acle.h`, which falls back to
plain C computing the same bits anywhere else; so the variant also accepts the host,
where it is only ever asked when named (`--kernels dsp,portable`): that is how the
golden and sanitizer tests run the same kernel source as the device.

FULLY_CONNECTED and 1x1 CONV_2D are one GEMM (`tg_dsp_gemm_s8`): the input zero point is
folded into a per-channel effective bias, and the weights are re-laid-out for the kernel's 2-channel passes
(`gemm_weight_layout`), all here at generation time.
"""
from __future__ import annotations

import numpy as np

from codegen.graph import Op
from codegen.ir import LayerCall, TensorArg
from codegen.lowering.base import Declined, LowerContext
from codegen.ops.fully_connected import folded_bias

VARIANT = "dsp"


def require_dsp(ctx: LowerContext) -> None:
    """Decline unless the target's core has the DSP extension (or is the host)."""
    t = ctx.target
    if t.get("kind") == "host" or t.get("has_dsp"):
        return
    raise Declined(f"the core ({t.get('mcpu', t.get('name', 'this target'))}) has no DSP "
                   "extension (SMLAD/SXTB16: Cortex-M4, M7 and M33 have it)")


def gemm_weight_layout(w: np.ndarray) -> np.ndarray:
    """[channels][depth] int8 weights in the order tg_dsp_gemm_s8 reads them.

    For each channel pair (c, c+1): the 4-value words of c and c+1 alternating, then c's
    depth % 4 tail values, then c+1's; an odd last channel's row unchanged.  A pair starts
    at c * depth, like the plain layout (the result is a permutation of it).
    """
    channels, depth = w.shape
    quads = depth // 4
    parts = []
    for c in range(0, channels - 1, 2):
        pair = w[c:c + 2]
        body = pair[:, :quads * 4].reshape(2, quads, 4).transpose(1, 0, 2).reshape(-1)
        parts += [body, pair[0, quads * 4:], pair[1, quads * 4:]]
    if channels % 2:
        parts.append(w[-1])
    out = np.concatenate(parts) if parts else np.zeros(0, w.dtype)
    assert out.size == w.size
    return out.astype(np.int8)


def gemm_call(op: Op, ctx: LowerContext, *, rows: int, weights: np.ndarray,
              bias: np.ndarray, input_zero_point: int, multiplier: np.ndarray,
              shift: np.ndarray, output_offset: int, act_min: int, act_max: int,
              inp: int, out: int, comment: str) -> LayerCall:
    """The LayerCall of tg_dsp_gemm_s8 for `rows` rows of `weights.shape[1]` values."""
    channels, depth = weights.shape
    eff_bias = folded_bias(bias, weights, input_zero_point)
    mult = np.asarray(multiplier, dtype=np.int32).reshape(-1)
    shf = np.asarray(shift, dtype=np.int32).reshape(-1)
    per_channel = mult.size > 1       # else one multiplier and shift for every channel
    c_w, r_w = ctx.const("weights", "int8_t", gemm_weight_layout(weights),
                         f"{channels}x{depth} int8 weights in channel pairs, 4 values "
                         "interleaved (tg_dsp_gemm.h)")
    c_b, r_b = ctx.const("bias", "int32_t", eff_bias,
                         "bias with the input zero point folded in")
    each = "per channel" if per_channel else "(all channels)"
    c_m, r_m = ctx.const("multiplier", "int32_t", mult, f"Q31 output multiplier {each}")
    c_s, r_s = ctx.const("shift", "int32_t", shf, f"output shift (power of two) {each}")
    return LayerCall(
        op=op,
        kernel="tg_dsp_gemm_s8",
        params_type="tg_dsp_gemm_params_t",
        params=dict(rows=rows, depth=depth, channels=channels, weights=r_w, bias=r_b,
                    multiplier=r_m, shift=r_s, per_channel=int(per_channel),
                    output_offset=output_offset,
                    act_min=act_min, act_max=act_max),
        args=[TensorArg(inp), TensorArg(out)],
        consts=[c_w, c_b, c_m, c_s],
        comment=comment,
        macs=rows * channels * depth,
    )
