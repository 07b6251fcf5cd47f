"""One-dimensional Gaussian family: unbiased (ddof = 1) or MLE (ddof = 0) variance.

Parameters are carried as ``(mu, log_sigma)`` and statistics as ``(n, mean, log_ss)`` with
``log_ss = log sum (x - mean)^2``, so the replace chain stays exact over any number of
generations: ``log sigma`` is a random walk and never underflows (engineering notes, "Underflow").

Exact kernel (Cochran's theorem): the sample mean of ``n`` draws from N(mu, sigma^2) is
N(mu, sigma^2 / n), independent of ``SS ~ sigma^2 chi2_{n-1}``; two draws per chain-generation.
Sample kernel: ``n`` standardised normals z are drawn and fitted, then mapped analytically to
``mean = mu + sigma zbar`` and ``log SS = 2 log sigma + log SS_z``. The naive path
``x = mu + sigma z`` (which hits a precision floor) is deliberately not used here.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024), Theorem 3.1 (Gaussian model collapse).

"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from collapse_theory import truths
from collapse_theory.families.base import Family
from collapse_theory.metrics import gaussian as gm
from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags
from collapse_theory.truths import Truth

__all__ = ["Params", "Stats", "gaussian"]


class Params(NamedTuple):
    """Fitted N(mu, sigma^2) per chain: ``mu[C]``, ``log_sigma[C]``."""

    mu: jax.Array
    log_sigma: jax.Array


class Stats(NamedTuple):
    """Sufficient statistics per chain: count ``n[C]``, ``mean[C]``, ``log_ss[C]``."""

    n: jax.Array
    mean: jax.Array
    log_ss: jax.Array


def _logsumexp3(a, b, c):
    m = jnp.maximum(jnp.maximum(a, b), c)
    m_safe = jnp.where(jnp.isfinite(m), m, 0.0)
    return m_safe + jnp.log(jnp.exp(a - m_safe) + jnp.exp(b - m_safe) + jnp.exp(c - m_safe))


def merge(a: Stats, b: Stats) -> Stats:
    """Statistics of the union of two samples (Chan, Golub & LeVeque 1979), in log space."""
    n = a.n + b.n
    safe_n = jnp.where(n > 0, n, 1.0)
    delta = b.mean - a.mean
    mean = a.mean + delta * b.n / safe_n
    between = jnp.log(jnp.where(n > 0, a.n * b.n / safe_n, 0.0)) + 2.0 * jnp.log(jnp.abs(delta))
    log_ss = _logsumexp3(a.log_ss, b.log_ss, between)
    mean = jnp.where(a.n == 0, b.mean, jnp.where(b.n == 0, a.mean, mean))
    log_ss = jnp.where(a.n == 0, b.log_ss, jnp.where(b.n == 0, a.log_ss, log_ss))
    return Stats(n, mean, log_ss)


def gaussian(
    mean: float = 0.0,
    var: float = 1.0,
    estimator: str = "unbiased",
    kernel: str = "exact",
    dtype=jnp.float32,
    truncate: float | None = None,
    truth: Truth | None = None,
) -> Family:
    """Build the 1-D Gaussian family.

    Args:
        mean: true mean mu_0.
        var: true variance sigma_0^2 (> 0).
        estimator: ``"unbiased"`` (divide SS by n - 1) or ``"mle"`` (divide by n).
        kernel: ``"exact"`` (sufficient statistics), ``"sample"`` (draw and fit n points) or
            ``"population"`` (infinite samples: the fit is the model's, or the truth's, moments
            exactly, so the statistical error is switched off; ``n`` is then a weight).
        dtype: float32 or float64.
        truncate: if given, draws are restricted to |x - mu| <= truncate * sigma (inversion of
            the normal CDF on [Phi(-k), Phi(k)]; sample kernel only).
        truth: a non-Gaussian truth (:mod:`collapse_theory.truths`); ``mean`` and
            ``var`` are then ignored, the reference Gaussian of the metrics is the truth's
            moment-matched fit, and ``w2_sq`` and ``kl`` are computed against the truth itself.

    Returns:
        A :class:`~collapse_theory.families.base.Family`.

    """
    ddof = {"unbiased": 1.0, "mle": 0.0}[estimator]
    if kernel == "population":
        ddof = 0.0  # infinite samples: both estimators are the population variance
    if truth is not None:
        mean, var = truths.moments(truth)
    target = truth
    mu0, log_sigma0 = float(mean), 0.5 * math.log(var)

    def model0(c):
        return Params(jnp.full((c,), mu0, dtype), jnp.full((c,), log_sigma0, dtype))

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c,), dtype), jnp.full((c,), -jnp.inf, dtype))

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.asarray(n, dtype)  # a scalar M_t stays scalar: the chi-square's constants once
        # One bit request: the chi-square's first attempt (columns 0-2: x and u share a Threefry
        # block, the rarely used boost shares the other with the mean's normal, column 3).
        k = bits.fold(key, tags.GAUSSIAN_NORMAL)
        log_chi2 = gamma.log_chi2(bits.fold(key, tags.GAUSSIAN_CHI2), chains, jnp.maximum(n - 1.0, 0.0), dtype, (k, 0))
        z = bits.to_normal(bits.uniform_columns(k, chains, 4, dtype)[3])
        mean = p.mu + jnp.exp(p.log_sigma) * z * jax.lax.rsqrt(jnp.maximum(n, 1.0))
        return Stats(jnp.broadcast_to(n, chains.shape), mean, 2.0 * p.log_sigma + log_chi2)

    def draw_population(key, chains, p, n, capacity):
        del key, capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        return Stats(n, p.mu, 2.0 * p.log_sigma + jnp.log(n))

    def standard(key, chains, capacity):
        if truncate is None:
            return bits.normal(key, chains, capacity, dtype)
        lo = jax.scipy.special.ndtr(jnp.asarray(-truncate, dtype))
        u = bits.uniform(key, chains, capacity, dtype)
        return bits.to_normal(lo + u * (1.0 - 2.0 * lo))

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        z = standard(bits.fold(key, tags.GAUSSIAN_POINTS), chains, capacity)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        safe_n = jnp.maximum(n, 1.0)
        zbar = jnp.sum(jnp.where(mask, z, 0.0), axis=1) / safe_n
        ss = jnp.sum(jnp.where(mask, jnp.square(z - zbar[:, None]), 0.0), axis=1)
        mean = p.mu + jnp.exp(p.log_sigma) * zbar
        return Stats(n, mean, 2.0 * p.log_sigma + jnp.log(ss))

    def points(key, chains, p, capacity):
        z = standard(bits.fold(key, tags.GAUSSIAN_POINTS), chains, capacity)
        return p.mu[:, None] + jnp.exp(p.log_sigma)[:, None] * z

    def points_stats(x, mask):
        n = jnp.sum(mask, axis=1).astype(dtype)
        safe_n = jnp.maximum(n, 1.0)
        mean = jnp.sum(jnp.where(mask, x, 0.0), axis=1) / safe_n
        ss = jnp.sum(jnp.where(mask, jnp.square(x - mean[:, None]), 0.0), axis=1)
        return Stats(n, mean, jnp.log(ss))

    def fit(s):
        return Params(s.mean, 0.5 * (s.log_ss - jnp.log(s.n - ddof)))

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        nr, ns = jnp.maximum(real.n, 1.0), jnp.maximum(synth.n, 1.0)
        mean = w * real.mean + (1.0 - w) * synth.mean
        delta = real.mean - synth.mean
        log_m2 = _logsumexp3(
            jnp.log(w) + real.log_ss - jnp.log(nr),
            jnp.log1p(-w) + synth.log_ss - jnp.log(ns),
            jnp.log(w * (1.0 - w)) + 2.0 * jnp.log(jnp.abs(delta)),
        )
        # Reliability-weight correction: divide by 1 - sum of squared point weights (ddof = 1).
        v2 = jnp.square(w) / nr + jnp.square(1.0 - w) / ns
        log_var = log_m2 - ddof * jnp.log1p(-v2)
        return Params(mean, 0.5 * log_var)

    def metrics(p):
        m = gm.metrics_1d(p.mu, p.log_sigma, mu0, log_sigma0)
        return truths.against_truth(target, m, p.mu, p.log_sigma) if target is not None else m

    def real(key, chains, n, capacity):
        if kernel == "population":
            return draw_population(key, chains, model0(chains.shape[0]), n, capacity)
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        return points_stats(real_points(key, chains, capacity), mask)

    def real_points(key, chains, capacity):
        return truths.points(target, key, chains, capacity, dtype)

    def distribution(p):
        return dist.Normal(p.mu, jnp.exp(p.log_sigma))

    return Family(
        name="gaussian",
        truth=model0,
        draw=draw_population
        if kernel == "population"
        else (draw_exact if (kernel == "exact" and truncate is None) else draw_sample),
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=gm.METRICS_1D,
        distribution=distribution,
        real=real if target is not None else None,
        real_points=real_points if target is not None else None,
    )
