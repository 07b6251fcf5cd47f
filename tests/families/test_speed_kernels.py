"""The live-support kernels of the Poisson and categorical families: exact laws and stream invariance.

Budget: each statistical test fails a correct implementation with probability at most ``ALPHA``
(``tests/budget.py``), split evenly over its assertions; the KS tests of the randomized PIT
(``ct.testing.assert_exact_law``) are exact-level tests for discrete laws.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from budget import ALPHA

from collapse_theory.families import poisson as pf
from collapse_theory.random import bits
from collapse_theory.testing.laws import assert_exact_law

# Rates on both sides of the inversion / PTRS switch at 10, plus one above float32's ulp 1 / 2**4.
RATES = (0.3, 3.0, 9.99, 10.0, 57.3, 1000.0, 2.0e5)
N_POIS = 20_000


_poisson_total = jax.jit(pf.poisson_total, static_argnums=3)


def test_poisson_total_exact_law_each_rate():
    chains = jnp.arange(N_POIS * len(RATES), dtype=jnp.uint32)
    lam = jnp.repeat(jnp.asarray(RATES, jnp.float32), N_POIS)
    x = np.asarray(_poisson_total(bits.key_from_seed(5), chains, lam, jnp.float32)).reshape(len(RATES), N_POIS)
    for i, rate in enumerate(RATES):
        assert_exact_law(x[i], st.poisson(rate), false_fail_rate=ALPHA / len(RATES), what=f"Poisson({rate})")


def test_poisson_total_invalid_rates_give_nan_in_every_lane_and_schedule():
    """NaN, negative and infinite rates give NaN wherever they stand, lane 0 included (a rate
    below -1 in lane 0 once made the never-run materialising loop run forever), under both
    first-pass schedules (most lanes large, or few), and leave the other lanes' values alone."""
    key, f32 = bits.key_from_seed(8), jnp.float32
    chains = jnp.arange(400, dtype=jnp.uint32)
    for large in (0.9, 0.1):
        lam = np.where(np.random.default_rng(3).random(400) < large, 57.3, 3.0).astype(np.float32)
        ref = np.asarray(_poisson_total(key, chains, jnp.asarray(lam), f32))
        bad = lam.copy()
        bad[[0, 1, 2, 200]] = [-2.0, np.nan, np.inf, -np.inf]
        got = np.asarray(_poisson_total(key, chains, jnp.asarray(bad), f32))
        assert np.all(np.isnan(got[[0, 1, 2, 200]]))
        keep = np.ones(400, bool)
        keep[[0, 1, 2, 200]] = False
        np.testing.assert_array_equal(got[keep], ref[keep])


def test_poisson_total_lane_values_do_not_depend_on_the_batch():
    """A lane's value is a function of (key, chain, rate): the same chain gives the same count when
    its neighbours are dead (compacted buffers), alive (full width) or of the other method."""
    key = bits.key_from_seed(6)
    n = 4096
    chains = jnp.arange(n, dtype=jnp.uint32)
    rng = np.random.default_rng(0)
    lam = rng.choice(np.array([0.0, 0.5, 4.0, 12.0, 300.0]), size=n)
    f32 = jnp.float32
    full = np.asarray(_poisson_total(key, chains, jnp.asarray(lam, f32), f32))
    for keep in (0.5, 0.1, 0.01):  # fewer live lanes: smaller buffers serve them
        mask = rng.random(n) < keep
        part = np.asarray(_poisson_total(key, chains, jnp.asarray(np.where(mask, lam, 0.0), f32), f32))
        np.testing.assert_array_equal(part[mask], full[mask])
        np.testing.assert_array_equal(part[~mask], 0.0)
    shifted = np.asarray(_poisson_total(key, jnp.roll(chains, 100), jnp.asarray(np.roll(lam, 100), f32), f32))
    np.testing.assert_array_equal(shifted, np.roll(full, 100))


