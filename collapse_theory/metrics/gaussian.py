"""Gaussian metrics in closed form, computed in log space where the scale can collapse.

Names are a contract read by scripts outside the package:

* 1-D: ``mu_err2`` (mu_n - mu_0)^2, ``sigma2``, ``sigma``, ``log_sigma2``, ``w2_sq`` (the exact
  W2^2 between 1-D Gaussians, (a - b)^2 + (s - t)^2), ``kl`` = KL(fitted || truth), and
  ``tail_mass`` = P_fitted(|X - mu_0| > 3 sigma_0).
* d-D: ``mu_err2`` = ||mu_n - mu_0||^2, ``trace`` = tr Sigma_n, ``log_det`` = log det Sigma_n,
  ``w2_sq`` = ||mu_n - mu_0||^2 + Bures^2(Sigma_n, Sigma_0).

References:
    Givens & Shortt, "A class of Wasserstein metrics for probability distributions", Michigan
    Math. J. 31 (1984) (W2 between Gaussians); Bhatia, Jain & Lim, "On the Bures-Wasserstein
    distance between positive definite matrices", Expo. Math. 37 (2019), eq. (1)-(3).

"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr

__all__ = ["METRICS_1D", "METRICS_ND", "metrics_1d", "metrics_nd", "bures_sq"]

METRICS_1D = ("mu_err2", "sigma2", "sigma", "log_sigma2", "w2_sq", "kl", "tail_mass")
METRICS_ND = ("mu_err2", "trace", "log_det", "w2_sq")


def metrics_1d(mu, log_sigma, mu0: float, log_sigma0: float) -> dict[str, jax.Array]:
    """Per-chain 1-D metrics of N(mu, exp(log_sigma)^2) against N(mu0, exp(log_sigma0)^2)."""
    sigma0 = jnp.exp(log_sigma0)
    sigma = jnp.exp(log_sigma)
    d = mu - mu0
    # KL(N(mu, s^2) || N(mu0, s0^2)) = log(s0/s) + (s^2 + d^2)/(2 s0^2) - 1/2, finite as s -> 0.
    kl = (log_sigma0 - log_sigma) + 0.5 * (jnp.square(sigma) + jnp.square(d)) / sigma0**2 - 0.5
    inv_sigma = jnp.exp(-log_sigma)
    lo = (mu0 - 3.0 * sigma0 - mu) * inv_sigma
    hi = (mu0 + 3.0 * sigma0 - mu) * inv_sigma
    tail = ndtr(lo) + ndtr(-hi)
    return {
        "mu_err2": jnp.square(d),
        "sigma2": jnp.exp(2.0 * log_sigma),
        "sigma": sigma,
        "log_sigma2": 2.0 * log_sigma,
        "w2_sq": jnp.square(d) + jnp.square(sigma - sigma0),
        "kl": kl,
        "tail_mass": tail,
    }


def bures_sq(chol: jax.Array, chol0: jax.Array) -> jax.Array:
    """Squared Bures distance between L L^T and L0 L0^T, batched over a leading axis.

    Uses min over orthogonal Q of ||L - L0 Q||_F^2 (attained at Q = P R^T from the SVD
    L0^T L = P S R^T), a sum of squares, so it does not cancel catastrophically when the two
    covariances are close, unlike tr S + tr S0 - 2 tr (S0^1/2 S S0^1/2)^1/2.
    """
    m = jnp.einsum("...ji,...jk->...ik", chol0, chol)  # L0^T L
    p, _, rt = jnp.linalg.svd(m, full_matrices=False)
    q = p @ rt
    return jnp.sum(jnp.square(chol - chol0 @ q), axis=(-2, -1))


def metrics_nd(mu, unit, log_diag, mu0, chol0) -> dict[str, jax.Array]:
    """Per-chain d-D metrics for Sigma = (U diag(e^l))(U diag(e^l))^T against N(mu0, L0 L0^T)."""
    chol = unit * jnp.exp(log_diag)[..., None, :]
    err2 = jnp.sum(jnp.square(mu - mu0), axis=-1)
    return {
        "mu_err2": err2,
        "trace": jnp.sum(jnp.square(chol), axis=(-2, -1)),
        "log_det": 2.0 * jnp.sum(log_diag, axis=-1),
        "w2_sq": err2 + bures_sq(chol, jnp.broadcast_to(chol0, chol.shape)),
    }
