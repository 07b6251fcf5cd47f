"""Exact Poisson variate per chain at a cost that follows the live chains (the Poisson family's
exact kernel, ``total ~ Poisson(n rate)``).

One call draws ``X_c ~ Poisson(lam_c)`` for every lane ``c``: ``lam = 0`` (an extinct chain,
absorbing) gives 0 and costs nothing, ``0 < lam < 10`` uses sequential-search inversion (Devroye
1986, X.3.3) and ``lam >= 10`` Hörmann's PTRS. Streams are those of
:mod:`collapse_theory.random.poisson`: attempt ``r`` of chain ``c`` reads the Threefry block at
counter ``(c, r)``, a lane keeps its first accepted attempt, and inversion uses the first word of
attempt 0 (restarting with attempt ``r`` after a round-off overrun). So a lane's value depends only
on ``(key, c, lam)``, never on the batch, the chunk or the buffer that served it.

Schedule (XLA on CPU, measured: a PTRS attempt costs ~5 ns per lane, a scatter a few ns per
update, and every operation ~2 us, so the number of operations per generation matters as much as
their width):

* when more than 1/8 of the lanes have ``lam >= 10``, one fused pass runs attempt 0 on every lane,
  and attempt 1's quick-accept test (Hörmann's step 1) where attempt 0 rejects: one output per
  lane, materialised, and the lanes left (~5 % instead of ~15 %) continue from attempt 1, whose
  full test gives the same value wherever the quick test accepted; otherwise the
  live lanes go straight to the pages below, from attempt 0;
* the lanes left (rejected, or with a small mean) are served by pages: ``L / 64`` lanes for the
  32-step inversion, ``L / 16`` for the next two PTRS attempts (widths rounded up to multiples of
  64). A page finds its lanes by a binary search of the masks' inclusive ranks (no scatter over all
  lanes); the few lanes rejected twice take the 64 slots of a tail buffer, found the same way,
  that makes four attempts per pass until all accept.

References:
    W. Hörmann, "The transformed rejection method for generating Poisson random variables",
    Insurance: Mathematics and Economics 12 (1993), 39-45 (algorithm PTRS).
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section X.3.3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random.binomial import _prefix_count
from collapse_theory.random.poisson import _ptrs_quick, _ptrs_try, _uniform_pair
from collapse_theory.random.xla import materialize as _materialize

__all__ = ["poisson_total"]

_INV_MEAN = 10.0  # rates below this: inversion; PTRS (valid for rate >= 10) above
_INV_STEPS = 32  # unrolled inversion steps; P(X >= 32 | lam < 10) < 2.5e-8
_INV_BOUND = 64.0  # a search past this restarts (only after round-off); P(X >= 64 | lam < 10) < 5e-30
_FLUSH = 1e-30  # pmf terms below this are 0 (x86 subnormal arithmetic is ~100x slower)
_RETRY = 2  # PTRS attempts per lane on a page (both fail with probability rho**2 <= 1/16)
_TAIL, _TAIL_ATTEMPTS = 64, 4  # tail buffer: slots, and attempts per slot and pass
_MIN_PAGE = 64
_DENSE = 8  # attempt 0 runs on every lane when more than 1 / _DENSE of them have lam >= 10


def _prefix_rows(m):
    """Inclusive prefix sums along the rows of a 0/1 float32 ``[R, P]`` array (exact below 2**24):
    blocks of 32 by one batched triangular matmul, block totals recursively, as
    :func:`collapse_theory.random.binomial._prefix_count` (one operation for several masks).
    """
    R, P = m.shape
    if P <= 64:
        return jnp.cumsum(m, axis=-1)
    B = 32
    x = jnp.pad(m, ((0, 0), (0, -P % B))).reshape(R, -1, B)
    inner = jnp.matmul(x, jnp.triu(jnp.ones((B, B), m.dtype)), precision=jax.lax.Precision.HIGHEST)
    tot = inner[:, :, -1]
    return (inner + (_prefix_rows(tot) - tot)[:, :, None]).reshape(R, -1)[:, :P]


def _inversion(key, c, lam, dtype):
    """``min{k : F(k) >= u}`` with the first uniform of attempt 0: ``_INV_STEPS`` unrolled steps on
    every lane, then a loop over the rare lanes left open (past ``_INV_BOUND`` a lane restarts with
    the first uniform of its next attempt, as in :mod:`collapse_theory.random.poisson`).
    """
    u = _uniform_pair(key, c, 0, dtype)[0]
    f = jnp.exp(-lam)
    cdf = f
    cnt = (u > cdf).astype(dtype)
    for k in range(1, _INV_STEPS):
        f = f * lam * (1.0 / k)
        f = jnp.where(f < _FLUSH, 0.0, f)
        cdf = cdf + f
        cnt = cnt + (u > cdf).astype(dtype)
    x = jnp.where(cnt >= _INV_STEPS, -1.0, cnt)

    def body(s):
        x, k, f, cdf, u, att = s
        k = k + 1.0
        f = jnp.where(f * lam / k < _FLUSH, 0.0, f * lam / k)
        cdf = cdf + f
        x = jnp.where((x < 0.0) & (u <= cdf), k, x)
        restart = (x < 0.0) & (k >= _INV_BOUND)
        att = att + restart.astype(jnp.uint32)
        u = jnp.where(restart, _uniform_pair(key, c, att, dtype)[0], u)
        f0 = jnp.exp(-lam)
        k, f, cdf = (jnp.where(restart, a, b) for a, b in ((jnp.zeros_like(k), k), (f0, f), (f0, cdf)))
        x = jnp.where(restart & (u <= cdf), 0.0, x)
        return x, k, f, cdf, u, att

    init = (x, jnp.full_like(lam, _INV_STEPS - 1.0), f, cdf, u, jnp.zeros(lam.shape, jnp.uint32))
    return jax.lax.cond(
        jnp.any(x < 0.0), lambda: jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0], lambda: x
    )


def _attempts(key, c, lam, r, n, dtype):
    """The first accepted of PTRS attempts ``r, ..., r + n - 1`` (``r`` per lane), else -1."""
    out = jnp.full(lam.shape, -1.0, lam.dtype)
    for t in reversed(range(n)):
        k = _ptrs_try(*_uniform_pair(key, c, r + jnp.uint32(t), dtype), lam)
        out = jnp.where(k >= 0.0, k, out)
    return out


def _ptrs_finish(key, c, lam, x, r, dtype):
    """Lanes with ``x < 0`` continue from their attempt ``r`` until one accepts: the first
    ``_TAIL`` pending lanes (in order) take the tail buffer's slots, ``_TAIL_ATTEMPTS`` attempts per
    pass, until none is left.
    """
    L = x.shape[0]
    T = min(L, _TAIL)

    def body(s):
        x, r = s
        rank = _prefix_count((x < 0.0).astype(jnp.float32))
        t = jnp.arange(1, T + 1, dtype=jnp.float32)
        lane = jnp.searchsorted(rank, t, side="left", method="scan").astype(jnp.int32)  # L past the end
        safe = jnp.minimum(lane, L - 1)
        cs, ls, rs = _materialize((c[safe], lam[safe], r[safe]), lane[0] < 0)
        k = _attempts(key, cs, ls, rs, _TAIL_ATTEMPTS, dtype)
        return x.at[lane].set(k, mode="drop"), r.at[lane].add(jnp.uint32(_TAIL_ATTEMPTS), mode="drop")

    return jax.lax.cond(
        jnp.any(x < 0.0),
        lambda: jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, (x, r))[0],
        lambda: x,
    )


def _ptrs_page(key, c, lam, todo, r0, dtype):
    """PTRS from attempt ``r0`` on the lanes ``todo`` of a page (the others carry a harmless ``lam``)."""
    x = jnp.where(todo, _attempts(key, c, lam, jnp.uint32(r0), _RETRY, dtype), 0.0)
    x = _materialize(x, lam[0] < 0.0)
    return _ptrs_finish(key, c, lam, x, jnp.full(lam.shape, r0 + _RETRY, jnp.uint32), dtype)


def _serve(key, c, lam, small, large, r0, dtype):
    """Inversion on the lanes ``small`` and PTRS from attempt ``r0`` on the lanes ``large`` (disjoint),
    0 elsewhere: pages of ``L / 64`` (inversion) and ``L / 16`` (PTRS) lanes, as many as filled.
    A page finds its lanes (in order) by a binary search of the masks' inclusive ranks: cheaper on
    XLA:CPU than scattering every lane into an order buffer.
    """
    L = lam.shape[0]
    ps, pl = (min(L, -(-max(_MIN_PAGE, L // d) // _MIN_PAGE) * _MIN_PAGE) for d in (64, 16))
    rank = _prefix_rows(jnp.stack([small, large]).astype(jnp.float32))  # exact below 2**24
    rank = _materialize(rank, lam[0] < -1.0)
    ns, nl = rank[0, -1].astype(jnp.int32), rank[1, -1].astype(jnp.int32)
    pages_s, pages_l = (ns + ps - 1) // ps, (nl + pl - 1) // pl

    def page(row, start, size, pad, fn, out):
        t = (start + jnp.arange(size, dtype=jnp.int32) + 1).astype(jnp.float32)
        idx = jnp.searchsorted(rank[row], t, side="left", method="scan").astype(jnp.int32)  # L past the end
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        cs, ls = _materialize((c[safe], jnp.where(ok, lam[safe], pad)), start < 0)
        return out.at[idx].set(fn(cs, ls, ok), mode="drop")

    def inv(i, out):
        return page(0, i * ps, ps, 0.0, lambda c, lam, ok: _inversion(key, c, lam, dtype), out)

    def ptrs(i, out):
        return page(1, i * pl, pl, 1e4, lambda c, lam, ok: _ptrs_page(key, c, lam, ok, r0, dtype), out)

    out = jax.lax.fori_loop(0, pages_s, inv, jnp.zeros((L,), lam.dtype))
    return jax.lax.fori_loop(0, pages_l, ptrs, out)


def poisson_total(key: bits.KeyPair, chains: jax.Array, lam: jax.Array, dtype=jnp.float32) -> jax.Array:
    """One Poisson(lam) variate per chain, exact in law, at a cost that follows the live lanes.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        lam: ``[C]`` means; ``0`` gives 0, NaN, negative or infinite give NaN. Results must stay
            below ``2**24`` in float32 to be exact integers.
        dtype: float32 or float64.

    Returns:
        ``dtype[C]`` counts (integer-valued floats).

    References:
        W. Hörmann, Insurance: Mathematics and Economics 12 (1993) 39-45 (PTRS);
        L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section X.3.3.
    """
    lam = jnp.broadcast_to(jnp.asarray(lam, dtype), chains.shape)
    c = chains.astype(jnp.uint32)
    invalid = jnp.isnan(lam) | (lam < 0.0) | jnp.isinf(lam)
    large = ~invalid & (lam >= _INV_MEAN)
    small = ~invalid & (lam > 0.0) & (lam < _INV_MEAN)
    L = lam.shape[0]

    def dense():  # most lanes large: attempt 0 everywhere in one pass, the rest compacted
        lam_l = jnp.where(large, lam, 1e4)
        x0 = _ptrs_try(*_uniform_pair(key, c, 0, dtype), lam_l)
        x0 = jnp.where(x0 >= 0.0, x0, _ptrs_quick(*_uniform_pair(key, c, 1, dtype), lam_l))
        x0 = _materialize(jnp.where(large, x0, 0.0), lam[0] < -1.0)
        late = large & (x0 < 0.0)
        return jnp.where(late, 0.0, x0) + _serve(key, c, lam, small, late, 1, dtype)

    def sparse():
        return jax.lax.cond(
            jnp.any(small | large),
            lambda: _serve(key, c, lam, small, large, 0, dtype),
            lambda: jnp.zeros((L,), lam.dtype),
        )

    x = jax.lax.cond(_DENSE * jnp.sum(large, dtype=jnp.int32) > L, dense, sparse)
    return jnp.where(invalid, jnp.nan, x)
