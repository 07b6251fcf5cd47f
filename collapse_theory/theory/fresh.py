"""Gaussian with fresh real data every generation: stationary errors and optimal weights.

*Fixed split*: each generation pools ``alpha M`` fresh real samples from ``N(mu0, sigma0^2)``
and ``(1-alpha) M`` synthetic samples from ``N(mu_t, sigma_t^2)``, unbiased pooled fit.
*Mixture*: each of the ``M`` samples comes from ``alpha N(mu0, sigma0^2) + (1-alpha)
N(mu_t, sigma_t^2)``. In both, ``e_t = E(mu_t - mu0)^2`` and ``v_t = E sigma_t^2`` follow an
exactly linear recursion whose fixed point is registered. *Weighted estimator*: known sigma,
``mu_{t+1} = w mean(real, nreal) + (1-w) mean(synthetic from N(mu_t, sigma^2), kappa nreal)``.

References:
    He, Xu, Cheng, "Recursive Learning Without Collapse: A Weighting-Based Stabilization
    Framework", arXiv 2502.18049 (optimal weight 1/phi in some cases) [ABS].
    Bertrand et al., "On the Stability of Iterative Retraining ...", ICLR 2024 [ABS].
    Alemohammad et al., "Self-Consuming Generative Models Go MAD", ICLR 2024 [ABS].
    V. S. Borkar, "A theoretical basis for model collapse in recursive training", arXiv 2506.09401
    (any fresh source gives a non-degenerate limit) [ABS].
    Derivations: ``docs/derivations.md``, 'Fresh real data' and 'Biased sampling' [DER, SYM, MC];
    machine-checked in ``proofs/fresh.py``.

"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from fractions import Fraction
from typing import Any

import sympy as sp

from collapse_theory.theory.domains import INT_GE1, POSITIVE, UNIT_HALF_OPEN, Constraint
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, alpha, kappa, lam, nreal, sigma, sigma0, w

__all__ = ["results", "weighted_mse"]

_PROOF = "proofs.fresh"
_CITE = "derived here (docs/derivations.md, 'Fresh real data'); fresh-data loop of Alemohammad et al., ICLR 2024 [ABS]"
_PARAMS = {
    "M": "samples per generation",
    "alpha": "fraction of fresh real data",
    "sigma0": "true standard deviation",
}
_DOMAINS = {"M": INT_GE1, "alpha": UNIT_HALF_OPEN, "sigma0": POSITIVE}
_BIAS_DOMAINS = {**_DOMAINS, "lam": UNIT_HALF_OPEN}
_W_DOMAINS = {"sigma": POSITIVE, "nreal": INT_GE1, "kappa": POSITIVE}


def _split_d(v: Mapping[str, Any]) -> Any:
    return v["M"] * v["alpha"] * (2 - v["alpha"]) - 1


def _biased_d(v: Mapping[str, Any]) -> Any:
    a, lam, size = v["alpha"], v["lam"], v["M"]
    return (1 - lam * (1 - a)) * ((2 - a) * size - 1) - (1 - a)


# Exact rational arithmetic on the (binary) inputs decides the sign of each denominator.
_SPLIT = Constraint(
    "M alpha (2 - alpha) > 1 (stationary: at least one real sample)",
    lambda v: _exact(_split_d, v) > 0,
    ("M", "alpha"),
)
_BIASED = Constraint(
    "D = (1 - lam (1 - alpha)) ((2 - alpha) M - 1) - (1 - alpha) > 0 (stationary)",
    lambda v: _exact(_biased_d, v) > 0,
    ("M", "alpha", "lam"),
)
_MIXTURE = Constraint(
    "M alpha (2 - alpha) > 1 - alpha (stationary)",
    lambda v: _exact(lambda w: w["M"] * w["alpha"] * (2 - w["alpha"]) - 1 + w["alpha"], v) > 0,
    ("M", "alpha"),
)


def _exact(fn: Callable[[Mapping[str, Any]], Any], values: Mapping[str, Any]) -> Fraction:
    return fn({k: Fraction(v) for k, v in values.items()})


_W_PARAMS = {
    "sigma": "known standard deviation",
    "nreal": "fresh real samples per step",
    "kappa": "synthetic-to-real sample ratio m/n",
}
_W_CITE = (
    "derived here (docs/derivations.md, 'Fresh real data'); weighting scheme of He, Xu, Cheng, "
    "arXiv 2502.18049 (whether this is their 'unified expression' is not verified) [ABS]"
)
_BIAS_CITE = (
    "derived here (docs/derivations.md, 'Biased sampling'; recursion solved symbolically, not MC-checked "
    "when derived); sampling-bias model after Alemohammad et al., 'Self-Consuming Generative Models Go MAD', "
    "ICLR 2024 [ABS]"
)


def weighted_mse(weight: sp.Expr = w) -> sp.Expr:
    """Stationary MSE ``(sigma^2/nreal) [w^2 + (1-w)^2/kappa] / [1 - (1-w)^2]``."""
    return sigma**2 / nreal * (weight**2 + (1 - weight) ** 2 / kappa) / (1 - (1 - weight) ** 2)


def _split() -> list[Result]:
    den = M * alpha * (2 - alpha) - 1
    shrink = 1 - lam * (1 - alpha)
    den_b = shrink * ((2 - alpha) * M - 1) - (1 - alpha)
    assume = "fixed split: alpha M real + (1-alpha) M synthetic, pooled unbiased fit"
    stable = "; stationary iff M alpha (2 - alpha) > 1 (at least one real sample)"
    lam_param = {"lam": "variance shrink factor of the synthetic sampler"}
    return [
        result(
            id="fresh.split.e_star",
            title="Stationary mean error, fresh-data split",
            statement="e* = lim E(mu_t - mu0)^2 = sigma0^2 (M-1) / (M [M alpha (2-alpha) - 1])",
            expr=sigma0**2 * (M - 1) / (M * den),
            params=_PARAMS,
            assumptions=assume + stable,
            citation=_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_split_e_star",
            domains=_DOMAINS,
            constraints=(_SPLIT,),
        ),
        result(
            id="fresh.split.v_star",
            title="Stationary fitted variance, fresh-data split",
            statement=(
                "v* = lim E sigma_t^2 = sigma0^2 alpha (2M - 1 - M alpha) / (M alpha (2-alpha) "
                "- 1); v* = 2 sigma0^2 at alpha = 1/M (variance inflation)"
            ),
            expr=sigma0**2 * alpha * (2 * M - 1 - M * alpha) / den,
            params=_PARAMS,
            assumptions=assume + stable,
            citation=_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_split_v_star",
            domains=_DOMAINS,
            constraints=(_SPLIT,),
        ),
        result(
            id="fresh.split.biased.e_star",
            title="Stationary mean error, fresh-data split with biased sampling",
            statement=(
                "With synthetic draws from N(mu_t, lam sigma_t^2): e* = sigma0^2 (M-1)/(M D), "
                "D = (1 - lam(1-alpha)) ((2-alpha) M - 1) - (1-alpha)"
            ),
            expr=sigma0**2 * (M - 1) / (M * den_b),
            params={**_PARAMS, **lam_param},
            assumptions=assume + ", synthetic variance shrunk by lam; stationary iff D > 0",
            citation=_BIAS_CITE,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_split_biased_e_star",
            domains=_BIAS_DOMAINS,
            constraints=(_BIASED,),
        ),
        result(
            id="fresh.split.biased.v_star",
            title="Stationary fitted variance, fresh-data split with biased sampling",
            statement=(
                "v* = sigma0^2 alpha (2M - 1 - M alpha) / D, D as for e*: for lam < 1 a "
                "permanent diversity loss even with fresh data"
            ),
            expr=sigma0**2 * alpha * (2 * M - 1 - M * alpha) / den_b,
            params={**_PARAMS, **lam_param},
            assumptions=assume + ", synthetic variance shrunk by lam; stationary iff D > 0",
            citation=_BIAS_CITE,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_split_biased_v_star",
            domains=_BIAS_DOMAINS,
            constraints=(_BIASED,),
        ),
    ]


def _mixture() -> list[Result]:
    den = M * alpha * (2 - alpha) + alpha - 1
    assume = (
        "mixture: M i.i.d. draws from alpha N(mu0, sigma0^2) + (1-alpha) N(mu_t, sigma_t^2), "
        "unbiased fit; stationary iff M alpha (2 - alpha) > 1 - alpha"
    )
    cite = (
        "derived here (docs/derivations.md, 'Fresh real data'; the mixture-sampling analogue of the fixed "
        "split, not MC-checked when derived)"
    )
    return [
        result(
            id="fresh.mixture.e_star",
            title="Stationary mean error, fresh-data mixture",
            statement="e* = sigma0^2 / (M alpha (2-alpha) + alpha - 1)",
            expr=sigma0**2 / den,
            params=_PARAMS,
            assumptions=assume,
            citation=cite,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_mixture_e_star",
            domains=_DOMAINS,
            constraints=(_MIXTURE,),
        ),
        result(
            id="fresh.mixture.v_star",
            title="Stationary fitted variance, fresh-data mixture",
            statement="v* = sigma0^2 + (1-alpha) e* = sigma0^2 M alpha (2-alpha) / (M alpha (2-alpha) + alpha - 1)",
            expr=sigma0**2 * M * alpha * (2 - alpha) / den,
            params=_PARAMS,
            assumptions=assume,
            citation=cite,
            tag="DER, SYM",
            kind="limit",
            proof=f"{_PROOF}:prove_mixture_v_star",
            domains=_DOMAINS,
            constraints=(_MIXTURE,),
        ),
    ]


def _weighted() -> list[Result]:
    wstar = (sp.sqrt(1 + 4 * kappa) - 1) / (2 * kappa)
    assume = "known sigma; nreal fresh real and kappa nreal synthetic samples per step"
    return [
        result(
            id="fresh.weighted.stationary_mse",
            title="Stationary MSE of the weighted real/synthetic mean",
            statement="MSE(w) = (sigma^2/nreal) [w^2 + (1-w)^2/kappa] / [1 - (1-w)^2]",
            expr=weighted_mse(),
            params={**_W_PARAMS, "w": "weight on the real-data mean"},
            domains={**_W_DOMAINS, "w": UNIT_HALF_OPEN},
            assumptions=assume,
            citation=_W_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_weighted_stationary_mse",
        ),
        result(
            id="fresh.weighted.optimal_weight",
            title="Optimal real-data weight",
            statement="w*(kappa) = (sqrt(1 + 4 kappa) - 1)/(2 kappa); w*(1) = 1/phi = 0.618...",
            expr=wstar,
            params={"kappa": _W_PARAMS["kappa"]},
            domains={"kappa": POSITIVE},
            assumptions=assume,
            citation=_W_CITE,
            tag="DER, SYM, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_weighted_optimal_weight",
        ),
        result(
            id="fresh.weighted.optimal_mse",
            title="Stationary MSE at the optimal weight",
            statement="MSE(w*) = w*(kappa) sigma^2 / nreal; at kappa = 1 it is sigma^2/(phi nreal)",
            expr=wstar * sigma**2 / nreal,
            params=_W_PARAMS,
            domains=_W_DOMAINS,
            assumptions=assume,
            citation=_W_CITE,
            tag="DER, SYM, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_weighted_optimal_mse",
        ),
    ]


def results() -> list[Result]:
    """The registered fresh-data results."""
    return _split() + _mixture() + _weighted()
