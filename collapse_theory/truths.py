"""True distributions outside the Gaussian family: misspecified fits (functional error).

A single Gaussian fitted to data from a Gaussian mixture or a Student-t cannot represent the
truth; with infinite data the fit is the moment-matched Gaussian (the population maximum-likelihood
fit, the I-projection's reverse: argmin KL(truth || N)), so the Wasserstein distance between the
truth and that Gaussian is the functional error alone (Shumailov et al., Nature 631 (2024),
"functional approximation error").

Specs (the CLI's ``--truth``):

* ``mixture:w1,m1,s1;w2,m2,s2;...``: weights, means and standard deviations;
* ``student-t:df`` or ``student-t:df,loc,scale``: a location-scale Student-t, ``df > 2`` so that
  the variance, and with it the Gaussian fit, exists.

Draws are exact in law and pointwise (real data are drawn once per generation at most, so
the O(M) cost is the sample kernel's): a mixture component by inverse CDF of the weights, then
a normal; the Student-t as ``loc + scale z sqrt(df / chi2_df)``. (Exact statistics via
multinomial component counts would avoid the points but compiled ~5x slower.)

Metrics against the truth (:func:`against_truth`), per chain for a fitted ``N(mu, sigma^2)``:

* ``w2_sq``: ``W2^2 = int_0^1 (F^-1(u) - mu - sigma Phi^-1(u))^2 du`` in closed form. With
  ``Z ~ N(0, 1)``, ``q = F^-1 o Phi`` and the truth's mean ``m`` and sd ``s``, expanding around
  the best Gaussian ``m + c Z`` (``c = E[q(Z) Z]``) leaves three non-negative terms,
  ``W2^2 = (mu - m)^2 + (sigma - c)^2 + (s^2 - c^2)``. The one truth constant is
  ``delta = s - c``: by Stein's lemma ``c = E[q'(Z)] = int phi(Phi^-1(F(x))) dx``, so
  ``delta = int [phi((x - m) / s) - phi(Phi^-1(F(x)))] dx`` (a Gaussian has ``delta = 0``), an
  integral of smooth functions computed once on the host by adaptive quadrature
  (:func:`w2_constants`; ``Phi^-1`` in log space, so the tails keep full precision). The
  result is ``(mu - m)^2 + (sigma - s + delta)^2 + delta (2 s - delta)``: no cancellation; its
  derivative in ``delta`` is ``2 sigma``, so the absolute error is ``2 sigma`` times that of
  ``delta`` (below 1e-12 relative, the quadrature's own estimate, stored as
  :attr:`W2Constants.error`) plus rounding, at most a few times ``delta``'s relative error
  (tested <= 1e-11 relative; measured <= 1e-13).
* ``kl`` = KL(fit || truth) = ``-H(fit) - E_fit log p_truth``. For a mixture truth the
  expectation is :func:`collapse_theory.metrics.mixture.cross_entropy` (closed-form quadratic
  part plus panelled Gauss-Legendre, relative error <= 1e-9 on KL; see there); for a
  Student-t, ``E log(1 + v^2)`` by Gauss-Legendre on panels between the fit's grid
  ``mu + sigma z`` (``z`` in ``-10..10``) and the t's geometric grid ``loc + scale sqrt(df) 2^k``,
  which keeps every panel as narrow as its distance to the integrand's singularities at
  ``v = +-i`` (relative error <= 1e-9 on KL, measured <= 5e-12 for df from 2.5 to 30 and fitted
  sds from 1e-3 to 1e3 times the truth's; the error is absolute in ``E log(1 + v^2)``, so it
  is largest relative to the smallest KL, near df = 30 at the moment match).
  Both are measured against scipy ``quad`` in ``tests/families/test_truths.py``. (The former
  single 64-node Gauss-Hermite rule was 0.5 % low for ``mixture:0.5,-2,1;0.5,2,1`` and 2.3 % low
  for ``mixture:0.5,-3,1;0.5,3,1``.)
"""

from __future__ import annotations

import functools
import math
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.metrics import mixture
from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags

__all__ = [
    "Truth",
    "against_truth",
    "parse_truth",
    "moments",
    "W2Constants",
    "w2_constants",
    "w2_sq",
    "logpdf",
    "points",
]

