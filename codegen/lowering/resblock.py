"""A fused residual block (codegen/passes/fuse_residual.py) as one call of a row-pipelined
kernel, built from the calls kernel selection made for its three layers.

The block runs on the kernels its layers were given, called row by row (tg_resblock.c on
the portable tg_conv_s8 and tg_add_s8, tg_dsp_resblock.c on tg_dsp_conv_s8 and
tg_dsp_add_s8 / tg_dsp_add_table_s8, a downsampling block's 1x1 shortcut on
tg_conv_s8 / tg_dsp_gemm_s8): their params are reused, each convolution's made to
describe one output row (the pipeline sets its input rows and padding per row), the
shortcut GEMM's one row of pixels and the ADD's one row's elements.  Any other combination of kernels (CMSIS-NN's, 16x8 ones, a
mix of variants) cannot compute rows here: `fuse_calls` declines, and the block stays
three layers.
"""
from __future__ import annotations

from codegen.graph import Graph, Op
from codegen.ir import LayerCall, Overlap, ScratchArg, TensorArg
from codegen.lowering.base import Declined
from codegen.lowering.inplace import resblock_down_overlap
from codegen.passes.fuse_residual import FUSED_OPCODE, ResidualBlock

# (conv1, conv2, add) kernels, or (conv1, conv2, shortcut, add) of a downsampling block ->
# the fused kernel and its params struct
ROW_KERNELS = {
    ("tg_conv_s8", "tg_conv_s8", "tg_add_s8"): ("tg_resblock_s8", "tg_resblock_params_t"),
    ("tg_dsp_conv_s8", "tg_dsp_conv_s8", "tg_dsp_add_s8"):
        ("tg_dsp_resblock_s8", "tg_dsp_resblock_params_t"),
    ("tg_dsp_conv_s8", "tg_dsp_conv_s8", "tg_dsp_add_table_s8"):
        ("tg_dsp_resblock_table_s8", "tg_dsp_resblock_table_params_t"),
    ("tg_conv_s8", "tg_conv_s8", "tg_conv_s8", "tg_add_s8"):
        ("tg_resblock_down_s8", "tg_resblock_down_params_t"),
    ("tg_dsp_conv_s8", "tg_dsp_conv_s8", "tg_dsp_gemm_s8", "tg_dsp_add_s8"):
        ("tg_dsp_resblock_down_s8", "tg_dsp_resblock_down_params_t"),
    ("tg_dsp_conv_s8", "tg_dsp_conv_s8", "tg_dsp_gemm_s8", "tg_dsp_add_table_s8"):
        ("tg_dsp_resblock_down_table_s8", "tg_dsp_resblock_down_table_params_t"),
}
ROW_CONVS = sorted({k[0] for k in ROW_KERNELS})
ROW_SHORTCUTS = sorted({k[2] for k in ROW_KERNELS if len(k) == 4})
ROW_ADDS = sorted({k[-1] for k in ROW_KERNELS})


def _row_conv(params: dict) -> dict:
    """A convolution's params for one output row (the pipeline sets input_height and
    pad_top per row; the whole image's pad_top stays, the kernel reads it)."""
    if "geometry" in params:        # tg_conv_params_t: the shape in tg_conv_geometry_t
        return dict(params, geometry=_row_conv(params["geometry"]))
    return dict(params, batches=1, output_height=1)


def _geometry(call: LayerCall) -> dict:
    """A convolution call's shape fields (tg_dsp_conv_params_t has them at its top level)."""
    return call.params.get("geometry", call.params)


def _row_add(params: dict, row: int) -> dict:
    dims = list(params["dims"])
    n = len(dims)
    if dims[:-1] != [1] * (n - 1) or params["input1_strides"][-1] != 1 or \
            params["input2_strides"][-1] != 1:
        raise Declined("the ADD's loop nest is not one contiguous run")
    ones = [0] * (n - 1) + [1]
    return dict(params, dims=[1] * (n - 1) + [row], input1_strides=ones, input2_strides=ones)


def _row_shortcut(call: LayerCall, width: int) -> dict:
    """The shortcut's params for one output row from one row of x."""
    if call.kernel == "tg_dsp_gemm_s8":
        return dict(call.params, rows=width, out_h=1, in_h=1)
    return _row_conv(call.params)


