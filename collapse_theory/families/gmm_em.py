"""EM for one-dimensional Gaussian mixtures, vectorised over chains (the fit of :mod:`~collapse_theory.families.gmm`).

EM details (all per chain, vectorised over chains, points and components):

* The data are standardised by their weighted mean and standard deviation first. EM, the
  quantile initialisation and the relative variance floor are affine-equivariant, so this only
  improves conditioning; the result is mapped back.
* Initialisation ``"quantile"`` (default, deterministic and equivariant): means at the
  (k + 1/2)/K weighted sample quantiles (the smallest point y_i with sum_j w_j [y_j <= y_i] >= q,
  found by bisection on the points' order-preserving integer keys: one masked sum per step and
  no sort; the sums run in the working dtype, so a point whose cumulative weight equals q up to
  rounding may be taken or skipped), equal weights, common sd = sample sd / K.
  ``"kmeans++"`` (Arthur & Vassilvitskii 2007): D^2 seeding whose uniforms are Threefry bits of a
  constant key and a hash of the data (``fit`` has no key argument), so equal data give equal
  fits; it is not equivariant, which is why it is not the default.
* One pass over the points per iteration: the E-step at the current parameters (log joint,
  logsumexp, responsibilities) and the M-step's weighted sums are fused, so responsibilities
  are never stored. The sums are taken about the current means, d = y - m_k:
  N_k = sum r, S1_k = sum r d, S2_k = sum r d^2, giving m_k' = m_k + S1/N and
  s_k'^2 = S2/N - (S1/N)^2, algebraically the two-pass M-step; the shift keeps the
  cancellation small, since S1/N -> 0 as EM converges. The same pass gives the log-likelihood
  at the current parameters, so an iteration costs one pass, as in a textbook EM step.
* Responsibilities in log space (logsumexp). Variance floor, relative: s_k^2 >= var_floor times
  the weighted sample variance (and >= the dtype's smallest normal, so nothing is singular).
  Clipping a concave one-dimensional M-step keeps EM monotone.
* Stopping: at most ``iterations`` M-steps; a chain stops once an M-step gains less than ``tol``
  in mean log-likelihood per point (nats). A chain that reaches the cap without meeting ``tol``
  is reported with ``converged = 0``; with ``tol=None`` every chain runs exactly ``iterations``
  steps and ``converged`` is NaN (not assessed).

All of it runs in ``lax.while_loop``s over every chain at once; a chain that has stopped keeps
its parameters, and the chains still running are compacted into smaller batches (:func:`em`).

References:
    Dempster, Laird & Rubin, "Maximum likelihood from incomplete data via the EM algorithm",
    JRSS B 39 (1977); Arthur & Vassilvitskii, "k-means++: the advantages of careful seeding",
    SODA 2007.

"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags

__all__ = ["INITS", "Params", "em", "init_kmeanspp", "init_quantile", "sort_components"]

INITS = ("quantile", "kmeans++")


class Params(NamedTuple):
    """A fitted mixture per chain.

    Attributes:
        weights: ``[C, K]``.
        means: ``[C, K]``, ascending.
        log_sds: ``[C, K]``.
        converged: ``[C]``, 1.0 / 0.0 (NaN with ``tol=None``): did the last EM fit meet ``tol``.
        iters: ``[C]``, EM iterations (M-steps) the last fit used.

    """

    weights: jax.Array
    means: jax.Array
    log_sds: jax.Array
    converged: jax.Array
    iters: jax.Array


def sort_components(w: jax.Array, m: jax.Array, ls: jax.Array) -> tuple[jax.Array, ...]:
    """Weights, means and log sds reordered by ascending mean (the canonical labelling)."""
    order = jnp.argsort(m, axis=-1)
    return tuple(jnp.take_along_axis(a, order, axis=-1) for a in (w, m, ls))


def _ordered_keys(y: jax.Array) -> jax.Array:
    """Unsigned integer keys whose order is the order of the floats ``y`` (-0.0 just below +0.0)."""
    ut = jnp.uint64 if y.dtype == jnp.float64 else jnp.uint32
    b = jax.lax.bitcast_convert_type(y, ut)
    sign = b >> (8 * y.dtype.itemsize - 1)
    return jnp.where(sign == 1, ~b, b | (ut(1) << (8 * y.dtype.itemsize - 1)))


def _from_keys(u: jax.Array, dtype) -> jax.Array:
    """The inverse of :func:`_ordered_keys`."""
    ut = u.dtype.type
    top = ut(1) << (8 * u.dtype.itemsize - 1)
    return jax.lax.bitcast_convert_type(jnp.where(u >= top, u ^ top, ~u), dtype)


def init_quantile(y: jax.Array, pw: jax.Array, k: int, dtype) -> jax.Array:
    """Means at the (j + 1/2)/K weighted quantiles of ``y[C, S]`` (weights ``pw``; 0 marks empty slots).

    The quantile q of chain c is its smallest point y_i with sum_j pw_j [y_j <= y_i] >= q: a
    bisection over the points' ordered integer keys (32 steps in float32, 64 in float64, each
    one masked sum per quantile). Ascending for K > 1; 0 for a chain without points.
    """
    key = _ordered_keys(y.astype(dtype))
    nbits = 8 * key.dtype.itemsize
    valid = pw > 0
    kmin = jnp.min(jnp.where(valid, key, ~jnp.zeros_like(key)), axis=1)
    kmax = jnp.max(jnp.where(valid, key, jnp.zeros_like(key)), axis=1)
    q = (jnp.arange(k, dtype=dtype) + 0.5) / k
    # Invariant: W(lo) < q <= W(hi), W(t) = the weight of the points with key <= t (finite points
    # have keys > 0, so lo = kmin - 1 holds none of them).
    lo = jnp.broadcast_to((kmin - 1)[:, None], (y.shape[0], k))
    hi = jnp.broadcast_to(kmax[:, None], (y.shape[0], k))

    def step(_, s):
        lo, hi = s
        mid = lo + (hi - lo) // 2
        w = jnp.stack([jnp.sum(jnp.where(key <= mid[:, j, None], pw, 0.0), axis=1) for j in range(k)], axis=1)
        ok = w >= q
        return jnp.where(ok, lo, mid), jnp.where(ok, mid, hi)

    _, hi = jax.lax.fori_loop(0, nbits, step, (lo, hi))
    return jnp.where((kmin <= kmax)[:, None], _from_keys(hi, dtype), 0.0)


def init_kmeanspp(y: jax.Array, pw: jax.Array, k: int, dtype) -> jax.Array:
    """k-means++ (D^2) seeding from Threefry bits of a constant key and a hash of the data, sorted."""
    moment = jnp.sum(pw * y, 1).astype(jnp.float32) + jnp.sum(pw * y * y, 1).astype(jnp.float32)
    seed = jax.lax.bitcast_convert_type(moment, jnp.uint32)
    key = bits.fold(bits.key_from_seed(tags.GMM_KMEANS_SEED), 0)
    centres, d2 = [], jnp.ones_like(y)
    for j in range(k):
        word = bits.threefry2x32(key, seed, jnp.full_like(seed, j))[0]
        u = ((word >> 9).astype(dtype) + 0.5) * 2.0**-23
        cum = jnp.cumsum(pw * d2, axis=1)
        idx = jnp.minimum(jnp.sum(cum < (u * cum[:, -1])[:, None], axis=1), y.shape[1] - 1)
        c = jnp.take_along_axis(y, idx[:, None], 1)
        centres.append(c[:, 0])
        d2 = jnp.minimum(d2, jnp.square(y - c)) if j else jnp.square(y - c)
    return jnp.sort(jnp.stack(centres, 1), axis=1)


class _Fit(NamedTuple):
    """EM's per-chain loop state: the accepted fit, its log-likelihood, its M-step, and flags."""

    w: jax.Array
    m: jax.Array
    var: jax.Array
    ll: jax.Array
    w1: jax.Array
    m1: jax.Array
    var1: jax.Array
    running: jax.Array
    used: jax.Array


