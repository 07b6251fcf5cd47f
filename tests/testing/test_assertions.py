"""The assertions' contract: results, reports, the original positional API, rejected inputs.

Data are fixed numpy samples; where an assertion must pass, it runs at the suite's ALPHA, and
where it must fail, the departure is far beyond its detectable discrepancy (stated in each case).
"""

import math

import numpy as np
import pytest
from budget import ALPHA
from scipy import stats

import collapse_theory as ct
from collapse_theory import testing as ctt

R = np.random.default_rng(20240611)
X = R.normal(1.0, 2.0, 2000)


def test_ct_testing_is_the_toolkit():
    assert ct.testing is ctt
    for name in ("assert_same_law", "check_estimator", "required_chains", "detectable_discrepancy", "AssertionResult"):
        assert hasattr(ct.testing, name)


def test_original_positional_api_still_works():
    z = ctt.assert_mean(X, 1.0, ALPHA, 3, "E x")
    assert isinstance(float(z), float) and abs(float(z)) < 4.5  # the z (t) score, as before
    assert float(ctt.assert_variance(X, 4.0, ALPHA, 2, "Var x")) == pytest.approx(
        (X.var(ddof=1) - 4.0) / ctt.assert_variance(X, 4.0, ALPHA).se
    )
    p = ctt.assert_ks((X - 1.0) / 2.0, stats.norm.cdf, ALPHA, k=2)
    assert 0 < float(p) <= 1 and float(p) == p.p_value  # the p-value, as before
    assert float(ctt.assert_two_sample_ks(X[:1000], X[1000:], ALPHA, 1)) > ALPHA
    assert ctt.z_threshold(1e-4) == pytest.approx(stats.norm.isf(5e-5))
    with pytest.raises(AssertionError, match="E x"):
        ctt.assert_mean(X, 1.5, ALPHA, 3, "E x")  # 0.5 = 11 standard errors: detectable 0.19


def test_result_carries_the_numbers_and_the_report():
    res = ctt.assert_mean(X, 1.0, false_fail_rate=1e-6, what="E x")
    assert res.passed and bool(res)
    assert res.false_fail_rate == 1e-6 and res.n == X.size
    assert res.threshold == pytest.approx(stats.t.isf(5e-7, X.size - 1))
    assert res.statistic == pytest.approx(abs(X.mean() - 1.0) / (X.std(ddof=1) / math.sqrt(X.size)))
    assert res.p_value == pytest.approx(2 * stats.t.sf(res.statistic, X.size - 1))
    assert 0 < res.detectable < 1 and "detectable with 80% power" in str(res)
    with pytest.raises(AssertionError) as err:
        ctt.assert_mean(X + 0.6, 1.0, false_fail_rate=1e-6, what="shifted")
    text = str(err.value)
    for part in ("FAIL shifted", "statistic", "threshold", "p = ", "false-fail rate 1e-06", "shift of the mean"):
        assert part in text
    failed = ctt.assert_mean(X + 0.6, 1.0, false_fail_rate=1e-6, raise_on_failure=False)
    assert not failed.passed and failed.statistic > failed.threshold


@pytest.mark.parametrize(
    "call",
    [
        lambda x: ctt.assert_mean(x, 0.0),
        lambda x: ctt.assert_variance(x, 1.0),
        lambda x: ctt.assert_ks(x, stats.norm.cdf),
        lambda x: ctt.assert_two_sample_ks(x, x),
        lambda x: ctt.assert_exact_law(x, stats.norm()),
        lambda x: ctt.assert_log_moment(np.abs(x), 0.0),
        lambda x: ctt.assert_same_law(x, x),
        lambda x: ctt.assert_bounded(x, 0.0),
    ],
)
def test_non_finite_and_too_small_samples_are_rejected(call):
    with pytest.raises(AssertionError, match="not finite"):
        call(np.full(500, np.nan))
    bad = R.normal(size=500)
    bad[7] = np.inf
    with pytest.raises(AssertionError, match="not finite"):
        call(bad)
    with pytest.raises(AssertionError, match="fewer than"):
        call(R.normal(size=5))


def test_the_issue_examples_fail():
    with pytest.raises(AssertionError, match="fewer than"):
        ctt.assert_mean([1.0], 1.0)
    with pytest.raises(AssertionError, match="not finite"):
        ctt.assert_ks(np.full(100, np.nan), stats.norm.cdf)


def test_rates_are_validated():
    with pytest.raises(ValueError, match="not both"):
        ctt.assert_mean(X, 1.0, 1e-4, false_fail_rate=1e-6)
    with pytest.raises(ValueError, match="false_fail_rate"):
        ctt.assert_mean(X, 1.0, false_fail_rate=1.5)
    with pytest.raises(ValueError, match="k must"):
        ctt.assert_mean(X, 1.0, ALPHA, 0)


def test_exact_law_continuous_and_discrete():
    q = 9 * R.normal(size=(4000, 10)).var(axis=1, ddof=1)  # (M - 1) s^2 / sigma^2 ~ chi^2_9
    assert ctt.assert_exact_law(q, stats.chi2(9), false_fail_rate=ALPHA).passed
    with pytest.raises(AssertionError):  # chi^2_8 is at KS distance 0.08 from chi^2_9; detectable 0.04
        ctt.assert_exact_law(q, stats.chi2(8), false_fail_rate=ALPHA)
    counts = R.binomial(12, 0.4, 3000)
    assert (
        ctt.assert_exact_law(counts, stats.binom(12, 0.4), false_fail_rate=ALPHA).test
        == "KS test of the randomized PIT"
    )
    with pytest.raises(AssertionError):  # binom(12, 0.45): randomized-PIT KS distance about 0.09; detectable 0.05
        ctt.assert_exact_law(counts, stats.binom(12, 0.45), false_fail_rate=ALPHA)
    with pytest.raises(AssertionError, match="integer"):
        ctt.assert_exact_law(counts + 0.5, stats.binom(12, 0.4))


