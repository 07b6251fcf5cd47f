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

import numpy as np
import scipy.special
import sympy as sp

from collapse_theory.theory import symbols as _sym
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, j, m, n, sigma0

__all__ = ["factor", "limit_mean_sq_mean_error", "results", "variance_product"]

_PROOF = "proofs.accumulate"
_CITE = (
    "derived here (docs/derivations.md, 'Gaussian, accumulate'); accumulate workflow of Gerstgrasser et al., "
    "arXiv 2404.01413 (COLM 2024), "
    "and Kazdan et al., arXiv 2410.16713 [ABS]"
)
_PARAMS = {
    "M": "samples added per generation (M >= 2)",
    "n": "model index (n >= 1; model 1 is fitted on real data only)",
    "sigma0": "true standard deviation",
}


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


def limit_mean_sq_mean_error(M: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    """``lim_n E(mu_n - mu0)^2``: 2e5 terms plus the tail ``s_inf psi1(N+1)``.

    The tail error is ``O(s_inf / (N^2 M))``, below 1e-10 relative.

    Args:
        M: Samples added per generation (``M >= 2``).
        sigma0: True standard deviation.
        estimator: ``"unbiased"`` or ``"mle"``.

    Returns:
        The limit, ``<= (pi^2/6) sigma0^2 / M``.

    """
    if M < 2 or sigma0 <= 0:
        raise ValueError("need M >= 2 and sigma0 > 0")
    big_n = 200_000
    idx = np.arange(2, big_n, dtype=np.float64)
    fac = 1 - 1 / (idx * (idx * M - 1)) if estimator == "unbiased" else 1 - 1 / (idx**2 * M)
    first = 1.0 if estimator == "unbiased" else 1 - 1 / M
    prev = first * np.concatenate(([1.0], np.cumprod(fac)))  # s_{m-1}/sigma0^2, m = 2..N
    terms = prev / np.arange(2, big_n + 1, dtype=np.float64) ** 2
    lim = float(sp.N(_limit_ratio(estimator).subs(_sym.M, sp.nsimplify(M)), 20))
    tail = lim * float(scipy.special.polygamma(1, big_n + 1))
    return sigma0**2 / M * (1 + math.fsum(terms[::-1]) + tail)


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
        ),
    ]


def _limit_numeric(M: float, sigma0: float, estimator: str) -> float:  # noqa: N803
    return limit_mean_sq_mean_error(M, sigma0, estimator)


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
        )
    )
    return out
