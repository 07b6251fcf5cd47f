"""Discrete distributions refitted by their empirical frequencies = neutral Wright-Fisher.

``p_{t+1} = Multinomial(M, p_t)/M`` on ``K`` states; every marginal count is a binomial
Wright-Fisher chain. Closed forms for heterozygosity ``H = 1 - sum p_i^2``, one-step loss,
fixation, the diffusion approximations of the absorption time, and the accumulate and
fresh-data (migration) versions. The exact finite-chain solves are in
:mod:`collapse_theory.theory.wright_fisher_chain`.

References:
    Shumailov et al., Nature 631 (2024), "Discrete distributions with exact approximation"
    (claims only; the precise forms here are derived) [SRC].
    M. Kimura & T. Ohta, "The average number of generations until fixation of a mutant gene in
    a finite population", Genetics 61 (1969) 763-771.
    R. A. Littler, "Loss of variability at one locus in a finite population", Math. Biosci. 25
    (1975) 151-163.
    W. Feller, "Diffusion processes in genetics", Proc. 2nd Berkeley Symp. (1951).
    V. S. Borkar, "A theoretical basis for model collapse in recursive training", arXiv 2506.09401
    (with any fresh source: a non-degenerate limit instead of collapse) [ABS].
    Derivations: ``docs/derivations.md``, 'Wright-Fisher (categorical)' [DER, MC]; machine-checked in
    ``proofs/wright_fisher.py``.

"""

from __future__ import annotations

import mpmath
import sympy as sp

from collapse_theory.theory import kernels
from collapse_theory.theory.accumulate import product_mp
from collapse_theory.theory.domains import (
    INT_GE0,
    INT_GE1,
    POSITIVE,
    UNIT_CLOSED,
    UNIT_HALF_OPEN,
    UNIT_OPEN,
    ProbVector,
    Real,
)
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import H0, K, M, alpha, i, j, k, n, p, q, theta

__all__ = ["results"]

_PROOF = "proofs.wright_fisher"
_CITE = (
    "derived here (docs/derivations.md, 'Wright-Fisher (categorical)'); discrete setting of Shumailov et al., "
    "Nature 631 (2024), 'Discrete distributions with exact approximation' [SRC]"
)
_WF_DOC = "docs/derivations.md, 'Wright-Fisher (categorical)'"
_ASSUME = "replace workflow, K states, empirical-frequency (MLE) refit of M samples"
_M = "samples per generation (population size)"
_H0 = "initial heterozygosity 1 - sum p_i^2"
_P = "initial state probabilities p_0..p_{K-1} (sum 1)"
_Q = "initial frequency of the state"
_FRESH_DOMAINS = {"H0": Real(0.0, 1.0, high_open=True), "M": INT_GE1, "alpha": UNIT_HALF_OPEN}
_HET = Real(0.0, 1.0, high_open=True)  # 1 - sum p_i^2 < 1 for any finite K
_SUPPORT_P = ProbVector(min_len=1)
_LITTLER_P = ProbVector(min_len=2)


def _support(M: int, p: tuple[float, ...]) -> float:  # noqa: N803
    return kernels.mean_support(M, p)


def _littler(M: int, p: tuple[float, ...]) -> float:  # noqa: N803
    return kernels.absorption_littler(M, p)


def _accumulate_het_mp(H0: float, M: int, n: int) -> mpmath.mpf:  # noqa: N803
    return mpmath.mpf(H0) * (1 - 1 / mpmath.mpf(M)) * product_mp("mle", M, n)


def _accumulate_het(H0: float, M: int, n: int) -> mpmath.mpf:  # noqa: N803
    """Adaptive precision from 30 digits: the product's series form does not cancel."""
    from collapse_theory.theory import numeric

    return numeric.adaptive(_accumulate_het_mp, {"H0": H0, "M": M, "n": n}, dps=numeric.DPS)