def test_closed_form_from_the_registry():
    s2 = R.chisquare(9, 20000) / 9
    res = ctt.assert_closed_form(
        s2, "gaussian.replace.unbiased.mean_sigma2", M=10, n=1, sigma0=1.0, false_fail_rate=ALPHA
    )
    assert res.expected == pytest.approx(1.0)
    logs = np.log(s2)
    ctt.assert_closed_form(
        logs, "gaussian.replace.unbiased.mean_log_sigma2", M=10, n=1, sigma0=1.0, false_fail_rate=ALPHA
    )
    ctt.assert_closed_form(logs, "gaussian.replace.unbiased.var_log_sigma2", moment="variance", M=10, n=1, sigma0=1.0)
    with pytest.raises(ValueError, match="approximation"):
        ctt.assert_closed_form(logs, "gaussian.replace.unbiased.mean_log_sigma2_series", M=10, n=1, sigma0=1.0)
    with pytest.raises(AssertionError):  # the MLE's mean (M-1)/M = 0.9 is 30 SEs away (detectable 0.017)
        ctt.assert_closed_form(s2, "gaussian.replace.mle.mean_sigma2", M=10, n=1, sigma0=1.0, false_fail_rate=ALPHA)


def test_bounded_and_one_sided():
    w = R.exponential(1.0, (3, 3000))  # three generations of a bounded quantity, mean 1
    assert ctt.assert_bounded(w, 1.0, false_fail_rate=ALPHA).passed  # at the bound: fails with prob <= ALPHA
    assert ctt.assert_bounded(w, 1.2, false_fail_rate=ALPHA).false_fail_rate == pytest.approx(ALPHA)
    with pytest.raises(AssertionError, match="row 2"):  # 1.3 is 16 SEs above 1.0 (detectable excess 0.08)
        ctt.assert_bounded(np.vstack([w[:2], w[2] + 0.3]), 1.0, false_fail_rate=ALPHA)
    assert ctt.assert_bounded(w, 0.9, side="lower", false_fail_rate=ALPHA).passed


def test_rate_and_trends():
    xs = (10, 20, 40, 80, 160)
    groups = [R.standard_normal(4000) ** 2 / m for m in xs]
    res = ctt.assert_rate(xs, groups, -1.0, check_fit=True, false_fail_rate=ALPHA)
    assert res.passed and len(res.items) == 2 and res.items[0].estimate == pytest.approx(-1.0, abs=0.1)
    with pytest.raises(AssertionError, match="slope"):  # -0.8 is 8 SEs from -1 (detectable 0.11)
        ctt.assert_rate(xs, groups, -0.8, false_fail_rate=ALPHA)
    with pytest.raises(ValueError, match="relative SE"):
        ctt.assert_rate(xs, [g[:30] for g in groups], -1.0)
    gens = np.array([0, 5, 10, 20])
    steps = R.normal(-0.1, 0.3, (20, 2000))
    walk = np.exp(np.concatenate([np.zeros((1, 2000)), np.cumsum(steps, axis=0)])[gens])
    assert ctt.assert_trend(walk, gens, at_least=0.09, false_fail_rate=ALPHA).passed
    with pytest.raises(AssertionError):  # the drift is 0.1 per generation, not 0.2: 70 SEs short
        ctt.assert_trend(walk, gens, at_least=0.2, false_fail_rate=ALPHA)
    with pytest.raises(AssertionError):  # a decreasing quantity does not grow
        ctt.assert_trend(walk, gens, direction="increasing", false_fail_rate=ALPHA)


def test_same_law_of_samples_one_and_many_dimensions():
    a, b = R.normal(size=(3000, 3)), R.normal(size=(2500, 3))
    res = ctt.assert_same_law(a, b, false_fail_rate=ALPHA)
    assert res.passed and len(res.items) == 3 + 8
    assert ctt.assert_same_law(a[:, 0], b[:, 0], false_fail_rate=ALPHA).test == "two-sample KS"
    rot = b @ np.array([[1, 0, 0], [0, 0.8, 0.6], [0, -0.6, 0.8]])  # a rotation of N(0, I) is N(0, I)
    assert ctt.assert_same_law(a, rot, false_fail_rate=ALPHA).passed
    corr = b.copy()
    corr[:, 1] = 0.9 * b[:, 0] + np.sqrt(1 - 0.81) * b[:, 1]  # same marginals, a correlation of 0.9
    with pytest.raises(AssertionError, match="projection"):  # only a projection sees it
        ctt.assert_same_law(a, corr, false_fail_rate=ALPHA)
    with pytest.raises(ValueError, match="two families or two sample sets"):
        ctt.assert_same_law(a, ct.family("gaussian", estimator="mle"))


def test_ledger_books_every_assertion():
    start = ctt.ledger.mark()
    ctt.assert_mean(X, 1.0, false_fail_rate=1e-6)
    ctt.assert_mean(X, 1.0, ALPHA, 4)
    booked = ctt.ledger.entries(start)
    assert [e.rate for e in booked] == pytest.approx([1e-6, ALPHA / 4])
    with ctt.ledger.paused():
        ctt.assert_mean(X, 1.0)
    assert len(ctt.ledger.entries(start)) == 2
    with ctt.ledger.paused(), ctt.ledger.inflated(100.0):
        assert ctt.assert_mean(X, 1.0, false_fail_rate=1e-4, raise_on_failure=False).false_fail_rate == pytest.approx(
            1e-2
        )
