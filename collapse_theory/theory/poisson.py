"""Poisson family refitted by the sample mean: a critical Galton-Watson process.

``lambda_{t+1}`` is the mean of ``M`` draws from ``Poisson(lambda_t)``, so the total count
``N_t = M lambda_t`` satisfies ``N_{t+1} ~ Poisson(N_t)``: a Galton-Watson process with
Poisson(1) offspring (probability generating function ``f(s) = exp(s - 1)``). Hence
``P(lambda_t = 0) = q_t^{N_0}`` with ``q_0 = 0``, ``q_{t+1} = f(q_t)``.

References:
    Suresh, Thangaraj, Khandavally, "Rate of Model Collapse in Recursive Training",
    AISTATS 2025 (Poisson family; theorem not seen) [ABS].
    A. N. Kolmogorov (1938): survival of a critical branching process ``~ 2/(sigma^2 t)``;
    see K. B. Athreya & P. E. Ney, *Branching Processes* (1972), chapter I (critical case).
    Derivations: ``docs/derivations.md``, 'Poisson' [DER, MC]; machine-checked in ``proofs/poisson.py``.

"""

from __future__ import annotations

from fractions import Fraction

import mpmath
import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE1, POSITIVE
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import N0, M, lam0, t

__all__ = ["EXACT_STEPS", "FATOU", "extinction_probability", "extinction_probability_mp", "results", "survival_gap_mp"]

_PROOF = "proofs.poisson"
_CITE = (
    "derived here (docs/derivations.md, 'Poisson'); Poisson chain of Suresh et al., AISTATS 2025 "
    "(theorem not seen) [ABS]"
)
_ASSUME = "replace workflow, Poisson family, MLE (sample mean) of M samples per generation"


EXACT_STEPS = 1000
"""Generations iterated exactly; beyond, the Fatou coordinate of the iterated map."""
FATOU = (
    Fraction(1, 36),
    Fraction(1, 540),
    Fraction(-1, 7776),
    Fraction(-71, 435456),
    Fraction(-8759, 163296000),
    Fraction(31, 20995200),
    Fraction(183311, 16460236800),
    Fraction(23721961, 6207860736000),
    Fraction(-293758693, 117328567910400),
    Fraction(-1513018279, 577754311680000),
)
"""``c_1..c_10`` of ``Phi(e) = 2/e + (1/3) log e + sum_k c_k e^k`` with ``Phi(g(e)) = Phi(e) + 1``.

``g(e) = 1 - exp(-e)`` maps ``e_s = 1 - q_s`` to ``e_{s+1}``; the coefficients solve the
formal equation order by order (``tests/theory/test_accuracy.py`` re-derives them with sympy).
"""


def _fatou(inv_e: mpmath.mpf) -> tuple[mpmath.mpf, mpmath.mpf]:
    """``Phi`` and ``dPhi/dw`` at ``w = 1/e``: ``Phi = 2w - (1/3) log w + sum_k c_k w^-k``."""
    value = 2 * inv_e - mpmath.log(inv_e) / 3
    slope = 2 - 1 / (3 * inv_e)
    for k, coef in enumerate(FATOU, start=1):
        term = mpmath.mpf(coef.numerator) / coef.denominator / inv_e**k
        value += term
        slope -= k * term / inv_e
    return value, slope


def survival_gap_mp(t: int) -> mpmath.mpf:
    """``e_t = 1 - q_t`` (``e_0 = 1``, ``e_{s+1} = -expm1(-e_s)``) at the current precision.

    Up to :data:`EXACT_STEPS` steps exactly; then ``Phi(e_t) = Phi(e_1000) + (t - 1000)`` is
    solved for ``w = 1/e_t`` by Newton's method (``dPhi/dw`` is within 1/3000 of 2). The
    series is truncated after ``c_10 e^10``; at ``e_1000 < 2e-3`` the next term is of order
    ``e^11 < 3e-30`` in ``Phi ~ 1000``, which moves ``e_t`` by a relative ``e_t |dPhi|/2``.
    """
    gap = mpmath.mpf(1)
    for _ in range(min(t, EXACT_STEPS)):
        gap = -mpmath.expm1(-gap)
    if t <= EXACT_STEPS:
        return gap
    target = _fatou(1 / gap)[0] + (t - EXACT_STEPS)
    inv_e = target / 2
    tol = mpmath.mpf(10) ** (-mpmath.mp.dps)
    for _ in range(100):
        value, slope = _fatou(inv_e)
        step = (value - target) / slope
        inv_e -= step
        if abs(step) <= tol * inv_e:
            break
    return 1 / inv_e


