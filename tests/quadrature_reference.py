"""Adaptive float64 references (scipy ``quad``) for the quadrature-based metrics.

Each reference integrates on pieces split at the features of the integrand (component centres
and +-1, 2, 4, 8 sds, crossings of the model's components), so ``quad``'s 21-point Gauss-Kronrod
rule sees a smooth integrand on every piece; tolerances ``epsabs = 1e-15 * scale``,
``epsrel = 1e-13``. Its own error estimate is returned and the tests require it to be far
below the accuracy they check.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import integrate, optimize, special

Mix = tuple[np.ndarray, np.ndarray, np.ndarray]


def mix(w, m, s) -> Mix:
    """A 1-D Gaussian mixture as float64 arrays."""
    return tuple(np.atleast_1d(np.asarray(v, np.float64)) for v in (w, m, s))  # type: ignore[return-value]


def variance(a: Mix) -> float:
    """Variance of a mixture."""
    w, m, s = a
    mean = float(np.sum(w * m))
    return float(np.sum(w * (s**2 + (m - mean) ** 2)))


def log_pdf(x: float, a: Mix) -> float:
    """Log density of a mixture at a scalar (a max-shifted log-sum-exp)."""
    terms = [
        math.log(w) - math.log(s) - 0.5 * math.log(2 * math.pi) - 0.5 * ((x - m) / s) ** 2
        for w, m, s in zip(*(v.tolist() for v in a), strict=True)
        if w > 0
    ]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def _crossings(a: Mix) -> list[float]:
    """Real crossings of every pair of weighted component log densities."""
    w, m, s = a
    out = []
    for i in range(len(w)):
        for j in range(i + 1, len(w)):
            if w[i] <= 0 or w[j] <= 0:
                continue
            pi, pj = 1 / s[i] ** 2, 1 / s[j] ** 2
            qa, qb = 0.5 * (pj - pi), m[i] * pi - m[j] * pj
            qc = math.log(w[i] / w[j]) - math.log(s[i] / s[j]) - 0.5 * (m[i] ** 2 * pi - m[j] ** 2 * pj)
            roots = [-qc / qb] if qa == 0 and qb != 0 else list(np.roots([qa, qb, qc])) if qa != 0 else []
            out += [float(np.real(r)) for r in roots if abs(np.imag(r)) < 1e-300]
    return out


def breaks(*mixes: Mix, extra=()) -> np.ndarray:
    """Sorted features of the mixtures: centres, +-(1, 2, 4, 8, 16) sds, crossings and their neighbours."""
    z = np.array([0.0, 0.25, 0.5, 1, 2, 4, 8, 16, 40])
    z = np.concatenate([-z[1:], z])
    pts = list(extra)
    for w, m, s in mixes:
        pts += list((m[w > 0, None] + s[w > 0, None] * z).ravel())
    for a in mixes:
        for c in _crossings(a):
            width = min(a[2]) ** 2 / max(1e-300, np.ptp(a[1]) + min(a[2]))
            pts += [c + k * width for k in (-64, -16, -4, -1, 0, 1, 4, 16, 64)]
    return np.unique(np.asarray(pts))


def quad_pieces(f, edges, scale: float) -> tuple[float, float]:
    """``sum int f`` over consecutive pieces and the summed error estimate."""
    total, err = 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:], strict=True):
            if b > a:
                v, e = integrate.quad(f, a, b, epsabs=1e-15 * scale, epsrel=1e-13, limit=200)
                total, err = total + v, err + e
    return total, err


def _pieces(g: Mix, p: Mix) -> np.ndarray:
    """The breaks of :func:`breaks` within ``G``'s components +-40 sds (the integration range)."""
    _, gm, gs = g
    lo, hi = float(np.min(gm - 40 * gs)), float(np.max(gm + 40 * gs))
    edges = breaks(g, p, extra=(lo, hi))
    return edges[(edges >= lo) & (edges <= hi)]


