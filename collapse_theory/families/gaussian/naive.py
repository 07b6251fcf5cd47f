"""Naive sample-level Gaussian kernel x = mu + sigma z in a chosen precision: the precision floor.

This family exists to show what naive arithmetic does to a collapsing chain; use
:func:`collapse_theory.families.gaussian.gaussian` for correct simulations. Parameters are
``(mu, sigma)`` (not log space), held exactly representable in ``precision``. One generation:

1. ``z`` standard normals in the carrier dtype (:func:`bits.normal`, exact to the uniform grid);
2. ``x = round(mu + round(sigma z))`` in ``precision`` (round to nearest or stochastic);
3. mean and variance by the chosen accumulation (:func:`precision.mean_var`), every operation
   rounded; ``fit``: ``mu = mean``, ``sigma = round(sqrt(var))``.

**Precision floor.** Under replace with ``mu_0 != 0`` the exact law shrinks sigma like
``E log sigma_n^2 = log sigma_0^2 + n [psi((M-1)/2) + log(2/(M-1))]`` (registry id
``gaussian.replace.unbiased.mean_log_sigma2``) until sigma is a fraction of ``ulp(mu)``; then the
draws round onto ``mu`` and its neighbours and the fitted sigma stops shrinking: it is a function
of a few ulp-sized deviations (plus the rounding error of the mean, which is not smaller than
``ulp(mu)/2``). A chain whose ``M`` draws all round to the same value while its mean rounds back
to that value fits ``sigma = 0`` exactly and stays there (``log sigma = -inf``; the metrics then
report ``log_sigma2 = -inf``, ``kl = inf``: the chain hit the floor at zero).

References:
    Shumailov et al., Nature 631 (2024), Theorem 3.1 (the exact law being violated);
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM (2002);
    T. F. Chan, G. H. Golub & R. J. LeVeque, "Updating formulae and a pairwise algorithm for
    computing sample variances", COMPSTAT (1982) (the merge).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory import truths
from collapse_theory.errors import precision as pr
from collapse_theory.families.base import Family
from collapse_theory.metrics import gaussian as gm
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.truths import Truth

__all__ = ["Params", "Stats", "gaussian_naive"]

_ESTIMATORS = {"unbiased": 1.0, "mle": 0.0}


METRICS = (*gm.METRICS_1D, "mean_rounding_ratio")
"""The exact family's metrics plus ``mean_rounding_ratio``: the last fit's |mean_hat - mean| over
its rounding-error bound (Higham 2002: gamma_{n-1} recursive, gamma_{ceil log2 n} pairwise,
2u + n u^2 Kahan; see :func:`collapse_theory.errors.precision.mean_error_bound`), the reference
mean computed in the carrier (its own error bound added to the denominator). It never exceeds 1
if the bound holds; NaN where it cannot be measured (Welford, or the format equal to the carrier)."""


class Params(NamedTuple):
    """Fitted N(mu, sigma^2) per chain, ``mu[C]``, ``sigma[C]``, representable in the precision."""

    mu: jax.Array
    sigma: jax.Array
    ratio: jax.Array


class Stats(NamedTuple):
    """Count ``n[C]``, ``mean[C]``, the estimator's variance ``var[C]`` (ddof applied) and the
    mean's measured rounding error over its Higham bound, ``ratio[C]`` (see :data:`METRICS`).
    """

    n: jax.Array
    mean: jax.Array
    var: jax.Array
    ratio: jax.Array


def gaussian_naive(
    mean: float = 0.0,
    var: float = 1.0,
    estimator: str = "unbiased",
    precision: str = "float32",
    rounding: str = "nearest",
    accumulation: str = "naive",
    dtype=jnp.float32,
    truth: Truth | None = None,
) -> Family:
    """Build the naive 1-D Gaussian family computed in ``precision``.

    Args:
        mean: true mean mu_0 (finite in ``precision``).
        var: true variance sigma_0^2 (> 0, sigma_0 finite and nonzero in ``precision``).
        estimator: ``"unbiased"`` (ddof 1) or ``"mle"`` (ddof 0).
        precision: the arithmetic format, one of :data:`precision.FORMATS`, no wider than ``dtype``.
        rounding: ``"nearest"`` or ``"stochastic"`` (needs ``dtype`` wider than ``precision``).
        accumulation: one of :data:`precision.ACCUMULATIONS`.
        dtype: carrier dtype, float32 or float64 (float64 inside ``jax.enable_x64``).
        truth: a non-Gaussian truth (:mod:`collapse_theory.truths`): real draws come
            from it (rounded to ``precision``), ``mean``/``var`` must be its moments, and
            ``w2_sq``/``kl`` are measured against it.

    Returns:
        A :class:`~collapse_theory.families.base.Family` named ``"gaussian"`` with the metrics of
        the exact family (:data:`collapse_theory.metrics.gaussian.METRICS_1D`) and
        ``mean_rounding_ratio`` (:data:`METRICS`).

    Raises:
        ValueError: on an unknown option, a precision wider than the carrier, stochastic
            rounding without a wider carrier, or a truth not representable in ``precision``.

    """
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator {estimator!r} not in {tuple(_ESTIMATORS)}")
    if accumulation not in pr.ACCUMULATIONS:
        raise ValueError(f"accumulation {accumulation!r} not in {pr.ACCUMULATIONS}")
    if not var > 0:
        raise ValueError(f"var must be > 0, got {var!r}")
    pr._check_carrier(precision, dtype, rounding)
    ddof = _ESTIMATORS[estimator]
    target = truth
    u_carrier = float(jnp.finfo(dtype).eps) / 2.0
    # A reference mean needs a carrier wider than the format, and Welford has no registered bound.
    measurable = pr.UNIT_ROUNDOFF[precision] > u_carrier and accumulation != "welford"
    fmt_np = np.dtype(pr.format_dtype(precision))
    with np.errstate(over="ignore", under="ignore"):
        mu0_f, sigma0_f = float(np.asarray(mean).astype(fmt_np)), float(np.asarray(np.sqrt(var)).astype(fmt_np))
    if not (np.isfinite(mu0_f) and np.isfinite(sigma0_f) and sigma0_f > 0):
        raise ValueError(f"mean {mean!r} and sqrt(var) must be finite and sqrt(var) nonzero in {precision}")
    mu0, log_sigma0 = float(mean), 0.5 * float(np.log(var))

    def rnd(v, key, chains, tag):
        if rounding == "nearest":
            return pr.round_to(v, precision)
        return pr.round_to(v, precision, rounding, bits.fold(key, tag), chains)

    def model0(c):
        return Params(jnp.full((c,), mu0_f, dtype), jnp.full((c,), sigma0_f, dtype), jnp.zeros((c,), dtype))

    def empty(c):
        z = jnp.zeros((c,), dtype)
        return Stats(z, z, z, z)

    def points(key, chains, p, capacity):
        z = bits.normal(bits.fold(key, tags.NAIVE_POINTS), chains, capacity, dtype)
        scaled = rnd(p.sigma[:, None] * z, key, chains, tags.NAIVE_ROUND_X)
        return rnd(p.mu[:, None] + scaled, key, chains, tags.NAIVE_ROUND_SUM)

    def stats_of(x, mask, key, chains):
        n = jnp.sum(mask, axis=1).astype(dtype)
        k = None if key is None else bits.fold(key, tags.NAIVE_ROUND_STATS)
        m, v = pr.mean_var(x, mask, precision, rounding, accumulation, ddof, k, chains)
        return Stats(n, m, v, ratio_of(x, mask, m, rounding))

    def ratio_of(x, mask, m, mode):
        # |mean_hat - mean| / (Higham bound + the carrier reference's own bound); <= 1 is a theorem.
        if not measurable:
            return jnp.full(m.shape, jnp.nan, dtype)
        safe = jnp.maximum(jnp.sum(mask, axis=1).astype(dtype), 1.0)
        ref = jnp.sum(jnp.where(mask, x, 0.0), axis=1) / safe
        abs_mean = jnp.sum(jnp.where(mask, jnp.abs(x), 0.0), axis=1) / safe
        ref_bound = (safe * u_carrier / (1.0 - safe * u_carrier)) * abs_mean + 2.0 * u_carrier * jnp.abs(ref)
        bound = pr.mean_error_bound(accumulation, x, mask, precision, mode) + ref_bound
        return jnp.abs(m - ref) / bound

    def draw(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        x = points(key, chains, p, capacity)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        return stats_of(x, mask, key, chains)

    def points_stats(x, mask):
        # The interface passes no key: deterministic round to nearest here, whatever the mode.
        m, v = pr.mean_var(x, mask, precision, "nearest", accumulation, ddof)
        return Stats(jnp.sum(mask, axis=1).astype(dtype), m, v, ratio_of(x, mask, m, "nearest"))

    def merge(a, b):
        # Chan et al. (1982): M2 = M2_a + M2_b + delta^2 n_a n_b / n, each operation rounded.
        r = lambda v: pr.round_to(v, precision)  # noqa: E731 - merge has no key: nearest
        n = a.n + b.n
        safe = jnp.maximum(n, 1.0)
        m2a, m2b = r(a.var * r(a.n - ddof)), r(b.var * r(b.n - ddof))
        delta = r(b.mean - a.mean)
        mean = r(a.mean + r(delta * r(b.n / r(safe))))
        between = r(r(delta * delta) * r(r(a.n * b.n) / r(safe)))
        var = r(r(r(m2a + m2b) + between) / r(n - ddof))
        mean = jnp.where(a.n == 0, b.mean, jnp.where(b.n == 0, a.mean, mean))
        var = jnp.where(a.n == 0, b.var, jnp.where(b.n == 0, a.var, var))
        return Stats(n, mean, var, jnp.fmax(a.ratio, b.ratio))

    def fit(s):
        return Params(s.mean, pr.round_to(jnp.sqrt(s.var), precision), s.ratio)

    def fit_weighted(real, synth, w):
        raise NotImplementedError("gaussian_naive has no weighted fit; use gaussian(kernel='sample')")

    def metrics(p):
        m = gm.metrics_1d(p.mu, jnp.log(p.sigma), mu0, log_sigma0)
        m = truths.against_truth(target, m, p.mu, jnp.log(p.sigma)) if target is not None else m
        return m | {"mean_rounding_ratio": p.ratio}

    def real_points(key, chains, capacity):
        return rnd(truths.points(target, key, chains, capacity, dtype), key, chains, tags.NAIVE_ROUND_X)

    def real(key, chains, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        mask = jnp.arange(capacity)[None, :] < n[:, None]
        return stats_of(real_points(key, chains, capacity), mask, key, chains)

    def distribution(p):
        return dist.Normal(p.mu, p.sigma)

    return Family(
        name="gaussian",
        truth=model0,
        draw=draw,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=fit_weighted,
        metrics=metrics,
        metric_names=METRICS,
        distribution=distribution,
        real=real if target is not None else None,
        real_points=real_points if target is not None else None,
    )
