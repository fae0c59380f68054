"""Graph passes: pure functions Graph -> Graph run between import and lowering."""
from __future__ import annotations

from codegen.graph import Graph
from codegen.passes.dead_code import remove_dead_ops
from codegen.passes.decompress import decompress
from codegen.passes.fold_constants import fold_constants
from codegen.passes.fold_pad import fold_pads

# Compressed constants (DENSIFY, TFLM_DECODE) first: what they feed may then fold.
# Folding next: an operator that only fed a folded one (e.g. SHAPE) is then dead; PADs
# are folded into convolutions after constants (their paddings may be computed).
PASSES = [decompress, fold_constants, fold_pads, remove_dead_ops]
# the passes whose result is still a plain TFLite graph (reference.folded_model writes it)
TFLITE_PASSES = [decompress, fold_constants, remove_dead_ops]


def run_passes(graph: Graph, passes=None) -> Graph:
    for p in PASSES if passes is None else passes:
        graph = p(graph)
    return graph
