"""Proofs of the 1-D Gaussian replace moments (``collapse_theory.theory.gaussian``).

Derivation. Cochran's theorem (cited) gives ``SS = sum (x - mean)^2 ~ sigma_t^2 chi2_{M-1}``
independent of the mean ``mean ~ N(mu_t, sigma_t^2/M)``. The estimator divides ``SS`` by
``M - 1`` (unbiased) or ``M`` (MLE), so ``sigma_{t+1}^2 = sigma_t^2 W`` with
``W = chi2_{M-1}/div``. Every moment of ``W`` follows from the chi-square Mellin transform
(:func:`proofs._lemmas.chi2_mellin`, derived by integrating the density); each closed form is
then verified by induction: initial value at ``n = 0`` and the one-step recursion
``f(n+1) = step(f(n))``, both checked symbolically.
"""

from __future__ import annotations

import sympy as sp

from collapse_theory.theory.symbols import M, lam, n, r, sigma0
from proofs._core import Steps, expr_of, is_zero, proves
from proofs._lemmas import chi2_mellin, expectation, log_moments

_K = M - 1
_DIV = {"unbiased": M - 1, "mle": M}
_INDUCTION = "induction: initial value and one-step recursion (from chi-square moments) verified symbolically"


def _mellin_w(s: sp.Expr, est: str, shrink: sp.Expr = sp.Integer(1)) -> sp.Expr:
    """``E[W^s]`` for ``W = shrink * chi2_{M-1} / div``."""
    return (shrink / _DIV[est]) ** s * chi2_mellin(s, _K)


def _step_factor(s: sp.Expr, est: str) -> sp.Expr:
    return sp.gammasimp(_mellin_w(s, est))


def _check_geometric(steps: Steps, f: sp.Expr, initial: sp.Expr, factor: sp.Expr) -> None:
    steps.equal("initial value f(0)", f.subs(n, 0), initial)
    steps.equal("recursion f(n+1) = E[W^s] f(n)", f.subs(n, n + 1), factor * f)


def _mean_sigma2_derived(est: str) -> sp.Expr:
    return sigma0**2 * _step_factor(1, est) ** n


def _mean_error_derived(est: str) -> sp.Expr:
    tt = sp.Symbol("t_sum", integer=True, nonnegative=True)
    return sp.summation(_mean_sigma2_derived(est).subs(n, tt) / M, (tt, 0, n - 1))


def _mean_sigma_derived(est: str) -> sp.Expr:
    return sigma0 * _mellin_w(sp.Rational(1, 2), est) ** n


