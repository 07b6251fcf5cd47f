"""User estimators (ct.estimator) through every scenario, checked against theory and the built-ins.

Tolerances: z-tests and two-sample KS tests at the suite's per-test budget ALPHA (Bonferroni
within a test). Raw moments of sigma^2 are tested only where n psi'((M-1)/2) <= 3 (heavy tails).
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from scipy import special

import collapse_theory as ct
from collapse_theory.testing import assert_mean, assert_two_sample_ks, z_threshold
from collapse_theory.theory import evaluate

C = 20_000


def g_sample(key, params, n):
    mu, sigma = params
    return mu + sigma * jax.random.normal(key, (n,))


def g_fit(points, weights):
    w = weights / jnp.sum(weights)
    mu = jnp.sum(w * points)
    return (mu, jnp.sqrt(jnp.sum(w * (points - mu) ** 2)))


def g_metrics(params):
    mu, sigma = params
    return {"mu": mu, "sigma2": sigma**2, "log_sigma2": 2.0 * jnp.log(sigma)}


MLE = ct.estimator(sample=g_sample, fit=g_fit, truth=(0.0, 1.0), metrics=g_metrics, name="user-mle")
BUILTIN = ct.family("gaussian", estimator="mle")


def test_replace_mean_variance_is_geometric():
    M = 20  # n psi'(9.5) <= 1.1 for n <= 10: raw moments are testable
    r = ct.run(MLE, "replace", samples=M, generations=10, chains=C, seed=1, record=(1, 5, 10))
    for i, n in enumerate(r.generations):
        assert_mean(r.values["sigma2"][i], ((M - 1) / M) ** n, ALPHA, 3, f"E sigma2_{n}")


def test_accumulate_matches_the_registry_recursion():
    M, n = 10, 8
    r = ct.run(MLE, "accumulate", samples=M, generations=n, chains=C, seed=2, record=(n,))
    assert_mean(r.values["sigma2"][0], evaluate("accumulate.mle.mean_sigma2", M=M, n=n, sigma0=1.0), ALPHA)


@pytest.mark.parametrize(
    "scenario, extra",
    [
        ("replace", {}),
        ("accumulate-subsample", {}),
        ("fresh", {"real_fraction": 0.3, "mixing": "mixture"}),
        ("accumulate", {"real_weight": 0.3}),
    ],
)
def test_same_law_as_the_builtin_kernel(scenario, extra):
    kw = dict(samples=8, generations=6, chains=4000, record=(1, 6), **extra)
    a = ct.run(MLE, scenario, seed=3, **kw)
    b = ct.run(BUILTIN, scenario, seed=4, **kw)
    for name, ref in (("mu", "mu_err2"), ("log_sigma2", "log_sigma2")):
        for i in range(2):
            x = a.values[name][i] ** 2 if name == "mu" else a.values[name][i]
            assert_two_sample_ks(x, b.values[ref][i], ALPHA, 4, f"{scenario} {name} at record {i}")


def c_sample(key, probs, n):
    return jax.random.categorical(key, jnp.log(probs), shape=(n,))


def c_fit(points, weights):
    counts = jnp.zeros(4, weights.dtype).at[points].add(weights)
    return counts / jnp.sum(weights)


P0 = jnp.array([0.4, 0.3, 0.2, 0.1])
H0 = 1.0 - float(jnp.sum(P0**2))
CAT = ct.estimator(
    sample=c_sample, fit=c_fit, truth=P0, metrics=lambda p: {"heterozygosity": 1.0 - jnp.sum(p**2)}, name="user-wf"
)


def test_categorical_mle_is_wright_fisher():
    M = 15
    r = ct.run(CAT, "replace", samples=M, generations=20, chains=C, seed=5, record=(1, 20))
    for i, n in enumerate(r.generations):
        assert_mean(r.values["heterozygosity"][i], H0 * (1 - 1 / M) ** n, ALPHA, 3, f"E H_{n}")
    n = 10
    acc = ct.run(CAT, "accumulate", samples=M, generations=n, chains=C, seed=6, record=(n,))
    closed = H0 * (1 - 1 / M) * np.prod([1 - 1 / (j * j * M) for j in range(2, n + 1)])
    assert_mean(acc.values["heterozygosity"][0], closed, ALPHA, 3, "accumulate E H_10")


def mad_fit(points, weights):
    x = jnp.where(weights > 0, points, jnp.nan)
    med = jnp.nanmedian(x)
    return (med, 1.4826 * jnp.nanmedian(jnp.abs(x - med)))


ROBUST = ct.estimator(sample=g_sample, fit=mad_fit, truth=(0.0, 1.0), metrics=g_metrics, name="median-mad")


def test_median_mad_log_scale_is_a_random_walk():
    # MAD / sigma has a law free of (mu, sigma), so log sigma_n^2 has i.i.d. increments:
    # E log sigma_n^2 = n E log sigma_1^2 (two independent runs, a z-test of the difference).
    M, n = 11, 8
    one = ct.run(ROBUST, "replace", samples=M, generations=1, chains=C, seed=7, record=(1,)).values["log_sigma2"][0]
    many = ct.run(ROBUST, "replace", samples=M, generations=n, chains=C, seed=8, record=(n,)).values["log_sigma2"][0]
    diff = many.mean() - n * one.mean()
    se = math.hypot(many.std(ddof=1) / math.sqrt(C), n * one.std(ddof=1) / math.sqrt(C))
    assert abs(diff) <= z_threshold(ALPHA) * se, (diff, se)


def test_median_mad_is_less_efficient_than_the_builtin_mle():
    # Generation 1 of the built-in MLE: log sigma^2 = log(chi2_{M-1} / M), variance psi'((M-1)/2)
    # exactly. The median/MAD fit of the same data has a larger variance (one-sided z-test on the
    # sample variance, its SE from the fourth central moment).
    M = 20
    x = ct.run(ROBUST, "replace", samples=M, generations=1, chains=C, seed=9, record=(1,)).values["log_sigma2"][0]
    b = ct.run(BUILTIN, "replace", samples=M, generations=1, chains=C, seed=9, record=(1,)).values["log_sigma2"][0]
    exact = float(special.polygamma(1, (M - 1) / 2))
    assert_mean((b - b.mean()) ** 2 * C / (C - 1), exact, ALPHA, 2, "built-in Var log sigma2_1")
    c = x - x.mean()
    s2, se = c.var(ddof=1), math.sqrt((np.mean(c**4) - c.var() ** 2) / C)
    assert (s2 - exact) / se > z_threshold(2 * ALPHA), (s2, exact, se)


def test_results_say_what_ran(tmp_path):
    r = ct.run(MLE, "replace", samples=5, generations=2, chains=64, record=(2,))
    d = r.config.to_dict()
    assert d["family"] == "user-mle" and d["user_family"] is True and d["truth"] == [0.0, 1.0]
    assert "user estimator" in r.config.spec.label()
    back = ct.load(r.save(tmp_path / "u.npz"))
    assert back.config.to_dict()["user_family"] is True
    np.testing.assert_array_equal(back.values["sigma2"], r.values["sigma2"])
    with pytest.raises(ct.ConfigError, match="user family loaded from a saved result"):
        ct.simulate(back.config)


def test_user_keys_are_standard_jax_keys_independent_of_chunking():
    seen = []

    def sample(key, params, n):
        seen.append(jax.random.key_impl(key))
        return g_sample(key, params, n)

    est = ct.estimator(sample=sample, fit=g_fit, truth=(0.0, 1.0), name="probe")
    a = ct.run(est, "replace", samples=6, generations=3, chains=300, seed=11, record=(3,))
    b = ct.run(est, "replace", samples=6, generations=3, chains=300, seed=11, record=(3,), chunk_size=64)
    assert str(seen[0]) == "threefry2x32"
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k])


def test_fit_info_is_a_diagnostics_channel_with_warnings():
    def fit(points, weights):
        p = g_fit(points, weights)
        return p, {"small": (p[1] < 0.5).astype(jnp.float32)}

    def warn(diag, generations):
        return [f"{int(diag['small'][i].sum())} chains with sigma < 0.5 at {g}" for i, g in enumerate(generations) if g]

    est = ct.estimator(sample=g_sample, fit=fit, truth=(0.0, 1.0), fit_info=True, warn=warn, name="info")
    r = ct.run(est, "replace", samples=4, generations=10, chains=256, record=(0, 10))
    assert set(r.diagnostics) == {"small"} and np.isnan(r.diagnostics["small"][0]).all()
    assert r.warnings == [f"{int(r.diagnostics['small'][1].sum())} chains with sigma < 0.5 at 10"]
    assert "small" not in r.values


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(fit=lambda x, w: x.mean()), "shaped like truth"),
        (dict(sample=lambda k, p, n: jnp.zeros(3)), "leading axis n"),
        (dict(metrics=lambda p: {"both": jnp.stack(p)}), "must be a scalar"),
        (dict(truth=None), "needs truth"),
        (dict(fit=lambda x, w: 1 / 0), "fit\\(points, weights\\) failed: ZeroDivisionError"),
    ],
)
def test_mistakes_are_one_line_errors(kw, message):
    base = dict(sample=g_sample, fit=g_fit, truth=(0.0, 1.0), name="bad")
    with pytest.raises(ct.ConfigError, match=message) as e:
        ct.run(ct.estimator(**(base | kw)), "replace", samples=5, generations=2, chains=64)
    assert "\n" not in str(e.value)


def dot_fit(points, weights):
    w = weights / jnp.sum(weights)
    mu = jnp.dot(w, points)
    return (mu, jnp.sqrt(jnp.dot(w, (points - mu) ** 2)))


def test_map_batching_runs_chains_one_by_one_chunk_invariantly():
    """``batching="map"``: chain c bit-identical whatever the chunk; the same chains as ``vmap`` up to rounding.

    The rounding bound: in float64 each generation's fit sums 6 terms, a relative error of a few
    ulps per generation; 1e-12 allows about 4500 ulps over the 3 generations, and a wrong chain
    (another key, another fit) differs by O(1).
    """
    mapped = ct.estimator(sample=g_sample, fit=dot_fit, truth=(0.0, 1.0), metrics=g_metrics, batching="map")
    kw = dict(samples=6, generations=3, chains=150, seed=5, record=(1, 3), precision="float64")
    a = ct.run(mapped, "replace", **kw)
    b = ct.run(mapped, "replace", chunk_size=64, **kw)
    v = ct.run(ct.estimator(sample=g_sample, fit=dot_fit, truth=(0.0, 1.0), metrics=g_metrics), "replace", **kw)
    for k in a.values:
        np.testing.assert_array_equal(a.values[k], b.values[k])
        np.testing.assert_allclose(a.values[k], v.values[k], rtol=1e-12, atol=1e-12)
    assert a.config.to_dict()["batching"] == "map" and "batching" not in v.config.to_dict()
    with pytest.raises(ct.ConfigError, match="batching must be one of vmap, map"):
        ct.estimator(sample=g_sample, fit=g_fit, truth=(0.0, 1.0), batching="pmap")
