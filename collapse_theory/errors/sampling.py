"""Biased sampling from the fitted model: the sampler that generates synthetic data.

Generative models are rarely sampled at their fitted law: decoding shrinks variance, truncates
tails, sharpens with a temperature or cuts the nucleus (top-p). This module builds a *sampler*
family whose ``draw`` and ``points`` sample a transformed law; fitting is unchanged. Scenarios use
the sampler for synthetic data only: real data (the first sample, and the fresh real points) are
always drawn from the truth without bias.

* ``variance`` lambda (Gaussian): sample N(mu, lambda Sigma). With the unbiased estimator under
  replace, E sigma_n^2 = lambda^(n-1) sigma_0^2 (model 1 is fit to real data); digest section 1.7.
* ``truncate`` k (1-D Gaussian): sample N(mu, sigma^2) restricted to |x - mu| <= k sigma, by
  inversion of the normal CDF on [Phi(-k), Phi(k)] (exact; needs the sample kernel).
* ``temperature`` T (categorical): p_k^(1/T) / sum_j p_j^(1/T).
* ``top_p`` q (categorical): keep the most probable states whose cumulative mass first reaches q
  (ties broken by index), renormalise.

References:
    Alemohammad et al., "Self-consuming generative models go MAD", ICLR 2024 (sampling bias);
    Holtzman et al., "The curious case of neural text degeneration", ICLR 2020 (top-p).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from collapse_theory.families.base import Family

__all__ = ["biased_sampler", "temperature_probs", "top_p_probs"]


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


def biased_sampler(
    family: Family,
    *,
    variance: float = 1.0,
    temperature: float = 1.0,
    top_p: float = 1.0,
    truncated: Family | None = None,
) -> Family:
    """The family whose draws come from the biased law; ``fit`` and metrics are the family's.

    Args:
        family: the model family.
        variance: lambda, the factor on the fitted (co)variance when sampling (Gaussian).
        temperature: T (categorical).
        top_p: nucleus mass q (categorical).
        truncated: a family built with tail truncation (its draws are already truncated).

    Returns:
        A :class:`Family` to use for synthetic draws only.
    """
    base = truncated if truncated is not None else family

    def transform(params):
        if family.name == "gaussian" and variance != 1.0:
            half_log = 0.5 * jnp.log(jnp.asarray(variance, params.mu.dtype))
            if hasattr(params, "log_sigma"):
                return params._replace(log_sigma=params.log_sigma + half_log)
            return params._replace(log_diag=params.log_diag + half_log)
        if family.name == "categorical":
            p = params.probs
            if temperature != 1.0:
                p = temperature_probs(p, temperature)
            if top_p < 1.0:
                p = top_p_probs(p, top_p)
            return params._replace(probs=p)
        return params

    def draw(key, chains, params, n, capacity):
        return base.draw(key, chains, transform(params), n, capacity)

    def points(key, chains, params, capacity):
        return base.points(key, chains, transform(params), capacity)

    return family._replace(draw=draw, points=points)
