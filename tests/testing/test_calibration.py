"""The harness is tested: each assertion's null rejection rate matches its stated false-failure rate.

Every assertion runs over 300 seeds of numpy data drawn from its null hypothesis, at the inflated
rate 0.05 (the approximate tests at sample sizes where their approximation error, O(1/n), is
far below the count's binomial SD of 0.0126) (so the count, about Binomial(300, 0.05) = 15 +- 3.8, is informative), through
``ct.testing.calibrate``. An exact test must fail neither too often nor too rarely (a test that
never fails, such as a p-value compared the wrong way round, is caught: P(0 of 300) = 2e-7); a
test whose rate is a union bound over dependent items must not fail too often and must still fail
at least as often as its largest single item. Each count is an exact binomial test at the suite's
budget ALPHA, booked in the ledger.
"""

import numpy as np
import pytest
from budget import ALPHA
from scipy import special, stats

from collapse_theory import testing as ctt
from collapse_theory.testing.contract import _independence
from collapse_theory.testing.result import finish

RUNS = 300
RATE = 0.05


def rng(seed, tag):
    return np.random.default_rng([seed, tag])


def mean_gauss(s):
    ctt.assert_mean(rng(s, 1).normal(1.0, 2.0, 30), 1.0, false_fail_rate=RATE)


def mean_skewed(s):
    # skewness 2: the t-test's excess rate is O(1/n) (Edgeworth: about 0.0045 at n = 200, 0.001 here)
    ctt.assert_mean(rng(s, 2).exponential(1.0, 1000), 1.0, false_fail_rate=RATE)


def mean_legacy(s):
    # the original positional API: alpha shared by k = 2 calls (each at 0.025, inflated to 0.05 in total)
    x = rng(s, 3).normal(size=(2, 40))
    ctt.assert_mean(x[0], 0.0, 0.01, 2, "legacy a")
    ctt.assert_mean(x[1], 0.0, 0.01, 2, "legacy b")


def log_moment(s):
    x = rng(s, 4).chisquare(9, 50) / 9
    ctt.assert_log_moment(x, special.digamma(4.5) + np.log(2 / 9), false_fail_rate=RATE)


def closed_form(s):
    s2 = rng(s, 5).chisquare(9, 400) / 9  # the unbiased variance of 10 points of N(0, 1)
    ctt.assert_closed_form(s2, "gaussian.replace.unbiased.mean_sigma2", M=10, n=1, sigma0=1.0, false_fail_rate=RATE)


def unbiased(s):
    ctt.assert_unbiased(rng(s, 6).normal(3.0, 1.0, 40), 3.0, false_fail_rate=RATE)


def variance(s):
    ctt.assert_variance(rng(s, 7).normal(0.0, 1.5, 400), 2.25, false_fail_rate=RATE)


def bounded(s):
    ctt.assert_bounded(rng(s, 8).normal(0.3, 1.0, 50), 0.3, false_fail_rate=RATE)  # at the bound: exact


def bounded_rows(s):
    ctt.assert_bounded(rng(s, 9).normal(-0.3, 1.0, (3, 50)), -0.3, side="lower", false_fail_rate=RATE)


def ks(s):
    ctt.assert_ks(rng(s, 10).random(50), stats.uniform.cdf, false_fail_rate=RATE)


def exact_law(s):
    ctt.assert_exact_law(rng(s, 11).chisquare(4, 60), stats.chi2(4), false_fail_rate=RATE)


def exact_law_discrete(s):
    ctt.assert_exact_law(rng(s, 12).binomial(10, 0.3, 60), stats.binom(10, 0.3), seed=s, false_fail_rate=RATE)


def two_sample(s):
    r = rng(s, 13)
    ctt.assert_two_sample_ks(r.normal(size=600), r.normal(size=900), false_fail_rate=RATE)


def same_law(s):
    r = rng(s, 14)
    ctt.assert_same_law(r.standard_t(5, 500), r.standard_t(5, 400), false_fail_rate=RATE)


def same_law_joint(s):
    r = rng(s, 15)
    cov = [[1.0, 0.6], [0.6, 1.0]]
    a, b = r.multivariate_normal([0, 0], cov, 300), r.multivariate_normal([0, 0], cov, 300)
    ctt.assert_same_law(a, b, projections=4, false_fail_rate=RATE)


