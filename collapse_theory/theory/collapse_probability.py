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
from collections.abc import Mapping
from typing import Any

import mpmath
import sympy as sp

from collapse_theory.theory import gil_pelaez
from collapse_theory.theory.domains import INT_GE1, INT_GE2, POSITIVE, Constraint, Integer
from collapse_theory.theory.gaussian import ESTIMATORS, c4, scale
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, eps, n, sigma0, u

__all__ = ["cramer_exponent", "cramer_exponent_mp", "prob_sigma2_below", "results"]

_PROOF = "proofs.collapse_probability"
_PARAMS = {
    "M": "samples per generation",
    "n": "generation",
    "eps": "threshold on sigma_n^2 (same units as sigma0^2)",
    "sigma0": "true standard deviation",
}
_CITE = (
    "derived here (docs/derivations.md, 'Collapse probability'); a.s. collapse is Shumailov et al., "
    "Nature 631 (2024), Thm 3.1 [SRC]"
)


MAX_N_EXACT = 1_000_000
"""Cap on n for the exact CDF: its phase ``t (x - n E log W)`` is formed from terms of size
``n |E log W| t``, so float64 leaves an absolute error of about ``u sqrt(n) |E log W| / sd(log W)``
(below 1e-13 at the cap for every M)."""
_DOMAINS = {"M": INT_GE2, "n": INT_GE1, "eps": POSITIVE, "sigma0": POSITIVE}
_EXACT_DOMAINS = {
    **_DOMAINS,
    "n": Integer(1, MAX_N_EXACT, why_high="accuracy cap of the float64 inversion; use prob_sigma2_below_clt"),
}
_M_ONLY = {"M": INT_GE2}


def prob_sigma2_below(M: float, n: int, eps: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    """Exact ``P(sigma_n^2 < eps)`` by Gil-Pelaez inversion (:func:`gil_pelaez.prob_below`).

    Args:
        M: Samples per generation (an integer ``>= 2``).
        n: Generation, an integer in ``[1, 10^6]``.
        eps: Threshold (> 0).
        sigma0: True standard deviation (> 0).
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The probability; absolute accuracy about 1e-12 (quadrature tolerance).

    Raises:
        ValueError: Parameters outside the domain.

    """
    if M <= 1 or M != int(M) or eps <= 0 or sigma0 <= 0 or n < 1 or n != int(n) or n > MAX_N_EXACT:
        raise ValueError(f"need integer M >= 2, integer 1 <= n <= {MAX_N_EXACT}, eps > 0, sigma0 > 0")
    return gil_pelaez.prob_below(int(M), int(n), float(eps), float(sigma0), estimator)


def cramer_exponent(M: float, estimator: str) -> float:  # noqa: N803
    """Cramer rate ``I = -min_theta log E[W^theta]`` of the upper tail ``P(sigma_n^2 >= eps)``.

    Args:
        M: Samples per generation (``M > 1``).
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        ``I > 0``; ``P(sigma_n^2 >= eps) = exp(-n I + o(n))``.

    """
    from collapse_theory.theory import numeric

    if M <= 1:
        raise ValueError("need M > 1")
    return float(numeric.adaptive(functools.partial(cramer_exponent_mp, estimator=estimator), {"M": M}))


def cramer_exponent_mp(M: float, estimator: str) -> mpmath.mpf:  # noqa: N803
    """:func:`cramer_exponent` in mpmath at the current precision.

    The stationary point solves ``log(2c) + psi(k/2 + theta) = 0`` (``psi`` increasing and
    concave) by Newton's method from ``theta = 1/2`` (unbiased) or ``1`` (MLE), the large-M
    roots; ``I`` is stationary in ``theta``, so a root error ``delta`` changes it by
    ``O(delta^2)``. Newton stops at the working precision's noise floor (the step no longer
    halves); the precision escalation around it then decides whether ``I`` is good enough.
    """
    size = mpmath.mpf(M)
    half_k = (size - 1) / 2
    log2c = mpmath.log(2 / (size - 1)) if estimator == "unbiased" else mpmath.log(2 / size)
    theta = mpmath.mpf(0.5) if estimator == "unbiased" else mpmath.mpf(1)
    tol = mpmath.mpf(10) ** (-mpmath.mp.dps)
    previous = mpmath.inf
    for count in range(60):
        step = (log2c + mpmath.digamma(half_k + theta)) / mpmath.psi(1, half_k + theta)
        theta -= step
        if abs(step) <= tol * max(1, abs(theta)) or (count >= 4 and abs(step) >= abs(previous) / 2):
            break  # converged, or at the noise floor of the working precision
        previous = step
    return -(theta * log2c + mpmath.loggamma(half_k + theta) - mpmath.loggamma(half_k))


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
            domains=_M_ONLY,
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
            domains=_EXACT_DOMAINS,
        ),
        result(
            id=f"{base}.prob_sigma2_below_clt",
            title=f"CLT approximation of P(sigma_n^2 < eps) ({est})",
            statement="P(sigma_n^2 < eps) ~ Phi((x - n m)/sqrt(n v)), v = psi1((M-1)/2)",
            expr=_normal_cdf((x - n * rate) / sp.sqrt(n * spread)),
            params=_PARAMS,
            domains=_DOMAINS,
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
            domains=_DOMAINS,
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
            numeric=functools.partial(cramer_exponent_mp, estimator=est),
            numeric_mp=True,
            domains=_M_ONLY,
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
            domains=_DOMAINS,
            assumptions=assume + "; n >= 1 fixed, eps -> 0",
            citation="derived here (docs/derivations.md, 'Collapse probability'): leading Mellin pole of order n",
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_prob_sigma2_below_small_eps",
            constraints=(_small_eps_constraint(est),),
        ),
    ]


def _small_eps_constraint(est: str) -> Constraint:
    def holds(v: Mapping[str, Any]) -> bool:
        size = v["M"]
        two_c = mpmath.mpf(2) / (size - 1 if est == "unbiased" else size)
        return bool(mpmath.mpf(v["eps"]) < mpmath.mpf(v["sigma0"]) ** 2 * two_c ** v["n"])

    text = "eps < sigma0^2 (2c)^n, c = " + ("1/(M-1)" if est == "unbiased" else "1/M") + " (y < 1)"
    return Constraint(text, holds, ("eps", "sigma0", "M", "n"))


def _gil_pelaez_numeric(M: float, n: float, eps: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    if n != int(n):
        raise ValueError("n must be an integer")
    return prob_sigma2_below(M, int(n), eps, sigma0, estimator)


def results() -> list[Result]:
    """The registered collapse-probability results."""
    return [res for est in ESTIMATORS for res in _per_estimator(est)]
