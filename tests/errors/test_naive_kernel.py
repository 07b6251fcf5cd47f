"""The naive kernel x = mu + sigma z: exact law before the precision floor, a stall after it.

Replace workflow, M = 10, mu_0 = 1, sigma_0 = 1, unbiased estimator, 2000 chains. The exact law
E log sigma_n^2 = n [psi(4.5) + log(2/9)] = -0.1152 n (registry
``gaussian.replace.unbiased.mean_log_sigma2``) reaches log2(sigma / ulp(mu)) ~ 0 after about
n = 2 (p - 1) ln 2 / 0.1152 generations (p the format's significand bits): ~280 in float32, ~120
in float16. We test after the median chain has had ~ 1.5x that time.

Floor band for the median of log2(sigma / ulp(mu)) (``ulp`` = spacing above |mu|), [-3, 3.2]:
* below: a nonzero sample SD of M values on the ulp grid is at least ulp / sqrt(M) (one value one
  ulp off), and the grid below a power of two is ulp / 2: log2 >= -log2(sqrt(10)) - 1 = -2.66;
* above: once sigma is a few ulps the draws are nearly continuous and the chain keeps collapsing;
  what sustains sigma is the rounding error of the mean, at most gamma_{M-1} sum |x_i| / M, about
  (M - 1) u |mu| < (M - 1) ulp(mu) (Higham eq. 4.4): log2 < log2(9) = 3.17.
Chains that hit sigma = 0 exactly (all draws equal and the mean exact) count as -inf; float16
chains that overflowed (a variance above 65504 early on) count as +inf. Measured medians: 1.2 and
1.0 (float32, generations 360, 480), 1.2 and 0.9 (float16, 180, 270).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from harness import run_params as run

from collapse_theory.errors import precision as pr
from collapse_theory.families.gaussian import gaussian
from collapse_theory.families.gaussian.naive import gaussian_naive
from collapse_theory.metrics.gaussian import METRICS_1D
from collapse_theory.random import bits
from collapse_theory.testing.assertions import assert_mean
from collapse_theory.theory import registry

M, CHAINS = 10, 2000
BAND = (-3.0, 3.2)


def law(n: int) -> float:
    return registry.evaluate("gaussian.replace.unbiased.mean_log_sigma2", M=M, n=n, sigma0=1.0)


def log2_sigma_over_ulp(mu, log2_sigma, fmt: str) -> np.ndarray:
    spacing = np.asarray(pr.ulp(jnp.asarray(mu, jnp.float32), fmt), np.float64)
    out = np.asarray(log2_sigma, np.float64) - np.log2(spacing)
    return np.where(np.isnan(out), np.inf, out)


def naive_log2(p, fmt: str) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return log2_sigma_over_ulp(p.mu, np.log2(np.asarray(p.sigma, np.float64)), fmt)


@pytest.mark.parametrize(("fmt", "early", "t1", "t2"), [("float32", 60, 360, 480), ("float16", 30, 180, 270)])
def test_precision_floor(fmt, early, t1, t2):
    fam = gaussian_naive(mean=1.0, precision=fmt)
    out = run(fam, "replace", M, t2, CHAINS, 7, {early, t1, t2})
    k = 1 if fmt == "float16" else 2
    # (a) before the floor the naive kernel follows the exact law.
    log_s2 = 2.0 * np.log(np.asarray(out[early].sigma, np.float64))
    assert_mean(log_s2, law(early), ALPHA, k, f"{fmt} naive E log sigma^2 at n={early}")
    # (b) after it the median sits in the floor band and stops falling.
    m1, m2 = (float(np.median(naive_log2(out[t], fmt))) for t in (t1, t2))
    assert BAND[0] <= m1 <= BAND[1] and BAND[0] <= m2 <= BAND[1], (m1, m2)
    law_drop = (law(t1) - law(t2)) / (2.0 * math.log(2.0))
    assert law_drop > 6.0 and abs(m1 - m2) < 2.0, (m1, m2, law_drop)
    if fmt == "float32":
        # Contrast: the exact family (log-space parameters) keeps following the law.
        ex = run(gaussian(mean=1.0, kernel="exact"), "replace", M, t2, CHAINS, 7, {t2})[t2]
        ex_log_s2 = 2.0 * np.asarray(ex.log_sigma, np.float64)
        assert_mean(ex_log_s2, law(t2), ALPHA, k, f"exact E log sigma^2 at n={t2}")
        ex_med = float(np.median(log2_sigma_over_ulp(ex.mu, ex_log_s2 / (2.0 * math.log(2.0)), fmt)))
        assert ex_med < BAND[0] - 5.0, ex_med


def test_metrics_and_stochastic_streams():
    fam = gaussian_naive(mean=1.0, precision="float16", rounding="stochastic", accumulation="welford")
    assert fam.name == "gaussian" and fam.metric_names == (*METRICS_1D, "mean_rounding_ratio")
    key = bits.key_from_seed(3)
    all_ch = jnp.arange(8, dtype=jnp.uint32)
    draw = jax.jit(lambda ch: fam.draw(key, ch, fam.truth(ch.shape[0]), jnp.full(ch.shape, 10.0), 16))
    full, shifted = draw(all_ch), draw(all_ch + 5)  # chains 5..7 sit in rows 0..2 of the second batch
    for a, b in zip(full, shifted, strict=True):
        np.testing.assert_array_equal(np.asarray(a)[5:], np.asarray(b)[:3])
    x = np.asarray(fam.points(key, all_ch, fam.truth(8), 16))
    np.testing.assert_array_equal(x, x.astype(np.float16).astype(np.float32))
    p = fam.fit(full)
    assert set(fam.metrics(p)) == {*METRICS_1D, "mean_rounding_ratio"}
    zero = fam.metrics(p._replace(sigma=jnp.zeros(8)))
    assert np.all(np.isneginf(np.asarray(zero["log_sigma2"])))
    merged = fam.merge(full, fam.empty(8))
    np.testing.assert_array_equal(np.asarray(merged.var), np.asarray(full.var))
    with pytest.raises(NotImplementedError, match="weighted"):
        fam.fit_weighted(full, full, 0.5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(precision="float64"), "wider than the carrier"),
        (dict(rounding="stochastic"), "wider carrier"),
        (dict(precision="float8"), "format"),
        (dict(rounding="up"), "rounding mode"),
        (dict(accumulation="sorted"), "accumulation"),
        (dict(estimator="map"), "estimator"),
        (dict(var=0.0), "var"),
        (dict(mean=1e6, precision="float16"), "finite"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gaussian_naive(**kwargs)


# ---------------------------------------------------------------- measured rounding vs Higham


@pytest.mark.parametrize(
    "precision, rounding, accumulation",
    [
        ("float16", "nearest", "naive"),
        ("float16", "nearest", "pairwise"),
        ("float16", "stochastic", "kahan"),
        ("bfloat16", "stochastic", "naive"),
        ("bfloat16", "nearest", "kahan"),
        ("float32", "nearest", "naive"),
        ("float32", "stochastic", "pairwise"),
    ],
)
def test_measured_mean_rounding_stays_under_the_higham_bound(precision, rounding, accumulation):
    """Every fit of every chain: |mean_hat - mean| <= bound (a theorem, so max ratio <= 1), and the
    measurement is not vacuous (the worst chain uses a visible part of the bound)."""
    import collapse_theory as ct

    cfg = ct.SimConfig(
        family="gaussian",
        estimator="unbiased",
        kernel="naive-sample",
        mean=(3.0,),
        samples=50,  # n u' < 1 for every format here (bfloat16 stochastic: 50 * 2^-7)
        generations=20,
        chains=1000,
        precision=precision,
        rounding=rounding,
        accumulation=accumulation,
        record=tuple(range(1, 21)),
        metrics=("mean_rounding_ratio",),
    )
    ratio = ct.simulate(cfg, progress=False).values["mean_rounding_ratio"]
    assert np.isfinite(ratio).all()
    assert ratio.max() <= 1.0
    assert ratio.max() > 1e-2


def test_summation_constants_match_the_registry():
    import jax.numpy as jnp

    from collapse_theory.errors import precision as pr
    from collapse_theory.theory import registry

    for n in (1, 2, 7, 64, 1000):
        for fmt in ("float16", "bfloat16", "float32"):
            u = pr.UNIT_ROUNDOFF[fmt]
            nn = jnp.asarray(float(n), jnp.float32)
            pair = registry.evaluate("rounding.sum.pairwise", n=n, u=u)
            if (n - 1) * u < 1:  # gamma_k's domain (Higham Lemma 3.1 assumes k u < 1)
                rec = registry.evaluate("rounding.sum.recursive", n=n, u=u)
                assert float(pr.summation_constant("naive", nn, fmt)) == pytest.approx(rec, rel=1e-6)
            assert float(pr.summation_constant("pairwise", nn, fmt)) == pytest.approx(pair, rel=1e-6)
            assert float(pr.summation_constant("kahan", nn, fmt)) >= registry.evaluate("rounding.sum.kahan", u=u)
    assert np.isnan(float(pr.summation_constant("welford", jnp.asarray(5.0), "float16")))
    # gamma_k is only a bound while k u < 1: bfloat16 recursive summation of 300 terms has none.
    assert np.isnan(float(pr.summation_constant("naive", jnp.asarray(300.0), "bfloat16")))
