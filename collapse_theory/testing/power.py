"""Experiment design for Monte Carlo tests: :func:`required_chains` and :func:`detectable_discrepancy`.

Every assertion of the toolkit has a power formula, stated here, so a test can be sized before it
runs (the n needed for a discrepancy) and a pass can be read (the discrepancy ruled out at this n).
With ``r`` the false-failure rate of one item (``false_fail_rate / k`` for ``k`` Bonferroni items)
and ``beta`` the power:

* ``"mean"`` (also ``"unbiased"``, ``"log_moment"``, ``"closed_form"``): the two-sided one-sample
  t-test of :func:`~collapse_theory.testing.assert_mean`. Its power against a shift ``delta`` of
  the mean of data with standard deviation ``sd`` is exact for Gaussian data:
  ``P(|T'| > t_{n-1, 1-r/2})``, ``T'`` noncentral t with ``n - 1`` degrees of freedom and
  noncentrality ``delta sqrt(n) / sd`` (normal approximation above 10^5 samples). The normal
  approximation ``n = ((z_{1-r/2} + z_beta) sd / delta)^2`` is its large-n limit.
* ``"variance"``: the z-test of :func:`~collapse_theory.testing.assert_variance`, standard error
  ``sd^2 sqrt((kurtosis - 1) / n)``, power ``Phi(delta / se - z) + Phi(-delta / se - z)``
  (normal approximation).
* ``"ks"`` (also ``"exact_law"``): the one-sample Kolmogorov-Smirnov test. Against any law at
  KS distance ``D = sup |F - G|`` from the hypothesis, the statistic is at least
  ``D - sup |F_n - F|``, so the power is at least ``K_n(D - d_r)`` with ``K_n`` the exact
  distribution of ``sup |F_n - F|`` (:data:`scipy.stats.kstwo`) and ``d_r = K_n^{-1}(1 - r)`` the
  threshold: a distribution-free guarantee (the true power is usually higher).
* ``"same_law"`` (also ``"ks2"``): the two-sample KS test with ``n`` and ``m`` samples. Its
  threshold is ``d_r = K_e^{-1}(1 - r)`` with ``e = round(n m / (n + m))`` (scipy's asymptotic
  method), and by the triangle inequality and a union bound over the two empirical processes,
  the power is at least ``beta`` when
  ``D >= d_r + K_n^{-1}(1 - (1 - beta) / 2) + K_m^{-1}(1 - (1 - beta) / 2)``.

Above :data:`ASYMPTOTIC_N` samples ``K_n`` is replaced by the Kolmogorov distribution of
``sqrt(n) sup |F_n - F|`` (:data:`scipy.stats.kstwobign`), whose error there is below 0.1 %.

Example:
    >>> from collapse_theory.testing import required_chains, detectable_discrepancy
    >>> required_chains("mean", discrepancy=0.1, sd=1.0, false_fail_rate=1e-6)
    3300
    >>> round(detectable_discrepancy("same_law", chains=20000, false_fail_rate=1e-6), 4)
    0.0442

"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable

from scipy import optimize, stats

from collapse_theory.testing import ledger

__all__ = [
    "TESTS",
    "ASYMPTOTIC_N",
    "MIN_SAMPLES",
    "power",
    "detectable_discrepancy",
    "required_chains",
    "ks_threshold",
    "ks_distance",
    "z_detectable",
    "later",
]

TESTS = ("mean", "unbiased", "log_moment", "closed_form", "variance", "ks", "exact_law", "same_law", "ks2")
"""The tests the power verbs know (aliases share a formula: module docstring)."""

ASYMPTOTIC_N = 100_000
"""Sample size above which the KS and t distributions are replaced by their limits."""

MIN_SAMPLES = {"mean": 20, "variance": 100, "ks": 20, "ks2": 20}
"""The smallest sample each kind of test accepts (the assertions reject smaller ones): below it
the normal approximation of a t statistic of skewed data, or of a fourth-moment standard error,
is not trusted at the small rates the suite runs at."""

_KIND = {
    "mean": "mean",
    "unbiased": "mean",
    "log_moment": "mean",
    "closed_form": "mean",
    "variance": "variance",
    "ks": "ks",
    "exact_law": "ks",
    "same_law": "ks2",
    "ks2": "ks2",
}


def _kind(test: str) -> str:
    if test not in _KIND:
        raise ValueError(f"unknown test {test!r}; choose from {', '.join(TESTS)}")
    return _KIND[test]


def _check_n(n, name: str = "chains") -> int:
    if isinstance(n, bool) or int(n) != n or n < 2:
        raise ValueError(f"{name} must be an integer >= 2, got {n!r}")
    return int(n)


@functools.lru_cache(maxsize=4096)
def _ks_isf(q: float, n: int) -> float:
    """``K_n^{-1}(1 - q)``: the upper-q quantile of ``sup |F_n - F|`` for n samples."""
    if n > ASYMPTOTIC_N:
        return float(stats.kstwobign.isf(q)) / math.sqrt(n)
    return float(stats.kstwo.isf(q, n))


def ks_threshold(rate: float, n: int, m: int | None = None) -> float:
    """The KS distance at which the one-sample (or, with ``m``, two-sample) test rejects at ``rate``."""
    n = _check_n(n)
    if m is None:
        return _ks_isf(rate, n)
    e = max(int(round(n * _check_n(m) / (n + m))), 1)
    return _ks_isf(rate, e)


def _rate(false_fail_rate: float, k: int) -> float:
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return ledger.validate_rate(false_fail_rate) / int(k)


def _mean_power(delta: float, n: int, r: float, sd: float) -> float:
    nc = abs(delta) * math.sqrt(n) / sd
    if n > ASYMPTOTIC_N:
        z = stats.norm.isf(r / 2)
        return float(stats.norm.sf(z - nc) + stats.norm.cdf(-z - nc))
    t = float(stats.t.isf(r / 2, n - 1))
    with warnings.catch_warnings():  # boost's series may not converge far in the tails
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(stats.nct.sf(t, n - 1, nc) + stats.nct.cdf(-t, n - 1, nc))
    if not math.isfinite(p):  # the normal approximation of the noncentral t (Johnson & Welch 1940)
        s = math.sqrt(1.0 + t * t / (2.0 * (n - 1)))
        p = float(stats.norm.sf((t - nc) / s) + stats.norm.cdf((-t - nc) / s))
    return min(max(p, 0.0), 1.0)


def _variance_power(delta: float, n: int, r: float, sd: float, kurtosis: float) -> float:
    se = sd**2 * math.sqrt((kurtosis - 1.0) / n)
    z = stats.norm.isf(r / 2)
    return float(stats.norm.sf(z - abs(delta) / se) + stats.norm.cdf(-z - abs(delta) / se))


def _ks_power_bound(d: float, n: int, r: float) -> float:
    margin = d - _ks_isf(r, n)
    if margin <= 0:
        return 0.0
    if n > ASYMPTOTIC_N:
        return float(stats.kstwobign.cdf(margin * math.sqrt(n)))
    return float(stats.kstwo.cdf(margin, n))


def power(
    test: str,
    *,
    discrepancy: float,
    chains: int,
    false_fail_rate: float = 1e-6,
    sd: float = 1.0,
    kurtosis: float = 3.0,
    chains_b: int | None = None,
    k: int = 1,
) -> float:
    """The power of ``test`` against ``discrepancy`` at ``chains`` samples (a lower bound for KS).

    Args:
        test: one of :data:`TESTS`.
        discrepancy: the departure from the hypothesis: a shift of the mean (``mean``), of the
            variance (``variance``), or the KS distance ``sup |F - G|`` (``ks``, ``same_law``).
        chains: the sample size (the first sample's, for ``same_law``).
        false_fail_rate: the total false-failure rate of the assertion.
        sd: the standard deviation of the data (``mean``, ``variance``).
        kurtosis: the kurtosis ``m4 / sd^4`` of the data (``variance``; 3 for Gaussian data).
        chains_b: the second sample's size (``same_law``; default ``chains``).
        k: the number of Bonferroni items the rate is split over.

    Returns:
        The probability of rejecting (``same_law``: a lower bound, see the module docstring).

    """
    n, r, kind = _check_n(chains), _rate(false_fail_rate, k), _kind(test)
    d = abs(float(discrepancy))
    if kind == "mean":
        return _mean_power(d, n, r, sd)
    if kind == "variance":
        return _variance_power(d, n, r, sd, kurtosis)
    if kind == "ks":
        return _ks_power_bound(d, n, r)
    m = n if chains_b is None else _check_n(chains_b, "chains_b")
    margin = d - ks_threshold(r, n, m)
    if margin <= 0:
        return 0.0
    # the largest beta with D >= d_r + a_n(beta) + a_m(beta), a_n(beta) = K_n^{-1}(1 - (1 - beta) / 2)
    f = lambda q: _ks_isf(q, n) + _ks_isf(q, m) - margin  # noqa: E731
    if f(0.5) > 0:
        return 0.0
    if f(1e-12) < 0:
        return 1.0
    q = optimize.brentq(f, 1e-12, 0.5, xtol=1e-14, rtol=1e-10)
    return float(1.0 - 2.0 * q)


def detectable_discrepancy(
    test: str = "same_law",
    *,
    chains: int,
    false_fail_rate: float = 1e-6,
    power: float = 0.8,
    sd: float = 1.0,
    kurtosis: float = 3.0,
    chains_b: int | None = None,
    k: int = 1,
    false_pass_rate: float | None = None,
) -> float:
    """The smallest discrepancy that ``test`` detects with probability ``power`` at ``chains`` samples.

    Args:
        test: one of :data:`TESTS` (formulas in the module docstring).
        chains: the sample size (the first sample's, for ``same_law``).
        false_fail_rate: the total false-failure rate of the assertion.
        power: the detection probability (``1 -`` the false-pass rate).
        sd: the standard deviation of the data (``mean``, ``variance``).
        kurtosis: the data's kurtosis (``variance``).
        chains_b: the second sample's size (``same_law``; default ``chains``).
        k: the number of Bonferroni items the rate is split over.
        false_pass_rate: ``1 - power`` (TensorFlow Probability's name), instead of ``power``.

    Returns:
        The discrepancy in the test's units: a mean shift (``mean``), a variance difference
        (``variance``) or a KS distance ``sup |F - G|`` (``ks``, ``same_law``).

    Example:
        >>> round(detectable_discrepancy("mean", chains=10000, sd=2.0, false_fail_rate=1e-6), 4)
        0.1147

    """
    beta = ledger.validate_rate(power if false_pass_rate is None else 1.0 - false_pass_rate, "power")
    n, r, kind = _check_n(chains), _rate(false_fail_rate, k), _kind(test)
    if kind == "ks":
        return _ks_isf(r, n) + (
            float(stats.kstwobign.ppf(beta)) / math.sqrt(n) if n > ASYMPTOTIC_N else float(stats.kstwo.ppf(beta, n))
        )
    if kind == "ks2":
        m = n if chains_b is None else _check_n(chains_b, "chains_b")
        q = (1.0 - beta) / 2.0
        return ks_threshold(r, n, m) + _ks_isf(q, n) + _ks_isf(q, m)
    if not sd > 0:
        return 0.0
    scale = sd / math.sqrt(n) if kind == "mean" else sd**2 * math.sqrt((kurtosis - 1.0) / n)
    pw = (lambda d: _mean_power(d, n, r, sd)) if kind == "mean" else (lambda d: _variance_power(d, n, r, sd, kurtosis))
    hi = (stats.t.isf(r / 2, n - 1) + stats.norm.isf(1 - beta) + 2.0) * scale
    return float(optimize.brentq(lambda d: pw(d) - beta, 0.0, hi, xtol=1e-12 * scale, rtol=1e-10))


def required_chains(
    test: str = "same_law",
    *,
    discrepancy: float,
    false_fail_rate: float = 1e-6,
    power: float = 0.8,
    sd: float = 1.0,
    kurtosis: float = 3.0,
    k: int = 1,
    max_chains: int = 10**9,
    false_pass_rate: float | None = None,
) -> int:
    """The smallest number of chains at which ``test`` detects ``discrepancy`` with probability ``power``.

    For ``same_law`` both samples have this many chains.

    Args:
        test: one of :data:`TESTS` (formulas in the module docstring).
        discrepancy: the departure to detect, in the test's units (:func:`detectable_discrepancy`).
        false_fail_rate: the total false-failure rate of the assertion.
        power: the detection probability.
        sd: the standard deviation of the data (``mean``, ``variance``).
        kurtosis: the data's kurtosis (``variance``).
        k: the number of Bonferroni items the rate is split over.
        max_chains: give up above this (``ValueError``).
        false_pass_rate: ``1 - power`` (TensorFlow Probability's name), instead of ``power``.

    Returns:
        The sample size n (the detectable discrepancy decreases in n, so every larger n also works).

    Example:
        >>> required_chains("same_law", discrepancy=0.05, false_fail_rate=1e-6)
        15631

    """
    if false_pass_rate is not None:
        power = 1.0 - ledger.validate_rate(false_pass_rate, "false_pass_rate")
    d = float(discrepancy)
    if not (d > 0 and math.isfinite(d)):
        raise ValueError(f"discrepancy must be positive and finite, got {discrepancy!r}")
    if _kind(test) in ("ks", "ks2") and d >= 1:
        raise ValueError(f"a KS distance is below 1, got {discrepancy!r}")

    def enough(n: int) -> bool:
        return (
            detectable_discrepancy(
                test, chains=n, false_fail_rate=false_fail_rate, power=power, sd=sd, kurtosis=kurtosis, k=k
            )
            <= d
        )

    hi = MIN_SAMPLES[_kind(test)]
    while not enough(hi):
        if hi > max_chains:
            raise ValueError(f"more than max_chains={max_chains} chains are needed")
        hi *= 2
    lo = hi // 2
    if lo < MIN_SAMPLES[_kind(test)]:
        return hi
    while hi - lo > 1:  # enough(hi), not enough(lo)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi


def later(test: str, **kwargs) -> Callable[[], float]:
    """:func:`detectable_discrepancy` of ``test`` with ``kwargs``, as a zero-argument callable (lazy)."""
    return functools.partial(detectable_discrepancy, test, **kwargs)


def z_detectable(se: float, rate: float, power: float = 0.8) -> float:
    """The shift a two-sided z-test with standard error ``se`` at ``rate`` detects with probability ``power``.

    Solves ``Phi(delta / se - z) + Phi(-delta / se - z) = power``, ``z = z_{1 - rate / 2}``.
    """
    if not se > 0:
        return 0.0
    z = float(stats.norm.isf(rate / 2))

    def f(d: float) -> float:
        return float(stats.norm.sf(z - d / se) + stats.norm.cdf(-z - d / se)) - power

    return float(optimize.brentq(f, 0.0, (z + stats.norm.isf(1 - power) + 2.0) * se, xtol=1e-12 * se))


def ks_distance(law_a, law_b, *, grid: int = 20001) -> float:
    """``sup |F_a - F_b|`` of two continuous scipy distributions, on a grid over both laws' quantiles.

    Use it to turn a planned departure (a shift, a scale change) into the KS distance that
    :func:`required_chains` takes.

    Example:
        >>> from scipy import stats
        >>> round(ks_distance(stats.norm(0, 1), stats.norm(0.1, 1)), 4)
        0.0399

    """
    import numpy as np

    u = np.linspace(0.0, 1.0, grid)[1:-1]
    x = np.unique(np.concatenate([law_a.ppf(u), law_b.ppf(u)]))
    x = x[np.isfinite(x)]
    return float(np.max(np.abs(law_a.cdf(x) - law_b.cdf(x))))
