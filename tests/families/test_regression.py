"""The OLS regression family against the registered closed forms (docs/derivations.md, 'Linear regression').

Setting d = 10, T = 40, sigma = 1, so one OLS fit on real labels has E test error
sigma^2 d / (T - d - 1) = 0.3448. Budget: each test fails a correct implementation with
probability at most ``ALPHA`` (z-tests with the sample SD; the test error is a quadratic form in
Gaussians times an inverse-Wishart trace, whose variance is finite for T - d - 3 > 0; Bonferroni
over the test's ``k`` assertions). Each run compiles once; runs are cached across tests.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from budget import ALPHA
from harness import run

from collapse_theory.families.regression import regression
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.testing.assertions import assert_mean, assert_two_sample_ks, z_threshold
from collapse_theory.theory import registry

D, T, SIGMA, CHAINS = 10, 40, 1.0, 20_000
THEORY = {"sigma": SIGMA, "d": D, "T": T}


@functools.cache
def simulate(design: str, scenario: str, kernel: str = "exact", G: int = 10, seed: int = 1):
    fam = regression(D, SIGMA, design=design, kernel=kernel)
    return run(fam, scenario, T, G, CHAINS, seed, set(range(1, G + 1)))


@pytest.mark.parametrize("design", ["fixed", "fresh"])
def test_replace_test_error_grows_linearly(design):
    out = simulate(design, "replace")
    for n in (1, 5, 10):
        expected = registry.evaluate("regression.replace.test_error", n=n, **THEORY)
        assert_mean(out[n]["test_error"], expected, ALPHA, 3, f"replace {design} n={n}")


def test_accumulate_test_error_and_bound():
    """Fixed design: E error_n = base * sum_{i <= n} 1/i^2 (n = 2, 5, 10), and the mean at n = 10
    lies below the pi^2/6 bound by more than the one-sided z threshold (k = 4)."""
    out = simulate("fixed", "accumulate", seed=2)
    for n in (2, 5, 10):
        expected = registry.evaluate("regression.accumulate.test_error", n=n, **THEORY)
        assert_mean(out[n]["test_error"], expected, ALPHA, 4, f"accumulate n={n}")
    x = out[10]["test_error"]
    bound = registry.evaluate("regression.accumulate.bound", **THEORY)
    assert (bound - x.mean()) / (x.std(ddof=1) / np.sqrt(x.size)) > z_threshold(2 * ALPHA, 4)


def test_negative_control_replace_is_not_accumulate():
    """Power: the replace run fails the accumulate law at n = 5."""
    x = simulate("fixed", "replace")[5]["test_error"]
    expected = registry.evaluate("regression.accumulate.test_error", n=5, **THEORY)
    with pytest.raises(AssertionError):
        assert_mean(x, expected, ALPHA)


def test_exact_and_sample_kernels_agree_in_law():
    """Fresh design, replace: two-sample KS on the test error at n = 1 and n = 3 (k = 2)."""
    ex = simulate("fresh", "replace")
    sa = simulate("fresh", "replace", kernel="sample", G=3, seed=3)
    for n in (1, 3):
        assert_two_sample_ks(ex[n]["test_error"], sa[n]["test_error"], ALPHA, 2, f"n={n}")
    np.testing.assert_allclose(sa[3]["log_test_error"], np.log(sa[3]["test_error"]), rtol=1e-5)


def test_fixed_design_is_drawn_once_and_reused():
    fam = regression(3, 0.5, design="fixed", w_star=(1.0, -2.0, 0.5))
    ch = jnp.arange(6, dtype=jnp.uint32)
    s0 = fam.draw(bits.key_from_seed(1), ch, fam.truth(6), jnp.full(6, 8.0), 8)
    p1 = fam.fit(s0)
    s1 = fam.draw(bits.key_from_seed(2), ch, p1, jnp.full(6, 8.0), 8)
    assert np.all(np.asarray(s0.drawn) == 1) and np.all(np.asarray(p1.drawn) == 1)
    np.testing.assert_allclose(np.asarray(s1.G), np.asarray(s0.G), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(s0.G), np.asarray(s0.chol @ jnp.swapaxes(s0.chol, 1, 2)), rtol=1e-5)
    assert not np.allclose(np.asarray(s1.b), np.asarray(s0.b))  # new labels
    m = fam.merge(fam.empty(6), s1)
    np.testing.assert_array_equal(np.asarray(m.chol), np.asarray(s0.chol))


def test_points_fit_and_weighted_fit_match_numpy():
    fam = regression(3, 0.7, design="fresh", w_star=(0.5, 1.0, -1.0))
    ch = jnp.arange(4, dtype=jnp.uint32)
    p = fam.truth(4)
    a, b = fam.points(bits.key_from_seed(5), ch, p, 9), fam.points(bits.key_from_seed(6), ch, p, 12)
    assert a.shape == (4, 9, 4)
    mask = jnp.arange(9)[None, :] < jnp.array([9, 7, 5, 9])[:, None]
    sa, sb = fam.points_stats(a, mask), fam.points_stats(b, jnp.ones((4, 12), bool))
    pooled, weighted = fam.fit(fam.merge(sa, sb)).w, fam.fit_weighted(sa, sb, 0.8).w
    an, bn, mn = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(mask)
    for c in range(4):
        xa, xb = an[c][mn[c]], bn[c]
        x, y = np.vstack([xa, xb]), np.concatenate([xa[:, 3], xb[:, 3]])
        np.testing.assert_allclose(np.asarray(pooled[c]), np.linalg.lstsq(x[:, :3], y)[0], rtol=1e-4, atol=1e-4)
        wts = np.sqrt(np.concatenate([np.full(len(xa), 0.8 / len(xa)), np.full(len(xb), 0.2 / len(xb))]))
        ref = np.linalg.lstsq(x[:, :3] * wts[:, None], y * wts)[0]
        np.testing.assert_allclose(np.asarray(weighted[c]), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(
        np.asarray(fam.fit_weighted(sa, fam.empty(4), 0.3).w), np.asarray(fam.fit(sa).w), rtol=1e-5
    )
    assert fam.distribution(p).event_shape == (3,)
    assert fam.metric_names == ("test_error", "log_test_error")


def test_float64_runs():
    with jax.enable_x64(True):
        fam = regression(D, SIGMA, design="fixed", kernel="sample", dtype=jnp.float64)
        out = run(fam, "accumulate", T, 3, 256, 7, {3}, dtype=jnp.float64)
    x = out[3]["test_error"]
    assert x.dtype == np.float64 and np.all(np.isfinite(x)) and np.all(x > 0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"dim": 0},
        {"dim": 2.0},
        {"dim": 2, "noise_sd": 0.0},
        {"dim": 2, "noise_sd": float("inf")},
        {"dim": 2, "design": "random"},
        {"dim": 2, "kernel": "fast"},
        {"dim": 2, "w_star": (1.0,)},
        {"dim": 2, "w_star": (1.0, float("nan"))},
    ],
)
def test_bad_input(kwargs):
    with pytest.raises(ValueError):
        regression(**kwargs)


def _gamma(n, u):
    """Higham's gamma_n = n u / (1 - n u) (Accuracy and Stability, Lemma 3.1)."""
    return n * u / (1.0 - n * u)


