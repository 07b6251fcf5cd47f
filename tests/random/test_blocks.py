"""Exact integer slots and whole Threefry blocks (collapse_theory.random.blocks)."""

import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits
from collapse_theory.random.blocks import blocks, mul_hi


def test_mul_hi_is_the_exact_high_word():
    """The float32 slot floor(w k / 2^32) against numpy's 64-bit product, edge words included."""
    rng = np.random.default_rng(0)
    edges = np.array([0, 1, 2**16 - 1, 2**16, 2**31, 2**32 - 1], dtype=np.uint64)
    a = np.concatenate([rng.integers(0, 2**32, 20_000, dtype=np.uint64), np.repeat(edges, len(edges))])
    b = np.concatenate([rng.integers(0, 2**32, 20_000, dtype=np.uint64), np.tile(edges, len(edges))])
    got = np.asarray(mul_hi(jnp.asarray(a, jnp.uint32), jnp.asarray(b, jnp.uint32)))
    np.testing.assert_array_equal(got.astype(np.uint64), (a * b) >> np.uint64(32))


def test_blocks_are_the_words_of_one_block_and_chain_local():
    """Word pair (c, j) is Threefry(key, (c, j)): bits.words' pair j, whatever the other chains."""
    key, ch = bits.key_from_seed(3), jnp.arange(5, 9, dtype=jnp.uint32)
    w0, w1 = blocks(key, ch, 6)
    w = np.asarray(bits.words(key, ch, 12))
    np.testing.assert_array_equal(np.asarray(w0), w[:, 0::2])
    np.testing.assert_array_equal(np.asarray(w1), w[:, 1::2])
    v0, _ = blocks(key, ch[2:], 6)
    np.testing.assert_array_equal(np.asarray(v0), np.asarray(w0)[2:])
