"""Measure the harness for docs/testing.md: null rejection rates, power of the verbs, power against planted bugs.

Not a test module (pytest does not collect it); run it from the repository root:

    python tests/testing/harness_report.py [RUNS]

It reruns the calibration cases of test_calibration.py over RUNS seeds (default 1000) at the
rate 0.05, the power checks of test_power.py, and the planted-bug power simulations of
test_check_estimator.py, and prints markdown tables.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path

import numpy as np
from scipy import special, stats

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent)]

import test_calibration as tc  # noqa: E402
import test_check_estimator as tce  # noqa: E402

from collapse_theory import testing as ctt  # noqa: E402
from collapse_theory.testing import power  # noqa: E402


def calibration_table(runs: int) -> None:
    print(f"| assertion | failures / {runs} at rate 0.05 | 99 % interval | kind |")
    print("|---|---|---|---|")
    cases = [(f, "exact") for f in tc.EXACT] + [(f, "approximate") for f in tc.APPROXIMATE]
    cases += [(f, f"union bound, {k} items") for f, k in tc.UNION.items()]
    cases += [(mean_skewed_n200, "approximate (Edgeworth: 0.0545)")]
    for f, kind in cases:
        r = ctt.calibrate(f, runs, target_rate=0.05)
        lo, hi = r.interval
        print(f"| `{f.__name__}` | {r.failures} ({r.measured_rate:.3f}) | [{lo:.3f}, {hi:.3f}] | {kind} |")


def mean_skewed_n200(s):
    """The t-test on exponential data at n = 200: its actual rate exceeds the stated one by O(1/n)."""
    ctt.assert_mean(np.random.default_rng([s, 2]).exponential(1.0, 200), 1.0, false_fail_rate=0.05)


def simulated(make, test, runs):
    with ctt.ledger.paused():
        return sum(not test(make(np.random.default_rng([s, 7]))).passed for s in range(runs))


def power_table(runs: int) -> None:
    print(f"\n| verb check | n | predicted power | simulated ({runs} seeds) |")
    print("|---|---|---|---|")
    for rate, delta in ((0.05, 0.5), (1e-4, 0.3), (1e-6, 0.3)):
        n = ctt.required_chains("mean", discrepancy=delta, sd=2.0, false_fail_rate=rate)
        p = power.power("mean", discrepancy=delta, chains=n, sd=2.0, false_fail_rate=rate)
        hits = simulated(
            lambda r, n=n, d=delta: r.normal(d, 2.0, n),
            lambda x, rate=rate: ctt.assert_mean(x, 0.0, false_fail_rate=rate, raise_on_failure=False),
            runs,
        )
        print(f"| t-test, shift {delta} sd 2, rate {rate:g} | {n} | {p:.3f} (exact) | {hits / runs:.3f} |")
    delta, rate = 0.25, 1e-3
    sd = math.sqrt(1 + delta)
    n = ctt.required_chains("variance", discrepancy=delta, sd=sd, false_fail_rate=rate)
    hits = simulated(
        lambda r: r.normal(0.0, sd, n),
        lambda x: ctt.assert_variance(x, 1.0, false_fail_rate=rate, raise_on_failure=False),
        runs,
    )
    print(f"| variance z-test, +{delta}, rate {rate:g} | {n} | 0.8 (normal approx.) | {hits / runs:.3f} |")
    d = 0.15
    n = ctt.required_chains("ks", discrepancy=d, false_fail_rate=rate)
    hits = simulated(
        lambda r: r.random(n),
        lambda x: ctt.assert_exact_law(x, stats.uniform(d, 1.0), false_fail_rate=rate, raise_on_failure=False),
        runs,
    )
    print(f"| one-sample KS, distance {d}, rate {rate:g} | {n} | >= 0.8 (bound) | {hits / runs:.3f} |")
    m = ctt.required_chains("same_law", discrepancy=d, false_fail_rate=rate)
    hits = simulated(
        lambda r: (r.random(m), d + r.random(m)),
        lambda ab: ctt.assert_same_law(*ab, false_fail_rate=rate, raise_on_failure=False),
        runs,
    )
    print(f"| two-sample KS, distance {d}, rate {rate:g} | {m} per sample | >= 0.8 (bound) | {hits / runs:.3f} |")


def planted_table(runs: int) -> None:
    M, rate = tce.M, 1e-6
    print(
        "\n| planted bug | caught by | power at the check's chains | n for 80 % (Gaussian formula) "
        f"| power at n on the exact law (numpy) | engine at n ({runs} seeds) |"
    )
    print("|---|---|---|---|---|---|")
    bug = tce.user(fit=lambda x, w: tce.fit_unbiased(x, w, ddof=0.0))
    prop = ctt.Unbiased("sigma2", 1.0)
    sd = math.sqrt(2 * (M - 1)) / M
    n = ctt.required_chains("mean", discrepancy=1 / M, sd=sd, false_fail_rate=rate)
    hits = tce.caught(bug, prop, n, range(runs), rate)
    p0 = power.power("mean", discrepancy=1 / M, chains=prop.chains, sd=sd, false_fail_rate=rate)
    pe = tce.exact_law_power(lambda r, n: r.chisquare(M - 1, n) / M, 1.0, n, rate, reps=4000)
    print(
        f"| ddof off-by-one (M={M}) | declared Unbiased(sigma2) | {p0:.6f} at {prop.chains} | {n} | {pe:.3f} | {hits / runs:.3f} |"
    )
    bug = tce.user(smp=tce.sample_wrong_scale)
    prop = ctt.ClosedForm("log_sigma2", "gaussian.replace.mle.mean_log_sigma2", {"sigma0": 1.0}, generations=(4,))
    shift, sd = 8 * math.log(1.05), math.sqrt(4 * special.polygamma(1, (M - 1) / 2))
    n = ctt.required_chains("mean", discrepancy=shift, sd=sd, false_fail_rate=rate)
    hits = tce.caught(bug, prop, n, range(runs), rate)
    p0 = power.power("mean", discrepancy=shift, chains=prop.chains, sd=sd, false_fail_rate=rate)
    expected = 4 * (special.digamma((M - 1) / 2) + math.log(2 / M))
    pe = tce.exact_law_power(
        lambda r, n: np.sum(np.log(1.05**2 * r.chisquare(M - 1, (4, n)) / M), axis=0), expected, n, rate, reps=4000
    )
    print(
        f"| sampler sd 1.05 sigma | declared ClosedForm(E log sigma^2_4) | {p0:.6f} at {prop.chains} | {n} "
        f"| {pe:.3f} | {hits / runs:.3f} |"
    )
    ref = ctt.SameLaw(tce.ct.family("gaussian", estimator="mle"), "log_sigma2", generations=8)
    hits = sum(
        not dataclasses.replace(ref, chains=1000).check(bug, samples=M, seed=s, rate=rate).passed
        for s in range(runs // 4)
    )
    print(
        f"| sampler sd 1.05 sigma | declared SameLaw(log sigma^2_8) | - | 1000 (tried) | - | {hits / (runs // 4):.3f} |"
    )
    for name, (make, group, _) in sorted(tce.DETERMINISTIC.items()):
        fam = make()
        caught = sum(
            not ctt.check_estimator(fam, checks=(group,), seed=s, raise_on_failure=False).passed for s in range(10)
        )
        print(f"| {name} | {group} (exact) | 1 | - | - | {caught}/10 seeds |")
    fam = tce.user(smp=tce.sample_half_fixed)
    caught = sum(
        not ctt.check_estimator(fam, checks=("generations",), seed=s, raise_on_failure=False).passed for s in range(10)
    )
    print(f"| half the points from a fixed key | generations (exact: shared points) | 1 | - | - | {caught}/10 seeds |")


if __name__ == "__main__":
    runs = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 1000
    if "--planted-only" not in sys.argv:
        calibration_table(runs)
        power_table(runs)
    planted_table(min(runs, 200))
