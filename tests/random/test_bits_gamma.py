"""Counter-based bits and the exact log-gamma sampler against scipy.

Budget: every test fails a correct sampler with probability <= ALPHA (1e-4): KS p-values are
compared with ALPHA / k for the k tests in one function (Bonferroni).
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from scipy import stats

from collapse_theory.random import bits, gamma
from collapse_theory.testing import assert_ks

N = 40_000


def chains(n, start=0):
    return jnp.arange(start, start + n, dtype=jnp.uint32)


def test_words_depend_only_on_chain_index():
    key = bits.key_from_seed(7)
    full = np.asarray(bits.words(key, chains(1000), 5))
    part = np.asarray(bits.words(key, chains(100, 500), 5))
    np.testing.assert_array_equal(full[500:600], part)
    # a longer request extends a shorter one
    np.testing.assert_array_equal(np.asarray(bits.words(key, chains(10), 3)), full[:10, :3])


def test_threefry_matches_the_library():
    """The unrolled Threefry is bit-identical to jax.extend.random.threefry_2x32, so every stream
    is the documented Threefry-2x32-20 stream."""
    from jax.extend.random import threefry_2x32

    key = bits.key_from_seed(2**40 + 17)
    x0 = jnp.arange(1000, dtype=jnp.uint32) * jnp.uint32(2654435761)
    x1 = jnp.arange(1000, dtype=jnp.uint32) ^ jnp.uint32(0xDEADBEEF)
    ref = threefry_2x32(key, jnp.concatenate([x0, x1]))
    a, b = bits.threefry2x32(key, x0, x1)
    np.testing.assert_array_equal(np.concatenate([a, b]), np.asarray(ref))
    np.testing.assert_array_equal(
        np.asarray(bits.fold(key, 5, 9)), np.asarray(threefry_2x32(key, jnp.array([5, 9], jnp.uint32)))
    )


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 4, 7])
def test_lane_major_streams_are_the_transposed_streams(dtype, n):
    with jax.enable_x64(dtype == "float64"):
        key, ch = bits.key_from_seed(11), chains(70, 3)
        np.testing.assert_array_equal(np.asarray(bits.words_lanes(key, ch, n)), np.asarray(bits.words(key, ch, n)).T)
        z = np.asarray(bits.normal_lanes(key, ch, n, jnp.dtype(dtype)))
        assert z.dtype == np.dtype(dtype)
        np.testing.assert_array_equal(z, np.asarray(bits.normal(key, ch, n, jnp.dtype(dtype))).T)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("n", [1, 3, 4])
def test_uniform_columns_are_the_uniform_columns(dtype, n):
    with jax.enable_x64(dtype == "float64"):
        key, ch = bits.key_from_seed(13), chains(70, 5)
        cols = bits.uniform_columns(key, ch, n, jnp.dtype(dtype))
        full = np.asarray(bits.uniform(key, ch, n, jnp.dtype(dtype)))
    assert len(cols) == n
    for j, col in enumerate(cols):
        np.testing.assert_array_equal(np.asarray(col), full[:, j])


def test_seed_validation():
    for bad in (-1, 2**63, 1.5, True):
        with pytest.raises(ValueError):
            bits.key_from_seed(bad)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_uniform_and_normal_laws(dtype):
    with jax.enable_x64(dtype == "float64"):
        key = bits.key_from_seed(1)
        u = np.asarray(bits.uniform(key, chains(N), 2, jnp.dtype(dtype)))
        assert u.dtype == np.dtype(dtype)
        assert np.all((u > 0) & (u < 1))
        z = np.asarray(bits.normal(bits.fold(key, 1), chains(N), 1, jnp.dtype(dtype)))
    assert_ks(u[:, 0], stats.uniform.cdf, ALPHA, k=3)
    assert_ks(u[:, 1], stats.uniform.cdf, ALPHA, k=3)
    assert_ks(z, stats.norm.cdf, ALPHA, k=3)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dof", [0.4, 1.0, 3.0, 9.0, 99.0, 2000.0])
def test_log_chi2_law(dof, dtype):
    with jax.enable_x64(dtype == "float64"):
        lc = gamma.log_chi2(bits.key_from_seed(3), chains(N), jnp.full((N,), dof), jnp.dtype(dtype))
        lc = np.asarray(lc, dtype=np.float64)
    assert np.all(np.isfinite(lc))
    # KS on log X against the law of log chi2: P(log X <= y) = F_chi2(exp(y)).
    assert_ks(lc, lambda y: stats.chi2(dof).cdf(np.exp(y)), ALPHA)


def test_log_chi2_per_lane_dof_and_zero():
    dof = jnp.tile(jnp.array([0.0, 1.0, 4.0, 50.0]), N // 4)
    lc = np.asarray(gamma.log_chi2(bits.key_from_seed(5), chains(N), dof), dtype=np.float64)
    assert np.all(np.isneginf(lc[0::4]))
    for j, d in ((1, 1.0), (2, 4.0), (3, 50.0)):
        assert_ks(lc[j::4], lambda y, d=d: stats.chi2(d).cdf(np.exp(y)), ALPHA, k=3)


def test_log_chi2_batch_independent():
    key = bits.key_from_seed(9)
    full = np.asarray(gamma.log_chi2(key, chains(3000), jnp.full((3000,), 2.5)))
    part = np.asarray(gamma.log_chi2(key, chains(7, 1234), jnp.full((7,), 2.5)))
    np.testing.assert_array_equal(full[1234:1241], part)


def test_negative_control_wrong_dof_rejected():
    lc = np.asarray(gamma.log_chi2(bits.key_from_seed(3), chains(N), jnp.full((N,), 9.0)), dtype=np.float64)
    with pytest.raises(AssertionError):
        assert_ks(lc, lambda y: stats.chi2(9.5).cdf(np.exp(y)), ALPHA)
