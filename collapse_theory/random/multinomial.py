"""Exact batched multinomial sampler: a binary tree of conditional binomials.

The K states are split down a balanced binary tree; a node holding m draws sends
Bin(m, left mass / node mass) to its left child and the rest to its right. The split is exact:
sums of multinomial counts are binomial and, given them, the parts are independent multinomials.
K - 1 binomials run in one ``lax.scan`` over packs of nodes of equal depth, so one kernel is
compiled whatever K is; node masses are pairwise sums, so small states keep their relative
precision. Streams follow :mod:`collapse_theory.random.binomial` (pack ``s`` uses the key
``threefry(key, s, tag)``), so a chain's counts depend only on the key and its index.

References:
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section XI.1 (conditional
    binomial method).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import binomial_lanes

__all__ = ["multinomial"]

_PACK_OVERHEAD = 100.0  # dispatch cost of one binomial call, in lanes of work times chains
_PLAN_CHAINS = 2048
"""The chunk size the pack width is planned for. A lane's random numbers are slot ``j`` of pack
``s``, so the packing must not depend on the chunk actually run (or on the device count): a width
planned for each chunk's ``C`` made results change with ``chunk_size`` for large ``K``."""


def _tree_plan(K: int, C: int = _PLAN_CHAINS):
    """Packs of ``W`` consecutive internal nodes of one depth, as rows of the count table.

    Node ``(d, i)`` covers states ``[i 2**(D-d), (i+1) 2**(D-d))`` and lives in row ``off[d] + i``:
    a pack reads ``W`` consecutive rows and writes its ``2 W`` children consecutively. Padding lanes
    get ``p = 0`` and write past their depth's last real child, into rows the next depth overwrites
    before anyone reads them. ``W`` minimises lanes plus packs times ``_PACK_OVERHEAD / C``.
    """
    D = max(1, math.ceil(math.log2(K)))
    need = [-(-K // 2 ** (D - d)) for d in range(D + 1)]
    off = np.concatenate([[0], np.cumsum(need)]).astype(int)

    def packs_for(W):
        return sum(-(-need[d] // W) for d in range(D))

    W = min(range(1, max(need[:D]) + 1), key=lambda W: (W + _PACK_OVERHEAD / C) * packs_for(W))
    rows = np.array(
        [(off[d] + i, off[d] + i, off[d + 1] + 2 * i, i, need[d]) for d in range(D) for i in range(0, need[d], W)]
    )
    mask = (rows[:, 3:4] + np.arange(W)) < rows[:, 4:5]
    return W, int(off[D]), int(rows[:, 2].max()) + 2 * W, rows[:, :3].astype(np.int32), mask


def multinomial(
    key: bits.KeyPair,
    chains: jax.Array,
    n: jax.typing.ArrayLike,
    probs: jax.Array,
    dtype=jnp.float32,
) -> jax.Array:
    """One Multinomial(n, probs) count vector per chain, exact in law.

    The states are split down a balanced binary tree (``K`` padded to ``2**D``, ``D = ceil(log2
    K)``): a node with ``m`` draws whose halves have masses ``a, b`` sends ``Bin(m, a / (a + b))``
    left and the rest right. That is the multinomial law (aggregates of a multinomial are
    multinomial; given them, the parts are independent multinomials), with ``K - 1`` binomials as
    in the sequential scheme. Masses are pairwise sums of ``probs``, so small states keep their
    relative precision; counts sum to ``n`` exactly. The binomials run in a ``lax.scan`` over
    packs of nodes of one depth (one kernel compiled whatever ``K``); pack ``s`` draws with
    ``fold(key, s)``, its lane ``j`` being stream slot ``j``.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        n: ``[C]`` (or scalar) numbers of draws, integer-valued and ``>= 0``.
        probs: ``[C, K]`` non-negative weights (negative entries count as 0). Each row is used
            normalised by its sum, so rows that sum to 1 up to rounding are fine.
        dtype: float32 or float64.

    Returns:
        ``dtype[C, K]`` counts (integer-valued floats).

    References:
        Devroye (1986), section XI.1.4 (multinomial by conditional binomials).
    """
    C, K = probs.shape
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1), (C,))
    if K == 1:
        return n[:, None]
    W, leaf0, cols, starts, mask = _tree_plan(K)  # the same packs whatever the chunk
    D = max(1, math.ceil(math.log2(K)))
    masses = [jnp.pad(jnp.maximum(jnp.asarray(probs, dtype), 0.0), ((0, 0), (0, 2**D - K)))]
    for _ in range(D):
        masses.append(masses[-1][:, 0::2] + masses[-1][:, 1::2])
    parts = []
    for d in range(D):
        need = -(-K // 2 ** (D - d))
        a, b = masses[D - d - 1][:, 0 : 2 * need : 2], masses[D - d - 1][:, 1 : 2 * need : 2]
        parts.append(jnp.where(a + b > 0.0, a / jnp.where(a + b > 0.0, a + b, 1.0), 0.0))
    split = jnp.pad(jnp.concatenate(parts, axis=1).T, ((0, W), (0, 0)))  # [nodes, C]
    counts = jnp.zeros((cols, C), dtype).at[0].set(n)  # row per tree node

    def step(counts, pack):
        s, (src, pcol, dst), real = pack
        m = jax.lax.dynamic_slice_in_dim(counts, src, W)
        p = jnp.where(real[:, None], jax.lax.dynamic_slice_in_dim(split, pcol, W), 0.0)
        x = binomial_lanes(jnp.stack(bits.threefry2x32(key, s, jnp.uint32(tags.MULTINOMIAL_TREE))), chains, m, p, dtype)
        kids = jnp.stack([x, m - x], axis=1).reshape(2 * W, C)
        return jax.lax.dynamic_update_slice_in_dim(counts, kids, dst, axis=0), None

    packs = (jnp.arange(starts.shape[0], dtype=jnp.uint32), jnp.asarray(starts), jnp.asarray(mask))
    counts, _ = jax.lax.scan(step, counts, packs)
    return counts[leaf0 : leaf0 + K].T