def rate(s):
    r = rng(s, 16)
    xs = (10, 20, 40, 80)
    groups = [r.standard_normal(2000) ** 2 / m for m in xs]  # E (xbar - mu)^2 = 1 / M: slope -1
    ctt.assert_rate(xs, groups, -1.0, false_fail_rate=RATE)


def rate_with_fit(s):
    r = rng(s, 17)
    xs = (10, 20, 40, 80)
    groups = [r.standard_normal(2000) ** 2 / m for m in xs]
    ctt.assert_rate(xs, groups, -1.0, check_fit=True, false_fail_rate=RATE)


def trend(s):
    gens = np.array([0, 2, 4, 8])
    steps = rng(s, 18).normal(-0.1, 0.3, (8, 60))  # log sigma^2 a random walk with drift -0.1
    walk = np.concatenate([np.zeros((1, 60)), np.cumsum(steps, axis=0)])
    ctt.assert_trend(np.exp(walk[gens]), gens, at_least=0.1, false_fail_rate=RATE)  # at the claimed rate: exact


def independence(s):
    x = rng(s, 19).normal(size=(2, 500))
    finish(_independence(x[0], x[1], RATE, "Spearman"))


EXACT = [mean_gauss, mean_legacy, unbiased, bounded, ks, exact_law, exact_law_discrete, trend]
APPROXIMATE = [mean_skewed, log_moment, closed_form, variance, two_sample, same_law, rate, independence]
UNION = {bounded_rows: 3, same_law_joint: 6, rate_with_fit: 2}  # test -> number of Bonferroni items


@pytest.mark.parametrize("test", EXACT + APPROXIMATE, ids=lambda f: f.__name__)
def test_null_rejection_rate_matches_the_stated_rate(test):
    res = ctt.calibrate(test, RUNS, target_rate=RATE)
    assert res.runs == RUNS and abs(res.stated_rate - RATE) < 1e-12
    ctt.assert_calibrated(res, false_fail_rate=ALPHA, exact=True)


@pytest.mark.parametrize("test", list(UNION), ids=lambda f: f.__name__)
def test_union_bound_tests_are_conservative_but_not_vacuous(test):
    res = ctt.calibrate(test, RUNS, target_rate=RATE)
    ctt.assert_calibrated(res, false_fail_rate=ALPHA, exact=False, at_least=RATE / UNION[test])


def test_calibration_catches_an_inverted_and_an_anticonservative_test():
    """The harness's harness: a test comparing p the wrong way (never failing) and one failing at 3x its rate."""

    def inverted(s):
        p = stats.kstest(rng(s, 20).random(50), "uniform").pvalue
        ctt.ledger.record("inverted", "broken", RATE, True)
        if p > 1.0:  # meant p < RATE: the comparison never fails
            raise AssertionError

    def anticonservative(s):
        ctt.ledger.record("anticonservative", "broken", RATE, True)
        if rng(s, 21).random() < 3 * RATE:
            raise AssertionError

    never = ctt.calibrate(inverted, RUNS, target_rate=RATE)
    assert never.failures == 0 and never.verdict() == "conservative"
    with ctt.ledger.paused(), pytest.raises(AssertionError):  # expected failures: not this test's budget
        ctt.assert_calibrated(never, false_fail_rate=ALPHA, exact=True)
    twice = ctt.calibrate(anticonservative, RUNS, target_rate=RATE)
    assert twice.stated_rate == RATE
    with ctt.ledger.paused(), pytest.raises(AssertionError, match="anticonservative"):
        ctt.assert_calibrated(twice, false_fail_rate=1e-3, exact=False)  # power against 3x: 0.998


def test_calibration_inflates_small_rates_to_the_target():
    res = ctt.calibrate(
        lambda s: ctt.assert_mean(rng(s, 22).normal(size=30), 0.0, false_fail_rate=1e-6), 5, target_rate=RATE
    )
    assert res.factor == pytest.approx(RATE / 1e-6) and res.stated_rate == pytest.approx(RATE)
    before = len(ctt.ledger.entries())
    ctt.calibrate(mean_gauss, 3)
    assert len(ctt.ledger.entries()) == before  # calibration runs are rolled back, not booked
