"""Proofs of the Bayesian-learner results (``collapse_theory.theory.bayes``).

Dirichlet: binomial moments from the probability generating function ``(1 - p + p s)^M``
(symbolic ``M``), the one-step expectation of ``sum (c_i + a)^2`` for K = 2, 3, 4 with symbolic
probabilities, induction for the linear recursion, and the limits. NIG: the Student-t variance
from its normal/chi-square scale-mixture (chi-square Mellin transform), the one-step moments of
an i.i.d. sample by polynomial expansion, the fixed point of the two-dimensional recursion, and
the sign of ``det(I - T)`` that decides convergence.
"""

from __future__ import annotations

import sympy as sp

from collapse_theory.theory.bayes import (
    A_COEF,
    B_COEF,
    C_COEF,
    NIG_DEN,
    R_COEF,
    V_FLOOR,
    a,
    alpha0,
    beta0,
    kappa0,
)
from collapse_theory.theory.symbols import H0, K, M, n
from proofs._core import Steps, expr_of, numeric_of, proves
from proofs._lemmas import chi2_mellin

_X = sp.Symbol("x_geo", nonnegative=True)


def _binomial_moments() -> tuple[sp.Expr, sp.Expr, sp.Symbol]:
    """``(E X, E X^2)`` of ``X ~ Bin(M, p)`` for symbolic ``M`` from the pgf."""
    pr, s = sp.Symbol("pr", positive=True), sp.Symbol("s_pgf")
    pgf = (1 - pr + pr * s) ** M
    first = sp.diff(pgf, s).subs(s, 1)
    second = sp.diff(pgf, s, 2).subs(s, 1) + first
    return sp.simplify(first), sp.simplify(second), pr


@proves(
    "bayes.dirichlet.mean_heterozygosity",
    "binomial moments from the pgf (symbolic M); E[S'|p] = A S + B for K = 2, 3, 4 (symbolic p); induction",
)
def prove_dirichlet_mean_heterozygosity(steps: Steps) -> None:
    first, second, pr = _binomial_moments()
    steps.equal("E c_i = M p_i", first, M * pr)
    steps.equal("E c_i^2 = M p_i (1 - p_i) + M^2 p_i^2", second, M * pr * (1 - pr) + M**2 * pr**2)
    for size in (2, 3, 4):
        ps = sp.symbols(f"p0:{size}", positive=True)
        last = {ps[-1]: 1 - sum(ps[:-1])}
        ex2 = [M * x * (1 - x) + M**2 * x**2 for x in ps]
        lhs = sum(e + 2 * a * M * x + a**2 for e, x in zip(ex2, ps, strict=True)) / (M + size * a) ** 2
        s_p = sum(x**2 for x in ps)
        rhs = (A_COEF * s_p + B_COEF).subs(K, size)
        steps.equal(f"K = {size}: E[sum (c_i + a)^2]/(M + Ka)^2 = A S + B", lhs.subs(last), rhs.subs(last))
    f = expr_of("bayes.dirichlet.mean_heterozygosity")
    steps.equal("f(0) = H0", f.subs(n, 0), H0)
    steps.equal("1 - f(n+1) = A (1 - f(n)) + B", 1 - f.subs(n, n + 1), A_COEF * (1 - f) + B_COEF)
    wf = expr_of("wf.replace.mean_heterozygosity")
    steps.equal("a = 0 gives the neutral Wright-Fisher law", f.subs(a, 0), wf)


