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

import sympy as sp

from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, d, j, logdet0, n, tr0

__all__ = ["log_det_drift", "results"]

_PROOF = "proofs.multivariate"
_CITE = (
    "derived here (docs/derivations.md, 'd-dimensional Gaussian'); Shumailov et al., Nature 631 (2024), Thm 3.1 [SRC]"
)
_ASSUME = "replace workflow, d-dimensional Gaussian, unbiased covariance, fixed M >= d + 1"
_M = "samples per generation (M >= d + 1)"


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
        ),
    ]
