"""1-D Gaussian fitted and resampled with a fixed sample size (workflow *replace*).

Each generation draws ``M`` samples from ``N(mu_t, sigma_t^2)`` and refits
``mu_{t+1} = mean`` and ``sigma_{t+1}^2 = c * sum (x - mean)^2`` with ``c = 1/(M-1)``
(unbiased) or ``c = 1/M`` (MLE). By Cochran's theorem ``sigma_{t+1}^2 = sigma_t^2 W_{t+1}`` with
``W ~ c chi2_{M-1}`` i.i.d. and ``mu_{t+1} = mu_t + sigma_t Z_t / sqrt(M)``, which gives every
moment below in closed form.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631:755-759 (2024), Theorem 3.1 (collapse of the unbiased Gaussian chain) [SRC].
    The moment formulas are derived in ``docs/derivations.md``, 'Gaussian, replace, fixed M'
    [DER, SYM, MC]; machine-checked in ``proofs/gaussian_replace.py``.

"""

from __future__ import annotations

import sympy as sp

from collapse_theory.theory.domains import INT_GE0, INT_GE1, INT_GE2, POSITIVE, REAL, UNIT_HALF_OPEN, Constraint
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, lam, n, r, sigma0

__all__ = ["ESTIMATORS", "c4", "chi2_dof", "domains", "mellin_w", "results", "scale"]

ESTIMATORS = ("unbiased", "mle")
_PROOF = "proofs.gaussian_replace"
_CITE = (
    "derived here (docs/derivations.md, 'Gaussian, replace, fixed M'); setting of Shumailov et al., "
    "Nature 631 (2024), Thm 3.1 (unbiased chain) [SRC]"
)
_PARAMS = {
    "M": "samples per generation",
    "n": "generation (number of fits)",
    "sigma0": "true standard deviation",
}
# Laws of log sigma^2 (log, polygamma, moments of any order) need k = M - 1 >= 1 for both
# estimators; the MLE chain itself runs from M = 1 (sigma_1 = 0, then degenerate).
_LOG_LAW = ("mean_log_sigma2", "var_log_sigma2", "moment_sigma_r")
_R_CONSTRAINT = Constraint("r > 1 - M (E sigma^r finite)", lambda v: v["r"] > 1 - v["M"], ("r", "M"))


def domains(estimator: str, name: str = "") -> dict:
    """The parameter domains of a replace-chain result of ``estimator``."""
    size = INT_GE2 if estimator == "unbiased" or name in _LOG_LAW else INT_GE1
    out = {"M": size, "n": INT_GE0, "sigma0": POSITIVE}
    if name == "moment_sigma_r":
        out["r"] = REAL
    return out


def scale(estimator: str) -> sp.Expr:
    """The variance-estimator scale ``c``: ``1/(M-1)`` (unbiased) or ``1/M`` (MLE)."""
    if estimator == "unbiased":
        return 1 / (M - 1)
    if estimator == "mle":
        return 1 / M
    raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")


def chi2_dof() -> sp.Expr:
    """Degrees of freedom ``k = M - 1`` of the per-generation chi-square."""
    return M - 1


def mellin_w(s: sp.Expr, estimator: str) -> sp.Expr:
    """``E[W^s] = (2c)^s Gamma(k/2 + s) / Gamma(k/2)`` for ``W ~ c chi2_k``."""
    c, k = scale(estimator), chi2_dof()
    return (2 * c) ** s * sp.gamma(k / 2 + s) / sp.gamma(k / 2)


def c4(size: sp.Expr = M) -> sp.Expr:
    """The c4 constant ``sqrt(2/(M-1)) Gamma(M/2) / Gamma((M-1)/2)`` (``E s = c4 sigma``)."""
    return sp.sqrt(2 / (size - 1)) * sp.gamma(size / 2) / sp.gamma((size - 1) / 2)


def _assume(estimator: str) -> str:
    div = "M-1" if estimator == "unbiased" else "M"
    size = "M >= 2" if estimator == "unbiased" else "M >= 1 (M >= 2 for the law of log sigma^2)"
    return (
        f"replace workflow, fixed {size}, variance estimator divides by {div}; generation 0 "
        "is the truth N(mu0, sigma0^2)"
    )


