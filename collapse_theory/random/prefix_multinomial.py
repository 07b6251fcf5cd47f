"""Multinomial counts whose cost follows the split nodes of the occupied prefix of the states.

For probabilities whose positive entries all lie in the first ``span`` slots of each chain (the
categorical family keeps its surviving states there, :mod:`collapse_theory.families.categorical`),
:func:`prefix_multinomial` draws the counts down a fixed binary tree of conditional binomials over
the first ``2**b`` slots, ``b = ceil(log2 max span)`` over the batch. Only the *split* nodes (both
children with mass) are random: a chain with ``L`` live states has ``L - 1`` of them, so a run in
which alleles die out costs what its survivors need, as numpy's sequential multinomial does.

Representatives. A node that sends all its draws to one child needs no work if its count is kept
where that child keeps its own: every node has a representative leaf (itself for a leaf; the left
child's for a split node or one whose draws all go left, the right child's otherwise), and the
count of a node lives at its representative in a ``[C, K]`` table. A split node reads ``m`` there,
draws ``x ~ Bin(m, p)``, and writes ``x`` and ``m - x`` at its children's representatives; at the
end the table holds the leaf counts. The split nodes of all chains are listed once per generation,
by height (top down), and drawn in pages of ``_PAGE`` lanes, one height at a time.

Streams. Node ``(h, i)`` (height ``h`` above the leaves, covering slots ``[i 2**h, (i+1) 2**h)``)
of chain ``c`` draws from the lane stream ``(threefry(key, h, MULTINOMIAL_TREE), c, i)`` of
:mod:`collapse_theory.random.binomial`, with ``p = a / (a + b)`` from its children's masses ``a, b``
(pairwise sums of the slots). A node with ``p`` 0 or 1 (after rounding) is decided without
randomness; the nodes above height ``ceil(log2 span_c)`` all send their draws left. So chain
``c``'s counts depend only on the key, its index and its probabilities, whatever the other chains of
the batch make ``b``, and equal those of
:func:`~collapse_theory.random.live_multinomial.live_multinomial` (tested).

References:
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section XI.1.4
    (multinomial by conditional binomials).
    W. Hörmann, "The generation of binomial random variates", J. Stat. Comput. Simul. 46 (1993).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _prefix_count
from collapse_theory.random.live_multinomial import _binomial_flat

__all__ = ["prefix_multinomial", "subtree_height", "tree_height"]

_PAGE = 256
"""Split nodes of one height drawn together (measured: pages of 1024 cost 6-8x a page of 256)."""
_SHIFT = 8
"""The list packs a node's index above the distance (< 2**_SHIFT) between its children's representatives."""


def tree_height(width: int) -> int:
    """``ceil(log2 width)``, at least 1: the height of the tree over ``width`` slots."""
    return max(1, math.ceil(math.log2(max(width, 1))))


def subtree_height(span, D: int):
    """``max(1, ceil(log2 max span))`` as a traced int32: the height of the subtree that holds
    every chain's occupied slots (a tree of height ``D`` over ``2**D`` slots).
    """
    top = jnp.max(jnp.asarray(span, jnp.int32))
    return jnp.maximum(1, jnp.sum(jnp.asarray([2**h for h in range(D)], jnp.int32) < top)).astype(jnp.int32)


def _plan(probs, b: int, D: int, cap: int):
    """The split nodes of the subtree of height ``b``, listed by height (top down), then node, then chain.

    Returns ``(pos, aux, share, counts, heights, root)``: per listed node the flat table index
    ``c K + rep(left child)``, ``rep(right) - rep(left) | i << _SHIFT`` and the left share ``p``
    (arrays of ``cap + _PAGE``, the tail unused); the number of split nodes of each height and the
    heights (``int32[D]``, height ``b`` first, zero-padded); the root's representative per chain.
    """
    C, K = probs.shape
    W = 2**b
    m = probs[:, :W]
    if m.shape[1] < W:
        m = jnp.pad(m, ((0, 0), (0, W - m.shape[1])))
    rep = jnp.broadcast_to(jnp.arange(W, dtype=jnp.int32), (C, W))
    levels = []
    for _ in range(b):
        a, r = m[:, 0::2], m[:, 1::2]
        m = a + r
        p = jnp.where(m > 0.0, a / jnp.where(m > 0.0, m, 1.0), 0.0)
        left, right = rep[:, 0::2], rep[:, 1::2]
        levels.append((p, left, right))
        rep = jnp.where(p > 0.0, left, right)  # p = 1 sends every draw left, p = 0 right
    levels = levels[::-1]
    row = jnp.arange(C, dtype=jnp.int32) * K

    def listed(f):  # f(p, left, right, node index) of [C, nodes] per height, listed [nodes, C] top down
        return jnp.concatenate(
            [f(p, left, right, jnp.arange(p.shape[1], dtype=jnp.int32)).T.reshape(-1) for p, left, right in levels]
        )

    split = listed(lambda p, left, right, i: (p > 0.0) & (p < 1.0))
    rank = _prefix_count(split.astype(jnp.float32)).astype(jnp.int32)
    # past the end (dropped), a distinct index per lane: the scatters promise unique indices
    dst = jnp.where(split, rank - 1, cap + _PAGE + jnp.arange(split.shape[0], dtype=jnp.int32))

    def gather_list(x):
        return jnp.zeros((cap + _PAGE,), x.dtype).at[dst].set(x, mode="drop", unique_indices=True)

    pos = gather_list(listed(lambda p, left, right, i: left + row[:, None]))
    aux = gather_list(listed(lambda p, left, right, i: (right - left) | (i << _SHIFT)))
    share = gather_list(listed(lambda p, left, right, i: p))
    counts = jnp.stack([jnp.sum((p > 0.0) & (p < 1.0), dtype=jnp.int32) for p, _, _ in levels])
    heights = jnp.arange(b, 0, -1, dtype=jnp.int32)
    return pos, aux, share, jnp.pad(counts, (0, D - b)), jnp.pad(heights, (0, D - b)), rep[:, 0]


def prefix_multinomial(key, chains, n, probs, span, dtype, max_span: int | None = None):
    """Multinomial(n, probs) per chain, for probabilities that vanish from slot ``span[c]`` on.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        n: ``[C]`` (or scalar) numbers of draws, integer-valued and ``>= 0``.
        probs: ``[C, K]`` non-negative weights, 0 at slots ``>= span[c]`` (each row is used
            normalised by its sum).
        span: ``int32[C]``, ``1 <= span[c] <= K``.
        dtype: float32 or float64.
        max_span: a static bound on ``span`` (default ``K``): sizes the list of split nodes.

    Returns:
        ``dtype[C, K]`` counts (integer-valued floats summing to ``n``).
    """
    C, K = probs.shape
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1), (C,))
    if K == 1:
        return n[:, None]
    width = min(K, max_span or K)
    D = tree_height(width)
    if 2**D > 2**_SHIFT:
        raise ValueError(f"at most {2**_SHIFT} slots, got {width}")
    cap = C * (width - 1)  # a chain with L live slots has L - 1 split nodes
    probs = jnp.maximum(jnp.asarray(probs, dtype), 0.0)
    b = subtree_height(span, D)
    pos, aux, share, counts, heights, root = jax.lax.switch(
        b - 1, [lambda p, h=h: _plan(p, h, D, cap) for h in range(1, D + 1)], probs
    )
    val = jnp.zeros((C * K,), dtype).at[jnp.arange(C, dtype=jnp.int32) * K + root].set(n, unique_indices=True)
    P = _PAGE
    pages = (counts + P - 1) // P
    last = jnp.cumsum(pages)  # pages of heights[0..s] end before page last[s]
    start = jnp.cumsum(counts) - counts
    lane = jnp.arange(P, dtype=jnp.int32)
    cid = chains.astype(jnp.uint32)

    def body(k, val):
        s = jnp.sum(last <= k)  # page k draws split nodes of height heights[s]
        first = start[s] + (k - last[s] + pages[s]) * P
        ok = first + lane < start[s] + counts[s]
        at = jax.lax.dynamic_slice_in_dim(pos, first, P)
        link = jax.lax.dynamic_slice_in_dim(aux, first, P)
        p = jnp.where(ok, jax.lax.dynamic_slice_in_dim(share, first, P), 0.0)
        m = jnp.where(ok, val[at], 0.0)
        key_h = jnp.stack(bits.threefry2x32(key, heights[s].astype(jnp.uint32), jnp.uint32(tags.MULTINOMIAL_TREE)))
        x = _binomial_flat(key_h, cid[at // K], (link >> _SHIFT).astype(jnp.uint32), m, p, dtype)
        void = C * K + lane  # past the end (dropped), distinct: the scatters promise unique indices
        val = val.at[jnp.where(ok, at, void)].set(x, mode="drop", unique_indices=True)
        right = at + (link & (2**_SHIFT - 1))
        return val.at[jnp.where(ok, right, void)].set(m - x, mode="drop", unique_indices=True)

    return jax.lax.fori_loop(0, last[-1], body, val).reshape(C, K)
