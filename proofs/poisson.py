"""Proofs of the Poisson-chain results (``collapse_theory.theory.poisson``).

The Poisson probability generating function ``E s^X = exp(lambda (s - 1))`` is derived by
summing the series; ``N_{t+1} | N_t ~ Poisson(N_t)`` is then a Galton-Watson process with
offspring pgf ``f(s) = exp(s - 1)``, so ``P(N_t = 0) = f_t(0)^{N_0}``. The numeric recursion is
checked against an independent propagation of the law of ``N_t``.
"""

from __future__ import annotations

import math

import numpy as np
import sympy as sp
from scipy import stats

from collapse_theory.theory.symbols import N0, M, lam0, t
from proofs._core import Steps, expr_of, numeric_of, proves

_S, _LAM = sp.symbols("s lam_p", positive=True)
_X = sp.Symbol("x_p", integer=True, nonnegative=True)


def _poisson_pgf() -> sp.Expr:
    return sp.simplify(sp.summation(_S**_X * _LAM**_X * sp.exp(-_LAM) / sp.factorial(_X), (_X, 0, sp.oo)))


def _poisson_moment(power: int) -> sp.Expr:
    return sp.simplify(sp.summation(_X**power * _LAM**_X * sp.exp(-_LAM) / sp.factorial(_X), (_X, 0, sp.oo)))


@proves(
    "poisson.extinction_probability",
    "Poisson pgf by series summation; branching property (symbolic); numerical check against the propagated law of N_t",
)
def prove_extinction_probability(steps: Steps) -> None:
    pgf = _poisson_pgf()
    steps.equal("Poisson pgf = exp(lam (s - 1))", pgf, sp.exp(_LAM * (_S - 1)))
    nn = sp.Symbol("N_p", integer=True, positive=True)
    steps.equal(
        "Poisson(N) = N i.i.d. Poisson(1) offspring: exp(N(s-1)) = f(s)^N",
        pgf.subs(_LAM, nn),
        sp.exp(_S - 1) ** nn,
    )
    got = numeric_of("poisson.extinction_probability")
    steps.close("t = 1: P = exp(-N0), N0 = 3", got(N0=3, t=1), math.exp(-3), 1e-14)
    steps.close("t = 2: P = exp(N0 (e^-1 - 1)), N0 = 3", got(N0=3, t=2), math.exp(3 * (math.exp(-1) - 1)), 1e-14)
    cap = 400
    states = np.arange(cap + 1)
    mat = stats.poisson.pmf(states[None, :], states[:, None])
    mat[0] = 0.0
    mat[0, 0] = 1.0
    for start in (2, 10):
        dist = np.zeros(cap + 1)
        dist[start] = 1.0
        for tt in range(1, 31):
            dist = dist @ mat
            if tt in (5, 30):
                steps.close(f"N0 = {start}, t = {tt}: law of N_t propagated", got(N0=start, t=tt), dist[0], 1e-10)


@proves(
    "poisson.extinction_kolmogorov",
    "series 1/y_{t+1} - 1/y_t -> 1/2 for y = 1 - q (symbolic); numerical convergence of the ratio of logs",
)
def prove_extinction_kolmogorov(steps: Steps) -> None:
    y = sp.Symbol("y", positive=True)
    step = sp.series(1 / (1 - sp.exp(-y)) - 1 / y, y, 0, 2).removeO()
    steps.equal("1/y_{t+1} - 1/y_t = 1/2 + y/12 + O(y^2), so 1 - q_t ~ 2/t", step, sp.Rational(1, 2) + y / 12)
    approx = expr_of("poisson.extinction_kolmogorov")
    expected = sp.exp(-N0 * 2 / t)
    steps.equal("q_t^N0 = exp(N0 log(1 - y_t)) ~ exp(-2 N0 / t)", approx, expected)
    exact, approx_f = numeric_of("poisson.extinction_probability"), numeric_of("poisson.extinction_kolmogorov")
    ratios = [math.log(exact(N0=10, t=tt)) / math.log(approx_f(N0=10, t=tt)) for tt in (100, 1000, 10000)]
    steps.numeric = True
    steps.check(
        "log exact / log approx -> 1 (t = 100, 1000, 10000)",
        abs(ratios[0] - 1) > abs(ratios[1] - 1) > abs(ratios[2] - 1) and abs(ratios[2] - 1) < 1e-2,
        str(ratios),
    )


@proves("poisson.mean_rate", "Poisson mean by series summation; tower property (symbolic)")
def prove_mean_rate(steps: Steps) -> None:
    steps.equal("E X = lam for X ~ Poisson(lam)", _poisson_moment(1), _LAM)
    steps.check(
        "E[lam_{t+1} | lam_t] = E[N_{t+1}]/M = N_t/M = lam_t, so E lam_t = lam0", expr_of("poisson.mean_rate") == lam0
    )


@proves("poisson.var_rate", "law of total variance with the Poisson variance (series summation); induction (symbolic)")
def prove_var_rate(steps: Steps) -> None:
    var = sp.simplify(_poisson_moment(2) - _poisson_moment(1) ** 2)
    steps.equal("Var X = lam for X ~ Poisson(lam)", var, _LAM)
    f = expr_of("poisson.var_rate")
    # Var N_{t+1} = E Var(N_{t+1}|N_t) + Var E(N_{t+1}|N_t) = E N_t + Var N_t = M lam0 + Var N_t.
    var_n = M**2 * f
    steps.equal("Var N_0 = 0", var_n.subs(t, 0), 0)
    steps.equal("Var N_{t+1} = M lam0 + Var N_t", var_n.subs(t, t + 1), M * lam0 + var_n)
