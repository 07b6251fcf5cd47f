"""d-dimensional Gaussian family with full covariance (unbiased or MLE scatter normalisation).

The Cholesky factor of a covariance or scatter matrix is carried as ``U diag(exp(l))`` with ``U``
lower triangular and unit diagonal (a log-Cholesky / LDL^T form). Under the replace workflow the
eigenvalues of Sigma_n separate exponentially (distinct Lyapunov exponents of a product of random
matrices), so a plain matrix would lose its small directions long before 10^4 generations; this
form keeps log det exact and the small directions representable.

Exact kernel (Bartlett decomposition): the scatter of n draws from N(mu, L L^T) is
L A A^T L^T with A lower triangular, A_ii^2 ~ chi2_{n-1-i} and A_ij ~ N(0, 1) below the diagonal,
independent of the mean ~ N(mu, L L^T / n); so the new factor is simply L A. When n <= d the
scatter is singular and is built from n - 1 explicit normal vectors instead (same law).

References:
    Bartlett, "On the theory of statistical regression", Proc. R. Soc. Edinburgh 53 (1933);
    Shumailov et al., Nature 631 (2024), Theorem 3.1 (Sigma_n -> 0 almost surely).

"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.distributions as dist

from collapse_theory.families.base import Family
from collapse_theory.metrics import gaussian as gm
from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags

__all__ = ["Params", "Stats", "gaussian_nd", "apply_factor"]


class Params(NamedTuple):
    """Fitted N(mu, Sigma): ``mu[C, d]``; chol(Sigma) = ``unit[C, d, d] * exp(log_diag[C, None, d])``."""

    mu: jax.Array
    unit: jax.Array
    log_diag: jax.Array


class Stats(NamedTuple):
    """Count ``n[C]``, ``mean[C, d]`` and a factor of the scatter matrix in the same form."""

    n: jax.Array
    mean: jax.Array
    unit: jax.Array
    log_diag: jax.Array


def apply_factor(unit, log_diag, log_a, a_off):
    """Factor ``(U', l')`` of ``L A`` for ``L = U diag(e^l)`` and lower-triangular ``A``.

    ``A`` is given by its log-diagonal ``log_a`` (``-inf`` for a zero pivot) and its strictly
    lower part ``a_off``. With D = diag(e^l): D A = V diag(a e^l) where V has unit diagonal and
    V_ij = A_ij exp(l_i - l_j - log a_j); a zero pivot keeps l_j and puts 0 on V's diagonal.
    """
    finite = jnp.isfinite(log_a)
    la = jnp.where(finite, log_a, 0.0)
    shift = log_diag[..., :, None] - log_diag[..., None, :] - la[..., None, :]
    v = jnp.tril(a_off, -1) * jnp.exp(jnp.tril(shift, -1))
    d = log_diag.shape[-1]
    v = v + jnp.eye(d, dtype=v.dtype) * finite[..., None, :].astype(v.dtype)
    return unit @ v, log_diag + la


def _unit_form(chol):
    diag = jnp.diagonal(chol, axis1=-2, axis2=-1)
    return chol / diag[..., None, :], jnp.log(diag)


def _full(unit, log_diag):
    f = unit * jnp.exp(log_diag)[..., None, :]
    return f @ jnp.swapaxes(f, -1, -2)


def _lower_factor(x):
    """Lower-triangular A with A A^T = X^T X, via QR of X (rows are points)."""
    r = jnp.linalg.qr(x, mode="r")
    d = x.shape[-1]
    r = r[..., :d, :]
    s = jnp.where(jnp.diagonal(r, axis1=-2, axis2=-1) < 0, -1.0, 1.0).astype(r.dtype)
    a = jnp.swapaxes(r * s[..., :, None], -1, -2)
    diag = jnp.abs(jnp.diagonal(r, axis1=-2, axis2=-1))
    return jnp.log(diag), a


def gaussian_nd(mean, cov, estimator: str = "unbiased", kernel: str = "exact", dtype=jnp.float32) -> Family:
    """Build the d-dimensional Gaussian family.

    Args:
        mean: true mean, length d.
        cov: true covariance, d x d, symmetric positive definite.
        estimator: ``"unbiased"`` (scatter / (n - 1)) or ``"mle"`` (scatter / n).
        kernel: ``"exact"`` (Bartlett) or ``"sample"`` (draw and fit n points).
        dtype: float32 or float64.

    """
    ddof = {"unbiased": 1.0, "mle": 0.0}[estimator]
    mu0 = np.asarray(mean, dtype=np.float64)
    chol0 = np.linalg.cholesky(np.asarray(cov, dtype=np.float64))
    d = mu0.shape[0]
    unit0, ld0 = chol0 / np.diag(chol0)[None, :], np.log(np.diag(chol0))

    def truth(c):
        return Params(
            jnp.broadcast_to(jnp.asarray(mu0, dtype), (c, d)),
            jnp.broadcast_to(jnp.asarray(unit0, dtype), (c, d, d)),
            jnp.broadcast_to(jnp.asarray(ld0, dtype), (c, d)),
        )

    def empty(c):
        return Stats(
            jnp.zeros((c,), dtype),
            jnp.zeros((c, d), dtype),
            jnp.broadcast_to(jnp.eye(d, dtype=dtype), (c, d, d)),
            jnp.full((c, d), -jnp.inf, dtype),
        )

    def _mean(key, chains, p, n):
        z = bits.normal(bits.fold(key, tags.GAUSSIAN_ND_NORMAL), chains, d, dtype)
        shift = jnp.einsum("cij,cj->ci", p.unit, jnp.exp(p.log_diag) * z)
        return p.mu + shift * jax.lax.rsqrt(jnp.maximum(n, 1.0))[:, None]

    def draw_exact(key, chains, p, n, capacity):
        del capacity
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        dof = jnp.maximum(n[:, None] - 1.0 - jnp.arange(d, dtype=dtype)[None, :], 0.0)
        log_chi = jnp.stack(
            [gamma.log_chi2(bits.fold(key, tags.GAUSSIAN_ND_CHI2, i), chains, dof[:, i], dtype) for i in range(d)],
            axis=1,
        )
        off = bits.normal(bits.fold(key, tags.GAUSSIAN_ND_OFFDIAG), chains, d * d, dtype).reshape(-1, d, d)
        # n <= d: the scatter is singular; build it from n - 1 explicit N(0, I) vectors.
        g = bits.normal(bits.fold(key, tags.GAUSSIAN_ND_SMALL), chains, d * d, dtype).reshape(-1, d, d)
        g = jnp.where(jnp.arange(d)[None, :, None] < (n - 1.0)[:, None, None], g, 0.0)
        log_s, a_s = _lower_factor(g)
        small = (n <= d)[:, None]
        log_a = jnp.where(small, log_s, 0.5 * log_chi)
        a_off = jnp.where(small[..., None], a_s, off)
        unit, ld = apply_factor(p.unit, p.log_diag, log_a, a_off)
        return Stats(n, _mean(key, chains, p, n), unit, ld)

    def draw_sample(key, chains, p, n, capacity):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        z = bits.normal(bits.fold(key, tags.GAUSSIAN_ND_POINTS), chains, capacity * d, dtype).reshape(-1, capacity, d)
        mask = (jnp.arange(capacity)[None, :] < n[:, None])[..., None]
        zbar = jnp.sum(jnp.where(mask, z, 0.0), axis=1) / jnp.maximum(n, 1.0)[:, None]
        log_a, a = _lower_factor(jnp.where(mask, z - zbar[:, None, :], 0.0))
        unit, ld = apply_factor(p.unit, p.log_diag, log_a, a)
        mean = p.mu + jnp.einsum("cij,cj->ci", p.unit, jnp.exp(p.log_diag) * zbar)
        return Stats(n, mean, unit, ld)

    def points(key, chains, p, capacity):
        z = bits.normal(bits.fold(key, tags.GAUSSIAN_ND_POINTS), chains, capacity * d, dtype).reshape(-1, capacity, d)
        chol = p.unit * jnp.exp(p.log_diag)[:, None, :]
        return p.mu[:, None, :] + jnp.einsum("cij,cnj->cni", chol, z)

    def points_stats(x, mask):
        m = mask[..., None]
        n = jnp.sum(mask, axis=1).astype(dtype)
        mean = jnp.sum(jnp.where(m, x, 0.0), axis=1) / jnp.maximum(n, 1.0)[:, None]
        log_a, a = _lower_factor(jnp.where(m, x - mean[:, None, :], 0.0))
        unit = jnp.broadcast_to(jnp.eye(d, dtype=dtype), a.shape)
        unit, ld = apply_factor(unit, jnp.zeros_like(log_a), log_a, a)
        return Stats(n, mean, unit, ld)

    def merge(a, b):
        n = a.n + b.n
        safe_n = jnp.where(n > 0, n, 1.0)
        delta = b.mean - a.mean
        mean = a.mean + delta * (b.n / safe_n)[:, None]
        coef = (a.n * b.n / safe_n)[:, None, None]
        s = _full(a.unit, a.log_diag) + _full(b.unit, b.log_diag) + coef * delta[:, :, None] * delta[:, None, :]
        unit, ld = _unit_form(jnp.linalg.cholesky(s))
        pick_b = (a.n == 0)[:, None]
        pick_a = (b.n == 0)[:, None]
        mean = jnp.where(pick_b, b.mean, jnp.where(pick_a, a.mean, mean))
        ld = jnp.where(pick_b, b.log_diag, jnp.where(pick_a, a.log_diag, ld))
        unit = jnp.where(pick_b[..., None], b.unit, jnp.where(pick_a[..., None], a.unit, unit))
        return Stats(n, mean, unit, ld)

    def fit(s):
        return Params(s.mean, s.unit, s.log_diag - 0.5 * jnp.log(s.n - ddof)[:, None])

    def fit_weighted(real, synth, w):
        w = jnp.where(real.n == 0, 0.0, jnp.where(synth.n == 0, 1.0, w))
        nr, ns = jnp.maximum(real.n, 1.0), jnp.maximum(synth.n, 1.0)
        mean = w[:, None] * real.mean + (1.0 - w)[:, None] * synth.mean
        delta = real.mean - synth.mean
        m2 = (
            (w / nr)[:, None, None] * _full(real.unit, real.log_diag)
            + ((1.0 - w) / ns)[:, None, None] * _full(synth.unit, synth.log_diag)
            + (w * (1.0 - w))[:, None, None] * delta[:, :, None] * delta[:, None, :]
        )
        v2 = jnp.square(w) / nr + jnp.square(1.0 - w) / ns
        cov = m2 / (1.0 - ddof * v2)[:, None, None]
        unit, ld = _unit_form(jnp.linalg.cholesky(cov))
        return Params(mean, unit, ld)

    def metrics(p):
        return gm.metrics_nd(p.mu, p.unit, p.log_diag, jnp.asarray(mu0, dtype), jnp.asarray(chol0, dtype))

    def distribution(p):
        return dist.MultivariateNormal(p.mu, scale_tril=p.unit * jnp.exp(p.log_diag)[..., None, :])

    return Family(
        name="gaussian",
        truth=truth,
        draw=draw_exact if kernel == "exact" else draw_sample,
        points=points,
        points_stats=points_stats,
        empty=empty,
        merge=merge,
        fit=fit,
        fit_weighted=lambda r, s, w: fit_weighted(r, s, jnp.broadcast_to(jnp.asarray(w, dtype), r.n.shape)),
        metrics=metrics,
        metric_names=gm.METRICS_ND,
        distribution=distribution,
    )
