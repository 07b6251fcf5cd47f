"""Proofs of the rounding-error bounds (``collapse_theory.theory.rounding``).

Symbolic where the argument is algebra: the induction step of Higham's Lemma 3.1, the count of
rounding factors each summand picks up in recursive and pairwise summation (exact expansion of
the rounded sums with symbolic ``delta``), the identity ``kappa^2 = ||x||^2 / S`` and the mean of
stochastic rounding. The Kahan leading term and the two-pass bound are not derived here: they
get numerical spot checks (float16 / float32 arithmetic in numpy against exact rationals),
labelled as such.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import sympy as sp

from collapse_theory.theory.rounding import gamma_expr
from collapse_theory.theory.symbols import kappa, n, u, x
from proofs._core import Steps, expr_of, numeric_of, proves

_U16, _U32 = 2.0**-11, 2.0**-24


def _factor_counts(expr: sp.Expr, xs, deltas) -> list[int]:
    """For each summand, the number of (1 + delta) factors multiplying it (checks the product form)."""
    counts = []
    for xi in xs:
        coeff = sp.factor(sp.expand(expr).coeff(xi))
        factors = sp.Mul.make_args(coeff)
        if not all(f.is_Pow and f.base - 1 in deltas or f - 1 in deltas for f in factors if f != 1):
            raise ValueError(f"coefficient of {xi} is not a product of (1 + delta): {coeff}")
        counts.append(sum(int(f.exp) if f.is_Pow else 1 for f in factors if f != 1))
    return counts


@proves("rounding.gamma_n", "induction on n: both directions of the step (symbolic); random products (numerical)")
def prove_gamma_n(steps: Steps) -> None:
    g = expr_of("rounding.gamma_n")
    steps.equal("registered expression is n u / (1 - n u)", g, gamma_expr(n))
    steps.equal("base: gamma_1 = u / (1 - u) = 1/(1 - u) - 1 >= u", g.subs(n, 1), 1 / (1 - u) - 1)
    # Upper side: (1 + gamma_n)(1 + u) <= 1 + gamma_{n+1}; gap = u^2 (n + 1) / ((1 - n u)(1 - (n + 1) u)).
    gap_up = sp.factor(sp.cancel((1 + g.subs(n, n + 1)) - (1 + g) * (1 + u)))
    steps.equal(
        "gamma_{n+1} - [gamma_n + u (1 + gamma_n)] = (n+1) u^2 / ((1 - n u)(1 - (n+1) u)) >= 0 for (n+1) u < 1",
        gap_up,
        (n + 1) * u**2 / ((1 - n * u) * (1 - (n + 1) * u)),
    )
    # Reciprocal factors: (1 + gamma_n) / (1 - u) = 1 / (1 - (n+1) u + n u^2) <= 1 + gamma_{n+1}.
    recip = sp.cancel((1 + g) / (1 - u))
    steps.equal("(1 + gamma_n)/(1 - u) = 1/(1 - (n+1) u + n u^2)", recip, 1 / (1 - (n + 1) * u + n * u**2))
    steps.equal(
        "1 + gamma_{n+1} - (1 + gamma_n)/(1 - u) = n u^2 / ((1-(n+1)u)(1-(n+1)u+n u^2)) >= 0",
        sp.cancel(1 + g.subs(n, n + 1) - recip),
        n * u**2 / ((1 - (n + 1) * u) * (1 - (n + 1) * u + n * u**2)),
    )
    steps.equal(
        "lower side: 1 - gamma_n <= 1 - n u <= (1 - u)^n (Bernoulli); gamma_n - n u = n^2 u^2 / (1 - n u)",
        g - n * u,
        n**2 * u**2 / (1 - n * u),
    )
    steps.numeric = True
    rng = np.random.default_rng(0)
    worst = 0.0
    for k in (1, 5, 50, 500):
        for _ in range(50):
            d = rng.choice([-_U16, _U16], size=k) * rng.uniform(0.5, 1.0, size=k)
            rho = rng.choice([-1, 1], size=k)
            prod = Fraction(1)
            for di, ri in zip(d, rho, strict=True):
                f = Fraction(1) + Fraction(float(di))
                prod *= f if ri > 0 else 1 / f
            theta = abs(float(prod - 1))
            worst = max(worst, theta / (k * _U16 / (1 - k * _U16)))
    steps.check(
        "random products of (1 +- delta)^(+-1), |delta| <= u = 2^-11: |theta_n| <= gamma_n (numerical)",
        worst <= 1.0,
        f"max ratio {worst:.3f}",
    )


@proves("rounding.sum.recursive", "exact expansion of fl-sums with symbolic delta, factor count (symbolic) + Lemma 3.1")
def prove_sum_recursive(steps: Steps) -> None:
    steps.equal("registered expression is gamma_{n-1}", expr_of("rounding.sum.recursive"), gamma_expr(n - 1))
    size = 5
    xs = sp.symbols(f"x1:{size + 1}")
    ds = sp.symbols(f"d2:{size + 1}")
    s = xs[0]
    for xi, di in zip(xs[1:], ds, strict=True):
        s = (s + xi) * (1 + di)
    counts = _factor_counts(s, xs, set(ds))
    # With at most n - 1 factors, |s_hat - s| <= sum |x_i| |theta_{n-1}| <= gamma_{n-1} sum |x_i| (Lemma 3.1).
    steps.check(
        f"n = {size}: s_hat = sum x_i prod (1 + delta), at most n - 1 factors per summand",
        max(counts) == size - 1,
        str(counts),
    )


@proves(
    "rounding.sum.pairwise",
    "exact expansion of a pairwise tree with symbolic delta (symbolic) + Lemma 3.1; ceiling (numerical)",
)
def prove_sum_pairwise(steps: Steps) -> None:
    expr = expr_of("rounding.sum.pairwise")
    steps.equal("registered expression is gamma_{ceil(log2 n)}", expr, gamma_expr(sp.ceiling(sp.log(n, 2))))
    size = 8
    xs = list(sp.symbols(f"x1:{size + 1}"))
    level, deltas, terms = 0, set(), xs
    while len(terms) > 1:
        nxt = []
        for a in range(0, len(terms), 2):
            d = sp.Symbol(f"d{level}_{a}")
            deltas.add(d)
            nxt.append((terms[a] + terms[a + 1]) * (1 + d))
        terms, level = nxt, level + 1
    counts = _factor_counts(terms[0], xs, deltas)
    steps.check("n = 8: every summand has exactly log2 n = 3 factors", set(counts) == {3}, str(counts))
    got = numeric_of("rounding.sum.pairwise")
    ok = all(
        abs(
            got(n=k, u=_U16)
            - float(gamma_expr(sp.Integer(int(np.ceil(np.log2(k)))) if k > 1 else sp.Integer(0)).subs(u, _U16))
        )
        < 1e-15
        for k in (1, 2, 3, 4, 5, 1023, 1024, 1025)
    )
    steps.numeric = True
    steps.check("numeric ceiling via bit_length matches ceil(log2 n) at n = 1..1025 (numerical)", ok)


def _kahan16(v: np.ndarray) -> np.float16:
    s, c = np.float16(0), np.float16(0)
    for xi in v:
        y = np.float16(xi - c)
        t = np.float16(s + y)
        c = np.float16(np.float16(t - s) - y)
        s = t
    return s


@proves("rounding.sum.kahan", "leading term read off the cited bound; numerical spot check in float16 (numerical)")
def prove_sum_kahan(steps: Steps) -> None:
    steps.equal("registered expression is 2u", expr_of("rounding.sum.kahan"), 2 * u)
    rng = np.random.default_rng(1)
    worst = 0.0
    size = 200
    for _ in range(40):
        v = rng.uniform(-1, 1, size).astype(np.float16)
        exact = sum(Fraction(float(a)) for a in v)
        err = abs(Fraction(float(_kahan16(v))) - exact)
        worst = max(worst, float(err) / float(sum(abs(Fraction(float(a))) for a in v)))
    bound = 2 * _U16 + size * _U16**2
    steps.check(
        f"float16 Kahan, n = {size}, 40 vectors: error / sum|x| <= 2u + n u^2 (numerical)",
        worst <= bound,
        f"{worst:.3e} vs {bound:.3e}",
    )


@proves("rounding.variance.two_pass", "kappa identity (symbolic); numerical spot check in float32 (numerical)")
def prove_variance_two_pass(steps: Steps) -> None:
    steps.equal("registered expression", expr_of("rounding.variance.two_pass"), n * u + n**2 * kappa**2 * u**2)
    ss, xbar = sp.symbols("S_p xbar_p", positive=True)
    steps.equal(
        "kappa^2 = ||x||^2 / S with ||x||^2 = S + n xbar^2 (condition number identity)",
        (ss + n * xbar**2) / ss,
        1 + n * xbar**2 / ss,
    )
    rng = np.random.default_rng(2)
    worst = 0.0
    for shift in (0.0, 1e2, 1e3):
        for size in (10, 100, 1000):
            v = (shift + rng.standard_normal(size)).astype(np.float32)
            mean = np.float32(np.sum(v, dtype=np.float32) / np.float32(size))
            s_hat = float(np.sum(np.square(v - mean), dtype=np.float32))
            q = [Fraction(float(a)) for a in v]
            m = sum(q) / size
            s = float(sum((a - m) ** 2 for a in q))
            kap2 = 1.0 + size * float(m) ** 2 / s
            worst = max(worst, abs(s_hat - s) / s / (size * _U32 + size**2 * kap2 * _U32**2))
    steps.numeric = True
    steps.check(
        "float32 two-pass, shifts 0..1e3, n = 10..1000: relative error <= bound (numerical)",
        worst <= 1.0,
        f"max ratio {worst:.3f}",
    )


@proves("rounding.stochastic.mean", "E = lo + (hi - lo) p with p = (x - lo)/(hi - lo) (symbolic)")
def prove_stochastic_mean(steps: Steps) -> None:
    lo, sp_h = sp.symbols("lo_p h_p", positive=True)
    hi = lo + sp_h
    p_up = (x - lo) / (hi - lo)
    steps.equal("E round(x) = p hi + (1 - p) lo = x", p_up * hi + (1 - p_up) * lo, expr_of("rounding.stochastic.mean"))
