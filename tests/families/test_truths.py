"""Misspecified truths (functional error): parsing, exact draws, population fits, W2 accuracy.

Tolerances: z-tests and KS tests at the suite budget ALPHA (Bonferroni over each test's k
assertions); quadrature accuracies are measured against scipy references and compared with the
accuracy the module states.
"""

import math

import numpy as np
import pytest
from budget import ALPHA
from scipy import integrate, optimize, stats

import collapse_theory as ct
from collapse_theory import truths
from collapse_theory.testing import assert_ks, assert_mean

MIX = "mixture:0.5,-2,1;0.5,2,1"
SKEW = "mixture:0.9,0,1;0.1,4,0.5"


def mixture_cdf(t):
    return lambda x: sum(w * stats.norm.cdf((x - m) / s) for w, m, s in zip(t.weights, t.means, t.sds, strict=True))


@pytest.mark.parametrize(
    "spec, message",
    [
        ("mixture:0.5,0,1;0.6,1,1", "sum to 1"),
        ("mixture:1,0,0", "positive"),
        ("mixture:1,0", "components"),
        ("student-t:2", "df > 2"),
        ("student-t:5,0,-1", "scale"),
        ("cauchy:1", "unknown --truth"),
        ("mixture:a,b,c", "numbers"),
    ],
)
def test_parse_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        truths.parse_truth(spec)


def test_moments_and_spec_round_trip():
    t = truths.parse_truth(SKEW)
    assert truths.parse_truth(t.spec()) == t
    mean, var = truths.moments(t)
    assert mean == pytest.approx(0.4, rel=1e-15)
    assert var == pytest.approx(0.9 * (1 + 0.16) + 0.1 * (0.25 + 3.6**2), rel=1e-14)
    assert truths.moments(truths.parse_truth("student-t:5,1,2")) == (1.0, 4.0 * 5 / 3)


@pytest.mark.parametrize("spec, bound", [(MIX, 1e-6), (SKEW, 2e-4), ("student-t:3", 1e-8), ("student-t:5", 1e-8)])
def test_w2_quadrature_accuracy(spec, bound):
    """The composite Gauss-Legendre W2 against adaptive quadrature, below the stated accuracy."""
    assert truths.w2_accuracy(truths.parse_truth(spec)) < bound


def test_w2_against_direct_quantile_integral():
    """W2^2(mixture, N(0.3, 1.7^2)) by the package vs brentq quantiles + quad over u in (0, 1)."""
    t = truths.parse_truth(MIX)
    cdf = mixture_cdf(t)

    def q(u):
        return optimize.brentq(lambda x: cdf(x) - u, -30, 30, xtol=1e-14)

    ref = integrate.quad(lambda u: (q(u) - 0.3 - 1.7 * stats.norm.ppf(u)) ** 2, 0, 1, limit=400, epsabs=1e-11)[0]
    import jax.numpy as jnp

    got = float(truths.w2_sq(truths.quantile_nodes(t), jnp.asarray([0.3]), jnp.asarray([1.7]))[0])
    assert abs(got - ref) < 1e-5


@pytest.mark.parametrize("spec", [MIX, "student-t:4,1,0.5"])
def test_real_points_follow_the_truth(spec):
    import jax.numpy as jnp

    from collapse_theory.random import bits

    t = truths.parse_truth(spec)
    x = np.asarray(truths.points(t, bits.key_from_seed(3), jnp.arange(4000, dtype=jnp.uint32), 5, jnp.float32))
    cdf = mixture_cdf(t) if t.kind == "mixture" else (lambda v: stats.t.cdf((v - t.loc) / t.scale, t.df))
    # Five independent points per chain: test each column (k = 5 KS tests).
    for j in range(5):
        assert_ks(x[:, j], cdf, ALPHA, 5, f"column {j}")


def sim(**kw):
    base = dict(family="gaussian", estimator="unbiased", generations=3, chains=20_000, seed=5, record=(0, 1, 3))
    return ct.simulate(ct.SimConfig(**(base | kw)), progress=False)


def test_population_fit_is_the_moment_match_and_stays():
    r = sim(truth=SKEW, samples=math.inf, chains=64)
    mean, var = truths.moments(truths.parse_truth(SKEW))
    for g in range(3):
        np.testing.assert_allclose(r.values["sigma2"][g], var, rtol=1e-6)
        np.testing.assert_allclose(r.values["mu_err2"][g], 0.0, atol=1e-10)
    # The functional error alone: W2 of the truth to its moment-matched Gaussian (> 0).
    w2 = r.values["w2_sq"]
    assert np.ptp(w2) < 1e-6 and w2[0, 0] > 0.05
    assert r.config.to_dict()["samples"] == "inf"


@pytest.mark.parametrize("spec", [MIX, "student-t:6"])
def test_finite_sample_fit_to_misspecified_truth(spec):
    """Model 1 is fit to M real draws: E (mu_1 - mu_0)^2 = var/M and E sigma_1^2 = var (unbiased)."""
    M = 30
    mean, var = truths.moments(truths.parse_truth(spec))
    r = sim(truth=spec, samples=M)
    assert_mean(r.values["mu_err2"][1], var / M, ALPHA, 2, "E mu_err2 at n=1")
    assert_mean(r.values["sigma2"][1], var, ALPHA, 2, "E sigma2 at n=1")


def test_fresh_real_data_come_from_the_truth():
    """Fresh split with alpha = 1: every generation is a fresh real sample, E sigma_n^2 = var."""
    spec = "student-t:8,0,1"
    _, var = truths.moments(truths.parse_truth(spec))
    r = sim(truth=spec, samples=20, scenario="fresh", real_fraction=1.0)
    assert_mean(r.values["sigma2"][2], var, ALPHA, 1, "E sigma2 at n=3")


def test_naive_kernel_takes_the_truth_too():
    r = sim(truth=MIX, samples=20, kernel="naive-sample", precision="bfloat16", chains=2000)
    assert np.isfinite(r.values["w2_sq"]).all()
