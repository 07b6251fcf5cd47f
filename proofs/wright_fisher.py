"""Proofs of the closed-form Wright-Fisher results (``collapse_theory.theory.wright_fisher``).

Moment steps use the binomial moments of a sum of ``M`` Bernoulli indicators; fixation uses
exact rational first-step analysis on the finite chain; the diffusion formulas are checked to
solve the backward equation of the haploid Wright-Fisher diffusion with generator
``(1/(2M)) sum_{ij} p_i (delta_ij - p_j) d_i d_j`` and its boundary conditions.
"""

from __future__ import annotations

import functools

import sympy as sp
import sympy.stats as st

from collapse_theory.theory.symbols import H0, K, M, alpha, k, n, p, q, theta
from proofs._core import Steps, expr_of, numeric_of, proves, unroll
from proofs._lemmas import euler_sinc

_P = sp.symbols("p1 p2 p3", positive=True)
_CONSTRAINT = {_P[2]: 1 - _P[0] - _P[1]}


def _het(ps) -> sp.Expr:
    return 1 - sum(x**2 for x in ps)


def _binomial_second_moment(size: int, prob: sp.Expr) -> sp.Expr:
    """``E[X^2]`` for ``X`` a sum of ``size`` i.i.d. Bernoulli(prob), by expansion."""
    b = sp.symbols(f"b0:{size}", real=True)
    poly = sp.Poly(sp.expand(sp.Add(*b) ** 2), *b)
    return sp.expand(sum(c * sp.Mul(*[prob for e in mon if e > 0]) for mon, c in poly.terms()))


def _with_vector(expr: sp.Expr, values) -> sp.Expr:
    out = unroll(expr.subs(K, len(values)))
    return out.xreplace({p[i]: v for i, v in enumerate(values)})


@proves(
    "wf.replace.mean_heterozygosity",
    "binomial second moment by Bernoulli expansion; E[H'|p] = (1-1/M) H (K = 3, symbolic); induction",
)
def prove_replace_mean_heterozygosity(steps: Steps) -> None:
    pr = sp.Symbol("pr", positive=True)
    ok = all(sp.expand(_binomial_second_moment(m, pr) - (m * pr + m * (m - 1) * pr**2)) == 0 for m in range(1, 7))
    steps.check("E[X^2] = Mp + M(M-1)p^2 for M = 1..6", ok)
    second = [x**2 + x * (1 - x) / M for x in _P]  # E[(X/M)^2] from the formula above
    h_next = sp.expand((1 - sum(second)).subs(_CONSTRAINT))
    steps.equal("E[H'|p] = (1 - 1/M) H(p)", h_next, sp.expand(((1 - 1 / M) * _het(_P)).subs(_CONSTRAINT)))
    f = expr_of("wf.replace.mean_heterozygosity")
    steps.equal("f(0) = H0", f.subs(n, 0), H0)
    steps.equal("f(n+1) = (1 - 1/M) f(n)", f.subs(n, n + 1), (1 - 1 / M) * f)


@proves("wf.one_step.loss_probability", "P(X = 0) for X ~ Bin(M, q) with sympy.stats, M = 1..8 (symbolic q)")
def prove_one_step_loss_probability(steps: Steps) -> None:
    f = expr_of("wf.one_step.loss_probability")
    for size in range(1, 9):
        x = st.Binomial("X", size, q)
        steps.equal(f"M = {size}", f.subs(M, size), st.P(sp.Eq(x, 0)))


@proves(
    "wf.one_step.mean_support",
    "exact enumeration of all multinomial outcomes for K = 3, M = 1..4 (symbolic p)",
)
def prove_one_step_mean_support(steps: Steps) -> None:
    probs = (_P[0], _P[1], 1 - _P[0] - _P[1])
    expr = expr_of("wf.one_step.mean_support")
    for size in range(1, 5):
        total = sp.Integer(0)
        for a in range(size + 1):
            for b in range(size + 1 - a):
                c = size - a - b
                pmf = sp.factorial(size) / (sp.factorial(a) * sp.factorial(b) * sp.factorial(c))
                pmf *= probs[0] ** a * probs[1] ** b * probs[2] ** c
                total += pmf * sum(1 for x in (a, b, c) if x > 0)
        steps.equal(f"M = {size}: E|support| by enumeration", _with_vector(expr.subs(M, size), probs), total)


