"""Proofs of the regression results (``collapse_theory.theory.regression``).

With ``A = (X^T X)^{-1} X^T`` (checked: ``A X = I`` and ``A A^T = (X^T X)^{-1}`` for a symbolic
3 x 2 design), the fitted parameters are linear in the label noises; the error is
``sigma^2 E tr(Sigma (X^T X)^{-1})`` times a sum of squared coefficients. The inverse-Wishart
trace ``d/(T-d-1)`` is derived for ``d = 1, 2, 3`` from Bartlett's decomposition (cited) and
``E[1/chi2_nu] = 1/(nu-2)`` (chi-square Mellin transform at ``s = -1``).
"""

from __future__ import annotations

import functools

import sympy as sp

from collapse_theory.theory.symbols import T, d, i, n, sigma
from proofs._core import Steps, expr_of, proves, unroll
from proofs._lemmas import chi2_mellin, expectation

_N_MAX = 8


@functools.cache
def _projection_checks() -> bool:
    x = sp.Matrix(3, 2, sp.symbols("x0:6", real=True))
    gram_inv = (x.T * x).inv()
    a = gram_inv * x.T
    return sp.simplify(a * x - sp.eye(2)) == sp.zeros(2) and sp.simplify(a * a.T - gram_inv) == sp.zeros(2)


def _coefficients(workflow: str, gens: int) -> list[sp.Expr]:
    """Coefficients of ``delta_i = A E_i`` in ``w_n - w*`` from the fitting recursion."""
    deltas = sp.symbols(f"delta1:{gens + 1}", real=True)
    fits = [sp.Integer(0)]  # w_0 - w* = 0: the true labels' generator
    for step in range(1, gens + 1):
        if workflow == "replace":
            fits.append(fits[-1] + deltas[step - 1])  # A (X w_{i-1} + E_i) = w_{i-1} + A E_i
        else:
            # OLS on all label sets with the same design: the mean of A Y_i over i <= n.
            fits.append(sp.Add(*[fits[s] + deltas[s] for s in range(step)]) / step)
    final = sp.expand(fits[-1])
    return [final.coeff(dlt) for dlt in deltas]


def _trace_lemma_ok() -> bool:
    nu = sp.Symbol("nu", positive=True)
    return sp.simplify(sp.gammasimp(chi2_mellin(-1, nu)) - 1 / (nu - 2)) == 0


@proves(
    "regression.replace.test_error",
    "fit recursion w_i = w_{i-1} + A E_i (A X = I, symbolic); independent noises; inverse-Wishart trace",
)
def prove_replace_test_error(steps: Steps) -> None:
    steps.check("A X = I and A A^T = (X^T X)^{-1} (symbolic 3 x 2 design)", _projection_checks())
    base = sigma**2 * d / (T - d - 1)
    f = expr_of("regression.replace.test_error")
    for gens in range(1, _N_MAX + 1):
        coeffs = _coefficients("replace", gens)
        steps.equal(
            f"n = {gens}: sum of squared coefficients times base error",
            f.subs(n, gens),
            base * sum(c**2 for c in coeffs),
        )


@proves(
    "regression.accumulate.test_error",
    "accumulated OLS = mean of per-set fits; coefficients 1/i derived for n = 1..8 (symbolic); independent noises",
)
def prove_accumulate_test_error(steps: Steps) -> None:
    steps.check("A X = I and A A^T = (X^T X)^{-1} (symbolic 3 x 2 design)", _projection_checks())
    base = sigma**2 * d / (T - d - 1)
    f = expr_of("regression.accumulate.test_error")
    for gens in range(1, _N_MAX + 1):
        coeffs = _coefficients("accumulate", gens)
        ok = all(sp.simplify(c - sp.Rational(1, idx + 1)) == 0 for idx, c in enumerate(coeffs))
        steps.check(f"n = {gens}: w_n - w* = sum_i A E_i / i", ok)
        steps.equal(f"n = {gens}: error = base sum 1/i^2", unroll(f.subs(n, gens)), base * sum(c**2 for c in coeffs))


@proves("regression.accumulate.bound", "partial sums of 1/i^2 increase to pi^2/6 (sympy summation)")
def prove_accumulate_bound(steps: Steps) -> None:
    basel = sp.summation(1 / i**2, (i, 1, sp.oo))
    steps.equal("sum 1/i^2 = pi^2/6", basel, sp.pi**2 / 6)
    steps.equal("bound = base * pi^2/6", expr_of("regression.accumulate.bound"), sigma**2 * d / (T - d - 1) * basel)


@proves(
    "regression.inverse_wishart_trace",
    "Bartlett decomposition (cited) + E[1/chi2_nu] = 1/(nu-2) from the Mellin transform; symbolic for d = 1, 2, 3",
)
def prove_inverse_wishart_trace(steps: Steps) -> None:
    steps.check("E[1/chi2_nu] = 1/(nu - 2)", _trace_lemma_ok())
    expr = expr_of("regression.inverse_wishart_trace")
    for dim in (1, 2, 3):
        diag = sp.symbols(f"c1:{dim + 1}", positive=True)
        off = sp.symbols(f"b1:{dim * (dim - 1) // 2 + 1}", real=True)
        low = sp.zeros(dim)
        it = iter(off)
        for r in range(dim):
            low[r, r] = diag[r]
            for c in range(r):
                low[r, c] = next(it)
        inv = low.inv()
        frob = sp.expand(sum(v**2 for v in inv))  # tr(W^{-1}) = ||L^{-1}||_F^2
        mean_off = expectation(frob, tuple(off)) if off else frob
        # L_jj^2 ~ chi2_{T-j+1}; each diagonal enters as c_j^-2 at most (checked by the substitution).
        inv_sq = {diag[r] ** -2: 1 / (T - r - 2) for r in range(dim)}  # nu = T - r
        mean = sp.expand(mean_off).subs(inv_sq)
        steps.check(f"d = {dim}: only c_j^-2 terms remain before substitution", not mean.has(*diag))
        steps.equal(f"d = {dim}: E tr W^-1 = d/(T-d-1)", mean, expr.subs(d, dim))
