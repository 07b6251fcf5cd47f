"""One-dimensional Gaussian mixtures: log CDF, quantile function and the 2-Wasserstein distance.

A mixture is given per chain by ``weights[..., K]``, ``means[..., K]`` and ``sds[..., K]``; a
single Gaussian is ``K = 1``. In one dimension the optimal coupling is the quantile coupling, so

    W2^2(F, G) = int_0^1 (F^-1(u) - G^-1(u))^2 du = int (x - T(x))^2 dF(x),  T = G^-1 o F,

the second form being the first with ``u = F(x)`` (``T`` is the optimal transport map).

Quadrature (:func:`w2_sq`): the quantile form is hard, because a separated mixture's quantile
function is nearly a step at its cumulative weights (Gauss-Hermite(e) per panel between the
cumulative weights, the former method, erred by up to 1e-3 relative at 64 nodes on fitted
two-component mixtures, e.g. truth 0.9 N(0, 1) + 0.1 N(4, 0.5^2) with ``W2^2 = 1.4e-4``).
In the transport form every feature has a known place: the integrand is smooth between

* ``F``'s own features: the grids ``m_k + s_k z`` (``z`` in ``-10..10``) and the graded
  neighbourhoods of its components' crossings
  (:func:`collapse_theory.metrics.mixture.feature_breaks`), and
* the pre-images ``x = F^-1(G(y))`` of ``G``'s features ``y`` (where ``T`` is steep),

so :func:`w2_sq` uses composite Gauss-Legendre (``nodes`` per panel) over ``F``'s components
``+-10`` sds (the neglected mass is below 2e-23) on the panels between those breaks. ``T`` at
the breaks comes from the bracketed solver below (at a pre-image it is ``y`` itself); at the
nodes, from a few Newton steps bracketed by ``T`` at the panel's ends. Two Gaussians (``K = 1``
against ``K = 1``) use the closed form ``(m1 - m2)^2 + (s1 - s2)^2``; identical parameters give
exactly 0.

Accuracy (float64, against scipy ``quad`` of ``brentq`` quantiles in
``tests/families/test_quantile.py`` and on fitted EM states in ``tests/families/test_gmm.py``):
relative error <= 1e-9 (measured at most 5e-12) over separated, overlapping and skewed two-
and three-component mixtures, including fits with component sds down to 1e-6 of the truth's,
both mixtures with narrow components, and near-identical pairs (``W2^2`` down to 1e-8 of the
variances). Per chain the pair is ordered so that ``F`` has the wider narrowest component
(:func:`_wider_first`). The error is set by the quantile solver's
residual (relative CDF residual ~1e-15) and the quadrature (below that on the tested cases).
In float32 the quantiles carry a relative error ~1e-6 of the scale, which bounds the result.

:func:`log_ndtr` is ``log Phi`` through ``erfc`` (relative error ~1e-15 for all ``z``; JAX's
``log_ndtr`` erred by 2e-11 below ``z = -5`` and by up to 7 % of the tiny ``log Phi(z)`` for
``z`` in 5..20, and costs 2.5 times as much on CPU).

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024) (the GMM experiment); Villani, "Optimal transport: old and new" (2009),
    Remark 2.19 (the quantile coupling is optimal on the line).

"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp, ndtr, ndtri

from collapse_theory.metrics import mixture

__all__ = [
    "ITERS",
    "NODES",
    "POLISH",
    "W2_ITERS",
    "log_ndtr",
    "mixture_cdf",
    "mixture_log_cdf",
    "mixture_quantile",
    "mixture_quantile_log",
    "w2_sq",
]

NODES = 8
"""Default Gauss-Legendre nodes per panel of :func:`w2_sq`."""

ITERS = 24
"""Default safeguarded-Newton steps of the quantile solver (twice what the tests need)."""

W2_ITERS = 64
"""Default quantile-solver steps (at most) at the breaks of :func:`w2_sq`. The solver bisects whenever
Newton misbehaves, so 64 steps reach float64 resolution from any bracket up to 2^11 times
``|x|`` even with no Newton step at all (a collapsed component, sd 1e-6 of the other's, needs
that: 24 steps left 3e-8 relative error, 16 left 1e-8 with sds 1e-3 and 1e-2). Lanes stop once
converged, so fitted mixtures near their truth take 14-15 steps."""

POLISH = 4
"""Default Newton steps for ``T`` at the nodes of :func:`w2_sq`, from a monotone cubic Hermite
interpolant of ``T`` between the breaks (2 suffice on the tests)."""

_STEP_TOL = 4.0
"""A lane of the quantile solver stops once its Newton step or bracket is at most this many eps of
``|x| + min_k s_k`` (:func:`_newton`)."""

_W2_GRADING = (0.0, 1.0, 2.0, 4.0)
"""Breaks around ``G``'s crossings, in transition widths (:func:`mixture.crossing_breaks`)."""