def extinction_probability_mp(N0: int, t: int) -> mpmath.mpf:  # noqa: N803
    """``P(lambda_t = 0) = q_t^{N0} = exp(N0 log1p(-e_t))`` (:func:`survival_gap_mp`)."""
    if N0 == 0:
        return mpmath.mpf(1)
    if t == 0:
        return mpmath.mpf(0)
    return mpmath.exp(N0 * mpmath.log1p(-survival_gap_mp(t)))


def extinction_probability(N0: float, t: float) -> float:  # noqa: N803
    """``P(lambda_t = 0) = q_t^{N0}`` with ``q_0 = 0``, ``q_{s+1} = exp(q_s - 1)``.

    Args:
        N0: Initial total count ``M lambda_0`` (a non-negative integer).
        t: Generation (a non-negative integer).

    Returns:
        The probability that the fitted rate is exactly 0 at generation ``t``, in O(1) time
        for any ``t`` (:func:`survival_gap_mp`).

    """
    from collapse_theory.theory import numeric

    if N0 != int(N0) or N0 < 0 or t != int(t) or t < 0:
        raise ValueError("N0 and t must be non-negative integers")
    return float(numeric.adaptive(extinction_probability_mp, {"N0": int(N0), "t": int(t)}))


def results() -> list[Result]:
    """The registered Poisson-chain results."""
    return [
        result(
            id="poisson.extinction_probability",
            title="Probability that the fitted Poisson rate is zero",
            statement="P(lambda_t = 0) = q_t^{N0}, q_0 = 0, q_{t+1} = exp(q_t - 1)",
            expr=None,
            params={"N0": "initial total count M lambda_0", "t": "generation"},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_extinction_probability",
            numeric=extinction_probability_mp,
            numeric_mp=True,
            domains={"N0": INT_GE0, "t": INT_GE0},
        ),
        result(
            id="poisson.extinction_kolmogorov",
            title="Kolmogorov asymptote of the extinction probability",
            statement=(
                "1 - q_t ~ 2/t, so P(lambda_t = 0) ~ exp(-2 N0 / t): collapse time linear in the initial count N0"
            ),
            expr=sp.exp(-2 * N0 / t),
            params={"N0": "initial total count M lambda_0", "t": "generation"},
            domains={"N0": INT_GE0, "t": INT_GE1},
            assumptions=_ASSUME + "; t -> infinity",
            citation=_CITE + "; Kolmogorov (1938); Athreya & Ney (1972), ch. I",
            tag="DER, SYM, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_extinction_kolmogorov",
        ),
        result(
            id="poisson.mean_rate",
            title="Mean fitted Poisson rate",
            statement="E lambda_t = lambda_0 (martingale)",
            expr=lam0,
            params={"lam0": "true rate lambda_0"},
            domains={"lam0": POSITIVE},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_rate",
        ),
        result(
            id="poisson.var_rate",
            title="Variance of the fitted Poisson rate",
            statement="Var lambda_t = t lambda_0 / M (Var N_t = t N_0, critical branching)",
            expr=t * lam0 / M,
            params={"lam0": "true rate lambda_0", "t": "generation", "M": "samples per generation"},
            domains={"lam0": POSITIVE, "t": INT_GE0, "M": INT_GE1},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="exact",
            proof=f"{_PROOF}:prove_var_rate",
        ),
    ]
