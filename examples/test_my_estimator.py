"""Test your own estimator with collapse_theory.testing: a complete pytest file.

The estimator: an unbiased Gaussian fit with frequency weights, written for ONE chain. The tests:

1. the contract every family meets (``check_estimator``: determinism, chunk invariance, prefix
   extension, independent chains and fresh draws, permutation invariance, weights, merge,
   equivariance, no recompilation, and the properties declared below);
2. the same law as the built-in exact kernel after 8 generations of replace;
3. the exact law of the first fit, (M - 1) s^2 / sigma^2 ~ chi^2_{M-1}, by the PIT;
4. E log sigma^2 against the registry's closed form at several generations;
5. collapse under replace (at least half the almost-sure rate) and boundedness under accumulate;
6. the 1 / M rate of the mean's squared error;
7. the experiment design: the chains used detect the bug we care about.

Every statistical assertion states its false-failure rate (``RATE`` per test); the pytest plugin
sums them and prints the run's total. Each test takes the plugin's ``ct_seed`` fixture, so

    pytest examples/test_my_estimator.py                      # under a minute on 2 cores
    pytest examples/test_my_estimator.py --ct-calibrate 200   # each test's measured false-failure rate

reruns them over 200 seeds at an inflated rate and reports how often each fails against what it states.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from scipy import stats

import collapse_theory as ct
from collapse_theory import testing as ctt
from collapse_theory.theory import evaluate

M = 12
RATE = 1e-6
"""Each test's false-failure rate: the probability that this correct estimator fails it."""


def sample(key, params, n):
    """ONE chain: n points from N(mu, sigma^2)."""
    mu, sigma = params
    return mu + sigma * jax.random.normal(key, (n,))


def fit(points, weights):
    """ONE chain: mean and unbiased SD with frequency weights (0 marks an empty slot)."""
    n = jnp.sum(weights)
    mu = jnp.sum(weights * points) / n
    return (mu, jnp.sqrt(jnp.sum(weights * (points - mu) ** 2) / (n - 1.0)))


def metrics(params):
    """ONE chain: what to record."""
    mu, sigma = params
    return {"mu_err2": mu**2, "sigma2": sigma**2, "log_sigma2": 2.0 * jnp.log(sigma)}


MINE = ct.estimator(sample=sample, fit=fit, truth=(0.0, 1.0), metrics=metrics, name="my-unbiased", min_samples=2)
ctt.declare(
    MINE,
    ctt.Unbiased("sigma2", 1.0),  # the point of ddof = 1
    ctt.Equivariance.location_scale(lambda p, g: (g[0] + g[1] * p[0], abs(g[1]) * p[1])),
)
REFERENCE = ct.family("gaussian", estimator="unbiased")


def test_contract():
    """The contract every family meets, with the properties declared above."""
    report = ctt.check_estimator(MINE, samples=M, false_fail_rate=RATE)
    assert report.passed and len(report.checks) == 14  # check_family's 6, 7 more, the declared unbiasedness


def test_same_law_as_the_builtin_kernel(ct_seed):
    """The law of log sigma^2 after 8 generations is the built-in exact kernel's."""
    ctt.assert_same_law(
        MINE, REFERENCE, samples=M, generations=8, metric="log_sigma2", chains=20000, seed=ct_seed, false_fail_rate=RATE
    )


def run(scenario="replace", samples=M, chains=20000, seed=0, record=(1, 2, 4, 8)):
    """Eight generations of ``MINE`` (one compiled program per scenario and sample size, whatever is recorded)."""
    return ct.run(MINE, scenario, samples=samples, generations=8, chains=chains, seed=seed, record=record)


def test_exact_law_of_the_first_fit(ct_seed):
    """(M - 1) s^2 / sigma^2 ~ chi^2_{M-1} after one generation (Cochran's theorem)."""
    r = run(seed=ct_seed, record=(1,))
    ctt.assert_exact_law((M - 1) * r.values["sigma2"][0], stats.chi2(M - 1), false_fail_rate=RATE)


def test_log_variance_against_the_closed_form(ct_seed):
    """E log sigma^2_n = n [psi((M-1)/2) + log(2/(M-1))] at three generations (Bonferroni)."""
    gens = (1, 4, 8)
    r = run(seed=ct_seed, record=gens)
    for i, n in enumerate(gens):
        ctt.assert_closed_form(
            r.values["log_sigma2"][i],
            "gaussian.replace.unbiased.mean_log_sigma2",
            M=M,
            n=n,
            sigma0=1.0,
            false_fail_rate=RATE / len(gens),
            what=f"E log sigma^2_{n}",
        )


def test_collapse_under_replace_and_boundedness_under_accumulate(ct_seed):
    """Replace: log sigma^2 falls at least half the almost-sure rate; accumulate: E mu_err2 stays bounded."""
    rate = -evaluate("gaussian.replace.unbiased.as_rate", M=M)  # E log sigma^2 falls this much per generation
    ctt.assert_collapse(run(seed=ct_seed, record=(0, 2, 4, 8)), "sigma2", at_least=rate / 2, false_fail_rate=RATE / 2)
    acc = run("accumulate", chains=4000, seed=ct_seed, record=(2, 8))
    bound = evaluate("accumulate.mean_sq_mean_error_bound", M=M, sigma0=1.0)  # E |mu_n - mu|^2 <= (pi^2/6) sigma^2/M
    ctt.assert_bounded(acc.values["mu_err2"], bound, false_fail_rate=RATE / 2, what="accumulate E mu_err2")


def test_rate_of_the_mean_error(ct_seed):
    """The slope of log E |mu_1 - mu|^2 on log M is -1 (a fitted slope in a derived band)."""
    sizes = (6, 12, 24)
    groups = [run(samples=m, seed=ct_seed, record=(1,)).values["mu_err2"][0] for m in sizes]
    ctt.assert_rate(sizes, groups, -1.0, false_fail_rate=RATE)  # E |mu_1 - mu|^2 = sigma^2 / M


def test_the_design_detects_a_ddof_bug():
    """A fit dividing by n instead of n - 1 shifts log sigma^2_8 by 8 log((M - 1) / M)."""
    shift = -8 * math.log((M - 1) / M)
    sd = math.sqrt(evaluate("gaussian.replace.unbiased.var_log_sigma2", M=M, n=8, sigma0=1.0))
    bug_distance = ctt.ks_distance(stats.norm(0.0, sd), stats.norm(shift, sd))  # log sigma^2_8 is nearly normal
    assert ctt.detectable_discrepancy("same_law", chains=20000, false_fail_rate=RATE) < bug_distance
    assert ctt.required_chains("same_law", discrepancy=bug_distance, false_fail_rate=RATE) < 20000
