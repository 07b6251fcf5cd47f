"""Categorical (Wright-Fisher) chains against the closed forms of docs/derivations.md, 'Wright-Fisher (categorical)'."""

import numpy as np
import pytest
from budget import ALPHA

import collapse_theory as ct
from collapse_theory.testing import assert_mean, assert_two_sample_ks

P0 = (0.4, 0.3, 0.15, 0.1, 0.05)
H0 = 1 - sum(p * p for p in P0)
M = 20


def sim(**kw):
    base = dict(family="categorical", probs=P0, samples=M, generations=50, chains=20_000, seed=5)
    base.update(kw)
    return ct.simulate(ct.SimConfig(**base), progress=False)


@pytest.mark.parametrize("kernel", ["exact", "sample"])
def test_replace_heterozygosity_and_support(kernel):
    r = sim(kernel=kernel, record=(1, 20, 50))
    assert_mean(r.values["heterozygosity"][1], H0 * (1 - 1 / M) ** 20, ALPHA, 3, "E H_20")
    assert_mean(r.values["heterozygosity"][2], H0 * (1 - 1 / M) ** 50, ALPHA, 3, "E H_50")
    support1 = sum(1 - (1 - p) ** M for p in P0)
    assert_mean(r.values["support"][0], support1, ALPHA, 3, "E support after one generation")


def test_accumulate_product():
    n = 50
    r = sim(scenario="accumulate", record=(n,))
    closed = H0 * (1 - 1 / M) * np.prod([1 - 1 / (j * j * M) for j in range(2, n + 1)])
    assert_mean(r.values["heterozygosity"][0], closed, ALPHA, 1, "accumulate E H_50")


@pytest.mark.parametrize("mixing", ["mixture", "split"])
def test_fresh_stationary_heterozygosity(mixing):
    a = 0.2
    r = sim(scenario="fresh", mixing=mixing, real_fraction=a, generations=150, record=(150,))
    if mixing == "mixture":
        closed = H0 * (1 - 1 / M) * (1 - (1 - a) ** 2) / (1 - (1 - 1 / M) * (1 - a) ** 2)
    else:
        closed = H0 * a * (2 * M - 1 - M * a) / (M * a * (2 - a) + 1 - a)
    assert_mean(r.values["heterozygosity"][0], closed, ALPHA, 1, f"H* {mixing}")


def test_exact_and_sample_agree_and_negative_control():
    a = sim(record=(3,), seed=1)
    b = sim(record=(3,), seed=2, kernel="sample")
    # heterozygosity is discrete: the KS test is then conservative (false-failure rate <= ALPHA).
    assert_two_sample_ks(a.values["heterozygosity"][0], b.values["heterozygosity"][0], ALPHA, 1)
    c = sim(record=(3,), seed=3, samples=M + 4)
    with pytest.raises(AssertionError):
        assert_two_sample_ks(a.values["heterozygosity"][0], c.values["heterozygosity"][0], ALPHA, 1)


def test_metrics_are_consistent():
    r = sim(record=(0, 5), chains=512)
    assert np.allclose(r.values["tv"][0], 0) and np.allclose(r.values["kl"][0], 0, atol=1e-6)
    assert np.all(r.values["support"][1] <= 5) and np.all(r.values["entropy"][1] >= 0)
    assert np.all(r.values["kl"][1] >= -1e-6)


def test_fixation_probability_equals_initial_frequency():
    """Absorbed chains (support 1) end in state i with probability p_i(0); heterozygosity 0 marks
    absorption, and the TV distance to the truth identifies the state: tv = 1 - p0[i]."""
    p0 = (0.5, 0.3, 0.2)
    r = sim(probs=p0, generations=600, record=(600,), chains=20_000)
    tv = r.values["tv"][0]
    absorbed = r.values["support"][0] == 1
    assert absorbed.mean() > 0.999
    for i, p in enumerate(p0):
        hit = absorbed & np.isclose(tv, 1 - p, atol=1e-5)
        assert_mean(hit.astype(float), p, ALPHA, 3, f"P(fix at state {i})")


def test_accumulate_subsample_first_generation_and_support():
    """Model 1 is fit to all M real points (the pool holds only them): E H_1 = (1 - 1/M) H0; the
    pool keeps the real points forever, so later fits can only use states seen so far."""
    r = sim(scenario="accumulate-subsample", generations=20, record=(1, 20), chains=4000)
    assert_mean(r.values["heterozygosity"][0], H0 * (1 - 1 / M), ALPHA, 1, "subsample E H_1")
    assert np.all(np.isfinite(r.values["heterozygosity"])) and np.all(r.values["support"] >= 1)