_NATS = (*range(1, 13), *range(14, 25, 2), *range(28, 49, 4))
_Z_TAIL = np.concatenate([[0.0, 0.5, 1.0], np.sqrt(2.0 * np.asarray(_NATS, np.float64))])
_Z_TAIL = np.concatenate([-_Z_TAIL[:0:-1], _Z_TAIL])
"""Standard scores of ``G``'s breaks: ``+-sqrt(2 k)`` (a component's density falls by one nat per
step up to 12 nats, then by 2 and 4) after ``0, +-0.5, +-1``: the steps in ``G``'s mass that
``F^-1`` maps to ``x`` are then geometric towards a gap of ``G``, where ``T`` is steep."""

_LOG_HALF = math.log(0.5)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def log_ndtr(z: jax.Array) -> jax.Array:
    """``log Phi(z)`` to full relative precision, from one ``erfc`` (module docstring).

    ``log(erfc(-z / sqrt 2) / 2)`` below 0, ``log1p(-erfc(z / sqrt 2) / 2)`` above, and where
    ``erfc`` would underflow the asymptotic series ``-z^2/2 - log(-z sqrt(2 pi)) + log(1 - 1/z^2 +
    3/z^4 - ...)`` (eight terms: below 1e-17 relative there).
    """
    tiny = float(jnp.finfo(z.dtype).tiny)
    cut = -math.sqrt(-2.0 * math.log(tiny)) + 1.0
    e = jax.scipy.special.erfc(jnp.abs(z) / math.sqrt(2.0))
    lower = jnp.log(0.5 * jnp.where(e > 0, e, 1.0))
    upper = jnp.log1p(-0.5 * e)
    za = jnp.minimum(z, cut)
    r = 1.0 / jnp.square(za)
    series: jax.Array | float = 1.0
    for k in range(8, 0, -1):  # Horner: 1 - r (1 - 3 r (1 - 5 r (...)))
        series = 1.0 - (2 * k - 1) * r * series
    asym = -0.5 * jnp.square(za) - jnp.log(-za) - _LOG_SQRT_2PI + jnp.log(series)
    return jnp.where(z < cut, asym, jnp.where(z < 0, lower, upper))


def mixture_cdf(x: jax.Array, w: jax.Array, m: jax.Array, s: jax.Array) -> jax.Array:
    """CDF of a 1-D Gaussian mixture: sum_k w_k Phi((x - m_k) / s_k).

    Args:
        x: points ``[..., N]``.
        w: weights ``[..., K]`` (summing to 1).
        m: means ``[..., K]``.
        s: standard deviations ``[..., K]`` (> 0).

    Returns:
        ``[..., N]``.

    """
    r = (x[..., :, None] - m[..., None, :]) / s[..., None, :]
    return jnp.sum(w[..., None, :] * ndtr(r), axis=-1)


