"""Float64 kernels with stated error bounds for results whose terms are too many for mpmath.

``u = 2^-53`` is the unit roundoff of float64. Each kernel sums terms of one sign with
``math.fsum`` (exactly rounded), so its relative error is that of its worst term plus ``u``.

References:
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM (2002),
    ch. 1-4 (error of elementary operations and of summation) [MEM].
    NIST DLMF 5.11.E13 (asymptotic expansion of ``Gamma(x + a)/Gamma(x + b)``, here through
    the Bernoulli polynomials ``B_k(1/2) = (2^(1-k) - 1) B_k``).

"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = ["CHUNK", "LOG_C4_SERIES", "absorption_littler", "log_c4", "mean_support", "power_sums"]

CHUNK = 1 << 16
"""Terms per vectorised block."""

LOG_C4_SERIES = (
    -1 / 8,
    1 / 192,
    -1 / 640,
    17 / 14336,
    -31 / 18432,
    691 / 180224,
    -5461 / 425984,
    929569 / 15728640,
    -3202291 / 8912896,
    221930581 / 79691776,
    -4722116521 / 176160768,
    968383680827 / 3087007744,
)
"""``R(x) = log Gamma(x + 1/2) - log Gamma(x) - (1/2) log x = sum_k c_k x^-k`` (odd ``k`` = 1..23).

