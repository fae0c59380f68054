"""Graph passes: pure functions Graph -> Graph run between import and lowering."""
from __future__ import annotations

from codegen.graph import Graph
from codegen.passes.dead_code import remove_dead_ops
from codegen.passes.decompress import decompress
from codegen.passes.fold_constants import fold_constants

# Compressed constants (DENSIFY, TFLM_DECODE) first: what they feed may then fold.
# Folding next: an operator that only fed a folded one (e.g. SHAPE) is then dead.
PASSES = [decompress, fold_constants, remove_dead_ops]


def run_passes(graph: Graph) -> Graph:
    for p in PASSES:
        graph = p(graph)
    return graph
