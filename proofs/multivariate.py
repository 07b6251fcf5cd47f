"""Proofs of the d-dimensional Gaussian replace results (``collapse_theory.theory.multivariate``).

Lemmas: Bartlett's decomposition (cited) writes ``Wishart_d(k, I) = L L^T`` with independent
``L_jj^2 ~ chi2_{k-j+1}`` and standard normal off-diagonals, so ``log det`` is a sum of
chi-square logs, whose means follow from the chi-square Mellin transform. The Wishart mean
``E[sum_l z_l z_l^T] = k I`` is computed from normal moments.
"""

from __future__ import annotations

import mpmath
import sympy as sp

from collapse_theory.theory.symbols import M, d, j, logdet0, n, tr0
from proofs._core import Steps, expr_of, proves
from proofs._lemmas import expectation, log_moments


def _drift_term(index: sp.Expr) -> sp.Expr:
    """``E log chi2_{M-index} - log(M-1)``: one Bartlett factor of ``det(W/(M-1))``."""
    mean_log, _ = log_moments(M - index, sp.Integer(1))
    return mean_log - sp.log(M - 1)


def _check_drift(steps: Steps, drift: sp.Expr) -> None:
    summand = drift.function if isinstance(drift, sp.Sum) else None
    steps.check("drift is a sum over j = 1..d", summand is not None and drift.limits[0][1:] == (1, d))
    if summand is None:
        return
    steps.equal("summand = E log chi2_{M-j} - log(M-1)", summand, _drift_term(j))
    for dim in (1, 2, 3, 4):
        explicit = sp.Add(*[_drift_term(sp.Integer(jj)) for jj in range(1, dim + 1)])
        steps.equal(f"d = {dim}: sum evaluates to the Bartlett sum", drift.subs(d, dim).doit(), explicit)


@proves(
    "multivariate.replace.mean_log_det",
    "Bartlett decomposition (cited) + chi-square log-moments (symbolic); induction on n",
)
def prove_mean_log_det(steps: Steps) -> None:
    a, b, c = sp.symbols("a b c", positive=True)
    sig = sp.Matrix([[a, b], [b, c]])
    wm = sp.Matrix(2, 2, sp.symbols("w0:4"))
    steps.check(
        "det(S^{1/2} W S^{1/2}) = det S det W (multiplicativity, 2x2 check)",
        sp.expand((sig * wm * sig).det() - sig.det() ** 2 * wm.det()) == 0,
    )
    f = expr_of("multivariate.replace.mean_log_det")
    steps.equal("f(0) = log det Sigma_0", f.subs(n, 0), logdet0)
    drift = sp.diff(f, n)
    steps.check(
        "f(n) = f(0) + n * drift with a drift free of n (so f(n+1) - f(n) = drift)",
        not drift.has(n) and sp.expand(f - f.subs(n, 0) - n * drift) == 0,
    )
    _check_drift(steps, drift)


@proves(
    "multivariate.replace.log_det_as_rate",
    "SLLN on the Bartlett random walk; negativity from psi(x) < log x (cited) and a numerical check",
)
def prove_log_det_as_rate(steps: Steps) -> None:
    rate = expr_of("multivariate.replace.log_det_as_rate")
    _check_drift(steps, rate)
    # psi((M-j)/2) < log((M-j)/2), so each term < log((M-j)/(M-1)) <= 0.
    term_bound = sp.log((M - j) / 2) + sp.log(2 / (M - 1))
    steps.equal(
        "term bound = log((M-j)/(M-1))",
        sp.expand_log(term_bound, force=True),
        sp.expand_log(sp.log((M - j) / (M - 1)), force=True),
    )
    f = sp.lambdify((M, d), rate, "mpmath")
    with mpmath.workdps(20):
        ok = all(f(mpmath.mpf(size), dim) < 0 for dim in (1, 2, 3, 5) for size in (dim + 1, dim + 3, 10 * dim, 1000))
    steps.numeric = True
    steps.check("rate < 0 for d in {1,2,3,5}, M in {d+1, d+3, 10d, 1000}", ok)


@proves(
    "multivariate.replace.mean_trace",
    "Wishart mean from normal moments (symbolic, d = 2, 3); tower property",
)
def prove_mean_trace(steps: Steps) -> None:
    for dim in (2, 3):
        z = sp.symbols(f"z0:{dim}", real=True)
        outer = sp.Matrix(dim, dim, lambda r, c: expectation(z[r] * z[c], z))
        steps.check(f"E z z^T = I (d = {dim})", outer == sp.eye(dim))
    steps.check(
        "E[Sigma_{t+1} | Sigma_t] = Sigma_t^{1/2} E[W/(M-1)] Sigma_t^{1/2} = Sigma_t, so E tr Sigma_n = tr Sigma_0",
        expr_of("multivariate.replace.mean_trace") == tr0,
    )


@proves(
    "multivariate.replace.mean_sq_mean_error",
    "induction: E||mu_{t+1}-mu0||^2 = e_t + E tr Sigma_t / M from normal moments (symbolic)",
)
def prove_mean_sq_mean_error(steps: Steps) -> None:
    dim = 2
    z = sp.symbols("z0:2", real=True)
    dev = sp.symbols("dev0:2", real=True)
    root = sp.Matrix(2, 2, sp.symbols("r0:4", real=True))
    noise = root * sp.Matrix(z) / sp.sqrt(M)
    sq = sum((dev[i] + noise[i]) ** 2 for i in range(dim))
    step = expectation(sq, z)
    expected = sum(x**2 for x in dev) + (root * root.T).trace() / M
    steps.check("E||dev + Sigma^{1/2} z/sqrt(M)||^2 = ||dev||^2 + tr Sigma / M", sp.expand(step - expected) == 0)
    f = expr_of("multivariate.replace.mean_sq_mean_error")
    steps.equal("f(0) = 0", f.subs(n, 0), 0)
    steps.equal("f(n+1) - f(n) = tr Sigma_0 / M (E tr Sigma_t = tr Sigma_0)", f.subs(n, n + 1) - f, tr0 / M)
