"""What every assertion does first: resolve its false-failure rate and validate its sample."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from collapse_theory.testing import ledger

__all__ = ["resolve_rate", "as_sample", "edgeworth_excess"]


def resolve_rate(alpha: float | None, k: int, false_fail_rate: float | None) -> float:
    """The rate one call runs at: ``(false_fail_rate or alpha or DEFAULT_RATE) / k``, then inflated.

    Raises:
        ValueError: both ``alpha`` and ``false_fail_rate`` given, a rate outside (0, 1), or ``k < 1``.

    """
    if alpha is not None and false_fail_rate is not None:
        raise ValueError("give alpha (positional, shared by k items) or false_fail_rate, not both")
    total = false_fail_rate if false_fail_rate is not None else alpha if alpha is not None else ledger.DEFAULT_RATE
    if isinstance(k, bool) or int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return ledger.effective_rate(ledger.validate_rate(total) / int(k))


def as_sample(samples, what: str, min_samples: int) -> np.ndarray:
    """``samples`` as a flat float64 array; ``AssertionError`` if any value is non-finite or there are too few."""
    x = np.asarray(samples, dtype=np.float64).ravel()
    bad = int(np.sum(~np.isfinite(x)))
    if bad:
        raise AssertionError(f"{what}: {bad} of {x.size} samples are not finite (nan or inf)")
    if x.size < min_samples:
        raise AssertionError(f"{what}: {x.size} samples, fewer than the {min_samples} this test needs")
    return x


def edgeworth_excess(x: np.ndarray, threshold: float, *, sides: int = 2) -> float:
    """The Edgeworth estimate of how far a t-test's actual false-failure rate exceeds its stated one.

    For the studentized mean of ``n`` i.i.d. values with skewness ``g`` and excess kurtosis ``k``
    (Hall 1992, "The Bootstrap and Edgeworth Expansion", section 2.6),
    ``P(T <= x) = Phi(x) + n^{-1/2} q1(x) phi(x) + n^{-1} q2(x) phi(x)`` with
    ``q1 = g (2x^2 + 1) / 6`` and ``q2 = x [k (x^2 - 3) / 12 - g^2 (x^4 + 2x^2 - 3) / 18 - (x^2 + 3) / 4]``.
    The last term of ``q2`` is Student's t's own (the assertions use t quantiles), so it is left
    out. Two-sided, the ``q1`` terms cancel and the excess is ``-2 q2 phi / n``; one-sided it is
    ``|q1| phi / sqrt(n)``. Estimated from the sample's own moments: a guide to how approximate the
    stated rate is for skewed data (large at small rates and small n), not a correction.
    """
    n = x.size
    sd = float(x.std())
    if n < 3 or sd == 0:
        return 0.0
    z = (x - x.mean()) / sd
    g, k = float(np.mean(z**3)), float(np.mean(z**4)) - 3.0
    t = float(threshold)
    phi = float(stats.norm.pdf(t))
    if sides == 1:
        return abs(g * (2 * t * t + 1) / 6.0) * phi / math.sqrt(n)
    q2 = t * (k * (t * t - 3) / 12.0 - g * g * (t**4 + 2 * t * t - 3) / 18.0)
    return max(-2.0 * q2 * phi / n, 0.0)
