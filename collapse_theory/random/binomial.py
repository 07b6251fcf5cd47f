"""Exact batched binomial and multinomial samplers on the counter-based stream.

Binomial(n, p) per lane, with per-lane ``n`` and ``p``. By symmetry only ``q = min(p, 1 - p)`` is
sampled (``X = n - Bin(n, 1 - p)`` when ``p > 1/2``). Then:

* ``n q < 10``: sequential-search inversion (Devroye 1986, section X.4.3). The first
  ``_INV_STEPS`` steps are unrolled into one fused elementwise pass over all lanes (no loop), so a
  lane costs the same whatever its result; the rare lanes that need more steps finish in a
  ``while_loop`` that runs only when some lane needs it.
* ``n q >= 10``: Hörmann's transformed rejection with squeeze, BTRS (W. Hörmann, "The generation of
  binomial random variates", J. Stat. Comput. Simul. 46, 101-110, 1993), whose constants are
  valid for ``n q >= 10``. Every lane makes one attempt; the lanes that reject (about one in ten)
  are gathered into a small fixed-size buffer and retry there with fresh words, so the retry
  passes cost a fraction of a full pass.

The multinomial is drawn down a balanced binary tree over the states: a node holding ``m`` draws
sends ``Bin(m, mass_left / mass_node)`` of them left and the rest right. This is the law of the
multinomial (its aggregations are multinomial and its restrictions conditionally independent
multinomials), needs ``K - 1`` binomials as the sequential conditional-binomial scheme does, but
only ``ceil(log2 K)`` sequential rounds, each vectorised over chains and nodes.

Streams. Lane ``(chain c, slot i)`` of a round takes its words from the Threefry counters
``(c, i h + t)`` (``h`` counters per attempt) under a key folded with the round and the attempt
number, the layout of :func:`collapse_theory.random.bits.words`. A lane's value therefore depends
only on ``(key, c)``, never on the batch, and a lane that accepted keeps its value while others
retry.

Precision. Lanes compute in ``dtype``. Inversion accumulates the CDF in ``dtype`` (absolute error
about ``mean x eps``); BTRS evaluates ``log f(k) / f(m)`` in a cancellation-free form whose error
is a few ulp of ``p``. The law is exact up to these roundings and the uniforms' resolution
(``2**-23`` in float32, ``2**-52`` in float64); the inversion is truncated at a bound whose tail
mass is below ``1e-20`` (see ``_INV_BOUND``).

References:
    W. Hörmann, "The generation of binomial random variates", J. Stat. Comput. Simul. 46 (1993).
    L. Devroye, "Non-Uniform Random Variate Generation", Springer 1986, sections X.4 and XI.1.

"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.extend.random import threefry_2x32

from collapse_theory.random import bits

__all__ = ["binomial", "multinomial"]

_INV_MEAN = 30.0  # n q below this: inversion; BTRS needs n q >= 10 (Hörmann 1993)
_INV_STEPS = 64  # unrolled inversion steps; P(X >= 64 | n q < 30) < 5e-8
_INV_BOUND = 128.0  # restart inversion past this: P(X > 128 | n q < 30) < 1e-40
_FLUSH = 1e-30  # inversion terms below this are dropped (see _inversion_steps)
_TAG_ATTEMPT = 0x3C6EF372
_TAG_U = 0x9B05688C
_TAG_V = 0x1F83D9AB
_TAG_INV = 0xA54FF53A
_TAG_TREE = 0x510E527F

# log k! - [(k + 1/2) log(k + 1) - (k + 1) + log(2 pi) / 2] for k = 0..9 (Hörmann 1993, table).
_STIRLING_TAIL = (
    0.0810614667953272,
    0.0413406959554092,
    0.0276779256849983,
    0.02079067210376509,
    0.0166446911898211,
    0.0138761288230707,
    0.0118967099458917,
    0.0104112652619720,
    0.00925546218271273,
    0.00833056343336287,
)


def _stirling_tail(k: jax.Array) -> jax.Array:
    """``log k! - (k + 1/2) log(k + 1) + (k + 1) - log(2 pi) / 2`` for integer-valued ``k >= 0``.

    A chain of selects for ``k <= 9`` (a table gather stops XLA's CPU fusion and cost 6x), the
    Stirling series in ``1 / (k + 1)`` above (error below 1e-10 there).
    """
    x = jnp.maximum(k, 9.0) + 1.0
    x2 = x * x
    out = (1.0 / 12.0 - (1.0 / 360.0 - 1.0 / 1260.0 / x2) / x2) / x
    for i, t in enumerate(_STIRLING_TAIL):
        out = jnp.where(k == i, t, out)
    return out


def _lane_words(key: bits.KeyPair, c: jax.Array, slot: jax.Array, w: int) -> jax.Array:
    """``w`` words for lanes ``(c, slot)``, shape ``(L, w)``: counters ``(c, slot * w/2 + t)``."""
    h = w // 2
    cc = jnp.repeat(c.astype(jnp.uint32), h)
    jj = (slot.astype(jnp.uint32)[:, None] * h + jnp.arange(h, dtype=jnp.uint32)).reshape(-1)
    out = threefry_2x32(key, jnp.concatenate([cc, jj]))
    size = cc.shape[0]
    return jnp.stack([out[:size], out[size:]], axis=-1).reshape(c.shape[0], w)


def _uv(wd: jax.Array, dtype) -> tuple[jax.Array, jax.Array]:
    """Two uniforms per lane from ``w`` words on the last axis."""
    half = wd.shape[-1] // 2
    u = bits._to_unit(wd[..., :half], dtype)[..., 0]
    v = bits._to_unit(wd[..., half:], dtype)[..., 0]
    return u, v


def _inversion_steps(n, q, u, steps):
    """Unrolled search: ``(#{k < steps: F(k) < u}, f(steps - 1), F(steps - 1))``, one fused pass.

    ``f(k) = f(k - 1) (n - k + 1) r / k`` with the factor exactly 0 at ``k = n + 1``. Terms below
    ``_FLUSH`` (past the mode, where ``f`` only decreases; ``f(0) > 1e-19`` here) are set to 0: x86
    arithmetic on subnormals is ~100x slower, and the mass dropped is below ``steps * _FLUSH``.
    """
    r = q / (1.0 - q)
    f = jnp.exp(n * jnp.log1p(-q))
    cdf = f
    cnt = (u > cdf).astype(u.dtype)
    for k in range(1, steps):
        f = f * ((n + (1.0 - k)) * r) * (1.0 / k)
        f = jnp.where(f < _FLUSH, 0.0, f)
        cdf = cdf + f
        cnt = cnt + (u > cdf).astype(u.dtype)
    return cnt, f, cdf


def _inversion(key, chains, n, q, u, dtype):
    """Sequential-search inversion for lanes with ``n q < _INV_MEAN`` (others must have q = 0).

    Only the count leaves the unrolled pass (XLA would otherwise duplicate the chain into every
    consumer); the rare lanes with ``X >= _INV_STEPS`` recompute their state and continue in a
    ``while_loop``, restarting with a fresh uniform past ``_INV_BOUND`` (float round-off can leave
    ``F`` just below ``u``).
    """
    cnt = _inversion_steps(n, q, u, _INV_STEPS)[0]
    x = jnp.minimum(cnt, n)
    active = (cnt >= _INV_STEPS) & (n >= _INV_STEPS)
    C, N = n.shape

    def tail(x):
        r = q / (1.0 - q)
        f0 = jnp.exp(n * jnp.log1p(-q))
        _, f, cdf = _inversion_steps(n, q, u, _INV_STEPS)
        bound = jnp.minimum(n, _INV_BOUND)

        def cond(s):
            return jnp.any(s[5])

        def body(s):
            t, k, f, cdf, u, active, restart, x = s
            k1 = jnp.where(restart, 0.0, k + 1.0)
            f1 = jnp.where(restart, f0, f * (n + 1.0 - k1) * r / jnp.maximum(k1, 1.0))
            cdf1 = jnp.where(restart, 0.0, cdf) + f1
            finish = active & ((u <= cdf1) | (k1 >= n))
            x = jnp.where(finish, k1, x)
            active = active & ~finish
            restart = active & (k1 >= bound)

            def fresh(u):
                v = bits.uniform(bits.fold(key, t, _TAG_INV), chains, N, dtype)
                return jnp.where(restart, v, u)

            u = jax.lax.cond(jnp.any(restart), fresh, lambda u: u, u)
            return t + 1, k1, f1, cdf1, u, active, restart, x

        k = jnp.full_like(n, _INV_STEPS - 1.0)
        init = (jnp.uint32(0), k, f, cdf, u, active, jnp.zeros_like(active), x)
        return jax.lax.while_loop(cond, body, init)[-1]

    return jax.lax.cond(jnp.any(active), tail, lambda x: x, x)


def _btrs_setup(n, q):
    spq = jnp.sqrt(n * q * (1.0 - q))
    b = 1.15 + 2.53 * spq
    a = -0.0873 + 0.0248 * b + 0.01 * q
    c = n * q + 0.5
    vr = 0.92 - 4.2 / b
    alpha = (2.83 + 5.1 / b) * spq
    m = jnp.floor((n + 1.0) * q)
    # log f(k)/f(m) = d*lr - (k+1/2) log1p(d/(m+1)) - (n-k+1/2) log1p(-d/(n-m+1)) + tails,
    # d = k - m: Stirling's form with the large logs cancelled analytically (no float32 cancellation).
    lr = jnp.log(q * (n - m + 1.0) / ((1.0 - q) * (m + 1.0)))
    tm = _stirling_tail(m) + _stirling_tail(n - m)
    return n, a, b, c, vr, alpha, m, lr, tm


def _btrs_attempt(u, v, consts):
    n, a, b, c, vr, alpha, m, lr, tm = consts
    u = u - 0.5
    us = 0.5 - jnp.abs(u)
    k = jnp.floor((2.0 * a / us + b) * u + c)
    inside = (k >= 0.0) & (k <= n)
    fast = (us >= 0.07) & (v <= vr)
    d = k - m
    kc = jnp.clip(k, 0.0, n)
    log_ratio = (
        d * lr
        - (k + 0.5) * jnp.log1p(d / (m + 1.0))
        - (n - k + 0.5) * jnp.log1p(-d / (n - m + 1.0))
        + tm
        - _stirling_tail(kc)
        - _stirling_tail(n - kc)
    )
    log_v = jnp.log(v * alpha / (a / (us * us) + b))
    return inside & (fast | (log_v <= log_ratio)), k


def _buffer_size(lanes: int) -> int:
    """Retry buffer for ``lanes`` first attempts: rejections plus a 5-sigma margin (BTRS rejects
    at most ~30 % of attempts for n q >= 10); more stragglers only cost another pass.
    """
    rho = 0.3
    return min(lanes, math.ceil(rho * lanes + 5.0 * math.sqrt(rho * (1 - rho) * lanes) + 8))


def _btrs(key, chains, n, q, u, v, todo, dtype):
    """BTRS on the lanes ``todo`` (others must carry harmless values such as n=1e4, q=1/2).

    Attempt 0 runs on every lane. Rejected lanes are gathered into a buffer (about 30 % of the
    lanes) for attempt 1; lanes rejected again are gathered into a second buffer and retry there
    until all accept. Attempt ``r >= 1`` of lane ``(c, i)`` uses words of
    ``fold(key, r, _TAG_ATTEMPT)`` at counter ``(c, i h + t)``.
    """
    C, N = n.shape
    L = C * N
    w = 2 * bits.words_per_uniform(dtype)
    consts = _btrs_setup(n, q)
    accept, x = _btrs_attempt(u, v, consts)
    flat = [z.reshape(-1) for z in consts]
    x, done = x.reshape(-1), (accept | ~todo).reshape(-1)
    lane_c = jnp.repeat(chains.astype(jnp.uint32), N)
    lane_j = jnp.tile(jnp.arange(N, dtype=jnp.uint32), C)

    def attempt(r, c, j, cs):
        wd = _lane_words(bits.fold(key, r, _TAG_ATTEMPT), c, j, w)
        us, vs = _uv(wd, dtype)
        return _btrs_attempt(us, vs, cs)

    def compact(done, size, fill):
        idx = jnp.nonzero(~done, size=size, fill_value=fill)[0]
        return idx, jnp.minimum(idx, fill - 1), idx < fill

    def stage2(c, j, cs, x, done):
        S = x.shape[0]
        size = _buffer_size(S)

        def body(s):
            x, done = s
            idx, sel, valid = compact(done, size, S)
            c2, j2, cs2 = c[sel], j[sel], [z[sel] for z in cs]

            def cond(t):
                return ~jnp.all(t[1])

            def inner(t):
                r, ok, xs = t
                acc, k = attempt(r, c2, j2, cs2)
                return r + 1, ok | acc, jnp.where(ok, xs, k)

            xs = jax.lax.while_loop(cond, inner, (jnp.uint32(2), ~valid, jnp.zeros_like(cs2[0])))[2]
            return x.at[idx].set(xs, mode="drop"), done.at[idx].set(True, mode="drop")

        return jax.lax.while_loop(lambda s: ~jnp.all(s[1]), body, (x, done))[0]

    def stage1(s):
        x, done = s
        idx, sel, valid = compact(done, _buffer_size(L), L)
        c1, j1, cs1 = lane_c[sel], lane_j[sel], [z[sel] for z in flat]
        acc, x1 = attempt(1, c1, j1, cs1)
        x1 = jax.lax.cond(jnp.all(acc | ~valid), lambda *a: a[3], stage2, c1, j1, cs1, x1, acc | ~valid)
        return x.at[idx].set(x1, mode="drop"), done.at[idx].set(True, mode="drop")

    x, _ = jax.lax.while_loop(lambda s: ~jnp.all(s[1]), stage1, (x, done))
    return x.reshape(C, N)


def _binomial_lanes(key, chains, n, p, dtype):
    """Binomial(n, p) for ``(C, N)`` lanes; lane ``(c, i)`` uses stream slot ``i`` of chain ``c``."""
    C, N = n.shape
    invalid = jnp.isnan(p) | ~jnp.isfinite(n) | (n < 0)
    n = jnp.where(invalid, 0.0, jnp.floor(n))
    p = jnp.where(invalid, 0.0, jnp.clip(p, 0.0, 1.0))
    flip = p > 0.5
    q = jnp.where(flip, 1.0 - p, p)
    use_inv = n * q < _INV_MEAN
    u = bits.uniform(bits.fold(key, 0, _TAG_U), chains, N, dtype)
    zeros = jnp.zeros_like(n)

    def inv(_):
        return _inversion(key, chains, jnp.where(use_inv, n, 0.0), jnp.where(use_inv, q, 0.0), u, dtype)

    def btrs(_):
        v = bits.uniform(bits.fold(key, 0, _TAG_V), chains, N, dtype)
        nb = jnp.where(use_inv, 1e4, n)
        qb = jnp.where(use_inv, 0.5, q)
        return _btrs(key, chains, nb, qb, u, v, ~use_inv, dtype)

    x_inv = jax.lax.cond(jnp.any(use_inv), inv, lambda _: zeros, None)
    x_btrs = jax.lax.cond(jnp.all(use_inv), lambda _: zeros, btrs, None)
    x = jnp.where(use_inv, x_inv, x_btrs)
    x = jnp.where(flip, n - x, x)
    return jnp.where(invalid, jnp.nan, x)


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
            (``2**53`` in float64). Non-integers are floored.
        p: ``[C]`` (or scalar) success probabilities, clipped to ``[0, 1]``.
        dtype: float32 or float64; the arithmetic and the result use it.

    Returns:
        ``dtype[C]`` counts (integer-valued floats). NaN ``p`` or negative / non-finite ``n`` give NaN.

    """
    shape = (chains.shape[0], 1)
    n = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1, 1), shape)
    p = jnp.broadcast_to(jnp.asarray(p, dtype).reshape(-1, 1), shape)
    return _binomial_lanes(key, chains, n, p, dtype)[:, 0]


