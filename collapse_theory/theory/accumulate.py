"""1-D Gaussian, workflow *accumulate*: every generation keeps all earlier data.

Model 1 is fitted on ``M`` real samples; model ``m`` on all ``mM`` points (the real block plus
``M`` synthetic samples from each of models ``1..m-1``), pooled mean and pooled variance
(unbiased: divide by ``mM - 1``; MLE: by ``mM``). With ``s_m = E sigma_m^2``:
``E SS_total(m+1 blocks) = sum_{i<=m} s_i [(M-1) + i/(i+1)]`` and
``mu_{m+1} = mu_m + sigma_m Z_m / (sqrt(M) (m+1))``, giving the products and the pi^2/6 bound
below.

References:
    Gerstgrasser et al., "Is Model Collapse Inevitable?", arXiv 2404.01413 (COLM 2024) [ABS].
    Kazdan et al., "Collapse or Thrive?", arXiv 2410.16713 (no closed forms retrieved) [ABS].
    Dey & Donoho, "Universality of the pi^2/6 Pathway", arXiv 2410.22812 [ABS].
    Derivations: ``docs/derivations.md``, 'Gaussian, accumulate' [DER, SYM, MC]; machine-checked in
    ``proofs/accumulate.py``.

"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np
import sympy as sp

from collapse_theory.theory.domains import INT_GE1, INT_GE2, POSITIVE
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, j, m, n, sigma0

__all__ = [
    "DIRECT_TERMS",
    "factor",
    "limit_mean_sq_mean_error",
    "mean_sq_mean_error_value",
    "product_mp",
    "results",
    "variance_product",
]

DIRECT_TERMS = 1_000_000
"""Terms of the mean-error series summed in float64; the rest by its asymptotic tail."""
_DIRECT_PRODUCT = 64

_PROOF = "proofs.accumulate"
_CITE = (
    "derived here (docs/derivations.md, 'Gaussian, accumulate'); accumulate workflow of Gerstgrasser et al., "
    "arXiv 2404.01413 (COLM 2024), "
    "and Kazdan et al., arXiv 2410.16713 [ABS]"
)
_PARAMS = {
    "M": "samples added per generation",
    "n": "model index (model 1 is fitted on real data only)",
    "sigma0": "true standard deviation",
}
_DOMAINS = {"M": INT_GE2, "n": INT_GE1, "sigma0": POSITIVE}
_LIM_DOMAINS = {"M": INT_GE2, "sigma0": POSITIVE}


def factor(estimator: str, index: sp.Expr = j) -> sp.Expr:
    """Factor ``s_index / s_{index-1}`` for ``index >= 2``."""
    if estimator == "unbiased":
        return 1 - 1 / (index * (index * M - 1))
    if estimator == "mle":
        return 1 - 1 / (index**2 * M)
    raise ValueError(f"unknown estimator {estimator!r}")


def _first(estimator: str) -> sp.Expr:
    return sp.Integer(1) if estimator == "unbiased" else 1 - 1 / M


def variance_product(estimator: str, upper: sp.Expr = n) -> sp.Expr:
    """``E sigma_upper^2 / sigma0^2`` as ``s_1 prod_{j=2}^{upper} factor(j)`` (upper >= 1)."""
    return _first(estimator) * sp.Product(factor(estimator), (j, 2, upper))


def _limit_ratio(estimator: str) -> sp.Expr:
    if estimator == "mle":
        return sp.sin(sp.pi / sp.sqrt(M)) / (sp.pi / sp.sqrt(M))
    a = (1 + sp.sqrt(1 + 4 * M)) / (2 * M)
    b = (1 - sp.sqrt(1 + 4 * M)) / (2 * M)
    return sp.gamma(2 - 1 / M) / (sp.gamma(2 - a) * sp.gamma(2 - b))


def _mean_error_series(estimator: str, upper: sp.Expr) -> sp.Expr:
    body = variance_product(estimator, m - 1) / m**2
    return sigma0**2 / M * (1 + sp.Sum(body, (m, 2, upper)))


def _power_sums(estimator: str, M: float, count: int) -> list[mpmath.mpf]:  # noqa: N803
    """``P_k = sum_{s in up} s^k - sum_{s in down} s^k``, ``k = 0..count-1``, without cancellation.

    Unbiased: ``up = {a, b}`` (roots of ``M x^2 - x - 1``), ``down = {0, 1/M}``; the root power
    sums obey ``p_k = (p_{k-1} + p_{k-2})/M`` (Newton: ``a + b = 1/M``, ``ab = -1/M``), all
    positive. MLE: ``up = {c, -c}``, ``c = 1/sqrt(M)``, ``down = {0, 0}``. ``P_0 = P_1 = 0``.
    """
    size = mpmath.mpf(M)
    out = [mpmath.mpf(0), mpmath.mpf(0)]
    if estimator == "unbiased":
        prev, cur = mpmath.mpf(2), 1 / size
        for k in range(2, count):
            prev, cur = cur, (cur + prev) / size
            out.append(cur - size**-k)
    else:
        for k in range(2, count):
            out.append(2 * size ** (-k // 2) if k % 2 == 0 else mpmath.mpf(0))
    return out


def _log_gamma_shifts(x0: mpmath.mpf, sums: list[mpmath.mpf], zeta_form: bool) -> mpmath.mpf:
    """``sum_{s in up} log Gamma(x0 - s) - sum_{s in down} log Gamma(x0 - s)`` by Taylor's series.

    ``= sum_{k>=2} (-1)^k psi^(k-1)(x0) P_k / k!`` (the ``k = 0, 1`` terms vanish), for shifts
    below ``x0`` in size; at ``x0 = 2``, ``psi^(k-1)(2) = (-1)^k (k-1)! (zeta(k) - 1)``.
    """
    total = mpmath.mpf(0)
    for k in range(2, len(sums)):
        if zeta_form:
            term = (mpmath.zeta(k) - 1) * sums[k] / k
        else:
            term = (-1) ** k * mpmath.polygamma(k - 1, x0) * sums[k] / mpmath.factorial(k)
        total += term
    return total


def product_mp(estimator: str, M: float, n: int) -> mpmath.mpf:  # noqa: N803
    """``prod_{j=2}^n factor(j)`` at the current mpmath precision, for any ``n >= 1``.

    Up to 64 factors directly. Above, the telescoping Gamma form: unbiased
    ``1 - 1/(j(jM-1)) = (j-a)(j-b)/(j(j-1/M))``, MLE ``1 - 1/(j^2 M) = (j-c)(j+c)/j^2``, so
    ``log prod = G(n + 1) - G(2)`` with ``G(x) = sum_up log Gamma(x - s) - sum_down log Gamma(x - s)``.
    ``G(n + 1)`` is summed as a Taylor series (:func:`_log_gamma_shifts`, ratio below
    ``1/65``) and ``G(2)`` too once ``M >= 100`` (ratio below ``0.06``), so nothing cancels
    however large ``n`` or ``M`` (``log prod`` is of order ``1/M``); below ``M = 100``,
    ``G(2)`` directly with ``loggamma``.
    """
    size = mpmath.mpf(M)
    if n <= _DIRECT_PRODUCT:
        if estimator == "unbiased":
            return mpmath.fprod(1 - 1 / (k * (k * size - 1)) for k in range(2, n + 1))
        return mpmath.fprod(1 - 1 / (k * k * size) for k in range(2, n + 1))
    terms = int(mpmath.mp.dps * 0.6) + 8  # ratio <= 1/65 at n + 1: 1.8 digits per term
    sums = _power_sums(estimator, M, terms)
    top = _log_gamma_shifts(mpmath.mpf(n) + 1, sums, zeta_form=False)
    if M >= 100:
        base = _log_gamma_shifts(mpmath.mpf(2), _power_sums(estimator, M, 3 * mpmath.mp.dps // 2 + 8), True)
    else:
        lg = mpmath.loggamma
        if estimator == "unbiased":
            root = mpmath.sqrt(1 + 4 * size)
            a, b = (1 + root) / (2 * size), -2 / (1 + root)
            base = lg(2 - a) + lg(2 - b) - lg(2 - 1 / size)
        else:
            c = 1 / mpmath.sqrt(size)
            base = lg(2 - c) + lg(2 + c)
    return mpmath.exp(top - base)


def _first_mp(estimator: str, M: float) -> mpmath.mpf:  # noqa: N803
    return mpmath.mpf(1) if estimator == "unbiased" else 1 - 1 / mpmath.mpf(M)


def _mean_sigma2_mp(M: int, n: int, sigma0: float, estimator: str) -> mpmath.mpf:  # noqa: N803
    return mpmath.mpf(sigma0) ** 2 * _first_mp(estimator, M) * product_mp(estimator, M, n)


def _mean_sigma2(M: int, n: int, sigma0: float, estimator: str) -> mpmath.mpf:  # noqa: N803
    """:func:`_mean_sigma2_mp` under adaptive precision from 30 digits (nothing in it cancels)."""
    from collapse_theory.theory import numeric

    fn = functools.partial(_mean_sigma2_mp, estimator=estimator)
    return numeric.adaptive(fn, {"M": M, "n": n, "sigma0": sigma0}, dps=numeric.DPS)


def _limit_ratio_mp(estimator: str, M: float) -> mpmath.mpf:  # noqa: N803
    size = mpmath.mpf(M)
    if estimator == "mle":
        c = 1 / mpmath.sqrt(size)
        return mpmath.sinpi(c) / (mpmath.pi * c)
    root = mpmath.sqrt(1 + 4 * size)
    a, b = (1 + root) / (2 * size), (1 - root) / (2 * size)
    return mpmath.gamma(2 - 1 / size) * mpmath.rgamma(2 - a) * mpmath.rgamma(2 - b)


def _direct_sum(M: float, count: int, estimator: str) -> float:  # noqa: N803
    """``sum_{m=2}^{count} s_{m-1}/m^2`` in float64 (``s`` relative to ``sigma0^2``).

    ``s_{m-1}`` is a running product of ``m - 2`` factors, relative error at most ``3 m u``;
    weighted by ``1/m^2`` against a total of at least 1, the sum's relative error is at most
    ``3u sum 1/m <= 3u (ln(count) + 1)`` (5e-15 at 10^6 terms).
    """
    first = 1.0 if estimator == "unbiased" else 1.0 - 1.0 / M
    carry, parts = first, []
    for start in range(2, count + 1, 1 << 16):
        mm = np.arange(start, min(start + (1 << 16), count + 1), dtype=np.float64)
        jj = mm - 1.0  # s_{m-1} = s_{m-2} * factor(m - 1), factor(1) := first
        inv = 1.0 / M  # no overflow of j^2 M for M near the float64 range
        fac = 1 - inv / (jj * (jj - inv)) if estimator == "unbiased" else 1 - inv / jj**2
        if start == 2:
            fac[0] = first
            prev = np.cumprod(fac)
        else:
            prev = carry * np.cumprod(fac)
        carry = float(prev[-1])
        parts.append(math.fsum(prev / mm**2))
    return math.fsum(parts)


def mean_sq_mean_error_value(M: float, n: int | None, sigma0: float, estimator: str) -> mpmath.mpf:  # noqa: N803
    """``E(mu_n - mu0)^2 = (sigma0^2/M)(1 + sum_{m=2}^n s_{m-1}/m^2)``; ``n = None``: the limit.

    Up to :data:`DIRECT_TERMS` terms in float64 (:func:`_direct_sum`); beyond ``N`` terms the
    tail uses ``s_{m-1}/s_inf = 1/prod_{j>=m} factor(j) = 1 + psi1(m)/M + O(1/(m^2 M^2))``
    (since ``-log factor(j) = 1/(j^2 M) + O(1/(j^3 M^2))``) and ``psi1(m)/m^2 = 1/m^3 + O(m^-4)``:
    ``sum_{m=N+1}^n s_{m-1}/m^2 = s_inf [psi1(N+1) - psi1(n+1) + (zeta(3, N+1) - zeta(3, n+1))/M]
    + O(1/(N^3 M))``, i.e. below 1e-18 relative at ``N = 10^6``.

    Args:
        M: Samples added per generation (``>= 2``).
        n: Model index (``>= 1``) or ``None`` for ``n -> infinity``.
        sigma0: True standard deviation.
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The value (mpmath).

    """
    count = DIRECT_TERMS if n is None else min(n, DIRECT_TERMS)
    with mpmath.workdps(30):
        total = 1 + mpmath.mpf(_direct_sum(M, count, estimator))
        if n is None or n > DIRECT_TERMS:
            size, big = mpmath.mpf(M), mpmath.mpf(DIRECT_TERMS) + 1
            tail = mpmath.psi(1, big) + mpmath.zeta(3, big) / size
            if n is not None:
                tail -= mpmath.psi(1, mpmath.mpf(n) + 1) + mpmath.zeta(3, mpmath.mpf(n) + 1) / size
            total += _limit_ratio_mp(estimator, M) * tail
        return mpmath.mpf(sigma0) ** 2 / M * total


def limit_mean_sq_mean_error(M: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    """``lim_n E(mu_n - mu0)^2`` (:func:`mean_sq_mean_error_value` with ``n = None``).

    Args:
        M: Samples added per generation (``M >= 2``).
        sigma0: True standard deviation.
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The limit, ``<= (pi^2/6) sigma0^2 / M``.

    """
    if M < 2 or sigma0 <= 0:
        raise ValueError("need M >= 2 and sigma0 > 0")
    return float(mean_sq_mean_error_value(M, None, sigma0, estimator))


def _per_estimator(est: str) -> list[Result]:
    base = f"accumulate.{est}"
    div = "mM - 1" if est == "unbiased" else "mM"
    assume = f"accumulate workflow, pooled {est} variance (divide by {div}), M fixed"
    if est == "unbiased":
        prod_text = "E sigma_n^2 = sigma0^2 prod_{j=2}^n (1 - 1/(j(jM-1)))"
        lim_text = "lim E sigma_n^2 = sigma0^2 Gamma(2-1/M)/(Gamma(2-a)Gamma(2-b)), a, b = (1 +- sqrt(1+4M))/(2M)"
        series = sigma0**2 * (1 - (sp.pi**2 / 6 - 1) / M)
        series_text = "lim E sigma_n^2 = sigma0^2 [1 - (pi^2/6 - 1)/M + O(M^-2)]"
    else:
        prod_text = "E sigma_n^2 = sigma0^2 (1 - 1/M) prod_{j=2}^n (1 - 1/(j^2 M))"
        lim_text = "lim E sigma_n^2 = sigma0^2 sin(pi/sqrt(M)) / (pi/sqrt(M)) (Euler's product)"
        series = sigma0**2 * (1 - sp.pi**2 / (6 * M))
        series_text = "lim E sigma_n^2 = sigma0^2 [1 - pi^2/(6M) + O(M^-2)]"
    lim_params = {"M": _PARAMS["M"], "sigma0": _PARAMS["sigma0"]}
    return [
        result(
            id=f"{base}.mean_sigma2",
            title=f"Mean fitted variance under accumulate ({est})",
            statement=prod_text,
            expr=sigma0**2 * variance_product(est),
            params=_PARAMS,
            assumptions=assume,
            citation=_CITE,
            tag="DER, SYM, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_{est}_mean_sigma2",
            numeric=functools.partial(_mean_sigma2, estimator=est),
            domains=_DOMAINS,
        ),
        result(
            id=f"{base}.limit_sigma2",
            title=f"Limit of the mean fitted variance under accumulate ({est})",
            statement=lim_text,
            expr=sigma0**2 * _limit_ratio(est),
            params=lim_params,
            assumptions=assume + "; n -> infinity",
            citation=_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_limit_sigma2",
            domains=_LIM_DOMAINS,
        ),
        result(
            id=f"{base}.limit_sigma2_series",
            title=f"Large-M expansion of the accumulate variance limit ({est})",
            statement=series_text,
            expr=series,
            params=lim_params,
            assumptions=assume + "; n -> infinity, then M -> infinity",
            citation=_CITE,
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_{est}_limit_sigma2_series",
            domains=_LIM_DOMAINS,
        ),
        result(
            id=f"{base}.mean_sq_mean_error",
            title=f"Mean squared error of the mean under accumulate ({est})",
            statement=(
                "E(mu_n - mu0)^2 = (1/M) sum_{m=1}^n s_{m-1}/m^2, s_0 = sigma0^2, s_j = E sigma_j^2 (the product above)"
            ),
            expr=_mean_error_series(est, n),
            params=_PARAMS,
            assumptions=assume,
            citation=_CITE + "; pi^2/6 pathway of Dey & Donoho, arXiv 2410.22812 [ABS]",
            tag="DER, SYM, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_{est}_mean_sq_mean_error",
            numeric=functools.partial(mean_sq_mean_error_value, estimator=est),
            domains=_DOMAINS,
        ),
        result(
            id=f"{base}.limit_mean_sq_mean_error",
            title=f"Limit of the mean squared error of the mean under accumulate ({est})",
            statement=(
                "lim E(mu_n - mu0)^2 = (1/M) sum_{m>=1} s_{m-1}/m^2 < (pi^2/6) sigma0^2/M; "
                "M lim / sigma0^2 -> pi^2/6 from below as M -> infinity"
            ),
            expr=_mean_error_series(est, sp.oo),
            params=lim_params,
            assumptions=assume + "; n -> infinity",
            citation=_CITE + "; Dey & Donoho, arXiv 2410.22812 [ABS]",
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_{est}_limit_mean_sq_mean_error",
            numeric=functools.partial(_limit_numeric, estimator=est),
            domains=_LIM_DOMAINS,
        ),
    ]


def _limit_numeric(M: float, sigma0: float, estimator: str) -> mpmath.mpf:  # noqa: N803
    return mean_sq_mean_error_value(M, None, sigma0, estimator)


def results() -> list[Result]:
    """The registered accumulate results."""
    out = _per_estimator("unbiased") + _per_estimator("mle")
    out.append(
        result(
            id="accumulate.mean_sq_mean_error_bound",
            title="pi^2/6 bound on the mean error under accumulate",
            statement=(
                "E(mu_n - mu0)^2 <= (pi^2/6) sigma0^2 / M for every n and both estimators "
                "(replace instead grows like n sigma0^2 / M)"
            ),
            expr=sp.pi**2 / 6 * sigma0**2 / M,
            params={"M": _PARAMS["M"], "sigma0": _PARAMS["sigma0"]},
            assumptions="accumulate workflow, pooled unbiased or MLE variance",
            citation=(
                "derived here (docs/derivations.md, 'Gaussian, accumulate'); the pi^2/6 bound of "
                "Gerstgrasser et al., arXiv 2404.01413 "
                "[SEC] and Dey & Donoho, arXiv 2410.22812 [ABS]"
            ),
            tag="DER, SYM, MC",
            kind="bound",
            proof=f"{_PROOF}:prove_mean_sq_mean_error_bound",
            domains=_LIM_DOMAINS,
        )
    )
    return out