@proves(
    "bayes.dirichlet.stationary_heterozygosity",
    "0 <= A < 1 (symbolic); A^n -> 0 in the closed form; H* = 1 - B/(1-A); positivity and a -> 0 limit",
)
def prove_dirichlet_stationary_heterozygosity(steps: Steps) -> None:
    h_star = expr_of("bayes.dirichlet.stationary_heterozygosity")
    gap = sp.expand(sp.cancel((1 - A_COEF) * (M + K * a) ** 2))
    steps.equal("(1 - A)(M + Ka)^2 = 2MKa + K^2 a^2 + M > 0", gap, 2 * M * K * a + K**2 * a**2 + M)
    steps.check("A >= 0 for M >= 1", sp.factor(A_COEF.subs(M, M + 1)).is_nonnegative)
    f = expr_of("bayes.dirichlet.mean_heterozygosity")
    geo = 1 - (_X * (1 - H0) + B_COEF * (1 - _X) / (1 - A_COEF))
    steps.equal("E H_n = g(A^n) with g affine", f, geo.subs(_X, A_COEF**n))
    steps.equal("lim E H_n = g(0) = H*", geo.subs(_X, 0), h_star)
    steps.equal("H* = 1 - B/(1 - A)", 1 - B_COEF / (1 - A_COEF), h_star)
    k2 = sp.Symbol("k_extra", nonnegative=True)
    steps.check("H* > 0 for a > 0, K >= 2", sp.factor(h_star.subs(K, k2 + 2)).is_positive)
    steps.check("H* -> 0 as a -> 0 (no prior: collapse)", sp.limit(h_star, a, 0, "+") == 0)
    value = numeric_of("bayes.dirichlet.mean_heterozygosity")(H0=0.62, M=20, K=3, a=0.5, n=3000)
    steps.close("E H_3000 equals H* (M = 20, K = 3, a = 1/2)", value, float(h_star.subs({M: 20, K: 3, a: 0.5})), 1e-12)


@proves("bayes.dirichlet.stationary_heterozygosity_large_M", "sympy limit M -> oo of H*")
def prove_dirichlet_stationary_heterozygosity_large_M(steps: Steps) -> None:
    h_star = expr_of("bayes.dirichlet.stationary_heterozygosity")
    steps.equal(
        "lim_{M -> oo} H*", sp.limit(h_star, M, sp.oo), expr_of("bayes.dirichlet.stationary_heterozygosity_large_M")
    )


def _student_t_variance(steps: Steps) -> None:
    nu = sp.Symbol("nu", positive=True)
    # t_nu = z / sqrt(chi2_nu / nu): Var = E z^2 * nu * E[1/chi2_nu] (independence).
    var_t = nu * chi2_mellin(-1, nu)
    steps.equal("Var t_nu = nu/(nu - 2)", var_t, nu / (nu - 2))
    kn, an, beta = sp.symbols("kappa_n alpha_n beta_n", positive=True)
    scale2 = beta * (kn + 1) / (an * kn)
    steps.equal(
        "predictive variance = beta_n (kappa_n + 1)/(kappa_n (alpha_n - 1))",
        scale2 * var_t.subs(nu, 2 * an),
        beta * (kn + 1) / (kn * (an - 1)),
    )


def _posterior_beta(ss: sp.Expr, dev: sp.Expr) -> sp.Expr:
    return beta0 + ss / 2 + kappa0 * M * dev**2 / (2 * (kappa0 + M))


@proves(
    "bayes.nig.predictive_variance_floor",
    "Student-t variance by scale mixture; V = c beta_n with beta_n - beta0 a sum of nonnegative terms",
)
def prove_nig_predictive_variance_floor(steps: Steps) -> None:
    _student_t_variance(steps)
    ss, dev = sp.Symbol("ss", nonnegative=True), sp.Symbol("dev", real=True)
    excess = sp.factor(C_COEF * _posterior_beta(ss, dev) - C_COEF * beta0)
    big = sp.Symbol("alpha_excess", positive=True)  # alpha_n - 1 = alpha0 + M/2 - 1 > 0
    steps.check("V - c beta0 >= 0", sp.factor(excess.subs(alpha0, big + 1 - M / 2)).is_nonnegative)
    steps.equal("floor = c beta0", expr_of("bayes.nig.predictive_variance_floor"), V_FLOOR)


def _sample_moments(size: int) -> tuple[sp.Expr, sp.Expr]:
    """``E SS`` and ``E (xbar - m0)^2`` of ``size`` i.i.d. draws of mean mu and variance V."""
    ys = sp.symbols(f"y0:{size}", real=True)
    mu, m0, v = sp.symbols("mu_t m0 V_t", real=True)
    ybar = sum(ys) / size
    ss = sp.expand(sum((y - ybar) ** 2 for y in ys))
    dev2 = sp.expand((mu + ybar - m0) ** 2)

    def expect(e: sp.Expr) -> sp.Expr:
        poly = sp.Poly(e, *ys)
        out = sp.Integer(0)
        for powers, coeff in poly.terms():
            nz = [p for p in powers if p]
            out += coeff * (0 if (len(nz) > 1 or nz == [1]) else (v if nz == [2] else 1))
        return sp.expand(out)

    return expect(ss), expect(dev2), (mu, m0, v)


