"""Proofs of the fresh-data results (``collapse_theory.theory.fresh``).

The one-step moment recursions are derived from normal moments (:func:`expectation`), the
pooled sum-of-squares decomposition (checked as a polynomial identity) and the chi-square mean;
the registered stationary values must solve the resulting linear fixed-point equations.
"""

from __future__ import annotations

import functools

import sympy as sp

from collapse_theory.theory.symbols import M, alpha, kappa, lam, nreal, sigma, sigma0, w
from proofs._core import Steps, expr_of, proves
from proofs._lemmas import chi2_mellin, expectation

_E, _V = sp.symbols("e_t v_t", positive=True)
_D, _SD = sp.symbols("dev sd", real=True)
_Z = sp.symbols("z1 z2", real=True)


def _pooled_identity() -> bool:
    """``SS_pooled = SS_1 + SS_2 + n1 n2/(n1+n2) (mean_1 - mean_2)^2`` for n1 = 2, n2 = 3."""
    xs = sp.symbols("x0:2", real=True)
    ys = sp.symbols("y0:3", real=True)
    pts = xs + ys
    mean = lambda v: sp.Add(*v) / len(v)  # noqa: E731
    ss = lambda v: sum((a - mean(v)) ** 2 for a in v)  # noqa: E731
    rhs = ss(xs) + ss(ys) + sp.Rational(2 * 3, 5) * (mean(xs) - mean(ys)) ** 2
    return sp.expand(ss(pts) - rhs) == 0


@functools.cache
def _split_recursion(shrink: sp.Expr) -> tuple[sp.Expr, sp.Expr]:
    """``(e_{t+1}, v_{t+1})`` for the fixed split with synthetic variance ``shrink * sigma_t^2``."""
    n_r, n_s = alpha * M, (1 - alpha) * M
    real_mean = sigma0 * _Z[0] / sp.sqrt(n_r)  # minus mu0
    syn_mean = _D + _SD * sp.sqrt(shrink) * _Z[1] / sp.sqrt(n_s)  # minus mu0
    moments = {_D**2: _E, _SD**2: _V}
    e_next = expectation((alpha * real_mean + (1 - alpha) * syn_mean) ** 2, _Z, moments)
    chi_mean = chi2_mellin(1, sp.Symbol("k_ss", positive=True)).subs(sp.Symbol("k_ss", positive=True), 1)
    ss_real = (n_r - 1) * sigma0**2 * chi_mean  # E chi2_k = k
    ss_syn = (n_s - 1) * shrink * _V
    between = n_r * n_s / M * expectation((real_mean - syn_mean) ** 2, _Z, moments)
    v_next = sp.expand((ss_real + ss_syn + between) / (M - 1))
    return sp.expand(e_next), v_next


def _fixed_point(e_next: sp.Expr, v_next: sp.Expr) -> dict:
    sol = sp.solve([sp.Eq(_E, e_next), sp.Eq(_V, v_next)], [_E, _V], dict=True)
    return sol[0]


def _split_body(name: str, shrink: sp.Expr):
    rid = f"fresh.split.{name}" if shrink == 1 else f"fresh.split.biased.{name}"

    def body(steps: Steps) -> None:
        steps.check(
            "chi-square mean E chi2_k = k (Mellin at s = 1)",
            sp.gammasimp(chi2_mellin(1, sp.Symbol("k", positive=True))) == sp.Symbol("k", positive=True),
        )
        steps.check("pooled SS = within + between (polynomial identity, 2 + 3 points)", _pooled_identity())
        e_next, v_next = _split_recursion(shrink)
        if shrink == 1:
            steps.equal(
                "e recursion = stated form (docs/derivations.md)",
                e_next,
                (1 - alpha) ** 2 * _E + (alpha * sigma0**2 + (1 - alpha) * _V) / M,
            )
            steps.equal(
                "v recursion = stated form (docs/derivations.md)",
                v_next,
                alpha * sigma0**2 + (1 - alpha) * _V + alpha * (1 - alpha) * M * _E / (M - 1),
            )
        sol = _fixed_point(e_next, v_next)
        target = _E if name == "e_star" else _V
        steps.equal(f"registry solves the fixed point for {target}", expr_of(rid), sol[target])
        if shrink == 1:
            special = expr_of(rid).subs(alpha, 1 / M)
            steps.equal("alpha = 1/M special value", special, sigma0**2 if name == "e_star" else 2 * sigma0**2)

    method = (
        "moment recursion derived (normal moments, pooled-SS identity, chi-square mean); fixed point by sympy.solve"
    )
    return proves(rid, method)(body)


