"""Whole Threefry blocks and exact integer slots: the pieces of a one-hash-per-point draw.

:func:`~collapse_theory.random.bits.words` lays a block's two output words side by side; when
its consumer is fused, XLA:CPU evaluates the block once per word it feeds (twice the hashing,
measured on the KDE family's draws). :func:`blocks` hands the two words out as separate arrays,
so each block is hashed once and each word can serve a different variate.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from collapse_theory.random.bits import KeyPair, threefry2x32

__all__ = ["blocks", "mul_hi"]


def blocks(key: KeyPair, chains: jax.Array, n: int) -> tuple[jax.Array, jax.Array]:
    """The two words of the Threefry block at counter ``(c, j)`` for ``j < n``.

    Args:
        key: ``uint32[2]`` key (already folded with generation and purpose).
        chains: ``uint32[C]`` global chain indices.
        n: blocks per chain (static).

    Returns:
        Two ``uint32[C, n]``; entry ``(c, j)`` depends only on ``(key, c, j)``.

    """
    c = jnp.broadcast_to(chains.astype(jnp.uint32)[:, None], (chains.shape[0], n))
    return threefry2x32(key, c, jnp.broadcast_to(jnp.arange(n, dtype=jnp.uint32)[None, :], c.shape))


def mul_hi(a: jax.Array, b: jax.Array) -> jax.Array:
    """``floor(a b / 2^32)`` of ``uint32`` arrays, exactly (16-bit limbs: no 64-bit integers needed).

    With ``a`` a uniform 32-bit word it is a uniform slot among ``b``: each slot takes
    ``floor(2^32 / b)`` or ``ceil(2^32 / b)`` words, so slot probabilities err by at most
    ``b 2^-32`` relatively (Lemire, "Fast random integer generation in an interval", ACM TOMACS
    29, 2019, without the rejection step).
    """
    m, s = jnp.uint32(0xFFFF), jnp.uint32(16)
    a_lo, a_hi, b_lo, b_hi = a & m, a >> s, b & m, b >> s
    hl, lh = a_hi * b_lo, a_lo * b_hi
    mid = ((a_lo * b_lo) >> s) + (hl & m) + (lh & m)
    return a_hi * b_hi + (hl >> s) + (lh >> s) + (mid >> s)
