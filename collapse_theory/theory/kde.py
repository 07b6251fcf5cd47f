"""Gaussian kernel density estimate refitted on its own samples (workflow *replace*).

Sampling ``M`` points from a Gaussian KDE with bandwidth ``h`` is bootstrap resampling of the
current points plus ``N(0, h^2)`` noise. For the MLE spread ``v_t = (1/M) sum (x_i - mean)^2``:
``E v_{t+1} = (1 - 1/M)(E v_t + h^2)``, so the spread drifts to ``(M-1) h^2`` instead of
collapsing, while the mean random-walks.

References:
    Kazdan et al., "Collapse or Thrive?", arXiv 2410.16713 (KDE setting; no closed forms
    retrieved) [ABS].
    Derivations: ``docs/derivations.md``, 'KDE' [DER, MC]; machine-checked in ``proofs/kde.py``.

"""

from __future__ import annotations

from collapse_theory.theory.domains import INT_GE0, INT_GE1, NONNEG, POSITIVE
from collapse_theory.theory.registry import Result, result
from collapse_theory.theory.symbols import M, h, t, v0

__all__ = ["results"]

_PROOF = "proofs.kde"
_CITE = "derived here (docs/derivations.md, 'KDE'); KDE setting of Kazdan et al., arXiv 2410.16713 [ABS]"
_ASSUME = "replace workflow, Gaussian KDE with fixed bandwidth h, M points per generation"
_PARAMS = {
    "M": "points per generation",
    "h": "kernel bandwidth",
    "v0": "MLE spread of the initial M points",
    "t": "generation",
}
_DOMAINS = {"M": INT_GE1, "h": POSITIVE, "v0": NONNEG, "t": INT_GE0}


def results() -> list[Result]:
    """The registered KDE results."""
    a = 1 - 1 / M
    return [
        result(
            id="kde.replace.mean_spread",
            title="Mean spread of the KDE chain",
            statement="E v_t = a^t v0 + h^2 a (1 - a^t)/(1 - a), a = 1 - 1/M",
            expr=a**t * v0 + h**2 * a * (1 - a**t) / (1 - a),
            params=_PARAMS,
            domains=_DOMAINS,
            assumptions=_ASSUME,
            citation=_CITE,
            tag="DER, MC",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_spread",
        ),
        result(
            id="kde.replace.spread_fixed_point",
            title="Limit of the KDE spread",
            statement="lim E v_t = v* = (M - 1) h^2 (no collapse; can be far from sigma0^2)",
            expr=(M - 1) * h**2,
            params={"M": _PARAMS["M"], "h": _PARAMS["h"]},
            domains={"M": INT_GE1, "h": POSITIVE},
            assumptions=_ASSUME + "; t -> infinity",
            citation=_CITE,
            tag="DER, MC",
            kind="limit",
            proof=f"{_PROOF}:prove_spread_fixed_point",
        ),
        result(
            id="kde.replace.mean_sq_mean_drift",
            title="Mean squared drift of the KDE sample mean",
            statement=("E(mean_t - mean_0)^2 = t h^2 + (1 - a^t)(v0 - (M-1) h^2): the mean random-walks"),
            expr=t * h**2 + (1 - a**t) * (v0 - (M - 1) * h**2),
            params=_PARAMS,
            domains=_DOMAINS,
            assumptions=_ASSUME,
            citation="derived here (docs/derivations.md, 'KDE') from the spread recursion (not MC-checked when derived)",
            tag="DER, SYM",
            kind="exact",
            proof=f"{_PROOF}:prove_mean_sq_mean_drift",
        ),
    ]
