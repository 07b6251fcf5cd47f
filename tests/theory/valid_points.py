"""Valid base points and domain-derived value grids for every registered result (test helper).

``base_point(res)`` is a moderate in-domain point; ``grid(res)`` varies one parameter at a time
over its domain's extreme-but-valid examples (``Domain.examples``) and the usual size/count
pairs jointly, keeping the points that satisfy the result's constraints.
"""

from __future__ import annotations

import itertools
from typing import Any

from collapse_theory.theory import registry
from collapse_theory.theory.domains import ParameterError

BASE: dict[str, Any] = dict(
    M=10, n=5, sigma0=1.0, r=1.0, lam=0.5, eps=0.1, d=3, logdet0=0.0, tr0=3.0, M0=10.0, growth=1.0,
    alpha=0.3, sigma=1.0, nreal=10, kappa=1.0, w=0.5, H0=0.5, q=0.3, p=[0.5, 0.3, 0.2], k=3, theta=1.0,
    x=3, x1=5, x2=3, x3=2, N0=10, t=5, lam0=2.0, T=40, h=0.3, v0=0.98, u=2.0**-24, a=0.5, K=5,
    kappa0=1.0, alpha0=2.0, beta0=1.0, var0=1.0, d0=0.0,
)  # fmt: skip
OVERRIDES: dict[str, dict[str, Any]] = {
    "gaussian.replace.unbiased.prob_sigma2_below_small_eps": {"eps": 1e-5},
    "gaussian.replace.mle.prob_sigma2_below_small_eps": {"eps": 1e-5},
}
PAIRS = (("M", "n"), ("M", "d"), ("T", "d"), ("M0", "n"), ("growth", "n"), ("N0", "t"), ("M", "t"), ("M", "q"))
PAIRS += (("M", "alpha"), ("M", "k"), ("M", "x"), ("M", "eps"), ("n", "eps"), ("M", "r"), ("n", "u"), ("M", "a"))


def base_point(res: registry.Result) -> dict[str, Any]:
    """A moderate valid point of ``res``."""
    return {name: OVERRIDES.get(res.id, {}).get(name, BASE[name]) for name in res.param_names}


def is_valid(res: registry.Result, point: dict[str, Any]) -> bool:
    """Whether ``point`` is in the domain (constraints included)."""
    try:
        registry.check_params(res.id, **point)
    except ParameterError:
        return False
    return True


def _extreme(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) > 100 or min(value) < 1e-9
    magnitude = abs(value)
    return magnitude == 0 or magnitude >= 1e9 or magnitude <= 1e-9 or 0 < abs(magnitude - 1) <= 1e-9


def grid(
    res: registry.Result, pairs: tuple[tuple[str, str], ...] = PAIRS, extremes_only: bool = False
) -> list[dict[str, Any]]:
    """One-at-a-time sweeps over each domain's examples, plus joint sweeps of the given pairs.

    ``extremes_only`` keeps each domain's smallest and largest example and those at
    magnitudes beyond ``1e+-9`` or within ``1e-9`` of 1 (where cancellation happens).
    """
    base = base_point(res)
    doms = res.domain_of

    def examples(name: str) -> list[Any]:
        ex = doms[name].examples()
        return [v for i, v in enumerate(ex) if i in (0, len(ex) - 1) or _extreme(v)] if extremes_only else ex

    points = [dict(base)]
    for name in res.param_names:
        points += [{**base, name: v} for v in examples(name)]
    for a, b in pairs:
        if a in doms and b in doms:
            for va, vb in itertools.product(examples(a), examples(b)):
                points.append({**base, a: va, b: vb})
    if {"x1", "x2", "x3"} <= set(doms):
        for x1, x2, x3 in itertools.product((0, 1, 5, 20), (0, 1, 10), (0, 2, 25)):
            points.append({"M": x1 + x2 + x3, "x1": x1, "x2": x2, "x3": x3})
    seen, out = set(), []
    for pt in points:
        key = repr(sorted(pt.items()))
        if key not in seen and is_valid(res, pt):
            seen.add(key)
            out.append(pt)
    return out
