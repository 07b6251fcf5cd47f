"""Gaussian chains against the closed forms of docs/derivations.md (Gaussian replace, d-dimensional,
growing sample sizes, accumulate, fresh real data).

Tolerances: each assertion is a z-test whose threshold comes from the false-failure budget
ALPHA shared by the k assertions of one test (Bonferroni), or a KS test at ALPHA / k. Raw moments
are tested only where n psi1((M-1)/2) p^2 <= 3 (light enough tails); elsewhere log-moments and
exact laws are tested.
"""

import numpy as np
import pytest
from budget import ALPHA
from scipy import special, stats

import collapse_theory as ct
from collapse_theory.testing import assert_ks, assert_mean, assert_two_sample_ks, assert_variance, z_threshold

C = 20_000


def sim(**kw):
    base = dict(family="gaussian", estimator="unbiased", samples=10, generations=20, chains=C, seed=11)
    base.update(kw)
    return ct.simulate(ct.SimConfig(**base), progress=False)


@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
@pytest.mark.parametrize("kernel", ["exact", "sample"])
def test_replace_log_moments_and_mean_error(estimator, kernel):
    m = 10
    r = sim(estimator=estimator, kernel=kernel, record=(1, 5, 20))
    c = 1 / (m - 1) if estimator == "unbiased" else 1 / m
    drift = special.digamma((m - 1) / 2) + np.log(2 * c)
    tri = special.polygamma(1, (m - 1) / 2)
    k = 3 * 2 + 1
    for i, n in enumerate(r.generations):
        assert_mean(r.values["log_sigma2"][i], n * drift, ALPHA, k, f"E log s2 n={n}")
        assert_variance(r.values["log_sigma2"][i], n * tri, ALPHA, k, f"Var log s2 n={n}")
    mu_exact = 5 / m if estimator == "unbiased" else 1 - (1 - 1 / m) ** 5
    assert_mean(r.values["mu_err2"][1], mu_exact, ALPHA, k, "E mu_err2 n=5")


def test_one_generation_exact_laws():
    m = 10
    r = sim(record=(1,))
    # (M-1) sigma_1^2 ~ chi2_{M-1} and sqrt(M) |mu_1| ~ |N(0,1)|  (Cochran).
    assert_ks((m - 1) * r.values["sigma2"][0], stats.chi2(m - 1).cdf, ALPHA, k=2)
    assert_ks(np.sqrt(m * r.values["mu_err2"][0]), stats.halfnorm.cdf, ALPHA, k=2)


def test_w2_and_sigma_moments_short_horizon():
    m, n = 100, 20
    r = sim(samples=m, generations=n, record=(n,))
    c4 = np.sqrt(2 / (m - 1)) * np.exp(special.gammaln(m / 2) - special.gammaln((m - 1) / 2))
    assert_mean(r.values["sigma"][0], c4**n, ALPHA, 3, "E sigma")
    assert_mean(r.values["sigma2"][0], 1.0, ALPHA, 3, "E sigma2")
    assert_mean(r.values["w2_sq"][0], n / m + 2 * (1 - c4**n), ALPHA, 3, "E W2^2")


def test_exact_and_sample_kernels_agree_in_law():
    a = sim(record=(7,), kernel="exact", seed=1)
    b = sim(record=(7,), kernel="sample", seed=2)
    for name in ("log_sigma2", "mu_err2"):
        assert_two_sample_ks(a.values[name][0], b.values[name][0], ALPHA, k=2, what=name)


def test_negative_control_kernels_with_different_m_disagree():
    a = sim(record=(7,), samples=10)
    b = sim(record=(7,), samples=12, kernel="sample", seed=2)
    with pytest.raises(AssertionError):
        assert_two_sample_ks(a.values["log_sigma2"][0], b.values["log_sigma2"][0], ALPHA)


@pytest.mark.parametrize("kernel", ["exact", "sample"])
def test_long_horizon_stays_exact(kernel):
    """10^4 generations at M = 10: log sigma^2 ~ -1000, far below float32's range for sigma^2."""
    m, n = 10, 10_000
    r = sim(samples=m, generations=n, chains=2000 if kernel == "exact" else 512, record=(n,), kernel=kernel)
    drift = special.digamma((m - 1) / 2) + np.log(2 / (m - 1))
    ls = r.values["log_sigma2"][0]
    assert np.all(np.isfinite(ls))
    assert_mean(ls, n * drift, ALPHA, 2, "E log s2 at 1e4")
    assert_variance(ls, n * special.polygamma(1, (m - 1) / 2), ALPHA, 2, "Var log s2 at 1e4")


def _accumulate_closed(m, n, estimator):
    s = [1.0]
    for j in range(1, n + 1):
        if j == 1:
            s.append(1.0 if estimator == "unbiased" else 1 - 1 / m)
        elif estimator == "unbiased":
            s.append(s[-1] * (1 - 1 / (j * (j * m - 1))))
        else:
            s.append(s[-1] * (1 - 1 / (j * j * m)))
    mu = sum(s[i - 1] / i**2 for i in range(1, n + 1)) / m
    return s[n], mu


