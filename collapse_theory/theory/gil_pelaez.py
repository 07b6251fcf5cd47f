"""Exact law of the collapsed variance: ``P(sigma_n^2 < eps)`` by Gil-Pelaez inversion, stably.

``L = log(sigma_n^2/sigma0^2)`` is a sum of ``n`` i.i.d. ``log W``, ``W = c chi2_k``,
``k = M - 1``, with characteristic function ``phi(t) = (2c)^{it} Gamma(z + it)/Gamma(z)``,
``z = k/2``; ``P(L < x) = 1/2 - (1/pi) int_0^inf Im[e^{-itx} phi(t)^n]/t dt``.

``log phi`` is computed without cancellation for every ``z > 0`` (:func:`log_cf`): shifting
``z`` up to ``z' >= 10`` costs ``log1p(it/(z+j))`` terms, and Stirling's series for
``log Gamma(z' + it) - log Gamma(z')`` is regrouped so that the ``it`` terms cancel
algebraically (with ``2c = 1/z`` unbiased or ``1/(z + 1/2)`` MLE, ``it log(2c z')`` is a
``log1p``). Every piece is then a ``log1p``, ``atan`` or ``expm1`` of a small argument,
accurate to a few ``u = 2^-53`` relative to ``|log phi|``.

Deep tails are decided by Chernoff bounds (``P(L <= x) <= e^{theta x} E[W^-theta]^n``,
``P(L >= x) <= e^{-theta x} E[W^theta]^n``, evaluated in mpmath): below :data:`TAIL_CUT` the
probability is returned as 0 or 1, an absolute error at most the bound; elsewhere the integral
oscillates a bounded number of times and ``scipy.integrate.quad`` meets its absolute tolerance.

References:
    J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951) 481-482.
    NIST DLMF 5.11.1 (Stirling's series, Bernoulli coefficients ``B_2k / (2k(2k-1))``).

"""

from __future__ import annotations

import cmath
import math

import mpmath
import scipy.integrate
import scipy.special

__all__ = ["TAIL_CUT", "log_cf", "prob_below"]

TAIL_CUT = 1e-15
"""A tail whose Chernoff bound is below this is returned as exactly 0 (or 1)."""
_Z0 = 10.0
_STIRLING = (1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400)


def _expm1c(w: complex) -> complex:
    """``exp(w) - 1`` accurate for small ``|w|`` (``cos b - 1 = -2 sin^2(b/2)``)."""
    a, b = w.real, w.imag
    return complex(math.expm1(a) * math.cos(b) - 2 * math.sin(b / 2) ** 2, math.exp(a) * math.sin(b))


def _log1p_i(y: float) -> complex:
    """``log(1 + iy) = (1/2) log1p(y^2) + i atan(y)``."""
    return complex(0.5 * math.log1p(y * y), math.atan(y))


def _log1p_i_minus_iy(y: float) -> complex:
    """``log(1 + iy) - iy``: the imaginary part ``atan(y) - y`` by its series when ``|y| < 0.1``."""
    if abs(y) < 0.1:
        y2 = y * y
        acc = 0.0
        for j in range(11, 0, -1):  # atan(y) - y = y^3 sum_{j>=1} (-1)^j y^(2j-2)/(2j+1); y^22 < 1e-22
            acc = acc * y2 + (-1.0) ** j / (2 * j + 1)
        imag = acc * y * y2
    else:
        imag = math.atan(y) - y
    return complex(0.5 * math.log1p(y * y), imag)


