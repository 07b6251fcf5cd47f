"""Multinomial counts whose cost follows the occupied prefix of the states.

For probabilities whose positive entries all lie in the first ``span`` slots of each chain (the
categorical family keeps its surviving states there, :mod:`collapse_theory.families.categorical`),
:func:`prefix_multinomial` draws the counts down a fixed binary tree of conditional binomials but
only visits the subtree over the first ``2**b`` slots, ``b = ceil(log2 max span)`` over the batch:
a run in which alleles die out costs what its survivors need, as numpy's sequential multinomial
does, instead of ``K - 1`` binomials per chain.

Streams. Node ``(h, i)`` (height ``h`` above the leaves, covering slots ``[i 2**h, (i+1) 2**h)``)
of chain ``c`` draws from the lane stream ``(threefry(key, h, MULTINOMIAL_TREE), c, i)`` of
:mod:`collapse_theory.random.binomial`. A node whose draws or one of whose children's masses is 0
is decided without randomness; the nodes above height ``ceil(log2 span_c)`` all send their draws
left. So chain ``c``'s counts depend only on the key, its index and its probabilities, whatever
the other chains of the batch make ``b``.

References:
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section XI.1.4
    (multinomial by conditional binomials).
    W. Hörmann, "The generation of binomial random variates", J. Stat. Comput. Simul. 46 (1993).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.live_multinomial import paged_binomial

__all__ = ["prefix_multinomial", "subtree_height", "tree_height"]

_PACK = 8
"""Nodes of one height drawn together (times the chains: the lanes of one binomial pass)."""


def tree_height(width: int) -> int:
    """``ceil(log2 width)``, at least 1: the height of the tree over ``width`` slots."""
    return max(1, math.ceil(math.log2(max(width, 1))))


def subtree_height(span, D: int):
    """``max(1, ceil(log2 max span))`` as a traced int32: the height of the subtree that holds
    every chain's occupied slots (a tree of height ``D`` over ``2**D`` slots).
    """
    top = jnp.max(jnp.asarray(span, jnp.int32))
    return jnp.maximum(1, jnp.sum(jnp.asarray([2**h for h in range(D)], jnp.int32) < top)).astype(jnp.int32)


def _layout(D: int) -> list[int]:
    """Row offset of height ``h``'s first node in the node table, top down (root row 0)."""
    off = [0] * (D + 1)
    row = 0
    for h in range(D, -1, -1):
        off[h] = row
        row += 2**D >> h
    return off


def _splits(probs, b: int, off: list[int], rows: int, dtype):
    """Left-child share ``a / (a + b)`` of every node of height ``1..b`` over the first ``2**b``
    slots, in a ``[rows, C]`` table (0 where a node has no mass; other rows 0).
    """
    C = probs.shape[0]
    W = 2**b
    m = probs[:, :W]
    if m.shape[1] < W:
        m = jnp.pad(m, ((0, 0), (0, W - m.shape[1])))
    out = jnp.zeros((rows, C), dtype)
    for h in range(1, b + 1):
        a, r = m[:, 0::2], m[:, 1::2]
        s = a + r
        out = jax.lax.dynamic_update_slice_in_dim(
            out, jnp.where(s > 0.0, a / jnp.where(s > 0.0, s, 1.0), 0.0).T, off[h], 0
        )
        m = s
    return out


def prefix_multinomial(key, chains, n, probs, span, dtype):
    """Multinomial(n, probs) per chain, for probabilities that vanish from slot ``span[c]`` on.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        n: ``[C]`` (or scalar) numbers of draws, integer-valued and ``>= 0``.
        probs: ``[C, K]`` non-negative weights, 0 at slots ``>= span[c]`` (each row is used
            normalised by its sum).
        span: ``int32[C]``, ``1 <= span[c] <= K``.
        dtype: float32 or float64.

    Returns:
        ``dtype[C, K]`` counts (integer-valued floats summing to ``n``).
    """
    C, K = probs.shape
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1), (C,))
    if K == 1:
        return n[:, None]
    D = tree_height(K)
    off = _layout(D)
    P = _PACK
    rows = off[0] + 2**D + 2 * P  # the leaves end the table; packs past a height write into the slack
    probs = jnp.maximum(jnp.asarray(probs, dtype), 0.0)
    top = jnp.max(jnp.asarray(span, jnp.int32))
    b = subtree_height(span, D)
    split = jax.lax.switch(b - 1, [lambda p, h=h: _splits(p, h, off, rows, dtype) for h in range(1, D + 1)], probs)
    counts = jax.lax.dynamic_update_slice_in_dim(
        jnp.zeros((rows, C), dtype), n[None, :], jnp.asarray(off, jnp.int32)[b], 0
    )

    # Packs of P nodes of one height, top down; the nodes a batch needs at height h are those
    # left of ceil(top / 2**h), so the packs to run are a prefix of each height's list.
    packs = np.array([(h, i0) for h in range(D, 0, -1) for i0 in range(0, 2**D >> h, P)], np.int32)
    ph, pi0 = jnp.asarray(packs[:, 0]), jnp.asarray(packs[:, 1])
    need = (top + (1 << ph) - 1) >> ph  # nodes of height ph that can hold draws
    wanted = (ph <= b) & (pi0 < need)
    order = jnp.argsort(~wanted, stable=True).astype(jnp.int32)  # the wanted packs, in list order
    offsets = jnp.asarray(off, jnp.int32)
    lane = jnp.arange(P, dtype=jnp.int32)

    def body(t, counts):
        k = order[t]
        h, i0, nodes = ph[k], pi0[k], need[k]
        m = jax.lax.dynamic_slice_in_dim(counts, offsets[h] + i0, P)
        p = jax.lax.dynamic_slice_in_dim(split, offsets[h] + i0, P)
        m = jnp.where((i0 + lane < nodes)[:, None], m, 0.0)
        random = (m > 0.0) & (p > 0.0) & (p < 1.0)
        key_h = jnp.stack(bits.threefry2x32(key, h.astype(jnp.uint32), jnp.uint32(tags.MULTINOMIAL_TREE)))
        c = jnp.tile(chains.astype(jnp.uint32), P)
        j = jnp.repeat((i0 + lane).astype(jnp.uint32), C)
        x = paged_binomial(key_h, c, j, m.reshape(-1), p.reshape(-1), random.reshape(-1), dtype)
        x = jnp.where(random, x.reshape(P, C), jnp.where(p >= 1.0, m, 0.0))
        kids = jnp.stack([x, m - x], axis=1).reshape(2 * P, C)
        return jax.lax.dynamic_update_slice_in_dim(counts, kids, offsets[h - 1] + 2 * i0, 0)

    counts = jax.lax.fori_loop(0, jnp.sum(wanted), body, counts)
    return counts[off[0] : off[0] + K].T