def _em_pass(y, pw, w, m, var, floor):
    """Mean log-likelihood at (w, m, var) and the M-step from its responsibilities: one pass."""
    k = w.shape[1]
    a = jnp.log(w) - 0.5 * jnp.log(2.0 * math.pi * var)
    b = 0.5 / var
    d = [y - m[:, j, None] for j in range(k)]
    lj = [a[:, j, None] - b[:, j, None] * jnp.square(d[j]) for j in range(k)]
    if k == 2:  # one exp per point: e = exp(-|lj_1 - lj_0|) is the smaller term over the larger
        top = jnp.maximum(lj[0], lj[1])
        first = lj[0] >= lj[1]
        e = jnp.exp(-jnp.abs(lj[1] - lj[0]))
        ll = jnp.sum(pw * (top + jnp.log1p(e)), 1)
        big = pw / (1.0 + e)
        small = big * e
        r = [jnp.where(first, big, small), jnp.where(first, small, big)]
    else:
        top = functools.reduce(jnp.maximum, lj)
        e = [jnp.exp(lj_j - top) for lj_j in lj]
        tot = functools.reduce(jnp.add, e)
        ll = jnp.sum(pw * (top + jnp.log(tot)), 1)
        inv = pw / tot
        r = [e_j * inv for e_j in e]
    nk = jnp.stack([jnp.sum(r_j, 1) for r_j in r], 1)
    s1 = jnp.stack([jnp.sum(r_j * d_j, 1) for r_j, d_j in zip(r, d, strict=True)], 1)
    s2 = jnp.stack([jnp.sum(r_j * jnp.square(d_j), 1) for r_j, d_j in zip(r, d, strict=True)], 1)
    live = nk > 0
    safe = jnp.where(live, nk, 1.0)
    shift = s1 / safe
    var_new = jnp.maximum(s2 / safe - jnp.square(shift), floor)
    return ll, nk, jnp.where(live, m + shift, m), jnp.where(live, var_new, var)


LEVELS = (32, 16, 8)
"""Batch sizes the running chains are compacted into, whatever the chunk, so that a compacted
phase has the same shape in every chunking."""