@functools.cache
def _absorption_probabilities(size: int) -> tuple[sp.Rational, ...]:
    """Exact ``P(absorb at M | x)`` for ``x = 0..M`` by rational first-step analysis."""
    h = sp.symbols(f"h0:{size + 1}")
    eqs = [sp.Eq(h[0], 0), sp.Eq(h[size], 1)]
    for x in range(1, size):
        pr = sp.Rational(x, size)
        row = sum(sp.binomial(size, y) * pr**y * (1 - pr) ** (size - y) * h[y] for y in range(size + 1))
        eqs.append(sp.Eq(h[x], row))
    sol = sp.solve(eqs, h)
    return tuple(sol[v] for v in h)


def _fixation_body(rid: str, lost: bool):
    def body(steps: Steps) -> None:
        mean = sp.expand(sum(y * sp.binomial(4, y) * q**y * (1 - q) ** (4 - y) for y in range(5)))
        steps.equal("martingale: E[X'/M | X/M = q] = q (M = 4)", mean / 4, q)
        f = expr_of(rid)
        for size in range(2, 7):
            probs = _absorption_probabilities(size)
            ok = all(f.subs(q, sp.Rational(x, size)) == (1 - probs[x] if lost else probs[x]) for x in range(1, size))
            steps.check(f"M = {size}: exact first-step analysis matches for every start", ok)

    return body


prove_fixation_probability = proves(
    "wf.fixation_probability",
    "bounded martingale + absorption; exact rational first-step analysis for M = 2..6",
)(_fixation_body("wf.fixation_probability", lost=False))

prove_eventual_loss_probability = proves(
    "wf.eventual_loss_probability",
    "complement of fixation; exact rational first-step analysis for M = 2..6",
)(_fixation_body("wf.eventual_loss_probability", lost=True))


def _generator_1d(f: sp.Expr) -> sp.Expr:
    return q * (1 - q) / (2 * M) * sp.diff(f, q, 2)


def _rel_errors(approx_id: str, exact_id: str, cases) -> list[float]:
    approx, exact = numeric_of(approx_id), numeric_of(exact_id)
    out = []
    for approx_kw, exact_kw in cases:
        out.append(abs(approx(**approx_kw) / exact(**exact_kw) - 1))
    return out


