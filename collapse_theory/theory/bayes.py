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

import sympy as sp

from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import H0, K, M, n

__all__ = ["a", "alpha0", "beta0", "d0", "kappa0", "nig_mean_variance", "results"]

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
_K = "number of states (K >= 2)"
_A = "Dirichlet pseudo-count (Laplace smoothing) a > 0"
_NIG = {
    "M": _M,
    "kappa0": "prior pseudo-count of the mean",
    "alpha0": "prior shape of sigma^2",
    "beta0": "prior scale of sigma^2",
}

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


def nig_mean_variance(M: float, kappa0: float, alpha0: float, beta0: float, var0: float, d0: float, n: int) -> float:
    """``E V_n`` of the NIG learner by iterating the exact two-dimensional moment recursion.

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

    Raises:
        ValueError: if ``n`` is not a non-negative integer or ``alpha0 + M/2 <= 1``.

    """
    if n < 0 or int(n) != n or alpha0 + M / 2 <= 1:
        raise ValueError("need an integer n >= 0 and alpha0 + M/2 > 1")
    kn, an = kappa0 + M, alpha0 + M / 2
    r, c = M / kn, (kn + 1) / (kn * (an - 1))
    v, d = float(var0), float(d0)
    for _ in range(int(n)):
        v, d = c * (beta0 + (M - 1) * v / 2 + kappa0 * M * (d + v / M) / (2 * kn)), r * r * (d + v / M)
    return v


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
            numeric=nig_mean_variance,
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
        ),
    ]


def results() -> list[Result]:
    """The registered results of this topic."""
    return _dirichlet() + _nig()