_T_GRID = (0.0, 0.5) + tuple(2.0**k for k in range(41))
"""Breaks of the Student-t ``kl`` integral: ``loc +- scale sqrt(df) v`` for these ``v``."""


class Truth(NamedTuple):
    """A true distribution: ``kind`` is ``"mixture"`` or ``"student-t"``."""

    kind: str
    weights: tuple[float, ...] = ()
    means: tuple[float, ...] = ()
    sds: tuple[float, ...] = ()
    df: float = math.inf
    loc: float = 0.0
    scale: float = 1.0

    def spec(self) -> str:
        """The canonical spec string (round-trips through :func:`parse_truth`)."""
        if self.kind == "mixture":
            return "mixture:" + ";".join(
                f"{w!r},{m!r},{s!r}" for w, m, s in zip(self.weights, self.means, self.sds, strict=True)
            )
        return f"student-t:{self.df!r},{self.loc!r},{self.scale!r}"


def _nums(text: str, what: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--truth {what}: expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"--truth {what}: numbers must be finite, got {text!r}")
    return vals


def parse_truth(spec: str) -> Truth:
    """Parse ``mixture:w,m,s;...`` or ``student-t:df[,loc,scale]``.

    Raises:
        ValueError: one line naming the problem.

    """
    kind, _, body = spec.partition(":")
    kind = kind.strip().lower()
    if kind == "mixture":
        comps = [_nums(c, "mixture component") for c in body.split(";") if c.strip()]
        if not comps or any(len(c) != 3 for c in comps):
            raise ValueError(f"--truth mixture needs components 'w,m,s' separated by ';', got {body!r}")
        w, m, s = (tuple(c[i] for c in comps) for i in range(3))
        if any(x < 0 for x in w) or abs(sum(w) - 1.0) > 1e-6:
            raise ValueError(f"--truth mixture weights must be non-negative and sum to 1, got {w}")
        if any(x <= 0 for x in s):
            raise ValueError(f"--truth mixture standard deviations must be positive, got {s}")
        total = sum(w)
        return Truth("mixture", tuple(x / total for x in w), m, s)
    if kind in ("student-t", "t", "student"):
        vals = _nums(body, "student-t")
        if len(vals) not in (1, 3):
            raise ValueError(f"--truth student-t takes df or df,loc,scale, got {body!r}")
        df = vals[0]
        loc, scale = (vals[1], vals[2]) if len(vals) == 3 else (0.0, 1.0)
        if not df > 2:
            raise ValueError(f"--truth student-t needs df > 2 (finite variance, so a Gaussian fit exists), got {df}")
        if not scale > 0:
            raise ValueError(f"--truth student-t scale must be positive, got {scale}")
        return Truth("student-t", df=df, loc=loc, scale=scale)
    raise ValueError(f"unknown --truth {spec!r}; use mixture:w,m,s;w,m,s or student-t:df[,loc,scale]")


def moments(t: Truth) -> tuple[float, float]:
    """Mean and variance of the truth: the population (moment-matched) Gaussian fit."""
    if t.kind == "mixture":
        w, m, s = (np.asarray(x, np.float64) for x in (t.weights, t.means, t.sds))
        mean = float(np.sum(w * m))
        return mean, float(np.sum(w * (s**2 + (m - mean) ** 2)))
    return t.loc, t.scale**2 * t.df / (t.df - 2.0)


class W2Constants(NamedTuple):
    """The truth's constants of the closed-form ``W2^2`` to a Gaussian (module docstring).

    Attributes:
        mean: ``m``, the truth's mean.
        sd: ``s``, the truth's standard deviation.
        delta: ``s - E[F^-1(Phi(Z)) Z]`` (>= 0; 0 for a Gaussian).
        error: the adaptive quadrature's estimate of the absolute error of ``delta``.

    """

    mean: float
    sd: float
    delta: float
    error: float


def _phi_of_probit(log_cdf: np.ndarray, log_sf: np.ndarray) -> np.ndarray:
    """``phi(Phi^-1(F))`` from ``log F`` and ``log(1 - F)``, through the smaller tail (full precision)."""
    from scipy import special

    z = special.ndtri_exp(np.minimum(log_cdf, log_sf))
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _quad_pieces(f, edges, epsabs: float) -> tuple[float, float]:
    """Sum of scipy ``quad`` over consecutive pieces, with its summed error estimate.

    Rounding-limited pieces make ``quad`` warn; its error estimate (returned) still bounds them.
    """
    from scipy import integrate

    total, err = 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b > a:
                v, e = integrate.quad(f, a, b, epsabs=epsabs, epsrel=1e-13, limit=500)
                total, err = total + v, err + e
    return total, err


