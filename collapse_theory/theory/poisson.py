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

import math

import sympy as sp

from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import N0, M, lam0, t

__all__ = ["extinction_probability", "results"]

_PROOF = "proofs.poisson"
_CITE = (
    "derived here (docs/derivations.md, 'Poisson'); Poisson chain of Suresh et al., AISTATS 2025 "
    "(theorem not seen) [ABS]"
)
_ASSUME = "replace workflow, Poisson family, MLE (sample mean) of M samples per generation"


def extinction_probability(N0: float, t: float) -> float:  # noqa: N803
    """``P(lambda_t = 0) = q_t^{N0}`` with ``q_0 = 0``, ``q_{s+1} = exp(q_s - 1)``.

    Args:
        N0: Initial total count ``M lambda_0`` (a non-negative integer).
        t: Generation (a non-negative integer).

    Returns:
        The probability that the fitted rate is exactly 0 at generation ``t``.

    """
    if N0 != int(N0) or N0 < 0 or t != int(t) or t < 0:
        raise ValueError("N0 and t must be non-negative integers")
    qt = 0.0
    for _ in range(int(t)):
        # exp(q - 1) via expm1 keeps 1 - q accurate when q is close to 1.
        qt = 1.0 + math.expm1(qt - 1.0)
    if int(N0) == 0:
        return 1.0
    return math.exp(int(N0) * math.log(qt)) if qt > 0 else 0.0


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
            numeric=extinction_probability,
        ),
        result(
            id="poisson.extinction_kolmogorov",
            title="Kolmogorov asymptote of the extinction probability",
            statement=(
                "1 - q_t ~ 2/t, so P(lambda_t = 0) ~ exp(-2 N0 / t): collapse time linear in the initial count N0"
            ),
            expr=sp.exp(-2 * N0 / t),
            params={"N0": "initial total count M lambda_0", "t": "generation (t >= 1)"},
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
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="exact",
            proof=f"{_PROOF}:prove_var_rate",
        ),
    ]
