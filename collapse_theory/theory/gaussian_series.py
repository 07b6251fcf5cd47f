"""Large-M expansions and bounds of the 1-D Gaussian replace constants.

The exact forms of :mod:`collapse_theory.theory.gaussian` involve ``Gamma`` ratios and
polygammas of ``(M-1)/2``; their ``1/M`` expansions are what the papers quote ("sigma collapses
in about M generations", "E W2^2 ~ (3/2) n sigma^2 / M").

References:
    Shumailov et al., "The Curse of Recursion", arXiv 2305.17493, section "Single dimensional
    Gaussian" (theorem numbering unknown; the (3/2) sigma^2 sum 1/M_i leading order is [MEM]).
    Suresh, Thangaraj, Khandavally, "Rate of Model Collapse in Recursive Training",
    AISTATS 2025 [ABS].
    J. G. Wendel, "Note on the gamma function", Amer. Math. Monthly 55 (1948) 563-564.
    Derivations: ``docs/derivations.md``, 'Gaussian, large-M expansions' [DER, SYM];
    machine-checked in ``proofs/gaussian_series.py``.

"""

from __future__ import annotations

import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE2, POSITIVE, Real
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, n, sigma0

__all__ = ["results"]

_PROOF = "proofs.gaussian_series"
_PARAMS = {
    "M": "samples per generation",
    "n": "generation (number of fits)",
    "sigma0": "true standard deviation",
}
_DOMAINS = {"M": INT_GE2, "n": INT_GE0, "sigma0": POSITIVE}
_REAL_M = {"M": Real(1.0, low_open=True)}  # c4(M) is defined for every real M > 1
_ASSUME = "replace workflow, fixed M; expansion in 1/M at fixed n, error O(n/M^3)"


def results() -> list[Result]:
    """The registered expansions and bounds."""
    return [
        result(
            id="gaussian.c4.series",
            title="Large-M expansion of c4",
            statement=(
                "c4(M) = 1 - 1/(4M) - 7/(32M^2) - 19/(128M^3) + O(M^-4) (at M = 10 this three-term "
                "series gives 0.972664, the exact value is 0.972659)"
            ),
            expr=1 - 1 / (4 * M) - sp.Rational(7, 32) / M**2 - sp.Rational(19, 128) / M**3,
            params={"M": "sample size"},
            domains=_REAL_M,
            assumptions="M -> infinity",
            citation="derived here (docs/derivations.md, 'Gaussian, large-M expansions'); classical c4 constant",
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_c4_series",
        ),
        result(
            id="gaussian.c4.lower_bound",
            title="Wendel lower bound on c4",
            statement=("sqrt((M-1)/M) <= c4(M) <= 1 for all real M > 1, hence 0 <= 1 - c4(M) <= 1/M"),
            expr=sp.sqrt((M - 1) / M),
            params={"M": "sample size"},
            domains=_REAL_M,
            assumptions="real M > 1",
            citation=(
                "Wendel, Amer. Math. Monthly 55 (1948): (x/(x+s))^(1-s) <= "
                "Gamma(x+s)/(x^s Gamma(x)) <= 1, here x = (M-1)/2, s = 1/2; consequence derived in "
                "docs/derivations.md, 'Gaussian, large-M expansions'"
            ),
            tag="DER, SYM",
            kind="bound",
            proof=f"{_PROOF}:prove_c4_lower_bound",
        ),
        result(
            id="gaussian.replace.unbiased.mean_w2sq_small_n",
            title="Leading order of E W2^2 (unbiased, replace)",
            statement="E[W2^2] = (3/2) n sigma0^2 / M + O(n^2/M^2) for n << M",
            expr=sp.Rational(3, 2) * n * sigma0**2 / M,
            params=_PARAMS,
            domains=_DOMAINS,
            assumptions="replace workflow, unbiased variance, n << M",
            citation=(
                "Shumailov et al., arXiv 2305.17493, 1-D Gaussian section (numbering unknown) "
                "[MEM]; exact version derived here (docs/derivations.md, 'Gaussian, replace, fixed M')"
            ),
            tag="MEM; DER, SYM, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_mean_w2sq_small_n",
        ),
        result(
            id="gaussian.replace.unbiased.mean_log_sigma2_series",
            title="Drift of log sigma^2, large M (unbiased)",
            statement="E[log sigma_n^2] = log sigma0^2 - n (1/M + 4/(3M^2)) + O(n/M^3)",
            expr=sp.log(sigma0**2) - n * (1 / M + sp.Rational(4, 3) / M**2),
            params=_PARAMS,
            domains=_DOMAINS,
            assumptions=_ASSUME,
            citation="derived here (docs/derivations.md, 'Gaussian, large-M expansions')",
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_unbiased_mean_log_sigma2_series",
        ),
        result(
            id="gaussian.replace.mle.mean_log_sigma2_series",
            title="Drift of log sigma^2, large M (MLE)",
            statement=(
                "E[log sigma_n^2] = log sigma0^2 - n (2/M + 11/(6M^2)) + O(n/M^3): sigma^2 "
                "falls by e^-2 about every M generations"
            ),
            expr=sp.log(sigma0**2) - n * (2 / M + sp.Rational(11, 6) / M**2),
            params=_PARAMS,
            domains=_DOMAINS,
            assumptions=_ASSUME,
            citation=(
                "derived here (docs/derivations.md, 'Gaussian, large-M expansions'); counterpart of "
                "Suresh et al., AISTATS 2025 (theorem not seen) [ABS]"
            ),
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_mle_mean_log_sigma2_series",
        ),
        result(
            id="gaussian.replace.var_log_sigma2_series",
            title="Spread of log sigma^2, large M",
            statement="Var[log sigma_n^2] = n (2/M + 4/M^2) + O(n/M^3) (both estimators)",
            expr=n * (2 / M + 4 / M**2),
            params={"M": _PARAMS["M"], "n": _PARAMS["n"]},
            domains={"M": INT_GE2, "n": INT_GE0},
            assumptions=_ASSUME,
            citation="derived here (docs/derivations.md, 'Gaussian, large-M expansions')",
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_var_log_sigma2_series",
        ),
    ]
