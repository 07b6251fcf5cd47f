"""Proofs for growing sample sizes (``collapse_theory.theory.schedules``).

With sample size ``M_i`` in generation ``i``: ``E sigma_{i+1} = c4(M_i) E sigma_i`` (chi-square
Mellin transform at ``s = 1/2``), ``E sigma_i^2 = sigma0^2`` and
``E(mu_{i+1}-mu0)^2 = E(mu_i-mu0)^2 + sigma0^2/M_i``; these recursions are unrolled for
``n = 1..5`` with symbolic ``M0`` and ``growth`` and compared with the registered sums and
products. The bounds use ``0 <= 1 - c4(M) <= 1/M`` (Wendel, proved in
``proofs.gaussian_series``) and ``1 - prod x_i <= sum (1 - x_i)`` for ``x_i in [0, 1]``.
"""

from __future__ import annotations

import sympy as sp

from collapse_theory.theory.symbols import M0, growth, n, sigma0
from proofs._core import Steps, expr_of, numeric_of, proves, unroll
from proofs._lemmas import chi2_mellin

_NS = (1, 2, 3, 5)


def _size(i: int) -> sp.Expr:
    return M0 * sp.Integer(i + 1) ** growth


def _mean_sd_ratio(size: sp.Expr) -> sp.Expr:
    """``E[s]/sigma`` for an unbiased fit on ``size`` samples (Mellin transform at 1/2)."""
    return (1 / (size - 1)) ** sp.Rational(1, 2) * chi2_mellin(sp.Rational(1, 2), size - 1)


def _unrolled(gens: int) -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    """``(E(mu-mu0)^2, E sigma, E W2^2)`` after ``gens`` generations, from the recursions."""
    err, mean_sd = sp.Integer(0), sigma0
    for i in range(gens):
        err += sigma0**2 / _size(i)
        mean_sd *= _mean_sd_ratio(_size(i))
    w2 = err + sigma0**2 - 2 * sigma0 * mean_sd + sigma0**2
    return err, mean_sd, w2


def _compare(steps: Steps, rid: str, which: int, scale: sp.Expr = sp.Integer(1)) -> None:
    expr = expr_of(rid)
    for gens in _NS:
        derived = scale * _unrolled(gens)[which]
        steps.equal(f"n = {gens}: registry = unrolled recursion", unroll(expr.subs(n, gens)), derived)


@proves("schedules.power.mean_w2sq", "recursions unrolled for n = 1, 2, 3, 5 with symbolic M0, growth (symbolic)")
def prove_mean_w2sq(steps: Steps) -> None:
    _compare(steps, "schedules.power.mean_w2sq", 2)


@proves("schedules.power.mean_sq_mean_error", "recursion unrolled for n = 1, 2, 3, 5 (symbolic)")
def prove_mean_sq_mean_error(steps: Steps) -> None:
    _compare(steps, "schedules.power.mean_sq_mean_error", 0)


@proves("schedules.power.mean_sigma", "recursion E sigma_{i+1} = c4(M_i) E sigma_i unrolled (symbolic)")
def prove_mean_sigma(steps: Steps) -> None:
    _compare(steps, "schedules.power.mean_sigma", 1)


@proves(
    "schedules.power.w2sq_lower_bound",
    "E W2^2 - sigma0^2 S_n = 2 sigma0^2 (1 - prod c4) >= 0 since 0 < c4 <= 1 (symbolic + numerical check)",
)
def prove_w2sq_lower_bound(steps: Steps) -> None:
    _compare(steps, "schedules.power.w2sq_lower_bound", 0)
    exact, bound = numeric_of("schedules.power.mean_w2sq"), numeric_of("schedules.power.w2sq_lower_bound")
    pts = [(2.0, 0.0, 30), (10.0, 1.0, 200), (10.0, 2.0, 50), (3.0, 0.5, 100)]
    steps.numeric = True
    steps.check(
        "exact >= bound on sample schedules",
        all(exact(M0=a, growth=g, n=k, sigma0=1.0) >= bound(M0=a, growth=g, n=k, sigma0=1.0) for a, g, k in pts),
    )


@proves(
    "schedules.power.w2sq_upper_bound",
    "Weierstrass product inequality (induction step symbolic) + 1 - c4(M) <= 1/M (Wendel)",
)
def prove_w2sq_upper_bound(steps: Steps) -> None:
    x, y = sp.symbols("x y", nonnegative=True)
    steps.check(
        "induction step: (1-x) + (1-y) - (1 - x y) = (1-x)(1-y) >= 0 on [0,1]^2",
        sp.expand((1 - x) + (1 - y) - (1 - x * y) - (1 - x) * (1 - y)) == 0,
    )
    _compare(steps, "schedules.power.w2sq_upper_bound", 0, scale=sp.Integer(3))
    exact, bound = numeric_of("schedules.power.mean_w2sq"), numeric_of("schedules.power.w2sq_upper_bound")
    pts = [(2.0, 0.0, 30), (10.0, 1.0, 200), (10.0, 2.0, 50), (1.5, 0.0, 10)]
    steps.numeric = True
    steps.check(
        "exact <= bound on sample schedules",
        all(exact(M0=a, growth=g, n=k, sigma0=1.0) <= bound(M0=a, growth=g, n=k, sigma0=1.0) for a, g, k in pts),
    )


@proves(
    "schedules.power.w2sq_leading_order",
    "series in 1/M0 of the unrolled exact form (n = 3, growth = 1 and 2) via the log-Gamma series",
)
def prove_w2sq_leading_order(steps: Steps) -> None:
    e = sp.Symbol("e_inv", positive=True)
    big = sp.Symbol("M_big", positive=True)
    log_c4 = sp.log(2 / (big - 1)) / 2 + sp.loggamma(big / 2) - sp.loggamma((big - 1) / 2)
    log_c4_series = sp.expand_log(sp.series(log_c4, big, sp.oo, 3).removeO(), force=True)
    approx = expr_of("schedules.power.w2sq_leading_order")
    for g in (1, 2):
        gens = 3
        sizes = [sp.Integer(i + 1) ** g / e for i in range(gens)]
        log_prod = sum(log_c4_series.subs(big, s_) for s_ in sizes)
        exact = sum(1 / s_ for s_ in sizes) + 2 * (1 - sp.exp(log_prod))
        ser = sp.series(exact, e, 0, 2).removeO()
        lead = unroll((approx / sigma0**2).subs({growth: g, n: gens})).subs(M0, 1 / e)
        diff = sp.expand(ser - lead)
        steps.check(f"growth = {g}: exact - approx = O(1/M0^2)", diff == 0, str(diff))
