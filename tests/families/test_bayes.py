"""Bayesian posterior-predictive learners: the Dirichlet (Laplace) and NIG learners, and whether a prior stops collapse.

Every Monte Carlo tolerance is a z-test or KS test at the suite budget ALPHA, Bonferroni over the
assertions of one test; MCMC comparisons use the NUTS effective sample size for the standard error.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from harness import run
from scipy import stats

import collapse_theory as ct
from collapse_theory.families.categorical import categorical
from collapse_theory.families.gaussian import gaussian
from collapse_theory.families.gaussian.bayes import Params, gaussian_bayes, posterior
from collapse_theory.random import bits
from collapse_theory.testing.assertions import assert_ks, assert_mean, assert_two_sample_ks, z_threshold
from collapse_theory.theory import registry
from collapse_theory.theory.bayes import nig_mean_variance


def _mcmc_z(draws: np.ndarray, expected: np.ndarray, k: int, what: str) -> None:
    """z-test of MCMC posterior means, SE = posterior SD / sqrt(ESS) per component."""
    from numpyro.diagnostics import effective_sample_size

    x = np.asarray(draws, np.float64).reshape(draws.shape[0], -1)
    ess = effective_sample_size(x[None])
    se = x.std(axis=0, ddof=1) / np.sqrt(ess)
    z = (x.mean(axis=0) - np.ravel(expected)) / se
    assert np.all(np.abs(z) <= z_threshold(ALPHA, k)), f"{what}: z = {z}, ESS = {ess}"


# ---------------------------------------------------------------- Dirichlet = WF with mutation


def test_dirichlet_heterozygosity_matches_closed_form():
    probs, M, a, G = (0.5, 0.3, 0.2), 20, 0.5, 120
    K = len(probs)
    A = M * (M - 1) / (M + K * a) ** 2
    assert G - 60 >= 10 / (1 - A)  # burn-in for the stationary comparison
    record = (1, 5, 20, G)
    cfg = ct.SimConfig(
        family="categorical",
        estimator="laplace",
        smoothing=a,
        probs=probs,
        scenario="replace",
        samples=M,
        generations=G,
        chains=20000,
        seed=2024,
        record=record,
    )
    h = np.asarray(ct.simulate(cfg, progress=False).values["heterozygosity"])
    assert h.shape == (len(record), 20000)
    h0 = 1 - sum(x * x for x in probs)
    for row, t in enumerate(record[:-1]):
        exp = registry.evaluate("bayes.dirichlet.mean_heterozygosity", H0=h0, M=M, K=K, a=a, n=t)
        assert_mean(h[row], exp, ALPHA, k=len(record), what=f"E H_{t}")
    h_star = registry.evaluate("bayes.dirichlet.stationary_heterozygosity", M=M, K=K, a=a)
    assert_mean(h[-1], h_star, ALPHA, k=len(record), what="stationary H*")
    # Without a prior the same chain collapses: H* is far above the neutral E H_G.
    wf = registry.evaluate("wf.replace.mean_heterozygosity", H0=h0, M=M, n=G)
    assert wf < 0.01 < 0.5 * h_star


def test_dirichlet_posterior_mean_matches_nuts():
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    a, K = 0.7, 3
    labels = np.array([0, 0, 0, 0, 0, 1, 1, 1, 2, 0, 1, 0])
    counts = np.bincount(labels, minlength=K)

    def model():
        p = numpyro.sample("p", dist.Dirichlet(jnp.full((K,), a)))
        numpyro.sample("obs", dist.Categorical(probs=p), obs=jnp.asarray(labels))

    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=2000, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(7))
    conjugate = (counts + a) / (labels.size + K * a)
    fam = categorical((0.4, 0.3, 0.3), estimator="laplace", smoothing=a)
    fitted = fam.fit(fam.points_stats(jnp.asarray(labels)[None], jnp.ones((1, labels.size), bool)))
    np.testing.assert_allclose(np.asarray(fitted.probs[0]), conjugate, rtol=1e-6)
    _mcmc_z(np.asarray(mcmc.get_samples()["p"]), conjugate, K, "Dirichlet posterior mean")


# ---------------------------------------------------------------- NIG learner


def test_nig_fit_is_the_conjugate_update():
    mu0, k0, a0, b0 = 0.5, 2.0, 3.0, 1.5
    x = np.array([0.3, -1.2, 2.0, 0.7, 1.1, -0.4, 0.9])
    fam = gaussian_bayes(prior=(mu0, k0, a0, b0))
    s = fam.points_stats(jnp.asarray(x)[None], jnp.ones((1, x.size), bool))
    p = fam.fit(s)
    n, xbar = x.size, x.mean()
    kn, an = k0 + n, a0 + n / 2
    mun = (k0 * mu0 + n * xbar) / kn
    bn = b0 + 0.5 * np.sum((x - xbar) ** 2) + k0 * n * (xbar - mu0) ** 2 / (2 * kn)
    np.testing.assert_allclose(np.asarray(p.mu), [mun], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(p.dof), [2 * an], rtol=1e-6)
    np.testing.assert_allclose(np.exp(2 * np.asarray(p.log_scale)), [bn * (kn + 1) / (an * kn)], rtol=1e-5)
    var = np.asarray(fam.metrics(p)["sigma2"])
    np.testing.assert_allclose(var, [bn * (kn + 1) / (kn * (an - 1))], rtol=1e-5)
    empty = fam.fit(fam.empty(1))  # no data: the prior predictive
    np.testing.assert_allclose(np.asarray(empty.dof), [2 * a0])
    np.testing.assert_allclose(np.exp(2 * np.asarray(empty.log_scale)), [b0 * (k0 + 1) / (a0 * k0)], rtol=1e-6)


def test_nig_posterior_matches_nuts():
    import numpyro
    import numpyro.distributions as dist
    from numpyro.infer import MCMC, NUTS

    mu0, k0, a0, b0 = 0.0, 1.5, 3.0, 2.0
    x = np.array([1.3, 0.2, 2.1, 0.9, 1.7, -0.3, 1.1, 0.6])

    def model():
        s2 = numpyro.sample("sigma2", dist.InverseGamma(a0, b0))
        mu = numpyro.sample("mu", dist.Normal(mu0, jnp.sqrt(s2 / k0)))
        numpyro.sample("obs", dist.Normal(mu, jnp.sqrt(s2)), obs=jnp.asarray(x))

    mcmc = MCMC(NUTS(model), num_warmup=300, num_samples=2000, progress_bar=False)
    mcmc.run(jax.random.PRNGKey(11))
    draws = mcmc.get_samples()
    fam = gaussian_bayes(prior=(mu0, k0, a0, b0))
    post = posterior(
        fam.points_stats(jnp.asarray(x, jnp.float32)[None], jnp.ones((1, x.size), bool)), (mu0, k0, a0, b0)
    )
    exp_mu = float(post.mu[0])
    exp_s2 = float(post.beta[0] / (post.alpha[0] - 1.0))  # E sigma^2 of InvGamma(alpha_n, beta_n)
    both = np.stack([np.asarray(draws["mu"]), np.asarray(draws["sigma2"])], axis=1)
    _mcmc_z(both, np.array([exp_mu, exp_s2]), 2, "NIG posterior means (mu, sigma^2)")


def test_student_t_sampler_law():
    fam = gaussian_bayes()
    C, cap = 2000, 10
    ch = jnp.arange(C, dtype=jnp.uint32)
    key = bits.key_from_seed(5)
    p = Params(jnp.full((C,), 1.0), jnp.full((C,), math.log(2.0)), jnp.full((C,), 5.0))
    points = jax.jit(fam.points, static_argnums=3)
    x = np.asarray(points(key, ch, p, cap)).ravel()
    assert_ks((x - 1.0) / 2.0, stats.t(5).cdf, ALPHA, k=3, what="Student-t(5) points")
    z = np.asarray(points(key, ch, fam.truth(C), cap))
    assert_ks(z, stats.norm.cdf, ALPHA, k=3, what="truth (dof = inf) points")
    # Negative control: the t(5) draws are not normal.
    assert stats.kstest((x - 1.0) / (2.0 * math.sqrt(5 / 3)), stats.norm.cdf).pvalue < ALPHA


def test_nig_mean_predictive_variance_recursion():
    # alpha0 = 5 keeps the stationary predictive variance's fourth moment finite (Kesten tail), so
    # the CLT standard error of the mean of sigma^2 is reliable.
    mu0, k0, a0, b0, M = 0.0, 1.0, 5.0, 1.0, 10
    fam = gaussian_bayes(mean=1.0, var=1.0, prior=(mu0, k0, a0, b0))
    record = (1, 2, 5, 40)
    out = run(fam, "replace", M, 40, 10000, seed=31, record=record)
    for t in record:
        exp = registry.evaluate(
            "bayes.nig.mean_predictive_variance", M=M, kappa0=k0, alpha0=a0, beta0=b0, var0=1.0, d0=1.0, n=t
        )
        assert_mean(np.asarray(out[t]["sigma2"]), exp, ALPHA, k=len(record) + 1, what=f"E V_{t}")
    v_star = registry.evaluate("bayes.nig.stationary_predictive_variance", M=M, kappa0=k0, alpha0=a0, beta0=b0)
    assert_mean(np.asarray(out[40]["sigma2"]), v_star, ALPHA, k=len(record) + 1, what="stationary E V")


def test_prior_stops_collapse():
    prior, M, G = (0.0, 1.0, 2.0, 1.0), 10, 200
    _, k0, a0, b0 = prior
    out = run(gaussian_bayes(prior=prior), "replace", M, G, 10000, seed=77, record=(100, G))
    l100, l200 = (np.asarray(out[t]["log_sigma2"], np.float64) for t in (100, G))
    # Stationary: the law at t = 100 and t = 200 agrees (lag 100 >> mixing time; chains independent).
    assert_two_sample_ks(l100, l200, ALPHA, k=3, what="log V_100 vs log V_200")
    # Deterministic floor (every chain), up to float32 rounding.
    floor = registry.evaluate("bayes.nig.predictive_variance_floor", M=M, kappa0=k0, alpha0=a0, beta0=b0)
    assert l200.min() >= math.log(floor) - 1e-5
    # Jensen: E log V_t <= log E V_t (exact recursion); one-sided z-test.
    ev = registry.evaluate(
        "bayes.nig.mean_predictive_variance", M=M, kappa0=k0, alpha0=a0, beta0=b0, var0=1.0, d0=0.0, n=G
    )
    se = l200.std(ddof=1) / math.sqrt(l200.size)
    assert l200.mean() - z_threshold(ALPHA, 3) * se <= math.log(ev)
    # The unbiased-variance learner (no prior) collapses: E log sigma^2_200 = 200 [psi(4.5) + log(2/9)].
    g = run(gaussian(estimator="unbiased"), "replace", M, G, 4000, seed=78, record=(G,))
    lg = np.asarray(g[G]["log_sigma2"], np.float64)
    exp = registry.evaluate("gaussian.replace.unbiased.mean_log_sigma2", M=M, n=G, sigma0=1.0)
    assert_mean(lg, exp, ALPHA, k=3, what="unbiased E log sigma^2_200")
    assert exp < math.log(floor) - 20


# ---------------------------------------------------------------- inputs and precision


@pytest.mark.parametrize(
    "kwargs",
    [
        {"prior": (0.0, 0.0, 2.0, 1.0)},
        {"prior": (0.0, 1.0, -1.0, 1.0)},
        {"prior": (0.0, 1.0, 2.0, 0.0)},
        {"prior": (0.0, 1.0, 2.0)},
        {"prior": (math.nan, 1.0, 2.0, 1.0)},
        {"var": 0.0},
        {"mean": math.inf},
    ],
)
def test_bad_inputs(kwargs):
    with pytest.raises(ValueError):
        gaussian_bayes(**kwargs)


def test_fit_weighted_not_implemented_and_recursion_domain():
    fam = gaussian_bayes()
    with pytest.raises(NotImplementedError):
        fam.fit_weighted(fam.empty(1), fam.empty(1), 0.5)
    with pytest.raises(ValueError):
        nig_mean_variance(M=1, kappa0=1.0, alpha0=0.5, beta0=1.0, var0=1.0, d0=0.0, n=3)


def test_float64_step():
    with jax.enable_x64(True):
        fam = gaussian_bayes(dtype=jnp.float64)
        ch = jnp.arange(4, dtype=jnp.uint32)
        step = jax.jit(lambda k, p: fam.fit(fam.draw(k, ch, p, jnp.float64(6), 6)))
        p = step(bits.key_from_seed(1), fam.truth(4))
        assert p.mu.dtype == p.log_scale.dtype == p.dof.dtype == jnp.float64
        assert np.all(np.asarray(p.dof) == 2 * 2.0 + 6)
        assert set(fam.metrics(p)) == set(fam.metric_names)
