"""Property tests over random valid configurations (hypothesis, deterministic CI profile).

Invariants that hold for every configuration, exactly (no statistics): finite metrics, the
truth at generation 0, scale equivariance of the Gaussian chain (the chain for N(a + b mu, b^2
Sigma) is the affine image of the chain for N(mu, Sigma) under the same random numbers), and
categorical counts that stay on the simplex and never revive a lost state under replace.
"""

import dataclasses

import numpy as np
from hypothesis import given, settings

import collapse_theory as ct
from collapse_theory.testing import strategies as cts


@settings(max_examples=12)
@given(cts.gaussian_configs())
def test_gaussian_metrics_finite_and_truth_at_zero(cfg):
    r = ct.simulate(cfg, progress=False)
    for k, v in r.values.items():
        assert np.all(np.isfinite(v)), k
    np.testing.assert_allclose(r.values["mu_err2"][0], 0.0, atol=1e-12)
    np.testing.assert_allclose(r.values["w2_sq"][0], 0.0, atol=1e-6 * sum(cfg.cov_diag))
    assert np.all(r.values["mu_err2"] >= 0) and np.all(r.values["w2_sq"] >= -1e-6 * sum(cfg.cov_diag))


@settings(max_examples=8)
@given(cts.gaussian_configs(scenarios=("replace",)))
def test_gaussian_scale_equivariance(cfg):
    """log sigma^2 (or log det) shifts by log b^2 (d log b^2) when the truth's variance is scaled."""
    cfg = dataclasses.replace(cfg, precision="float64")
    b2 = 7.0
    scaled = dataclasses.replace(cfg, cov_diag=tuple(b2 * c for c in cfg.cov_diag))
    r, s = ct.simulate(cfg, progress=False), ct.simulate(scaled, progress=False)
    key, shift = ("log_sigma2", np.log(b2)) if cfg.dim == 1 else ("log_det", cfg.dim * np.log(b2))
    np.testing.assert_allclose(s.values[key], r.values[key] + shift, rtol=1e-9, atol=1e-8)
    np.testing.assert_allclose(s.values["mu_err2"], b2 * r.values["mu_err2"], rtol=1e-7, atol=1e-12)


@settings(max_examples=12)
@given(cts.categorical_configs(scenarios=("replace",)))
def test_categorical_simplex_and_absorbing_states(cfg):
    r = ct.simulate(cfg, progress=False)
    h, sup, tv = r.values["heterozygosity"], r.values["support"], r.values["tv"]
    assert np.all((h >= -1e-6) & (h <= 1)) and np.all((tv >= -1e-6) & (tv <= 1 + 1e-6))
    assert np.all(np.diff(sup, axis=0) <= 0)  # replace: a lost state never returns
    assert np.all(sup[0] == sum(p > 0 for p in cfg.probs))