def multinomial(
    key: bits.KeyPair,
    chains: jax.Array,
    n: jax.typing.ArrayLike,
    probs: jax.Array,
    dtype=jnp.float32,
) -> jax.Array:
    """One Multinomial(n, probs) count vector per chain, exact in law.

    The states are split down a balanced binary tree (pad ``K`` to ``2**D``, ``D = ceil(log2 K)``);
    a node with ``m`` draws and children of masses ``a, b`` sends ``Bin(m, a / (a + b))`` left and the
    rest right. Node masses are pairwise sums of ``probs``, so small states keep full relative
    precision. Counts always sum to ``n`` exactly.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        n: ``[C]`` (or scalar) numbers of draws, integer-valued and ``>= 0``.
        probs: ``[C, K]`` non-negative weights; each row is normalised by its sum (rows that sum to
            1 up to rounding are used as they are). Negative entries are clipped to 0.
        dtype: float32 or float64.

    Returns:
        ``dtype[C, K]`` counts (integer-valued floats).

    References:
        Devroye (1986), section XI.1.4 (multinomial by conditional binomials).

    """
    C, K = probs.shape
    D = max(1, math.ceil(math.log2(K)))
    probs = jnp.maximum(jnp.asarray(probs, dtype), 0.0)
    masses = [jnp.pad(probs, ((0, 0), (0, 2**D - K)))]
    for _ in range(D):
        masses.append(masses[-1][:, 0::2] + masses[-1][:, 1::2])
    masses = masses[::-1]  # masses[d]: [C, 2**d]
    counts = jnp.broadcast_to(jnp.asarray(n, dtype).reshape(-1, 1), (C, 1))
    for d in range(D):
        need = -(-K // 2 ** (D - d))  # nodes at depth d that hold a real state
        left = masses[d + 1][:, 0 : 2 * need : 2]
        total = left + masses[d + 1][:, 1 : 2 * need : 2]
        p = jnp.where(total > 0.0, left / jnp.where(total > 0.0, total, 1.0), 0.0)
        m = counts[:, :need]
        x = _binomial_lanes(bits.fold(key, d, _TAG_TREE), chains, m, p, dtype)
        counts = jnp.stack([x, m - x], axis=-1).reshape(C, 2 * need)
    return counts[:, :K]
