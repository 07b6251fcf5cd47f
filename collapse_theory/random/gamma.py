"""Exact batched gamma and chi-square samplers that return logarithms.

Marsaglia & Tsang, "A simple method for generating gamma variables", ACM TOMS 26(3), 2000:
for shape a >= 1, with d = a - 1/3 and c = 1/sqrt(9d), draw x ~ N(0, 1) and u ~ U(0, 1) and
accept d(1 + cx)^3 when log u < x^2/2 + d - d v + d log v (v = (1 + cx)^3). Shapes a < 1 use
the boost G(a) = G(a + 1) U^(1/a) (same paper, section 6).

The result is returned as ``log G`` (``log d + 3 log1p(cx)``): the engine carries log-variances, so
nothing here can underflow. ``jax.random.gamma`` is avoided: it is 11-17x slower than numpy on
CPU (shared/engineering-notes.md).

Retries. Each chain's value is its first accepted attempt in the sequence r = 0, 1, 2, ..., and
attempt r uses words that depend only on (key, r, chain), so the value does not depend on the
batch. Attempt 0 runs on every lane as one fused pass whose only output is log G, NaN where it
rejects (one output, so XLA:CPU evaluates the lane's hashes once). Rejections are rare (0.8 % at
a = 4.5, 0.09 % at a = 49.5), but with 10^4 lanes some lane rejects in almost every call, so the
retries run on a compacted buffer: the blocks of ``_BLOCK`` lanes holding a rejection (found by a
prefix count over blocks, cheaper than compacting single lanes), and a full-width ``while_loop``
catches the (very rare) overflow. Every lane keeps its first accepted attempt whichever path
serves it (tested against a plain full-width loop: the same values up to float rounding, as
XLA:CPU may contract a multiply-add in one program and not in the other).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.binomial import _prefix_count
from collapse_theory.random.xla import materialize

__all__ = ["log_gamma", "log_chi2", "UNIFORMS_PER_DRAW"]

UNIFORMS_PER_DRAW = 3
"""Uniforms consumed by the first attempt: x, u and the boost uniform (see ``first``)."""


def _accept(ux, uu, d, c, log_d):
    x = bits.to_normal(ux)
    cx = c * x
    ok_v = cx > -1.0
    one_cx = 1.0 + cx
    v = one_cx * one_cx * one_cx
    log_v = 3.0 * jnp.log1p(jnp.where(ok_v, cx, 0.0))
    accept = ok_v & (jnp.log(uu) < 0.5 * x * x + d - d * v + d * log_v)
    return accept, log_d + log_v


def _attempt(key, r, chains, d, c, log_d, dtype):
    u = bits.uniform(bits.fold(key, r, tags.GAMMA_ATTEMPT), chains, 2, dtype)
    return _accept(u[:, 0], u[:, 1], d, c, log_d)


def _retry(key, chains, d, c, log_d, accepted, logg, dtype):
    """Attempts 1, 2, ... until every lane has accepted; an accepted lane keeps its first value."""

    def cond(state):
        return ~jnp.all(state[1])

    def body(state):
        r, acc, lg = state
        ok, val = _attempt(key, r, chains, d, c, log_d, dtype)
        return r + 1, acc | ok, jnp.where(~acc & ok, val, lg)

    return jax.lax.while_loop(cond, body, (jnp.uint32(1), accepted, logg))[2]


_BLOCK = 8
"""Lanes per block of the compacted retries."""


def _bad_blocks(logg):
    """``bool[ceil(L / _BLOCK)]``: the blocks of lanes holding a NaN."""
    L = logg.shape[0]
    nb = -(-L // _BLOCK)
    return jnp.any(jnp.pad(jnp.isnan(logg), (0, nb * _BLOCK - L)).reshape(nb, _BLOCK), axis=1)


def _fill(key, chains, d, c, log_d, logg, bad, dtype):
    """``logg`` with every NaN lane replaced by the lane's first accepted attempt 1, 2, ...

    ``bad`` flags the blocks holding a NaN (:func:`_bad_blocks`). They are gathered into a
    buffer of ``size`` blocks (about 1/16 of the lanes) that retries until all its lanes accept;
    blocks beyond the buffer (more than ~1/16 of the blocks rejected at once) are served by a
    full-width loop.
    """
    L, nb = chains.shape[0], bad.shape[0]
    size = min(nb, max(8, nb // 16))
    rank = _prefix_count(bad.astype(jnp.float32)).astype(jnp.int32)
    slot = jnp.where(bad, rank - 1, size)
    blocks = jnp.full((size,), nb, jnp.int32).at[slot].set(jnp.arange(nb, dtype=jnp.int32), mode="drop")
    lanes = (blocks[:, None] * _BLOCK + jnp.arange(_BLOCK, dtype=jnp.int32)).reshape(-1)
    valid = lanes < L  # unused slots hold block nb, whose lanes are all >= L
    safe = jnp.minimum(lanes, L - 1)
    sub = [v if jnp.ndim(v) == 0 else v[safe] for v in (d, c, log_d)]
    sub_lg = logg[safe]
    done = ~valid | ~jnp.isnan(sub_lg)
    sub_lg = _retry(key, chains[safe], *sub, done, jnp.where(valid, sub_lg, 0.0), dtype)
    logg = logg.at[jnp.where(valid, lanes, L)].set(sub_lg, mode="drop")
    return jax.lax.cond(
        rank[-1] > size, lambda lg: _retry(key, chains, d, c, log_d, ~jnp.isnan(lg), lg, dtype), lambda lg: lg, logg
    )


def log_gamma(
    key: bits.KeyPair,
    chains: jax.Array,
    shape: jax.Array,
    dtype=jnp.float32,
    first: jax.Array | tuple[bits.KeyPair, int] | None = None,
) -> jax.Array:
    """Logarithm of one Gamma(shape, 1) variate per chain, exact in law.

    Args:
        key: ``uint32[2]`` key, already folded with generation and purpose.
        chains: ``uint32[C]`` global chain indices.
        shape: ``float[C]`` (or scalar) shape parameters, ``>= 0``. Shape 0 gives ``-inf``
            (the degenerate Gamma(0) = 0, e.g. chi-square with 0 degrees of freedom).
        dtype: float32 or float64.
        first: the uniforms (x, u, boost) of attempt 0, so that a caller can take them from one
            bit request together with its own draws: ``float[C, 3]``, or a pair ``(k, j)``
            meaning columns ``j, j + 1, j + 2`` of ``bits.uniform(k, chains, j + 3, dtype)``
            (computed where they are read, so no hash output is kept in memory). Default
            ``(key, 0)``.

    Returns:
        ``float[C]`` of log-gamma variates.

    """
    n = chains.shape[0]
    # A scalar shape stays scalar, so d, c and log d are computed once, not once per lane.
    shape = jnp.asarray(shape, dtype)
    first = (key, 0) if first is None else first
    if isinstance(first, tuple):
        fkey, j = first

        def column(i):
            return bits.uniform_columns(fkey, chains, j + UNIFORMS_PER_DRAW, dtype)[j + i]
    else:
        arr = first

        def column(i):
            return arr[:, i]

    if n == 0:
        return jnp.zeros((0,), dtype)
    boost = shape < 1.0
    a = jnp.where(boost, shape + 1.0, shape)
    d = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    log_d = jnp.log(d)
    accept, logg = _accept(column(0), column(1), d, c, log_d)
    # One output per lane, in memory: its readers must not re-evaluate the fused attempt.
    logg = materialize(jnp.where(accept, logg, jnp.nan), chains[0] > chains[0])
    bad = _bad_blocks(logg)
    logg = jax.lax.cond(jnp.any(bad), lambda lg: _fill(key, chains, d, c, log_d, lg, bad, dtype), lambda lg: lg, logg)

    def boosted(lg):
        safe_shape = jnp.where(boost & (shape > 0), shape, 1.0)
        return jnp.where(boost, lg + jnp.log(column(2)) / safe_shape, lg)

    logg = jax.lax.cond(jnp.any(boost), boosted, lambda lg: lg, logg)
    return jnp.where(shape > 0, logg, -jnp.inf)  # broadcasts a scalar shape


def log_chi2(
    key: bits.KeyPair,
    chains: jax.Array,
    dof: jax.Array,
    dtype=jnp.float32,
    first: jax.Array | tuple[bits.KeyPair, int] | None = None,
) -> jax.Array:
    """Logarithm of one chi-square(dof) variate per chain (``dof >= 0``; 0 gives ``-inf``).

    ``first`` is passed to :func:`log_gamma`.
    """
    dof = jnp.asarray(dof, dtype)
    return jnp.log(jnp.asarray(2.0, dtype)) + log_gamma(key, chains, dof / 2.0, dtype, first)
