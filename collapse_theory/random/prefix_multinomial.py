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
by height (top down), and drawn one height at a time: a first pass over pages of nodes
(:func:`~collapse_theory.random.live_multinomial._first_pass`), whose open lanes (BTRS rejecting
all its first attempts, about 1 in 40) are queued and settled together before the next height
(:func:`~collapse_theory.random.live_multinomial._finish`): retried page by page they cost several
times the first pass (measured on 2 cores).

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
from collapse_theory.random.live_multinomial import _finish, _first_pass
from collapse_theory.random.xla import materialize as _materialize

__all__ = ["prefix_multinomial", "subtree_height", "tree_height"]

_PAGE = (256, 1024)
"""Split nodes of one height drawn together in a first pass
(:func:`~collapse_theory.random.live_multinomial._first_pass`): a power of two near ``1/64`` of the
list, within these bounds (measured on 2 cores, 400 and 2000 chains: pages of 256 and 1024 lanes
were the fastest)."""


def _page(cap: int) -> int:
    """Lanes per page for a list of at most ``cap`` split nodes."""
    lo, hi = _PAGE
    return min(hi, max(lo, 2 ** max(0, math.floor(math.log2(max(cap, 1) / 64)))))


_RETRY = 256
"""Lanes a first pass left open, settled together once the pages of their height are done."""
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


def _plan(probs, b: int, D: int, cap: int, pad: int):
    """The split nodes of the subtree of height ``b``, listed by height (top down), then node, then chain.

    Returns ``(pos, aux, share, counts, heights, root)``: per listed node the flat table index
    ``c K + rep(left child)``, ``rep(right) - rep(left) | i << _SHIFT`` and the left share ``p``
    (arrays of ``cap + pad``, the tail unused); the number of split nodes of each height and the
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
    dst = jnp.where(split, rank - 1, cap + pad + jnp.arange(split.shape[0], dtype=jnp.int32))

    def gather_list(x):
        return jnp.zeros((cap + pad,), x.dtype).at[dst].set(x, mode="drop", unique_indices=True)

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
    P, R = _page(cap), _RETRY
    pos, aux, share, counts, heights, root = jax.lax.switch(
        b - 1, [lambda p, h=h: _plan(p, h, D, cap, P) for h in range(1, D + 1)], probs
    )
    val = jnp.zeros((C * K,), dtype).at[jnp.arange(C, dtype=jnp.int32) * K + root].set(n, unique_indices=True)
    pages = (counts + P - 1) // P
    start = jnp.cumsum(counts) - counts  # the list holds the nodes of heights[s] from start[s] on
    lane = jnp.arange(P, dtype=jnp.int32)
    cid = chains.astype(jnp.uint32)
    qsize = cap + P

    def lanes(first, size, stop):
        """Listed nodes ``first .. first + size - 1`` (valid below ``stop``): position, link, share."""
        ok = first + jnp.arange(size, dtype=jnp.int32) < stop
        at = jax.lax.dynamic_slice_in_dim(pos, first, size)
        link = jax.lax.dynamic_slice_in_dim(aux, first, size)
        p = jnp.where(ok, jax.lax.dynamic_slice_in_dim(share, first, size), 0.0)
        return ok, at, link, p

    def write(val, ok, at, link, m, x):
        size = at.shape[0]
        v = C * K + jnp.arange(size, dtype=jnp.int32)
        val = val.at[jnp.where(ok, at, v)].set(x, mode="drop", unique_indices=True)
        right = at + (link & (2**_SHIFT - 1))
        return val.at[jnp.where(ok, right, v)].set(m - x, mode="drop", unique_indices=True)

    def height(s, carry):
        val, queue = carry
        key_h = jnp.stack(bits.threefry2x32(key, heights[s].astype(jnp.uint32), jnp.uint32(tags.MULTINOMIAL_TREE)))
        stop = start[s] + counts[s]

        def page(k, carry):  # first passes; the lanes left open are queued (list positions)
            val, queue, nq = carry
            first = start[s] + k * P
            ok, at, link, p = lanes(first, P, stop)
            m = jnp.where(ok, val[at], 0.0)
            # materialised: gathers inside the sampler's fusions would slow them several-fold
            c, j, m, p = _materialize((cid[at // K], (link >> _SHIFT).astype(jnp.uint32), m, p), k < 0)
            x = _materialize(_first_pass(key_h, c, j, m, p, dtype), k < 0)  # one pass, read by several fusions
            val = write(val, ok & (x >= 0.0), at, link, m, x)
            open_ = ok & (x < 0.0)
            rank = _prefix_count(open_.astype(jnp.float32)).astype(jnp.int32)
            queue = queue.at[jnp.where(open_, nq + rank - 1, qsize + R + lane)].set(
                first + lane, mode="drop", unique_indices=True
            )
            return val, queue, nq + rank[-1]

        val, queue, nq = jax.lax.fori_loop(0, pages[s], page, (val, queue, jnp.int32(0)))

        def retry(carry):  # the queue, R lanes at a time
            val, i = carry
            idx = jax.lax.dynamic_slice_in_dim(queue, i, R)
            ok = i + jnp.arange(R, dtype=jnp.int32) < nq
            sub = _materialize((pos[idx], aux[idx], jnp.where(ok, share[idx], 0.0)), i < 0)
            at, link, p = sub
            m = jnp.where(ok, val[at], 0.0)
            j = (link >> _SHIFT).astype(jnp.uint32)
            x = _finish(key_h, cid[at // K], j, m, p, jnp.where(ok, -1.0, 0.0), dtype)
            return write(val, ok, at, link, m, x), i + R

        return jax.lax.while_loop(lambda c: c[1] < nq, retry, (val, jnp.int32(0)))[0], queue

    queue = jnp.zeros((qsize + R,), jnp.int32)  # entries past the count of a height are stale, never used
    return jax.lax.fori_loop(0, b, height, (val, queue))[0].reshape(C, K)