def test_poisson_total_matches_the_first_accepted_attempt_on_many_pages():
    """Against an independent full-width reference of the stream: a PTRS lane's value is its first
    accepted attempt r = 0, 1, ... (counter (c, r)). 20 000 lanes fill several pages, and rates near
    10 (rejection ~25 %) overflow the 64-slot tail buffer; the dense and the compacted schedules
    (live fractions 0.7 and 0.05) must both give it."""
    from collapse_theory.random.poisson import _ptrs_try, _uniform_pair

    n, f32 = 20_000, jnp.float32
    key = bits.key_from_seed(9)
    chains = jnp.asarray(np.random.default_rng(1).permutation(3 * n)[:n].astype(np.uint32))
    attempt = jax.jit(lambda r, lam: _ptrs_try(*_uniform_pair(key, chains, r, f32), lam))
    rng = np.random.default_rng(2)
    for live in (0.7, 0.05):
        lam = np.where(rng.random(n) < live, rng.choice([10.0, 10.5, 31.0, 1.0e4], n), 0.0).astype(np.float32)
        want, r = np.where(lam > 0, -1.0, 0.0), 0
        while np.any(want < 0):
            k = np.asarray(attempt(jnp.uint32(r), jnp.asarray(np.where(lam > 0, lam, 1e4), f32)))
            want = np.where((want < 0) & (k >= 0), k, want)
            r += 1
        assert r > 4  # some lane needed the tail buffer's passes
        got = np.asarray(_poisson_total(key, chains, jnp.asarray(lam), f32))
        np.testing.assert_array_equal(got, want)


def test_poisson_total_absorbing_and_invalid():
    key = bits.key_from_seed(7)
    chains = jnp.arange(6, dtype=jnp.uint32)
    lam = jnp.asarray([0.0, np.nan, -1.0, np.inf, 0.0, 2.0], jnp.float32)
    x = np.asarray(_poisson_total(key, chains, lam, jnp.float32))
    np.testing.assert_array_equal(x[[0, 4]], 0.0)
    assert np.all(np.isnan(x[1:4]))
    assert x[5] == np.round(x[5]) and x[5] >= 0


def test_poisson_total_float64_law():
    dtype = jnp.float64
    with jax.enable_x64(True):
        chains = jnp.arange(N_POIS, dtype=jnp.uint32)
        x = np.asarray(
            jax.jit(pf.poisson_total, static_argnums=3)(
                bits.key_from_seed(8), chains, jnp.full((N_POIS,), 37.5, dtype), dtype
            )
        )
    assert_exact_law(x, st.poisson(37.5), false_fail_rate=ALPHA, what="Poisson(37.5) float64")


# ---------------------------------------------------------------- categorical: the live multinomial

K_LIVE, N_DRAWS, N_CAT = 37, 50, 20_000
_P = np.random.default_rng(3).random(K_LIVE) * (np.arange(K_LIVE) % 3 != 1)  # a third of the states dead
P_LIVE = _P / _P.sum()
# Marginals (Binomial(n, p_k)) of single states and of sets of states (sums of multinomial counts
# are binomial): a wrong split at any depth of the tree moves one of these laws.
SETS = ((0,), (2,), (5,), (35,), (0, 2), tuple(range(0, 18)), tuple(range(9, 37, 2)))


@functools.cache
def _live_counts():
    from collapse_theory.random.live_multinomial import live_multinomial as _live_multinomial

    f = jax.jit(_live_multinomial, static_argnums=4)
    probs = jnp.broadcast_to(jnp.asarray(P_LIVE, jnp.float32), (N_CAT, K_LIVE))
    chains = jnp.arange(N_CAT, dtype=jnp.uint32)
    return f, np.asarray(f(bits.key_from_seed(9), chains, jnp.float32(N_DRAWS), probs, jnp.float32))


def test_live_multinomial_exact_marginal_laws():
    _, x = _live_counts()
    for s in SETS:
        assert_exact_law(
            x[:, list(s)].sum(axis=1),
            st.binom(N_DRAWS, P_LIVE[list(s)].sum()),
            false_fail_rate=ALPHA / len(SETS),
            what=f"counts of states {s}",
        )
    # Negative control: the same test rejects a law whose probability is off by 5 %.
    wrong = assert_exact_law(x[:, :18].sum(axis=1), st.binom(N_DRAWS, 1.05 * P_LIVE[:18].sum()), raise_on_failure=False)
    assert not wrong.passed


def test_live_multinomial_dead_states_stay_dead_and_counts_sum_to_n():
    _, x = _live_counts()
    np.testing.assert_array_equal(x[:, P_LIVE == 0], 0.0)
    np.testing.assert_array_equal(x.sum(axis=1), N_DRAWS)
    assert np.array_equal(x, np.round(x)) and x.min() >= 0


