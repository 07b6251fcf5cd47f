"""Categorical metrics (the Wright-Fisher observables).

Contract names: ``heterozygosity`` = 1 - sum p^2, ``support`` = #{k : p_k > 0}, ``entropy`` (nats),
``tv`` = (1/2) sum |p - p0| and ``kl`` = KL(fitted || truth) = sum p log(p / p0).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlogy

__all__ = ["METRICS", "metrics"]

METRICS = ("heterozygosity", "support", "entropy", "tv", "kl")


def metrics(p: jax.Array, p0: jax.Array) -> dict[str, jax.Array]:
    """Per-chain metrics of probability vectors ``p[C, K]`` against the truth ``p0[K]``."""
    return {
        "heterozygosity": 1.0 - jnp.sum(jnp.square(p), axis=-1),
        "support": jnp.sum(p > 0, axis=-1).astype(p.dtype),
        "entropy": -jnp.sum(xlogy(p, p), axis=-1),
        "tv": 0.5 * jnp.sum(jnp.abs(p - p0), axis=-1),
        "kl": jnp.sum(xlogy(p, p) - xlogy(p, p0), axis=-1),
    }
