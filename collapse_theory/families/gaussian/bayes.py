"""Bayesian 1-D Gaussian learner: Normal-Inverse-Gamma posterior, Student-t predictive.

Each generation the learner forms the conjugate posterior NIG(mu_n, kappa_n, alpha_n, beta_n) of
its sample under a fixed prior NIG(mu_0, kappa_0, alpha_0, beta_0),

    kappa_n = kappa_0 + n,   mu_n = (kappa_0 mu_0 + n xbar) / kappa_n,   alpha_n = alpha_0 + n/2,
    beta_n = beta_0 + SS/2 + kappa_0 n (xbar - mu_0)^2 / (2 kappa_n),

and its model is the posterior predictive Student-t with ``nu = 2 alpha_n`` degrees of freedom,
location ``mu_n`` and squared scale ``beta_n (kappa_n + 1) / (alpha_n kappa_n)``. The next
generation is ``n`` i.i.d. draws of that t. The truth N(mean, var) is the same pytree with
``dof = +inf`` (the t sampler maps ``z / sqrt(chi2_nu / nu)`` to ``z`` there).

Parameters are carried as ``(mu, log_scale, dof)`` and statistics as the Gaussian family's
``(n, mean, log_ss)``. Draws are standardised t variates ``w = z / sqrt(chi2_nu / nu)``, fitted and
mapped analytically (``mean = mu + scale wbar``, ``log SS = 2 log scale + log SS_w``), as in
:mod:`collapse_theory.families.gaussian`; there is no exact sufficient-statistic kernel (the t is
not closed under sample mean and sum of squares), so ``draw`` is sample-level with ``capacity``
slots masked to ``n``.

Metrics are those of :func:`collapse_theory.metrics.gaussian.metrics_1d` evaluated at the
predictive's mean ``mu`` and standard deviation ``scale sqrt(nu / (nu - 2))`` (``+inf`` for
``nu <= 2``): ``sigma2``/``log_sigma2`` are the predictive variance, and ``w2_sq``, ``kl``,
``tail_mass`` are those of the moment-matched Gaussian N(mean, sd^2), so the names and meanings
line up with the MLE/unbiased Gaussian family for the "does a prior stop collapse" comparison.

References:
    K. P. Murphy, "Conjugate Bayesian analysis of the Gaussian distribution", tech. note (2007),
    section 6 (Normal-Inverse-Gamma prior: posterior update and Student-t posterior predictive).
    A. Gelman et al., "Bayesian Data Analysis", 3rd ed. (2013), section 3.3.

"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.families.gaussian.univariate import Stats, merge
from collapse_theory.metrics import gaussian as gm
from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags

__all__ = ["Params", "Posterior", "gaussian_bayes", "posterior", "predictive_log_sd"]


class Params(NamedTuple):
    """Student-t model per chain: location ``mu[C]``, ``log_scale[C]``, degrees of freedom ``dof[C]``.

    ``dof = +inf`` is the normal N(mu, exp(log_scale)^2) (the truth).
    """

    mu: jax.Array
    log_scale: jax.Array
    dof: jax.Array


class Posterior(NamedTuple):
    """Normal-Inverse-Gamma parameters per chain, each ``[C]``."""

    mu: jax.Array
    kappa: jax.Array
    alpha: jax.Array
    beta: jax.Array


def posterior(s: Stats, prior: tuple[float, float, float, float]) -> Posterior:
    """Conjugate NIG posterior of a sample with statistics ``s`` (Murphy 2007, section 6).

    Args:
        s: sample statistics ``(n, mean, log_ss)``, each ``[C]``; ``n = 0`` gives the prior.
        prior: ``(mu0, kappa0, alpha0, beta0)``.

    Returns:
        The posterior ``(mu_n, kappa_n, alpha_n, beta_n)``.

    """
    mu0, kappa0, alpha0, beta0 = prior
    kappa = kappa0 + s.n
    mean = jnp.where(s.n > 0, s.mean, mu0)
    mu = (kappa0 * mu0 + s.n * mean) / kappa
    alpha = alpha0 + 0.5 * s.n
    beta = beta0 + 0.5 * jnp.exp(s.log_ss) + 0.5 * kappa0 * s.n * jnp.square(mean - mu0) / kappa
    return Posterior(mu, kappa, alpha, beta)


def predictive_log_sd(p: Params) -> jax.Array:
    """``log`` of the model's standard deviation ``scale sqrt(nu/(nu-2))``; ``+inf`` for ``nu <= 2``."""
    finite = jnp.isfinite(p.dof)
    safe = jnp.where(finite & (p.dof > 2.0), p.dof, 3.0)
    inflate = 0.5 * (jnp.log(safe) - jnp.log(safe - 2.0))
    inflate = jnp.where(finite, jnp.where(p.dof > 2.0, inflate, jnp.inf), 0.0)
    return p.log_scale + inflate


