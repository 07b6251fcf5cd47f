"""Multinomial counts whose cost follows the live support: the categorical family's exact kernel for many states.

A fixed binary tree of conditional binomials in which only the nodes that split live states are
random; those nodes, over all chains, are compacted and drawn in pages
(:func:`live_multinomial`). Binomials by unrolled inversion (``n q < 10``) or BTRS
(:mod:`collapse_theory.random.binomial`), on flat lanes with a counter per (chain, node).

Streams. A lane ``(chain c, slot j)`` draws Binomial(n, p) by sampling ``q = min(p, 1 - p)``
(``X = n - Bin(n, 1 - p)`` when ``p > 1/2``): by inversion of the first uniform of attempt 0 where
``n q < _INV_MEAN``, else by BTRS keeping the first accepted attempt, attempt ``r`` reading the
block at counter ``(c, r * 2**16 + j)`` (:func:`collapse_theory.random.binomial._uniforms`). So a
lane's value depends only on ``(key, c, j, n, p)``: not on the batch, the page that served it, or
how many rounds its retries took (tested with tiny pages and buffers).

Work (measured on 2 cores). A page pays a first pass over its lanes (``_FIRST_ATTEMPTS`` BTRS
attempts, or the unrolled inversion); the lanes it leaves open (``<= 0.3**3`` of the BTRS lanes)
are retried together once all pages of the depth are done (:func:`_settle`): retried page by page,
they cost 2-10x the first pass (by page size and n q). A chain of cheap elementwise work read by several fusions is copied
into each, so the passes leave through a loop, a cond, or
:func:`collapse_theory.random.xla.materialize`.

References:
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, sections X.4 and XI.1.4.
    W. Hörmann, "The generation of binomial random variates", J. Stat. Comput. Simul. 46 (1993).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from collapse_theory.random import binomial as _binomial
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _prefix_count

__all__ = ["live_multinomial", "paged_binomial"]


_INV_MEAN = 10.0  # n q below this: inversion; BTRS (valid for n q >= 10) above
_INV_STEPS = 32  # unrolled inversion steps; P(X >= 32 | n q < 10) < 3e-8
_INV_BOUND = 128.0  # a search past this restarts (only after round-off), as in random.binomial


def _inversion_tail(key, c, j, n, q, u, x, dtype):
    """Lanes with ``x < 0`` (past the unrolled steps, probability < 3e-8) search again from 0, one
    step per pass, with the same uniform; past ``_INV_BOUND`` with the first uniform of their next
    attempt (the truncation of :mod:`collapse_theory.random.binomial`).
    """
    r = q / (1.0 - q)
    f0 = jnp.exp(n * jnp.log1p(-q))

    def body(s):
        x, k, f, cdf, u, att = s
        f = jnp.where(k < 0.0, f0, jnp.maximum(f * (n - k) * r / (k + 1.0), 0.0))
        cdf = jnp.where(k < 0.0, 0.0, cdf) + f
        k = k + 1.0
        x = jnp.where((x < 0.0) & ((u <= cdf) | (k >= n)), k, x)
        restart = (x < 0.0) & (k >= jnp.minimum(n, _INV_BOUND))
        att = att + restart.astype(jnp.uint32)
        u = jnp.where(restart, _binomial._uniforms(key, c, j, att, dtype)[0], u)
        return x, jnp.where(restart, -1.0, k), f, cdf, u, att

    k = jnp.full_like(n, -1.0)
    init = (x, k, k, k, u, jnp.zeros(n.shape, jnp.uint32))
    return jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0]


_PAGE = 4096
"""Lanes per page where a depth has that many candidate nodes, else ``_SMALL_PAGE``: two page
shapes, so the tree's depths share their compiled pages."""
_SMALL_PAGE = 256


def _page_size(lanes: int) -> int:
    """Lanes per page of a tree depth with ``lanes`` candidate nodes."""
    return _PAGE if lanes >= _PAGE else min(lanes, _SMALL_PAGE)