@proves(
    "wf.k2.absorption_time_kimura_ohta",
    "backward equation (q(1-q)/2M) t'' = -1 with t(0) = t(1) = 0 (symbolic); convergence to the exact chain (numerical)",
)
def prove_k2_absorption_time_kimura_ohta(steps: Steps) -> None:
    t = expr_of("wf.k2.absorption_time_kimura_ohta")
    steps.equal("L t = -1", _generator_1d(t), -1)
    steps.check("t(0+) = 0 and t(1-) = 0", sp.limit(t, q, 0, "+") == 0 and sp.limit(t, q, 1, "-") == 0)
    errs = _rel_errors(
        "wf.k2.absorption_time_kimura_ohta",
        "wf.k2.absorption_time_exact",
        [({"M": s, "q": 0.5}, {"M": s, "x": s // 2}) for s in (10, 40, 160)],
    )
    steps.numeric = True
    steps.check(
        "relative error vs exact chain decreases (M = 10, 40, 160)",
        errs[0] > errs[1] > errs[2] and errs[2] < 0.01,
        str(errs),
    )


@proves(
    "wf.absorption_time_littler",
    "backward equation L t = -1 of the K = 3 diffusion (symbolic), reduction to Kimura-Ohta on a face; numerical convergence",
)
def prove_absorption_time_littler(steps: Steps) -> None:
    expr = expr_of("wf.absorption_time_littler")
    p1, p2 = _P[0], _P[1]
    t = _with_vector(expr, (p1, p2, 1 - p1 - p2))
    gen = (p1 * (1 - p1) * sp.diff(t, p1, 2) + p2 * (1 - p2) * sp.diff(t, p2, 2) - 2 * p1 * p2 * sp.diff(t, p1, p2)) / (
        2 * M
    )
    steps.equal("L t = -1 in the interior", gen, -1, simplify=True)
    face = _with_vector(expr, (q, 1 - q, 0))
    ko = -2 * M * (q * sp.log(q) + (1 - q) * sp.log(1 - q))
    steps.equal("on the face p3 = 0 it is the two-state time", face, ko, simplify=True)
    approx, exact = numeric_of("wf.absorption_time_littler"), numeric_of("wf.k3.absorption_time_exact")
    errs = [
        abs(approx(M=s, p=[0.5, 0.3, 0.2]) / exact(M=s, x1=s // 2, x2=3 * s // 10, x3=s // 5) - 1) for s in (10, 20, 40)
    ]
    steps.numeric = True
    steps.check("relative error vs exact chain decreases (M = 10, 20, 40)", errs[0] > errs[1] > errs[2], str(errs))


@proves(
    "wf.k2.conditional_loss_time_diffusion",
    "h-transform: u = (1-q) t0 solves L u = -(1-q), u(0) = u(1) = 0 (symbolic); numerical comparison with the exact chain",
)
def prove_k2_conditional_loss_time_diffusion(steps: Steps) -> None:
    t0 = expr_of("wf.k2.conditional_loss_time_diffusion")
    u = (1 - q) * t0
    steps.equal("L u = -(1-q)", _generator_1d(u), -(1 - q))
    steps.check("u(0+) = u(1-) = 0", sp.limit(u, q, 0, "+") == 0 and sp.limit(u, q, 1, "-") == 0)
    approx, exact = numeric_of("wf.k2.conditional_loss_time_diffusion"), numeric_of("wf.k2.conditional_loss_time_exact")
    errs = [abs(approx(M=s, q=0.25) / exact(M=s, k=s // 4) - 1) for s in (20, 80, 320)]
    steps.numeric = True
    steps.check(
        "relative error vs exact chain decreases (M = 20, 80, 320; q = 1/4)", errs[0] > errs[1] > errs[2], str(errs)
    )


@proves(
    "wf.k2.conditional_fixation_time_diffusion",
    "h-transform: u = q t1 solves L u = -q, u(0) = u(1) = 0; limit 2M as q -> 0 (symbolic)",
)
def prove_k2_conditional_fixation_time_diffusion(steps: Steps) -> None:
    t1 = expr_of("wf.k2.conditional_fixation_time_diffusion")
    u = q * t1
    steps.equal("L u = -q", _generator_1d(u), -q)
    steps.check("u(0+) = u(1-) = 0", sp.limit(u, q, 0, "+") == 0 and sp.limit(u, q, 1, "-") == 0)
    steps.check("t1 -> 2M as q -> 0", sp.limit(t1, q, 0, "+") == 2 * M)


@proves(
    "wf.k2.median_loss_time_feller",
    "Feller diffusion: u = exp(-2x/t) solves u_t = (x/2) u_xx with u(0,t) = 1 (symbolic); median solved; numerical comparison",
)
def prove_k2_median_loss_time_feller(steps: Steps) -> None:
    x, tt = sp.symbols("x t_f", positive=True)
    u = sp.exp(-2 * x / tt)
    steps.equal("u_t = (x/2) u_xx", sp.diff(u, tt), x / 2 * sp.diff(u, x, 2))
    steps.check("u(0, t) = 1 and u(x, 0+) = 0", u.subs(x, 0) == 1 and sp.limit(u, tt, 0, "+") == 0)
    median = sp.solve(sp.Eq(u.subs(x, k), sp.Rational(1, 2)), tt)
    steps.equal("median of P(lost by t) = exp(-2k/t)", expr_of("wf.k2.median_loss_time_feller"), median[0])
    approx, exact = numeric_of("wf.k2.median_loss_time_feller"), numeric_of("wf.k2.median_loss_time_exact")
    errs = [abs(approx(k=c) / exact(M=1000, k=c) - 1) for c in (5, 20)]
    steps.numeric = True
    steps.check("within 12% of the exact chain median at M = 1000, k = 5, 20", max(errs) < 0.12, str(errs))


@proves(
    "wf.accumulate.mean_heterozygosity",
    "E[H_{m+1}|p_m] = H_m (1 - 1/(M (m+1)^2)) from multinomial moments (K = 3, symbolic m); n = 1..6 unrolled",
)
def prove_accumulate_mean_heterozygosity(steps: Steps) -> None:
    mm = sp.Symbol("m_gen", integer=True, positive=True)
    deltas = sp.symbols("d1 d2 d3", real=True)
    new = [x + dlt / (mm + 1) for x, dlt in zip(_P, deltas, strict=True)]
    second = sp.expand(sum(v**2 for v in new))
    second = second.subs({dlt: 0 for dlt in deltas}) + sum(
        second.coeff(dlt, 2) * x * (1 - x) / M for x, dlt in zip(_P, deltas, strict=True)
    )  # E delta_i = 0, E delta_i^2 = p_i(1-p_i)/M (multinomial)
    h_next = sp.expand((1 - second).subs(_CONSTRAINT))
    target = sp.expand((_het(_P) * (1 - 1 / (M * (mm + 1) ** 2))).subs(_CONSTRAINT))
    steps.equal("one-step factor 1 - 1/(M (m+1)^2)", h_next, target)
    f = expr_of("wf.accumulate.mean_heterozygosity")
    h = H0 * (1 - 1 / M)  # model 1 = empirical law of M real samples (replace step)
    for m in range(1, 7):
        steps.equal(f"n = {m}", unroll(f.subs(n, m)), h)
        h = h * (1 - 1 / (M * (m + 1) ** 2))


@proves(
    "wf.accumulate.limit_heterozygosity",
    "Euler's product for sin (Gamma form, Gamma-ratio limit, reflection; symbolic)",
)
def prove_accumulate_limit_heterozygosity(steps: Steps) -> None:
    ok, detail = euler_sinc()
    steps.check("Euler: prod_{j>=1} (1 - x^2/j^2) = sin(pi x)/(pi x)", ok, detail)
    x = 1 / sp.sqrt(M)
    steps.equal(
        "registry = H0 sinc(1/sqrt(M))",
        expr_of("wf.accumulate.limit_heterozygosity"),
        H0 * sp.sin(sp.pi * x) / (sp.pi * x),
    )


_P0 = sp.symbols("a1 a2 a3", positive=True)  # the real distribution p0
_Q2 = sp.symbols("q1 q2 q3", positive=True)  # E p_{t,i}^2


def _het_recursion(second_moment) -> tuple[sp.Expr, sp.Expr]:
    """``(E H_{t+1}, E H_t)`` given ``E p'_i^2`` as a function of (p0_i, E p_i = p0_i, E p_i^2)."""
    h_next = 1 - sum(second_moment(a, b) for a, b in zip(_P0, _Q2, strict=True))
    h_t = 1 - sum(_Q2)
    return sp.expand(h_next), h_t


def _solve_stationary(h_next: sp.Expr, h_t: sp.Expr) -> sp.Expr:
    """Write ``E H_{t+1} = c1 H_t + c2 H_0 + c3`` (coefficient matching) and solve the fixed point."""
    hs = sp.Symbol("H_s")
    c1, c2, c3 = sp.symbols("c1:4")
    sub = {_Q2[2]: 1 - hs - _Q2[0] - _Q2[1], _P0[2]: 1 - _P0[0] - _P0[1]}
    het0 = _het(_P0).subs(sub)
    diff = sp.expand(h_next.subs(sub) - (c1 * hs + c2 * het0 + c3))
    eqs = sp.Poly(diff, hs, _Q2[0], _Q2[1], _P0[0], _P0[1]).coeffs()
    sol = sp.solve(eqs, [c1, c2, c3], dict=True)
    if len(sol) != 1:
        raise ValueError("recursion is not linear in (H_t, H_0)")
    coef = sol[0]
    return sp.solve(sp.Eq(hs, coef[c1] * hs + coef[c2] * H0 + coef[c3]), hs)[0]


@proves(
    "wf.mixture.h_star",
    "heterozygosity recursion from multinomial moments (K = 3, symbolic); fixed point by sympy.solve",
)
def prove_mixture_h_star(steps: Steps) -> None:
    def second(a, b):
        er2 = alpha**2 * a**2 + 2 * alpha * (1 - alpha) * a * a + (1 - alpha) ** 2 * b  # E r_i^2
        return er2 + (a - er2) / M  # E[(X/M)^2] = r^2 + r(1-r)/M, E r = a

    steps.equal("registry = stationary point", expr_of("wf.mixture.h_star"), _solve_stationary(*_het_recursion(second)))


@proves("wf.split.h_star", "heterozygosity recursion of the fixed split (K = 3, symbolic); fixed point by sympy.solve")
def prove_split_h_star(steps: Steps) -> None:
    def second(a, b):
        real = a**2 + a * (1 - a) / (alpha * M)
        syn = b + (a - b) / ((1 - alpha) * M)
        return alpha**2 * real + 2 * alpha * (1 - alpha) * a * a + (1 - alpha) ** 2 * syn

    steps.equal("registry = stationary point", expr_of("wf.split.h_star"), _solve_stationary(*_het_recursion(second)))


@proves("wf.mixture.h_star_large_M", "limit M -> oo of the derived stationary point with alpha = theta/M (sympy.limit)")
def prove_mixture_h_star_large_M(steps: Steps) -> None:  # noqa: N802
    def second(a, b):
        er2 = alpha**2 * a**2 + 2 * alpha * (1 - alpha) * a * a + (1 - alpha) ** 2 * b
        return er2 + (a - er2) / M

    hstar = _solve_stationary(*_het_recursion(second))
    lim = sp.limit(hstar.subs(alpha, theta / M), M, sp.oo)
    steps.equal("limit = registry", expr_of("wf.mixture.h_star_large_M"), lim)
