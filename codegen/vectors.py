"""Random input vectors for a model: the self-test's golden vectors and `tinygen verify` use them."""
from __future__ import annotations

import numpy as np

from codegen.ops.gather import positions_range
from codegen.graph import Graph

# tinygen's tensor types as numpy dtypes (bool is stored as one byte)
NP_DTYPES = {"int8": np.int8, "uint8": np.uint8, "int16": np.int16, "int32": np.int32,
             "float32": np.float32, "int64": np.int64, "bool": np.uint8}


def random_inputs(graph: Graph, rng: np.random.Generator) -> list[np.ndarray]:
    """Inputs covering each input's whole representable range."""
    out = []
    consumers = graph.consumers()
    for t_idx in graph.inputs:
        t = graph.tensors[t_idx]
        if t.dtype in ("int8", "uint8", "int16"):
            info = np.iinfo(NP_DTYPES[t.dtype])
            x = rng.integers(info.min, info.max, size=t.shape, endpoint=True)
            out.append(x.astype(NP_DTYPES[t.dtype]))
        elif t.dtype == "float32":
            lo, hi = -4.0, 4.0
            for op in consumers.get(t_idx, []):
                q = graph.tensors[op.outputs[0]].quant
                if op.opcode == "QUANTIZE" and q is not None:
                    s, zp = float(q.scale[0]), int(q.zero_point[0])
                    lo, hi = s * (-128 - zp), s * (127 - zp)
                    span = hi - lo
                    lo, hi = lo - 0.1 * span, hi + 0.1 * span
            out.append(rng.uniform(lo, hi, size=t.shape).astype(np.float32))
        elif t.dtype == "int32":
            # positions of a GATHER stay inside its axis; other int32 inputs span -1000..999
            lo, hi = positions_range(graph, t_idx) or (-1000, 999)
            out.append(rng.integers(lo, hi, size=t.shape, endpoint=True).astype(np.int32))
        else:
            raise ValueError(f"cannot make random inputs of type {t.dtype}")
    return out
