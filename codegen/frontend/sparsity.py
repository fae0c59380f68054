"""TFLite sparse tensors (Tensor.sparsity): read and densify them exactly.

A sparse tensor's `shape` is its dense shape; its buffer holds only the values
the format keeps.  The format (TFLite's schema, `SparsityParameters`):

* the n dense dimensions may be split into blocks: `block_map[i]` names the
  dense dimension block dimension n+i divides; then dimension d (blocked) has
  shape[d] / block_size entries and the block dimension block_size entries;
* `traversal_order` is the order in which the n + k (expanded) dimensions are
  walked, outermost first; `dim_metadata[i]` describes level i of that walk;
* a DENSE level has `dense_size` entries, all kept; a SPARSE_CSR level keeps,
  for each position p of the level above, the entries
  `array_indices[array_segments[p]:array_segments[p + 1]]`;
* the buffer holds one value per leaf of the walk, in walk order.

The size of a block dimension is the `dense_size` of its (dense) level.  All
functions here are pure; `densify` checks everything it follows and raises
ModelError naming the tensor and what is wrong.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codegen.errors import ModelError, UnsupportedError
from codegen.frontend.flatbuf import Table

DENSE, SPARSE_CSR = 0, 1
FORMAT_NAMES = {DENSE: "DENSE", SPARSE_CSR: "SPARSE_CSR"}

# Schema slots (schema.fbs order; a union takes two slots: its type, then its value).
_SPARSITY = dict(traversal_order=0, block_map=1, dim_metadata=2)
_DIM = dict(format=0, dense_size=1, array_segments_type=2, array_segments=3,
            array_indices_type=4, array_indices=5)
# SparseIndexVector union member -> (its vector element kind, name)
INDEX_VECTOR_TYPES = {1: ("int32", "Int32Vector"), 2: ("uint16", "Uint16Vector"),
                      3: ("uint8", "Uint8Vector")}


@dataclass
class DimMetadata:
    format: int                         # DENSE or SPARSE_CSR
    dense_size: int = 0                 # DENSE: the level's size
    segments: np.ndarray | None = None  # SPARSE_CSR: int64 arrays
    indices: np.ndarray | None = None


@dataclass
class Sparsity:
    traversal_order: list[int]
    block_map: list[int] = field(default_factory=list)
    dims: list[DimMetadata] = field(default_factory=list)


def read_sparsity(t: Table, where: str) -> Sparsity:
    """The SparsityParameters table of a tensor, with its vectors read (bounds-checked)."""
    order = t.vector(_SPARSITY["traversal_order"], "int32", "traversal_order")
    bmap = t.vector(_SPARSITY["block_map"], "int32", "block_map")
    dims = []
    for k, d in enumerate(t.tables(_SPARSITY["dim_metadata"], "dim_metadata", "dimension")):
        fmt = d.scalar(_DIM["format"], "int8", DENSE, "format")
        if fmt not in FORMAT_NAMES:
            raise ModelError(f"{where}: sparsity dimension {k} has an unknown format {fmt} "
                             "(TFLite knows DENSE = 0 and SPARSE_CSR = 1)")
        size = d.scalar(_DIM["dense_size"], "int32", 0, "dense_size")
        if fmt == DENSE:
            dims.append(DimMetadata(DENSE, dense_size=int(size)))
            continue
        vecs = []
        for part in ("array_segments", "array_indices"):
            utype = d.scalar(_DIM[part + "_type"], "uint8", 0, part + "_type")
            table = d.union_table(_DIM[part], part)
            if utype not in INDEX_VECTOR_TYPES or table is None:
                raise ModelError(f"{where}: sparsity dimension {k} is SPARSE_CSR but its "
                                 f"{part} is missing or of unknown type {utype}")
            kind, _ = INDEX_VECTOR_TYPES[utype]
            v = table.vector(0, kind, f"{part} values")
            vecs.append(np.zeros(0, np.int64) if v is None else v.astype(np.int64))
        dims.append(DimMetadata(SPARSE_CSR, segments=vecs[0], indices=vecs[1]))
    return Sparsity(traversal_order=[] if order is None else [int(x) for x in order],
                    block_map=[] if bmap is None else [int(x) for x in bmap], dims=dims)


def _layout(sp: Sparsity, shape: tuple[int, ...], where: str
            ) -> tuple[list[int], list[int]]:
    """Check the format's structure against the dense shape.

    Returns (the size of each expanded dimension, the block size of each block dimension)."""
    n, k = len(shape), len(sp.block_map)
    m = n + k
    bad = f"{where}: sparsity parameters"
    if n == 0:
        raise ModelError(f"{bad} on a scalar; only tensors with dimensions can be sparse")
    if sorted(sp.traversal_order) != list(range(m)):
        raise ModelError(f"{bad}: traversal_order {sp.traversal_order} is not an order of the "
                         f"{m} dimensions ({n} dense + {k} block)")
    if len(sp.dims) != m:
        raise ModelError(f"{bad}: {len(sp.dims)} dim_metadata entries for {m} dimensions")
    if len(set(sp.block_map)) != k or any(not 0 <= d < n for d in sp.block_map):
        raise ModelError(f"{bad}: block_map {sp.block_map} must name distinct dimensions of "
                         f"the rank-{n} tensor")
    level_of = {d: lvl for lvl, d in enumerate(sp.traversal_order)}
    blocks = []
    for i in range(k):
        meta = sp.dims[level_of[n + i]]
        if meta.format != DENSE or meta.dense_size <= 0:
            raise UnsupportedError(f"{bad}: block dimension {n + i} is not DENSE with a "
                                   "positive size; tinygen reads dense blocks only")
        dim = sp.block_map[i]
        if shape[dim] % meta.dense_size:
            raise ModelError(f"{bad}: block size {meta.dense_size} does not divide dimension "
                             f"{dim} of shape {list(shape)}")
        blocks.append(meta.dense_size)
    sizes = list(shape) + blocks
    for i, dim in enumerate(sp.block_map):
        sizes[dim] = shape[dim] // blocks[i]
    for lvl, d in enumerate(sp.traversal_order):
        meta = sp.dims[lvl]
        if meta.format == DENSE and meta.dense_size != sizes[d]:
            raise ModelError(f"{bad}: level {lvl} (dimension {d}) is DENSE of size "
                             f"{meta.dense_size}, but the dimension has {sizes[d]} entries")
    return sizes, blocks


def stored_count(sp: Sparsity, shape: tuple[int, ...], where: str) -> int:
    """How many values the buffer of a sparse tensor must hold, with every level's
    segments and indices checked; allocates nothing of the dense size (a hostile file
    may declare a huge dense shape)."""
    sizes, _ = _layout(sp, shape, where)
    space = 1                                   # positions at the current level
    for lvl, d in enumerate(sp.traversal_order):
        meta, size = sp.dims[lvl], sizes[d]
        if meta.format == DENSE:
            space *= size
            continue
        what = f"{where}: sparsity level {lvl} (dimension {d}, SPARSE_CSR)"
        seg, idx = meta.segments, meta.indices
        if seg.size != space + 1:
            raise ModelError(f"{what}: array_segments has {seg.size} entries; the level above "
                             f"has {space} positions, so it needs {space + 1}")
        if seg[0] != 0 or np.any(np.diff(seg) < 0) or seg[-1] != idx.size:
            raise ModelError(f"{what}: array_segments must rise from 0 to the {idx.size} "
                             f"array_indices, got {seg[:8].tolist()}"
                             f"{'...' if seg.size > 8 else ''}")
        if idx.size and (idx.min() < 0 or idx.max() >= size):
            raise ModelError(f"{what}: array_indices holds {int(idx.max())} (or a negative "
                             f"index); the dimension has {size} entries")
        space = idx.size
    return space


def _walk(sp: Sparsity, shape: tuple[int, ...]) -> tuple[list[int], np.ndarray]:
    """(expanded sizes, leaf coordinates in walk order: one row per value, one column per
    level), for parameters `stored_count` has checked."""
    sizes, _ = _layout(sp, shape, "")
    coords = np.zeros((1, 0), dtype=np.int64)   # one row per position of the current level
    for lvl, d in enumerate(sp.traversal_order):
        meta, size, space = sp.dims[lvl], sizes[d], coords.shape[0]
        if meta.format == DENSE:
            col = np.tile(np.arange(size, dtype=np.int64), space)
            coords = np.concatenate([np.repeat(coords, size, axis=0), col[:, None]], axis=1)
            continue
        counts = np.diff(meta.segments)
        coords = np.concatenate([np.repeat(coords, counts, axis=0), meta.indices[:, None]],
                                axis=1)
    return sizes, coords


def densify(sp: Sparsity, shape: tuple[int, ...], values: np.ndarray, where: str
            ) -> np.ndarray:
    """The dense tensor (shape `shape`, dtype of `values`) a sparse tensor stands for."""
    shape = tuple(int(s) for s in shape)
    n = len(shape)
    values = np.asarray(values).reshape(-1)
    kept = stored_count(sp, shape, where)
    if kept != values.size:
        raise ModelError(f"{where}: its sparsity parameters keep {kept} value(s), "
                         f"but its buffer holds {values.size}")
    sizes, coords = _walk(sp, shape)
    expanded = np.zeros((coords.shape[0], len(sizes)), dtype=np.int64)
    expanded[:, sp.traversal_order] = coords
    dense_idx = expanded[:, :n].copy()
    for i, dim in enumerate(sp.block_map):
        dense_idx[:, dim] = dense_idx[:, dim] * sizes[n + i] + expanded[:, n + i]
    flat = np.ravel_multi_index(tuple(dense_idx.T), shape) if n else np.zeros(0, np.int64)
    if np.unique(flat).size != flat.size:
        raise ModelError(f"{where}: its sparse indices name the same element twice "
                         "(array_indices repeats an index within a segment)")
    out = np.zeros(int(np.prod(shape, dtype=np.int64)), dtype=values.dtype)
    out[flat] = values
    return out.reshape(shape)


def sparsify(dense: np.ndarray, formats: list[int], traversal_order: list[int] | None = None,
             block_map: list[int] = (), block_size: list[int] = ()
             ) -> tuple[Sparsity, np.ndarray]:
    """Encode a dense tensor (the inverse of `densify`, for the model writer and tests).

    `formats` gives DENSE/SPARSE_CSR per level of the walk (block levels must be DENSE);
    a SPARSE_CSR level keeps the entries whose sub-tree holds a non-zero value.
    Returns the parameters and the kept values in walk order."""
    dense = np.asarray(dense)
    n, k = dense.ndim, len(block_map)
    order = list(range(n + k)) if traversal_order is None else list(traversal_order)
    sizes = list(dense.shape) + list(block_size)
    for i, dim in enumerate(block_map):
        sizes[dim] = dense.shape[dim] // block_size[i]
    # expanded tensor: axes = the n grid dimensions, then the k block dimensions
    split = []
    for d in range(n):
        if d in block_map:
            split += [sizes[d], block_size[list(block_map).index(d)]]
        else:
            split += [sizes[d]]
    blocked = dense.reshape(split)
    axes, pos = [], 0
    grid_axis, block_axis = {}, {}
    for d in range(n):
        grid_axis[d] = pos
        pos += 1
        if d in block_map:
            block_axis[list(block_map).index(d)] = pos
            pos += 1
    axes = [grid_axis[d] for d in range(n)] + [block_axis[i] for i in range(k)]
    expanded = blocked.transpose(axes)
    walk = expanded.transpose(order)            # axes in walk order
    nonzero = walk != 0
    dims: list[DimMetadata] = []
    coords = np.zeros((1, 0), dtype=np.int64)
    for lvl, fmt in enumerate(formats):
        size = walk.shape[lvl]
        if fmt == DENSE:
            dims.append(DimMetadata(DENSE, dense_size=size))
            col = np.tile(np.arange(size, dtype=np.int64), coords.shape[0])
            coords = np.concatenate([np.repeat(coords, size, axis=0), col[:, None]], axis=1)
            continue
        below = nonzero.any(axis=tuple(range(lvl + 1, walk.ndim))) if lvl + 1 < walk.ndim \
            else nonzero
        keep = below[tuple(coords.T)] if coords.shape[1] else below[None, :]
        keep = keep.reshape(coords.shape[0], size)
        rows, cols = np.nonzero(keep)
        seg = np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int64)
        dims.append(DimMetadata(SPARSE_CSR, segments=seg, indices=cols.astype(np.int64)))
        coords = np.concatenate([coords[rows], cols[:, None]], axis=1)
    values = walk[tuple(coords.T)] if coords.shape[1] else walk.reshape(-1)
    return Sparsity(order, list(block_map), dims), np.ascontiguousarray(values)