@proves(
    "bayes.nig.mean_predictive_variance",
    "E SS = (M-1)V and E(xbar - mu0)^2 = D + V/M by expansion (M = 2..5); one-step map; exact iteration vs the callable",
)
def prove_nig_mean_predictive_variance(steps: Steps) -> None:
    _student_t_variance(steps)
    for size in (2, 3, 4, 5):
        e_ss, e_dev2, (mu, m0, v) = _sample_moments(size)
        steps.equal(f"M = {size}: E SS = (M - 1) V", e_ss, (size - 1) * v)
        steps.equal(f"M = {size}: E (xbar - mu0)^2 = (mu - mu0)^2 + V/M", e_dev2, (mu - m0) ** 2 + v / size)
    numeric = numeric_of("bayes.nig.mean_predictive_variance")
    vals = {M: sp.Integer(6), kappa0: sp.Rational(3, 2), alpha0: sp.Integer(3), beta0: sp.Rational(1, 2)}
    dd, vv = sp.Rational(1, 4), sp.Integer(2)
    for gen in range(4):
        got = numeric(M=6, kappa0=1.5, alpha0=3.0, beta0=0.5, var0=2.0, d0=0.25, n=gen)
        steps.close(f"n = {gen}: callable = exact rational iteration", got, float(vv), 1e-12)
        e_beta = _posterior_beta((M - 1) * vv, sp.sqrt(dd + vv / M)).subs(vals)
        vv, dd = (C_COEF.subs(vals) * e_beta), (R_COEF**2 * (dd + vv / M)).subs(vals)


@proves(
    "bayes.nig.stationary_predictive_variance",
    "fixed point of the 2-d recursion (sympy solve); det(I - T) = positive factor * denominator; numerical limit",
)
def prove_nig_stationary_predictive_variance(steps: Steps) -> None:
    dd, vv = sp.symbols("D_fix V_fix")
    kn = kappa0 + M
    t_mat = sp.Matrix(
        [
            [R_COEF**2, R_COEF**2 / M],
            [C_COEF * kappa0 * M / (2 * kn), C_COEF * ((M - 1) / 2 + kappa0 / (2 * kn))],
        ]
    )
    const = sp.Matrix([0, C_COEF * beta0])
    sol = sp.solve(list(t_mat * sp.Matrix([dd, vv]) + const - sp.Matrix([dd, vv])), [dd, vv], dict=True)[0]
    steps.equal("stationary E V solves the recursion", sol[vv], expr_of("bayes.nig.stationary_predictive_variance"))
    det = (sp.eye(2) - t_mat).det()
    ratio = sp.factor(det / NIG_DEN)
    big = sp.Symbol("alpha_excess", positive=True)
    steps.check(
        "det(I - T)/denominator > 0 (alpha0 + M/2 > 1)", sp.factor(ratio.subs(alpha0, big + 1 - M / 2)).is_positive
    )
    steps.check("1 - T[0,0] = 1 - r^2 > 0", sp.factor(1 - R_COEF**2).is_positive)
    eps = sp.Symbol("eps_a", nonnegative=True)
    steps.check(
        "denominator > 0 for alpha0 >= 5/4",
        sp.expand(NIG_DEN.subs(alpha0, sp.Rational(5, 4) + eps)).is_positive,
    )
    limit = float(expr_of("bayes.nig.stationary_predictive_variance").subs({M: 10, kappa0: 1, alpha0: 2, beta0: 1}))
    got = numeric_of("bayes.nig.mean_predictive_variance")(
        M=10, kappa0=1.0, alpha0=2.0, beta0=1.0, var0=1.0, d0=0.0, n=2000
    )
    steps.close("iteration at n = 2000 equals the limit (M = 10, kappa0 = 1, alpha0 = 2, beta0 = 1)", got, limit, 1e-12)
