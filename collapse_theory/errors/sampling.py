"""Biased sampling from the fitted model: the sampler that generates synthetic data.

Generative models are rarely sampled at their fitted law: decoding shrinks variance, truncates
tails, sharpens with a temperature or cuts the nucleus (top-p). A family whose synthetic data are
drawn with a bias carries a *sampler* (``Family.sampler``): a family whose ``draw`` and
``points`` sample a transformed law; fitting is unchanged. Scenarios use the sampler for
synthetic data only: real data (the first sample, and the fresh real points) are always drawn
from the truth without bias. The family module decides the transform (its parameters are its
own); this module holds the transforms of the literature:

* :func:`scale_variance` lambda (Gaussian): sample N(mu, lambda Sigma). With the unbiased
  estimator under replace, E sigma_n^2 = lambda^(n-1) sigma_0^2 (model 1 is fit to real data).
* truncation k (1-D Gaussian): the family passes a ``base`` family whose draws are already
  restricted to |x - mu| <= k sigma (inversion of the normal CDF on [Phi(-k), Phi(k)]).
* :func:`temperature_probs` T (categorical): p_k^(1/T) / sum_j p_j^(1/T).
* :func:`top_p_probs` q (categorical): keep the most probable states whose cumulative mass first
  reaches q (ties broken by index), renormalise.

References:
    Alemohammad et al., "Self-consuming generative models go MAD", ICLR 2024 (sampling bias);
    Holtzman et al., "The curious case of neural text degeneration", ICLR 2020 (top-p).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from collapse_theory.families.base import Family

__all__ = ["biased_sampler", "scale_variance", "temperature_probs", "top_p_probs"]


def temperature_probs(p: jax.Array, temperature: float) -> jax.Array:
    """p^(1/T) renormalised over the last axis (zero states stay zero)."""
    logp = jnp.where(p > 0, jnp.log(jnp.where(p > 0, p, 1.0)) / temperature, -jnp.inf)
    return jax.nn.softmax(logp, axis=-1)


def top_p_probs(p: jax.Array, q: float) -> jax.Array:
    """Nucleus: the smallest prefix of states sorted by decreasing probability with mass >= q."""
    order = jnp.argsort(-p, axis=-1, stable=True)
    sorted_p = jnp.take_along_axis(p, order, axis=-1)
    before = jnp.cumsum(sorted_p, axis=-1) - sorted_p
    keep_sorted = before < q
    keep = jnp.zeros_like(keep_sorted).at[jnp.arange(p.shape[0])[:, None], order].set(keep_sorted)
    kept = jnp.where(keep, p, 0.0)
    return kept / jnp.sum(kept, axis=-1, keepdims=True)


def scale_variance(variance: float) -> Callable[[Any], Any]:
    """The transform of Gaussian parameters that multiplies the (co)variance by ``variance``.

    Works on parameters carried as ``log_sigma`` (1-D) or as a log-Cholesky ``log_diag`` (d-D).
    """

    def transform(params):
        half_log = 0.5 * jnp.log(jnp.asarray(variance, params.mu.dtype))
        if hasattr(params, "log_sigma"):
            return params._replace(log_sigma=params.log_sigma + half_log)
        return params._replace(log_diag=params.log_diag + half_log)

    return transform


def biased_sampler(
    family: Family, transform: Callable[[Any], Any] | None = None, *, base: Family | None = None
) -> Family:
    """The family whose draws come from the biased law; ``fit`` and metrics are the family's.

    Args:
        family: the model family.
        transform: maps fitted parameters to the parameters of the law synthetic data are drawn
            from (None: unchanged).
        base: the family whose ``draw``/``points`` sample (default ``family``), e.g. one built
            with tail truncation.

    Returns:
        A :class:`Family` to use for synthetic draws only (``Family.sampler``).

    """
    src = base if base is not None else family
    tf = transform if transform is not None else (lambda p: p)

    def draw(key, chains, params, n, capacity):
        return src.draw(key, chains, tf(params), n, capacity)

    def points(key, chains, params, capacity):
        return src.points(key, chains, tf(params), capacity)

    return family._replace(draw=draw, points=points)
