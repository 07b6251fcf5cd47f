"""Mergeable moments over fixed chain-index blocks, merged along one canonical tree.

Every summary of per-chain values (kept or streamed, on one process or many) computes its
counts and moments the same way, so they are **bit-identical** whatever the chunking, device
count or process count:

1. The chains are cut into fixed blocks of :data:`BLOCK` consecutive chain indices (block b holds
   chains ``b * BLOCK .. (b + 1) * BLOCK - 1``; the last block may be shorter).
2. A block's values are copied into a buffer of its own and reduced by :func:`leaf` (numpy, two
   passes: counts, mean, then scaled central power sums).
3. Blocks are merged along the canonical binary tree over block indices (:class:`Tree`): node
   ``(h, i)`` merges ``(h - 1, 2i)`` and ``(h - 1, 2i + 1)``; the maximal nodes of the binary
   decomposition of the block count are then folded left to right. The tree depends only on the
   number of blocks, so a process holding any contiguous, block-aligned range of chains can merge
   its part locally and ship a handful of nodes (at most two per tree level).

The merge is Chan, Golub & LeVeque's (1979) for the mean and M2, with Pebay's (2008) updates of
M3 and M4. Central power sums are stored divided by ``scale ** j``, ``scale`` bounding the
deviations from the mean, so that d^4 neither overflows nor underflows for any finite float64
values (the single-pass alternative of raw power sums would cancel catastrophically).

References:
    Chan, Golub & LeVeque, "Updating formulae and a pairwise algorithm for computing sample
    variances", 1979; Pebay, "Formulas for robust, one-pass parallel computation of covariances
    and arbitrary-order statistical moments", Sandia report SAND2008-6212.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import astuple, dataclass, fields
from typing import Generic, TypeVar

import numpy as np

__all__ = ["BLOCK", "Moments", "leaf", "merge", "Tree"]

BLOCK = 65536
"""Chains per block. Process chain ranges are multiples of it, so blocks never straddle processes."""


@dataclass
class Moments:
    """Counts and moments of a set of float64 values (one metric at one recorded generation).

    Attributes:
        n: values; n_nan, n_posinf, n_neginf: the non-finite ones.
        k: finite values; every statistic below is over them.
        mean: their mean; scale: a bound on |x - mean| (0 when all finite values agree).
        m2, m3, m4: sum of ((x - mean) / scale) ** j.
        lo, hi: the smallest and largest finite value (+inf, -inf when there is none).
        n_nonpos: finite values <= 0 (the mean of logs needs none).
        log_mean, log_m2: mean and central sum of squares of log(x) (meaningful when n_nonpos = 0).

    """

    n: int = 0
    n_nan: int = 0
    n_posinf: int = 0
    n_neginf: int = 0
    k: int = 0
    mean: float = 0.0
    scale: float = 0.0
    m2: float = 0.0
    m3: float = 0.0
    m4: float = 0.0
    lo: float = math.inf
    hi: float = -math.inf
    n_nonpos: int = 0
    log_mean: float = 0.0
    log_m2: float = 0.0

    def to_array(self) -> np.ndarray:
        """The fields as one float64 vector (counts are exact below 2**53)."""
        return np.asarray(astuple(self), dtype=np.float64)

    @classmethod
    def from_array(cls, a: np.ndarray) -> Moments:
        """Inverse of :meth:`to_array`."""
        kw = {f.name: int(x) if f.type == "int" else float(x) for f, x in zip(fields(cls), a, strict=True)}
        return cls(**kw)  # type: ignore[arg-type]

    # --- derived statistics (the formulas of collapse_theory.summaries) ---
    def variance_ratio(self) -> float:
        """m2 / (k - 1) in scaled units (NaN below two finite values)."""
        return self.m2 / (self.k - 1) if self.k > 1 else math.nan

    def se(self) -> float:
        """Standard error of the mean: sample SD / sqrt(k); 0 where every finite value agrees."""
        if self.k >= 1 and self.m2 == 0:
            return 0.0
        if self.k < 2:
            return math.nan
        return self.scale * math.sqrt(self.m2 / (self.k - 1)) / math.sqrt(self.k)

    def kurtosis(self) -> float:
        """Sample kurtosis m4 / m2^2 (with 1/k moments); 1 where every finite value agrees."""
        if self.k == 0:
            return math.nan
        return self.k * self.m4 / (self.m2 * self.m2) if self.m2 > 0 else 1.0

    def mean_log(self) -> tuple[float, float]:
        """Mean of log(x) and its standard error; NaN unless every finite value is positive."""
        if self.k == 0 or self.n_nonpos > 0:
            return math.nan, math.nan
        se = math.sqrt(self.log_m2 / (self.k - 1)) / math.sqrt(self.k) if self.k > 1 else math.nan
        return self.log_mean, se


def leaf(x: np.ndarray, logs: bool = True) -> Moments:
    """Moments of one block's values (a contiguous float64 vector of at most :data:`BLOCK` values).

    ``logs=False`` skips the logarithms (their moments stay 0) when an earlier block already had
    a value <= 0, so that the mean of logs is undefined for the whole set anyway.
    """
    out = Moments(n=int(x.size))
    fin = np.isfinite(x)
    if fin.all():
        f = x
    else:
        f = x[fin]
        out.n_nan = int(np.count_nonzero(np.isnan(x)))
        out.n_posinf = int(np.count_nonzero(x == math.inf))
        out.n_neginf = int(np.count_nonzero(x == -math.inf))
    k = int(f.size)
    out.k = k
    if k == 0:
        return out
    mean = float(f.mean())
    d = f - mean
    scale = float(np.max(np.abs(d)))
    out.mean, out.scale = mean, scale
    if scale > 0:
        z = d / scale
        z2 = z * z
        out.m2, out.m3, out.m4 = float(z2.sum()), float((z2 * z).sum()), float((z2 * z2).sum())
    out.lo, out.hi = float(f.min()), float(f.max())
    out.n_nonpos = int(np.count_nonzero(f <= 0))
    if out.n_nonpos == 0 and logs:
        lg = np.log(f)
        lm = float(lg.mean())
        e = lg - lm
        out.log_mean, out.log_m2 = lm, float((e * e).sum())
    return out


def merge(a: Moments, b: Moments) -> Moments:
    """The moments of the union of two disjoint sets (a's values first)."""
    out = Moments(
        n=a.n + b.n,
        n_nan=a.n_nan + b.n_nan,
        n_posinf=a.n_posinf + b.n_posinf,
        n_neginf=a.n_neginf + b.n_neginf,
        k=a.k + b.k,
        lo=min(a.lo, b.lo),
        hi=max(a.hi, b.hi),
        n_nonpos=a.n_nonpos + b.n_nonpos,
    )
    if a.k == 0 or b.k == 0:
        src = b if a.k == 0 else a
        out.mean, out.scale, out.m2, out.m3, out.m4 = src.mean, src.scale, src.m2, src.m3, src.m4
        out.log_mean, out.log_m2 = src.log_mean, src.log_m2
        return out
    na, nb = float(a.k), float(b.k)
    n = na + nb
    delta = b.mean - a.mean
    out.mean = a.mean + delta * (nb / n)
    s = max(a.scale, b.scale, abs(delta))
    out.scale = s
    if s > 0:
        ra, rb, d = a.scale / s, b.scale / s, delta / s
        a2, a3, a4 = a.m2 * ra**2, a.m3 * ra**3, a.m4 * ra**4
        b2, b3, b4 = b.m2 * rb**2, b.m3 * rb**3, b.m4 * rb**4
        out.m2 = a2 + b2 + d * d * na * nb / n
        out.m3 = a3 + b3 + d**3 * na * nb * (na - nb) / (n * n) + 3.0 * d * (na * b2 - nb * a2) / n
        out.m4 = (
            a4
            + b4
            + d**4 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6.0 * d * d * (na * na * b2 + nb * nb * a2) / (n * n)
            + 4.0 * d * (na * b3 - nb * a3) / n
        )
    if out.n_nonpos == 0:
        dl = b.log_mean - a.log_mean
        out.log_mean = a.log_mean + dl * (nb / n)
        out.log_m2 = a.log_m2 + b.log_m2 + dl * dl * na * nb / n
    return out


T = TypeVar("T")


class Tree(Generic[T]):
    """The canonical merge tree over block indices, built left to right.

    ``push(index, value)`` adds the leaf of block ``index`` (blocks must arrive in increasing,
    consecutive order from any starting block); ``extend(nodes)`` appends another range's
    :attr:`nodes` (the range that follows); :meth:`result` folds what is left.

    Args:
        combine: merges two adjacent nodes' values (left, right).

    """

    def __init__(self, combine: Callable[[T, T], T]):
        self.combine = combine
        self.nodes: list[tuple[int, int, T]] = []  # (height, index, value), a fully collapsed stack

    def push(self, index: int, value: T) -> None:
        """Add block ``index``'s leaf value."""
        self._append((0, index, value))

    def extend(self, nodes: Iterable[tuple[int, int, T]]) -> None:
        """Append the nodes of the range that follows this one (in order)."""
        for node in nodes:
            self._append(node)

    def _append(self, node: tuple[int, int, T]) -> None:
        st = self.nodes
        st.append(node)
        while len(st) >= 2:
            (h1, i1, v1), (h2, i2, v2) = st[-2], st[-1]
            if h1 != h2 or i1 % 2 or i2 != i1 + 1:
                break
            st[-2:] = [(h1 + 1, i1 // 2, self.combine(v1, v2))]

    def result(self) -> T | None:
        """The value of all blocks: the binary decomposition's nodes folded left to right."""
        if not self.nodes:
            return None
        acc = self.nodes[0][2]
        for _, _, v in self.nodes[1:]:
            acc = self.combine(acc, v)
        return acc