def fuse_calls(block: ResidualBlock, calls: list[LayerCall], g: Graph) -> LayerCall:
    """The fused call of `block` from its layers' calls (conv1, conv2, [shortcut,] add, as
    `block.ops`), or Declined."""
    kernels = tuple(c.kernel for c in calls)
    found = ROW_KERNELS.get(kernels)
    if found is None:
        roles = (ROW_CONVS, ROW_CONVS) + ((ROW_SHORTCUTS,) if block.shortcut else ()) + \
            (ROW_ADDS,)
        odd = [f"layer {c.op.index} runs {c.variant}'s {c.kernel}" for c, ok in
               zip(calls, roles) if c.kernel not in ok]
        packed = [c.op.index for c, ok in zip(calls, roles)
                  if c.kernel not in ok and any(k.encoding != "raw" for k in c.consts)]
        hint = (" (a compressed filter: --compress-layer " +
                ", ".join(f"{n}=none" for n in packed) + " keeps it int8 and the block "
                "fused, row by row, in less RAM)") if packed else ""
        raise Declined("not fused: " + ("; ".join(odd) + ", which cannot compute rows" + hint
                                        if odd else f"kernels {', '.join(kernels)} are "
                                        "not one variant's"))
    kernel, params_type = found
    c1, c2, add = calls[0], calls[1], calls[-1]
    x, out = g.tensors[block.x], g.tensors[block.out]
    _, h, w, d = out.shape
    a = g.tensors[block.conv1.outputs[0]]
    a_row = a.shape[2] * a.shape[3]
    window = int(g.tensors[block.conv2.inputs[1]].shape[1]) * a_row
    scratch = [window, w * d]
    args = [TensorArg(x.index), TensorArg(out.index), ScratchArg(0), ScratchArg(1)]
    first = block.shortcut.outputs[0] if block.shortcut else block.x
    params = dict(height=h, x_is_input1=int(block.add.inputs[0] == first),
                  conv1=_row_conv(c1.params), conv2=_row_conv(c2.params))
    if block.shortcut:
        scratch.append(w * d)
        args.append(ScratchArg(2))
        params["shortcut"] = _row_shortcut(calls[2], w)
    params["add"] = _row_add(add.params, w * d)
    if kernel.startswith("tg_dsp_"):
        conv_scratch = [c1.scratch[0], c2.scratch[0]]
        if block.shortcut:      # the GEMM takes rows two at a time with its scratch
            conv_scratch.append(16 * ((x.shape[3] + 3) // 4))
        scratch.append(max(conv_scratch))
        args.append(ScratchArg(len(scratch) - 1))
    options = dict(fused=[dict(index=o.index, opcode=o.opcode) for o in block.ops[1:]])
    if "folded_pad" in block.conv1.options:
        options["folded_pad"] = block.conv1.options["folded_pad"]
    op = Op(index=block.conv1.index, opcode=FUSED_OPCODE,
            inputs=[block.x, *(t for o in block.ops[:-1] for t in o.inputs[1:])],
            outputs=[block.out], options=options)
    # an identity block writes its output over x (tg_resblock_rows.h: access order), a
    # downsampling block over the rows of x no later step reads
    overlaps = [Overlap(output=out.index, input=x.index, offset=0)]
    if block.shortcut:
        overlaps = []
        p1, p2 = _geometry(c1), _geometry(c2)
        at = resblock_down_overlap(h, p1["input_height"],
                                   p1["input_width"] * p1["input_depth"], w * d,
                                   p1["stride_height"], p1["filter_height"], p1["pad_top"],
                                   p2["filter_height"], p2["pad_top"])
        if at is not None:
            overlaps = [Overlap(output=out.index, input=x.index, offset=at)]
    return LayerCall(
        op=op, kernel=kernel, params_type=params_type, params=params, args=args,
        consts=[k for c in calls for k in c.consts], scratch=scratch,
        comment=(f"residual block fused row by row ({h} rows, {window} B window of "
                 f"a): " + "; ".join(c.comment for c in calls)),
        macs=sum(c.macs for c in calls), variant=c1.variant,
        reads=[block.x], writes=[block.out], overlaps=overlaps,
        warnings=[w_ for c in calls for w_ in c.warnings])