def cross_entropy(g: Mix, p: Mix) -> tuple[float, float]:
    """``E_{X ~ G}[-log P(X)]`` and its error estimate (over ``G``'s components +-40 sds)."""
    gw, gm, _ = g
    edges = _pieces(g, p)

    def f(x):
        return -math.exp(log_pdf(x, g)) * log_pdf(x, p)

    return quad_pieces(f, edges, 1.0 + abs(log_pdf(float(np.sum(gw * gm)), p)))


def kl(g: Mix, p: Mix) -> tuple[float, float]:
    """``KL(G || P)`` as ``int g (log g - log p)`` on the same pieces (no cancellation of two integrals)."""
    edges = _pieces(g, p)

    def f(x):
        lg = log_pdf(x, g)
        return math.exp(lg) * (lg - log_pdf(x, p))

    return quad_pieces(f, edges, 1e-3)


def kl_gauss_student(mu: float, sigma: float, df: float, loc: float, scale: float) -> tuple[float, float]:
    """``KL(N(mu, sigma^2) || t_df(loc, scale))`` by ``quad`` in ``z = (x - mu) / sigma``."""
    z = np.array([0.0, 0.25, 0.5, 1, 2, 4, 8, 16, 40])
    edges = np.concatenate([-z[1:], z])
    v = np.array([0.0, 0.5, 1, 2, 4, 8, 16, 64, 256, 1024])
    edges = np.unique(np.concatenate([edges, ((loc + scale * math.sqrt(df) * np.concatenate([-v, v])) - mu) / sigma]))
    edges = edges[(edges >= -40) & (edges <= 40)]

    const = math.lgamma(0.5 * (df + 1)) - math.lgamma(0.5 * df) - 0.5 * math.log(df * math.pi) - math.log(scale)

    def f(zz):
        v = (mu + sigma * zz - loc) / scale
        log_t = const - 0.5 * (df + 1) * math.log1p(v * v / df)
        log_n = -0.5 * zz * zz - 0.5 * math.log(2 * math.pi)
        return math.exp(log_n) * (log_n - math.log(sigma) - log_t)

    return quad_pieces(f, edges, 1e-3)


def quantile_z(z: float, a: Mix) -> float:
    """The mixture quantile at ``u = Phi(z)``, by brentq on the smaller tail's probability.

    Both tails are evaluated with ``erfc`` (full relative precision down to 1e-308), so no
    precision is lost for ``u`` near 0 or 1.
    """
    comps = [(float(w), float(m), float(s)) for w, m, s in zip(*a, strict=True) if w > 0]
    sign = -1.0 if z > 0 else 1.0  # lower tail: erfc(-(x - m) / (s sqrt 2)) / 2 = Phi((x - m) / s)
    target = 0.5 * math.erfc(abs(z) / math.sqrt(2.0))

    def g(x):
        return sum(w * 0.5 * math.erfc(-sign * (x - m) / (s * math.sqrt(2.0))) for w, m, s in comps) - target

    lo, hi = min(m - (abs(z) + 2) * s for _, m, s in comps), max(m + (abs(z) + 2) * s for _, m, s in comps)
    return optimize.brentq(g, lo, hi, xtol=1e-15, rtol=1e-15, maxiter=400)


def w2_sq(a: Mix, b: Mix) -> tuple[float, float]:
    """``int (F^-1(Phi(z)) - G^-1(Phi(z)))^2 phi(z) dz`` (the quantile form with ``u = Phi(z)``) by ``quad``.

    Pieces at ``z = 0, +-0.5, +-1, ..., +-32, +-37`` and at ``Phi^-1`` of both mixtures'
    cumulative weights ``c`` (in order of the means) and at ``c +- 10^-k`` (``k = 1..15``): past a
    separated component's mass the quantile function behaves like a tail quantile of the next
    one, ``Phi^-1(u - c)``, so the pieces are geometric towards ``c``. The
    substitution spreads the tails (``u`` down to 1e-300) over the real line, so features deep in
    them (a wide component's tail overtaking a narrow one's) are resolved.
    """

    def order(x: Mix):
        i = np.argsort(x[1])
        return np.cumsum(x[0][i])[:-1]

    c = np.concatenate([order(a), order(b)])
    steps = 10.0 ** -np.arange(1.0, 16.0)
    near = np.concatenate([c, (c[:, None] + steps).ravel(), (c[:, None] - steps).ravel()])
    cuts = special.ndtri(near[(near > 0) & (near < 1)])
    z = np.array([0.0, 0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 37])
    edges = np.unique(np.concatenate([-z[:0:-1], z, cuts]))

    def f(zz):
        return (quantile_z(zz, a) - quantile_z(zz, b)) ** 2 * math.exp(-0.5 * zz * zz) / math.sqrt(2 * math.pi)

    return quad_pieces(f, edges, 1e-4 * (variance(a) + variance(b)))