def _moments(estimator: str) -> list[Result]:
    c, k = scale(estimator), chi2_dof()
    est = estimator
    base = f"gaussian.replace.{est}"
    tag = "DER, SYM, MC"
    a = c * k
    mean_s = c4() if est == "unbiased" else sp.sqrt(2 / M) * sp.gamma(M / 2) / sp.gamma(k / 2)
    if est == "unbiased":
        mean_mu = n * sigma0**2 / M
        w2 = sigma0**2 * (n / M + 2 * (1 - mean_s**n))
        w2_text = "sigma0^2 [n/M + 2(1 - c4(M)^n)] (diverges linearly in n)"
    else:
        mean_mu = sigma0**2 * (1 - ((M - 1) / M) ** n)
        w2 = 2 * sigma0**2 * (1 - mean_s**n)
        w2_text = "2 sigma0^2 (1 - d(M)^n), d = c4(M) sqrt((M-1)/M); bounded by 2 sigma0^2"
    rows = [
        (
            "mean_sigma2",
            "Mean of the fitted variance",
            "E[sigma_n^2] = sigma0^2 (c (M-1))^n"
            + (" = sigma0^2 (a martingale)" if est == "unbiased" else " = sigma0^2 ((M-1)/M)^n"),
            sigma0**2 * a**n,
        ),
        (
            "var_sigma2",
            "Variance of the fitted variance",
            "Var[sigma_n^2] = sigma0^4 [(c^2 k (k+2))^n - (c k)^(2n)], k = M-1",
            sigma0**4 * ((c**2 * k * (k + 2)) ** n - a ** (2 * n)),
        ),
        (
            "moment_sigma_r",
            "Moment of order r of the fitted sd",
            "E[sigma_n^r] = sigma0^r [(2c)^(r/2) Gamma((M-1+r)/2) / Gamma((M-1)/2)]^n, r > -(M-1)",
            sigma0**r * ((2 * c) ** (r / 2) * sp.gamma((k + r) / 2) / sp.gamma(k / 2)) ** n,
        ),
        (
            "mean_sigma",
            "Mean of the fitted sd",
            "E[sigma_n] = sigma0 c4(M)^n"
            if est == "unbiased"
            else "E[sigma_n] = sigma0 d(M)^n, d(M) = c4(M) sqrt((M-1)/M)",
            sigma0 * mean_s**n,
        ),
        (
            "mean_log_sigma2",
            "Mean log fitted variance",
            "E[log sigma_n^2] = log sigma0^2 + n [psi((M-1)/2) + log(2c)]",
            sp.log(sigma0**2) + n * (sp.polygamma(0, k / 2) + sp.log(2 * c)),
        ),
        (
            "var_log_sigma2",
            "Variance of the log fitted variance",
            "Var[log sigma_n^2] = n psi1((M-1)/2) (same for both estimators)",
            n * sp.polygamma(1, k / 2),
        ),
        (
            "mean_sq_mean_error",
            "Mean squared error of the fitted mean",
            "E[(mu_n - mu0)^2] = sum_{t<n} E[sigma_t^2]/M = "
            + ("n sigma0^2 / M" if est == "unbiased" else "sigma0^2 [1 - ((M-1)/M)^n]"),
            mean_mu,
        ),
        (
            "mean_w2sq",
            "Expected squared W2 distance to the truth",
            "E[W2^2(N(mu_n, sigma_n^2), N(mu0, sigma0^2))] = " + w2_text,
            w2,
        ),
    ]
    citations = {"mean_w2sq": _CITE + "; divergence of E W2^2 is Thm 3.1's conclusion [SRC]"}
    return [
        result(
            id=f"{base}.{name}",
            title=f"{title} ({est}, replace)",
            statement=statement,
            expr=expr,
            params=_PARAMS if name != "moment_sigma_r" else {**_PARAMS, "r": "moment order"},
            assumptions=_assume(est),
            citation=citations.get(name, _CITE),
            tag=tag,
            kind="exact",
            proof=f"{_PROOF}:prove_{est}_{name}",
            domains=domains(est, name),
            constraints=(_R_CONSTRAINT,) if name == "moment_sigma_r" else (),
        )
        for name, title, statement, expr in rows
    ]


def results() -> list[Result]:
    """The registered 1-D Gaussian replace results."""
    out = _moments("unbiased") + _moments("mle")
    out.append(
        result(
            id="gaussian.replace.unbiased.biased_sampling_mean_sigma2",
            title="Mean fitted variance under variance-shrunk sampling",
            statement=(
                "Sampling from N(mu_t, lam sigma_t^2) (sampling bias lam <= 1) and refitting "
                "with the unbiased estimator gives E[sigma_n^2] = lam^n sigma0^2"
            ),
            expr=lam**n * sigma0**2,
            params={**_PARAMS, "lam": "variance shrink factor of the sampler"},
            assumptions="replace workflow, unbiased variance, synthetic draws N(mu_t, lam sigma_t^2)",
            citation=(
                "derived here (docs/derivations.md, 'Biased sampling'); sampling-bias model after Alemohammad et al., "
                "'Self-Consuming Generative Models Go MAD', ICLR 2024 [ABS]"
            ),
            tag="DER",
            kind="exact",
            proof=f"{_PROOF}:prove_biased_sampling_mean_sigma2",
            domains={**domains("unbiased"), "lam": UNIT_HALF_OPEN},
        )
    )
    return out
