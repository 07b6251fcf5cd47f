"""Exact batched Poisson sampler on the counter-based stream.

Poisson(lam) per lane, with per-lane ``lam``. Lanes with ``0 < lam < 10`` use sequential-search
inversion (Devroye 1986, section X.3.3), lanes with ``lam >= 10`` Hörmann's transformed rejection
PTRS (valid for ``lam >= 10``); ``lam = 0`` gives 0 and NaN, negative or infinite ``lam`` give NaN.

Streams. Attempt ``r`` of a lane of chain ``c`` reads the Threefry-2x32 block at counter
``(c, r)`` (float64 also ``(c, r | 2**31)``) under the lane's key, and a lane keeps its first
accepted attempt: its value depends only on ``(key, c)``, never on the batch or on how many
attempts other lanes needed. PTRS makes two attempts on every lane; the lanes still pending are
compacted into a buffer that retries until all accept (a full-width loop catches the rare
overflow of the buffer), as in :mod:`collapse_theory.random.gamma`.

Precision. Counts are returned as floats of ``dtype``: float32 represents integers exactly up to
``2**24`` (so ``lam`` up to about ``1.6e7``), float64 up to ``2**53``. PTRS evaluates the log-pmf in
a cancellation-free form (``-lam h((k + 1)/lam - 1)`` with ``h(x) = (1 + x) log1p(x) - x`` by its
series near 0, and the Stirling tail of ``log k!``), and splits ``lam`` into integer and fractional
parts so that the proposal ``floor(...)`` is exact even where ``ulp(lam) = 1``. Inversion sums
the pmf in ``dtype`` (CDF error about ``eps``); a search that passes ``_INV_BOUND`` (possible only
when round-off leaves the CDF below ``u``) restarts with the next uniform, which drops a tail of
mass below 1e-29. Otherwise the law is exact up to the uniforms' resolution (``2**-23`` in
float32, ``2**-52`` in float64).

References:
    W. Hörmann, "The transformed rejection method for generating Poisson random variables",
    Insurance: Mathematics and Economics 12 (1993), 39-45 (algorithm PTRS).
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section X.3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _stirling_tail

__all__ = ["poisson", "poisson_slots"]

_INV_MEAN = 10.0  # lam below this: inversion, else PTRS (valid for lam >= 10)
_INV_BOUND = 64.0  # a search past this restarts; P(X >= 64 | lam < 10) < 1e-29
_FLUSH = 1e-30  # pmf terms below this are set to 0 (x86 subnormal arithmetic is ~100x slower)
_ATTEMPTS = 2  # PTRS attempts on every lane in the first pass
_HALF_LOG_2PI = 0.9189385332046727
# h(x) = (1 + x) log1p(x) - x = sum_{j >= 2} (-1)^j x^j / (j (j - 1)); 18 terms for |x| < 0.1.
_H_SERIES = [(-1.0) ** j / (j * (j - 1)) for j in range(2, 20)]
_H_SWITCH = 0.1


def _uniform_pair(keys, c, r, dtype) -> tuple[jax.Array, jax.Array]:
    """Uniforms ``(u, v)`` of attempt ``r`` of lanes with keys ``keys[2, L]`` and chains ``c[L]``."""
    r = jnp.broadcast_to(jnp.asarray(r, jnp.uint32), c.shape)
    w0, w1 = bits.threefry2x32(keys, c, r)
    if jnp.dtype(dtype) != jnp.float64:
        return bits._to_unit(w0, dtype), bits._to_unit(w1, dtype)
    w2, w3 = bits.threefry2x32(keys, c, r | jnp.uint32(1 << 31))
    u = bits._to_unit(jnp.stack([w0, w1, w2, w3], -1), dtype)
    return u[..., 0], u[..., 1]


def _h(x):
    """``(1 + x) log1p(x) - x`` for ``x > -1``, without cancellation near 0."""
    xs = jnp.clip(x, -_H_SWITCH, _H_SWITCH)
    series = jnp.zeros_like(x)
    for coef in reversed(_H_SERIES):
        series = (series + coef) * xs
    series = series * xs
    xd = jnp.maximum(x, -1.0 + 1e-6)
    direct = (1.0 + xd) * jnp.log1p(xd) - xd
    return jnp.where(jnp.abs(x) < _H_SWITCH, series, direct)


def _log_pmf(k, lam):
    """``log P(X = k)`` for integer ``k >= 0``: ``-lam h(x) + log1p(x)/2 - log(2 pi lam)/2 - tail(k)``.

    From Stirling, ``log k! = (k + 1/2) log(k + 1) - (k + 1) + log(2 pi)/2 + tail(k)``, with
    ``x = (k + 1 - lam) / lam``, so no term is of the size of ``lam`` before it cancels.
    """
    x = (k + 1.0 - lam) / lam
    return -lam * _h(x) + 0.5 * jnp.log1p(x) - 0.5 * jnp.log(lam) - _HALF_LOG_2PI - _stirling_tail(k)


def _ptrs_try(u, v, lam):
    """One PTRS attempt: ``k`` if accepted, else -1 (Hörmann 1993, steps 1-3)."""
    slam = jnp.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2.0)
    base = jnp.floor(lam)
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = base + jnp.floor((2.0 * a / us + b) * u + (lam - base) + 0.43)
    quick = (us >= 0.07) & (v <= vr)
    possible = (k >= 0.0) & ~((us < 0.013) & (v > us))
    lhs = jnp.log(v) + jnp.log(inv_alpha) - jnp.log(a / (us * us) + b)
    accept = quick | (possible & (lhs <= _log_pmf(jnp.maximum(k, 0.0), lam)))
    return jnp.where(accept, k, -1.0)


def _ptrs_quick(u, v, lam):
    """The quick-accept step of a PTRS attempt (Hörmann 1993, step 1): ``k`` where it accepts,
    else -1. Where it accepts, :func:`_ptrs_try` returns the same ``k``; elsewhere the full test
    decides.
    """
    slam = jnp.sqrt(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    vr = 0.9277 - 3.6224 / (b - 2.0)
    base = jnp.floor(lam)
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = base + jnp.floor((2.0 * a / us + b) * u + (lam - base) + 0.43)
    return jnp.where((us >= 0.07) & (v <= vr), k, -1.0)


def _ptrs_first(keys, c, lam, r, attempts, dtype):
    out = jnp.full(lam.shape, -1.0, lam.dtype)
    for t in reversed(range(attempts)):
        k = _ptrs_try(*_uniform_pair(keys, c, r + t, dtype), lam)
        out = jnp.where(k >= 0.0, k, out)
    return out


def _ptrs_retry(keys, c, lam, x, dtype):
    """Attempts ``_ATTEMPTS, _ATTEMPTS + 1, ...`` on the lanes with ``x < 0`` until all accept."""

    def body(s):
        r, x = s
        return r + 1, jnp.where(x < 0.0, _ptrs_try(*_uniform_pair(keys, c, r, dtype), lam), x)

    return jax.lax.while_loop(lambda s: jnp.any(s[1] < 0.0), body, (jnp.uint32(_ATTEMPTS), x))[1]


def _ptrs(keys, c, lam, todo, dtype):
    """PTRS on lanes ``todo`` (the others must carry a harmless ``lam``, e.g. 1e4)."""
    L = lam.shape[0]
    x = jnp.where(todo, _ptrs_first(keys, c, lam, 0, _ATTEMPTS, dtype), 0.0)
    size = min(L, max(32, L // 32))
    idx = jnp.nonzero(x < 0.0, size=size, fill_value=L)[0]
    valid = idx < L
    safe = jnp.where(valid, idx, 0)
    sub = _ptrs_retry(keys[:, safe], c[safe], lam[safe], jnp.where(valid, -1.0, 0.0), dtype)
    x = x.at[idx].set(sub, mode="drop")
    return _ptrs_retry(keys, c, lam, x, dtype)  # overflow of the buffer (rare): full width


def _inversion(keys, c, lam, dtype):
    """Sequential search ``X = min{k : F(k) >= u}``, one step per pass over the open lanes."""
    f0 = jnp.exp(-lam)
    u0 = _uniform_pair(keys, c, 0, dtype)[0]
    zero = jnp.zeros_like(lam)

    def body(s):
        x, k, f, cdf, u, att = s
        k = k + 1.0
        f = f * lam / k
        f = jnp.where(f < _FLUSH, 0.0, f)
        cdf = cdf + f
        x = jnp.where((x < 0.0) & (u <= cdf), k, x)
        restart = (x < 0.0) & (k >= _INV_BOUND)
        att = att + restart.astype(jnp.uint32)
        u = jax.lax.cond(
            jnp.any(restart), lambda: jnp.where(restart, _uniform_pair(keys, c, att, dtype)[0], u), lambda: u
        )
        k, f, cdf = (jnp.where(restart, a, b) for a, b in ((zero, k), (f0, f), (f0, cdf)))
        x = jnp.where(restart & (u <= cdf), 0.0, x)
        return x, k, f, cdf, u, att

    init = (jnp.where(u0 <= f0, 0.0, -1.0), zero, f0, f0, u0, jnp.zeros(lam.shape, jnp.uint32))
    return jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0]


def _poisson_lanes(keys, c, lam, dtype):
    """Poisson(lam) on 1-D lanes with keys ``keys[2, L]``, chains ``c[L]`` and rates ``lam[L]``."""
    invalid = jnp.isnan(lam) | (lam < 0.0) | jnp.isinf(lam)
    use_inv = ~invalid & (lam > 0.0) & (lam < _INV_MEAN)
    use_ptrs = ~invalid & (lam >= _INV_MEAN)
    zeros = jnp.zeros_like(lam)
    x_inv = jax.lax.cond(
        jnp.any(use_inv),
        lambda: _inversion(bits.fold(keys, tags.POISSON_INVERSION), c, jnp.where(use_inv, lam, 0.0), dtype),
        lambda: zeros,
    )
    x_ptrs = jax.lax.cond(
        jnp.any(use_ptrs),
        lambda: _ptrs(bits.fold(keys, tags.POISSON_PTRS), c, jnp.where(use_ptrs, lam, 1e4), use_ptrs, dtype),
        lambda: zeros,
    )
    return jnp.where(invalid, jnp.nan, jnp.where(use_inv, x_inv, jnp.where(use_ptrs, x_ptrs, 0.0)))


def poisson(key: bits.KeyPair, chains: jax.Array, lam: jax.typing.ArrayLike, dtype=jnp.float32) -> jax.Array:
    """One Poisson(lam) variate per chain, exact in law.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        lam: ``[C]`` (or scalar) means, ``>= 0``; at most about ``1.6e7`` in float32 (results
            must stay below ``2**24`` to be exact integers).
        dtype: float32 or float64; the arithmetic and the result use it.

    Returns:
        ``dtype[C]`` counts (integer-valued floats); ``lam = 0`` gives 0, NaN, negative or
        infinite ``lam`` give NaN.

    References:
        Hörmann (1993), algorithm PTRS; Devroye (1986), section X.3.3 (inversion).
    """
    lam = jnp.broadcast_to(jnp.asarray(lam, dtype), chains.shape)
    c = chains.astype(jnp.uint32)
    keys = jnp.broadcast_to(jnp.asarray(key, jnp.uint32)[:, None], (2, c.shape[0]))
    return _poisson_lanes(keys, c, lam, dtype)


def poisson_slots(key: bits.KeyPair, chains: jax.Array, lam: jax.Array, dtype=jnp.float32) -> jax.Array:
    """Independent Poisson variates ``[C, S]``: slot ``s`` equals ``poisson(fold(key, s), chains, lam[:, s])``.

    Args:
        key: ``uint32[2]`` key.
        chains: ``uint32[C]`` global chain indices.
        lam: ``[C, S]`` means (see :func:`poisson`).
        dtype: float32 or float64.

    Returns:
        ``dtype[C, S]`` counts.
    """
    lam = jnp.asarray(lam, dtype)
    C, S = lam.shape
    slot_keys = bits.fold(key, jnp.arange(S, dtype=jnp.uint32))  # [2, S]
    keys = jnp.broadcast_to(slot_keys[:, None, :], (2, C, S)).reshape(2, C * S)
    c = jnp.broadcast_to(chains.astype(jnp.uint32)[:, None], (C, S)).reshape(-1)
    return _poisson_lanes(keys, c, lam.reshape(-1), dtype).reshape(C, S)
