"""Biased sampling (functional approximation error) against closed forms.

* variance shrink lambda, unbiased replace: E sigma_n^2 = lambda^(n-1) sigma0^2 (model 1 is fit to
  real data; each later fit is unbiased for lambda sigma_t^2): docs/derivations.md, 'Biased sampling'.
* truncation at k sigma: the unbiased estimator is unbiased for the truncated variance
  v_k sigma_t^2, v_k = 1 - 2 k phi(k) / (2 Phi(k) - 1), so E sigma_n^2 = v_k^(n-1) sigma0^2.
* fresh split with lambda: the registry's fixed points fresh.split.biased.{e,v}_star.
Each assertion is a z-test at the suite's budget ALPHA, Bonferroni over the test's k assertions.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from scipy import stats

import collapse_theory as ct
from collapse_theory.errors.sampling import temperature_probs, top_p_probs
from collapse_theory.testing import assert_mean


def sim(**kw):
    base = dict(family="gaussian", estimator="unbiased", samples=20, generations=10, chains=20_000, seed=2)
    base.update(kw)
    return ct.simulate(ct.SimConfig(**base), progress=False)


def test_variance_shrink_geometric():
    lam = 0.8
    r = sim(sampling_variance=lam, record=(1, 5, 10))
    for i, n in enumerate(r.generations):
        assert_mean(r.values["sigma2"][i], lam ** (n - 1), ALPHA, 3, f"E sigma2 n={n}")


def test_truncation_shrinks_by_truncated_variance():
    k = 1.0
    vk = 1 - 2 * k * stats.norm.pdf(k) / (2 * stats.norm.cdf(k) - 1)
    r = sim(truncate=k, kernel="sample", generations=5, record=(1, 2, 5))
    for i, n in enumerate(r.generations):
        assert_mean(r.values["sigma2"][i], vk ** (n - 1), ALPHA, 3, f"E sigma2 n={n}")
    assert np.all(np.isfinite(r.values["log_sigma2"]))


def test_fresh_split_biased_fixed_points_match_registry():
    from collapse_theory.theory import registry

    m, a, lam = 20, 0.2, 0.7
    r = sim(scenario="fresh", real_fraction=a, samples=m, sampling_variance=lam, generations=80, record=(80,))
    p = dict(M=m, alpha=a, sigma0=1.0, lam=lam)
    assert_mean(r.values["mu_err2"][0], registry.evaluate("fresh.split.biased.e_star", **p), ALPHA, 2, "e*")
    assert_mean(r.values["sigma2"][0], registry.evaluate("fresh.split.biased.v_star", **p), ALPHA, 2, "v*")


def test_unbiased_settings_are_a_no_op():
    a = sim(generations=3, record=(3,), chains=256)
    b = sim(generations=3, record=(3,), chains=256, sampling_variance=1.0)
    np.testing.assert_array_equal(a.values["sigma2"], b.values["sigma2"])
    c = ct.simulate(
        ct.SimConfig(
            family="categorical",
            probs=(0.5, 0.3, 0.2),
            samples=20,
            generations=3,
            chains=256,
            record=(3,),
            temperature=1.0,
            top_p=1.0,
        ),
        progress=False,
    )
    d = ct.simulate(
        ct.SimConfig(family="categorical", probs=(0.5, 0.3, 0.2), samples=20, generations=3, chains=256, record=(3,)),
        progress=False,
    )
    np.testing.assert_array_equal(c.values["heterozygosity"], d.values["heterozygosity"])


def test_temperature_and_top_p_transforms():
    p = jnp.array([[0.5, 0.3, 0.2, 0.0]])
    t = np.asarray(temperature_probs(p, 0.5))
    expect = np.array([0.25, 0.09, 0.04, 0.0]) / 0.38
    np.testing.assert_allclose(t[0], expect, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(top_p_probs(p, 0.7))[0], [0.5 / 0.8, 0.3 / 0.8, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(top_p_probs(p, 0.5))[0], [1, 0, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(top_p_probs(p, 1.0))[0], p[0], rtol=1e-6)


def test_top_p_removes_tail_states_from_synthetic_data():
    """q = 0.01 keeps only the modal state of model t (the next state's preceding mass is the
    mode's, >= 1/3 > q), so every model from 2 on is a point mass, whatever model 1 was."""
    r = ct.simulate(
        ct.SimConfig(
            family="categorical",
            probs=(0.4, 0.35, 0.25),
            samples=30,
            generations=3,
            chains=512,
            record=(1, 2, 3),
            top_p=0.01,
        ),
        progress=False,
    )
    assert np.all(r.values["support"][1:] == 1)
    assert np.mean(r.values["support"][0]) > 2.5


@pytest.mark.parametrize(
    "kw",
    [
        dict(truncate=1.0),  # needs the sample kernel
        dict(truncate=1.0, kernel="sample", dim=2),  # 1-D only
        dict(temperature=0.5),  # categorical option
        dict(sampling_variance=0.0),
        dict(sampling_variance=float("inf")),
    ],
)
def test_bad_sampling_options(kw):
    with pytest.raises(ct.ConfigError):
        ct.SimConfig(family="gaussian", estimator="mle", **kw).validated()
