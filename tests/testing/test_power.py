"""The power verbs agree with the assertions: simulated power at the required n reaches the target.

``required_chains`` and ``detectable_discrepancy`` state formulas (``collapse_theory.testing.power``):
exact for the t-test of Gaussian data (noncentral t), normal approximations for the variance test,
distribution-free lower bounds for the KS tests. Each is checked by simulation over 300 seeds at
the required n: the number of rejections is an exact binomial test at the suite's ALPHA against
the predicted power (two-sided where the formula is exact, one-sided "at least" where it is a
bound or an approximation).
"""

import doctest
import importlib

import numpy as np
import pytest
from budget import ALPHA
from scipy import stats

from collapse_theory import testing as ctt
from collapse_theory.testing import power

RUNS = 300


def rejections(make, test, runs=RUNS):
    with ctt.ledger.paused():  # simulated alternatives: the failures are the data
        return sum(not test(make(np.random.default_rng([s, 99]))).passed for s in range(runs))


@pytest.mark.parametrize("rate, delta", [(0.05, 0.5), (1e-4, 0.3)])
def test_t_test_power_is_exact_at_the_required_n(rate, delta):
    n = ctt.required_chains("mean", discrepancy=delta, sd=2.0, false_fail_rate=rate)
    p_n = power.power("mean", discrepancy=delta, chains=n, sd=2.0, false_fail_rate=rate)
    assert p_n >= 0.8 > power.power("mean", discrepancy=delta, chains=n - 1, sd=2.0, false_fail_rate=rate)
    hits = rejections(
        lambda r: r.normal(delta, 2.0, n),
        lambda x: ctt.assert_mean(x, 0.0, false_fail_rate=rate, raise_on_failure=False),
    )
    ctt.assert_binomial(hits, RUNS, p_n, false_fail_rate=ALPHA, what=f"t-test power at n={n}")


def test_variance_test_power_at_the_required_n():
    delta, rate = 0.25, 1e-3
    sd = np.sqrt(1.0 + delta)  # the data's sd under the alternative, as the result reports it
    n = ctt.required_chains("variance", discrepancy=delta, sd=sd, false_fail_rate=rate)
    hits = rejections(
        lambda r: r.normal(0.0, sd, n),
        lambda x: ctt.assert_variance(x, 1.0, false_fail_rate=rate, raise_on_failure=False),
    )
    ctt.assert_binomial(hits, RUNS, 0.8, false_fail_rate=ALPHA, side="low", what=f"variance power at n={n}")


def test_ks_power_bounds_hold_at_the_required_n():
    d, rate = 0.15, 1e-3
    n = ctt.required_chains("ks", discrepancy=d, false_fail_rate=rate)
    shifted = stats.uniform(d, 1.0)  # KS distance d from U(0, 1)
    hits = rejections(
        lambda r: r.random(n), lambda x: ctt.assert_exact_law(x, shifted, false_fail_rate=rate, raise_on_failure=False)
    )
    ctt.assert_binomial(hits, RUNS, 0.8, false_fail_rate=ALPHA / 2, side="low", what=f"one-sample KS power at n={n}")
    m = ctt.required_chains("same_law", discrepancy=d, false_fail_rate=rate)
    hits = rejections(
        lambda r: (r.random(m), d + r.random(m)),
        lambda ab: ctt.assert_same_law(*ab, false_fail_rate=rate, raise_on_failure=False),
    )
    ctt.assert_binomial(hits, RUNS, 0.8, false_fail_rate=ALPHA / 2, side="low", what=f"two-sample KS power at n={m}")


def test_planning_a_normal_shift_with_ks_distance():
    d = ctt.ks_distance(stats.norm(0, 1), stats.norm(0.2, 1))
    assert d == pytest.approx(2 * stats.norm.cdf(0.1) - 1, abs=1e-6)
    n = ctt.required_chains("same_law", discrepancy=d, false_fail_rate=1e-6)
    assert ctt.detectable_discrepancy("same_law", chains=n, false_fail_rate=1e-6) <= d


@pytest.mark.parametrize("test", ["mean", "variance", "ks", "same_law"])
@pytest.mark.parametrize("rate", [1e-6, 0.05])
def test_required_chains_inverts_detectable_discrepancy(test, rate):
    for d in (0.05, 0.3):
        n = ctt.required_chains(test, discrepancy=d, false_fail_rate=rate, sd=1.5)
        assert ctt.detectable_discrepancy(test, chains=n, false_fail_rate=rate, sd=1.5) <= d
        if n > power.MIN_SAMPLES[power._kind(test)]:
            assert ctt.detectable_discrepancy(test, chains=n - 1, false_fail_rate=rate, sd=1.5) > d
        det = ctt.detectable_discrepancy(test, chains=n, false_fail_rate=rate, sd=1.5)
        assert power.power(test, discrepancy=det, chains=n, false_fail_rate=rate, sd=1.5) == pytest.approx(
            0.8, abs=1e-6
        )
    small = ctt.detectable_discrepancy(test, chains=10_000, false_fail_rate=rate)
    large = ctt.detectable_discrepancy(test, chains=1_000_000, false_fail_rate=rate)
    assert large < small and large == pytest.approx(small / 10, rel=0.05)  # 1 / sqrt(n)


def test_results_report_the_verbs_numbers():
    r = np.random.default_rng(0)
    x = r.normal(0.0, 3.0, 500)
    res = ctt.assert_mean(x, 0.0, false_fail_rate=1e-6)
    sd = x.std(ddof=1)
    assert res.detectable == pytest.approx(ctt.detectable_discrepancy("mean", chains=500, sd=sd, false_fail_rate=1e-6))
    ks2 = ctt.assert_two_sample_ks(x, r.normal(0.0, 3.0, 800), false_fail_rate=1e-6)
    assert ks2.detectable == pytest.approx(
        ctt.detectable_discrepancy("same_law", chains=500, chains_b=800, false_fail_rate=1e-6)
    )
    assert ks2.threshold == pytest.approx(power.ks_threshold(1e-6, 500, 800))
    assert ks2.detectable_discrepancy == ks2.detectable and 0 < ks2.detectable < 1


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="unknown test"):
        ctt.required_chains("chi2", discrepancy=0.1)
    with pytest.raises(ValueError, match="KS distance"):
        ctt.required_chains("ks", discrepancy=1.5)
    with pytest.raises(ValueError, match="false_fail_rate"):
        ctt.detectable_discrepancy("mean", chains=100, false_fail_rate=0.0)
    with pytest.raises(ValueError, match="chains"):
        ctt.detectable_discrepancy("mean", chains=1)


@pytest.mark.parametrize("module", ["power", "ledger", "assertions", "laws", "properties"])
def test_docstring_examples(module):
    m = importlib.import_module(f"collapse_theory.testing.{module}")
    with ctt.ledger.paused():
        res = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
    assert res.attempted > 0 and res.failed == 0
