"""Growing sample sizes ``M_i`` (unbiased Gaussian, workflow *replace*).

Generation ``i`` (``i = 0, ..., n-1``) draws ``M_i`` samples. With ``S_n = sum_{i<n} 1/M_i``:
``E W2^2 = sigma0^2 [S_n + 2(1 - prod_{i<n} c4(M_i))]``, and since
``0 <= 1 - c4(M) <= 1/M`` (Wendel), ``sigma0^2 S_n <= E W2^2 <= 3 sigma0^2 S_n``: the distance
stays bounded **iff** ``sum 1/M_i < infinity``. Linear growth ``M_i ~ i`` is not enough.

The registered forms use the power schedule ``M_i = M0 (i+1)^growth``;
:func:`mean_w2sq_expr` builds the same closed form for any explicit list of sizes.

References:
    Shumailov et al., arXiv 2305.17493, 1-D Gaussian section (numbering unknown): leading order
    (3/2) sigma^2 sum 1/M_i and "superlinear growth" [MEM].
    Xu, He, Cheng, "A Probabilistic Perspective on Model Collapse", arXiv 2505.13947 [ABS].
    Derivations: ``docs/derivations.md``, 'Growing sample sizes' [DER, MC]; machine-checked in
    ``proofs/schedules.py``.

"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import mpmath
import sympy as sp

from collapse_theory.theory import kernels
from collapse_theory.theory.domains import NONNEG, POSITIVE, Integer, Real
from collapse_theory.theory.gaussian import c4
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M0, growth, i, n, sigma0

__all__ = ["MAX_GENERATIONS", "mean_w2sq_expr", "power_size", "results", "schedule_value"]

MAX_GENERATIONS = 1_000_000
"""Cap on ``n``: the sums have ``n`` terms (about 60 ms per million in float64)."""
_DOMAINS = {
    "M0": Real(1.0, low_open=True),
    "growth": NONNEG,
    "n": Integer(0, MAX_GENERATIONS, why_high="cost cap: the sums over generations have n terms"),
    "sigma0": POSITIVE,
}

_PROOF = "proofs.schedules"
_CITE = (
    "derived here (docs/derivations.md, 'Growing sample sizes'); Shumailov et al., arXiv 2305.17493, "
    "1-D Gaussian section "
    "(numbering unknown) [MEM]; Xu-He-Cheng arXiv 2505.13947 [ABS]"
)
_PARAMS = {
    "M0": "sample size of generation 0",
    "growth": "exponent of the schedule M_i = M0 (i+1)^growth",
    "n": "generation",
    "sigma0": "true standard deviation",
}
_ASSUME = "replace workflow, unbiased variance, sample size M_i = M0 (i+1)^growth > 1"


def power_size(index: sp.Expr = i) -> sp.Expr:
    """Sample size ``M0 (index + 1)^growth`` of generation ``index``."""
    return M0 * (index + 1) ** growth


def _inv_sum() -> sp.Expr:
    return sp.Sum(1 / power_size(), (i, 0, n - 1))


def _c4_product() -> sp.Expr:
    return sp.Product(c4(power_size()), (i, 0, n - 1))


def mean_w2sq_expr(sizes: Sequence[int | float]) -> sp.Expr:
    """``E W2^2`` after ``len(sizes)`` generations with the explicit sample sizes ``sizes``.

    Args:
        sizes: ``M_0, ..., M_{n-1}``, each > 1.

    Returns:
        A sympy expression in ``sigma0``.

    """
    values = [sp.nsimplify(s) for s in sizes]
    inv = sp.Add(*[1 / v for v in values])
    prod = sp.Mul(*[c4(v) for v in values])
    return sigma0**2 * (inv + 2 * (1 - prod))


def schedule_value(M0: float, growth: float, n: int, sigma0: float, quantity: str) -> mpmath.mpf:  # noqa: N803
    """One schedule quantity from ``S = sum_{i<n} 1/M_i`` and ``L = sum_{i<n} log c4(M_i)``.

    ``S`` and ``L`` come from :func:`collapse_theory.theory.kernels.power_sums` (float64,
    relative error about ``8u``); the final combination is in mpmath, with
    ``1 - prod c4 = -expm1(L)``, so nothing cancels or overflows. ``E sigma_n = sigma0 e^L``
    inherits the absolute error of ``L``: relative error about ``8u (1 + |L|)``, at most
    ``7e-13`` where ``e^L`` is a normal float64 (``|L| <= 708``).

    Args:
        M0: Sample size of generation 0 (``> 1``).
        growth: Schedule exponent (``>= 0``).
        n: Generation.
        sigma0: True standard deviation.
        quantity: ``"w2sq"``, ``"inv_sum"`` (``sigma0^2 S``) or ``"sigma"``.

    Returns:
        The value.

    """
    inv, logc4 = kernels.power_sums(M0, growth, n)
    s_n = mpmath.mpf(inv) / mpmath.mpf(M0)
    var0 = mpmath.mpf(sigma0) ** 2
    if quantity == "w2sq":
        return var0 * (s_n - 2 * mpmath.expm1(mpmath.mpf(logc4)))
    if quantity == "sigma":
        return mpmath.mpf(sigma0) * mpmath.exp(mpmath.mpf(logc4))
    return var0 * s_n


def _scaled(M0: float, growth: float, n: int, sigma0: float, quantity: str, factor: float) -> mpmath.mpf:  # noqa: N803
    value = schedule_value(M0, growth, n, sigma0, quantity)
    return value if factor == 1 else value * mpmath.mpf(factor)


def results() -> list[Result]:
    """The registered growing-schedule results."""
    inv = _inv_sum()
    return [
        result(
            id="schedules.power.mean_w2sq",
            title="E W2^2 with growing sample sizes",
            statement=("E W2^2 = sigma0^2 [sum_{i<n} 1/M_i + 2(1 - prod_{i<n} c4(M_i))], M_i = M0 (i+1)^growth"),
            expr=sigma0**2 * (inv + 2 * (1 - _c4_product())),
            params=_PARAMS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_w2sq",
            numeric=functools.partial(_scaled, quantity="w2sq", factor=1),
            domains=_DOMAINS,
        ),
        result(
            id="schedules.power.mean_sq_mean_error",
            title="Mean squared error of the mean with growing sample sizes",
            statement="E(mu_n - mu0)^2 = sigma0^2 sum_{i<n} 1/M_i",
            expr=sigma0**2 * inv,
            params=_PARAMS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_sq_mean_error",
            numeric=functools.partial(_scaled, quantity="inv_sum", factor=1),
            domains=_DOMAINS,
        ),
        result(
            id="schedules.power.mean_sigma",
            title="Mean fitted sd with growing sample sizes",
            statement="E sigma_n = sigma0 prod_{i<n} c4(M_i)",
            expr=sigma0 * _c4_product(),
            params=_PARAMS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_sigma",
            numeric=functools.partial(_scaled, quantity="sigma", factor=1),
            domains=_DOMAINS,
        ),
        result(
            id="schedules.power.w2sq_lower_bound",
            title="Lower bound on E W2^2 (boundedness criterion, necessity)",
            statement=("E W2^2 >= sigma0^2 sum_{i<n} 1/M_i: E W2^2 diverges if sum 1/M_i = inf (e.g. growth <= 1)"),
            expr=sigma0**2 * inv,
            params=_PARAMS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_w2sq_lower_bound",
            numeric=functools.partial(_scaled, quantity="inv_sum", factor=1),
            domains=_DOMAINS,
        ),
        result(
            id="schedules.power.w2sq_upper_bound",
            title="Upper bound on E W2^2 (boundedness criterion, sufficiency)",
            statement=(
                "E W2^2 <= 3 sigma0^2 sum_{i<n} 1/M_i: E W2^2 stays bounded if sum 1/M_i < inf (e.g. growth > 1)"
            ),
            expr=3 * sigma0**2 * inv,
            params=_PARAMS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_w2sq_upper_bound",
            numeric=functools.partial(_scaled, quantity="inv_sum", factor=3),
            domains=_DOMAINS,
        ),
        result(
            id="schedules.power.w2sq_leading_order",
            title="Leading order of E W2^2 with growing sample sizes",
            statement="E W2^2 = (3/2) sigma0^2 sum_{i<n} 1/M_i + O(sum 1/M_i^2 + S_n^2)",
            expr=sp.Rational(3, 2) * sigma0**2 * inv,
            params=_PARAMS,
            assumptions=_ASSUME + "; all M_i large",
            citation=(
                "Shumailov et al., arXiv 2305.17493, 1-D Gaussian section (numbering unknown) "
                "[MEM]; exact form derived here (docs/derivations.md, 'Growing sample sizes')"
            ),
            tag="MEM; DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_w2sq_leading_order",
            numeric=functools.partial(_scaled, quantity="inv_sum", factor=1.5),
            domains=_DOMAINS,
        ),
    ]
