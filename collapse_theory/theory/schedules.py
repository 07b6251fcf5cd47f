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

from collections.abc import Sequence

import sympy as sp

from collapse_theory.theory.gaussian import c4
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M0, growth, i, n, sigma0

__all__ = ["mean_w2sq_expr", "power_size", "results"]

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
        ),
    ]
