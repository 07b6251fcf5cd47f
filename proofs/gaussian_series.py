"""Proofs of the large-M expansions and the c4 bound (``collapse_theory.theory.gaussian_series``).

Expansions use the asymptotic series of ``log Gamma`` and ``psi`` at infinity (sympy's
``series(..., M, oo)``); each registered approximation must equal the exact form up to the
stated order, i.e. ``exact - approx = O(next order)``.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from collapse_theory.theory.gaussian import c4
from collapse_theory.theory.symbols import M, n, sigma0
from proofs._core import Steps, expr_of, is_zero, proves
from proofs._lemmas import chi2_mellin, log_moments

_E = sp.Symbol("e_inv", positive=True)  # 1/M


def _c4_derived() -> sp.Expr:
    """``E[s]/sigma`` for the unbiased ``s``: ``E[(chi2_{M-1}/(M-1))^(1/2)]``."""
    return (1 / (M - 1)) ** sp.Rational(1, 2) * chi2_mellin(sp.Rational(1, 2), M - 1)


def _log_c4_series(order: int) -> sp.Expr:
    log_c4 = sp.log(2 / (M - 1)) / 2 + sp.loggamma(M / 2) - sp.loggamma((M - 1) / 2)
    ser = sp.series(log_c4, M, sp.oo, order).removeO()
    return sp.simplify(sp.expand_log(ser, force=True))


def _in_e(expr: sp.Expr) -> sp.Expr:
    return sp.expand(expr.subs(M, 1 / _E))


def _order_ok(steps: Steps, name: str, diff_series: sp.Expr, min_order: int) -> None:
    """Record that the polynomial ``diff_series`` in ``1/M`` starts at ``(1/M)^min_order``."""
    diff_series = sp.expand(diff_series)
    if diff_series == 0:
        steps.check(name, True, "difference vanishes to the computed order")
        return
    poly = sp.Poly(diff_series, _E)
    low = min(m[0] for m in poly.monoms())
    steps.check(name, low >= min_order, f"lowest order (1/M)^{low}, need >= {min_order}")


@proves("gaussian.c4.series", "series: log c4 from the log-Gamma asymptotic series, exponentiated (sympy)")
def prove_c4_series(steps: Steps) -> None:
    steps.equal("c4 is E[s]/sigma (chi-square Mellin transform)", _c4_derived(), c4())
    log_series = _in_e(_log_c4_series(5))
    exact = sp.series(sp.exp(log_series), _E, 0, 4).removeO()
    approx = _in_e(expr_of("gaussian.c4.series"))
    _order_ok(steps, "c4 - approx = O(M^-4)", exact - approx, 4)


@proves(
    "gaussian.c4.lower_bound",
    "Wendel's inequality (cited) at x = (M-1)/2, s = 1/2, rewritten symbolically; "
    "numerical check of the inequality on a grid (mpmath)",
)
def prove_c4_lower_bound(steps: Steps) -> None:
    x = (M - 1) / 2
    wendel_lower = (x / (x + sp.Rational(1, 2))) ** sp.Rational(1, 2)
    bound = expr_of("gaussian.c4.lower_bound")
    steps.equal("Wendel lower bound equals sqrt((M-1)/M)", bound, wendel_lower, simplify=True)
    # c4 = x^(-1/2) Gamma(x + 1/2)/Gamma(x): the middle term of Wendel's inequality.
    steps.equal(
        "c4 = Gamma(x+1/2)/(x^(1/2) Gamma(x))",
        c4() ** 2,
        (sp.gamma(x + sp.Rational(1, 2)) / (sp.sqrt(x) * sp.gamma(x))) ** 2,
    )
    uu = sp.Symbol("u", positive=True)
    steps.check(
        "1 - sqrt(1-u) <= u on [0,1]: (1-u) - (1-u)^2 = u(1-u) >= 0",
        is_zero(sp.expand((1 - uu) - (1 - uu) ** 2 - uu * (1 - uu))),
    )
    f_bound = sp.lambdify(M, bound, "mpmath")
    f_c4 = sp.lambdify(M, c4(), "mpmath")
    with mpmath.workdps(30):
        grid = [mpmath.mpf(v) for v in ("1.01", "1.5", "2", "3", "5", "10", "100", "1e4", "1e8")]
        ok = all(f_bound(v) <= f_c4(v) <= 1 and 1 - f_bound(v) <= 1 / v for v in grid)
    steps.numeric = True
    steps.check("bound <= c4 <= 1 and 1 - bound <= 1/M on a grid M in [1.01, 1e8]", ok)


@proves(
    "gaussian.replace.unbiased.mean_w2sq_small_n",
    "series in 1/M at fixed symbolic n of the exact E W2^2 (c4 from the log-Gamma series)",
)
def prove_mean_w2sq_small_n(steps: Steps) -> None:
    log_c4 = _in_e(_log_c4_series(3))
    exact = n * _E + 2 * (1 - sp.exp(n * log_c4))
    ser = sp.series(exact, _E, 0, 2).removeO()
    approx = _in_e(expr_of("gaussian.replace.unbiased.mean_w2sq_small_n") / sigma0**2)
    _order_ok(steps, "E W2^2/sigma0^2 - approx = O(M^-2)", ser - approx, 2)


def _log_series_body(est: str, rid: str):
    def body(steps: Steps) -> None:
        div = M - 1 if est == "unbiased" else M
        mean_log, _ = log_moments(M - 1, 1 / div)
        ser = sp.series(mean_log, M, sp.oo, 3).removeO()
        approx = expr_of(rid)
        steps.equal("approx at n = 0 is log sigma0^2", approx.subs(n, 0), sp.log(sigma0**2))
        drift = sp.expand(approx.subs(n, 1) - approx.subs(n, 0))
        _order_ok(steps, "per-generation drift matches psi series to O(M^-3)", _in_e(ser - drift), 3)

    return body


prove_unbiased_mean_log_sigma2_series = proves(
    "gaussian.replace.unbiased.mean_log_sigma2_series",
    "series: digamma asymptotic series of E log W at M -> oo (sympy)",
)(_log_series_body("unbiased", "gaussian.replace.unbiased.mean_log_sigma2_series"))

prove_mle_mean_log_sigma2_series = proves(
    "gaussian.replace.mle.mean_log_sigma2_series",
    "series: digamma asymptotic series of E log W at M -> oo (sympy)",
)(_log_series_body("mle", "gaussian.replace.mle.mean_log_sigma2_series"))


@proves(
    "gaussian.replace.var_log_sigma2_series",
    "series: trigamma asymptotic series of Var log W at M -> oo (sympy)",
)
def prove_var_log_sigma2_series(steps: Steps) -> None:
    _, var_log = log_moments(M - 1, 1 / (M - 1))
    ser = sp.series(var_log, M, sp.oo, 3).removeO()
    approx = expr_of("gaussian.replace.var_log_sigma2_series")
    steps.equal("approx is linear in n", approx, n * approx.subs(n, 1))
    _order_ok(steps, "Var log W - approx/n = O(M^-3)", _in_e(ser - approx.subs(n, 1)), 3)