def test_live_multinomial_chain_values_do_not_depend_on_other_chains():
    """A chain's counts are a function of (key, chain, probs): killing states of the other chains
    (fewer random nodes, fewer pages) or rolling the batch leaves them unchanged."""
    f, full = _live_counts()
    key = bits.key_from_seed(9)
    chains = jnp.arange(N_CAT, dtype=jnp.uint32)
    probs = np.broadcast_to(P_LIVE, (N_CAT, K_LIVE)).copy()
    keep = np.zeros(N_CAT, bool)
    keep[::50] = True
    probs[~keep] = 0.0
    probs[~keep, 4] = 1.0  # the other chains absorbed in state 4: no random node at all
    part = np.asarray(f(key, chains, jnp.float32(N_DRAWS), jnp.asarray(probs, jnp.float32), jnp.float32))
    np.testing.assert_array_equal(part[keep], full[keep])
    np.testing.assert_array_equal(part[~keep, 4], N_DRAWS)
    rolled = f(
        key,
        jnp.roll(chains, 7),
        jnp.float32(N_DRAWS),
        jnp.broadcast_to(jnp.asarray(P_LIVE, jnp.float32), (N_CAT, K_LIVE)),
        jnp.float32,
    )
    np.testing.assert_array_equal(np.asarray(rolled), np.roll(full, 7, axis=0))


# ---------------------------------------------------------------- Gaussian: the lean chi-square


def _plain_log_chi2(key, chains, dof, dtype, first):
    """The definition of ``random.gamma.log_chi2``'s value: attempt 0 from ``first``, then attempts
    1, 2, ... at full width until every lane has accepted, each lane keeping its first acceptance."""
    from collapse_theory.random import gamma

    shape = dof / 2.0
    boost = shape < 1.0
    a = jnp.where(boost, shape + 1.0, shape)
    d = a - 1.0 / 3.0
    c = 1.0 / jnp.sqrt(9.0 * d)
    acc, lg = gamma._accept(first[:, 0], first[:, 1], d, c, jnp.log(d))
    lg = gamma._retry(key, chains, d, c, jnp.log(d), acc, lg, dtype)
    lg = jnp.where(boost, lg + jnp.log(first[:, 2]) / jnp.where(boost & (shape > 0), shape, 1.0), lg)
    return jnp.log(jnp.asarray(2.0, dtype)) + jnp.where(shape > 0, lg, -jnp.inf)


MIXED_DOF = (0.0, 1.0, 0.5, 2.0, 3.0, 9.0, 99.0)


@pytest.mark.parametrize(
    ("n", "dofs"),
    [(7, MIXED_DOF), (2_000, MIXED_DOF), (50_000, MIXED_DOF), (50_000, (9.0, 99.0)), (20_000, (99.0,))],
)
def test_log_chi2_compacted_retries_are_the_plain_attempt_sequence(n, dofs):
    """The compacted retries give each lane its first accepted attempt, as the plain loop does,
    on every path: dof 0 (-inf), the boost (dof < 2), frequent rejections (the mixed dofs reject
    on 2.8 % of lanes: more blocks than the buffer holds, so the full-width loop runs) and rare
    ones (dof 9 and 99: 220 of 6250 blocks at n = 50 000, 18 of 2500 at n = 20 000, all in the
    buffer). Equal up to rounding (4 float32 eps, relative and absolute): the two programs fuse
    differently, and XLA:CPU may contract a multiply-add in one and not in the other; a lane
    that took another attempt would differ by O(0.1)."""
    from collapse_theory.random import gamma

    chains = jnp.arange(n, dtype=jnp.uint32) * jnp.uint32(3) + jnp.uint32(11)
    dof = jnp.asarray(np.resize(dofs, n), jnp.float32)
    key = bits.key_from_seed(3)
    first = bits.uniform(bits.fold(key, 1), chains, gamma.UNIFORMS_PER_DRAW, jnp.float32)
    ref = np.asarray(jax.jit(_plain_log_chi2, static_argnums=3)(key, chains, dof, jnp.float32, first))
    new = np.asarray(jax.jit(gamma.log_chi2, static_argnums=3)(key, chains, dof, jnp.float32, first))
    pair = np.asarray(
        jax.jit(lambda k, c, f: gamma.log_chi2(k, c, f, jnp.float32, (bits.fold(k, 1), 0)))(key, chains, dof)
    )
    np.testing.assert_array_equal(np.isneginf(new), np.asarray(dof) == 0)
    eps = float(np.finfo(np.float32).eps)
    np.testing.assert_allclose(new, ref, rtol=4 * eps, atol=4 * eps)
    np.testing.assert_allclose(pair, new, rtol=4 * eps, atol=4 * eps)
