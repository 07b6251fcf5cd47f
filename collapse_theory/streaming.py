"""Streamed summaries: per-chain values reduced block by block, in memory independent of the chain count.

A :class:`Cell` summarises one metric at one recorded generation. Values arrive in chain order
(one chunk at a time, from any chunk size); the cell copies them into a buffer of
:data:`~collapse_theory.moments.BLOCK` values and reduces each full block to its
:class:`~collapse_theory.moments.Moments` (and, when streaming, a
:class:`~collapse_theory.sketch.Sketch` of its values), merged along the canonical tree of
:class:`~collapse_theory.moments.Tree`. The kept-chains summaries
(:func:`collapse_theory.summaries.summarize`) feed the whole row through the same class, so the
counts, mean, standard error, kurtosis and mean of logs are bit-identical between the two paths;
quantiles are exact from kept values and within the sketch's stated rank error when streamed.

Cells of a process that ran a block-aligned range of chains are packed with :func:`pack` (a few
nodes each) and merged on process 0 with :func:`merge_packed`, exactly as one process would have.
"""

from __future__ import annotations

import io

import numpy as np

from collapse_theory.moments import BLOCK, Moments, Tree, leaf, merge
from collapse_theory.sketch import Sketch

__all__ = ["Cell", "pack", "unpack", "merge_packed", "cell_bytes"]

Node = tuple[Moments, Sketch | None]


def _combine(a: Node, b: Node) -> Node:
    sa, sb = a[1], b[1]
    return merge(a[0], b[0]), (sa.merge(sb) if sa is not None and sb is not None else None)


class Cell:
    """The streamed summary of one metric at one recorded generation.

    Args:
        first_chain: global index of the first chain fed (a multiple of BLOCK).
        sketch: also build the quantile sketch (False for kept values, whose quantiles are exact).

    """

    def __init__(self, first_chain: int = 0, *, sketch: bool = True):
        if first_chain % BLOCK:
            raise ValueError(f"a cell starts at a multiple of {BLOCK} chains, got {first_chain}")
        self.sketch = sketch
        self.buf = np.empty(BLOCK, dtype=np.float64)
        self.fill = 0
        self.block = first_chain // BLOCK
        self.tree: Tree[Node] = Tree(_combine)
        self.nonpos = False  # a value <= 0 was fed: the mean of logs is undefined, skip the logs

    def feed(self, x: np.ndarray) -> None:
        """Add the values of the next chains (in chain order)."""
        x = np.asarray(x, dtype=np.float64)
        i, n = 0, x.size
        while i < n:
            m = min(BLOCK - self.fill, n - i)
            self.buf[self.fill : self.fill + m] = x[i : i + m]
            self.fill += m
            i += m
            if self.fill == BLOCK:
                self._flush()

    def _flush(self) -> None:
        v = self.buf[: self.fill]
        mom = leaf(v, logs=not self.nonpos)
        self.nonpos = self.nonpos or mom.n_nonpos > 0
        sk = None
        if self.sketch:
            sk = Sketch.of(v if mom.k == mom.n else v[np.isfinite(v)])
        self.tree.push(self.block, (mom, sk))
        self.block += 1
        self.fill = 0

    def close(self) -> None:
        """Reduce the last, partial block (call once, after the last chain)."""
        if self.fill:
            self._flush()

    def result(self) -> Node:
        """Moments and sketch of every value fed (after :meth:`close`)."""
        out = self.tree.result()
        return out if out is not None else (Moments(), None)

    def nbytes(self) -> int:
        """Approximate bytes held."""
        return self.buf.nbytes + sum(s.nbytes() for _, _, (_, s) in self.tree.nodes if s is not None)


def cell_bytes(chains: int) -> int:
    """An upper bound on one streaming cell's memory for ``chains`` chains (tree stack of sketches)."""
    from collapse_theory.sketch import CAPACITY

    height = max(1, int(np.ceil(np.log2(max(chains, 1) / BLOCK + 1))) + 1)
    return BLOCK * 8 + height * 2 * CAPACITY * 8 + 2 * CAPACITY * 8


def _put(out: dict[str, np.ndarray], key: str, cell: Cell) -> None:
    nodes = cell.tree.nodes
    meta = [cell.fill, cell.block, len(nodes), int(cell.sketch), int(cell.nonpos)]
    out[f"{key}/meta"] = np.asarray(meta, dtype=np.int64)
    out[f"{key}/buf"] = cell.buf[: cell.fill].copy()
    for j, (h, i, (mom, sk)) in enumerate(nodes):
        out[f"{key}/{j}/hi"] = np.asarray([h, i], dtype=np.int64)
        out[f"{key}/{j}/m"] = mom.to_array()
        if sk is not None:
            for lv, a in enumerate(sk.to_arrays()):
                out[f"{key}/{j}/s{lv}"] = a


def _get(arrays, key: str) -> Cell:
    fill, block, nnodes, sketch, nonpos = (int(x) for x in arrays[f"{key}/meta"])
    cell = Cell(0, sketch=bool(sketch))
    cell.nonpos = bool(nonpos)
    cell.block = block
    cell.fill = fill
    cell.buf[:fill] = arrays[f"{key}/buf"]
    for j in range(nnodes):
        h, i = (int(x) for x in arrays[f"{key}/{j}/hi"])
        mom = Moments.from_array(arrays[f"{key}/{j}/m"])
        sk = None
        if sketch:
            head = arrays[f"{key}/{j}/s0"]
            parts = [head] + [arrays[f"{key}/{j}/s{lv}"] for lv in range(1, 1 + int(head[1]))]
            sk = Sketch.from_arrays(parts)
        cell.tree.nodes.append((h, i, (mom, sk)))
    return cell


def pack(cells: dict[str, Cell]) -> bytes:
    """Serialise cells (buffers, tree nodes, sketches) to bytes, exactly."""
    arrays: dict[str, np.ndarray] = {}
    for key, cell in cells.items():
        _put(arrays, key, cell)
    bio = io.BytesIO()
    np.savez(bio, **arrays)  # type: ignore[arg-type]
    return bio.getvalue()


def unpack(data: bytes, keys) -> dict[str, Cell]:
    """Inverse of :func:`pack` for the given cell keys."""
    with np.load(io.BytesIO(data), allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return {k: _get(arrays, k) for k in keys}


def merge_packed(parts: list[dict[str, Cell]]) -> dict[str, Cell]:
    """Merge closed cells of consecutive, block-aligned chain ranges (in range order) into the first."""
    first = parts[0]
    for later in parts[1:]:
        for key, cell in first.items():
            cell.tree.extend(later[key].tree.nodes)
    return first