def test_sample_kernel_matches_lstsq_within_the_rounding_bound():
    """The lane-wise sample kernel (draw: X^T X, b = G w + sigma X^T eps over the first n rows;
    fit: unrolled Cholesky) against float64 lstsq on the same rows, within a worst-case bound.

    Rows and noise are the documented streams (``bits.normal`` row-major, exact in float64 once
    drawn), so lstsq(X, X w + sigma eps) is the exact OLS fit. With u = 2^-24 and the inner-product
    bound gamma_n: |G^ - G| <= gamma_T |X|^T|X|, |c^ - c| <= gamma_T |X|^T|eps|, b^ adds
    gamma_{d+2} (|G^||w| + sigma |c^|); the Cholesky solve returns (G^ + dG) w^ = b^ with
    ||dG||_2 <= gamma_{3d+1} || |L||L^T| ||_2 <= gamma_{3d+1} tr G^ (Higham Thm 10.4). Then
    G (w^ - w) = db - dG w^ gives ||w^ - w|| <= ||G^-1|| (||db|| + ||dG|| ||w^||). The float64
    reference's error is covered by the same bound with u = 2^-53, added. No conditioning
    assumption is needed: ||G^-1|| is computed. Negative control: dropping one row more than the
    kernel (n - 1 rows) must break the bound.
    """
    d, cap, n, sigma, C = 10, 40, 37, 0.7, 64
    rng = np.random.default_rng(3)
    w_star = rng.standard_normal(d)
    fam = regression(d, sigma, design="fresh", kernel="sample", w_star=tuple(w_star))
    ch = jnp.arange(C, dtype=jnp.uint32)
    p = fam.truth(C)._replace(w=jnp.asarray(rng.standard_normal((C, d)), jnp.float32))
    key = bits.key_from_seed(9)
    s = fam.draw(key, ch, p, jnp.full(C, float(n)), cap)
    w_hat = np.asarray(fam.fit(s).w, np.float64)
    x = np.asarray(bits.normal(bits.fold(key, tags.REGRESSION_ROWS), ch, cap * d), np.float64).reshape(C, cap, d)
    eps = np.asarray(bits.normal(bits.fold(key, tags.REGRESSION_NOISE), ch, cap), np.float64)
    wp, G_hat, u32, u64 = np.asarray(p.w, np.float64), np.asarray(s.G, np.float64), 2.0**-24, 2.0**-53
    for c in range(C):
        X, e = x[c, :n], eps[c, :n]
        y = X @ wp[c] + sigma * e
        ref = np.linalg.lstsq(X, y, rcond=None)[0]
        G, aX = X.T @ X, np.abs(X)
        g_inv = 1.0 / np.linalg.eigvalsh(G)[0]

        def bound(u, c=c, X=X, e=e, aX=aX, g_inv=g_inv):
            c_abs = (1.0 + _gamma(n, u)) * aX.T @ np.abs(e)  # >= |c^|
            db = _gamma(n, u) * (aX.T @ aX @ np.abs(wp[c]) + sigma * aX.T @ np.abs(e)) + _gamma(d + 2, u) * (
                np.abs(G_hat[c]) @ np.abs(wp[c]) + sigma * c_abs
            )
            dG = _gamma(n, u) * np.linalg.norm(aX.T @ aX, 2) + _gamma(3 * d + 1, u) * np.trace(G_hat[c])
            return g_inv * (np.linalg.norm(db) + dG * np.linalg.norm(w_hat[c]))

        tol = bound(u32) + bound(u64)
        err = np.linalg.norm(w_hat[c] - ref)
        assert err <= tol, (c, err, tol)
        assert tol < 1e-3 * np.linalg.norm(ref), (c, tol)  # the bound is informative
        short = np.linalg.lstsq(X[:-1], y[:-1], rcond=None)[0]
        assert np.linalg.norm(w_hat[c] - short) > tol, c  # negative control: one row fewer
    # The fixed design's factor: |L L^T - G^| <= gamma_{d+1} |L||L^T| (Higham Thm 10.3).
    fixed = regression(d, sigma, design="fixed", kernel="sample")
    sf = fixed.draw(key, ch, fixed.truth(C), jnp.full(C, float(n)), cap)
    L, Gf = np.asarray(sf.chol, np.float64), np.asarray(sf.G, np.float64)
    assert np.all(np.triu(L, 1) == 0)
    lhs = np.abs(L @ np.swapaxes(L, 1, 2) - Gf)
    assert np.all(
        lhs <= _gamma(d + 1, u32) * np.abs(L) @ np.abs(np.swapaxes(L, 1, 2)) + _gamma(d + 1, u64) * np.abs(Gf)
    )
