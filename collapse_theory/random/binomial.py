"""Exact batched binomial sampler on the counter-based stream.

Binomial(n, p) per lane, with per-lane ``n`` and ``p``: by symmetry only ``q = min(p, 1 - p)``
is sampled (``X = n - Bin(n, 1 - p)`` when ``p > 1/2``); lanes with ``n q = 0`` are 0. Lanes with
``n q < 30`` use sequential-search inversion, unrolled into one fused pass; the others use
Hörmann's transformed rejection BTRS (valid for ``n q >= 10``), several attempts per lane and
pass, with compacted retries. :mod:`collapse_theory.random.multinomial` builds on
:func:`binomial_lanes`.

Streams. Attempt ``r`` of lane ``(chain c, slot j)`` reads the Threefry-2x32 block at counter
``(c, r * 2**16 + j)`` (float64 also ``(c, r * 2**16 + 2**15 + j)``) under the call's key, and
a lane keeps its first accepted attempt: its value depends only on ``(key, c, j)``, never on the
batch, on the path that served it, or on how many passes other lanes needed.

Precision. Lanes compute in ``dtype``. BTRS evaluates ``log f(k) / f(m)`` in a cancellation-free
form (error a few ulp of ``p``, not ``n * eps``). Inversion sums the pmf in ``dtype``, which moves
the CDF by about ``n q * eps`` (1e-6 at ``n q = 30`` in float32, like rounding ``p`` itself).
Terms below ``_FLUSH`` and the tail past ``_INV_BOUND`` (mass below 1e-40) are dropped. Otherwise
the law is exact up to the uniforms' resolution (``2**-23`` in float32, ``2**-52`` in float64).

XLA (CPU, measured): a cheap elementwise chain is copied into every fusion that reads it, and
optimisation barriers are dropped before fusion, so long chains leave through one reader (a
loop or cond) or :func:`_materialize`; gathers inside a fusion slow it 3-6x; the library's
Threefry is a rolled loop on CPU, hence :func:`collapse_theory.random.bits.threefry2x32`.

References:
    W. Hörmann, "The generation of binomial random variates", J. Stat. Comput. Simul. 46 (1993).
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, sections X.4 and XI.1.
    J. Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011 (Threefry).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random.xla import materialize

__all__ = ["binomial", "binomial_lanes"]

_INV_MEAN = 30.0  # n q below this: inversion, else BTRS (valid for n q >= 10)
_INV_STEPS = 64  # unrolled inversion steps (even); P(X >= 64 | n q < 30) < 5e-8
_INV_BOUND = 128.0  # a search past this restarts; P(X > 128 | n q < 30) < 1e-40
_FLUSH = 1e-30  # pmf terms below this are set to 0 (x86 subnormal arithmetic is ~100x slower)
_ATTEMPTS = 3  # BTRS attempts per lane in the first pass (all fail with probability < 0.03)
_RETRY_ATTEMPTS = 4  # ... and per lane and pass of the retry loop (all fail w.p. < 0.01)
_SMALL_BUFFER = 64  # retry slots when few lanes are left ...
_SMALL_ATTEMPTS = 4  # ... with this many attempts per lane and pass (all fail w.p. < 0.01)
_SLOT_BITS = 16  # attempt number and lane slot share the second counter word

# log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2] for k = 0..9 (Hörmann 1993, table).
_STIRLING_TAIL = [
    math.lgamma(k + 1) - (k + 0.5) * math.log(k + 1) + k + 1 - math.log(2 * math.pi) / 2 for k in range(10)
]


def _stirling_tail(k: jax.Array) -> jax.Array:
    """``log k! - (k + 1/2) log(k + 1) + (k + 1) - log(2 pi) / 2``, integer ``k >= 0``: selects for
    ``k <= 9`` (a table gather cost 6x), the Stirling series above (error below 1e-10).
    """
    x = jnp.maximum(k, 9.0) + 1.0
    x2 = x * x
    out = (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / x2) / x2) / x
    for i, t in enumerate(_STIRLING_TAIL):
        out = jnp.where(k == i, t, out)
    return out


def _uniforms(key, c, j, r, dtype) -> tuple[jax.Array, jax.Array]:
    """Uniforms ``(u, v)`` of attempt ``r`` of lanes ``(c, j)`` (arrays that broadcast together)."""
    lo = (jnp.asarray(r, jnp.uint32) << _SLOT_BITS) | j.astype(jnp.uint32)
    hi = jnp.broadcast_to(c.astype(jnp.uint32), lo.shape)
    w0, w1 = bits.threefry2x32(key, hi, lo)
    if jnp.dtype(dtype) != jnp.float64:
        return bits._to_unit(w0, dtype), bits._to_unit(w1, dtype)
    w2, w3 = bits.threefry2x32(key, hi, lo | jnp.uint32(1 << (_SLOT_BITS - 1)))
    u = bits._to_unit(jnp.stack([w0, w1, w2, w3], -1), dtype)  # float64 pairs words (w0, w1), (w2, w3)
    return u[..., 0], u[..., 1]


def _inversion_steps(n, q, u, steps):
    """Unrolled search: ``#{k < steps: F(k) < u}`` with ``f(k) = f(k - 1) ((n + 1) r / k - r)``.

    Even and odd terms run as two independent chains with separate partial sums: the loop is
    latency-bound, and this shortens its dependency chain (measured 1.4x). Terms below ``_FLUSH``
    (past the mode) are set to 0: x86 arithmetic on subnormals is ~100x slower. The rounded factor
    need not vanish past ``n``; the caller caps the count at ``n``, so those terms never matter.
    """
    r = q / (1.0 - q)
    a = (n + 1.0) * r

    def g(k):
        return a * (1.0 / k) - r

    fe = jnp.exp(n * jnp.log1p(-q))
    fo = jnp.where(fe * g(1) < _FLUSH, 0.0, fe * g(1))
    ce, co = fe, fo  # sums of the even and odd terms so far
    cnt = (u > ce).astype(u.dtype) + (u > ce + co).astype(u.dtype)
    for k in range(2, steps, 2):
        fe = fe * (g(k - 1) * g(k))
        fe = jnp.where(fe < _FLUSH, 0.0, fe)
        ce = ce + fe
        cnt = cnt + (u > ce + co).astype(u.dtype)
        fo = fo * (g(k) * g(k + 1))
        fo = jnp.where(fo < _FLUSH, 0.0, fo)
        co = co + fo
        cnt = cnt + (u > ce + co).astype(u.dtype)
    return cnt


def _inversion(key, c, j, n, q, dtype):
    """Inversion (Devroye 1986, X.4.3) for lanes with ``n q < _INV_MEAN`` (others need ``q = 0``).

    ``u`` is the first uniform of attempt 0. The unrolled pass leaves ``x``, or -1 where ``X >=
    _INV_STEPS``, to its only reader, a ``while_loop`` that runs while a lane is open (probability
    below 1e-7 per lane): open lanes search again from 0, one step per pass. A lane that passes
    ``_INV_BOUND`` (only when round-off leaves ``F`` below ``u``) restarts with the ``u`` of its
    next attempt, which truncates the law at ``_INV_BOUND``.
    """
    T = _INV_STEPS
    cnt = _inversion_steps(n, q, _uniforms(key, c, j, 0, dtype)[0], T)
    x = jnp.where((cnt >= T) & (n >= T), -1.0, jnp.minimum(cnt, n))
    r = q / (1.0 - q)
    bound = jnp.minimum(n, _INV_BOUND)

    def body(s):
        x, k, f, cdf, att = s
        u = _uniforms(key, c, j, att, dtype)[0]
        f = jnp.where(k < 0.0, jnp.exp(n * jnp.log1p(-q)), jnp.maximum(f * (n - k) * r / (k + 1.0), 0.0))
        cdf = jnp.where(k < 0.0, 0.0, cdf) + f
        k = k + 1.0
        x = jnp.where((x < 0.0) & ((u <= cdf) | (k >= n)), k, x)
        restart = (x < 0.0) & (k >= bound)
        return x, jnp.where(restart, -1.0, k), f, cdf, att + restart.astype(jnp.uint32)

    k = jnp.full_like(n, -1.0)
    init = (x, k, k, k, jnp.zeros(n.shape, jnp.uint32))
    return jax.lax.while_loop(lambda s: jnp.any(s[0] < 0.0), body, init)[0]


def _btrs_try(u, v, n, q):
    """One BTRS attempt: ``k`` if accepted, else -1 (Hörmann 1993, steps 1-3.1)."""
    spq = jnp.sqrt(n * q * (1.0 - q))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * q
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    m = jnp.floor((n + 1.0) * q)
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = jnp.floor((2.0 * a / us + b) * u + n * q + 0.5)
    inside = (k >= 0.0) & (k <= n)
    # log f(k)/f(m) with log k! from Stirling, the large logs cancelled analytically (d = k - m):
    # d log(q (n-m+1) / ((1-q)(m+1))) - (k+1/2) log1p(d/(m+1)) - (n-k+1/2) log1p(-d/(n-m+1)) + tails
    d = k - m
    kc = jnp.clip(k, 0.0, n)
    log_ratio = (
        d * jnp.log(q * (n - m + 1.0) / ((1.0 - q) * (m + 1.0)))
        - (k + 0.5) * jnp.log1p(d / (m + 1.0))
        - (n - k + 0.5) * jnp.log1p(-d / (n - m + 1.0))
        + _stirling_tail(m)
        + _stirling_tail(n - m)
        - _stirling_tail(kc)
        - _stirling_tail(n - kc)
    )
    accept = inside & (((us >= 0.07) & (v <= vr)) | (jnp.log(v * alpha / (a / (us * us) + b)) <= log_ratio))
    return jnp.where(accept, k, -1.0)


def _btrs_first(key, c, j, n, q, r, attempts, dtype):
    """First accepted value of BTRS attempts ``r .. r + attempts - 1`` of lanes ``(c, j)``, or -1."""
    out = jnp.full(n.shape, -1.0, n.dtype)
    for t in reversed(range(attempts)):
        k = _btrs_try(*_uniforms(key, c, j, r + t, dtype), n, q)
        out = jnp.where(k >= 0.0, k, out)
    return out


def _materialize(xs, never):
    """``xs`` computed once into memory (:func:`collapse_theory.random.xla.materialize`)."""
    return materialize(xs, never)


def _btrs(key, c, j, n, q, todo, dtype):
    """BTRS on the 1-D lanes ``todo`` (other lanes must carry harmless values, n=1e4, q=1/2).

    If more than ``_SMALL_BUFFER`` lanes need it, every lane makes attempts ``0 .. _ATTEMPTS - 1``
    in one pass (all fail with probability ``rho**3 < 0.03``, rejection rate ``rho <= 0.3``). The
    lanes left (or all, when few) are compacted: at most ``_SMALL_BUFFER`` go to as many slots that
    make ``_SMALL_ATTEMPTS`` attempts per pass until all accept (one or two passes); more form a
    queue served by ``S`` slots, each pass making ``_RETRY_ATTEMPTS`` attempts per slot and
    refilling the slots that accepted. Gathered inputs and attempt results are materialised.
    """
    L = n.shape[0]
    small = min(L, _SMALL_BUFFER)
    S = min(L, L // 10 + _SMALL_BUFFER)
    x, att0 = jax.lax.cond(
        jnp.sum(todo) > small,
        lambda: (jnp.where(todo, _btrs_first(key, c, j, n, q, 0, _ATTEMPTS, dtype), 0.0), jnp.uint32(_ATTEMPTS)),
        lambda: (jnp.where(todo, -1.0, 0.0), jnp.uint32(0)),
    )

    def compact(pending, size):  # indices of the first `size` pending lanes, padded with L
        rank = _prefix_count(pending.astype(jnp.float32)).astype(jnp.int32)
        slot = jnp.where(pending, rank - 1, size)
        return jnp.full((size,), L, jnp.int32).at[slot].set(jnp.arange(L, dtype=jnp.int32), mode="drop"), rank[-1]

    def gather(lane, never):
        sel = jnp.minimum(lane, L - 1)
        return _materialize((c[sel], j[sel], n[sel], q[sel]), never)

    def serve_small(x):
        lane, _ = compact(x < 0.0, small)
        lanes = gather(lane, lane[0] < 0)

        def body(s):
            att, k = s
            return att + _SMALL_ATTEMPTS, jnp.where(k < 0.0, _btrs_first(key, *lanes, att, _SMALL_ATTEMPTS, dtype), k)

        k = jax.lax.while_loop(lambda s: jnp.any(s[1] < 0.0), body, (att0, jnp.where(lane < L, -1.0, 0.0)))[1]
        return x.at[lane].set(k, mode="drop")

    def serve_queue(x):
        queue, qlen = compact(x < 0.0, L)

        def fill(lane, att, ptr, free):
            pos = ptr + _prefix_count(free.astype(jnp.float32)).astype(jnp.int32) - 1
            lane = jnp.where(free, jnp.where(pos < qlen, queue[jnp.minimum(pos, L - 1)], L), lane)
            att = jnp.where(free, att0, att + _RETRY_ATTEMPTS)
            ptr = jnp.minimum(ptr + jnp.sum(free, dtype=jnp.int32), qlen)
            return lane, att, ptr, gather(lane, ptr < 0)

        def body(s):
            x, lane, att, ptr, lanes = s
            k = _materialize(_btrs_first(key, *lanes, att, _RETRY_ATTEMPTS, dtype), ptr < 0)
            live = lane < L
            x = x.at[jnp.where(live & (k >= 0.0), lane, L)].set(k, mode="drop")
            return x, *fill(lane, att, ptr, ~live | (k >= 0.0))

        init = fill(jnp.full((S,), L, jnp.int32), jnp.zeros((S,), jnp.uint32), jnp.int32(0), jnp.ones((S,), bool))
        return jax.lax.while_loop(lambda s: jnp.any(s[1] < L), body, (x, *init))[0]

    qlen = jnp.sum(x < 0.0)
    return jax.lax.switch((qlen > 0).astype(jnp.int32) + (qlen > small), [lambda x: x, serve_small, serve_queue], x)


def _prefix_count(m: jax.Array) -> jax.Array:
    """Inclusive prefix sum of a 0/1 float32 vector (exact below 2**24 entries): blocks of 32 by a
    triangular matmul, block totals recursively (3x faster than ``cumsum``, 7x than ``nonzero``).
    """
    P = m.shape[0]
    if P <= 64:
        return jnp.cumsum(m)
    B = 32
    x = jnp.pad(m, (0, -P % B)).reshape(-1, B)
    inner = jnp.matmul(x, jnp.triu(jnp.ones((B, B), m.dtype)), precision=jax.lax.Precision.HIGHEST)
    tot = inner[:, -1]
    return (inner + (_prefix_count(tot) - tot)[:, None]).reshape(-1)[:P]


def binomial_lanes(key, chains, n, p, dtype):
    """Binomial(n, p) for ``(N, C)`` lanes; lane ``(j, c)`` is slot ``j`` of chain ``chains[c]``."""
    N, C = n.shape
    if N >= 2 ** (_SLOT_BITS - 1):
        raise ValueError(f"at most {2 ** (_SLOT_BITS - 1) - 1} lanes per chain, got {N}")
    n, p = n.reshape(-1), p.reshape(-1)
    c = jnp.tile(chains.astype(jnp.uint32), N)
    j = jnp.repeat(jnp.arange(N, dtype=jnp.uint32), C)
    invalid = jnp.isnan(p) | ~jnp.isfinite(n) | (n < 0.0)
    n = jnp.where(invalid, 0.0, jnp.floor(n))
    p = jnp.where(invalid, 0.0, jnp.clip(p, 0.0, 1.0))
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    mean = n * q
    use_inv = (mean > 0.0) & (mean < _INV_MEAN)
    use_btrs = mean >= _INV_MEAN
    zeros = jnp.zeros_like(n)

    def sample():
        x_inv = jax.lax.cond(
            jnp.any(use_inv),
            lambda: _inversion(key, c, j, jnp.where(use_inv, n, 0.0), jnp.where(use_inv, q, 0.0), dtype),
            lambda: zeros,
        )
        x_btrs = jax.lax.cond(
            jnp.any(use_btrs),
            lambda: _btrs(key, c, j, jnp.where(use_btrs, n, 1e4), jnp.where(use_btrs, q, 0.5), use_btrs, dtype),
            lambda: zeros,
        )
        x = jnp.where(use_inv, x_inv, jnp.where(use_btrs, x_btrs, 0.0))
        return jnp.where(invalid, jnp.nan, jnp.where(flip, n - x, x))

    # The cond also materialises x (fused into the caller's dynamic_update_slice, these selects
    # made XLA loop over the whole count table, 30x slower); lanes with n q = 0 wake no sampler.
    trivial = jnp.where(invalid, jnp.nan, jnp.where(flip, n, 0.0))
    return jax.lax.cond(jnp.any(use_inv | use_btrs), sample, lambda: trivial).reshape(N, C)


def binomial(
    key: bits.KeyPair,
    chains: jax.Array,
    n: jax.typing.ArrayLike,
    p: jax.typing.ArrayLike,
    dtype=jnp.float32,
) -> jax.Array:
    """One Binomial(n, p) variate per chain, exact in law.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        n: ``[C]`` (or scalar) numbers of trials, integer-valued, ``0 <= n <= 2**24`` in float32
            (``2**53`` in float64); non-integers are floored.
        p: ``[C]`` (or scalar) success probabilities, clipped to ``[0, 1]``.
        dtype: float32 or float64; the arithmetic and the result use it.

    Returns:
        ``dtype[C]`` counts (integer-valued floats). NaN ``p`` or negative / non-finite ``n`` give NaN.

    References:
        Hörmann (1993), algorithm BTRS; Devroye (1986), section X.4.3 (inversion).
    """
    n, p = (jnp.broadcast_to(jnp.asarray(z, dtype).reshape(1, -1), (1, chains.shape[0])) for z in (n, p))
    return binomial_lanes(key, chains, n, p, dtype)[0]
