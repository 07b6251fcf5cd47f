"""Misspecified truths (functional error): parsing, exact draws, population fits, W2 accuracy.

Tolerances: z-tests and KS tests at the suite budget ALPHA (Bonferroni over each test's k
assertions); quadrature accuracies are measured against scipy references and compared with the
accuracy the module states.
"""

import math

import numpy as np
import pytest
import quadrature_reference as ref
from budget import ALPHA
from scipy import stats

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


TRUTHS = [
    MIX,  # the README's example: overlapping-ish, separation 2 sds
    "mixture:0.5,-3,1;0.5,3,1",  # the gmm family's default truth: separated
    SKEW,  # skewed, unequal sds
    "mixture:0.5,-0.5,1;0.5,0.5,1",  # overlapping (unimodal)
    "mixture:0.95,0,1;0.05,0,6",  # a heavy-ish tail (kurtosis 10)
    "student-t:2.5",
    "student-t:3",
    "student-t:5,1,2",
    "student-t:30",
]
# Fitted (mu, sigma) in units of the truth's mean and sd: the moment match, displaced, narrow, wide.
FITS = [(0.0, 1.0), (0.5, 0.8), (-2.0, 1.5), (0.0, 1e-3), (0.0, 1e3), (0.1, 0.05)]


def _fits(t):
    mean, var = truths.moments(t)
    sd = math.sqrt(var)
    return np.array([mean + a * sd for a, _ in FITS]), np.array([b * sd for _, b in FITS])


def _against(t, mu, sigma):
    import jax
    import jax.numpy as jnp

    with jax.enable_x64(True):
        out = truths.against_truth(t, {}, jnp.asarray(mu), jnp.asarray(np.log(sigma)))
        return np.asarray(out["kl"]), np.asarray(out["w2_sq"])


@pytest.mark.parametrize("spec", TRUTHS)
def test_kl_and_w2_against_adaptive_quadrature(spec):
    """The stated accuracy (module docstring): relative error <= 1e-9 for kl, <= 1e-11 for w2_sq (float64).

    References: scipy ``quad`` of ``g (log g - log p_truth)`` on pieces at the features and of
    the quantile difference (``quadrature_reference``); the issue's 64-node Gauss-Hermite rule
    was 0.5 % low on MIX and 2.3 % low on the gmm default truth.
    """
    t = truths.parse_truth(spec)
    mu, sigma = _fits(t)
    kl, w2 = _against(t, mu, sigma)
    for i in range(len(mu)):
        if t.kind == "mixture":
            r_kl, e_kl = ref.kl(ref.mix(1.0, mu[i], sigma[i]), ref.mix(t.weights, t.means, t.sds))
        else:
            r_kl, e_kl = ref.kl_gauss_student(mu[i], sigma[i], t.df, t.loc, t.scale)
        assert e_kl < 1e-11 * r_kl
        assert abs(kl[i] - r_kl) <= 1e-9 * r_kl, (spec, FITS[i], kl[i], r_kl)
    for i in range(3):  # W2 references cost a root per node: the moment match, displaced, wide
        if t.kind == "mixture":
            r_w2, e_w2 = ref.w2_sq(ref.mix(1.0, mu[i], sigma[i]), ref.mix(t.weights, t.means, t.sds))
        else:
            r_w2, e_w2 = ref.w2_sq_gauss_student(mu[i], sigma[i], t.df, t.loc, t.scale)
        assert e_w2 < 1e-12 * r_w2  # a tenth of the bound checked
        assert abs(w2[i] - r_w2) <= 1e-11 * r_w2, (spec, FITS[i], w2[i], r_w2)


def test_w2_constants_state_their_error():
    c = truths.w2_constants(truths.parse_truth(MIX))
    assert c.delta > 0 and c.error < 1e-12 * c.delta
    g = truths.w2_constants(truths.parse_truth("mixture:0.4,1,2;0.6,1,2"))  # a Gaussian in disguise
    assert g.delta == 0.0 and g.mean == 1.0 and g.sd == 2.0


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
    # and its KL (the regression: the former Gauss-Hermite rule was off by 1e-2 here)
    t = truths.parse_truth(SKEW)
    r_kl, _ = ref.kl(ref.mix(1.0, mean, math.sqrt(var)), ref.mix(t.weights, t.means, t.sds))
    # (generation 0, measured in float64; later ones carry the float32 fit's rounding, ~1e-8)
    np.testing.assert_allclose(r.values["kl"][0], r_kl, rtol=1e-9)
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
