"""Exact Poisson variate per chain at a cost that follows the live chains (the Poisson family's
exact kernel, ``total ~ Poisson(n rate)``).

One call draws ``X_c ~ Poisson(lam_c)`` for every lane ``c``: ``lam = 0`` (an extinct chain,
absorbing) gives 0 and costs nothing, ``0 < lam < 10`` uses sequential-search inversion (Devroye
1986, X.3.3) and ``lam >= 10`` Hörmann's PTRS. Streams are those of
:mod:`collapse_theory.random.poisson`: attempt ``r`` of chain ``c`` reads the Threefry block at
counter ``(c, r)``, a lane keeps its first accepted attempt, and inversion uses the first word of
attempt 0 (restarting with attempt ``r`` after a round-off overrun). So a lane's value depends only
on ``(key, c, lam)``, never on the batch, the chunk or the buffer that served it.

Schedule (XLA on CPU, measured: a full PTRS attempt costs ~10 ns per lane, its quick-accept test
(Hörmann's step 1) with the Threefry block ~2 ns, and every operation ~2 us, so the number of
operations per generation matters as much as their width):

* one pass over every lane draws attempt 0's block: when over half of the lanes have ``lam >= 10``,
  it runs attempt 0 in full and, where that rejects, attempt 1's quick-accept test (Hörmann's step
  1), leaving ~5 % of the large lanes (to continue from attempt 1); otherwise it runs only attempt
  0's quick test (no logarithms), which settles ~70 % of them at ``lam ~ 100`` (more at larger
  means), and extinct chains then cost little. Where a quick test accepts, the full attempt gives
  the same value;
* the lanes left (rejected by that pass, or a small mean) are listed in order by their ranks (32
  lanes per word, population counts) and one scatter, and served by pages: ``L / 64`` lanes for the
  32-step inversion (lam < 10), ``L / 16`` for two PTRS attempts in full (widths rounded up to
  multiples of 64), so that the logarithms run only on the lanes that need them;
* the few lanes rejected twice take the slots of a tail buffer (1/8 of a page, found the same
  way), four attempts per pass until all accept.

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
_TAIL, _TAIL_ATTEMPTS = 64, 4  # tail buffer: at least 64 slots, and attempts per slot and pass
_TAIL_SHARE = 8  # the tail buffer has 1 / _TAIL_SHARE of a page's lanes
_PAGE_SHARE = 16  # a PTRS page has 1 / _PAGE_SHARE of the lanes
_MIN_PAGE = 64
_DENSE_NUM, _DENSE_DEN = 2, 1  # attempt 0 in full on every lane when over half of them have lam >= 10


def _rank(mask):
    """Inclusive prefix count of a boolean vector, ``int32``: 32 lanes per ``uint32`` word, word
    counts by ``population_count``, their prefix by :func:`_prefix_count`, and each lane's rank
    within its word by the population count of the word's lower bits (cheaper on XLA:CPU than a
    triangular matmul over the lanes).
    """
    L = mask.shape[0]
    W = -(-L // 32)
    shift = jnp.arange(32, dtype=jnp.uint32)
    bits32 = jnp.pad(mask, (0, W * 32 - L)).reshape(W, 32).astype(jnp.uint32) << shift
    words = jnp.sum(bits32, axis=1, dtype=jnp.uint32)  # distinct bits: the sum is the bitwise or
    count = jax.lax.population_count(words).astype(jnp.int32)
    base = _prefix_count(count.astype(jnp.float32)).astype(jnp.int32) - count  # exact below 2**24
    words, base = _materialize((words, base), base[0] < 0)  # else fused into every lane's rank
    lower = (jnp.uint32(2) << shift) - jnp.uint32(1)  # bits 0..i (i = 31 wraps to all ones)
    within = jax.lax.population_count(words[:, None] & lower[None, :]).astype(jnp.int32)
    return (base[:, None] + within).reshape(-1)[:L]


def _order(mask, size):
    """``int32[size]``: the lanes where ``mask`` holds, in order, then ``L`` (past the end); and their
    count. One scatter (most of its updates dropped): cheaper on XLA:CPU than a binary search per slot.
    """
    L = mask.shape[0]
    rank = _rank(mask)
    slot = jnp.where(mask, rank - 1, size)
    return jnp.full((size,), L, jnp.int32).at[slot].set(jnp.arange(L, dtype=jnp.int32), mode="drop"), rank[-1]


def _inversion(key, c, lam, u, dtype):
    """``min{k : F(k) >= u}`` for the first uniform ``u`` of attempt 0: ``_INV_STEPS`` unrolled steps
    on every lane, then a loop over the rare lanes left open (past ``_INV_BOUND`` a lane restarts with
    the first uniform of its next attempt, as in :mod:`collapse_theory.random.poisson`).
    """
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


def _attempts(key, c, lam, r, n, dtype, first=None):
    """The first accepted of PTRS attempts ``r, ..., r + n - 1`` (``r`` per lane), else -1;
    ``first``: attempt ``r``'s uniforms, already drawn.
    """
    out = jnp.full(lam.shape, -1.0, lam.dtype)
    for t in reversed(range(n)):
        pair = first if t == 0 and first is not None else _uniform_pair(key, c, r + jnp.uint32(t), dtype)
        k = _ptrs_try(*pair, lam)
        out = jnp.where(k >= 0.0, k, out)
    return out


def _ptrs_finish(key, c, lam, x, r, dtype):
    """Lanes with ``x < 0`` continue from their attempt ``r`` until one accepts: the first
    ``T`` pending lanes (in order) take the tail buffer's slots, ``_TAIL_ATTEMPTS`` attempts per
    pass, until none is left.
    """
    L = x.shape[0]
    T = min(L, max(_TAIL, L // _TAIL_SHARE // _MIN_PAGE * _MIN_PAGE))

    def body(s):
        x, r = s
        lane, _ = _order(x < 0.0, T)
        safe = jnp.minimum(lane, L - 1)
        cs, ls, rs = _materialize((c[safe], lam[safe], r[safe]), lane[0] < 0)
        k = _attempts(key, cs, ls, rs, _TAIL_ATTEMPTS, dtype)
        return x.at[lane].set(k, mode="drop"), r.at[lane].add(jnp.uint32(_TAIL_ATTEMPTS), mode="drop")

    return jax.lax.cond(
        jnp.any(x < 0.0),
        lambda: jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, (x, r))[0],
        lambda: x,
    )


def _page_size(L, share):
    return min(L, -(-max(_MIN_PAGE, L // share) // _MIN_PAGE) * _MIN_PAGE)


def _serve(key, c, lam, small, late, x, r0, dtype):
    """``x`` with inversion on the lanes ``small`` and PTRS from attempt ``r0`` on the lanes ``late``
    (disjoint): pages of ``L / 64`` (inversion) and ``L / _PAGE_SHARE`` (PTRS) lanes, as many as
    filled. Both lists of lanes come from their ranks and one scatter.
    """
    L = lam.shape[0]
    ps, pl = _page_size(L, 64), _page_size(L, _PAGE_SHARE)
    ns_max, nl_max = -(-L // ps) * ps, -(-L // pl) * pl
    rs, rl = _rank(small), _rank(late)
    slot = jnp.where(small, rs - 1, jnp.where(late, ns_max + rl - 1, ns_max + nl_max))
    order = jnp.full((ns_max + nl_max,), L, jnp.int32).at[slot].set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    ns, nl = rs[-1], rl[-1]

    def page(start, size, pad, fn, out):
        idx = jax.lax.dynamic_slice(order, (start,), (size,))
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        cs, ls = _materialize((c[safe], jnp.where(ok, lam[safe], pad)), start < 0)
        return out.at[idx].set(fn(cs, ls, ok), mode="drop")

    def inv(i, out):
        return page(i * ps, ps, 0.0, lambda c, lam, ok: _inversion(key, c, lam, _first_u(key, c, dtype), dtype), out)

    def ptrs(i, out):
        return page(ns_max + i * pl, pl, 1e4, lambda c, lam, ok: _ptrs_page(key, c, lam, ok, r0, dtype), out)

    out = jax.lax.fori_loop(0, (ns + ps - 1) // ps, inv, x)
    return jax.lax.fori_loop(0, (nl + pl - 1) // pl, ptrs, out)


def _first_u(key, c, dtype):
    return _uniform_pair(key, c, 0, dtype)[0]


def _ptrs_page(key, c, lam, todo, r0, dtype):
    """PTRS from attempt ``r0`` on the lanes ``todo`` of a page (the others carry a harmless ``lam``)."""
    x = jnp.where(todo, _attempts(key, c, lam, jnp.uint32(r0), _RETRY, dtype), 0.0)
    x = _materialize(x, lam[0] < 0.0)
    return _ptrs_finish(key, c, lam, x, jnp.full(lam.shape, r0 + _RETRY, jnp.uint32), dtype)


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
    lam_l = jnp.where(large, lam, 1e4)
    rest = jnp.where(invalid, jnp.nan, 0.0)

    def quick():  # attempt 0's quick test; the lanes left continue from attempt 0
        x0 = _ptrs_quick(*_uniform_pair(key, c, 0, dtype), lam_l)
        x0 = _materialize(jnp.where(large, x0, rest), lam_l[0] < 0.0)  # lam_l >= 10: never
        return _serve(key, c, lam, small, x0 < 0.0, x0, 0, dtype)

    def dense():  # attempt 0 in full, attempt 1's quick test; the lanes left continue from attempt 1
        x0 = _ptrs_try(*_uniform_pair(key, c, 0, dtype), lam_l)
        x0 = jnp.where(x0 >= 0.0, x0, _ptrs_quick(*_uniform_pair(key, c, 1, dtype), lam_l))
        x0 = _materialize(jnp.where(large, x0, rest), lam_l[0] < 0.0)  # lam_l >= 10: never
        return _serve(key, c, lam, small, x0 < 0.0, x0, 1, dtype)

    L = lam.shape[0]
    return jax.lax.cond(_DENSE_NUM * jnp.sum(large, dtype=jnp.int32) > _DENSE_DEN * L, dense, quick)
