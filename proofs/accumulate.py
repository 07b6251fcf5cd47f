"""Proofs of the accumulate-workflow results (``collapse_theory.theory.accumulate``).

Block structure. Blocks ``0..m`` of ``M`` points; block ``i`` is drawn from model ``i`` (block 0
is real), with mean ``xbar_i = mu_i + e_i``, ``E e_i^2 = s_i/M``, uncorrelated ``e``'s, and
``mu_{i+1} = (i mu_i + xbar_i)/(i+1)``. Expanding the between-block sum of squares in the
``e``'s gives ``E[M sum_i (xbar_i - xbar)^2] = sum_l s_l l/(l+1)`` (verified for every block
count up to 9 by exact linear algebra), hence ``E SS_total = sum_i s_i [(M-1) + i/(i+1)]`` and
the recursion for ``s_{m+1}``. The products are checked against this recursion for
``m = 1..8`` with symbolic ``M`` and for general ``m`` by the telescoping ratio; the limits by
the Gamma-function form of the finite product and the Gamma-ratio limit.
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from collapse_theory.theory.symbols import M, j, n, sigma0
from proofs._core import Steps, expr_of, numeric_of, proves, unroll
from proofs._lemmas import euler_sinc, gamma_ratio_limit

_MAX_M = 8
_DIV = {"unbiased": -1, "mle": 0}  # pooled divisor (m M + _DIV) for m blocks


@functools.cache
def _between_coefficients(blocks: int) -> tuple[sp.Expr, ...]:
    """``C_l`` with ``E[M sum_i (xbar_i - xbar)^2] = sum_l s_l C_l`` for ``blocks`` blocks."""
    e = sp.symbols(f"e0:{blocks}", real=True)
    mus = [sp.Integer(0)]  # mu_0 (truth, WLOG 0); mu_1 = xbar_0
    xbars = []
    for i in range(blocks):
        xbars.append(mus[i] + e[i] if i > 0 else e[0])
        mus.append((i * mus[i] + xbars[i]) / (i + 1) if i > 0 else xbars[0])
    grand = sp.Add(*xbars) / blocks
    between = sp.expand(sum((xb - grand) ** 2 for xb in xbars))
    # Uncorrelated e's: only the e_l^2 coefficients survive; E e_l^2 = s_l / M.
    return tuple(between.coeff(e[l], 2) for l in range(blocks))


@functools.cache
def _recursion(est: str) -> tuple[sp.Expr, ...]:
    """``s_0..s_{_MAX_M}`` (in units of sigma0^2) from the pooled-variance recursion."""
    s = [sp.Integer(1)]
    for m in range(1, _MAX_M + 1):
        coeffs = _between_coefficients(m)
        total = sum(s[i] * ((M - 1) + coeffs[i]) for i in range(m))
        s.append(sp.factor(sp.cancel(total / (m * M + _DIV[est]))))
    return tuple(s)


def _check_structure(steps: Steps) -> None:
    ok = all(
        sp.simplify(_between_coefficients(b)[l] - sp.Rational(l, l + 1)) == 0
        for b in range(1, _MAX_M + 2)
        for l in range(b)
    )
    steps.check("between-block coefficients C_l = l/(l+1) for 1..9 blocks", ok)


def _mean_sigma2(est: str):
    rid = f"accumulate.{est}.mean_sigma2"

    def body(steps: Steps) -> None:
        _check_structure(steps)
        expr = expr_of(rid) / sigma0**2
        s = _recursion(est)
        for m in range(1, _MAX_M + 1):
            steps.equal(f"s_{m} (symbolic M) = recursion", unroll(expr.subs(n, m)), s[m])
        # General m: s_{m+1} D_{m+1} - s_m D_m = s_m [(M-1) + m/(m+1)].
        mm = sp.Symbol("m_gen", integer=True, positive=True)
        ratio = ((mm * M + _DIV[est]) + (M - 1) + mm / (mm + 1)) / ((mm + 1) * M + _DIV[est])
        prod = next(iter(expr.atoms(sp.Product)))
        steps.equal("telescoping ratio s_{m+1}/s_m = product factor at j = m+1", prod.function.subs(j, mm + 1), ratio)
        if est == "unbiased":
            steps.equal("low-order value s_2", s[2], (4 * M - 3) / (2 * (2 * M - 1)))
            steps.equal("low-order value s_3", s[3], (4 * M - 3) * (9 * M - 4) / (6 * (2 * M - 1) * (3 * M - 1)))

    return proves(
        rid,
        "recursion from the block decomposition; product verified for m = 1..8 (symbolic M) and by the general telescoping ratio",
    )(body)


prove_unbiased_mean_sigma2 = _mean_sigma2("unbiased")
prove_mle_mean_sigma2 = _mean_sigma2("mle")


def _mean_error(est: str):
    rid = f"accumulate.{est}.mean_sq_mean_error"

    def body(steps: Steps) -> None:
        e = sp.symbols(f"e0:{_MAX_M}", real=True)
        mu = e[0]  # mu_1 - mu0
        s = _recursion(est)
        expr = expr_of(rid) / sigma0**2
        for m in range(1, _MAX_M + 1):
            if m > 1:
                mu = mu + e[m - 1] / m  # mu_m = mu_{m-1} + e_{m-1}/m
            sq = sp.expand(mu**2)
            derived = sum(sq.coeff(e[l], 2) * s[l] / M for l in range(m))
            steps.equal(f"n = {m}: E(mu_n - mu0)^2 = sum_l s_l/(M (l+1)^2)", unroll(expr.subs(n, m)), derived)
        if est == "unbiased":
            steps.equal(
                "low-order value E(mu_3-mu0)^2", unroll(expr.subs(n, 3)), (98 * M - 51) / (36 * M * (2 * M - 1))
            )

    return proves(rid, "martingale expansion mu_n = mu0 + sum_l e_l/(l+1); verified for n = 1..8 (symbolic M)")(body)


prove_unbiased_mean_sq_mean_error = _mean_error("unbiased")
prove_mle_mean_sq_mean_error = _mean_error("mle")


def _roots() -> tuple[sp.Expr, sp.Expr, sp.Expr]:
    a = (1 + sp.sqrt(1 + 4 * M)) / (2 * M)
    b = (1 - sp.sqrt(1 + 4 * M)) / (2 * M)
    return a, b, 1 / M


@proves(
    "accumulate.unbiased.limit_sigma2",
    "factorisation into (j-a)(j-b)/(j(j-1/M)), Gamma form of the finite product (telescoping), "
    "Gamma-ratio limit (symbolic); numerical check of the infinite product (mpmath)",
)
def prove_unbiased_limit_sigma2(steps: Steps) -> None:
    a, b, c = _roots()
    steps.equal("1 - 1/(j(jM-1)) = (j-a)(j-b)/(j(j-c))", 1 - 1 / (j * (j * M - 1)), (j - a) * (j - b) / (j * (j - c)))
    big = sp.Symbol("N_fin", integer=True, positive=True)
    av, bv, cv = sp.symbols("a_r b_r c_r")
    finite = (
        sp.gamma(big + 1 - av)
        * sp.gamma(big + 1 - bv)
        * sp.gamma(2 - cv)
        / (sp.gamma(2 - av) * sp.gamma(2 - bv) * sp.gamma(big + 1) * sp.gamma(big + 1 - cv))
    )
    ratio = sp.gammasimp(finite.subs(big, big + 1) / finite)
    steps.equal(
        "finite product: telescoping ratio", ratio, (big + 1 - av) * (big + 1 - bv) / ((big + 1) * (big + 1 - cv))
    )
    steps.equal("finite product: N = 1 gives 1", sp.gammasimp(finite.subs(big, 1)), 1)
    steps.equal("a + b = c", a + b, c)
    steps.check("Gamma(N+1-a)Gamma(N+1-b)/(Gamma(N+1)Gamma(N+1-c)) -> 1", gamma_ratio_limit(1 - av, 1 - bv, 1) == 0)
    limit = sp.gamma(2 - c) / (sp.gamma(2 - a) * sp.gamma(2 - b))
    expr = expr_of("accumulate.unbiased.limit_sigma2")
    steps.equal("registry = sigma0^2 Gamma(2-c)/(Gamma(2-a)Gamma(2-b))", expr, sigma0**2 * limit)
    _numeric_product_check(steps, "unbiased", expr)


@proves(
    "accumulate.mle.limit_sigma2",
    "Euler's product for sin: finite product in Gamma form, Gamma-ratio limit, reflection formula (symbolic); "
    "numerical check of the infinite product (mpmath)",
)
def prove_mle_limit_sigma2(steps: Steps) -> None:
    ok, detail = euler_sinc()
    steps.check("Euler: prod_{j>=1} (1 - x^2/j^2) = sin(pi x)/(pi x)", ok, detail)
    steps.equal(
        "(1 - 1/M) prod_{j>=2} (1 - 1/(j^2 M)) = prod_{j>=1} (1 - x^2/j^2) at x = M^(-1/2)",
        1 - 1 / M,
        1 - (1 / sp.sqrt(M)) ** 2 / 1,
    )
    x = 1 / sp.sqrt(M)
    expr = expr_of("accumulate.mle.limit_sigma2")
    steps.equal("registry = sigma0^2 sinc(1/sqrt(M))", expr, sigma0**2 * sp.sin(sp.pi * x) / (sp.pi * x))
    _numeric_product_check(steps, "mle", expr)


def _numeric_product_check(steps: Steps, est: str, expr: sp.Expr) -> None:
    f = sp.lambdify((M, sigma0), expr, "mpmath")
    with mpmath.workdps(30):
        for size in (2, 5, 10, 100):
            mv = mpmath.mpf(size)
            if est == "unbiased":
                prod = mpmath.nprod(lambda jj: 1 - 1 / (jj * (jj * mv - 1)), [2, mpmath.inf])
            else:
                prod = (1 - 1 / mv) * mpmath.nprod(lambda jj: 1 - 1 / (jj**2 * mv), [2, mpmath.inf])
            steps.close(f"M = {size}: infinite product (mpmath nprod) = registry", float(f(mv, 1)), float(prod), 1e-12)


def _series(est: str):
    rid = f"accumulate.{est}.limit_sigma2_series"

    def body(steps: Steps) -> None:
        e = sp.Symbol("e_inv", positive=True)
        approx = sp.expand(expr_of(rid).subs(M, 1 / e) / sigma0**2)
        if est == "mle":
            xx = sp.sqrt(e)
            ser = sp.series(sp.sin(sp.pi * xx) / (sp.pi * xx), e, 0, 2).removeO()
        else:
            a, b, c = sp.symbols("a_s b_s c_s")
            z = sp.Symbol("z_s")
            taylor = sp.series(sp.loggamma(2 - z), z, 0, 3).removeO()
            log_lim = sp.expand(taylor.subs(z, c) - taylor.subs(z, a) - taylor.subs(z, b)).subs(c, a + b)
            # Quadratic order: log_lim = psi1(2) a b; the roots of M j^2 - j - 1 have ab = -1/M.
            log_lim = sp.expand(sp.expand(log_lim).subs(a * b, -e))
            steps.check("quadratic part depends on the roots only through ab", not log_lim.has(a, b), str(log_lim))
            # Cubic Taylor terms are O((a+b)(ab)) = O(1/M^2) and are dropped.
            ser = sp.series(sp.exp(log_lim), e, 0, 2).removeO()
        diff = sp.expand(sp.nsimplify(ser - approx))
        steps.check(
            "limit - approx = O(1/M^2)",
            sp.simplify(diff.coeff(e, 0)) == 0 and sp.simplify(diff.coeff(e, 1)) == 0,
            str(diff),
        )

    return proves(rid, "series of the exact limit in 1/M (sympy)")(body)


prove_unbiased_limit_sigma2_series = _series("unbiased")
prove_mle_limit_sigma2_series = _series("mle")


def _limit_error(est: str):
    rid = f"accumulate.{est}.limit_mean_sq_mean_error"

    def body(steps: Steps) -> None:
        got = numeric_of(rid)
        for size in (2, 5, 10, 100):
            with mpmath.workdps(25):
                mv = mpmath.mpf(size)
                if est == "unbiased":
                    a = (1 + mpmath.sqrt(1 + 4 * mv)) / (2 * mv)
                    b = (1 - mpmath.sqrt(1 + 4 * mv)) / (2 * mv)
                    c, first = 1 / mv, mpmath.mpf(1)
                else:
                    a, b, c, first = 1 / mpmath.sqrt(mv), -1 / mpmath.sqrt(mv), mpmath.mpf(0), 1 - 1 / mv

                def s_prev(mm):
                    # s_{m-1}/sigma0^2 = first * prod_{j=2}^{m-1} (j-a)(j-b)/(j(j-c)) in Gamma form.
                    top = mm - 1
                    return first * mpmath.exp(
                        mpmath.loggamma(top + 1 - a)
                        + mpmath.loggamma(top + 1 - b)
                        + mpmath.loggamma(2 - c)
                        - mpmath.loggamma(2 - a)
                        - mpmath.loggamma(2 - b)
                        - mpmath.loggamma(top + 1)
                        - mpmath.loggamma(top + 1 - c)
                    )

                ref = (1 + mpmath.nsum(lambda mm: s_prev(mm) / mm**2, [2, mpmath.inf])) / mv
            steps.close(f"M = {size}: limit vs mpmath nsum (Gamma form)", got(M=size, sigma0=1.0), float(ref), 1e-9)
            steps.check(f"M = {size}: limit < pi^2/(6M)", got(M=size, sigma0=1.0) < float(mpmath.pi**2 / 6 / size))

    return proves(rid, "numerical check: mpmath nsum of the series with s_m in Gamma form (25 digits)")(body)


prove_unbiased_limit_mean_sq_mean_error = _limit_error("unbiased")
prove_mle_limit_mean_sq_mean_error = _limit_error("mle")


def _all_positive_coefficients(expr: sp.Expr, gens: tuple[sp.Symbol, ...]) -> bool:
    poly = sp.Poly(sp.expand(expr), *gens)
    return all(c > 0 for c in poly.coeffs())


@proves(
    "accumulate.mean_sq_mean_error_bound",
    "factors in (0, 1] for j >= 2, M >= 2 (polynomial positivity), s_m <= sigma0^2, sum 1/m^2 = pi^2/6 (symbolic)",
)
def prove_mean_sq_mean_error_bound(steps: Steps) -> None:
    jj, mm = sp.symbols("jj mm", nonnegative=True)
    sub = {j: 2 + jj, M: 2 + mm}
    steps.check(
        "j(jM-1) - 1 > 0 (unbiased factor in (0,1))",
        _all_positive_coefficients((j * (j * M - 1) - 1).subs(sub), (jj, mm)),
    )
    steps.check("j^2 M - 1 > 0 (MLE factor in (0,1))", _all_positive_coefficients((j**2 * M - 1).subs(sub), (jj, mm)))
    mv = sp.Symbol("m_idx", integer=True, positive=True)
    basel = sp.summation(1 / mv**2, (mv, 1, sp.oo))
    steps.equal("sum_{m>=1} 1/m^2 = pi^2/6", basel, sp.pi**2 / 6)
    steps.equal("bound = (sigma0^2/M) sum 1/m^2", expr_of("accumulate.mean_sq_mean_error_bound"), sigma0**2 / M * basel)
