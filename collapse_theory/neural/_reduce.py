"""Sums in a fixed order, so per-chain metrics do not depend on how many chains are batched.

XLA may split or vectorize one long reduction differently when the batch (chunk) size changes,
which moves float results by an ulp and breaks the engine's chunk invariance (chain ``c``'s
values must be bit-identical whatever the chunk). Summing blocks of 64 and then the blocks one
after another in a ``lax.scan`` keeps the order fixed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["ordered_sum", "ordered_mean"]

BLOCK = 64


def ordered_sum(x: jax.Array) -> jax.Array:
    """The sum of every element of ``x``: blocks of 64 (zero-padded), then the blocks in order."""
    flat = jnp.ravel(x)
    pad = (-flat.size) % BLOCK
    rows = jnp.concatenate([flat, jnp.zeros((pad,), flat.dtype)]).reshape(-1, BLOCK)
    total, _ = jax.lax.scan(lambda acc, row: (acc + jnp.sum(row), None), jnp.zeros((), flat.dtype), rows)
    return total


def ordered_mean(x: jax.Array) -> jax.Array:
    """``ordered_sum(x) / x.size``."""
    return ordered_sum(x) / x.size