def w2_sq_gauss_student(mu: float, sigma: float, df: float, loc: float, scale: float) -> tuple[float, float]:
    """``W2^2(N(mu, sigma^2), t_df(loc, scale))``: ``int (q_t(Phi(z)) - mu - sigma z)^2 phi(z) dz`` by ``quad``.

    ``q_t(Phi(z))`` through the smaller tail (``stdtrit`` of ``ndtr(-|z|)``), so both tails keep
    full precision; pieces at ``z = 0, +-0.5, +-1, +-2, ..., +-16, +-24``. The neglected tails weigh
    about ``phi(24)^(1 - 2 / df)`` (``stdtrit`` overflows further out), below 1e-24 for ``df >= 2.5``.
    """

    def q(z):
        v = -special.stdtrit(df, special.ndtr(-abs(z)))
        return loc + scale * (v if z > 0 else -v)

    def f(z):
        return (q(z) - mu - sigma * z) ** 2 * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    z = np.array([0.0, 0.5, 1, 2, 4, 8, 16, 24])
    return quad_pieces(f, np.concatenate([-z[:0:-1], z]), scale**2 + sigma**2)


def kde_cross_entropy(x, w, h: float, mean: float, sd: float) -> tuple[float, float]:
    """``E_{X ~ N(mean, sd^2)}[-log sum_i w_i N(X; x_i, h^2)]`` and its error estimate, by ``quad``.

    In ``z = (X - mean) / sd`` over ``[-12, 12]`` (the tails beyond weigh below 1e-32), on
    pieces at every half integer, every ``t / 2`` (``t = h / sd``) over the centres' range
    ``+- 12 t``, and around each crossing of neighbouring weighted kernels whose transition width
    ``t^2 / gap`` is below ``t``, at ``0, +-0.5, +-1, +-2, ..., +-32`` widths; ``-log p`` is a
    vectorised log-sum-exp over all centres (zero weights dropped).
    """
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    keep = w > 0
    u, lw = (x[keep] - mean) / sd, np.log(w[keep])
    o = np.argsort(u)
    u, lw = u[o], lw[o]
    t = h / sd
    lim = 12.0
    pts = list(np.arange(-lim, lim + 0.25, 0.5))
    lo, hi = max(-lim, u[0] - 12 * t), min(lim, u[-1] + 12 * t)
    if hi > lo:
        pts += list(np.arange(lo, hi, t / 2))
    gap = np.diff(u)
    ok = gap > 0
    g = np.where(ok, gap, 1.0)
    cross = 0.5 * (u[1:] + u[:-1]) + t * t * (lw[:-1] - lw[1:]) / g
    width = t * t / g
    sel = ok & (width < t) & (np.abs(cross) < lim)
    k = np.array([0.0, 0.5, 1, 2, 4, 8, 16, 32])
    k = np.concatenate([-k[1:], k])
    for c, wd in zip(cross[sel], width[sel], strict=True):
        pts += list(c + k * wd)
    edges = np.unique(np.clip(pts, -lim, lim))
    const = math.log(t) + 0.5 * math.log(2 * math.pi)

    def f(z):
        d = (z - u) / t
        return (const - special.logsumexp(lw - 0.5 * d * d)) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    v, e = quad_pieces(f, edges, 1.0)
    return v + math.log(sd), e