def mixture_log_cdf(x: jax.Array, w: jax.Array, m: jax.Array, s: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(log F(x), log(1 - F(x)))`` of a mixture, both to full relative precision; shapes as :func:`mixture_cdf`."""
    r = (x[..., :, None] - m[..., None, :]) / s[..., None, :]
    logw = jnp.log(w)[..., None, :]
    return logsumexp(logw + log_ndtr(r), axis=-1), logsumexp(logw + log_ndtr(-r), axis=-1)


def _log_cdf_pdf(x, logw, m, s):
    """The log CDF and log density of a mixture; ``x[..., N]``, parameters ``[..., N, K]``."""
    r = (x[..., None] - m) / s
    log_f = logsumexp(logw - jnp.log(s) - 0.5 * jnp.square(r), axis=-1) - _LOG_SQRT_2PI
    return logsumexp(logw + log_ndtr(r), axis=-1), log_f


def _newton(lp, lo, hi, x0, logw, m, s, iters):
    """Solve log F(x) = lp by Newton on log F from ``x0``, safeguarded by the bracket ``[lo, hi]``.

    rtsafe's rule (Numerical Recipes 9.4): bisect when Newton leaves the bracket or its step has
    not halved against the step before last. Returns the point with the smallest residual and the
    number of steps taken.

    A lane stops (its ``x`` frozen) once its Newton step or its bracket is at most ``_STEP_TOL
    eps (|x| + min_k s_k)``, or its residual is 0; the loop ends when every lane has stopped, after
    at most ``iters`` steps. Without the stop, a converged lane whose Newton step rounds to ``x``
    itself (an end of the bracket) failed the bracket test and bisected away from its root, and
    came back only by bisection (measured on fitted two-component mixtures: 15 % of the breaks of
    :func:`w2_sq` still bisecting after 20 steps, their roots found after 4).
    """
    scale = jnp.broadcast_to(jnp.min(s, axis=-1), lp.shape)
    tol = _STEP_TOL * float(jnp.finfo(lp.dtype).eps)

    def body(state):
        i, x, lo, hi, dx_old, dx, best_x, best_h, done = state
        log_cdf, log_pdf = _log_cdf_pdf(x, logw, m, s)
        h = log_cdf - lp
        lo = jnp.where(h <= 0, x, lo)
        hi = jnp.where(h >= 0, x, hi)
        better = jnp.abs(h) < best_h
        best_x, best_h = jnp.where(better, x, best_x), jnp.where(better, jnp.abs(h), best_h)
        step = -h * jnp.exp(log_cdf - log_pdf)
        newton = x + step
        ok = (newton > lo) & (newton < hi) & (jnp.abs(step) <= 0.5 * jnp.abs(dx_old))
        x_next = jnp.where(ok, newton, 0.5 * (lo + hi))
        res = tol * (jnp.abs(x) + scale)
        done = done | (h == 0) | (jnp.abs(step) <= res) | (hi - lo <= res)
        x_next = jnp.where(done, x, x_next)
        return i + 1, x_next, lo, hi, dx, x_next - x, best_x, best_h, done

    width = hi - lo
    done = ~(width >= 0)  # NaN lanes (and inverted brackets, which do not arise) stop at once
    init = (jnp.int32(0), x0, lo, hi, width, width, x0, jnp.full(lo.shape, jnp.inf, lo.dtype), done)
    final = jax.lax.while_loop(lambda st: (st[0] < iters) & ~jnp.all(st[8]), body, init)
    return final[6], final[0]


def _lower_quantile(lp, w, m, s, iters):
    """Solve log F(x) = lp[..., N] (lp <= log 1/2; parameters ``[..., N, K]``), from a bracket.

    Bracket: Phi^-1(e^lp) lies in [zl, zh] with zl = -sqrt(-2 (lp + log 2)) (Chernoff's bound) and
    zh = min(0, zl + 2) (Mills' ratio), narrowed to +-(0.01 + 0.001 |z|) around ``ndtri`` (or, where
    e^lp underflows, the asymptotic inverse of Mills' ratio, accurate to 1e-3 there); then
    F(min_k m_k + s_k zl) <= e^lp <= F(max_k m_k + s_k zh). Newton starts at the lower end, where
    the lowest component dominates the tail. Returns the root and the solver's step count.
    """
    dtype = lp.dtype
    zl = -jnp.sqrt(jnp.maximum(-2.0 * (lp + math.log(2.0)), 0.0))
    zh = jnp.minimum(0.0, zl + 2.0)
    t2 = -2.0 * lp
    asym = -jnp.sqrt(jnp.maximum(t2 - jnp.log(jnp.maximum(t2, 1.0)) - math.log(2.0 * math.pi), 0.0))
    tiny_log = math.log(float(jnp.finfo(dtype).tiny)) + 5.0
    z_est = jnp.where(lp > tiny_log, ndtri(jnp.exp(jnp.maximum(lp, tiny_log))), asym)
    delta = 0.01 + 0.001 * jnp.abs(z_est)
    zl, zh = jnp.maximum(zl, z_est - delta), jnp.minimum(zh, z_est + delta)
    lo = jnp.min(jnp.where(w > 0, m + s * zl[..., None], jnp.inf), axis=-1)
    hi = jnp.max(jnp.where(w > 0, m + s * zh[..., None], -jnp.inf), axis=-1)
    return _newton(lp, lo, hi, lo, jnp.log(w), m, s, iters)


@functools.partial(jax.jit, static_argnames=("iters",))
def mixture_quantile_log(
    log_u: jax.Array, log_1mu: jax.Array, w: jax.Array, m: jax.Array, s: jax.Array, iters: int = ITERS
) -> jax.Array:
    """Quantile F^-1(u) of a mixture, given ``log u`` and ``log(1 - u)`` (both tails accurate).

    The lower half (u <= 1/2) solves log F(x) = log u, the upper half solves log(1 - F(x)) =
    log(1 - u) on the reflected mixture, so quantiles far in either tail keep full relative
    precision and nothing underflows.

    Args:
        log_u: ``[..., N]``.
        log_1mu: ``[..., N]``, consistent with ``log_u``.
        w: weights ``[..., K]``.
        m: means ``[..., K]``.
        s: standard deviations ``[..., K]``.
        iters: at most this many safeguarded Newton steps (static; the solver stops when every
            lane has converged, :func:`_newton`). The root stays bracketed;
            Newton from the bracket's lower end, with rtsafe's bisection fallback, reaches a
            relative CDF residual <= 1e-12 (float64) within 12 steps on the tested mixtures, from
            u = 1e-300 to 1 - 1e-12 (``tests/families/test_quantile.py``).

    Returns:
        ``[..., N]``.

    """
    lower = log_u <= _LOG_HALF
    sign = jnp.where(lower, 1.0, -1.0).astype(m.dtype)
    target = jnp.where(lower, log_u, log_1mu)
    # Reflection x -> -x maps the upper tail of (w, m, s) to the lower tail of (w, -m, s).
    x = _lower_quantile(target, w[..., None, :], sign[..., None] * m[..., None, :], s[..., None, :], iters)[0]
    return sign * x


def mixture_quantile(u: jax.Array, w: jax.Array, m: jax.Array, s: jax.Array, iters: int = ITERS) -> jax.Array:
    """Quantile F^-1(u) of a 1-D Gaussian mixture, ``u[..., N]`` in (0, 1), parameters ``[..., K]``.

    See :func:`mixture_quantile_log` for the solver and its tolerance; ``u`` near 1 loses the
    relative precision of ``1 - u`` (use the log form there).
    """
    return mixture_quantile_log(jnp.log(u), jnp.log1p(-u), w, m, s, iters)


def _bracketed_quantile_log(log_u, log_1mu, lo, hi, x0, w, m, s, iters):
    """As :func:`mixture_quantile_log`, from ``x0`` inside a known bracket ``[lo, hi]`` (``[..., N]``)."""
    lower = log_u <= _LOG_HALF
    sign = jnp.where(lower, 1.0, -1.0).astype(m.dtype)
    target = jnp.where(lower, log_u, log_1mu)
    lo_r, hi_r = jnp.where(lower, lo, -hi), jnp.where(lower, hi, -lo)
    logw = jnp.log(w)[..., None, :]
    x = _newton(target, lo_r, hi_r, sign * x0, logw, sign[..., None] * m[..., None, :], s[..., None, :], iters)[0]
    return sign * x


def _wider_first(w1, m1, s1, w2, m2, s2):
    """Per chain, order the pair so that F's narrowest present component is the wider of the two.

    ``W2`` is symmetric; the transport form integrates over ``F``, and a component of ``F``
    much narrower than all of ``G``'s maps a tiny ``x`` range onto a wide ``y`` range, where
    the quantile solver at the breaks would need far more steps (measured: relative error
    1e-3 at 16 steps with F's component 1e-3 of G's; none in the other order). Both mixtures
    are padded to the same ``K`` with zero-weight copies of their first component (ignored
    everywhere), so the swap is a per-chain ``where``.
    """
    k = max(m1.shape[-1], m2.shape[-1])

    def pad(w, m, s):
        n = k - m.shape[-1]
        if n == 0:
            return w, m, s
        rep = (1,) * (m.ndim - 1) + (n,)
        return (
            jnp.concatenate([w, jnp.zeros_like(w[..., :1].repeat(n, -1))], -1),
            jnp.concatenate([m, jnp.tile(m[..., :1], rep)], -1),
            jnp.concatenate([s, jnp.tile(s[..., :1], rep)], -1),
        )

    a, b = pad(w1, m1, s1), pad(w2, m2, s2)
    narrow_a = jnp.min(jnp.where(a[0] > 0, a[2], jnp.inf), axis=-1)
    narrow_b = jnp.min(jnp.where(b[0] > 0, b[2], jnp.inf), axis=-1)
    swap = (narrow_a < narrow_b)[..., None]
    f = tuple(jnp.where(swap, y, x) for x, y in zip(a, b, strict=True))
    g = tuple(jnp.where(swap, x, y) for x, y in zip(a, b, strict=True))
    return (*f, *g)


@functools.partial(jax.jit, static_argnames=("nodes", "iters", "polish"))
def w2_sq(
    w1: jax.Array,
    m1: jax.Array,
    s1: jax.Array,
    w2: jax.Array,
    m2: jax.Array,
    s2: jax.Array,
    nodes: int = NODES,
    iters: int = W2_ITERS,
    polish: int = POLISH,
) -> jax.Array:
    """Squared 2-Wasserstein distance between two 1-D Gaussian mixtures, per chain.

    ``int (x - T(x))^2 dF(x)`` with ``F = (w1, m1, s1)``, ``T = G^-1 o F``, by Gauss-Legendre on
    panels between ``F``'s features and the pre-images of ``G``'s (module docstring: method and
    stated accuracy).

    Args:
        w1: weights of F, ``[..., K1]``; ``m1``, ``s1`` alike.
        m1: means of F.
        s1: standard deviations of F.
        w2: weights of G, ``[..., K2]`` (leading axes broadcast against F's).
        m2: means of G.
        s2: standard deviations of G.
        nodes: Gauss-Legendre nodes per panel (static).
        iters: quantile-solver steps at the breaks (static).
        polish: Newton steps for ``T`` at the nodes (static).

    Returns:
        ``[...]``, the broadcast leading shape.

    """
    if not isinstance(nodes, int) or nodes < 2:
        raise ValueError(f"nodes must be an integer >= 2, got {nodes!r}")
    batch = jnp.broadcast_shapes(m1.shape[:-1], m2.shape[:-1])

    def full(a):
        return jnp.broadcast_to(a, batch + a.shape[-1:])

    w1, m1, s1, w2, m2, s2 = (full(a) for a in (w1, m1, s1, w2, m2, s2))
    if m1.shape[-1] == 1 and m2.shape[-1] == 1:
        return (jnp.square(m1 - m2) + jnp.square(s1 - s2))[..., 0]
    if m1.shape[-1] == m2.shape[-1]:  # identical parameters: exactly 0
        ident = jnp.all((w1 == w2) & (m1 == m2) & (s1 == s2), axis=-1)
    else:
        ident = jnp.zeros(batch, bool)
    w1, m1, s1, w2, m2, s2 = _wider_first(w1, m1, s1, w2, m2, s2)
    dtype = m1.dtype
    lim = mixture.RANGE

    def logw(w):
        return jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf)

    def log_pdf(x, w, m, s):
        r = (x[..., :, None] - m[..., None, :]) / s[..., None, :]
        return logsumexp(logw(w)[..., None, :] - jnp.log(s)[..., None, :] - 0.5 * jnp.square(r), -1) - _LOG_SQRT_2PI

    lo = jnp.min(jnp.where(w1 > 0, m1 - lim * s1, jnp.inf), axis=-1)[..., None]
    hi = jnp.max(jnp.where(w1 > 0, m1 + lim * s1, -jnp.inf), axis=-1)[..., None]
    g_lo = jnp.min(jnp.where(w2 > 0, m2 - 2 * lim * s2, jnp.inf), axis=-1)[..., None]
    g_hi = jnp.max(jnp.where(w2 > 0, m2 + 2 * lim * s2, -jnp.inf), axis=-1)[..., None]
    # F's breaks (x known: F's density is entire, so its grid suffices) and G's (y known), each
    # completed by the solver: T(x) at the former, x = F^-1(G(y)) at the latter.
    xf = jnp.clip(jnp.concatenate([lo, hi, mixture.grid_breaks(m1, s1)], -1), lo, hi)
    yf = mixture_quantile_log(*mixture_log_cdf(xf, w1, m1, s1), w2, m2, s2, iters=iters)
    z_tail = jnp.asarray(_Z_TAIL, dtype)
    tails = (m2[..., :, None] + s2[..., :, None] * z_tail).reshape(batch + (-1,))
    yg = jnp.concatenate([tails, mixture.crossing_breaks(logw(w2), m2, s2, m2[..., 0], _W2_GRADING)], -1)
    yg = jnp.clip(yg, g_lo, g_hi)
    xg = mixture_quantile_log(*mixture_log_cdf(yg, w2, m2, s2), w1, m1, s1, iters=iters)
    yg = jnp.where(xg < lo, yf[..., :1], jnp.where(xg > hi, yf[..., 1:2], yg))
    xg = jnp.clip(xg, lo, hi)
    xb, yb = jnp.concatenate([xf, xg], -1), jnp.concatenate([yf, yg], -1)
    order = jnp.argsort(xb, axis=-1)
    xb = jnp.take_along_axis(xb, order, -1)
    yb = jax.lax.cummax(jnp.take_along_axis(yb, order, -1), axis=yb.ndim - 1)  # T is monotone
    # T' = f / g at the breaks, limited to 3 secants (Fritsch-Carlson), for the Hermite start.
    slope = jnp.exp(log_pdf(xb, w1, m1, s1) - log_pdf(yb, w2, m2, s2))
    dx, dy = xb[..., 1:] - xb[..., :-1], yb[..., 1:] - yb[..., :-1]
    secant = dy / jnp.where(dx > 0, dx, 1.0)
    d_a = jnp.minimum(slope[..., :-1], 3.0 * secant) * dx
    d_b = jnp.minimum(slope[..., 1:], 3.0 * secant) * dx
    t_np, wt_np = np.polynomial.legendre.leggauss(nodes)
    t, wt = jnp.asarray(t_np, dtype), jnp.asarray(wt_np, dtype)
    tau = 0.5 * (t + 1.0)
    h00, h10, h01, h11 = (
        2 * tau**3 - 3 * tau**2 + 1,
        tau**3 - 2 * tau**2 + tau,
        3 * tau**2 - 2 * tau**3,
        tau**3 - tau**2,
    )
    y_a, y_b = yb[..., :-1, None], yb[..., 1:, None]
    y0 = h00 * y_a + h10 * d_a[..., None] + h01 * y_b + h11 * d_b[..., None]
    y0 = jnp.clip(y0, y_a, y_b)
    half = 0.5 * dx
    x = 0.5 * (xb[..., 1:] + xb[..., :-1])[..., None] + half[..., None] * t
    flat = batch + (-1,)
    x, y_a, y_b, y0 = (jnp.broadcast_to(a, x.shape).reshape(flat) for a in (x, y_a, y_b, y0))
    log_c, log_s = mixture_log_cdf(x, w1, m1, s1)
    y = _bracketed_quantile_log(log_c, log_s, y_a, y_b, y0, w2, m2, s2, polish)
    d2 = (jnp.square(x - y) * jnp.exp(log_pdf(x, w1, m1, s1))).reshape(batch + half.shape[-1:] + (nodes,))
    out = jnp.sum(half * jnp.sum(wt * d2, axis=-1), axis=-1)
    return jnp.where(ident, 0.0, out)
