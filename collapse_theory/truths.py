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

W2 to the truth is a quantile integral, ``W2^2 = int_0^1 (F^-1(u) - G^-1(u))^2 du``, computed
with ``u = Phi(z)`` as a composite Gauss-Legendre sum over ``z`` in ``[-12, 12]`` with weight
``phi(z)`` (smooth bimodal quantile functions need the local panels; global Gauss-Hermite
converged to only ~1e-3 at 160 nodes): the truth's quantiles at the nodes are
constants computed once on the host with scipy (root finding in log-CDF space), so the per-chain
cost is one pass over the nodes. :func:`w2_accuracy` measures the quadrature error.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits, gamma
from collapse_theory.random import purposes as tags

__all__ = [
    "Truth",
    "against_truth",
    "parse_truth",
    "moments",
    "quantile_nodes",
    "w2_sq",
    "w2_accuracy",
    "logpdf",
    "points",
]

W2_PANELS, W2_ORDER, W2_RANGE = 64, 8, 12.0
"""Composite Gauss-Legendre in ``z`` over ``[-12, 12]`` (64 panels of 8 nodes) for W2; see :func:`w2_accuracy`."""


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


def _host_logcdf(t: Truth, x: float, upper: bool) -> float:
    from scipy import special, stats

    if t.kind == "mixture":
        f = stats.norm.logsf if upper else stats.norm.logcdf
        terms = [math.log(w) + f((x - m) / s) for w, m, s in zip(t.weights, t.means, t.sds, strict=True) if w > 0]
        return float(special.logsumexp(terms))
    g = stats.t.logsf if upper else stats.t.logcdf
    return float(g((x - t.loc) / t.scale, t.df))


def _host_quantile(t: Truth, z: float) -> float:
    """F^-1(Phi(z)), solved in log-CDF space (lower tail for z < 0, upper for z >= 0)."""
    from scipy import optimize, stats

    if t.kind == "student-t":
        q = -stats.t.isf(stats.norm.cdf(z), t.df) if z < 0 else stats.t.isf(stats.norm.sf(z), t.df)
        return t.loc + t.scale * float(q)
    upper = z >= 0
    target = float(stats.norm.logsf(z) if upper else stats.norm.logcdf(z))

    def g(x):
        return _host_logcdf(t, x, upper) - target

    lo = min(m - (abs(z) + 2) * s for m, s in zip(t.means, t.sds, strict=True))
    hi = max(m + (abs(z) + 2) * s for m, s in zip(t.means, t.sds, strict=True))
    return float(optimize.brentq(g, lo, hi, xtol=1e-13, rtol=1e-15))


@functools.lru_cache(maxsize=16)
def quantile_nodes(t: Truth, panels: int = W2_PANELS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quadrature nodes ``z``, weights ``h`` (including ``phi(z)``) and truth quantiles ``F^-1(Phi(z))``."""
    from scipy import stats

    x, w = np.polynomial.legendre.leggauss(W2_ORDER)
    edges = np.linspace(-W2_RANGE, W2_RANGE, panels + 1)
    half = 0.5 * np.diff(edges)
    mid = 0.5 * (edges[1:] + edges[:-1])
    z = (mid[:, None] + half[:, None] * x[None, :]).reshape(-1)
    h = (half[:, None] * w[None, :]).reshape(-1) * stats.norm.pdf(z)
    q = np.array([_host_quantile(t, float(zi)) for zi in z])
    return z, h, q


def w2_sq(nodes: tuple[np.ndarray, np.ndarray, np.ndarray], mu: jax.Array, sigma: jax.Array) -> jax.Array:
    """``W2^2(truth, N(mu, sigma^2))`` per chain, by the Gauss-Hermite quantile sum."""
    z, h, q = (jnp.asarray(a, mu.dtype) for a in nodes)
    diff = q[None, :] - mu[:, None] - sigma[:, None] * z[None, :]
    return jnp.sum(h[None, :] * jnp.square(diff), axis=1)


def against_truth(t: Truth, m: dict, mu: jax.Array, log_sigma: jax.Array) -> dict:
    """Replace the Gaussian-reference ``w2_sq`` and ``kl`` of ``m`` by those against the truth.

    ``w2_sq`` is the quantile integral (:func:`w2_sq`); ``kl`` = KL(fit || truth) =
    ``-H(fit) - E_fit log p_truth``, the expectation by 64-point Gauss-Hermite quadrature.
    """
    sigma = jnp.exp(log_sigma)
    z_np, h_np = np.polynomial.hermite_e.hermegauss(64)
    z, h = jnp.asarray(z_np, mu.dtype), jnp.asarray(h_np / math.sqrt(2 * math.pi), mu.dtype)
    x = mu[:, None] + sigma[:, None] * z[None, :]
    cross = jnp.sum(h[None, :] * logpdf(t, x), axis=1)
    return m | {
        "w2_sq": w2_sq(quantile_nodes(t), mu, sigma),
        "kl": -(log_sigma + 0.5 * math.log(2 * math.pi * math.e)) - cross,
    }


def w2_accuracy(t: Truth, panels: int = W2_PANELS) -> float:
    """Absolute error of the quadrature for ``W2^2(truth, moment-matched Gaussian)``.

    Compared with adaptive quadrature (scipy ``quad``) of the quantile difference over ``u``.
    """
    from scipy import integrate, stats

    mean, var = moments(t)
    z, h, q = quantile_nodes(t, panels)
    gh = float(np.sum(h * (q - mean - math.sqrt(var) * z) ** 2))

    def integrand(zz):
        return (_host_quantile(t, zz) - mean - math.sqrt(var) * zz) ** 2 * stats.norm.pdf(zz)

    ref = sum(integrate.quad(integrand, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0] for a, b in ((-15, 0), (0, 15)))
    return abs(gh - ref)


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