prove_split_e_star = _split_body("e_star", sp.Integer(1))
prove_split_v_star = _split_body("v_star", sp.Integer(1))
prove_split_biased_e_star = _split_body("e_star", lam)
prove_split_biased_v_star = _split_body("v_star", lam)


@functools.cache
def _mixture_recursion() -> tuple[sp.Expr, sp.Expr]:
    b = sp.Symbol("bern", real=True)  # Bernoulli(alpha) indicator: E b^k = alpha, k >= 1
    x = b * sigma0 * _Z[0] + (1 - b) * (_D + _SD * _Z[1])  # one draw minus mu0

    def e_bern(expr: sp.Expr) -> sp.Expr:
        poly = sp.Poly(sp.expand(expr), b)
        return sp.expand(sum(c * (alpha if p[0] > 0 else 1) for p, c in poly.terms()))

    first = e_bern(expectation(x, _Z))
    second = e_bern(expectation(x**2, _Z))
    var = sp.expand(second - first**2)
    moments = {_D**2: _E, _SD**2: _V}
    e_next = sp.expand(sp.expand(first**2 + var / M).subs(moments))
    v_next = sp.expand(var.subs(moments))  # unbiased sample variance has mean Var
    return e_next, v_next


def _mixture_body(name: str):
    rid = f"fresh.mixture.{name}"

    def body(steps: Steps) -> None:
        e_next, v_next = _mixture_recursion()
        steps.equal(
            "mixture variance = alpha sigma0^2 + (1-alpha) sigma_t^2 + alpha(1-alpha) dev^2",
            v_next,
            alpha * sigma0**2 + (1 - alpha) * _V + alpha * (1 - alpha) * _E,
        )
        sol = _fixed_point(e_next, v_next)
        target = _E if name == "e_star" else _V
        steps.equal(f"registry solves the fixed point for {target}", expr_of(rid), sol[target])

    return proves(
        rid, "moment recursion of i.i.d. mixture draws (normal + Bernoulli moments); fixed point by sympy.solve"
    )(body)


prove_mixture_e_star = _mixture_body("e_star")
prove_mixture_v_star = _mixture_body("v_star")


@functools.cache
def _weighted_mse_derived() -> sp.Expr:
    m_syn = kappa * nreal
    err = w * sigma * _Z[0] / sp.sqrt(nreal) + (1 - w) * (_D + sigma * _Z[1] / sp.sqrt(m_syn))
    e_next = expectation(err**2, _Z, {_D**2: _E})
    return sp.solve(sp.Eq(_E, e_next), _E)[0]


@functools.cache
def _optimal_weight_derived() -> sp.Expr:
    mse = _weighted_mse_derived()
    num = sp.numer(sp.together(sp.diff(mse, w)))
    roots = sp.solve(num, w)
    positive = [r for r in roots if r.subs(kappa, 1).is_positive]
    return positive[0]


@proves("fresh.weighted.stationary_mse", "error recursion from normal moments; fixed point by sympy.solve")
def prove_weighted_stationary_mse(steps: Steps) -> None:
    steps.equal(
        "registry = fixed point of e = w^2 s^2/n + (1-w)^2 (e + s^2/m)",
        expr_of("fresh.weighted.stationary_mse"),
        _weighted_mse_derived(),
    )


@proves(
    "fresh.weighted.optimal_weight",
    "stationarity d MSE/dw = 0 solved with sympy; second-order condition checked at sample kappa",
)
def prove_weighted_optimal_weight(steps: Steps) -> None:
    wstar = _optimal_weight_derived()
    expr = expr_of("fresh.weighted.optimal_weight")
    steps.equal("registry = positive root of the stationarity equation", expr, wstar, simplify=True)
    steps.equal("w*(1) = 1/phi", expr.subs(kappa, 1), 2 / (1 + sp.sqrt(5)), simplify=True)
    second = sp.diff(_weighted_mse_derived(), w, 2)
    ok = all(
        second.subs({w: expr.subs(kappa, kv), kappa: kv, sigma: 1, nreal: 1}).evalf() > 0
        for kv in (sp.Rational(1, 4), 1, 4, 100)
    )
    steps.check("d^2 MSE/dw^2 > 0 at w* for kappa in {1/4, 1, 4, 100}", ok)


@proves("fresh.weighted.optimal_mse", "substitution of the derived w* into the derived MSE (symbolic)")
def prove_weighted_optimal_mse(steps: Steps) -> None:
    value = _weighted_mse_derived().subs(w, _optimal_weight_derived())
    steps.equal("registry = MSE(w*)", expr_of("fresh.weighted.optimal_mse"), value, simplify=True)