def _closed() -> list[Result]:
    return [
        result(
            id="wf.replace.mean_heterozygosity",
            title="Mean heterozygosity under replace",
            statement="E H_n = (1 - 1/M)^n H_0 -> 0: collapse to a delta",
            expr=H0 * (1 - 1 / M) ** n,
            params={"H0": _H0, "M": _M, "n": "generation"},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_replace_mean_heterozygosity",
            domains={"H0": _HET, "M": INT_GE1, "n": INT_GE0},
        ),
        result(
            id="wf.one_step.loss_probability",
            title="Probability that a state is absent after one generation",
            statement=(
                "P(state of probability q absent after one generation) = (1-q)^M; the paper's "
                "'1 - q' is the eventual loss probability"
            ),
            expr=(1 - q) ** M,
            params={"q": "probability of the state", "M": _M},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_one_step_loss_probability",
            domains={"q": UNIT_CLOSED, "M": INT_GE1},
        ),
        result(
            id="wf.one_step.mean_support",
            title="Expected support size after one generation",
            statement="E|support| = sum_i [1 - (1 - p_i)^M]",
            expr=sp.Sum(1 - (1 - p[i]) ** M, (i, 0, K - 1)),
            params={"M": _M, "p": _P},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_one_step_mean_support",
            domains={"M": INT_GE1, "p": _SUPPORT_P},
            numeric=_support,
            vector_params=("p",),
        ),
        result(
            id="wf.fixation_probability",
            title="Fixation probability",
            statement=(
                "P(chain is absorbed at the delta on a state) = its initial frequency q "
                "(bounded martingale + a.s. absorption)"
            ),
            expr=q,
            params={"q": _Q},
            assumptions=_ASSUME,
            citation=_CITE + "; the paper states it in words [SRC]",
            tag="SRC; DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_fixation_probability",
            domains={"q": UNIT_CLOSED},
        ),
        result(
            id="wf.eventual_loss_probability",
            title="Eventual loss probability",
            statement="P(a state of initial frequency q is eventually lost) = 1 - q",
            expr=1 - q,
            params={"q": _Q},
            assumptions=_ASSUME,
            citation=_CITE + "; the paper's 'probability of losing information' [SRC]",
            tag="SRC; DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_eventual_loss_probability",
            domains={"q": UNIT_CLOSED},
        ),
    ]


def _diffusion() -> list[Result]:
    assume = _ASSUME + "; diffusion approximation (haploid scaling 2M), accurate for large M"
    return [
        result(
            id="wf.k2.absorption_time_kimura_ohta",
            title="Mean absorption time, two states (diffusion)",
            statement="t(q) ~ -2M [q ln q + (1-q) ln(1-q)]",
            expr=-2 * M * (q * sp.log(q) + (1 - q) * sp.log(1 - q)),
            params={"M": _M, "q": _Q},
            assumptions=assume + ", K = 2",
            citation=f"Kimura & Ohta, Genetics 61 (1969), haploid form ({_WF_DOC})",
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_k2_absorption_time_kimura_ohta",
            domains={"M": INT_GE1, "q": UNIT_OPEN},
        ),
        result(
            id="wf.absorption_time_littler",
            title="Mean time until one state remains (diffusion)",
            statement="t(p) ~ -2M sum_i (1 - p_i) ln(1 - p_i); uniform p, K -> inf: 2M",
            expr=-2 * M * sp.Sum((1 - p[i]) * sp.log(1 - p[i]), (i, 0, K - 1)),
            params={"M": _M, "p": _P},
            assumptions=assume,
            citation=f"Littler, Math. Biosci. 25 (1975), haploid form ({_WF_DOC})",
            tag="DER, SYM, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_absorption_time_littler",
            domains={"M": INT_GE1, "p": _LITTLER_P},
            numeric=_littler,
            vector_params=("p",),
        ),
        result(
            id="wf.k2.conditional_loss_time_diffusion",
            title="Mean time to loss given loss (diffusion)",
            statement="t0(q) ~ -2M q ln q / (1 - q) ~ 2k ln(M/k) for q = k/M",
            expr=-2 * M * q * sp.log(q) / (1 - q),
            params={"M": _M, "q": _Q},
            assumptions=assume + ", K = 2",
            citation=f"Kimura & Ohta, Genetics 61 (1969) ({_WF_DOC})",
            tag="DER, SYM, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_k2_conditional_loss_time_diffusion",
            domains={"M": INT_GE1, "q": UNIT_OPEN},
        ),
        result(
            id="wf.k2.conditional_fixation_time_diffusion",
            title="Mean time to fixation given fixation (diffusion)",
            statement="t1(q) ~ -2M (1 - q) ln(1 - q) / q -> 2M as q -> 0",
            expr=-2 * M * (1 - q) * sp.log(1 - q) / q,
            params={"M": _M, "q": _Q},
            assumptions=assume + ", K = 2",
            citation=f"Kimura & Ohta, Genetics 61 (1969) ({_WF_DOC})",
            tag="DER, SYM",
            kind="approximation",
            proof=f"{_PROOF}:prove_k2_conditional_fixation_time_diffusion",
            domains={"M": INT_GE1, "q": UNIT_OPEN},
        ),
        result(
            id="wf.k2.median_loss_time_feller",
            title="Median time to forget a state seen k times (Feller)",
            statement="P(lost by t) ~ exp(-2k/t), so the median loss time is ~ 2k/ln 2 (k << M)",
            expr=2 * k / sp.log(2),
            params={"k": "initial count of the state (meant for k << M)"},
            assumptions=_ASSUME + "; Feller diffusion limit of a rare state",
            citation=(
                "Feller (1951) diffusion; counterpart of Suresh et al., AISTATS 2025 "
                f"(forgetting time linear in k) [ABS] ({_WF_DOC})"
            ),
            tag="DER, SYM, MC",
            kind="approximation",
            proof=f"{_PROOF}:prove_k2_median_loss_time_feller",
            domains={"k": INT_GE1},
        ),
    ]