@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
def test_accumulate_products(estimator):
    m, n = 5, 10
    r = sim(scenario="accumulate", estimator=estimator, samples=m, generations=n, record=(n,), chains=40_000)
    s_n, mu_n = _accumulate_closed(m, n, estimator)
    assert_mean(r.values["sigma2"][0], s_n, ALPHA, 2, "accumulate E sigma2")
    assert_mean(r.values["mu_err2"][0], mu_n, ALPHA, 2, "accumulate E mu_err2")
    # the pi^2/6 bound (Dey & Donoho), one-sided at the same budget: mean - bound <= z * SE
    x = r.values["mu_err2"][0] * m
    assert x.mean() < np.pi**2 / 6 + z_threshold(ALPHA, 2) * x.std(ddof=1) / np.sqrt(x.size)


def test_fresh_split_fixed_point():
    m, a, t = 10, 0.3, 150
    r = sim(scenario="fresh", real_fraction=a, samples=m, generations=t, record=(t,))
    e_star = (m - 1) / (m * (m * a * (2 - a) - 1))
    v_star = a * (2 * m - 1 - m * a) / (m * a * (2 - a) - 1)
    assert_mean(r.values["mu_err2"][0], e_star, ALPHA, 2, "e*")
    assert_mean(r.values["sigma2"][0], v_star, ALPHA, 2, "v*")


def test_growing_schedule_w2():
    n = 10
    r = sim(samples=None, samples_schedule="10*(t+1)", generations=n, record=(n,))
    ms = 10 * np.arange(1, n + 1)
    c4 = np.sqrt(2 / (ms - 1)) * np.exp(special.gammaln(ms / 2) - special.gammaln((ms - 1) / 2))
    assert_mean(r.values["w2_sq"][0], np.sum(1 / ms) + 2 * (1 - np.prod(c4)), ALPHA, 1, "schedule E W2^2")


@pytest.mark.parametrize("kernel", ["exact", "sample"])
def test_multivariate_log_det_trace_mean(kernel):
    d, m, n = 3, 10, 5
    r = sim(dim=d, samples=m, generations=n, record=(n,), kernel=kernel)
    e_logdet = n * sum(special.digamma((m - j) / 2) + np.log(2 / (m - 1)) for j in range(1, d + 1))
    assert_mean(r.values["log_det"][0], e_logdet, ALPHA, 3, "E log det")
    assert_mean(r.values["trace"][0], d, ALPHA, 3, "E trace")
    assert_mean(r.values["mu_err2"][0], n * d / m, ALPHA, 3, "E |mu err|^2")


def test_multivariate_long_horizon_finite():
    """10^4 generations, d = 3, M = 5: log det ~ -2.7e4 and the eigenvalues spread by e^(thousands);
    the log-Cholesky form keeps every metric finite and E log det on its exact line."""
    n, m = 10_000, 5
    r = sim(dim=3, samples=m, generations=n, chains=256, record=(n,))
    for k in r.values:
        assert np.all(np.isfinite(r.values[k])), k
    e_logdet = n * sum(special.digamma((m - j) / 2) + np.log(2 / (m - 1)) for j in range(1, 4))
    assert_mean(r.values["log_det"][0], e_logdet, ALPHA, 1, "E log det at 1e4")


def test_subsample_matches_independent_reference():
    """No closed form (docs/derivations.md, 'Accumulate-subsample (no closed form)'): compare with the
    independent MC reference tabulated there, M=20, t=50: E(mu-mu0)^2 = 0.1433 +- 0.0015, combining
    both standard errors."""
    r = sim(scenario="accumulate-subsample", samples=20, generations=50, record=(50,), chains=4000)
    x = r.values["mu_err2"][0]
    se = np.hypot(x.std(ddof=1) / np.sqrt(x.size), 0.0015)
    z = (x.mean() - 0.1433) / se
    assert abs(z) < stats.norm.isf(ALPHA / 2)


def test_kl_matches_numpyro():
    """The log-space KL metric equals numpyro's Normal-Normal KL; both in float64, so they may
    differ only by a few ulp of rounding (rtol 1e-10 leaves five orders of magnitude of slack)."""
    import jax
    import jax.numpy as jnp
    import numpyro.distributions as dist
    from numpyro.distributions.kl import kl_divergence

    r = sim(record=(3,), chains=64, precision="float64")
    mu = r.values["mu_err2"][0] ** 0.5  # KL depends on the mean only through (mu - mu0)^2
    s = r.values["sigma"][0]
    with jax.enable_x64(True):
        ref = np.asarray(kl_divergence(dist.Normal(jnp.asarray(mu), jnp.asarray(s)), dist.Normal(0.0, 1.0)))
    np.testing.assert_allclose(r.values["kl"][0], ref, rtol=1e-10, atol=1e-14)
