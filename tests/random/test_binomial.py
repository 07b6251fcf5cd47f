"""Goodness-of-fit and stream tests for :mod:`collapse_theory.random.binomial`.

Budget. Every statistical assertion is a test whose p-value must exceed ``ALPHA = 1e-4``: a correct
sampler fails it with probability ``ALPHA`` for a random seed (chi-square and KS statistics are
exact or asymptotically exact in law; cells are merged until every expected count is at least 5,
Cochran's rule). Seeds are fixed, so runs are repeatable; with about 40 assertions the whole file
fails a correct sampler with probability below 0.4 % over seed choices. Negative controls check
that the same tests have power: a sampler with a wrong parameter must give a p-value below
``ALPHA``.

Compile time dominates: all draws of one dtype share one shape (``C`` lanes), so each sampler
is compiled once per dtype.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from collapse_theory.random import binomial as binomial_module
from collapse_theory.random import bits
from collapse_theory.random.binomial import binomial
from collapse_theory.random.multinomial import multinomial

ALPHA = 1e-4
C = 100_000  # lanes per draw
DTYPES = [jnp.float32, jnp.float64]

_binomial = jax.jit(binomial, static_argnames="dtype")
_multinomial = jax.jit(multinomial, static_argnames="dtype")
CHAINS = jnp.arange(C, dtype=jnp.uint32)


def _x64(dtype):
    return jax.enable_x64(jnp.dtype(dtype) == jnp.float64)


def draw_binomial(seed, n, p, dtype=jnp.float32, chains=CHAINS):
    with _x64(dtype):
        n = jnp.broadcast_to(jnp.asarray(n, dtype), chains.shape)
        p = jnp.broadcast_to(jnp.asarray(p, dtype), chains.shape)
        x = _binomial(bits.key_from_seed(seed), chains, n, p, dtype=dtype)
        assert x.dtype == jnp.dtype(dtype)
        x = np.asarray(x)
    assert np.all(x == np.round(x)), "counts must be integer-valued"
    return x.astype(np.int64)


def draw_multinomial(seed, n, probs, dtype=jnp.float32, chains=CHAINS):
    with _x64(dtype):
        probs = jnp.broadcast_to(jnp.asarray(probs, dtype), (chains.shape[0], len(probs)))
        x = _multinomial(bits.key_from_seed(seed), chains, jnp.full(chains.shape, n, dtype), probs, dtype=dtype)
        assert x.dtype == jnp.dtype(dtype)
        x = np.asarray(x)
    assert np.all(x == np.round(x))
    return x.astype(np.int64)


def chisq_pvalue(counts: np.ndarray, probs: np.ndarray) -> float:
    """Pearson chi-square p-value of observed ``counts`` against cell ``probs`` (summing to 1).

    Adjacent cells are merged left to right until each expected count is at least 5; a short
    last group joins the previous one.
    """
    total = counts.sum()
    groups_o, groups_e, o, e = [], [], 0.0, 0.0
    for oc, pc in zip(counts, probs * total, strict=True):
        o, e = o + oc, e + pc
        if e >= 5.0:
            groups_o.append(o)
            groups_e.append(e)
            o, e = 0.0, 0.0
    if e > 0.0 or o > 0.0:
        groups_o[-1] += o
        groups_e[-1] += e
    groups_o, groups_e = np.array(groups_o), np.array(groups_e)
    if len(groups_e) < 2:
        return 1.0
    stat = np.sum((groups_o - groups_e) ** 2 / groups_e)
    return float(st.chi2.sf(stat, len(groups_e) - 1))


def binomial_pvalue(x: np.ndarray, n: int, p: float) -> float:
    """Chi-square p-value of samples ``x`` against Binomial(n, p), tails folded into end cells."""
    lo, hi = int(st.binom.ppf(1e-12, n, p)), int(st.binom.isf(1e-12, n, p)) + 1
    ks = np.arange(lo, hi + 1)
    probs = st.binom.pmf(ks, n, p)
    probs[0] += st.binom.cdf(lo - 1, n, p)
    probs[-1] += st.binom.sf(hi, n, p)
    counts = np.bincount(np.clip(x, lo, hi) - lo, minlength=len(ks))
    return chisq_pvalue(counts, probs / probs.sum())


# (n, p): inversion with small and large n, BTRS, both sides of the n q = 30 switch, p > 1/2 in
# both regimes, and n up to 1e6.
REGIMES = [
    (20, 0.3),
    (1000, 0.004),
    (1_000_000, 5e-6),
    (59, 0.5),
    (60, 0.5),
    (100, 0.45),
    (50, 0.9),
    (200, 0.8),
    (100_000, 0.3),
    (1_000_000, 0.5),
]


@pytest.mark.parametrize("n,p", REGIMES)
def test_binomial_chisquare_float32(n, p):
    x = draw_binomial(1 + REGIMES.index((n, p)), n, p)
    assert binomial_pvalue(x, n, p) > ALPHA


@pytest.mark.parametrize("n,p", [(20, 0.3), (60, 0.5), (200, 0.8), (1_000_000, 0.5)])
def test_binomial_chisquare_float64(n, p):
    x = draw_binomial(100 + n, n, p, jnp.float64)
    assert binomial_pvalue(x, n, p) > ALPHA


@pytest.mark.parametrize("dtype", DTYPES)
def test_binomial_degenerate_cases_are_exact(dtype):
    n = np.tile(np.array([0, 0, 7, 7, 1_000_000, 1_000_000, 0], np.float64), C // 7 + 1)[:C]
    p = np.tile(np.array([0.0, 0.7, 0.0, 1.0, 0.0, 1.0, 1.0], np.float64), C // 7 + 1)[:C]
    x = draw_binomial(5, n, p, dtype)
    np.testing.assert_array_equal(x, np.where(p == 1.0, n, 0))


def test_binomial_invalid_inputs_give_nan():
    with _x64(jnp.float32):
        n = jnp.zeros(C, jnp.float32).at[:3].set(jnp.array([-1.0, jnp.inf, 5.0]))
        p = jnp.full(C, 0.5, jnp.float32).at[2].set(jnp.nan)
        x = np.asarray(_binomial(bits.key_from_seed(0), CHAINS, n, p, dtype=jnp.float32))
    assert np.isnan(x[:3]).all() and (x[3:] == 0).all()


def test_binomial_heterogeneous_lanes_randomised_pit():
    """Per-lane (n, p) over all regimes at once; the randomised PIT F(X-1) + V f(X) is U(0, 1)."""
    rng = np.random.default_rng(7)
    n = np.floor(10 ** rng.uniform(0, 6, C))
    p = rng.uniform(0, 1, C) ** rng.choice([1, 4], C)  # many small p: both regimes, both sides
    x = draw_binomial(7, n, p)
    v = rng.uniform(size=C)
    pit = st.binom.cdf(x - 1, n, p) + v * st.binom.pmf(x, n, p)
    assert st.kstest(pit, "uniform").pvalue > ALPHA
    # Negative control: p moved by 1 % of p (1 - p) shifts the PIT visibly.
    pw = p + 0.01 * p * (1 - p)
    pit_wrong = st.binom.cdf(x - 1, n, pw) + v * st.binom.pmf(x, n, pw)
    assert st.kstest(pit_wrong, "uniform").pvalue < ALPHA


@pytest.mark.parametrize("dtype", DTYPES)
def test_binomial_few_btrs_lanes_among_inversion_lanes(dtype):
    """1 % of the lanes need BTRS: no dense first pass, the lanes go to the retry queue."""
    n = np.where(np.arange(C) % 100 == 0, 400.0, 10.0)
    x = draw_binomial(8, n, 0.5, dtype)
    assert binomial_pvalue(x[n == 400.0], 400, 0.5) > ALPHA
    assert binomial_pvalue(x[n == 10.0], 10, 0.5) > ALPHA


@pytest.mark.parametrize("dtype", DTYPES)
def test_binomial_few_btrs_lanes_take_the_small_retry_buffer(dtype):
    """20 BTRS lanes among inversion lanes: at most 64 pending lanes use the small buffer."""
    n = np.where(np.arange(C) % 5000 == 0, 400.0, 10.0)
    x = np.stack([draw_binomial(seed, n, 0.5, dtype)[n == 400.0] for seed in range(300, 350)]).ravel()
    assert binomial_pvalue(x, 400, 0.5) > ALPHA


def test_binomial_negative_control_wrong_p_is_rejected():
    x = draw_binomial(9, 20, 0.3)
    assert binomial_pvalue(x, 20, 0.31) < ALPHA
    x = draw_binomial(10, 1_000_000, 0.5)
    assert binomial_pvalue(x, 1_000_000, 0.5005) < ALPHA


def test_inversion_continuation_and_restart(monkeypatch):
    """Force the rare paths: 8 unrolled steps, restart past 14, so X is Bin(40, 1/4) given X <= 14."""
    monkeypatch.setattr(binomial_module, "_INV_STEPS", 8)
    monkeypatch.setattr(binomial_module, "_INV_BOUND", 14.0)

    @jax.jit
    def fresh(key, chains, n, p):  # a new function, so traced anew with the patched constants
        return binomial(key, chains, n, p, jnp.float32)

    x = fresh(bits.key_from_seed(11), CHAINS, jnp.full(C, 40.0, jnp.float32), jnp.full(C, 0.25, jnp.float32))
    x = np.asarray(x).astype(np.int64)
    assert x.max() <= 14
    ks = np.arange(15)
    probs = st.binom.pmf(ks, 40, 0.25)
    assert chisq_pvalue(np.bincount(x, minlength=15), probs / probs.sum()) > ALPHA


def test_binomial_chain_values_do_not_depend_on_the_batch():
    rng = np.random.default_rng(12)
    n = np.floor(10 ** rng.uniform(0, 5, C))
    p = rng.uniform(0, 1, C)
    full = draw_binomial(13, n, p)
    # Chains 500..599 in a different batch: other chain ids around them, other parameters.
    chains = np.concatenate([np.arange(500, 600), np.arange(10**6, 10**6 + C - 100)]).astype(np.uint32)
    n2 = np.concatenate([n[500:600], np.full(C - 100, 5000.0)])
    p2 = np.concatenate([p[500:600], np.full(C - 100, 0.5)])
    part = draw_binomial(13, n2, p2, chains=jnp.asarray(chains))
    np.testing.assert_array_equal(part[:100], full[500:600])


def test_binomial_streams_are_reproducible_and_key_dependent():
    a = draw_binomial(14, 300.0, 0.4)
    np.testing.assert_array_equal(a, draw_binomial(14, 300.0, 0.4))
    assert np.mean(a == draw_binomial(15, 300.0, 0.4)) < 0.1


@pytest.mark.parametrize("dtype", DTYPES)
def test_multinomial_joint_chisquare_k3(dtype):
    """All 21 compositions of n = 5 into 3 states against the multinomial pmf.

    The 3 states sit at positions 0, 4 and 9 of 10 (the others have mass 0), so the draw shares
    its compiled kernel with the other 10-state tests and crosses several tree levels.
    """
    n, probs = 5, np.array([0.2, 0.5, 0.3])
    full = np.zeros(10)
    full[[0, 4, 9]] = probs
    x = draw_multinomial(20, n, full, dtype)
    assert (x.sum(axis=1) == n).all() and (x >= 0).all()
    x = x[:, [0, 4, 9]]
    assert (x.sum(axis=1) == n).all()
    cells = [(a, b, n - a - b) for a in range(n + 1) for b in range(n + 1 - a)]
    index = {cell: i for i, cell in enumerate(cells)}
    counts = np.bincount([index[tuple(row)] for row in x], minlength=len(cells))
    expected = np.array([st.multinomial.pmf(cell, n, probs) for cell in cells])
    assert chisq_pvalue(counts, expected) > ALPHA
    # Negative control: the same counts against slightly wrong probabilities.
    wrong = np.array([st.multinomial.pmf(cell, n, [0.21, 0.49, 0.3]) for cell in cells])
    assert chisq_pvalue(counts, wrong) < ALPHA


@pytest.mark.parametrize("n", [50, 1000])
def test_multinomial_marginals_and_pair_sums(n):
    """Each count is Bin(n, p_k) and each pair sum Bin(n, p_i + p_j): marginals and covariances.

    Bonferroni: 10 marginals + 6 pair sums share ALPHA. ``n = 1000`` puts the upper tree levels in
    the BTRS regime; a zero state must stay empty.
    """
    probs = np.array([0.3, 0.2, 0.15, 0.1, 0.08, 0.07, 0.05, 0.03, 0.02, 0.0])
    x = draw_multinomial(21 + n, n, probs)
    assert (x.sum(axis=1) == n).all() and (x[:, -1] == 0).all()
    pairs = [(0, 1), (0, 9), (2, 7), (3, 4), (5, 8), (1, 6)]
    alpha = ALPHA / (len(probs) - 1 + len(pairs))
    for k in range(len(probs) - 1):
        assert binomial_pvalue(x[:, k], n, probs[k]) > alpha
    for i, j in pairs:
        assert binomial_pvalue(x[:, i] + x[:, j], n, probs[i] + probs[j]) > alpha


def test_multinomial_normalises_rows_and_handles_k1():
    probs = np.array([2.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0])  # sums to 4 after clipping
    x = draw_multinomial(30, 40, probs)
    assert (x.sum(axis=1) == 40).all() and (x[:, [2, 4, 5, 6, 7, 8, 9]] == 0).all()
    assert binomial_pvalue(x[:, 0], 40, 0.5) > ALPHA
    one = _multinomial(bits.key_from_seed(0), CHAINS[:10], jnp.full(10, 7.0), jnp.ones((10, 1)), dtype=jnp.float32)
    np.testing.assert_array_equal(np.asarray(one), 7.0)


def test_multinomial_chain_values_do_not_depend_on_the_batch():
    probs = np.random.default_rng(31).dirichlet(np.ones(10), size=C)
    with _x64(jnp.float32):
        n = jnp.full(C, 1000.0, jnp.float32)
        full = np.asarray(
            _multinomial(bits.key_from_seed(32), CHAINS, n, jnp.asarray(probs, jnp.float32), dtype=jnp.float32)
        )
        chains = np.concatenate([np.arange(500, 600), np.arange(10**6, 10**6 + C - 100)]).astype(np.uint32)
        probs2 = np.concatenate([probs[500:600], np.full((C - 100, 10), 0.1)])
        part = np.asarray(
            _multinomial(
                bits.key_from_seed(32), jnp.asarray(chains), n, jnp.asarray(probs2, jnp.float32), dtype=jnp.float32
            )
        )
    np.testing.assert_array_equal(part[:100], full[500:600])


def test_multinomial_inside_scan_wright_fisher_mean_is_preserved():
    """Wright-Fisher: E p_t = p_0 exactly; the mean over chains of state 0 after 20 generations
    is within 5 standard errors of p_0 (false-failure probability 6e-7, below ALPHA)."""
    chains, k, n, g = 2000, 4, 100, 20

    @jax.jit
    def run(key):
        def step(p, t):
            return multinomial(
                bits.fold(key, t, 1), jnp.arange(chains, dtype=jnp.uint32), jnp.full(chains, float(n)), p
            ) / n, None

        return jax.lax.scan(step, jnp.full((chains, k), 1.0 / k), jnp.arange(g, dtype=jnp.uint32))[0]

    p = np.asarray(run(bits.key_from_seed(40)))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    # Var p_t = p0 (1 - p0) (1 - (1 - 1/n)^t) for Wright-Fisher drift.
    sd = math.sqrt(0.25 * 0.75 * (1 - (1 - 1 / n) ** g) / chains)
    assert abs(p[:, 0].mean() - 0.25) < 5 * sd
