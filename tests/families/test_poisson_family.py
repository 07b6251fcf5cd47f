"""The Poisson family against the critical Galton-Watson closed forms (docs/derivations.md, 'Poisson').

With ``M = 10`` draws per generation and ``rate0 = 1`` the total ``N_t = M rate_t`` starts at
``N0 = 10``. Budget: each test fails a correct implementation with probability at most ``ALPHA``
(z-tests, Bonferroni over the test's ``k`` assertions). Extinction frequencies use the binomial
standard error at the exact probability; means and variances the sample SD and fourth moment
(all moments of a Galton-Watson process with Poisson offspring are finite).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st
from budget import ALPHA
from harness import run

from collapse_theory.families.poisson import poisson
from collapse_theory.random import bits
from collapse_theory.testing.assertions import assert_mean, assert_variance, z_threshold
from collapse_theory.theory import registry

M, RATE0, CHAINS = 10, 1.0, 20_000
TIMES = (5, 20, 100)


@functools.cache
def exact_run():
    return run(poisson(RATE0), "replace", M, max(TIMES), CHAINS, 1, {1, *TIMES})


@functools.cache
def sample_run():
    return run(poisson(RATE0, kernel="sample"), "replace", M, 20, CHAINS, 2, {1, 20})


def test_replace_extinction_probability():
    out = exact_run()
    zt = z_threshold(ALPHA, len(TIMES))
    for t in TIMES:
        p = registry.evaluate("poisson.extinction_probability", N0=M * RATE0, t=t)
        est = out[t]["extinct"].mean()
        z = (est - p) / np.sqrt(p * (1 - p) / CHAINS)
        assert abs(z) < zt, (t, est, p, z)


def test_replace_mean_and_variance_of_rate():
    """E rate_t = rate0 at t = 5, 20, 100; Var rate_t = t rate0 / M at t = 5, 20 (k = 5)."""
    out = exact_run()
    for t in TIMES:
        assert_mean(out[t]["rate"], registry.evaluate("poisson.mean_rate", lam0=RATE0), ALPHA, 5, f"E rate_{t}")
    for t in TIMES[:2]:
        var = registry.evaluate("poisson.var_rate", lam0=RATE0, t=t, M=M)
        assert_variance(out[t]["rate"], var, ALPHA, 5, f"Var rate_{t}")


def test_metrics_are_consistent():
    m = exact_run()[20]
    np.testing.assert_array_equal(m["extinct"], (m["rate"] == 0).astype(np.float64))
    np.testing.assert_allclose(m["rate_err2"], (m["rate"] - RATE0) ** 2, rtol=1e-6)
    assert poisson(RATE0).metric_names == ("rate", "rate_err2", "extinct")
    assert np.all(np.round(m["rate"] * M) == np.round(m["rate"] * M, 3)), "totals are integers"


def _two_sample_chisq(a: np.ndarray, b: np.ndarray) -> float:
    """Chi-square homogeneity p-value of two integer samples, values pooled (from the top) into
    cells whose expected count is at least 5 in each sample."""
    hi = int(max(a.max(), b.max()))
    ca, cb = np.bincount(a, minlength=hi + 1), np.bincount(b, minlength=hi + 1)
    frac = a.size / (a.size + b.size)
    cells, oa, ob = [], 0, 0
    for x, y in zip(ca, cb, strict=True):
        oa, ob = oa + x, ob + y
        if min(frac, 1 - frac) * (oa + ob) >= 5:
            cells.append((oa, ob))
            oa, ob = 0, 0
    cells[-1] = (cells[-1][0] + oa, cells[-1][1] + ob)
    return float(st.chi2_contingency(np.array(cells).T, correction=False).pvalue)


def test_sample_kernel_agrees_with_exact_in_law():
    """t = 1: chi-square homogeneity of N_1 = M rate_1; t = 20: two-sample z-tests of the
    extinction frequency and the mean rate (k = 3)."""
    ex, sa = exact_run(), sample_run()
    n1 = [np.round(r[1]["rate"] * M).astype(np.int64) for r in (ex, sa)]
    assert _two_sample_chisq(*n1) > ALPHA / 3
    zt = z_threshold(ALPHA, 3)
    for name in ("extinct", "rate"):
        a, b = ex[20][name], sa[20][name]
        z = (a.mean() - b.mean()) / np.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        assert abs(z) < zt, (name, z)


def test_negative_control_wrong_chain_is_rejected():
    """The extinction test has power: a chain started from N0 = 11 fails against q_t^10 at t = 20."""
    out = run(poisson(1.1), "replace", M, 20, CHAINS, 3, {20})
    p = registry.evaluate("poisson.extinction_probability", N0=10, t=20)
    z = (out[20]["extinct"].mean() - p) / np.sqrt(p * (1 - p) / CHAINS)
    assert abs(z) > z_threshold(ALPHA)


def test_sample_draw_equals_sum_of_points_and_stats_ops():
    fam = poisson(2.5, kernel="sample")
    key, ch, cap = bits.key_from_seed(4), jnp.arange(50, dtype=jnp.uint32), 12
    p = fam.truth(50)
    n = jnp.asarray(np.arange(50) % 13, jnp.float32)
    s = fam.draw(key, ch, p, n, cap)
    pts = fam.points(key, ch, p, cap)
    mask = jnp.arange(cap)[None, :] < n[:, None]
    ps = fam.points_stats(pts, mask)
    np.testing.assert_array_equal(np.asarray(s.total), np.asarray(ps.total))
    np.testing.assert_array_equal(np.asarray(s.n), np.asarray(ps.n))
    m = fam.merge(s, ps)
    np.testing.assert_allclose(np.asarray(fam.fit(m).rate), np.asarray(fam.fit(s).rate), rtol=1e-6)
    w = fam.fit_weighted(s, fam.empty(50), 0.3).rate
    np.testing.assert_allclose(np.asarray(w), np.asarray(fam.fit(s).rate), rtol=1e-6)
    both = fam.fit_weighted(s, fam.points_stats(pts, jnp.ones_like(mask)), 0.25).rate
    synth_mean = jnp.sum(pts, 1) / cap
    expect = jnp.where(s.n == 0, synth_mean, 0.25 * s.total / jnp.maximum(s.n, 1) + 0.75 * synth_mean)
    np.testing.assert_allclose(np.asarray(both), np.asarray(expect), rtol=1e-6)
    assert float(fam.distribution(p).mean[0]) == 2.5


def test_float64_and_other_workflows_run():
    with jax.enable_x64(True):
        out = run(poisson(3.0, dtype=jnp.float64), "accumulate", 5, 4, 64, 5, {4}, dtype=jnp.float64)
    assert out[4]["rate"].dtype == np.float64 and np.all(np.isfinite(out[4]["rate"]))
    out = run(poisson(3.0, kernel="sample"), "accumulate-subsample", 5, 4, 64, 6, {4})
    assert np.all(out[4]["rate"] >= 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate": 0.0},
        {"rate": -1.0},
        {"rate": float("nan")},
        {"rate": float("inf")},
        {"rate": "1"},
        {"rate": 1.0, "kernel": "exactly"},
    ],
)
def test_bad_input(kwargs):
    with pytest.raises(ValueError):
        poisson(**kwargs)
