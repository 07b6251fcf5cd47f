"""EM for one-dimensional Gaussian mixtures, vectorised over chains (the fit of :mod:`~collapse_theory.families.gmm`).

EM details (all per chain, vectorised over chains, points and components):

* The data are standardised by their weighted mean and standard deviation first. EM, the
  quantile initialisation and the relative variance floor are affine-equivariant, so this only
  improves conditioning; the result is mapped back.
* Initialisation ``"quantile"`` (default, deterministic and equivariant): means at the
  (k + 1/2)/K weighted sample quantiles, equal weights, common sd = sample sd / K.
  ``"kmeans++"`` (Arthur & Vassilvitskii 2007): D^2 seeding whose uniforms are Threefry bits of a
  constant key and a hash of the data (``fit`` has no key argument), so equal data give equal
  fits; it is not equivariant, which is why it is not the default.
* Responsibilities in log space (logsumexp). Variance floor, relative: s_k^2 >= var_floor times
  the weighted sample variance (and >= the dtype's smallest normal, so nothing is singular).
  Clipping a concave one-dimensional M-step keeps EM monotone.
* Stopping: at most ``iterations`` M-steps; a chain stops once an M-step gains less than ``tol``
  in mean log-likelihood per point (nats). A chain that reaches the cap without meeting ``tol``
  is reported with ``converged = 0``; with ``tol=None`` every chain runs exactly ``iterations``
  steps and ``converged`` is NaN (not assessed).

All of it runs inside one ``lax.while_loop`` for every chain at once.

References:
    Dempster, Laird & Rubin, "Maximum likelihood from incomplete data via the EM algorithm",
    JRSS B 39 (1977); Arthur & Vassilvitskii, "k-means++: the advantages of careful seeding",
    SODA 2007.

"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import logsumexp

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


def _log_joint(y, w, m, var):
    """The log joint log w_k + log N(y_j; m_k, var_k): ``[C, S, K]``."""
    return (
        jnp.log(w)[:, None, :]
        - 0.5 * jnp.log(2.0 * math.pi * var)[:, None, :]
        - 0.5 * jnp.square(y[:, :, None] - m[:, None, :]) / var[:, None, :]
    )


def init_quantile(y: jax.Array, pw: jax.Array, k: int, dtype) -> jax.Array:
    """Means at the (j + 1/2)/K weighted quantiles of ``y[C, S]`` (weights ``pw``; 0 marks empty slots)."""
    order = jnp.argsort(jnp.where(pw > 0, y, jnp.inf), axis=1)
    ys, cum = jnp.take_along_axis(y, order, 1), jnp.cumsum(jnp.take_along_axis(pw, order, 1), 1)
    q = (jnp.arange(k, dtype=dtype) + 0.5) / k
    idx = jnp.minimum(jnp.sum(cum[:, :, None] < q[None, None, :], axis=1), y.shape[1] - 1)
    return jnp.take_along_axis(ys, idx, 1)


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

    def e_step(w, m, var):
        lj = _log_joint(y, w, m, var)
        lse = logsumexp(lj, axis=-1)
        return jnp.sum(pw * lse, 1), jnp.exp(lj - lse[:, :, None])

    def m_step(resp, m, var):
        r = pw[:, :, None] * resp
        nk = jnp.sum(r, 1)
        safe = jnp.where(nk > 0, nk, 1.0)
        m_new = jnp.sum(r * y[:, :, None], 1) / safe
        var_new = jnp.sum(r * jnp.square(y[:, :, None] - m_new[:, None, :]), 1) / safe
        var_new = jnp.maximum(var_new, floor)
        return nk, jnp.where(nk > 0, m_new, m), jnp.where(nk > 0, var_new, var)

    def cond(s):
        return (s[0] < iterations) & jnp.any(s[6])

    def body(s):
        it, w, m, var, ll, resp, running, used = s
        w2, m2, var2 = m_step(resp, m, var)
        ll2, resp2 = e_step(w2, m2, var2)
        upd = running[:, None]
        still = running & ~(ll2 - ll < tol) if tol is not None else running
        return (
            it + 1,
            jnp.where(upd, w2, w),
            jnp.where(upd, m2, m),
            jnp.where(upd, var2, var),
            jnp.where(running, ll2, ll),
            jnp.where(upd[:, :, None], resp2, resp),
            still,
            used + running.astype(dtype),
        )

    ll, resp = e_step(w, m, var)
    running = jnp.ones((c,), bool)
    state = (jnp.asarray(0), w, m, var, ll, resp, running, jnp.zeros((c,), dtype))
    _, w, m, var, _, _, running, used = jax.lax.while_loop(cond, body, state)
    conv = jnp.full((c,), jnp.nan, dtype) if tol is None else (~running).astype(dtype)
    w, mu, ls = sort_components(w, centre[:, None] + scale[:, None] * m, jnp.log(scale)[:, None] + 0.5 * jnp.log(var))
    return Params(w, mu, ls, conv, used)
