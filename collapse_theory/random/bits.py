"""Counter-based random bits: one stream per (seed, purpose, generation, chain).

Every random number the engine draws is a pure function of the run's seed, a purpose tag,
the generation and the *global* chain index, so results do not depend on batch size,
chunking or device count, and a longer run extends a shorter one exactly.

The generator is Threefry-2x32 with 20 rounds (Salmon et al., "Parallel random numbers: as easy
as 1, 2, 3", SC 2011), bit-identical to :func:`jax.extend.random.threefry_2x32`. A *key* here is a
``uint32[2]`` array (the raw data of a JAX threefry key). Words for chain ``c`` are the Threefry
outputs for the counters ``(c, 0), (c, 1), ...`` under that key, two words per counter.

Why not ``jax.random`` with per-chain keys: deriving a key per chain and generation costs one
extra hash per chain-generation, and ``jax.random.normal`` converts bits more slowly than the
hand-rolled paths below (measured in ``benchmarks/``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "KeyPair",
    "key_from_seed",
    "threefry2x32",
    "fold",
    "words",
    "uniform",
    "uniform_columns",
    "normal",
    "to_normal",
    "words_lanes",
    "normal_lanes",
]

KeyPair = jax.Array  # uint32[2]


def key_from_seed(seed: int) -> KeyPair:
    """The raw ``uint32[2]`` key of ``jax.random.key(seed)`` (threefry implementation).

    Args:
        seed: a non-negative integer below 2**63.

    Returns:
        ``uint32[2]`` key data.

    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0 or seed >= 2**63:
        raise ValueError(f"seed must be an integer in [0, 2**63), got {seed!r}")
    hi, lo = divmod(seed, 2**32)
    return jnp.array([hi, lo], dtype=jnp.uint32)