def log_cf(t: float, z: float, estimator: str) -> complex:
    """``log phi(t) = it log(2c) + log Gamma(z + it) - log Gamma(z)``, ``z = (M-1)/2``.

    With ``m`` shifts to ``z' = z + m >= 10``, ``y = t/z'`` and ``l = log(1+iy) - iy``:
    ``log phi = itA - iy/2 - ty + (z' - 1/2 + it) l + sum_k b_k z'^(1-2k) [(1+iy)^(1-2k) - 1]
    - sum_{j<m} log(1 + it/(z+j))``, ``A = log(2c z')``, ``b_k`` Stirling's coefficients.
    """
    shifts = max(0, math.ceil(_Z0 - z))
    zp = z + shifts
    y = t / zp
    if estimator == "unbiased":
        big_a = math.log1p(shifts / z)
    else:
        big_a = math.log1p((shifts - 0.5) / (z + 0.5))
    ell = _log1p_i_minus_iy(y)
    out = complex(-t * y, t * big_a - y / 2) + complex(zp - 0.5, t) * ell
    lam = _log1p_i(y)
    for k, coef in enumerate(_STIRLING, start=1):
        out += coef * zp ** (1 - 2 * k) * _expm1c((1 - 2 * k) * lam)
    for j in range(shifts):
        out -= _log1p_i(t / (z + j))
    return out


def _log_mellin(s: mpmath.mpf, z: mpmath.mpf, log2c: mpmath.mpf) -> mpmath.mpf:
    return s * log2c + mpmath.loggamma(z + s) - mpmath.loggamma(z)


def _tail_bound(M: int, n: int, x: float, estimator: str, lower: bool) -> float:  # noqa: N803
    """Chernoff bound on ``P(L <= x)`` (``lower``) or ``P(L >= x)``, ``theta`` from the CLT."""
    from collapse_theory.theory import numeric

    def log_bound(M: int, n: int, x: float) -> mpmath.mpf:  # noqa: N803
        size = mpmath.mpf(M)
        z = (size - 1) / 2
        log2c = mpmath.log(2 / (size - 1 if estimator == "unbiased" else size))
        drift, spread = log2c + mpmath.digamma(z), mpmath.psi(1, z)
        theta = abs(x - n * drift) / (n * spread)
        if lower:
            theta = min(theta, z / 2)  # E W^-theta finite for theta < z
            return theta * x + n * _log_mellin(-theta, z, log2c)
        return -theta * x + n * _log_mellin(theta, z, log2c)

    value = numeric.adaptive(log_bound, {"M": M, "n": n, "x": x})
    return float(mpmath.exp(min(value, 0)))


def prob_below(M: int, n: int, eps: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    """``P(sigma_n^2 < eps)``, absolute error below about 1e-12.

    Args:
        M: Samples per generation (``>= 2``).
        n: Generation (``>= 1``).
        eps: Threshold (``> 0``).
        sigma0: True standard deviation (``> 0``).
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The probability (quadrature ``epsabs = 1e-14`` per segment, ``epsrel = 1e-12``; tails
        below :data:`TAIL_CUT` as 0 or 1).

    """
    z = (M - 1.0) / 2.0
    x = math.log(eps) - 2.0 * math.log(sigma0)
    with mpmath.workdps(30):
        size = mpmath.mpf(M)
        log2c = mpmath.log(2 / (size - 1 if estimator == "unbiased" else size))
        drift = float(n * (log2c + mpmath.digamma((size - 1) / 2)))
    if x < drift and _tail_bound(M, n, x, estimator, lower=True) < TAIL_CUT:
        return 0.0
    if x > drift and _tail_bound(M, n, x, estimator, lower=False) < TAIL_CUT:
        return 1.0

    def log_phi_n(t: float) -> complex:
        return n * log_cf(t, z, estimator)

    def integrand(t: float) -> float:
        return (cmath.exp(complex(0.0, -t * x) + log_phi_n(t))).imag / t

    width = 1.0 / math.sqrt(n * float(scipy.special.polygamma(1, z)))
    upper = width
    while log_phi_n(upper).real > -60.0:
        upper *= 2.0
    # Split at the scale of the CLT width so quad resolves both the peak and the tail.
    edges = sorted({0.0, *[e for e in (width, 4 * width, 16 * width) if e < upper], upper})
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        part, _ = scipy.integrate.quad(integrand, lo, hi, limit=400, epsabs=1e-14, epsrel=1e-12)
        total += part
    return min(1.0, max(0.0, 0.5 - total / math.pi))