def _body(est: str, name: str):
    rid = f"gaussian.replace.{est}.{name}"

    def mean_sigma2(steps: Steps) -> None:
        factor = _step_factor(1, est)
        steps.check("E[W] = c(M-1) from the chi-square mean", is_zero(factor - (M - 1) / _DIV[est]))
        _check_geometric(steps, expr_of(rid), sigma0**2, factor)

    def var_sigma2(steps: Steps) -> None:
        mean = _mean_sigma2_derived(est)
        _check_geometric(steps, mean, sigma0**2, _step_factor(1, est))
        second = expr_of(rid) + mean**2
        steps.equal("Var + mean^2 at n = 0 is sigma0^4", second.subs(n, 0), sigma0**4)
        steps.equal(
            "E sigma^4 recursion with E[W^2] = c^2 k (k+2)",
            sp.expand(second.subs(n, n + 1)),
            sp.expand(_step_factor(2, est) * second),
        )

    def moment_sigma_r(steps: Steps) -> None:
        factor = _mellin_w(r / 2, est)
        _check_geometric(steps, expr_of(rid), sigma0**r, factor)

    def mean_sigma(steps: Steps) -> None:
        f = expr_of(rid)
        factor = _mellin_w(sp.Rational(1, 2), est)
        steps.equal("initial value f(0)", f.subs(n, 0), sigma0)
        steps.equal(
            "recursion f(n+1) = E[W^(1/2)] f(n)",
            f.subs(n, n + 1) / f,
            factor,
            points=[{M: 10}, {M: sp.Rational(37, 3)}, {M: 3, n: 2}],
        )

    def mean_log_sigma2(steps: Steps) -> None:
        mean_log, _ = log_moments(_K, 1 / _DIV[est])
        f = expr_of(rid)
        steps.equal("initial value f(0) = log sigma0^2", f.subs(n, 0), sp.log(sigma0**2))
        steps.equal("recursion f(n+1) = f(n) + E log W (CGF derivative)", f.subs(n, n + 1) - f, mean_log)

    def var_log_sigma2(steps: Steps) -> None:
        _, var_log = log_moments(_K, 1 / _DIV[est])
        f = expr_of(rid)
        steps.equal("initial value f(0) = 0", f.subs(n, 0), 0)
        steps.equal("recursion f(n+1) = f(n) + Var log W (independent steps)", f.subs(n, n + 1) - f, var_log)

    def mean_sq_mean_error(steps: Steps) -> None:
        z, dev, sd = sp.symbols("z dev sd", real=True)
        e_t, s_t = sp.symbols("e_t s_t", positive=True)
        step = expectation((dev + sd * z / sp.sqrt(M)) ** 2, (z,), {dev**2: e_t, sd**2: s_t})
        steps.equal("E(mu_{t+1}-mu0)^2 = e_t + E sigma_t^2 / M", step, e_t + s_t / M)
        f = expr_of(rid)
        steps.equal("initial value f(0) = 0", f.subs(n, 0), 0)
        steps.equal("recursion with E sigma_n^2 derived", f.subs(n, n + 1) - f, _mean_sigma2_derived(est) / M)

    def mean_w2sq(steps: Steps) -> None:
        z, a, b, s, t = sp.symbols("z a b s t", real=True)
        w2 = expectation((a + s * z - b - t * z) ** 2, (z,))
        steps.equal("W2^2 of 1-D Gaussians via the quantile coupling", w2, (a - b) ** 2 + (s - t) ** 2)
        derived = (
            _mean_error_derived(est) + _mean_sigma2_derived(est) - 2 * sigma0 * _mean_sigma_derived(est) + sigma0**2
        )
        steps.equal(
            "E W2^2 = E(mu-mu0)^2 + E sigma^2 - 2 sigma0 E sigma + sigma0^2",
            expr_of(rid),
            derived,
            points=[{M: 10, n: 5, sigma0: 1}, {M: sp.Rational(27, 2), n: 7, sigma0: 2}],
        )

    return {
        "mean_sigma2": mean_sigma2,
        "var_sigma2": var_sigma2,
        "moment_sigma_r": moment_sigma_r,
        "mean_sigma": mean_sigma,
        "mean_log_sigma2": mean_log_sigma2,
        "var_log_sigma2": var_log_sigma2,
        "mean_sq_mean_error": mean_sq_mean_error,
        "mean_w2sq": mean_w2sq,
    }[name]


def _make(est: str, name: str):
    return proves(f"gaussian.replace.{est}.{name}", _INDUCTION)(_body(est, name))


prove_unbiased_mean_sigma2 = _make("unbiased", "mean_sigma2")
prove_unbiased_var_sigma2 = _make("unbiased", "var_sigma2")
prove_unbiased_moment_sigma_r = _make("unbiased", "moment_sigma_r")
prove_unbiased_mean_sigma = _make("unbiased", "mean_sigma")
prove_unbiased_mean_log_sigma2 = _make("unbiased", "mean_log_sigma2")
prove_unbiased_var_log_sigma2 = _make("unbiased", "var_log_sigma2")
prove_unbiased_mean_sq_mean_error = _make("unbiased", "mean_sq_mean_error")
prove_unbiased_mean_w2sq = _make("unbiased", "mean_w2sq")
prove_mle_mean_sigma2 = _make("mle", "mean_sigma2")
prove_mle_var_sigma2 = _make("mle", "var_sigma2")
prove_mle_moment_sigma_r = _make("mle", "moment_sigma_r")
prove_mle_mean_sigma = _make("mle", "mean_sigma")
prove_mle_mean_log_sigma2 = _make("mle", "mean_log_sigma2")
prove_mle_var_log_sigma2 = _make("mle", "var_log_sigma2")
prove_mle_mean_sq_mean_error = _make("mle", "mean_sq_mean_error")
prove_mle_mean_w2sq = _make("mle", "mean_w2sq")


@proves(
    "gaussian.replace.unbiased.biased_sampling_mean_sigma2",
    "induction: E[W] = lam from the chi-square mean of lam chi2_{M-1}/(M-1), verified symbolically",
)
def prove_biased_sampling_mean_sigma2(steps: Steps) -> None:
    factor = sp.gammasimp(_mellin_w(1, "unbiased", shrink=lam))
    steps.equal("E[W] = lam", factor, lam)
    _check_geometric(steps, expr_of("gaussian.replace.unbiased.biased_sampling_mean_sigma2"), sigma0**2, factor)
