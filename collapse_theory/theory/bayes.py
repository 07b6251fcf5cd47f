"""Bayesian (conjugate posterior-predictive) learners under recursive training: a prior stops collapse.

Dirichlet learner. The categorical family with Laplace smoothing ``a`` refits
``p_{t+1} = (c + a)/(M + K a)``, ``c ~ Multinomial(M, p_t)``: the posterior-predictive of a
Dirichlet(a, ..., a) prior, i.e. Wright-Fisher with (parent-independent) mutation. With
``S_t = E sum_i p_{t,i}^2`` the multinomial moments give the linear recursion
``S_{t+1} = A S_t + B``, ``A = M(M-1)/(M+Ka)^2``, ``B = (M + 2aM + K a^2)/(M+Ka)^2``; hence
``E H_t = 1 - A^t S_0 - B (1 - A^t)/(1 - A)`` and the mutation-drift balance
``H* = a (K-1)(2M + K a) / (M + 2MKa + K^2 a^2)``, positive for ``a > 0`` and ``-> 0`` as
``a -> 0`` (the neutral chain, ``wf.replace.mean_heterozygosity``, collapses).

Normal-Inverse-Gamma learner (:mod:`collapse_theory.families.gaussian.bayes`). The predictive
variance ``V_t`` and the squared offset ``D_t = (mu_t - mu_0)^2`` of the predictive location obey
exact linear recursions in expectation (sample mean and sum of squares of i.i.d. draws depend
on the model only through its mean and variance):
``D' = r^2 (D + V/M)``, ``V' = c [beta_0 + (M-1) V/2 + kappa_0 M (D + V/M) / (2 kappa_n)]`` with
``kappa_n = kappa_0 + M``, ``alpha_n = alpha_0 + M/2``, ``r = M/kappa_n``,
``c = (kappa_n + 1)/(kappa_n (alpha_n - 1))``. Every predictive variance is at least
``c beta_0``, and ``E V_t`` converges to a finite positive limit when the prior is strong enough.

References:
    Derivations: ``docs/derivations.md``, 'Bayesian learners' (built on 'Wright-Fisher
    (categorical)') [DER, MC]; machine-checked in ``proofs/bayes.py``. Mutation-drift balance:
    W. J. Ewens, "Mathematical Population Genetics" (2004), ch. 1 and 3 [MEM].
    K. P. Murphy, "Conjugate Bayesian analysis of the Gaussian distribution" (2007), section 6
    (NIG posterior and Student-t predictive) [MEM].

"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import mpmath
import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE1, INT_GE2, NONNEG, POSITIVE, Constraint, Real
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import H0, K, M, n

__all__ = ["a", "alpha0", "beta0", "d0", "kappa0", "nig_mean_variance", "nig_mean_variance_mp", "results"]

a = sp.Symbol("a", positive=True)
kappa0 = sp.Symbol("kappa0", positive=True)
alpha0 = sp.Symbol("alpha0", positive=True)
beta0 = sp.Symbol("beta0", positive=True)
d0 = sp.Symbol("d0", nonnegative=True)

_PROOF = "proofs.bayes"
_WF_CITE = (
    "derived here (docs/derivations.md, 'Bayesian learners'; Wright-Fisher with mutation); "
    "mutation-drift balance as in Ewens, Mathematical "
    "Population Genetics (2004), ch. 1/3 [MEM]"
)
_NIG_CITE = (
    "derived here (docs/derivations.md, 'Bayesian learners'); NIG update and Student-t predictive of "
    "Murphy (2007), §6 [MEM]"
)
_DIR_ASSUME = (
    "replace workflow, K states, Laplace refit (c + a)/(M + K a) of M samples = Dirichlet(a) posterior predictive"
)
_NIG_ASSUME = (
    "replace workflow, M samples per generation from the current Student-t predictive, NIG "
    "prior (mu0, kappa0, alpha0, beta0) fixed, alpha0 + M/2 > 1"
)
_M = "samples per generation"
_K = "number of states"
_A = "Dirichlet pseudo-count (Laplace smoothing)"
_NIG = {
    "M": _M,
    "kappa0": "prior pseudo-count of the mean",
    "alpha0": "prior shape of sigma^2",
    "beta0": "prior scale of sigma^2",
}

_DIR_DOMAINS = {"H0": Real(0.0, 1.0, high_open=True), "M": INT_GE1, "K": INT_GE2, "a": POSITIVE, "n": INT_GE0}
_H0_MAX = Constraint(
    "H0 <= 1 - 1/K (heterozygosity of K states)", lambda v: v["H0"] * v["K"] <= v["K"] - 1, ("H0", "K")
)
_NIG_DOMAINS = {"M": INT_GE1, "kappa0": POSITIVE, "alpha0": POSITIVE, "beta0": POSITIVE}
_NIG_PROPER = Constraint(
    "alpha0 + M/2 > 1 (finite predictive variance)", lambda v: 2 * v["alpha0"] + v["M"] > 2, ("alpha0", "M")
)


def _nig_den(v: Mapping[str, Any]) -> Fraction:
    m, k0, a0 = Fraction(v["M"]), Fraction(v["kappa0"]), Fraction(v["alpha0"])
    return 2 * (a0 - 1) * (m + k0) * (2 * m + k0) - m * (m - 1)


_NIG_STABLE = Constraint(
    "2(alpha0 - 1)(M + kappa0)(2M + kappa0) > M(M - 1) (spectral radius < 1)",
    lambda v: _nig_den(v) > 0,
    ("alpha0", "kappa0", "M"),
)

_DEN_A = (M + K * a) ** 2
A_COEF = M * (M - 1) / _DEN_A
B_COEF = (M + 2 * a * M + K * a**2) / _DEN_A
H_STAR = a * (K - 1) * (2 * M + K * a) / (M + 2 * M * K * a + K**2 * a**2)

_KN, _AN = kappa0 + M, alpha0 + M / 2
R_COEF = M / _KN
C_COEF = (_KN + 1) / (_KN * (_AN - 1))
NIG_DEN = 2 * (alpha0 - 1) * (M + kappa0) * (2 * M + kappa0) - M * (M - 1)
V_STAR = 2 * beta0 * (2 * M + kappa0) * (M + kappa0 + 1) / NIG_DEN
V_FLOOR = beta0 * C_COEF


def nig_mean_variance_mp(M: int, kappa0: float, alpha0: float, beta0: float, var0: float, d0: float, n: int):  # noqa: N803
    """``E V_n`` of the NIG learner at the current mpmath precision, in ``O(log n)`` steps.

    The recursion is affine, ``(V, D, 1)' = T (V, D, 1)``, with
    ``T = [[c((M-1)/2 + kappa0/(2 kappa_n)), c kappa0 M/(2 kappa_n), c beta0], [r^2/M, r^2, 0],
    [0, 0, 1]]``, so ``E V_n`` is the first entry of ``T^n (var0, d0, 1)``, computed by
    repeated squaring (``2 log2 n`` products of 3 x 3 matrices).

    Args:
        M: samples per generation.
        kappa0: prior pseudo-count of the mean.
        alpha0: prior shape of sigma^2 (``alpha0 + M/2 > 1``).
        beta0: prior scale of sigma^2.
        var0: variance of the truth (model 0).
        d0: ``(true mean - mu0)^2``.
        n: generation (``>= 0``).

    Returns:
        The expected predictive variance of model ``n``.

    """
    size, k0 = mpmath.mpf(M), mpmath.mpf(kappa0)
    kn, an = k0 + size, mpmath.mpf(alpha0) + size / 2
    r2, c = (size / kn) ** 2, (kn + 1) / (kn * (an - 1))
    step = mpmath.matrix(
        [
            [c * ((size - 1) / 2 + k0 / (2 * kn)), c * k0 * size / (2 * kn), c * mpmath.mpf(beta0)],
            [r2 / size, r2, 0],
            [0, 0, 1],
        ]
    )
    state = mpmath.matrix([[mpmath.mpf(var0)], [mpmath.mpf(d0)], [1]])
    power = int(n)
    while power:
        if power & 1:
            state = step * state
        power >>= 1
        if power:
            step = step * step
    return state[0, 0]


def nig_mean_variance(M: float, kappa0: float, alpha0: float, beta0: float, var0: float, d0: float, n: int) -> float:  # noqa: N803
    """``E V_n`` of the NIG learner (:func:`nig_mean_variance_mp` under adaptive precision).

    Raises:
        ValueError: if ``n`` is not a non-negative integer or ``alpha0 + M/2 <= 1``.

    """
    from collapse_theory.theory import numeric

    if n < 0 or int(n) != n or alpha0 + M / 2 <= 1:
        raise ValueError("need an integer n >= 0 and alpha0 + M/2 > 1")
    values = {"M": M, "kappa0": kappa0, "alpha0": alpha0, "beta0": beta0, "var0": var0, "d0": d0, "n": int(n)}
    return float(numeric.adaptive(nig_mean_variance_mp, values))


def _dirichlet() -> list[Result]:
    s0 = 1 - H0
    return [
        result(
            id="bayes.dirichlet.mean_heterozygosity",
            title="Mean heterozygosity of the Dirichlet posterior-predictive learner",
            statement=(
                "E H_n = 1 - [A^n S_0 + B (1 - A^n)/(1 - A)], S_0 = 1 - H_0, A = M(M-1)/(M+Ka)^2, "
                "B = (M + 2aM + K a^2)/(M+Ka)^2 (Wright-Fisher with mutation)"
            ),
            expr=1 - (A_COEF**n * s0 + B_COEF * (1 - A_COEF**n) / (1 - A_COEF)),
            params={"H0": "initial heterozygosity 1 - sum p_i^2", "M": _M, "K": _K, "a": _A, "n": "generation"},
            assumptions=_DIR_ASSUME,
            citation=_WF_CITE,
            tag="DER, SYM, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_dirichlet_mean_heterozygosity",
            domains=_DIR_DOMAINS,
            constraints=(_H0_MAX,),
        ),
        result(
            id="bayes.dirichlet.stationary_heterozygosity",
            title="Stationary heterozygosity of the Dirichlet learner (a prior stops collapse)",
            statement=(
                "lim E H_n = H* = 1 - B/(1 - A) = a (K-1)(2M + K a)/(M + 2MKa + K^2 a^2) > 0 for "
                "a > 0, K >= 2; H* -> 0 as a -> 0"
            ),
            expr=H_STAR,
            params={"M": _M, "K": _K, "a": _A},
            assumptions=_DIR_ASSUME + "; n -> infinity (0 <= A < 1)",
            citation=_WF_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_dirichlet_stationary_heterozygosity",
            domains={k: _DIR_DOMAINS[k] for k in ("M", "K", "a")},
        ),
        result(
            id="bayes.dirichlet.stationary_heterozygosity_large_M",
            title="Stationary heterozygosity of the Dirichlet learner, large samples",
            statement="M -> infinity at fixed a: H* -> 2a(K-1)/(1 + 2Ka) (a pseudo-counts act as mutation)",
            expr=2 * a * (K - 1) / (1 + 2 * K * a),
            params={"K": _K, "a": _A},
            assumptions=_DIR_ASSUME + "; n -> infinity, then M -> infinity",
            citation=_WF_CITE,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_dirichlet_stationary_heterozygosity_large_M",
            domains={k: _DIR_DOMAINS[k] for k in ("K", "a")},
        ),
    ]


def _nig() -> list[Result]:
    return [
        result(
            id="bayes.nig.predictive_variance_floor",
            title="Floor of the NIG learner's predictive variance",
            statement=(
                "for every generation n >= 1 and every chain, V_n >= beta0 (kappa_n + 1)/(kappa_n "
                "(alpha_n - 1)), kappa_n = kappa0 + M, alpha_n = alpha0 + M/2: the variance never collapses"
            ),
            expr=V_FLOOR,
            params=_NIG,
            assumptions=_NIG_ASSUME,
            citation=_NIG_CITE,
            tag="DER, SYM, MC",
            kind="bound",
            proof=f"{_PROOF}:prove_nig_predictive_variance_floor",
            domains=_NIG_DOMAINS,
            constraints=(_NIG_PROPER,),
        ),
        result(
            id="bayes.nig.mean_predictive_variance",
            title="Mean predictive variance of the NIG learner",
            statement=(
                "(E V_n, E D_n) follow the exact linear recursion D' = r^2 (D + V/M), "
                "V' = c [beta0 + (M-1)V/2 + kappa0 M (D + V/M)/(2 kappa_n)], V_0 = var0, D_0 = d0"
            ),
            expr=None,
            params={
                **_NIG,
                "var0": "variance of the truth",
                "d0": "(true mean - mu0)^2",
                "n": "generation",
            },
            assumptions=_NIG_ASSUME,
            citation=_NIG_CITE,
            tag="DER, SYM, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_nig_mean_predictive_variance",
            numeric=nig_mean_variance_mp,
            numeric_mp=True,
            domains={**_NIG_DOMAINS, "var0": NONNEG, "d0": NONNEG, "n": INT_GE0},
            constraints=(_NIG_PROPER,),
        ),
        result(
            id="bayes.nig.stationary_predictive_variance",
            title="Stationary mean predictive variance of the NIG learner",
            statement=(
                "lim E V_n = 2 beta0 (2M + kappa0)(M + kappa0 + 1) / [2(alpha0 - 1)(M + kappa0)(2M + kappa0) "
                "- M(M-1)] when the denominator is positive (e.g. any alpha0 >= 5/4), whatever the truth"
            ),
            expr=V_STAR,
            params=_NIG,
            assumptions=_NIG_ASSUME + "; denominator > 0 (spectral radius of the recursion < 1)",
            citation=_NIG_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_nig_stationary_predictive_variance",
            domains=_NIG_DOMAINS,
            constraints=(_NIG_PROPER, _NIG_STABLE),
        ),
    ]


def results() -> list[Result]:
    """The registered results of this topic."""
    return _dirichlet() + _nig()