@functools.lru_cache(maxsize=32)
def w2_constants(t: Truth) -> W2Constants:
    """``delta = int [phi((x - m) / s) - phi(Phi^-1(F(x)))] dx`` by adaptive quadrature (host, cached).

    Mixture: over ``x`` in pieces split at every component's ``m_k + s_k z`` (``z`` in
    ``{0, +-1, +-2, +-4, ..., +-64}``) and the moment Gaussian's, where the integrand is
    below 1e-300 outside. Student-t: standardised and symmetric, ``2 int_0^1 + 2 int_0^Y e^y (.)(e^y) dy``
    (``x = e^y``, for the algebraic tail ``~ x^-df``), with ``Y`` where that tail is below 1e-17.
    """
    from scipy import special, stats

    mean, var = moments(t)
    sd = math.sqrt(var)
    if t.kind == "mixture":
        w, m, s = (np.asarray(v, np.float64) for v in (t.weights, t.means, t.sds))
        keep = w > 0
        w, m, s = w[keep], m[keep], s[keep]
        if np.all(m == m[0]) and np.all(s == s[0]):
            return W2Constants(mean, sd, 0.0, 0.0)  # a Gaussian

        def integrand(x):
            r = (x - m) / s
            lc = special.logsumexp(np.log(w) + special.log_ndtr(r))
            ls = special.logsumexp(np.log(w) + special.log_ndtr(-r))
            return float(stats.norm.pdf((x - mean) / sd) - _phi_of_probit(lc, ls))

        z = np.array([0.0, 1, 2, 4, 8, 16, 32, 64])
        z = np.concatenate([-z[1:], z])
        edges = np.unique(np.concatenate([mean + sd * z, (m[:, None] + s[:, None] * z).ravel()]))
        delta, err = _quad_pieces(integrand, edges, 1e-18 * sd)
        return W2Constants(mean, sd, delta, err)
    df, sd1 = t.df, math.sqrt(t.df / (t.df - 2.0))

    def plain(x):
        return float(stats.norm.pdf(x / sd1) - _phi_of_probit(stats.t.logcdf(x, df), stats.t.logsf(x, df)))

    def logged(y):
        return math.exp(y) * plain(math.exp(y))

    y_max = min(700.0, 45.0 / (df - 1.0) + 5.0)
    d0, e0 = _quad_pieces(plain, np.array([0.0, 0.25, 0.5, 1.0]), 1e-18)
    d1, e1 = _quad_pieces(
        logged, np.unique(np.concatenate([np.linspace(0.0, 6.0, 13), np.arange(6.0, y_max, 4.0), [y_max]])), 1e-18
    )
    return W2Constants(t.loc, t.scale * sd1, 2.0 * t.scale * (d0 + d1), 2.0 * t.scale * (e0 + e1))


def w2_sq(c: W2Constants, mu: jax.Array, sigma: jax.Array) -> jax.Array:
    """``W2^2(truth, N(mu, sigma^2))`` per chain: ``(mu - m)^2 + (sigma - s + delta)^2 + delta (2 s - delta)``."""
    return jnp.square(mu - c.mean) + jnp.square(sigma - c.sd + c.delta) + c.delta * (2.0 * c.sd - c.delta)


def _t_expected_log_pdf(t: Truth, mu: jax.Array, sigma: jax.Array, order: int) -> jax.Array:
    """``E_{X ~ N(mu, sigma^2)} log p_t(X)`` by Gauss-Legendre panels in ``z = (x - mu) / sigma`` (module docstring)."""
    dtype = mu.dtype
    const = (
        math.lgamma(0.5 * (t.df + 1.0)) - math.lgamma(0.5 * t.df) - 0.5 * math.log(t.df * math.pi) - math.log(t.scale)
    )
    width = t.scale * math.sqrt(t.df)
    v = np.asarray(_T_GRID)
    x_breaks = jnp.asarray(t.loc + width * np.concatenate([-v[1:], v]), dtype)
    safe = jnp.where(sigma > 0, sigma, 1.0)[:, None]
    z_breaks = jnp.where(sigma[:, None] > 0, (x_breaks[None, :] - mu[:, None]) / safe, 0.0)
    grid = jnp.broadcast_to(jnp.arange(-mixture.RANGE, mixture.RANGE + 0.5, 1.0, dtype=dtype), mu.shape + (21,))
    lim = jnp.full(mu.shape, mixture.RANGE, dtype)
    z, wt = mixture.gauss_legendre(jnp.concatenate([grid, z_breaks], axis=-1), -lim, lim, order)
    vv = (mu[:, None] + sigma[:, None] * z - t.loc) / width
    e = jnp.sum(wt * jnp.exp(-0.5 * jnp.square(z)) * jnp.log1p(jnp.square(vv)), axis=-1) / math.sqrt(2.0 * math.pi)
    return const - 0.5 * (t.df + 1.0) * e


