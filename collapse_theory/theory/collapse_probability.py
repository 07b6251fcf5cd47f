"""Law of the collapsed variance: a.s. rate, exact CDF, CLT, Chernoff bound, small-eps tail.

``L_n = log(sigma_n^2 / sigma0^2)`` is a sum of ``n`` i.i.d. ``log W`` with ``W ~ c chi2_k``,
``k = M - 1``, whose characteristic function is ``phi(u) = (2c)^{iu} Gamma(k/2+iu)/Gamma(k/2)``.
Hence the exact CDF of ``sigma_n^2`` is one Gil-Pelaez integral.

References:
    Shumailov et al., Nature 631 (2024), Theorem 3.1: sigma_n -> 0 almost surely [SRC].
    J. Gil-Pelaez, "Note on the inversion theorem", Biometrika 38 (1951) 481-482.
    Derivations: ``docs/derivations.md``, 'Collapse probability' [DER, MC]; machine-checked in
    ``proofs/collapse_probability.py``.

"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special
import sympy as sp

from collapse_theory.theory.gaussian import ESTIMATORS, c4, scale
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, eps, n, sigma0, u

__all__ = ["cramer_exponent", "prob_sigma2_below", "results"]

_PROOF = "proofs.collapse_probability"
_PARAMS = {
    "M": "samples per generation (M >= 2)",
    "n": "generation (n >= 1)",
    "eps": "threshold on sigma_n^2 (same units as sigma0^2)",
    "sigma0": "true standard deviation",
}
_CITE = (
    "derived here (docs/derivations.md, 'Collapse probability'); a.s. collapse is Shumailov et al., "
    "Nature 631 (2024), Thm 3.1 [SRC]"
)


def _c_value(size: float, estimator: str) -> float:
    return 1.0 / (size - 1.0) if estimator == "unbiased" else 1.0 / size


def prob_sigma2_below(M: float, n: int, eps: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    """Exact ``P(sigma_n^2 < eps)`` by Gil-Pelaez inversion of the characteristic function.

    Args:
        M: Samples per generation (``M > 1``).
        n: Generation, a positive integer.
        eps: Threshold (> 0).
        sigma0: True standard deviation (> 0).
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The probability; absolute accuracy about 1e-12 (quadrature tolerance).

    Raises:
        ValueError: Parameters outside the domain.

    """
    if M <= 1 or eps <= 0 or sigma0 <= 0 or n < 1 or n != int(n):
        raise ValueError("need M > 1, integer n >= 1, eps > 0, sigma0 > 0")
    n = int(n)
    half_k = (M - 1.0) / 2.0
    log2c = math.log(2.0 * _c_value(M, estimator))
    x = math.log(eps / sigma0**2)
    lg0 = scipy.special.loggamma(half_k)

    def log_phi_n(t: np.ndarray) -> np.ndarray:
        return n * (1j * t * log2c + scipy.special.loggamma(half_k + 1j * t) - lg0)

    def integrand(t: float) -> float:
        return float(np.imag(np.exp(-1j * t * x + log_phi_n(np.asarray(t))))) / t

    upper = 1.0
    while log_phi_n(np.asarray(upper)).real > -60.0:
        upper *= 2.0
    # Split at the scale of the CLT width so quad resolves both the peak and the tail.
    width = 1.0 / math.sqrt(n * float(scipy.special.polygamma(1, half_k)))
    edges = sorted({0.0, *[e for e in (width, 4 * width, 16 * width) if e < upper], upper})
    total = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        part, _ = scipy.integrate.quad(integrand, lo, hi, limit=400, epsabs=1e-14, epsrel=1e-12)
        total += part
    return min(1.0, max(0.0, 0.5 - total / math.pi))


def cramer_exponent(M: float, estimator: str) -> float:  # noqa: N803
    """Cramer rate ``I = -min_theta log E[W^theta]`` of the upper tail ``P(sigma_n^2 >= eps)``.

    Args:
        M: Samples per generation (``M > 1``).
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        ``I > 0``; ``P(sigma_n^2 >= eps) = exp(-n I + o(n))``.

    """
    if M <= 1:
        raise ValueError("need M > 1")
    half_k = (M - 1.0) / 2.0
    log2c = math.log(2.0 * _c_value(M, estimator))

    def log_mgf(th: float) -> float:
        return th * log2c + scipy.special.gammaln(half_k + th) - scipy.special.gammaln(half_k)

    # The derivative log(2c) + psi(k/2 + theta) is increasing: bracket its root.
    hi = 1.0
    while log2c + scipy.special.psi(half_k + hi) < 0:
        hi *= 2.0
    root = scipy.optimize.brentq(lambda th: log2c + scipy.special.psi(half_k + th), 0.0, hi, xtol=1e-15, rtol=1e-15)
    return -log_mgf(root)


@functools.cache
def _gil_pelaez_expr(estimator: str) -> sp.Expr:
    c, k = scale(estimator), M - 1
    phi = (2 * c) ** (sp.I * u) * sp.gamma(k / 2 + sp.I * u) / sp.gamma(k / 2)
    x = sp.log(eps / sigma0**2)
    integrand = sp.im(sp.exp(-sp.I * u * x) * phi**n) / u
    return sp.Rational(1, 2) - sp.Integral(integrand, (u, 0, sp.oo)) / sp.pi


def _normal_cdf(z: sp.Expr) -> sp.Expr:
    return (1 + sp.erf(z / sp.sqrt(2))) / 2


def _per_estimator(est: str) -> list[Result]:
    c, k = scale(est), M - 1
    rate = sp.polygamma(0, k / 2) + sp.log(2 * c)
    spread = sp.polygamma(1, k / 2)
    x = sp.log(eps / sigma0**2)
    base = f"gaussian.replace.{est}"
    assume = f"replace workflow, {est} variance estimator, fixed M"
    if est == "unbiased":
        chern = sp.sqrt(sigma0**2 / eps) * c4() ** n
        chern_text = "P(sigma_n^2 >= eps) <= sqrt(sigma0^2/eps) c4(M)^n (theta = 1/2)"
    else:
        chern = sigma0**2 / eps * ((M - 1) / M) ** n
        chern_text = "P(sigma_n^2 >= eps) <= (sigma0^2/eps) ((M-1)/M)^n (theta = 1, Markov)"
    y = eps / (sigma0**2 * (2 * c) ** n)
    small = y ** (k / 2) * sp.log(1 / y) ** (n - 1) / (sp.factorial(n - 1) * (k / 2) * sp.gamma(k / 2) ** n)
    return [
        result(
            id=f"{base}.as_rate",
            title=f"Almost-sure collapse rate of log sigma^2 ({est})",
            statement=(
                "(1/n) log sigma_n^2 -> m = psi((M-1)/2) + log(2c) < 0 almost surely; "
                "sigma_n^2 reaches eps sigma0^2 after about log(1/eps)/|m| generations"
            ),
            expr=rate,
            params={"M": _PARAMS["M"]},
            assumptions=assume,
            citation=_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_as_rate",
        ),
        result(
            id=f"{base}.prob_sigma2_below",
            title=f"Exact P(sigma_n^2 < eps) ({est})",
            statement=(
                "P(sigma_n^2 < eps) = 1/2 - (1/pi) int_0^inf Im[e^{-iux} phi(u)^n]/u du, "
                "x = log(eps/sigma0^2), phi(u) = (2c)^{iu} Gamma(k/2+iu)/Gamma(k/2)"
            ),
            expr=_gil_pelaez_expr(est),
            params=_PARAMS,
            assumptions=assume + "; n >= 1",
            citation=_CITE + "; inversion: Gil-Pelaez, Biometrika 38 (1951)",
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_{est}_prob_sigma2_below",
            numeric=functools.partial(_gil_pelaez_numeric, estimator=est),
        ),
        result(
            id=f"{base}.prob_sigma2_below_clt",
            title=f"CLT approximation of P(sigma_n^2 < eps) ({est})",
            statement="P(sigma_n^2 < eps) ~ Phi((x - n m)/sqrt(n v)), v = psi1((M-1)/2)",
            expr=_normal_cdf((x - n * rate) / sp.sqrt(n * spread)),
            params=_PARAMS,
            assumptions=assume + "; poor in the lower tail at small n",
            citation=_CITE,
            tag="DER, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_{est}_prob_sigma2_below_clt",
        ),
        result(
            id=f"{base}.upper_tail_chernoff",
            title=f"Chernoff bound on P(sigma_n^2 >= eps) ({est})",
            statement=chern_text + "; general: (sigma0^2/eps)^theta (E W^theta)^n for any theta > 0",
            expr=chern,
            params=_PARAMS,
            assumptions=assume,
            citation=_CITE,
            tag="DER, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_{est}_upper_tail_chernoff",
        ),
        result(
            id=f"{base}.cramer_exponent",
            title=f"Cramer exponent of the upper tail ({est})",
            statement=(
                "I = -min_theta [theta log(2c) + log Gamma(k/2+theta) - log Gamma(k/2)]; "
                "P(sigma_n^2 >= eps) = exp(-n I + o(n))"
                + ("; I ~ 1/(4(M-1))" if est == "unbiased" else "; I ~ log(M/(M-1))")
            ),
            expr=None,
            params={"M": _PARAMS["M"]},
            assumptions=assume,
            citation=_CITE,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_cramer_exponent",
            numeric=functools.partial(_cramer_numeric, estimator=est),
        ),
        result(
            id=f"{base}.prob_sigma2_below_small_eps",
            title=f"Small-eps asymptote of P(sigma_n^2 < eps) ({est})",
            statement=(
                "P(sigma_n^2 < eps) ~ y^(k/2) (ln 1/y)^(n-1) / [(n-1)! (k/2) Gamma(k/2)^n] as "
                "eps -> 0 at fixed n, y = eps/(sigma0^2 (2c)^n); relative error ~ 1/ln(1/y)"
            ),
            expr=small,
            params=_PARAMS,
            assumptions=assume + "; n >= 1 fixed, eps -> 0",
            citation="derived here (docs/derivations.md, 'Collapse probability'): leading Mellin pole of order n",
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_prob_sigma2_below_small_eps",
        ),
    ]


def _gil_pelaez_numeric(M: float, n: float, eps: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    if n != int(n):
        raise ValueError("n must be an integer")
    return prob_sigma2_below(M, int(n), eps, sigma0, estimator)


def _cramer_numeric(M: float, estimator: str) -> float:  # noqa: N803
    return cramer_exponent(M, estimator)


def results() -> list[Result]:
    """The registered collapse-probability results."""
    return [res for est in ESTIMATORS for res in _per_estimator(est)]
