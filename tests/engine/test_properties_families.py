"""Property tests of the kde, regression, Poisson families and misspecified truths (hypothesis).

Each property is exact (up to float32 rounding, with the rounding bound stated), so no
statistical budget is spent.
"""

import dataclasses
import math

import numpy as np
from hypothesis import given, settings

import collapse_theory as ct
from collapse_theory.testing import strategies as cts
from collapse_theory.truths import moments, parse_truth


def sim(cfg):
    return ct.simulate(cfg, progress=False)


@settings(max_examples=6)
@given(cts.poisson_configs())
def test_poisson_counts_are_integers_and_zero_absorbs(cfg):
    """M * rate is an integer count (exact in float32 below 2^24), and a chain at rate 0 stays there."""
    r = sim(cfg)
    rate = r.values["rate"]
    assert (rate >= 0).all()
    if cfg.scenario == "replace":
        counts = cfg.samples * rate[1:]
        # float32 division and multiplication: relative error <= 2 u = 1.2e-7 of the count.
        assert (np.abs(counts - np.round(counts)) <= 1e-6 * np.maximum(1.0, counts)).all()
        dead = rate[1] == 0
        assert (rate[2][dead] == 0).all()
    np.testing.assert_array_equal(r.values["extinct"], (rate == 0).astype(float))


@settings(max_examples=6)
@given(cts.regression_configs())
def test_regression_error_does_not_depend_on_w_star(cfg):
    """OLS on labels X w + noise: w_hat - w* is the same for every w* (translation equivariance).

    float32: the error vectors agree to ~1e-5 relative to |w*| + |w_hat - w*|, so the test errors
    agree to that relative accuracy (checked at 1e-3 of the larger scale).
    """
    a = sim(cfg)
    b = sim(dataclasses.replace(cfg, mean=tuple(0.0 for _ in cfg.mean)))
    scale = max(1.0, sum(x * x for x in cfg.mean))
    for g in range(1, 3):
        np.testing.assert_allclose(a.values["test_error"][g], b.values["test_error"][g], rtol=1e-3, atol=1e-3 * scale)


@settings(max_examples=6)
@given(cts.kde_configs(scenarios=("replace",)))
def test_kde_spread_is_shift_invariant_and_bounded_below(cfg):
    """Shifting the truth shifts every point (bootstrap + noise): spread and h do not change;
    spread >= 0 always."""
    a = sim(cfg)
    b = sim(dataclasses.replace(cfg, mean=(0.0,)))
    var = cfg.cov_diag[0]
    tol = 1e-3 * (var + abs(cfg.mean[0]) * math.sqrt(var) + 1e-6)
    for k in ("spread", "h"):
        np.testing.assert_allclose(a.values[k], b.values[k], rtol=1e-3, atol=tol)
    assert (a.values["spread"] >= 0).all()


@settings(max_examples=10)
@given(cts.truths())
def test_population_fit_of_any_truth_is_its_moments(spec):
    cfg = ct.SimConfig(
        family="gaussian", estimator="mle", truth=spec, samples=math.inf, generations=2, chains=64, record=(1, 2)
    )
    r = sim(cfg)
    mean, var = moments(parse_truth(spec))
    np.testing.assert_allclose(r.values["sigma2"], var, rtol=1e-5)
    np.testing.assert_allclose(r.values["mu_err2"], 0.0, atol=1e-10 * (1 + mean * mean))
    assert (r.values["w2_sq"] >= -1e-6 * var).all() and (r.values["kl"] >= -1e-5).all()