MIN_ELEMENTS = 8192
"""A compacted batch holds at least this many points (lanes x slots). Below about 4096
elements XLA:CPU's row sums depend on a row's place in the batch (measured: 8 x 400 and
4 x 1000 batches rounded differently from 64 x 400 and 64 x 1000 ones; 12 x 400 and
5 x 1000 did not), which would make a chain's fit depend on the chunk; twice that is kept as
a margin."""


def _levels(c: int, s: int) -> tuple[int, ...]:
    """Batch sizes of the compaction phases for ``c`` chains of ``s`` slots."""
    return (c, *(lanes for lanes in LEVELS if lanes < c and lanes * s >= MIN_ELEMENTS))


def _iterate(y, pw, s: _Fit, it, *, floor, tol, iterations, until):
    """EM iterations on every lane until the cap or until at most ``until`` chains still run."""

    def cond(carry):
        it, s = carry
        return (it < iterations) & (jnp.sum(s.running) > until)

    def body(carry):
        it, s = carry
        ll1, w2, m2, var2 = _em_pass(y, pw, s.w1, s.m1, s.var1, floor)
        upd = s.running[:, None]
        still = s.running & ~(ll1 - s.ll < tol) if tol is not None else s.running
        return it + 1, _Fit(
            jnp.where(upd, s.w1, s.w),
            jnp.where(upd, s.m1, s.m),
            jnp.where(upd, s.var1, s.var),
            jnp.where(s.running, ll1, s.ll),
            w2,
            m2,
            var2,
            still,
            s.used + s.running.astype(s.used.dtype),
        )

    return jax.lax.while_loop(cond, body, (it, s))


def em(
    x: jax.Array,
    pw: jax.Array,
    *,
    k: int,
    init: str,
    iterations: int,
    tol: float | None,
    floor: float,
    dtype,
) -> Params:
    """EM on points ``x[C, S]`` with weights ``pw[C, S]`` (sum 1; 0 marks empty slots).

    The while loop would run every chain until the slowest stops (late in a collapse run,
    a few chains with overlapping components need 50-100 iterations where the median needs 6),
    so the chains still running are compacted: once at most 32 run, they are gathered into a
    batch of 32 lanes, then 16, then 8 (:data:`LEVELS` with at least :data:`MIN_ELEMENTS`
    points: fixed sizes, so that the compacted
    phases have the same shapes in every chunking: a chain's fit is bit-identical in batches of
    64, 128 and 192 chains, in any lane, tested).

    Args:
        x: points ``[C, S]``.
        pw: point weights ``[C, S]``.
        k: components.
        init: ``"quantile"`` or ``"kmeans++"`` (module docstring).
        iterations: the cap on M-steps.
        tol: stop a chain once an M-step gains less than ``tol`` nats per point (``None``: never).
        floor: the relative variance floor (already at least the dtype's smallest normal).
        dtype: the computation's float dtype.

    Returns:
        The fitted :class:`Params`, components sorted by mean.

    """
    c = x.shape[0]
    centre = jnp.sum(pw * x, 1)
    v = jnp.sum(pw * jnp.square(x - centre[:, None]), 1)
    scale = jnp.sqrt(jnp.where(v > 0, v, 1.0))
    y = jnp.where(pw > 0, (x - centre[:, None]) / scale[:, None], 0.0)
    m = init_quantile(y, pw, k, dtype) if init == "quantile" else init_kmeanspp(y, pw, k, dtype)
    w = jnp.full((c, k), 1.0 / k, dtype)
    var = jnp.full((c, k), 1.0 / k**2, dtype)
    ll, w1, m1, var1 = _em_pass(y, pw, w, m, var, floor)
    s = _Fit(w, m, var, ll, w1, m1, var1, jnp.ones((c,), bool), jnp.zeros((c,), dtype))
    run = functools.partial(_iterate, floor=floor, tol=tol, iterations=iterations)
    levels = _levels(c, x.shape[1])
    it, s = run(y, pw, s, jnp.asarray(0), until=levels[1] if len(levels) > 1 else 0)
    for i, lanes in enumerate(levels[1:], 1):
        idx = jnp.nonzero(s.running, size=lanes, fill_value=c)[0]  # the running chains, then padding
        take = jnp.minimum(idx, c - 1)
        sub = jax.tree_util.tree_map(lambda a, t=take: a[t], s)
        sub = sub._replace(running=sub.running & (idx < c))
        it, sub = run(y[take], pw[take], sub, it, until=levels[i + 1] if i + 1 < len(levels) else 0)
        s = jax.tree_util.tree_map(lambda a, b, j=idx: a.at[j].set(b, mode="drop"), s, sub)
    conv = jnp.full((c,), jnp.nan, dtype) if tol is None else (~s.running).astype(dtype)
    w, mu, ls = sort_components(
        s.w, centre[:, None] + scale[:, None] * s.m, jnp.log(scale)[:, None] + 0.5 * jnp.log(s.var)
    )
    return Params(w, mu, ls, conv, s.used)