def live_multinomial(key, chains, n, probs, dtype):
    """Multinomial(n, probs) per chain whose cost follows the live support.

    The K states are split down a fixed binary tree (states padded to ``2**D``): node ``i`` of depth
    ``d`` covers states ``[i 2**(D-d), (i+1) 2**(D-d))`` and sends ``Bin(m, a / (a + b))`` of its
    ``m`` draws to its left child (children masses ``a``, ``b``). A node whose draws or one of whose
    children's masses is 0 is decided without randomness, so a chain with ``L`` live states has
    exactly ``L - 1`` random nodes. At each depth those nodes, over all chains, are compacted and
    drawn in pages, as many as they fill: the work follows the live support, as numpy's sequential
    multinomial does when states die out. Node ``(d, i)`` of chain ``c`` draws from the lane
    stream ``(threefry(key, D - d, MULTINOMIAL_TREE), c, i)`` (keyed by its height ``D - d``, as
    :func:`~collapse_theory.random.prefix_multinomial.prefix_multinomial`, which then draws the
    same counts whenever a chain's mass lies in its first slots), so a chain's counts depend only on the
    key, its index and its probabilities (not on the batch or on which page served a node).

    References:
        L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, section XI.1.4
        (multinomial by conditional binomials).
    """
    C, K = probs.shape
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1), (C,))
    if K == 1:
        return n[:, None]
    D = max(1, math.ceil(math.log2(K)))
    masses = [jnp.pad(jnp.maximum(jnp.asarray(probs, dtype), 0.0), ((0, 0), (0, 2**D - K)))]
    for _ in range(D):
        masses.append(masses[-1][:, 0::2] + masses[-1][:, 1::2])
    masses = masses[::-1]  # masses[d]: the 2**d nodes of depth d
    need = [-(-K // 2 ** (D - d)) for d in range(D + 1)]
    m = n[:, None]
    for d in range(D):
        w = need[d]
        a, b = masses[d + 1][:, 0 : 2 * w : 2], masses[d + 1][:, 1 : 2 * w : 2]
        m = m[:, :w]
        random = (m > 0.0) & (a > 0.0) & (b > 0.0)
        fixed = jnp.where(b > 0.0, 0.0, m)  # all draws go where the mass is
        p = jnp.where(random, a / jnp.where(random, a + b, 1.0), 0.0)
        # keyed by the node's height D - d (as random.prefix_multinomial), so a tree over
        # fewer slots draws the same numbers for the same nodes
        lane_key = jnp.stack(bits.threefry2x32(key, jnp.uint32(D - d), jnp.uint32(tags.MULTINOMIAL_TREE)))
        x = _paged_nodes(lane_key, chains, random, m, p, dtype)
        x = jnp.where(random, x, fixed)
        m = jnp.stack([x, m - x], axis=2).reshape(C, 2 * w)
    return m[:, :K]


def _paged_nodes(key, chains, random, m, p, dtype):
    """Binomial(m, p) on the nodes ``random[C, W]`` (0 elsewhere), compacted into pages."""
    C, W = m.shape
    cf = jnp.repeat(chains.astype(jnp.uint32), W)
    jf = jnp.tile(jnp.arange(W, dtype=jnp.uint32), C)
    return paged_binomial(key, cf, jf, m.reshape(-1), p.reshape(-1), random.reshape(-1), dtype).reshape(C, W)


def paged_binomial(key, c, j, m, p, random, dtype):
    """Binomial(m, p) on the 1-D lanes where ``random`` holds (0 elsewhere), lane ``l`` drawing
    from the stream of chain ``c[l]``, slot ``j[l]`` (the module's streams).

    The lanes of each method are compacted and drawn in pages of one method, as many as they fill,
    so the work follows their number, not the lanes': unrolled inversion (``m q < _INV_MEAN``; a
    page whose lanes pass the unrolled steps, probability ``< 3e-8`` each, finishes them by
    :func:`_inversion_tail`) and ``_FIRST_ATTEMPTS`` BTRS attempts per lane. The BTRS lanes that
    rejected every attempt are retried together once all pages are done (:func:`_settle`).
    """
    L = m.shape[0]
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    small = random & (m * q < _INV_MEAN)
    big = random & ~small
    m = jnp.where(random, m, 0.0)
    q_inv, q_btrs = jnp.where(small, q, 0.0), jnp.where(big, q, 0.5)
    m_btrs = jnp.where(big, m, 1e4)

    def invert(c, j, n, q):
        u = _binomial._uniforms(key, c, j, 0, dtype)[0]
        cnt = _binomial._inversion_steps(n, q, u, _INV_STEPS)
        x = jnp.where((cnt >= _INV_STEPS) & (n >= _INV_STEPS), -1.0, jnp.minimum(cnt, n))
        tail = x < 0.0  # past the unrolled steps: probability < 3e-8 per lane
        return jax.lax.cond(
            jnp.any(tail), lambda: jnp.where(tail, _inversion_tail(key, c, j, n, q, u, x, dtype), x), lambda: x
        )

    def btrs(c, j, n, q):  # attempts in a rolled loop: each copy of BTRS costs compile time
        def attempt(r, x):
            k = _binomial._btrs_try(*_binomial._uniforms(key, c, j, r, dtype), n, q)
            return jnp.where(x < 0.0, k, x)

        return jax.lax.fori_loop(0, _FIRST_ATTEMPTS, attempt, jnp.full(n.shape, -1.0, dtype))

    x = jnp.zeros((L,), dtype)
    x = _paged(small, (c, j, m, q_inv), invert, x)
    x = _paged(big, (c, j, m_btrs, q_btrs), btrs, x)
    x = _settle(key, c, j, m_btrs, q_btrs, big, x, dtype)
    return jnp.where(random, jnp.where(flip, m - x, x), 0.0)


_FIRST_ATTEMPTS = 3
"""BTRS attempts per lane in a page (all rejected with probability ``<= 0.3**3 = 0.027``)."""
_RETRY = 1024
"""Lanes retried together (:func:`_settle`)."""


def _compact(mask, size):
    """Indices of the first ``size`` lanes where ``mask`` holds, in order, padded with ``L``; and their count."""
    L = mask.shape[0]
    rank = _prefix_count(mask.astype(jnp.float32)).astype(jnp.int32)
    idx = (
        jnp.full((size,), L, jnp.int32)
        .at[jnp.where(mask, rank - 1, size)]
        .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    )
    return idx, rank[-1]


def _btrs_until_accepted(key, c, j, n, q, x, live, dtype):
    """BTRS from attempt ``_FIRST_ATTEMPTS`` on, one attempt per pass, where ``live & (x < 0)``,
    until every such lane accepts; each keeps its first accepted attempt (the module's streams).
    """

    def body(s):
        r, x = s
        k = _binomial._btrs_try(*_binomial._uniforms(key, c, j, r, dtype), n, q)
        return r + 1, jnp.where(live & (x < 0.0), k, x)

    init = (jnp.uint32(_FIRST_ATTEMPTS), x)
    return jax.lax.while_loop(lambda s: jnp.any(live & (s[1] < 0.0)), body, init)[1]


def _paged(mask, lanes, draw, x):
    """``x`` with ``draw(*lanes)`` at the lanes where ``mask`` holds: those lanes compacted into pages."""
    L = mask.shape[0]
    page = _page_size(L)
    order, count = _compact(mask, -(-L // page) * page)

    def body(i, x):
        idx = jax.lax.dynamic_slice_in_dim(order, i * page, page)
        safe = jnp.minimum(idx, L - 1)
        # Materialised: a gather inside the sampler's fusions would slow them several-fold.
        sub = _binomial._materialize(tuple(a[safe] for a in lanes), i < 0)
        return x.at[idx].set(draw(*sub), mode="drop")

    return jax.lax.fori_loop(0, (count + page - 1) // page, body, x)


def _settle(key, c, j, m, q, big, x, dtype):
    """Finish the BTRS lanes the pages left at -1, from attempt ``_FIRST_ATTEMPTS`` on: the first
    ``_RETRY`` of them compacted and retried until all accept, again while any is left.
    """
    L = x.shape[0]

    def serve(x):
        idx, count = _compact(big & (x < 0.0), min(L, _RETRY))
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        sub = _binomial._materialize((c[safe], j[safe], m[safe], q[safe]), count < 0)
        return x.at[idx].set(_btrs_until_accepted(key, *sub, jnp.where(ok, -1.0, 0.0), ok, dtype), mode="drop")

    return jax.lax.while_loop(lambda x: jnp.any(big & (x < 0.0)), serve, x)


def _first_pass(key, c, j, n, p, dtype):
    """Binomial(n, p) on 1-D lanes (``0 < p < 1``, or ``n = 0``) in one fused pass, or -1 where it
    did not settle: unrolled inversion where ``n q < _INV_MEAN``, else ``_FIRST_ATTEMPTS`` BTRS
    attempts (:func:`_finish` completes the rest), on the module's streams.
    """
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    small = n * q < _INV_MEAN
    u, _ = _binomial._uniforms(key, c, j, 0, dtype)
    cnt = _binomial._inversion_steps(jnp.where(small, n, 0.0), jnp.where(small, q, 0.0), u, _INV_STEPS)
    x_inv = jnp.where((cnt >= _INV_STEPS) & (n >= _INV_STEPS), -1.0, jnp.minimum(cnt, n))
    nb, qb = jnp.where(small, 1e4, n), jnp.where(small, 0.5, q)
    x_btrs = _binomial._btrs_first(key, c, j, nb, qb, 0, _FIRST_ATTEMPTS, dtype)
    x = jnp.where(small, x_inv, jnp.where(n > 0.0, x_btrs, 0.0))
    return jnp.where(x < 0.0, -1.0, jnp.where(flip, n - x, x))


def _finish(key, c, j, n, p, x, dtype):
    """The lanes of :func:`_first_pass` left at -1, settled: BTRS from attempt ``_FIRST_ATTEMPTS``
    on, one attempt per pass until all accept; inversion past its unrolled steps by
    :func:`_inversion_tail`. Other lanes keep ``x``.
    """
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    small = n * q < _INV_MEAN
    open_ = x < 0.0
    nb, qb = jnp.where(small, 1e4, n), jnp.where(small, 0.5, q)
    live = open_ & ~small
    y = _btrs_until_accepted(key, c, j, nb, qb, jnp.where(live, -1.0, 0.0), live, dtype)
    tail = open_ & small

    def invert():
        u = _binomial._uniforms(key, c, j, 0, dtype)[0]
        qi = jnp.where(tail, q, 0.0)
        return _inversion_tail(key, c, j, jnp.where(tail, n, 0.0), qi, u, jnp.where(tail, -1.0, 0.0), dtype)

    y = jnp.where(tail, jax.lax.cond(jnp.any(tail), invert, lambda: y), y)
    return jnp.where(open_, jnp.where(flip, n - y, y), x)
