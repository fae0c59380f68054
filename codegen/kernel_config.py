"""tg_config.h: the kernel paths a project's layers take, so that the others cost no flash.

A kernel chooses among its paths from its params struct at run time (a 3x3 depthwise at
stride 1 or 2, or any filter; the dsp convolution's assembly channel pairs or its C
channels...).  Each FLAG here names one such path and the condition, on a layer's params
(the same fields and the same test the C kernel branches on), under which the kernel takes
it.  The generator writes tg_config.h with every flag set to whether some layer of the
project (of every model, for `tinygen a.tflite b.tflite`) takes its path; the kernel files
include it and compile a path out when its flag is 0.  The header alone carries the
choice: an IDE project (STM32CubeIDE) builds it with no -D flag.

runtime_c/tg_config.h is the copy with every path in (`tinygen runtime -o DIR`, and the
default of a file copied by hand); tests/test_kernel_config.py checks it is `render(ALL)`.
A flag only ever removes a path no layer can take: a layer that needs a path sets its
flag, by construction (tests/test_kernel_config.py builds models for each).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from codegen.ir import CExpr

HEADER = "tg_config.h"
MODULE = "tg_config"


def _null(v) -> bool:
    return isinstance(v, CExpr) and v.text == "NULL"


# ---------------------------------------------------------------- the conditions
# tg_dsp_depthwise_s8 (runtime_c/tg_dsp_depthwise.c): the 3-tap loops when taps3, by
# stride; the general loop otherwise.
def dw_3x3_s1(p: dict) -> bool:
    return bool(p["taps3"]) and p["stride"] == 1


def dw_3x3_s2(p: dict) -> bool:
    return bool(p["taps3"]) and p["stride"] != 1


def dw_any(p: dict) -> bool:
    return not p["taps3"]


# ... whose passes over a filter line take up to 4 tap pairs each: 4 while 4 or more
# remain, then the rest (pairs = (filter_length + 1) / 2)
def _any_pairs(p: dict) -> int:
    return (p["filter_length"] + 1) // 2 if dw_any(p) else 0


def dw_any_pass(k: int) -> Callable[[dict], bool]:
    if k == 4:
        return lambda p: _any_pairs(p) >= 4
    return lambda p: _any_pairs(p) % 4 == k


# ... gathering one channel at a time (group 1: depth multipliers above 1, depths not a
# multiple of 4) rather than four (always compiled in without the assembly)
def dw_one(p: dict) -> bool:
    return p["group"] == 1


# tg_dsp_depthwise_px_s8 (tg_dsp_depthwise_px.c): the block loop without the clamp when
# the activation is the whole int8 range, with it otherwise.
def dw_px_full(p: dict) -> bool:
    return p["act_min"] == -128 and p["act_max"] == 127


def dw_px_clamp(p: dict) -> bool:
    return not dw_px_full(p)


# ... with GCC on Thumb-2 (TG_DSP_DW_PX_ASM) the whole range's 3x3 filters run in assembly,
# other filters in the C block loop (always compiled in without the assembly)
def dw_px_full_c(p: dict) -> bool:
    return dw_px_full(p) and (p["filter_h"], p["filter_w"]) != (3, 3)


# tg_dsp_conv_s8 (tg_dsp_conv.c): with GCC on Thumb-2 (TG_DSP_CONV_ASM) the channel
# triples and pairs run in assembly (asm_pairs), the C loop tg_dsp_conv_channels for the
# rest (every channel without asm_pairs, the last one when the channels after the triples
# are odd).  Without the assembly, triples run in their C twin (tg_dsp_conv_triples),
# compiled in with this flag: the lowering gives triples only to layers the assembly runs,
# and a layer with triples sets it whatever it holds.
def _asm_runs(p: dict) -> bool:
    # tg_dsp_conv_s8's asm_pairs
    return (not _null(p["quant"]) and p["act_min"] == -128 and p["act_max"] == 127 and
            p["post"] == 0 and p["output_depth"] >= 2)


def conv_asm_pairs(p: dict) -> bool:
    return _asm_runs(p) or p["triples"] > 0


# ... the assembly's loop passes (TG_CFG_DSP_CONV_PASS, a value: any length 2..16 runs every
# layer; its code grows with it, 172 bytes a block): the fewest blocks (4-value steps of the
# column) a pass that take no layer more passes than 16-block ones would, or 8-block ones
# when no column has more than 16 blocks, give or take one more pass per 48 blocks (a pass
# ends in ~8 cycles, 48 blocks take ~1,200 a channel group) (kws's 10 blocks: 5 a pass, 2
# passes as with 8; a 3x3 first layer on 3 channels, 7: 7; resnet8's and yolo_lc's 36, 72
# and 144: 12, 3, 6 and 12 passes instead of 3, 5 and 9)
def conv_pass(params: list[dict]) -> int:
    blocks = _asm_blocks(params)
    if not blocks:
        return 16
    most = 16 if max(blocks) > 16 else 8

    def passes(b: int, n: int) -> int:
        return -(-b // n)
    return next(n for n in range(2, 17)
                if all(passes(b, n) <= passes(b, most) + b // 48 for b in blocks))


# ... entered by a computed branch (the first pass skips blocks) unless every column's
# blocks are a multiple of the pass's (TG_CFG_DSP_CONV_WHOLE 1: every pass runs whole)
def _asm_blocks(params: list[dict]) -> list[int]:
    return sorted({p["depth4"] >> 2 for p in params if conv_asm_pairs(p)})


def conv_whole(params: list[dict]) -> int:
    length = conv_pass(params)
    return int(not any(b % length for b in _asm_blocks(params)))


# ... and the entry with an output stride of its own, for the channel blocks of
# tg_dsp_cw_conv_s8 (its calls' params carry `slice`)
def conv_slice(p: dict) -> bool:
    return bool(p.get("slice"))


def conv_channels(p: dict) -> bool:
    return not _asm_runs(p) or (p["output_depth"] - 3 * p["triples"]) % 2 == 1


# ... and the columns of windows inside the image: 3 rows of 9 values (rows3x9: 3x3 on 3
# channels) unrolled, any other row by row (tg_dsp_conv_im2col_inside)
def conv_3x9(p: dict) -> bool:
    return p["filter_height"] == 3 and p["filter_width"] * p["input_depth"] == 9


def conv_rows(p: dict) -> bool:
    return not conv_3x9(p)


# ... row by row, by the rows' length: 4 values (one block), 9, whole blocks (4 or more),
# any other
def _row_len(p: dict) -> int:
    return p["filter_width"] * p["input_depth"]


def conv_rows_4(p: dict) -> bool:
    return conv_rows(p) and _row_len(p) == 4


def conv_rows_9(p: dict) -> bool:
    return conv_rows(p) and _row_len(p) == 9


def conv_rows_4n(p: dict) -> bool:
    return conv_rows(p) and _row_len(p) % 4 == 0 and _row_len(p) >= 16


def conv_rows_any(p: dict) -> bool:
    return conv_rows(p) and not (conv_rows_4(p) or conv_rows_9(p) or conv_rows_4n(p))


# ... and, in the windows not wholly inside the image, the last values of rows whose length
# is not a multiple of 4; the rows of 4n input channels (not dilated along the width),
# straight from the input
def conv_rest(p: dict) -> bool:
    return _row_len(p) % 4 != 0


def conv_edge_4n(p: dict) -> bool:
    return p["input_depth"] % 4 == 0 and p["dilation_width"] == 1


# ... and the window rows of dilated filters, gathered tap by tap
def conv_dilated(p: dict) -> bool:
    return p["dilation_width"] != 1


# tg_dsp_gemm_s8 (tg_dsp_gemm.c): rows two at a time when the call passes a scratch
# (`scratch`: its fourth argument is not NULL), one at a time otherwise; the activation
# clamp pass when the range is not all of int8.
def gemm_pairs(p: dict) -> bool:
    return bool(p["scratch"]) and p["rows"] > 0


# ... with GCC on Thumb-2 (TG_DSP_GEMM_ASM), the assembly walks all the row pairs of a GEMM
# of whole 4-value steps itself when row r is input row r * stride_w (no row gather:
# out_w = out_h = 1, or one within an output line: rows <= out_w); the others take the
# per-pair call (rows expanded in C: always without the assembly)
def gemm_pair_call(p: dict) -> bool:
    gather = p["out_w"] != 1 or p["out_h"] != 1
    return gemm_pairs(p) and (p["depth"] % 4 != 0 or (gather and p["rows"] > p["out_w"]))


# ... and its long epilogue's offset added after the rounding shift (output_offset, `post`:
# not 0 where the generator cannot fold it into the rounding term); without it only the
# last triple's stores (the assembly)
def gemm_post(p: dict) -> bool:
    return gemm_pairs(p) and p["output_offset"] != 0


def gemm_row1(p: dict) -> bool:
    return not p["scratch"] and p["rows"] > 0


def gemm_clamp(p: dict) -> bool:
    return p["act_min"] > -128 or p["act_max"] < 127


# tg_dsp_add_table_s8 (tg_dsp_elementwise.c): the one-SMMLAR output requantization
# without (`fast` 2) or with (fast 1) the tie correction, or TFLite's (fast 0)
def add_table_fast(p: dict) -> bool:
    return p["fast"] == 2


def add_table_fast_fix(p: dict) -> bool:
    return p["fast"] == 1


def add_table_exact(p: dict) -> bool:
    return p["fast"] == 0


# tg_dsp_cw_gemm_s8 (tg_dsp_cw_gemm.c): blocks decoded once for all rows (chunk >= rows,
# or rows_outer), by the int4 or the palette decoder; else blocks decoded channel by channel
# (tg_dsp_cw_channel) for chunks of rows
def _cw_once(p: dict) -> bool:
    return bool(p["rows_outer"]) or p["chunk"] >= p["rows"]


def cw_gemm_once_s4(p: dict) -> bool:
    return _cw_once(p) and not p["weights"]["palette"]


def cw_gemm_once_pal(p: dict) -> bool:
    return _cw_once(p) and bool(p["weights"]["palette"])


def cw_gemm_blocks(p: dict) -> bool:
    return not _cw_once(p)


# tg_dsp_s4_gemm_s8 (tg_dsp_s4_gemm.c): rows two at a time (2 x 2 channels and rows) when a
# layer has two or more
def s4_gemm_pairs(p: dict) -> bool:
    return p["rows"] >= 2


@dataclass(frozen=True)
class Flag:
    name: str                        # the C macro
    doc: str                         # what it compiles in
    kernel: str                      # the function whose params the condition reads
    needs: Callable[[dict], bool]    # whether a call with these params takes the path


FLAGS = (
    Flag("TG_CFG_DSP_DW_3X3_S1", "tg_dsp_depthwise_s8: 3x3 filters at stride 1",
         "tg_dsp_depthwise_s8", dw_3x3_s1),
    Flag("TG_CFG_DSP_DW_3X3_S2", "tg_dsp_depthwise_s8: 3x3 filters at stride 2",
         "tg_dsp_depthwise_s8", dw_3x3_s2),
    Flag("TG_CFG_DSP_DW_ANY", "tg_dsp_depthwise_s8: other filters (the general loop)",
         "tg_dsp_depthwise_s8", dw_any),
    *(Flag(f"TG_CFG_DSP_DW_ANY_P{k}", f"tg_dsp_depthwise_s8: the general loop's passes of "
           f"{k} tap pair{'s' if k > 1 else ''}", "tg_dsp_depthwise_s8", dw_any_pass(k))
      for k in (1, 2, 3, 4)),
    Flag("TG_CFG_DSP_DW_ONE", "tg_dsp_depthwise_s8: channels gathered one at a time",
         "tg_dsp_depthwise_s8", dw_one),
    Flag("TG_CFG_DSP_DW_PX_FULL", "tg_dsp_depthwise_px_s8: no activation clamp",
         "tg_dsp_depthwise_px_s8", dw_px_full),
    Flag("TG_CFG_DSP_DW_PX_CLAMP", "tg_dsp_depthwise_px_s8: an activation clamp",
         "tg_dsp_depthwise_px_s8", dw_px_clamp),
    Flag("TG_CFG_DSP_DW_PX_FULL_C", "tg_dsp_depthwise_px_s8: no clamp, filters other than "
         "3x3 (always without the assembly)", "tg_dsp_depthwise_px_s8", dw_px_full_c),
    Flag("TG_CFG_DSP_CONV_ASM_PAIRS", "tg_dsp_conv_s8: channel pairs in Thumb-2 assembly "
         "(GCC)", "tg_dsp_conv_s8", conv_asm_pairs),
    Flag("TG_CFG_DSP_CONV_CHANNELS", "tg_dsp_conv_s8: channels in C (always, without "
         "the assembly)", "tg_dsp_conv_s8", conv_channels),
    Flag("TG_CFG_DSP_CONV_SLICE", "tg_dsp_conv_s8: blocks of a layer's channels into "
         "its output (tg_dsp_conv_slice_s8)", "tg_dsp_conv_s8", conv_slice),
    Flag("TG_CFG_DSP_CONV_3X9", "tg_dsp_conv_s8: 3x3 windows on 3 channels",
         "tg_dsp_conv_s8", conv_3x9),
    Flag("TG_CFG_DSP_CONV_ROWS", "tg_dsp_conv_s8: other windows, row by row",
         "tg_dsp_conv_s8", conv_rows),
    Flag("TG_CFG_DSP_CONV_ROWS_4", "tg_dsp_conv_s8: ... rows of 4 values",
         "tg_dsp_conv_s8", conv_rows_4),
    Flag("TG_CFG_DSP_CONV_ROWS_9", "tg_dsp_conv_s8: ... rows of 9 values",
         "tg_dsp_conv_s8", conv_rows_9),
    Flag("TG_CFG_DSP_CONV_ROWS_4N", "tg_dsp_conv_s8: ... rows of 4n values (n >= 4)",
         "tg_dsp_conv_s8", conv_rows_4n),
    Flag("TG_CFG_DSP_CONV_ROWS_ANY", "tg_dsp_conv_s8: ... rows of other lengths",
         "tg_dsp_conv_s8", conv_rows_any),
    Flag("TG_CFG_DSP_CONV_REST", "tg_dsp_conv_s8: windows across the image's edge with "
         "rows of 4n + 1..3 values", "tg_dsp_conv_s8", conv_rest),
    Flag("TG_CFG_DSP_CONV_EDGE_4N", "tg_dsp_conv_s8: windows across the image's edge on "
         "4n input channels", "tg_dsp_conv_s8", conv_edge_4n),
    Flag("TG_CFG_DSP_CONV_DILATED", "tg_dsp_conv_s8: filters dilated along the width",
         "tg_dsp_conv_s8", conv_dilated),
    Flag("TG_CFG_DSP_ADD_TABLE_FAST", "tg_dsp_add_table_s8: the one-SMMLAR output "
         "requantization (no tie correction)", "tg_dsp_add_table_s8", add_table_fast),
    Flag("TG_CFG_DSP_ADD_TABLE_FAST_FIX", "tg_dsp_add_table_s8: the one-SMMLAR output "
         "requantization with the tie correction", "tg_dsp_add_table_s8", add_table_fast_fix),
    Flag("TG_CFG_DSP_ADD_TABLE_EXACT", "tg_dsp_add_table_s8: TFLite's output "
         "requantization", "tg_dsp_add_table_s8", add_table_exact),
    Flag("TG_CFG_DSP_GEMM_PAIRS", "tg_dsp_gemm_s8: rows two at a time (with a scratch)",
         "tg_dsp_gemm_s8", gemm_pairs),
    Flag("TG_CFG_DSP_GEMM_PAIR_CALL", "tg_dsp_gemm_s8: row pairs expanded in C, one "
         "assembly call a pair (always without the assembly)", "tg_dsp_gemm_s8",
         gemm_pair_call),
    Flag("TG_CFG_DSP_GEMM_POST", "tg_dsp_gemm_s8: an offset added after the shift (the "
         "assembly's long epilogue)", "tg_dsp_gemm_s8", gemm_post),
    Flag("TG_CFG_DSP_GEMM_ROW1", "tg_dsp_gemm_s8: rows one at a time (no scratch)",
         "tg_dsp_gemm_s8", gemm_row1),
    Flag("TG_CFG_DSP_GEMM_CLAMP", "tg_dsp_gemm_s8: the activation clamp",
         "tg_dsp_gemm_s8", gemm_clamp),
    Flag("TG_CFG_DSP_CW_GEMM_ONCE_S4", "tg_dsp_cw_gemm_s8: int4 blocks decoded once for "
         "all rows", "tg_dsp_cw_gemm_s8", cw_gemm_once_s4),
    Flag("TG_CFG_DSP_CW_GEMM_ONCE_PAL", "tg_dsp_cw_gemm_s8: palette blocks decoded once "
         "for all rows", "tg_dsp_cw_gemm_s8", cw_gemm_once_pal),
    Flag("TG_CFG_DSP_CW_GEMM_BLOCKS", "tg_dsp_cw_gemm_s8: blocks decoded channel by "
         "channel for chunks of rows", "tg_dsp_cw_gemm_s8", cw_gemm_blocks),
    Flag("TG_CFG_DSP_S4_GEMM_PAIRS", "tg_dsp_s4_gemm_s8: rows two at a time",
         "tg_dsp_s4_gemm_s8", s4_gemm_pairs),
)


@dataclass(frozen=True)
class Value:
    name: str                        # the C macro
    doc: str
    kernel: str                      # the function whose params `pick` reads
    pick: Callable[[list[dict]], int]   # the value for the params of all its calls
    default: int                     # with every path in (runtime_c's copy)


# Numbers rather than paths.  Any pass length runs every layer (only code size and speed
# change); without the skipping entry (TG_CFG_DSP_CONV_WHOLE 1) only columns of whole passes
# run, which `missing` checks against the folder's pass length (CONV_BLOCKS).
VALUES = (
    Value("TG_CFG_DSP_CONV_PASS", "tg_dsp_conv_s8: blocks a loop pass of the assembly "
          "(2..16)", "tg_dsp_conv_s8", conv_pass, 16),
    Value("TG_CFG_DSP_CONV_WHOLE", "tg_dsp_conv_s8: every column is whole passes (the "
          "assembly skips no blocks)", "tg_dsp_conv_s8", conv_whole, 0),
)
# project_flags' key (not in tg_config.h) for the column blocks of the calls the assembly runs
CONV_BLOCKS = "conv_blocks"
NUMBERS = {v.name for v in VALUES}
ALL = {**{f.name: True for f in FLAGS}, **{v.name: v.default for v in VALUES}}

# Fused calls that run a kernel on params of their own: the params of each
# (tg_dsp_resblock*: conv1 and conv2 on tg_dsp_conv_s8, row by row, the rows changing
# input_height and pad_top only, which no condition reads; the shortcut on
# tg_dsp_gemm_s8 with a scratch; the add on tg_dsp_add_table_s8 in the *_table_* blocks).
NESTED = {"tg_dsp_conv_s8": ("conv1", "conv2"), "tg_dsp_gemm_s8": ("shortcut",),
          "tg_dsp_add_table_s8": ("add",)}
# Kernels that build tg_dsp_gemm_s8's params at run time: tg_dsp_cw_gemm_s8 calls it with
# a scratch and its own activation range, on blocks of rows (at least one), or, on its
# rows-once path, tg_dsp_gemm_xrows_s8 (the pairs' pass, its post and the clamp: the same
# flags).
GEMM_CALLERS = ("tg_dsp_cw_gemm_s8",)
# tg_dsp_cw_conv_s8 runs tg_dsp_conv_s8 on its `conv` params through tg_dsp_conv_slice_s8,
# a block of channels at a time (output_depth and triples those of the block)
CONV_CALLERS = ("tg_dsp_cw_conv_s8",)
# tg_dsp_cw_depthwise_s8 runs tg_dsp_depthwise_s8 on its `dw` params (blocks of channels:
# only the depth changes, which no condition reads)
DEPTHWISE_CALLERS = ("tg_dsp_cw_depthwise_s8",)


def _block_triples(n: int, layer_triples: int) -> int:
    """tg_dsp_cw_conv.c's triples of a block of n channels (lowering/conv/dsp_cw.py's
    block_triples: channel_triples(n) when the layer has triples)."""
    t = n // 3 - (n % 3) % 2
    return max(t, 0) if layer_triples else 0


def _conv_blocks(p: dict) -> list[dict]:
    """The params tg_dsp_cw_conv_s8 gives tg_dsp_conv_slice_s8: one per block size."""
    conv, block = p["conv"], p["block"]
    channels = conv["output_depth"]
    sizes = {min(block, channels - c) for c in range(0, channels, block)}
    return [dict(conv, output_depth=n, slice=True,
                 triples=_block_triples(n, conv["triples"])) for n in sorted(sizes)]


def _params_for(call, kernel: str) -> list[dict]:
    scratch = {"scratch": True} if kernel == "tg_dsp_gemm_s8" else {}
    if call.kernel == kernel:
        return [dict(call.params, scratch=bool(call.scratch)) if scratch else call.params]
    if call.kernel.startswith("tg_dsp_resblock"):
        if kernel == "tg_dsp_add_table_s8" and "_table" not in call.kernel:
            return []
        return [dict(call.params[k], **scratch) for k in NESTED.get(kernel, ())
                if k in call.params]
    if kernel == "tg_dsp_conv_s8" and call.kernel in CONV_CALLERS:
        return _conv_blocks(call.params)
    if kernel == "tg_dsp_depthwise_s8" and call.kernel in DEPTHWISE_CALLERS:
        return [call.params["dw"]]
    if kernel == "tg_dsp_gemm_s8" and call.kernel in GEMM_CALLERS:
        p = call.params
        # (any depth: the per-pair call too)
        return [dict(rows=1, act_min=p["act_min"], act_max=p["act_max"], scratch=True,
                     out_w=1, out_h=1, depth=1, output_offset=p["output_offset"])]
    return []


# Kernels whose flags only add paths to one that is always compiled in: a call may take none
# of them (tg_dsp_s4_gemm_s8 on one row).
ADDED_PATHS = ("tg_dsp_s4_gemm_s8",)


def project_flags(calls: Iterable) -> dict[str, bool]:
    """{flag: whether some call takes its path} over the LayerCalls of every model, and
    each VALUES number picked from them.

    A kernel no call runs keeps all its paths (its file may still be in the project, as a
    module another includes; the linker drops it): the C stops with #error when every path
    of a kernel is out, which then cannot happen (but for ADDED_PATHS' kernels, which have
    no such check)."""
    calls = list(calls)
    flags = {f.name: any(f.needs(p) for c in calls for p in _params_for(c, f.kernel))
             for f in FLAGS}
    for kernel in {f.kernel for f in FLAGS}:
        group = [f.name for f in FLAGS if f.kernel == kernel]
        if not any(flags[n] for n in group) and not (
                kernel in ADDED_PATHS and any(_params_for(c, kernel) for c in calls)):
            flags.update({n: True for n in group})
    for v in VALUES:
        flags[v.name] = v.pick([p for c in calls for p in _params_for(c, v.kernel)])
    flags[CONV_BLOCKS] = tuple(_asm_blocks(
        [p for c in calls for p in _params_for(c, "tg_dsp_conv_s8")]))
    return flags


def render(flags: dict[str, bool]) -> bytes:
    """The text of tg_config.h for these flag values (byte-identical for the same values)."""
    lines = [
        "/* tg_config.h - the kernel paths compiled in (tinygen writes it for each project). */",
        "/*",
        " * Each TG_CFG_ flag compiles one path of a kernel in (1) or out (0).  tinygen sets",
        " * it to whether a layer of the project takes the path (codegen/kernel_config.py),",
        " * so paths no layer takes cost no flash (`tinygen --all-kernel-paths`: all in).",
        " * runtime_c's copy, in a stand-alone runtime, has every path in.",
        " */",
        "#ifndef TG_CONFIG_H",
        "#define TG_CONFIG_H",
        "",
        '#include "tg_common.h"',
        "",
    ]
    for f in FLAGS:     # (no #ifndef: each would be one more configuration for cppcheck)
        lines += [f"/* {f.doc} */", f"#define {f.name} {int(bool(flags[f.name]))}"]
    for v in VALUES:
        lines += [f"/* {v.doc} */", f"#define {v.name} {int(flags.get(v.name, v.default))}"]
    lines += ["", "#endif /* TG_CONFIG_H */", ""]
    return "\n".join(lines).encode("ascii")


def parse(text: str) -> dict[str, bool]:
    """The flag values a tg_config.h sets (a flag it does not name is taken as in)."""
    values = dict(ALL)
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "#define" and parts[1] in values:
            if parts[1] not in NUMBERS:
                values[parts[1]] = parts[2] != "0"
            elif parts[2].isdigit():
                values[parts[1]] = int(parts[2])
    return values


def missing(have: dict[str, bool], need: dict[str, bool]) -> list[str]:
    """The flags `need` sets that `have` compiles out (and TG_CFG_DSP_CONV_WHOLE when `have`
    sets it and a column of `need` is not whole passes of its length)."""
    out = [f.name for f in FLAGS if need.get(f.name) and not have.get(f.name, True)]
    length = have.get("TG_CFG_DSP_CONV_PASS", 16) or 16
    if have.get("TG_CFG_DSP_CONV_WHOLE", 0) and \
            any(b % length for b in need.get(CONV_BLOCKS, ())):
        out.append("TG_CFG_DSP_CONV_WHOLE")
    return out
