"""Checks of the exact Wright-Fisher chain solves (``collapse_theory.theory.wright_fisher_chain``).

These results are algorithmic (a linear solve on the finite chain), so their proofs are
independent recomputations: exact rational first-step analysis with sympy for small ``M``, and
for larger ``M`` a different algorithm (propagating the law of the chain,
``E T = sum_t P(T > t)``) with numpy.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import sympy as sp
from scipy import stats

from proofs._core import Steps, numeric_of, proves


def _linear_solve(eqs: list[sp.Eq], unknowns: list[sp.Symbol]) -> dict:
    """Exact rational solution of a square linear system (fraction-free Gauss-Jordan)."""
    mat, rhs = sp.linear_eq_to_matrix(eqs, unknowns)
    values = mat.LUsolve(rhs)
    return dict(zip(unknowns, values, strict=True))


def _binomial_rows(size: int) -> np.ndarray:
    x = np.arange(size + 1)
    return stats.binom.pmf(x[None, :], size, x[:, None] / size)


@functools.cache
def _exact_times_k2(size: int) -> tuple[sp.Rational, ...]:
    """Exact rational ``E T`` from every count ``1..M-1`` (two states)."""
    tau = sp.symbols(f"tau1:{size}")
    eqs = []
    for x in range(1, size):
        pr = sp.Rational(x, size)
        row = sum(sp.binomial(size, y) * pr**y * (1 - pr) ** (size - y) * tau[y - 1] for y in range(1, size))
        eqs.append(sp.Eq(tau[x - 1], 1 + row))
    sol = _linear_solve(eqs, list(tau))
    return tuple(sol[v] for v in tau)


def _compositions(size: int, parts: int) -> list[tuple[int, ...]]:
    return [c for c in itertools.product(range(size + 1), repeat=parts) if sum(c) == size]


def _multinomial(size: int, counts, probs) -> float | sp.Expr:
    coef = math.factorial(size)
    for c in counts:
        coef //= math.factorial(c)
    out = sp.Integer(coef) if isinstance(probs[0], sp.Basic) else float(coef)
    for c, pr in zip(counts, probs, strict=True):
        out *= pr**c
    return out


@functools.cache
def _exact_times_k3(size: int) -> dict:
    states = [c for c in _compositions(size, 3) if sum(v > 0 for v in c) >= 2]
    tau = {s: sp.Symbol(f"tau_{'_'.join(map(str, s))}") for s in states}
    eqs = []
    for s in states:
        probs = [sp.Rational(v, size) for v in s]
        row = sum(_multinomial(size, d, probs) * tau[d] for d in states)
        eqs.append(sp.Eq(tau[s], 1 + row))
    sol = _linear_solve(eqs, list(tau.values()))
    return {s: sol[tau[s]] for s in states}


def _mean_time_by_propagation(matrix: np.ndarray, start: int, transient: np.ndarray) -> float:
    """``E T = sum_t P(T > t)`` by propagating the law until the surviving mass is < 1e-14."""
    dist = np.zeros(matrix.shape[0])
    dist[start] = 1.0
    total, alive = 0.0, 1.0
    while alive > 1e-14:
        total += alive
        dist = dist @ matrix
        alive = dist[transient].sum()
    return total


def _k3_matrix(size: int):
    states = _compositions(size, 3)
    probs = np.array(states, dtype=float) / size
    mat = np.array([[_multinomial(size, d, list(pr)) for d in states] for pr in probs])
    transient = np.array([sum(v > 0 for v in s) >= 2 for s in states])
    return states, mat, transient


@proves(
    "wf.k2.absorption_time_exact",
    "exact rational first-step analysis (sympy) for M = 2..7; law propagation for M = 30",
)
def prove_k2_absorption_time_exact(steps: Steps) -> None:
    got = numeric_of("wf.k2.absorption_time_exact")
    for size in range(2, 8):
        exact = _exact_times_k2(size)
        worst = max(abs(got(M=size, x=x) - float(exact[x - 1])) for x in range(1, size))
        steps.check(f"M = {size}: every start matches the rational solution", worst < 1e-10, f"max diff {worst:.1e}")
    steps.check("M = 2: E T = 2 (geometric with success 1/2)", _exact_times_k2(2)[0] == 2)
    mat = _binomial_rows(30)
    transient = np.zeros(31, dtype=bool)
    transient[1:30] = True
    for x in (3, 15):
        steps.close(
            f"M = 30, x = {x}: law propagation", got(M=30, x=x), _mean_time_by_propagation(mat, x, transient), 1e-9
        )


@proves(
    "wf.k3.absorption_time_exact",
    "exact rational first-step analysis on all compositions (sympy) for M = 3, 4; law propagation for M = 20",
)
def prove_k3_absorption_time_exact(steps: Steps) -> None:
    got = numeric_of("wf.k3.absorption_time_exact")
    for size in (3, 4):
        exact = _exact_times_k3(size)
        worst = max(abs(got(M=size, x1=s[0], x2=s[1], x3=s[2]) - float(v)) for s, v in exact.items())
        steps.check(f"M = {size}: every start matches the rational solution", worst < 1e-10, f"max diff {worst:.1e}")
    states, mat, transient = _k3_matrix(20)
    ref = _mean_time_by_propagation(mat, states.index((10, 6, 4)), transient)
    steps.close("M = 20, start (10, 6, 4): law propagation", got(M=20, x1=10, x2=6, x3=4), ref, 1e-9)
    k2 = numeric_of("wf.k2.absorption_time_exact")
    steps.close("a zero count reduces to two states", got(M=12, x1=5, x2=0, x3=7), k2(M=12, x=5), 1e-12)


@proves(
    "wf.k2.conditional_loss_time_exact",
    "exact rational solution (sympy) for M = 2..6; law propagation E[T; loss] = sum_t t P(T = t, X_T = 0) for M = 100",
)
def prove_k2_conditional_loss_time_exact(steps: Steps) -> None:
    got = numeric_of("wf.k2.conditional_loss_time_exact")
    for size in range(2, 7):
        u = sp.symbols(f"u1:{size}")
        eqs = []
        for x in range(1, size):
            pr = sp.Rational(x, size)
            row = sum(sp.binomial(size, y) * pr**y * (1 - pr) ** (size - y) * u[y - 1] for y in range(1, size))
            eqs.append(sp.Eq(u[x - 1], 1 - pr + row))
        sol = _linear_solve(eqs, list(u))
        worst = max(abs(got(M=size, k=x) - float(sol[u[x - 1]] / (1 - sp.Rational(x, size)))) for x in range(1, size))
        steps.check(f"M = {size}: rational solution", worst < 1e-10, f"max diff {worst:.1e}")
    mat = _binomial_rows(100)
    for count in (1, 5):
        dist = np.zeros(101)
        dist[count] = 1.0
        acc, lost, t = 0.0, 0.0, 0
        while dist[1:100].sum() > 1e-14:
            t += 1
            dist = dist @ mat
            acc += t * (dist[0] - lost)
            lost = dist[0]
        steps.close(f"M = 100, k = {count}: law propagation", got(M=100, k=count), acc / lost, 1e-9)


@proves(
    "wf.k2.median_loss_time_exact",
    "law propagation with an independently built (scipy.stats) transition matrix, M = 200 and M = 1000",
)
def prove_k2_median_loss_time_exact(steps: Steps) -> None:
    got = numeric_of("wf.k2.median_loss_time_exact")
    for size, counts in ((200, (1, 5, 20)),):
        mat = _binomial_rows(size)
        for count in counts:
            dist = np.zeros(size + 1)
            dist[count] = 1.0
            t = 0
            while dist[0] < 0.5 * (1 - count / size):
                dist = dist @ mat
                t += 1
            steps.check(
                f"M = {size}, k = {count}: median {t}", got(M=size, k=count) == t, f"registry {got(M=size, k=count)}"
            )
    steps.check("M = 1000, k = 1: median 2 (P(X_1 = 0) < 0.4995 <= P(X_2 = 0))", got(M=1000, k=1) == 2)


def _relative_error_body(rid: str, approx_id: str, exact_id: str, cases, kind: str):
    def body(steps: Steps) -> None:
        got, approx, exact = numeric_of(rid), numeric_of(approx_id), numeric_of(exact_id)
        errs = []
        for reg_kw, approx_kw in cases:
            ref = approx(**approx_kw) / exact(**reg_kw) - 1
            steps.close(f"{kind} relative error at {reg_kw}", got(**reg_kw), ref, 1e-12)
            errs.append(abs(ref))
        steps.check("relative error decreases with M", all(a > b for a, b in itertools.pairwise(errs)), str(errs))

    return body


prove_k3_littler_relative_error = proves(
    "wf.k3.littler_relative_error",
    "recomputed from the Littler closed form and the exact chain; monotone decrease in M (numerical)",
)(
    _relative_error_body(
        "wf.k3.littler_relative_error",
        "wf.absorption_time_littler",
        "wf.k3.absorption_time_exact",
        [
            ({"M": s, "x1": s // 2, "x2": 3 * s // 10, "x3": s // 5}, {"M": s, "p": [0.5, 0.3, 0.2]})
            for s in (10, 20, 40)
        ],
        "Littler",
    )
)

prove_k2_kimura_ohta_relative_error = proves(
    "wf.k2.kimura_ohta_relative_error",
    "recomputed from the Kimura-Ohta closed form and the exact chain; monotone decrease in M (numerical)",
)(
    _relative_error_body(
        "wf.k2.kimura_ohta_relative_error",
        "wf.k2.absorption_time_kimura_ohta",
        "wf.k2.absorption_time_exact",
        [({"M": s, "x": s // 4}, {"M": s, "q": 0.25}) for s in (8, 32, 128)],
        "Kimura-Ohta",
    )
)
