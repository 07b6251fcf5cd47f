"""Rounding-error bounds of summation and variance algorithms (Higham), as registered closed forms.

All bounds are in units of the format's unit roundoff ``u`` (2^-24 in float32, 2^-11 in float16)
and hold for round to nearest with no underflow or overflow. Summation bounds are stated for the
error normalised by ``sum |x_i|``. They are checked deterministically against measured errors by
``tests/errors/test_precision.py`` (emulation in :mod:`collapse_theory.errors.precision`).

References:
    N. J. Higham, *Accuracy and Stability of Numerical Algorithms*, 2nd ed., SIAM (2002):
    Lemma 3.1 (gamma_n), eq. (4.4) (recursive summation), §4.2 (pairwise), eq. (4.8)
    (compensated). Cited from memory; the book was not consulted here [MEM].
    T. F. Chan, G. H. Golub & R. J. LeVeque, "Algorithms for computing the sample variance:
    analysis and recommendations", Am. Stat. 37 (1983) (two-pass bound), also from memory [MEM].
"""

from __future__ import annotations

from fractions import Fraction

import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE1, REAL, Constraint, Real
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import kappa, n, u, x

__all__ = ["gamma_expr", "pairwise_bound", "results"]

_PROOF = "proofs.rounding"
_HIGHAM = "N. J. Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., SIAM (2002)"
_MEMO = " (cited from memory, book not consulted here)"
_ASSUME = "IEEE arithmetic with round to nearest, unit roundoff u, no underflow or overflow"


_U = Real(0.0, 0.5, low_open=True)  # a unit roundoff 2^-p, p >= 1
_KAPPA = Real(1.0)  # sqrt(1 + n xbar^2 / S) >= 1


def _below_one(text: str, count) -> Constraint:  # noqa: ANN001 - count(values) -> int
    """``count(v) * u < 1``, decided exactly on the binary inputs."""
    return Constraint(f"{text} u < 1", lambda v: Fraction(count(v)) * Fraction(v["u"]) < 1, ("n", "u"))


def gamma_expr(k: sp.Expr) -> sp.Expr:
    """Higham's ``gamma_k = k u / (1 - k u)``."""
    return k * u / (1 - k * u)


def pairwise_bound(n: float, u: float) -> float:  # noqa: N803 - registry parameter names
    """``gamma_{ceil(log2 n)}`` with the exact integer ceiling (``(n - 1).bit_length()``)."""
    if n != int(n) or n < 1:
        raise ValueError("n must be a positive integer")
    levels = (int(n) - 1).bit_length()
    exact = levels * Fraction(u) / (1 - levels * Fraction(u))  # no cancellation in 1 - levels u
    return float(exact)


def results() -> list[Result]:
    """The registered rounding-error bounds."""
    return [
        result(
            id="rounding.gamma_n",
            title="Higham's gamma_n",
            statement=(
                "if |delta_i| <= u, rho_i = +-1 and n u < 1, then prod (1 + delta_i)^rho_i = 1 + theta_n with "
                "|theta_n| <= gamma_n = n u / (1 - n u)"
            ),
            expr=gamma_expr(n),
            params={"n": "number of rounding factors", "u": "unit roundoff"},
            domains={"n": INT_GE0, "u": _U},
            constraints=(_below_one("n", lambda v: v["n"]),),
            assumptions=_ASSUME + "; n u < 1",
            citation=f"{_HIGHAM}, Lemma 3.1{_MEMO}",
            tag="MEM, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_gamma_n",
        ),
        result(
            id="rounding.sum.recursive",
            title="Error bound of recursive summation",
            statement="|s_hat - s| <= gamma_{n-1} sum |x_i| for s_hat = fl(...((x_1 + x_2) + x_3) ... + x_n)",
            expr=gamma_expr(n - 1),
            params={"n": "number of summands", "u": "unit roundoff"},
            domains={"n": INT_GE1, "u": _U},
            constraints=(_below_one("(n - 1)", lambda v: v["n"] - 1),),
            assumptions=_ASSUME + "; (n - 1) u < 1; the value is the bound on |s_hat - s| / sum |x_i|",
            citation=f"{_HIGHAM}, eq. (4.4){_MEMO}",
            tag="MEM, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_sum_recursive",
        ),
        result(
            id="rounding.sum.pairwise",
            title="Error bound of pairwise summation",
            statement="|s_hat - s| <= gamma_{ceil(log2 n)} sum |x_i| for pairwise (cascade) summation",
            expr=gamma_expr(sp.ceiling(sp.log(n, 2))),
            params={"n": "number of summands", "u": "unit roundoff"},
            domains={"n": INT_GE1, "u": _U},
            constraints=(_below_one("ceil(log2 n)", lambda v: (v["n"] - 1).bit_length()),),
            assumptions=_ASSUME + "; ceil(log2 n) u < 1; the value is the bound on |s_hat - s| / sum |x_i|",
            citation=f"{_HIGHAM}, §4.2{_MEMO}",
            tag="MEM, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_sum_pairwise",
            numeric=pairwise_bound,
        ),
        result(
            id="rounding.sum.kahan",
            title="Error bound of compensated (Kahan) summation, leading term",
            statement="|s_hat - s| <= (2u + O(n u^2)) sum |x_i|; registered: the leading term 2u",
            expr=2 * u,
            params={"u": "unit roundoff"},
            domains={"u": _U},
            assumptions=(
                _ASSUME + "; holds to first order in u only: the O(n u^2) term is dropped, so it needs n u << 1; "
                "the value is the bound on |s_hat - s| / sum |x_i|"
            ),
            citation=f"{_HIGHAM}, eq. (4.8){_MEMO}; W. Kahan, Comm. ACM 8 (1965)",
            tag="MEM, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_sum_kahan",
        ),
        result(
            id="rounding.variance.two_pass",
            title="Relative error bound of the two-pass variance",
            statement=(
                "|S_hat - S| / S <= n u + n^2 kappa^2 u^2 for S = sum (x_i - xbar)^2 by the two-pass algorithm, "
                "kappa = sqrt(1 + n xbar^2 / S) = ||x||_2 / sqrt(S)"
            ),
            expr=n * u + n**2 * kappa**2 * u**2,
            params={"n": "sample size", "u": "unit roundoff", "kappa": "condition number sqrt(1 + n xbar^2 / S)"},
            domains={"n": INT_GE1, "u": _U, "kappa": _KAPPA},
            assumptions=_ASSUME + "; leading-order bound (constants of higher-order terms dropped), n u << 1",
            citation=(
                "Chan, Golub & LeVeque, 'Algorithms for computing the sample variance: analysis and "
                "recommendations', Am. Stat. 37 (1983) (cited from memory, paper not consulted here)"
            ),
            tag="MEM, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_variance_two_pass",
        ),
        result(
            id="rounding.stochastic.mean",
            title="Stochastic rounding is unbiased",
            statement="E round(x) = x when round(x) = hi with probability (x - lo)/(hi - lo), else lo",
            expr=x,
            params={"x": "value to round (between neighbours lo < hi of the format)"},
            domains={"x": REAL},
            assumptions="stochastic rounding with exact probabilities, lo <= x <= hi neighbours in the format",
            citation=(
                "Connolly, Higham & Mary, 'Stochastic rounding and its probabilistic backward error analysis', "
                "SIAM J. Sci. Comput. 43 (2021) (cited from memory)"
            ),
            tag="MEM, SYM",
            kind="exact",
            proof=f"{_PROOF}:prove_stochastic_mean",
        ),
    ]
