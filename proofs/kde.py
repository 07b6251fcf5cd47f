"""Proofs of the KDE results (``collapse_theory.theory.kde``).

One generation: draw ``M`` points from the KDE (equal-weight mixture of ``N(x_i, h^2)``). Its
variance is ``v + h^2`` (law of total variance, checked for 3 centres); the MLE spread of ``M``
i.i.d. draws has mean ``(1 - 1/M)`` times the variance (normal-moment algebra); the sample
mean moves by a martingale increment of variance ``(v_t + h^2)/M``.
"""

from __future__ import annotations

import functools

import sympy as sp

from collapse_theory.theory.symbols import M, h, t, v0
from proofs._core import Steps, expr_of, proves

_A = 1 - 1 / M


@functools.cache
def _kde_variance_ok() -> bool:
    xs = sp.symbols("x0:3", real=True)
    mean = sp.Add(*xs) / 3
    second = sp.Add(*[x**2 + h**2 for x in xs]) / 3
    spread = sp.Add(*[(x - mean) ** 2 for x in xs]) / 3
    return sp.expand(second - mean**2 - (spread + h**2)) == 0


def _spread_factor(size: int) -> sp.Expr:
    """``E[(1/M) sum (X - mean)^2] / sigma^2`` for ``size`` i.i.d. ``N(mu, sigma^2)``, by expansion."""
    z = sp.symbols(f"z0:{size}", real=True)
    mean = sp.Add(*z) / size
    from proofs._lemmas import expectation

    return expectation(sp.Add(*[(zz - mean) ** 2 for zz in z]) / size, z)


@functools.cache
def _spread_solution() -> sp.Expr:
    f = sp.Function("f")
    sol = sp.rsolve(f(t + 1) - _A * (f(t) + h**2), f(t), {f(0): v0})
    return sol


def _recursion_checks(steps: Steps) -> None:
    steps.check("KDE variance = spread + h^2 (3 centres, symbolic)", _kde_variance_ok())
    ok = all(sp.simplify(_spread_factor(s) - sp.Rational(s - 1, s)) == 0 for s in (2, 3, 4, 5))
    steps.check(
        "E MLE spread = (1 - 1/M) Var for M = 2..5 (quadratic: only first two moments enter, any i.i.d. law)", ok
    )


@proves("kde.replace.mean_spread", "recursion E v_{t+1} = (1 - 1/M)(E v_t + h^2) derived; induction (symbolic)")
def prove_mean_spread(steps: Steps) -> None:
    _recursion_checks(steps)
    f = expr_of("kde.replace.mean_spread")
    steps.equal("f(0) = v0", f.subs(t, 0), v0)
    steps.equal("f(t+1) = (1 - 1/M)(f(t) + h^2)", f.subs(t, t + 1), _A * (f + h**2))


@proves(
    "kde.replace.spread_fixed_point",
    "fixed point of the derived recursion (sympy.solve) and limit of its rsolve solution",
)
def prove_spread_fixed_point(steps: Steps) -> None:
    _recursion_checks(steps)
    vv = sp.Symbol("v_fp", positive=True)
    fixed = sp.solve(sp.Eq(vv, _A * (vv + h**2)), vv)[0]
    steps.equal("registry = fixed point", expr_of("kde.replace.spread_fixed_point"), fixed)
    sol = _spread_solution()
    lim = sp.limit(sol.subs(M, 50), t, sp.oo)
    steps.equal("rsolve solution tends to it (M = 50)", lim, fixed.subs(M, 50))


@proves(
    "kde.replace.mean_sq_mean_drift",
    "martingale increments of variance (E v_t + h^2)/M with E v_t from rsolve; induction (symbolic)",
)
def prove_mean_sq_mean_drift(steps: Steps) -> None:
    _recursion_checks(steps)
    spread = _spread_solution()
    f = expr_of("kde.replace.mean_sq_mean_drift")
    steps.equal("f(0) = 0", f.subs(t, 0), 0)
    steps.equal("f(t+1) - f(t) = (E v_t + h^2)/M", f.subs(t, t + 1) - f, (spread + h**2) / M)
