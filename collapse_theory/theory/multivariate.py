"""d-dimensional Gaussian with the unbiased covariance, workflow *replace*.

``Sigma_{t+1} = Sigma_t^{1/2} [Wishart_d(M-1, I)/(M-1)] Sigma_t^{1/2}``; by Bartlett's
decomposition ``det Wishart_d(M-1, I) = prod_{j=1}^d chi2_{M-j}`` (independent), which gives the
exact drift of ``log det Sigma_n``.

References:
    Shumailov et al., Nature 631 (2024), Theorem 3.1: Sigma_n -> 0 a.s. (here: det) [SRC].
    M. S. Bartlett, "On the theory of statistical regression", Proc. R. Soc. Edinburgh 53
    (1933) 260-283 (Bartlett decomposition).
    Derivations: ``docs/derivations.md``, 'd-dimensional Gaussian' [DER, MC]; machine-checked in
    ``proofs/multivariate.py``.

"""

from __future__ import annotations

import mpmath
import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE1, INT_GE2, POSITIVE, REAL, Constraint
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, d, j, logdet0, n, tr0

__all__ = ["log_det_drift", "log_det_drift_mp", "results"]

_PROOF = "proofs.multivariate"
_CITE = (
    "derived here (docs/derivations.md, 'd-dimensional Gaussian'); Shumailov et al., Nature 631 (2024), Thm 3.1 [SRC]"
)
_ASSUME = "replace workflow, d-dimensional Gaussian, unbiased covariance, fixed M >= d + 1"
_M = "samples per generation"
_DIM = Constraint("M >= d + 1", lambda v: v["M"] >= v["d"] + 1, ("M", "d"))
_DIRECT = 64  # dimensions summed term by term; above, the closed form of the digamma sums


def _digamma_run(x: mpmath.mpf, count: int) -> mpmath.mpf:
    """``sum_{k<count} psi(x + k) = (x + count - 1) psi(x + count) - (x - 1) psi(x) - count``.

    Telescoping: ``F(x) = (x - 1) psi(x) - x`` has ``F(x + 1) - F(x) = psi(x)`` since
    ``psi(x + 1) = psi(x) + 1/x``.
    """
    if count == 0:
        return mpmath.mpf(0)
    return (x + count - 1) * mpmath.digamma(x + count) - (x - 1) * mpmath.digamma(x) - count


def log_det_drift_mp(M: int, d: int) -> mpmath.mpf:  # noqa: N803
    """``sum_{j=1}^d [psi((M-j)/2) + log(2/(M-1))]`` at the current mpmath precision.

    Up to 64 dimensions term by term; above, odd and even ``j`` form two runs of unit-spaced
    digamma arguments, ``(M-1)/2 - i`` and ``M/2 - i``, summed by :func:`_digamma_run`
    (cancellation of ``log10 M`` digits, which :func:`collapse_theory.theory.numeric.adaptive`
    absorbs).
    """
    size = mpmath.mpf(M)
    shift = d * mpmath.log(2 / (size - 1))
    if d <= _DIRECT:
        return mpmath.fsum(mpmath.digamma((size - k) / 2) for k in range(1, d + 1)) + shift
    odd, even = (d + 1) // 2, d // 2
    return _digamma_run((size - 1) / 2 - odd + 1, odd) + _digamma_run(size / 2 - even, even) + shift


def _mean_log_det_mp(M: int, n: int, d: int, logdet0: float) -> mpmath.mpf:  # noqa: N803
    return mpmath.mpf(logdet0) + n * log_det_drift_mp(M, d)


def log_det_drift() -> sp.Expr:
    """Per-generation drift ``sum_{j=1}^d [psi((M-j)/2) + log(2/(M-1))]`` of ``log det``."""
    return sp.Sum(sp.polygamma(0, (M - j) / 2) + sp.log(2 / (M - 1)), (j, 1, d))


def results() -> list[Result]:
    """The registered multivariate results."""
    return [
        result(
            id="multivariate.replace.mean_log_det",
            title="Mean log-determinant of the fitted covariance",
            statement=(
                "E[log det Sigma_n] = log det Sigma_0 + n sum_{j=1}^d [psi((M-j)/2) + log(2/(M-1))], the sum being < 0"
            ),
            expr=logdet0 + n * log_det_drift(),
            params={
                "M": _M,
                "n": "generation",
                "d": "dimension",
                "logdet0": "log det Sigma_0 of the truth",
            },
            assumptions=_ASSUME,
            citation=_CITE + "; Bartlett decomposition",
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_log_det",
            numeric=_mean_log_det_mp,
            numeric_mp=True,
            domains={"M": INT_GE2, "n": INT_GE0, "d": INT_GE1, "logdet0": REAL},
            constraints=(_DIM,),
        ),
        result(
            id="multivariate.replace.log_det_as_rate",
            title="Almost-sure collapse rate of log det Sigma_n",
            statement=(
                "(1/n) log det Sigma_n -> sum_{j=1}^d [psi((M-j)/2) + log(2/(M-1))] < 0 a.s., so det Sigma_n -> 0"
            ),
            expr=log_det_drift(),
            params={"M": _M, "d": "dimension"},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_log_det_as_rate",
            numeric=log_det_drift_mp,
            numeric_mp=True,
            domains={"M": INT_GE2, "d": INT_GE1},
            constraints=(_DIM,),
        ),
        result(
            id="multivariate.replace.mean_trace",
            title="Mean trace of the fitted covariance",
            statement="E[Sigma_n] = Sigma_0, so E[tr Sigma_n] = tr Sigma_0",
            expr=tr0,
            params={"tr0": "tr Sigma_0 of the truth"},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_trace",
            domains={"tr0": POSITIVE},
        ),
        result(
            id="multivariate.replace.mean_sq_mean_error",
            title="Mean squared error of the fitted mean vector",
            statement="E||mu_n - mu_0||^2 = n tr(Sigma_0) / M",
            expr=n * tr0 / M,
            params={"M": "samples per generation", "n": "generation", "tr0": "tr Sigma_0"},
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_sq_mean_error",
            domains={"M": INT_GE2, "n": INT_GE0, "tr0": POSITIVE},
        ),
    ]
