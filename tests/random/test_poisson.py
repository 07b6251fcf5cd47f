"""Goodness-of-fit and stream tests for :mod:`collapse_theory.random.poisson`.

Budget. Each test fails a correct sampler with probability at most ``ALPHA`` (Bonferroni over its
``k`` assertions). Chi-square cells are pooled until every expected count is at least 5
(Cochran's rule). One draw per dtype covers every regime: the lanes are blocks of ``C`` chains
with one ``lam`` each, so the sampler compiles once per dtype.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from budget import ALPHA

from collapse_theory.random import bits
from collapse_theory.random.poisson import poisson, poisson_slots
from collapse_theory.testing.assertions import z_threshold

C = 20_000
GOF_LAMS = [0.3, 4.0, 9.9, 10.1, 50.0, 1e4]  # both sides of the inversion / PTRS switch at 10
MOMENT_LAMS = [1e6, 1e7]
LAMS = GOF_LAMS + MOMENT_LAMS + [0.0]
DTYPES = [jnp.float32, jnp.float64]

_poisson = jax.jit(poisson, static_argnames="dtype")


@functools.cache
def draws(dtype_name: str, seed: int = 1) -> np.ndarray:
    """``[len(LAMS), C]`` draws, block ``i`` at ``LAMS[i]``."""
    dtype = jnp.dtype(dtype_name)
    lam = np.repeat(np.array(LAMS), C)
    with jax.enable_x64(dtype == jnp.float64):
        x = _poisson(bits.key_from_seed(seed), jnp.arange(lam.size, dtype=jnp.uint32), jnp.asarray(lam, dtype), dtype)
        assert x.dtype == dtype
        x = np.asarray(x)
    assert np.all(x == np.round(x)), "counts must be integer-valued"
    return x.reshape(len(LAMS), C)


def chisq_pvalue(x: np.ndarray, lam: float) -> float:
    """Pearson chi-square p-value of ``x`` against Poisson(lam), tails folded into end cells,
    adjacent cells pooled left to right until each expected count is at least 5."""
    lo, hi = int(st.poisson.ppf(1e-12, lam)), int(st.poisson.isf(1e-12, lam)) + 1
    ks = np.arange(lo, hi + 1)
    probs = st.poisson.pmf(ks, lam)
    probs[0] += st.poisson.cdf(lo - 1, lam)
    probs[-1] += st.poisson.sf(hi, lam)
    counts = np.bincount(np.clip(x.astype(np.int64), lo, hi) - lo, minlength=len(ks))
    go, ge, o, e = [], [], 0.0, 0.0
    for oc, ec in zip(counts, probs / probs.sum() * x.size, strict=True):
        o, e = o + oc, e + ec
        if e >= 5.0:
            go, ge, o, e = go + [o], ge + [e], 0.0, 0.0
    go[-1], ge[-1] = go[-1] + o, ge[-1] + e
    stat = np.sum((np.array(go) - np.array(ge)) ** 2 / np.array(ge))
    return float(st.chi2.sf(stat, len(ge) - 1))


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_chisquare_against_scipy_pmf(dtype):
    x = draws(jnp.dtype(dtype).name)
    pvalues = {lam: chisq_pvalue(x[LAMS.index(lam)], lam) for lam in GOF_LAMS}
    assert min(pvalues.values()) > ALPHA / len(GOF_LAMS), pvalues


@pytest.mark.parametrize("dtype", DTYPES, ids=["f32", "f64"])
def test_large_mean_moments(dtype):
    """Mean and variance z-tests at lam = 1e6 and 1e7 (4 assertions): SE(mean) = sqrt(lam / C),
    SE(s^2) = sqrt((mu4 - lam^2) / C) with mu4 = lam + 3 lam^2 the Poisson fourth central moment."""
    x = draws(jnp.dtype(dtype).name).astype(np.float64)
    zt = z_threshold(ALPHA, 2 * len(MOMENT_LAMS))
    for lam in MOMENT_LAMS:
        xs = x[LAMS.index(lam)]
        z_mean = (xs.mean() - lam) / np.sqrt(lam / C)
        z_var = (xs.var(ddof=1) - lam) / np.sqrt((lam + 2 * lam**2) / C)
        assert abs(z_mean) < zt and abs(z_var) < zt, (lam, z_mean, z_var)


def test_zero_mean_gives_zero_and_invalid_gives_nan():
    x = draws("float32")
    np.testing.assert_array_equal(x[LAMS.index(0.0)], 0.0)
    lam = jnp.array([-1.0, jnp.nan, jnp.inf, 0.0, 3.0], jnp.float32)
    y = np.asarray(_poisson(bits.key_from_seed(0), jnp.arange(5, dtype=jnp.uint32), lam, jnp.float32))
    assert np.all(np.isnan(y[:3])) and y[3] == 0.0 and np.isfinite(y[4])


def test_negative_control_rejects_wrong_mean():
    """The chi-square test has power: draws at lam = 50 and 1e4 fail against a 1 % larger mean."""
    x = draws("float32")
    assert chisq_pvalue(x[LAMS.index(50.0)], 50.0 * 1.01) < ALPHA
    assert chisq_pvalue(x[LAMS.index(1e4)], 1e4 * 1.01) < ALPHA


def test_streams_do_not_depend_on_the_batch():
    """A chain's draw depends only on (key, chain): a sub-batch reproduces the full batch."""
    lam = np.repeat(np.array(LAMS), C)
    chains = np.arange(lam.size, dtype=np.uint32)
    pick = np.arange(5, lam.size, 997)
    sub = _poisson(bits.key_from_seed(1), jnp.asarray(chains[pick]), jnp.asarray(lam[pick], jnp.float32), jnp.float32)
    np.testing.assert_array_equal(np.asarray(sub), draws("float32").reshape(-1)[pick])


def test_slots_match_per_slot_keys():
    key = bits.key_from_seed(3)
    chains = jnp.arange(7, 50, dtype=jnp.uint32)
    lam = jnp.asarray(np.linspace(0.0, 40.0, chains.shape[0] * 3).reshape(-1, 3), jnp.float32)
    x = np.asarray(jax.jit(poisson_slots, static_argnames="dtype")(key, chains, lam, jnp.float32))
    for s in range(3):
        np.testing.assert_array_equal(x[:, s], np.asarray(poisson(bits.fold(key, s), chains, lam[:, s])))


def test_ptrs_quick_accept_gives_the_full_attempts_value():
    """Where step 1 (quick accept) of PTRS accepts, the full attempt accepts the same ``k``, so a
    kernel may take attempt 1's quick test in its first pass without changing any lane's value."""
    from collapse_theory.random.poisson import _ptrs_quick, _ptrs_try

    rng = np.random.default_rng(3)
    n = 200_000
    u, v = (jnp.asarray(rng.random(n), jnp.float32) for _ in range(2))
    lam = jnp.asarray(np.exp(rng.uniform(np.log(10.0), np.log(1e6), n)), jnp.float32)
    quick = np.asarray(jax.jit(_ptrs_quick)(u, v, lam))
    full = np.asarray(jax.jit(_ptrs_try)(u, v, lam))
    hit = quick >= 0.0
    assert hit.mean() > 0.5  # the test exercises the quick path on most lanes
    np.testing.assert_array_equal(quick[hit], full[hit])
    assert np.all(quick[~hit] == -1.0)
