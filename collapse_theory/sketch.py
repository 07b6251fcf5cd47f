"""A deterministic, mergeable quantile sketch with a proven rank-error bound.

A compactor hierarchy in the style of Manku, Rajagopalan & Lindsay (1998): level l holds sorted
values of weight 2**l. Merging two sketches merges their levels; a level holding more than
:data:`CAPACITY` values is *compacted*: its first 2m values (an even count; at most one, the
largest, stays) are replaced by every other one (offsets 0 and 1 alternating), promoted to level
l + 1 with doubled weight.

**Rank-error bound.** For a value x let R(x) be the number of summarised values <= x and
R^(x) the total weight of sketch items <= x. Merging is exact (a union). A compaction at level l
changes R^(x) by at most 2**l for every x: the compacted values <= x are a prefix of r of the
sorted 2m, of which floor(r / 2) or ceil(r / 2) are kept with weight 2 * 2**l. Hence
``|R^(x) - R(x)| <= E`` for all x, with ``E`` (:attr:`Sketch.error`) the sum of 2**l over
every compaction performed, tracked exactly. Consequently the item estimating the j-th order
statistic (the smallest item y with R^(y) >= j + 1) lies between the exact order statistics
x_(j - E) and x_(j + E) (0-based; proof in docs/scale-out.md). Up to CAPACITY values nothing is
compacted and the sketch is exact (E = 0).

Built over blocks of :data:`collapse_theory.moments.BLOCK` chains along the canonical tree
of :class:`collapse_theory.moments.Tree`, the sketch of a metric is a deterministic function of
the values and the chain count, whatever the chunking, device or process count. Its error, for
n values in N = n / BLOCK blocks, is about ``(log2 N - 1) * n / (4 * CAPACITY)`` ranks
(``8e-4 n`` for n = 5e7, ``1e-3 n`` for 1e9); each summary reports the exact E.

References:
    Manku, Rajagopalan & Lindsay, "Approximate medians and other quantiles in one pass and with
    limited memory", SIGMOD 1998; Agarwal et al., "Mergeable summaries", PODS 2012.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["CAPACITY", "Sketch"]

CAPACITY = 8192
"""Values a level may hold after a merge (8 bytes each)."""


class Sketch:
    """Sorted levels of weighted values, a compaction counter per level and the rank-error bound."""

    __slots__ = ("levels", "parity", "error")

    def __init__(self, levels: list[np.ndarray], parity: list[int], error: int):
        self.levels = levels
        self.parity = parity
        self.error = error

    @classmethod
    def of(cls, finite: np.ndarray) -> Sketch:
        """The sketch of a block's finite values (exact up to CAPACITY values)."""
        return cls([np.sort(finite)], [0], 0)._compact()

    @property
    def count(self) -> int:
        """Total weight: the number of values summarised."""
        return sum(len(v) << lv for lv, v in enumerate(self.levels))

    def nbytes(self) -> int:
        """Bytes held by the levels."""
        return sum(v.nbytes for v in self.levels)

    def merge(self, other: Sketch) -> Sketch:
        """The sketch of the union (``self``'s values first; the result is new)."""
        height = max(len(self.levels), len(other.levels))
        levels: list[np.ndarray] = []
        parity: list[int] = []
        for lv in range(height):
            a = self.levels[lv] if lv < len(self.levels) else None
            b = other.levels[lv] if lv < len(other.levels) else None
            levels.append(_union(a, b))
            pa = self.parity[lv] if lv < len(self.parity) else 0
            pb = other.parity[lv] if lv < len(other.parity) else 0
            parity.append(pa + pb)
        return Sketch(levels, parity, self.error + other.error)._compact()

    def _compact(self) -> Sketch:
        """Compact every level above CAPACITY, lowest first (in place; returns self)."""
        levels, parity = self.levels, self.parity
        lv = 0
        while lv < len(levels):
            vals = levels[lv]
            if len(vals) > CAPACITY:
                m = len(vals) // 2 * 2
                kept = vals[parity[lv] % 2 : m : 2]
                parity[lv] += 1
                self.error += 1 << lv
                levels[lv] = vals[m:].copy()
                if lv + 1 == len(levels):
                    levels.append(kept.copy())
                    parity.append(0)
                else:
                    levels[lv + 1] = _union(levels[lv + 1], kept)
            lv += 1
        return self

    def _items(self) -> tuple[np.ndarray, np.ndarray]:
        vals = np.concatenate(self.levels) if self.levels else np.zeros(0)
        weights = np.concatenate([np.full(len(v), 1 << lv, dtype=np.int64) for lv, v in enumerate(self.levels)])
        order = np.argsort(vals, kind="stable")
        return vals[order], np.cumsum(weights[order])

    def order_statistics(self, ranks: np.ndarray) -> np.ndarray:
        """Estimates of the 0-based order statistics x_(j): each within x_(j - E) .. x_(j + E)."""
        vals, cum = self._items()
        idx = np.searchsorted(cum, np.asarray(ranks, dtype=np.int64) + 1, side="left")
        return vals[np.minimum(idx, len(vals) - 1)]

    def quantile(self, p: float) -> float:
        """The p-quantile, interpolated linearly between order statistics like ``numpy.quantile``.

        Exact (numpy's own value) when nothing was compacted; otherwise it lies between
        x_(floor(h) - E) and x_(floor(h) + 1 + E), h = p (n - 1).
        """
        n = self.count
        if self.error == 0:
            return float(np.quantile(self.levels[0], p))
        h = p * (n - 1)
        j = math.floor(h)
        lo, hi = self.order_statistics(np.array([j, min(j + 1, n - 1)]))
        return float(lo + (h - j) * (hi - lo))

    # --- serialisation ---
    def to_arrays(self) -> list[np.ndarray]:
        """Header ``[error, levels, parity...]`` then one array per level."""
        head = np.asarray([self.error, len(self.levels), *self.parity], dtype=np.int64)
        return [head, *self.levels]

    @classmethod
    def from_arrays(cls, arrays: list[np.ndarray]) -> Sketch:
        """Inverse of :meth:`to_arrays`."""
        head = np.asarray(arrays[0], dtype=np.int64)
        nlev = int(head[1])
        return cls([np.asarray(a, np.float64) for a in arrays[1 : 1 + nlev]], [int(x) for x in head[2:]], int(head[0]))


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray:
    """Merge two sorted arrays (numpy's vectorised quicksort beats merging the two runs)."""
    if a is None or len(a) == 0:
        return np.zeros(0) if b is None else b
    if b is None or len(b) == 0:
        return a
    return np.sort(np.concatenate([a, b]))
