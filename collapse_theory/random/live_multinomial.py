"""Multinomial counts whose cost follows the live support: the categorical family's exact kernel for many states.

A fixed binary tree of conditional binomials in which only the nodes that split live states are
random; those nodes, over all chains, are compacted and drawn in pages
(:func:`live_multinomial`). Binomials by unrolled inversion (``n q < 10``) or BTRS
(:mod:`collapse_theory.random.binomial`), on flat lanes with a counter per (chain, node).

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


def _binomial_flat(key, c, j, n, p, dtype):
    """Binomial(n, p) on 1-D lanes with chain ``c`` and stream slot ``j`` each (``0 < p < 1``, or
    ``n = 0``), on the lane streams of :mod:`collapse_theory.random.binomial` (attempt ``r`` reads
    the block at counter ``(c, r * 2**16 + j)``), so a lane's value depends only on ``(key, c, j, n,
    p)``. Only ``q = min(p, 1 - p)`` is sampled; ``n q < 10``: inversion (Devroye 1986, X.4.3),
    unrolled; else Hörmann's BTRS (valid for ``n q >= 10``), retried until every lane accepts.
    A lean variant of ``binomial_lanes`` (one attempt per pass, no compacted retries): it is
    compiled once per tree depth, so its size is compile time.
    """
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    mean = n * q
    small = mean < _INV_MEAN
    u, v = _binomial._uniforms(key, c, j, 0, dtype)
    qi = jnp.where(small, q, 0.0)
    nb, qb = jnp.where(small, 1e4, n), jnp.where(small, 0.5, q)
    big = ~small & (n > 0.0)

    def invert():
        cnt = _binomial._inversion_steps(jnp.where(small, n, 0.0), qi, u, _INV_STEPS)
        return jnp.where((cnt >= _INV_STEPS) & (n >= _INV_STEPS), -1.0, jnp.minimum(cnt, n))

    zeros = jnp.zeros_like(n)
    x_inv = jax.lax.cond(jnp.any(small & (n > 0.0)), invert, lambda: zeros)
    x_btrs = jax.lax.cond(jnp.any(big), lambda: _binomial._btrs_try(u, v, nb, qb), lambda: zeros)
    x = jnp.where(small, x_inv, x_btrs)
    L = n.shape[0]
    size = min(L, max(64, L // 4))

    def attempts(c, j, nb, qb, x, live):
        def body(s):
            r, x = s
            k = _binomial._btrs_try(*_binomial._uniforms(key, c, j, r, dtype), nb, qb)
            return r + 1, jnp.where(live & (x < 0.0), k, x)

        return jax.lax.while_loop(lambda s: jnp.any(live & (s[1] < 0.0)), body, (jnp.uint32(1), x))[1]

    def retry(x):
        # Rejected BTRS lanes (about 1 in 6) retry on a compacted buffer, the overflow at full width.
        pending = big & (x < 0.0)
        rank = _prefix_count(pending.astype(jnp.float32)).astype(jnp.int32)
        idx = (
            jnp.full((size,), L, jnp.int32)
            .at[jnp.where(pending, rank - 1, size)]
            .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
        )
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        sub = _binomial._materialize((c[safe], j[safe], nb[safe], qb[safe]), n[0] < 0.0)
        x = x.at[idx].set(attempts(*sub, jnp.where(ok, -1.0, 0.0), ok), mode="drop")
        x = jax.lax.cond(jnp.any(big & (x < 0.0)), lambda: attempts(c, j, nb, qb, x, big), lambda: x)
        tail = small & (x < 0.0)

        def finish():
            return jnp.where(tail, _inversion_tail(key, c, j, n, qi, u, jnp.where(tail, -1.0, 0.0), dtype), x)

        return jax.lax.cond(jnp.any(tail), finish, lambda: x)

    x = jax.lax.cond(jnp.any(x < 0.0), retry, lambda x: x, x)
    return jnp.where(flip, n - x, x)


_PAGE = 256
"""Lanes per page (measured on 2 cores: a page of 1024 lanes costs 4-8x one of 256, its BTRS
retries and their compaction growing faster than the lanes)."""


def _page_size(lanes: int) -> int:
    """Lanes per page of a tree depth with ``lanes`` candidate nodes: ``_PAGE``, or the depth when smaller."""
    return min(lanes, _PAGE)


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
    from the stream of chain ``c[l]``, slot ``j[l]``: those lanes are compacted and drawn in pages
    (as many as they fill), so the work follows their number, not the lanes'.
    """
    L = m.shape[0]
    page = _page_size(L)
    slots = -(-L // page) * page
    rank = _prefix_count(random.astype(jnp.float32)).astype(jnp.int32)
    order = (
        jnp.full((slots,), L, jnp.int32)
        .at[jnp.where(random, rank - 1, slots)]
        .set(jnp.arange(L, dtype=jnp.int32), mode="drop")
    )
    pages = (rank[-1] + page - 1) // page

    def body(i, out):
        idx = jax.lax.dynamic_slice_in_dim(order, i * page, page)
        ok = idx < L
        safe = jnp.minimum(idx, L - 1)
        # Materialised: a gather inside the sampler's fusions would slow them several-fold.
        lanes = _binomial._materialize(
            (c[safe], j[safe], jnp.where(ok, m[safe], 0.0), jnp.where(ok, p[safe], 0.0)), i < 0
        )
        return out.at[idx].set(_binomial_flat(key, *lanes, dtype), mode="drop")

    return jax.lax.fori_loop(0, pages, body, jnp.zeros((L,), dtype))
