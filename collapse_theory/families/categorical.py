"""Categorical family over K states: MLE (empirical frequencies) or additive (Laplace) smoothing.

With the MLE, recursive fitting is exactly the neutral haploid Wright-Fisher model with population
size M: the counts of generation n + 1 are Multinomial(M, p_n). The exact kernel draws those
counts directly (conditional binomials, :mod:`collapse_theory.random.binomial`); the sample kernel
draws M categorical labels by inversion and counts them.

References:
    Shumailov et al., Nature 631 (2024), "Discrete distributions with exact approximation";
    Fisher (1930) and Wright (1931); Ewens, "Mathematical Population Genetics" (2004), ch. 3.

"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.metrics import categorical as cm
from collapse_theory.random import bits

__all__ = ["Params", "Stats", "categorical"]

_COUNTS, _POINTS = 1, 2


class Params(NamedTuple):
    """Fitted probabilities ``probs[C, K]``."""

    probs: jax.Array


class Stats(NamedTuple):
    """Sample size ``n[C]`` and per-state counts ``counts[C, K]`` (floats holding integers)."""

    n: jax.Array
    counts: jax.Array


def _labels(key, chains, probs, capacity, dtype):
    u = bits.uniform(bits.fold(key, _POINTS), chains, capacity, dtype)
    cdf = jnp.cumsum(probs, axis=-1)
    cdf = cdf / cdf[:, -1:]
    cdf = cdf.at[:, -1].set(1.0)
    # side="left": u in (cdf[k-1], cdf[k]] maps to k, so states with p = 0 are never drawn.
    return jax.vmap(lambda c, x: jnp.searchsorted(c, x, side="left"))(cdf, u)


def categorical(
    probs, estimator: str = "mle", smoothing: float = 1.0, kernel: str = "exact", dtype=jnp.float32
) -> Family:
    """Build the categorical family.

    Args:
        probs: true probabilities, length K (validated and renormalised in float64 by the caller).
        estimator: ``"mle"`` (frequencies) or ``"laplace"`` ((counts + a) / (n + K a)).
        smoothing: the pseudo-count ``a`` of the Laplace estimator.
        kernel: ``"exact"`` (multinomial counts) or ``"sample"`` (draw labels and count).
        dtype: float32 or float64.

    """
    p0 = np.asarray(probs, dtype=np.float64)
    k = p0.shape[0]
    a = float(smoothing) if estimator == "laplace" else 0.0

    def truth(c):
        return Params(jnp.broadcast_to(jnp.asarray(p0, dtype), (c, k)))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c, k), dtype))

    def draw_exact(key, chains, p, n, capacity):
        from collapse_theory.random.multinomial import multinomial

        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        counts = multinomial(bits.fold(key, _COUNTS), chains, n, p.probs, dtype)
        return Stats(n, counts.astype(dtype))

    def points(key, chains, p, capacity):
        return _labels(key, chains, p.probs, capacity, dtype)

    def points_stats(labels, mask):
        onehot = (labels[..., None] == jnp.arange(k)) & mask[..., None]
        counts = jnp.sum(onehot, axis=1).astype(dtype)
        return Stats(jnp.sum(mask, axis=1).astype(dtype), counts)

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        labels = _labels(key, chains, p.probs, capacity, dtype)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        rows = jnp.broadcast_to(jnp.arange(labels.shape[0])[:, None], labels.shape)
        counts = jnp.zeros((labels.shape[0], k), dtype).at[rows, labels].add(mask.astype(dtype))
        return Stats(n, counts)

    def merge(x, y):
        return Stats(x.n + y.n, x.counts + y.counts)

    def fit(s):
        return Params((s.counts + a) / (s.n + k * a)[:, None])

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        fr = real.counts / jnp.maximum(real.n, 1.0)[:, None]
        fs = synth.counts / jnp.maximum(synth.n, 1.0)[:, None]
        pw = w[:, None] * fr + (1.0 - w)[:, None] * fs
        n = (real.n + synth.n)[:, None]
        return Params((pw * n + a) / (n + k * a))

    def metrics(p):
        return cm.metrics(p.probs, jnp.asarray(p0, dtype))

    def distribution(p):
        return dist.Categorical(probs=p.probs)

    return Family(
        name="categorical",
        truth=truth,
        draw=draw_exact if kernel == "exact" else draw_sample,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=lambda r, s, w: fit_weighted(r, s, jnp.broadcast_to(jnp.asarray(w, dtype), r.n.shape)),
        metrics=metrics,
        metric_names=cm.METRICS,
        distribution=distribution,
    )