``c_k = (2^-k - 2) B_{k+1} / (k (k + 1))`` with Bernoulli numbers ``B``; at ``x >= 9.5`` the
truncation error is below ``1.1e-19`` relative (measured against mpmath at 60 digits; the
series is asymptotic, its terms still decrease there).
"""
_SHIFT_TO = 20.0  # series used at M >= 20, i.e. x = (M - 1)/2 >= 9.5


def _series(y: np.ndarray) -> np.ndarray:
    """``R(x)`` from ``y = 1/x``."""
    y2 = y * y
    acc = np.full_like(y, LOG_C4_SERIES[-1])
    for coef in LOG_C4_SERIES[-2::-1]:
        acc = acc * y2 + coef
    return acc * y


def _half_log1m_inv_sq(size: np.ndarray, minus_one: np.ndarray) -> np.ndarray:
    """``(1/2) log(1 - 1/s^2)``; below ``s = 2`` as ``(1/2)[log d + log(d + 2) - 2 log1p(d)]``, ``d = s - 1``."""
    small = size < 2.0
    d = np.where(small, minus_one, 1.0)
    near = np.log(d) + np.log(d + 2.0) - 2.0 * np.log1p(d)
    far = np.log1p(-1.0 / np.where(small, 2.0, size) ** 2)
    return 0.5 * np.where(small, near, far)


def log_c4(
    size: np.ndarray | float, inverse: np.ndarray | None = None, minus_one: np.ndarray | None = None
) -> np.ndarray:
    """``log c4(M)`` for real ``M > 1``, ``c4(M) = sqrt(2/(M-1)) Gamma(M/2)/Gamma((M-1)/2)``.

    ``c4(M)/c4(M + 2) = sqrt(1 - 1/M^2)`` (from ``Gamma(z + 1) = z Gamma(z)``), so
    ``log c4(M) = log c4(M + 2m) + (1/2) sum_{j<m} log(1 - 1/(M + 2j)^2)``; ``m`` shifts ``M``
    to at least 20, where ``log c4(M) = R((M - 1)/2)`` (:data:`LOG_C4_SERIES`), evaluated from
    ``1/x = 2 (1/M) / (1 - 1/M)``. Every term is negative and computed to a few ``u`` (no
    cancellation), so the result is good to about ``8u`` relative.

    Args:
        size: ``M > 1`` (array or scalar); may be ``inf`` where ``inverse`` is given.
        inverse: ``1/M`` when it is known more accurately than ``1/size`` (``M`` beyond the
            float64 range).
        minus_one: ``M - 1`` when it is known more accurately than ``size - 1`` (``M`` just
            above 1, where ``log c4(M) ~ (1/2) log(M - 1)`` amplifies the rounding of ``M``).

    Returns:
        ``log c4(M)`` (same shape).

    """
    s = np.atleast_1d(np.asarray(size, dtype=np.float64))
    inv = 1.0 / s if inverse is None else np.atleast_1d(np.asarray(inverse, dtype=np.float64))
    dm1 = s - 1.0 if minus_one is None else np.atleast_1d(np.asarray(minus_one, dtype=np.float64))
    out = np.empty_like(s)
    big = s >= _SHIFT_TO
    out[big] = _series(2.0 * inv[big] / (1.0 - inv[big]))
    small = ~big
    if small.any():
        low, low_m1 = s[small], dm1[small]
        shifts = np.ceil((_SHIFT_TO - low) / 2.0)
        steps = np.arange(int(shifts.max()), dtype=np.float64)
        terms = low[:, None] + 2.0 * steps[None, :]  # M + 2j, j < m (all >= 3 beyond j = 0)
        parts = np.where(steps[None, :] < shifts[:, None], 0.5 * np.log1p(-1.0 / terms**2), 0.0)
        parts[:, 0] = _half_log1m_inv_sq(low, low_m1)
        out[small] = parts.sum(axis=1) + _series(2.0 / (low + 2.0 * shifts - 1.0))
    return out.reshape(np.shape(size))


def power_sums(m0: float, growth: float, count: int) -> tuple[float, float]:
    """``(sum_{i<count} (i+1)^-growth, sum_{i<count} log c4(M0 (i+1)^growth))``.

    The first sum's terms lie in ``(0, 1]`` (``1/(i+1)^growth``, two roundings each); the
    second is :func:`log_c4` of each size, with ``1/M_i = (1/M0)/(i+1)^growth`` so that sizes
    beyond the float64 range still count and ``M_i - 1 = (M0 - 1) + M0 expm1(growth log(i+1))``
    so that sizes just above 1 keep their relative accuracy. Both sums are of one sign: numpy's pairwise sum
    within a block of :data:`CHUNK` terms (relative error below ``16u``) and ``math.fsum``
    across blocks.

    Args:
        m0: ``M0 > 1``.
        growth: ``growth >= 0``.
        count: Number of generations ``n >= 0``.

    Returns:
        The two sums (``M0 S_n`` and ``log prod c4(M_i)``).

    """
    inv_parts: list[float] = []
    log_parts: list[float] = []
    inv_m0 = 1.0 / m0
    with np.errstate(over="ignore", under="ignore"):
        for start in range(0, count, CHUNK):
            idx = np.arange(start + 1, min(start + CHUNK, count) + 1, dtype=np.float64)
            scale = idx**growth
            inv_scale = 1.0 / scale
            inv_parts.append(float(np.sum(inv_scale)))
            minus_one = (m0 - 1.0) + m0 * np.expm1(growth * np.log(idx))
            log_parts.append(float(np.sum(log_c4(m0 * scale, inv_m0 * inv_scale, minus_one))))
    return math.fsum(inv_parts), math.fsum(log_parts)


def mean_support(size: int, probs: Sequence[float]) -> float:
    """``sum_i [1 - (1 - p_i)^M]`` as ``sum_i -expm1(M log1p(-p_i))``.

    Each term's relative error is at most about ``(|y| + 3) u`` times ``|y| e^y / (1 - e^y)``,
    ``y = M log1p(-p_i)``, which is below ``4u`` for every ``y <= 0``; the terms are
    non-negative.
    """
    p = np.asarray(probs, dtype=np.float64)
    with np.errstate(divide="ignore"):
        y = size * np.log1p(-p)
    return math.fsum(-np.expm1(y))


def absorption_littler(size: int, probs: Sequence[float]) -> float:
    """``-2M sum_i (1 - p_i) log(1 - p_i)`` (0 for ``p_i = 1``), non-negative terms."""
    p = np.asarray(probs, dtype=np.float64)
    q = 1.0 - p  # exact for p in [1/2, 1] (Sterbenz); one rounding otherwise
    live = q > 0.0
    terms = np.where(live, q * np.log1p(-np.where(live, p, 0.0)), 0.0)
    return -2.0 * size * math.fsum(terms)
