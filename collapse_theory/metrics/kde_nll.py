"""Cross-entropy of a Gaussian truth against a 1-D Gaussian KDE: panelled Gauss-Legendre.

``H = E_{X ~ N(mean, sd^2)}[-log p(X)]`` for ``p(x) = sum_i w_i N(x; x_i, h^2)``. In the truth's
standard coordinate ``z = (x - mean) / sd`` (centres ``u_i``, bandwidth ``t = h / sd``),
``H = log sd + int f(z) phi(z) dz`` with ``f(z) = log t + log sqrt(2 pi) - log sum_i w_i
exp(-(z - u_i)^2 / (2 t^2))``. ``f`` is analytic, but all kernels share ``t``, so between two
neighbouring centres with a gap ``G = u_{i+1} - u_i`` much larger than ``t`` it switches from one
quadratic to the next through a transition of width ``t^2 / G`` (the complex zeros of ``p`` lie
``pi t^2 / G`` off the real axis there), centred where the two weighted kernels cross,
``T = (u_i + u_{i+1}) / 2 + t^2 log(w_i / w_{i+1}) / G``; elsewhere (centres closer than a few
``t``) ``f`` varies on the scale ``t``. A rule that resolves ``f`` therefore needs panels of
width ``~t`` where there are centres and a local grading at the sharp transitions, which a
global rule (the former trapezoid on 256 nodes: up to 2e-3 relative error at ``t = 0.05``)
cannot give.

The rule: composite Gauss-Legendre (:data:`ORDER` nodes a panel) on ``[-RANGE, RANGE]``
(neglected tails weigh ``< 1e-22``) between sorted breaks, per chain:

* the unit grid (``phi``'s scale, and the region away from the centres, where ``f`` is one
  quadratic);
* ``body`` panels of equal share of the *coverage* ``union_i [u_i - 6 t, u_i + 6 t]`` (the
  region where ``f`` is not a single quadratic up to 1e-16), so every panel there is
  ``coverage / body`` wide: at most :data:`PANEL` ``t`` while the coverage is at most
  ``SPAN = 12`` (truth sds) wide;
* at the ``cuts`` most important sharp gaps (``G > GAMMA t``, ranked by ``(G / t) phi(T)``):
  a break at ``T`` and, from a shared budget of ``levels`` pairs ranked the same way (finer
  ones first), breaks at ``T +- t^2 / G * 4^k`` (``k = 0, 1, 2``) narrower than a body panel.

Every panel is then narrower than a few times the distance to the nearest singularity of
``f``, so the error falls geometrically with the order. The sizes ``body``, ``cuts`` and
``levels`` are static (:func:`plan`, from a design bandwidth ``t_d``): the cost is
``nodes * S`` exponentials per chain, ``nodes = ORDER (2 RANGE + 1 + body + cuts + 2 levels)``
(744 at ``t_d = 0.3``, 2440 at ``t_d = 0.05``, against 256 for the former trapezoid), after an
``O(S log S)`` sort; there is no ``O(S^2)`` step.

Accuracy (float64, against scipy ``quad`` on pieces graded at every transition, whose own error
estimate is below 1e-13 relative; ``tests/metrics/test_kde_nll.py``): relative error
<= 1e-7 (measured worst 1.5e-8, a two-group fit with real share 0.01 at ``t = 0.3`` whose
coverage is about 11 sds, so its body panels are near :data:`PANEL` ``t``; doubling ``body``
gives 2e-12 there; every other case of the test set is below 2e-10: fitted KDEs of 50 points
at ``t = 0.05, 0.1, 0.3, 1``, two-group weighted fits with real shares 0.9, 0.2 and 0.01,
separated and overlapping bimodal centres, a tight cluster with singletons, a partial buffer,
a shifted and scaled truth, Scott and Silverman bandwidths from the family's fit, pools of
2000 centres at ``t = 0.05`` and 20000 at Silverman's ``t``), provided

* ``t >= t_d`` (a smaller ``t`` makes the body panels wider in units of ``t``, by ``t_d / t``),
  and ``t_d >= 0.0095`` (below, ``body`` stops at :data:`MAX_BODY` panels, so the cost stays
  below ``8 * 773 = 6184`` nodes and the accuracy falls instead);
* the coverage is at most ``SPAN`` truth sds (beyond, the body panels widen in proportion; in
  the prototype runs a width of ``3 t`` gave 3e-8 and ``4 t`` 2e-7);
* at most ``cuts`` sharp gaps carry weight (the dropped ones, ranked last by
  ``(G / t) phi(T)``, cost about ``(t^2 / G) phi(T)`` each; the prototype runs, 40 chains each
  of 50 and 100 centres over 1000 generations, used at most 18 at ``t = 0.05`` and 5 at
  ``t = 0.3``, where :func:`plan` gives 30 and 8).

The error is absolute in ``f`` (``~1e-15 (1 + |f|)``), so it stays relative for ``H`` of order
one or more. In float32 the log-sum-exp rounding, about 1e-6 relative, is added.

Chunk invariance: the chains are processed in fixed blocks of :data:`BLOCK` (``lax.map``), and
the panels summed in a ``lax.scan``, so a chain's value does not depend on the batch.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

__all__ = ["BLOCK", "ORDER", "RANGE", "Plan", "cross_entropy", "plan"]

ORDER = 8
"""Gauss-Legendre nodes per panel."""

RANGE = 10.0
"""Integration range ``[-RANGE, RANGE]`` in truth sds (and the clip of every break)."""

GAMMA = 2.0
"""A gap ``G > GAMMA t`` between neighbouring centres is sharp (gets a break at its transition)."""

COVER = 6.0
"""Half-width, in bandwidths, of the region around each centre that the body panels cover."""

PANEL = 2.5
"""Target body panel width in bandwidths (``plan`` sizes ``body`` for it)."""

SPAN = 12.0
"""Coverage (truth sds) for which ``plan`` sizes ``body`` at :data:`PANEL` ``t_d``."""

RATIO, GRADES = 4.0, 3
"""Graded breaks ``T +- w RATIO^k``, ``k < GRADES``, ``w = t^2 / G`` the transition width."""

MAX_BODY = 512
"""Cap on ``body`` (reached below ``t_d = 0.0095``, where the body panels widen beyond ``PANEL t``)."""

STEP = 4096
"""Target elements (nodes x centres) per chain and scan step of the log-sum-exp."""

BLOCK = 64
"""Chains per block of the fixed-shape computation (chunk invariance)."""

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class Plan(NamedTuple):
    """Static sizes of the rule (module docstring)."""

    body: int
    cuts: int
    levels: int


def plan(t_design: float, size: int) -> Plan:
    """Sizes for a design bandwidth ``t_d`` (truth sds) and ``size`` slots.

    ``body = min(MAX_BODY, ceil(SPAN / (PANEL t_d)) + 8)``; ``cuts = clip(ceil(1.5 / t_d), 8, 40)`` (at most
    ``size - 1``; the prototype runs needed at most 18 at ``t = 0.05`` and 5 at ``t = 0.3``);
    ``levels = min(3 cuts, ceil(2.5 cuts))`` (they used at most 2.2 graded pairs per cut: a gap
    of ``G`` uses the grades narrower than ``PANEL t``, three only once ``G > 6.4 t``).
    """
    if not (math.isfinite(t_design) and t_design > 0):
        raise ValueError(f"t_design must be positive and finite, got {t_design!r}")
    body = min(MAX_BODY, math.ceil(SPAN / (PANEL * t_design)) + 8)
    cuts = min(max(size - 1, 0), int(np.clip(math.ceil(1.5 / t_design), 8, 40)))
    levels = min(cuts * GRADES, math.ceil(2.5 * cuts))
    return Plan(body, cuts, levels)


def _breaks(u: jax.Array, logw: jax.Array, t: jax.Array, p: Plan) -> jax.Array:
    """Sorted panel breaks ``[B, nb]`` for centres ``u[B, S]`` (``logw = -inf``: absent), ``t[B]``."""
    c, s = u.shape
    dt = u.dtype
    valid = jnp.isfinite(logw)
    us, lws = jax.lax.sort((jnp.where(valid, u, jnp.inf), jnp.where(valid, logw, 0.0)), dimension=1, num_keys=1)
    n = jnp.sum(valid, axis=1)
    tc = t[:, None]
    grid = jnp.broadcast_to(jnp.arange(-RANGE, RANGE + 0.5, 1.0, dtype=dt), (c, int(2 * RANGE) + 1))
    parts = [grid]
    # Coverage: union of [u_i - COVER t, u_i + COVER t], clipped; absent slots (sorted last)
    # add nothing. The right ends are sorted, so the running maximum of them is the previous one.
    live = jnp.arange(s)[None, :] < n[:, None]
    a = jnp.where(live, jnp.clip(us - COVER * tc, -RANGE, RANGE), RANGE)
    b = jnp.where(live, jnp.clip(us + COVER * tc, -RANGE, RANGE), RANGE)
    prev = jnp.concatenate([jnp.full((c, 1), -RANGE, dt), b[:, :-1]], axis=1)
    start = jnp.maximum(a, prev)
    seg = jnp.maximum(b - start, 0.0)
    cum = jnp.concatenate([jnp.zeros((c, 1), dt), jnp.cumsum(seg, axis=1)], axis=1)
    total = cum[:, -1]
    q = total[:, None] * (jnp.arange(p.body + 1, dtype=dt) / p.body)[None, :]
    j = jax.vmap(lambda cm, qq: jnp.searchsorted(cm, qq, side="right", method="compare_all"))(cum, q) - 1
    j = jnp.clip(j, 0, s - 1)
    body = jnp.minimum(
        jnp.take_along_axis(start, j, axis=1) + (q - jnp.take_along_axis(cum, j, axis=1)),
        jnp.take_along_axis(b, j, axis=1),
    )
    parts.append(body)
    if p.cuts > 0:
        pair = jnp.arange(s - 1)[None, :] < (n - 1)[:, None]
        gap = us[:, 1:] - us[:, :-1]
        ok = pair & (gap > 0)
        g = jnp.where(ok, gap, 1.0)
        cross = 0.5 * (us[:, 1:] + us[:, :-1]) + jnp.square(tc) * (lws[:, :-1] - lws[:, 1:]) / g
        width = jnp.square(tc) / g
        sharp = ok & (gap > GAMMA * tc) & jnp.isfinite(cross)
        score = jnp.where(sharp, gap / tc * jnp.exp(-0.5 * jnp.minimum(jnp.square(cross), 1e4)), -1.0)
        top, idx = jax.lax.top_k(score, p.cuts)
        used = top > 0
        tk = jnp.take_along_axis(cross, idx, axis=1)
        wk = jnp.take_along_axis(width, idx, axis=1)
        parts.append(jnp.where(used, tk, RANGE))
        if p.levels > 0:
            scale = jnp.asarray(RATIO ** np.arange(GRADES), dt)
            lev = wk[:, :, None] * scale  # [B, K, GRADES]
            fine = used[:, :, None] & (lev < PANEL * tc[:, :, None])
            pri = jnp.where(fine, top[:, :, None] / scale, -1.0).reshape(c, -1)
            ptop, pidx = jax.lax.top_k(pri, p.levels)
            on = ptop > 0
            centre = jnp.take_along_axis(tk, pidx // GRADES, axis=1)
            off = jnp.take_along_axis(lev.reshape(c, -1), pidx, axis=1)
            parts += [jnp.where(on, centre + off, RANGE), jnp.where(on, centre - off, RANGE)]
    return jnp.sort(jnp.clip(jnp.concatenate(parts, axis=1), -RANGE, RANGE), axis=1)


def _block(x: jax.Array, logw: jax.Array, h: jax.Array, mean: ArrayLike, sd: ArrayLike, p: Plan) -> jax.Array:
    """One block: ``x, logw [B, S]``, ``h [B]``, scalars ``mean``, ``sd`` -> ``[B]``."""
    dt = x.dtype
    u = (x - mean) / sd
    t = h / sd
    e = _breaks(u, logw, t, p)
    tn, wn = np.polynomial.legendre.leggauss(ORDER)
    half = 0.5 * (e[:, 1:] - e[:, :-1])
    mid = 0.5 * (e[:, 1:] + e[:, :-1])
    z = mid[:, :, None] + half[:, :, None] * jnp.asarray(tn, dt)  # [B, P, ORDER]
    wt = half[:, :, None] * jnp.asarray(wn, dt) * jnp.exp(-0.5 * jnp.square(z) - _LOG_SQRT_2PI)
    # Nodes in steps of k per chain, k S about STEP elements (the S = 20000 pools then stream
    # one node a step through the cache instead of a panel's ORDER nodes; small S few steps).
    n = z.shape[1] * ORDER
    k = max(1, min(n, STEP // x.shape[1]))
    steps = -(-n // k)
    z = jnp.pad(z.reshape(z.shape[0], -1), ((0, 0), (0, steps * k - n)))
    wt = jnp.pad(wt.reshape(wt.shape[0], -1), ((0, 0), (0, steps * k - n)))
    inv_t = (1.0 / t)[:, None, None]
    lw = logw[:, None, :]
    uu = u[:, None, :]

    def step(acc, zw):
        zz, ww = zw  # [B, k]
        d = (zz[:, :, None] - uu) * inv_t
        lse = jax.nn.logsumexp(lw - 0.5 * jnp.square(d), axis=-1)
        return acc + jnp.sum(ww * lse, axis=-1), None

    def rows(a):
        return jnp.swapaxes(a.reshape(a.shape[0], steps, k), 0, 1)

    acc, _ = jax.lax.scan(step, jnp.zeros(x.shape[:1], dt), (rows(z), rows(wt)))
    return jnp.log(h) + _LOG_SQRT_2PI - acc


def cross_entropy(x: jax.Array, w: jax.Array, h: jax.Array, mean: float, sd: float, p: Plan) -> jax.Array:
    """``E_{X ~ N(mean, sd^2)}[-log sum_i w_i N(X; x_i, h^2)]`` per chain (module docstring).

    Args:
        x: centres ``[C, S]``.
        w: weights ``[C, S]`` (>= 0, summing to 1; zero-weight slots are ignored).
        h: bandwidths ``[C]`` (> 0).
        mean: the truth's mean.
        sd: the truth's standard deviation (> 0).
        p: static sizes (:func:`plan`).

    Returns:
        ``[C]`` in the dtype of ``x`` (meant for float64; see the module docstring).

    """
    logw = jnp.where(w > 0, jnp.log(jnp.where(w > 0, w, 1.0)), -jnp.inf)
    c = x.shape[0]
    nb = -(-c // BLOCK)
    pad = nb * BLOCK - c

    def blocks(a):
        a = jnp.concatenate([a, jnp.broadcast_to(a[:1], (pad,) + a.shape[1:])]) if pad else a
        return a.reshape((nb, BLOCK) + a.shape[1:])

    out = jax.lax.map(lambda xs: _block(xs[0], xs[1], xs[2], mean, sd, p), (blocks(x), blocks(logw), blocks(h)))
    return out.reshape(nb * BLOCK)[:c]