def threefry2x32(key: KeyPair, x0: jax.Array, x1: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Threefry-2x32 (20 rounds) of counters ``(x0, x1)`` under ``key``, unrolled.

    Bit-identical to :func:`jax.extend.random.threefry_2x32` (tested), whose CPU lowering is a
    rolled loop; the straight-line version lets XLA fuse the hash with its consumers.
    """
    ks = (key[0], key[1], key[0] ^ key[1] ^ jnp.uint32(0x1BD11BDA))
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for d in ((13, 15, 26, 6), (17, 29, 16, 24))[i % 2]:
            x0 = x0 + x1
            x1 = ((x1 << jnp.uint32(d)) | (x1 >> jnp.uint32(32 - d))) ^ x0
        x0, x1 = x0 + ks[(i + 1) % 3], x1 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x0, x1


def fold(key: KeyPair, a: jax.typing.ArrayLike, b: jax.typing.ArrayLike = 0) -> KeyPair:
    """Derive a new key from ``key`` and two 32-bit integers (e.g. generation and purpose).

    One scalar Threefry hash; cheap enough to call once per generation and purpose.
    """
    return jnp.stack(threefry2x32(key, jnp.asarray(a, jnp.uint32), jnp.asarray(b, jnp.uint32)))


def words(key: KeyPair, chains: jax.Array, n: int) -> jax.Array:
    """``n`` random 32-bit words per chain.

    Args:
        key: ``uint32[2]`` key (already folded with generation and purpose).
        chains: ``uint32[C]`` global chain indices.
        n: number of words per chain (static).

    Returns:
        ``uint32[C, n]``; word ``j`` of chain ``c`` depends only on ``(key, c, j)``.

    """
    half = (n + 1) // 2
    c = jnp.broadcast_to(chains.astype(jnp.uint32)[:, None], (chains.shape[0], half))
    j = jnp.broadcast_to(jnp.arange(half, dtype=jnp.uint32)[None, :], c.shape)
    y0, y1 = threefry2x32(key, c, j)
    return jnp.stack([y0, y1], axis=-1).reshape(chains.shape[0], 2 * half)[:, :n]


def _to_unit(w: jax.Array, dtype) -> jax.Array:
    """Map words to uniforms on the open interval (0, 1), at the dtype's full resolution.

    float32 uses 23 bits of one word (grid spacing 2**-23, offset 2**-24); float64 uses 52 bits of
    two words (the last axis of ``w`` must then have even length).
    """
    if jnp.dtype(dtype) == jnp.float64:
        return _unit64(w[..., 0::2], w[..., 1::2])
    return ((w >> 9).astype(jnp.float32) + 0.5) * jnp.float32(2.0**-23)


def _unit64(hi: jax.Array, lo: jax.Array) -> jax.Array:
    """A float64 uniform from 26 bits of each of two words."""
    return ((hi >> 6).astype(jnp.float64) * 2.0**26 + (lo >> 6).astype(jnp.float64) + 0.5) * 2.0**-52


def words_per_uniform(dtype) -> int:
    """Number of 32-bit words consumed per uniform of ``dtype``."""
    return 2 if jnp.dtype(dtype) == jnp.float64 else 1


def uniform(key: KeyPair, chains: jax.Array, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` uniforms on (0, 1) per chain, shape ``(C, n)``."""
    return _to_unit(words(key, chains, n * words_per_uniform(dtype)), dtype)


def uniform_columns(key: KeyPair, chains: jax.Array, n: int, dtype=jnp.float32) -> tuple[jax.Array, ...]:
    """:func:`uniform` as ``n`` separate ``(C,)`` columns, bit-identical to ``uniform(...)[:, j]``.

    The columns come straight from the Threefry outputs (no stack and slice), so XLA can fuse
    each with its consumer and evaluate each hash once per fusion that reads it.
    """
    c = chains.astype(jnp.uint32)
    per = words_per_uniform(dtype)
    w: list[jax.Array] = []
    for j in range((n * per + 1) // 2):
        w += threefry2x32(key, c, jnp.full(c.shape, j, jnp.uint32))
    if per == 2:
        return tuple(_unit64(w[2 * i], w[2 * i + 1]) for i in range(n))
    return tuple(_to_unit(w[i], dtype) for i in range(n))


def to_normal(u: jax.Array) -> jax.Array:
    """Standard normals from uniforms on (0, 1) by inversion: sqrt(2) erfinv(2u - 1).

    On the uniform grid of :func:`uniform`, ``2u - 1`` is exact, so the law is exact up to the
    uniform's resolution (|z| <= 5.3 in float32, <= 8.3 in float64). ``lax.erf_inv`` is a single
    polynomial, cheaper than ``jax.scipy.special.ndtri``'s branches.
    """
    return jnp.sqrt(jnp.asarray(2.0, u.dtype)) * jax.lax.erf_inv(2.0 * u - 1.0)


def normal(key: KeyPair, chains: jax.Array, n: int, dtype=jnp.float32) -> jax.Array:
    """``n`` standard normals per chain, shape ``(C, n)``, by inversion (:func:`to_normal`)."""
    return to_normal(uniform(key, chains, n, dtype))


def words_lanes(key: KeyPair, chains: jax.Array, n: int) -> jax.Array:
    """:func:`words` transposed, generated chain-minor: ``uint32[n, C]``, bit-identical to its ``.T``.

    Same counters ``(c, j)``, laid out with the chain as the last (vector) axis, so that kernels
    written lane-wise (one elementwise op per entry, the batch of chains as the SIMD axis) read
    them without a transpose.
    """
    half = (n + 1) // 2
    c = jnp.broadcast_to(chains.astype(jnp.uint32)[None, :], (half, chains.shape[0]))
    j = jnp.broadcast_to(jnp.arange(half, dtype=jnp.uint32)[:, None], c.shape)
    y0, y1 = threefry2x32(key, c, j)
    return jnp.stack([y0, y1], axis=1).reshape(2 * half, chains.shape[0])[:n]


def normal_lanes(key: KeyPair, chains: jax.Array, n: int, dtype=jnp.float32) -> jax.Array:
    """:func:`normal` transposed: ``(n, C)``, bit-identical to ``normal(key, chains, n, dtype).T``."""
    if jnp.dtype(dtype) == jnp.float64:
        c = jnp.broadcast_to(chains.astype(jnp.uint32)[None, :], (n, chains.shape[0]))
        y0, y1 = threefry2x32(key, c, jnp.broadcast_to(jnp.arange(n, dtype=jnp.uint32)[:, None], c.shape))
        return to_normal(_unit64(y0, y1))  # words 2j and 2j + 1
    return to_normal(_to_unit(words_lanes(key, chains, n), dtype))