def against_truth(t: Truth, m: dict, mu: jax.Array, log_sigma: jax.Array, order: int = mixture.ORDER) -> dict:
    """Replace the Gaussian-reference ``w2_sq`` and ``kl`` of ``m`` by those against the truth.

    ``w2_sq`` is the closed form :func:`w2_sq`; ``kl`` = KL(fit || truth) = ``-H(fit) - E_fit log
    p_truth`` by the quadratures of the module docstring (stated accuracy there).

    Args:
        t: the truth.
        m: the Gaussian metrics (``w2_sq`` and ``kl`` are replaced; the rest is kept).
        mu: fitted means ``[C]``.
        log_sigma: fitted log standard deviations ``[C]``.
        order: Gauss-Legendre nodes per panel of ``kl``.

    Returns:
        ``m`` with ``w2_sq`` and ``kl`` against the truth.

    """
    sigma = jnp.exp(log_sigma)
    if t.kind == "mixture":
        ones = jnp.ones(mu.shape + (1,), mu.dtype)
        w, mm, s = (jnp.asarray(v, mu.dtype)[None, :] for v in (t.weights, t.means, t.sds))
        cross = mixture.cross_entropy(ones, mu[:, None], sigma[:, None], w, mm, s, order=order)
    else:
        cross = -_t_expected_log_pdf(t, mu, sigma, order)
    return m | {
        "w2_sq": w2_sq(w2_constants(t), mu, sigma),
        "kl": cross - (log_sigma + 0.5 * math.log(2 * math.pi * math.e)),
    }


def logpdf(t: Truth, x: jax.Array) -> jax.Array:
    """Log density of the truth at ``x`` (any shape)."""
    if t.kind == "mixture":
        w, m, s = (jnp.asarray(v, x.dtype) for v in (t.weights, t.means, t.sds))
        zz = (x[..., None] - m) / s
        comp = jnp.log(w) - 0.5 * zz * zz - jnp.log(s) - 0.5 * math.log(2 * math.pi)
        return jax.scipy.special.logsumexp(comp, axis=-1)
    return jax.scipy.stats.t.logpdf(x, t.df, t.loc, t.scale)


def points(t: Truth, key, chains, capacity: int, dtype) -> jax.Array:
    """``[C, capacity]`` independent draws from the truth."""
    if t.kind == "mixture":
        u = bits.uniform(bits.fold(key, tags.TRUTH_COMPONENT), chains, capacity, dtype)
        cum = jnp.asarray(np.cumsum(t.weights)[:-1], dtype)
        comp = jnp.sum(u[..., None] >= cum, axis=-1)
        m, s = jnp.asarray(t.means, dtype)[comp], jnp.asarray(t.sds, dtype)[comp]
        return m + s * bits.normal(bits.fold(key, tags.TRUTH_POINT), chains, capacity, dtype)
    z = bits.normal(bits.fold(key, tags.TRUTH_POINT), chains, capacity, dtype)
    # One chi-square per point: point j of chain c uses stream slot c * capacity + j.
    flat = (chains[:, None] * jnp.uint32(capacity) + jnp.arange(capacity, dtype=jnp.uint32)).reshape(-1)
    log_chi2 = gamma.log_chi2(bits.fold(key, tags.TRUTH_SCALE), flat, jnp.full(flat.shape, t.df, dtype), dtype)
    scale = jnp.exp(0.5 * (math.log(t.df) - log_chi2)).reshape(chains.shape[0], capacity)
    return t.loc + t.scale * z * scale
