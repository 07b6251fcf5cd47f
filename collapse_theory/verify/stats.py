"""Test statistics, Holm–Bonferroni and power for the verifier.

The conventions are those of ``README.md`` in this folder ("Conventions": z = (MC − closed)/SE) and
Holm, Scand. J. Statist. 6 (1979) for the family-wise error control.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

__all__ = ["holm", "mean_test", "var_test", "prop_test", "ks_chi2_test", "power_rel", "z_crit"]

Z80 = float(sps.norm.ppf(0.8))


def z_crit(alpha: float) -> float:
    """Two-sided normal critical value z_{1−α/2}."""
    return float(sps.norm.ppf(1.0 - alpha / 2.0))


def two_sided_p(z: float) -> float:
    """Two-sided normal p-value of a z-score (nan-safe: nan gives p = 0, a failure)."""
    if not math.isfinite(z):
        return 0.0
    return float(2.0 * sps.norm.sf(abs(z)))


def holm(pvalues, alpha: float) -> np.ndarray:
    """Holm's step-down procedure.

    Args:
        pvalues: the m p-values.
        alpha: the family-wise error rate.

    Returns:
        Boolean array, True where the hypothesis is rejected.

    """
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    order = np.argsort(p, kind="stable")
    reject = np.zeros(m, dtype=bool)
    for k, i in enumerate(order):
        if p[i] <= alpha / (m - k):
            reject[i] = True
        else:
            break
    return reject


def mean_test(x: np.ndarray, closed: float) -> tuple[float, float, float, float]:
    """z-test of the MC mean against a closed form.

    Returns:
        (estimate, se, z, p).

    """
    x = np.asarray(x, dtype=float)
    est = float(x.mean())
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    z = (est - closed) / se if se > 0 else (0.0 if est == closed else math.inf)
    return est, se, float(z), two_sided_p(z)


def var_test(x: np.ndarray, closed: float) -> tuple[float, float, float, float]:
    """z-test of the sample variance with its SE from the fourth central moment.

    Var(s²) ≈ (μ4 − σ⁴)/C for C chains (used for the Var log σ² checks).
    """
    x = np.asarray(x, dtype=float)
    c = x.size
    d = x - x.mean()
    s2 = float(d.var(ddof=1))
    m4 = float(np.mean(d**4))
    se = math.sqrt(max(m4 - s2 * s2, 0.0) / c)
    z = (s2 - closed) / se if se > 0 else math.inf
    return s2, se, float(z), two_sided_p(z)


def prop_test(hits: np.ndarray, closed: float) -> tuple[float, float, float, float]:
    """Binomial proportion against a closed-form probability (exact binomial p-value).

    The SE is the null one, sqrt(p0 (1 − p0) / C) (used for P(σ_n² < ε) and the fixation check).
    """
    hits = np.asarray(hits, dtype=bool)
    c = hits.size
    k = int(hits.sum())
    est = k / c
    p0 = min(max(closed, 1e-300), 1.0)
    se = math.sqrt(p0 * (1 - p0) / c)
    z = (est - p0) / se if se > 0 else math.inf
    p = float(sps.binomtest(k, c, p0).pvalue) if 0 < p0 < 1 else two_sided_p(z)
    return est, se, float(z), p


def ks_chi2_test(scaled: np.ndarray, dof: float) -> tuple[float, float, float, float]:
    """One-sample Kolmogorov–Smirnov test against chi2(dof).

    Returns:
        (D, 1/sqrt(C) as the scale of D, sqrt(C)·D, p).

    """
    res = sps.kstest(np.asarray(scaled, dtype=float), sps.chi2(dof).cdf)
    c = np.asarray(scaled).size
    return float(res.statistic), 1.0 / math.sqrt(c), float(res.statistic * math.sqrt(c)), float(res.pvalue)


def power_rel(se: float, closed: float, alpha_i: float) -> float:
    """Smallest relative error of the closed form detected with 80% power at level α_i.

    (z_{1−α_i/2} + z_{0.8}) · se / |closed|.
    """
    if closed == 0 or not math.isfinite(se):
        return math.inf
    return (z_crit(alpha_i) + Z80) * se / abs(closed)