def gaussian_bayes(
    mean: float = 0.0,
    var: float = 1.0,
    prior: tuple[float, float, float, float] = (0.0, 1.0, 2.0, 1.0),
    dtype=jnp.float32,
) -> Family:
    """Build the Normal-Inverse-Gamma posterior-predictive learner.

    Args:
        mean: true mean of the N(mean, var) truth (model 0).
        var: true variance (> 0).
        prior: ``(mu0, kappa0, alpha0, beta0)`` with ``kappa0, alpha0, beta0 > 0``.
        dtype: float32 or float64.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"gaussian"`` whose parameters are
        :class:`Params` and statistics :class:`~collapse_theory.families.gaussian.Stats`.
        ``fit_weighted`` raises ``NotImplementedError`` (no weighted NIG update is defined here).

    Raises:
        ValueError: if ``var``, ``kappa0``, ``alpha0`` or ``beta0`` is not positive and finite,
            or ``mean``/``mu0`` is not finite.

    """
    vals = [float(v) for v in prior] if len(prior) == 4 else []
    if len(vals) != 4 or not all(math.isfinite(v) for v in vals) or min(vals[1:]) <= 0:
        raise ValueError(f"prior must be (mu0, kappa0 > 0, alpha0 > 0, beta0 > 0), finite; got {prior!r}")
    if not (math.isfinite(mean) and math.isfinite(var) and var > 0):
        raise ValueError(f"need a finite mean and a finite var > 0, got mean={mean!r}, var={var!r}")
    prior_t = (vals[0], vals[1], vals[2], vals[3])
    mu_true, log_scale_true = float(mean), 0.5 * math.log(var)

    def truth(c):
        return Params(
            jnp.full((c,), mu_true, dtype), jnp.full((c,), log_scale_true, dtype), jnp.full((c,), jnp.inf, dtype)
        )

    def empty(c):
        return Stats(jnp.zeros((c,), dtype), jnp.zeros((c,), dtype), jnp.full((c,), -jnp.inf, dtype))

    def standard_t(key, chains, dof, capacity):
        """``[C, capacity]`` standardised t_dof draws; ``z`` itself where ``dof = inf``."""
        z = bits.normal(bits.fold(key, tags.NIG_POINTS), chains, capacity, dtype)
        finite = jnp.isfinite(dof)
        safe = jnp.where(finite, dof, 1.0)
        slots = jnp.arange(capacity, dtype=jnp.uint32)
        # One chi-square per point; slot j uses its own key, so a chain's draws ignore the batch.
        log_chi2 = jax.vmap(lambda j: gamma.log_chi2(bits.fold(key, tags.NIG_CHI2, j), chains, safe, dtype))(slots).T
        shrink = jnp.exp(-0.5 * (log_chi2 - jnp.log(safe)[:, None]))
        return jnp.where(finite[:, None], z * shrink, z)

    def points(key, chains, p, capacity):
        w = standard_t(key, chains, p.dof, capacity)
        return p.mu[:, None] + jnp.exp(p.log_scale)[:, None] * w

    def points_stats(x, mask):
        n = jnp.sum(mask, axis=1).astype(dtype)
        safe_n = jnp.maximum(n, 1.0)
        m = jnp.sum(jnp.where(mask, x, 0.0), axis=1) / safe_n
        ss = jnp.sum(jnp.where(mask, jnp.square(x - m[:, None]), 0.0), axis=1)
        return Stats(n, m, jnp.log(ss))

    def draw(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        w = standard_t(key, chains, p.dof, capacity)
        s = points_stats(w, jnp.arange(capacity)[None, :] < n[:, None])
        return Stats(n, p.mu + jnp.exp(p.log_scale) * s.mean, 2.0 * p.log_scale + s.log_ss)

    def fit(s):
        post = posterior(s, prior_t)
        log_scale = 0.5 * (jnp.log(post.beta) + jnp.log1p(post.kappa) - jnp.log(post.alpha) - jnp.log(post.kappa))
        return Params(post.mu, log_scale, 2.0 * post.alpha)

    def fit_weighted(real, synth, w):
        raise NotImplementedError("gaussian_bayes has no weighted (real/synthetic) posterior update")

    def metrics(p):
        return gm.metrics_1d(p.mu, predictive_log_sd(p), mu_true, log_scale_true)

    def distribution(p):
        return dist.StudentT(p.dof, p.mu, jnp.exp(p.log_scale))

    return Family(
        name="gaussian",
        truth=truth,
        draw=draw,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=gm.METRICS_1D,
        distribution=distribution,
    )