def _accumulate_and_fresh() -> list[Result]:
    mix = H0 * (1 - 1 / M) * (1 - (1 - alpha) ** 2) / (1 - (1 - 1 / M) * (1 - alpha) ** 2)
    split = H0 * alpha * (2 * M - 1 - M * alpha) / (M * alpha * (2 - alpha) + 1 - alpha)
    fresh = {"H0": _H0, "M": _M, "alpha": "fresh real fraction"}
    fresh_cite = (
        "derived here (docs/derivations.md, 'Wright-Fisher (categorical)', WF with migration); "
        "Borkar, arXiv 2506.09401 "
        "(non-degenerate limit with any fresh source) [ABS]"
    )
    acc_assume = "accumulate: model m = empirical law of the M real points plus (m-1)M synthetic ones"
    return [
        result(
            id="wf.accumulate.mean_heterozygosity",
            title="Mean heterozygosity under accumulate",
            statement="E H_n = H_0 (1 - 1/M) prod_{j=2}^n (1 - 1/(j^2 M)) (n >= 1)",
            expr=H0 * (1 - 1 / M) * sp.Product(1 - 1 / (j**2 * M), (j, 2, n)),
            params={"H0": _H0, "M": _M, "n": "model index"},
            assumptions=acc_assume,
            citation=f"derived here ({_WF_DOC}): same product as the Gaussian-MLE accumulate",
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_accumulate_mean_heterozygosity",
            domains={"H0": _HET, "M": INT_GE1, "n": INT_GE1},
            numeric=_accumulate_het,
        ),
        result(
            id="wf.accumulate.limit_heterozygosity",
            title="Limit of the mean heterozygosity under accumulate",
            statement="lim E H_n = H_0 sin(pi/sqrt(M)) / (pi/sqrt(M))",
            expr=H0 * sp.sin(sp.pi / sp.sqrt(M)) / (sp.pi / sp.sqrt(M)),
            params={"H0": _H0, "M": _M},
            assumptions=acc_assume + "; n -> infinity",
            citation=f"derived here ({_WF_DOC}); Euler's product for sin",
            tag="DER, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_accumulate_limit_heterozygosity",
            domains={"H0": _HET, "M": INT_GE1},
        ),
        result(
            id="wf.mixture.h_star",
            title="Stationary heterozygosity, fresh-data mixture",
            statement=(
                "p_{t+1} ~ Mult(M, alpha p0 + (1-alpha) p_t)/M: H* = H_0 (1-1/M)(1-(1-alpha)^2)"
                " / [1 - (1-1/M)(1-alpha)^2]"
            ),
            expr=mix,
            params=fresh,
            assumptions="WF with migration from p0, chain started at p0",
            citation=fresh_cite,
            tag="DER, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_mixture_h_star",
            domains=_FRESH_DOMAINS,
        ),
        result(
            id="wf.split.h_star",
            title="Stationary heterozygosity, fresh-data split",
            statement=(
                "alpha M fresh real + (1-alpha) M synthetic: H* = H_0 alpha (2M - 1 - M alpha)"
                " / (M alpha (2-alpha) + 1 - alpha)"
            ),
            expr=split,
            params=fresh,
            assumptions="fixed split from p0 and p_t, chain started at p0",
            citation=fresh_cite,
            tag="DER, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_split_h_star",
            domains=_FRESH_DOMAINS,
        ),
        result(
            id="wf.mixture.h_star_large_M",
            title="Stationary heterozygosity with rare migration",
            statement=(
                "alpha = theta/M, M -> infinity: H*/H_0 -> 2 theta/(2 theta + 1) (haploid analogue of 1 - F_ST)"
            ),
            expr=H0 * 2 * theta / (2 * theta + 1),
            params={"H0": _H0, "theta": "migrants per generation alpha M"},
            assumptions="WF with migration, mixture sampling, alpha = theta/M, M -> infinity",
            citation=fresh_cite,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_mixture_h_star_large_M",
            domains={"H0": _HET, "theta": POSITIVE},
        ),
    ]


def results() -> list[Result]:
    """The registered closed-form Wright-Fisher results."""
    return _closed() + _diffusion() + _accumulate_and_fresh()
