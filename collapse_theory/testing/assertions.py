"""Monte Carlo assertions with derived tolerances.

* :func:`z_threshold`: the two-sided normal quantile for a false-failure budget ``alpha`` shared
  by ``k`` comparisons (Bonferroni).
* :func:`assert_mean`: |mean - expected| <= z * SE, SE = sample SD / sqrt(n) (CLT; use it only for
  light-tailed quantities, e.g. log sigma^2, not sigma^2 at large n: engineering notes).
* :func:`assert_variance`: the sample variance against an exact variance, SE from the sample
  fourth central moment, Var(s^2) ~ (m4 - s^4) / n.
* :func:`assert_ks` / :func:`assert_two_sample_ks`: Kolmogorov-Smirnov p-value >= alpha / k.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats

__all__ = ["z_threshold", "assert_mean", "assert_variance", "assert_ks", "assert_two_sample_ks"]


def z_threshold(alpha: float, k: int = 1) -> float:
    """Two-sided z with P(|Z| > z) = alpha / k."""
    if not (0 < alpha < 1) or k < 1:
        raise ValueError("need 0 < alpha < 1 and k >= 1")
    return float(stats.norm.isf(alpha / (2 * k)))


def _z_check(est, se, expected, alpha, k, what):
    z = (est - expected) / se if se > 0 else (0.0 if est == expected else np.inf)
    zt = z_threshold(alpha, k)
    if not np.isfinite(z) or abs(z) > zt:
        raise AssertionError(
            f"{what}: estimate {est:.6g} ± {se:.3g} vs expected {expected:.6g}: z = {z:.2f}, threshold {zt:.2f} (alpha={alpha}, k={k})"
        )
    return z


def assert_mean(samples, expected: float, alpha: float = 1e-4, k: int = 1, what: str = "mean") -> float:
    """Assert the sample mean matches ``expected``; returns the z-score."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    if not np.all(np.isfinite(x)):
        raise AssertionError(f"{what}: {np.sum(~np.isfinite(x))} non-finite samples")
    return _z_check(x.mean(), x.std(ddof=1) / np.sqrt(x.size), expected, alpha, k, what)


def assert_variance(samples, expected: float, alpha: float = 1e-4, k: int = 1, what: str = "variance") -> float:
    """Assert the sample variance matches ``expected``; returns the z-score."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    c = x - x.mean()
    s2 = np.mean(c**2) * x.size / (x.size - 1)
    m4 = np.mean(c**4)
    return _z_check(s2, np.sqrt(max(m4 - s2**2, 0.0) / x.size), expected, alpha, k, what)


def assert_ks(samples, cdf: Callable, alpha: float = 1e-4, k: int = 1, what: str = "KS") -> float:
    """One-sample KS test against a continuous ``cdf``; returns the p-value."""
    p = stats.kstest(np.asarray(samples, dtype=np.float64).ravel(), cdf).pvalue
    if p < alpha / k:
        raise AssertionError(f"{what}: KS p-value {p:.3g} < {alpha / k:.3g}")
    return float(p)


def assert_two_sample_ks(a, b, alpha: float = 1e-4, k: int = 1, what: str = "two-sample KS") -> float:
    """Two-sample KS test that ``a`` and ``b`` share a continuous law; returns the p-value."""
    p = stats.ks_2samp(np.ravel(a), np.ravel(b)).pvalue
    if p < alpha / k:
        raise AssertionError(f"{what}: KS p-value {p:.3g} < {alpha / k:.3g}")
    return float(p)
