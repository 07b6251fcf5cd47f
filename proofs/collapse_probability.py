"""Proofs for the law of sigma_n^2 (``collapse_theory.theory.collapse_probability``).

``log(sigma_n^2/sigma0^2)`` is a sum of ``n`` i.i.d. ``log W``, ``W = chi2_{M-1}/div``. Its
mean and variance come from the cumulant generating function ``log E[W^s]`` (derived by
integrating the chi-square density); its characteristic function is ``E[W^{iu}]``. The exact
CDF is checked against independent references: the chi-square CDF (``n = 1``) and a
one-dimensional convolution integral (``n = 2``), both with mpmath.
"""

from __future__ import annotations

import functools

import mpmath
import sympy as sp

from collapse_theory.theory.symbols import M, eps, n, sigma0, u
from proofs._core import Steps, expr_of, numeric_of, proves
from proofs._lemmas import chi2_mellin, log_moments

_DIV = {"unbiased": M - 1, "mle": M}


def _c(est: str, size: float) -> float:
    return 1 / (size - 1) if est == "unbiased" else 1 / size


def _cdf_w(est: str, size: int, y):
    """``P(W < y)``, ``W = chi2_{M-1}/div`` (mpmath)."""
    div = size - 1 if est == "unbiased" else size
    return mpmath.gammainc((size - 1) / mpmath.mpf(2), 0, div * y / 2, regularized=True)


def _pdf_w(est: str, size: int, w):
    div = size - 1 if est == "unbiased" else size
    a = (size - 1) / mpmath.mpf(2)
    z = div * w / 2
    return div / 2 * mpmath.exp((a - 1) * mpmath.log(z) - z - mpmath.loggamma(a))


def _cdf_product2(est: str, size: int, y, lowest: int = -30):
    """``P(W_1 W_2 < y)`` by integrating the density of ``W_1`` against the CDF of ``W_2``.

    The integral runs over ``log w`` in ``[lowest, 12]``; the mass below ``lowest`` is
    ``P(W_1 < e^lowest)``, negligible for the ``y`` used here.
    """

    def integrand(t):
        w = mpmath.exp(t)
        return _pdf_w(est, size, w) * w * _cdf_w(est, size, y / w)

    return mpmath.quad(integrand, [mpmath.mpf(t) for t in range(lowest, 13, 3)])


@functools.cache
def _gamma_product_cdf(power: int):
    """``P(G_1 G_2 < 10^-power)`` for ``G ~ Gamma(3/2)`` (``M = 4``), mpmath 30 digits."""
    with mpmath.workdps(30):
        # W = chi2_3 / 3 (unbiased, M = 4) = (2/3) G, so G_1 G_2 < y iff W_1 W_2 < (4/9) y.
        return _cdf_product2("unbiased", 4, mpmath.mpf(10) ** (-power) * mpmath.mpf(4) / 9, lowest=-90)


def _as_rate(est: str):
    rid = f"gaussian.replace.{est}.as_rate"

    def body(steps: Steps) -> None:
        mean_log, _ = log_moments(M - 1, 1 / _DIV[est])
        steps.equal("rate = E log W (SLLN for the random walk log sigma^2)", expr_of(rid), mean_log)
        mean_w = (1 / _DIV[est]) * chi2_mellin(1, M - 1)
        steps.equal("E W = (M-1)/div from the chi-square mean", mean_w, (M - 1) / _DIV[est])
        steps.check(
            "Jensen: E log W < log E W = log((M-1)/div) <= 0",
            sp.cancel((M - 1) / _DIV[est] - 1).is_nonpositive,
        )
        f = sp.lambdify(M, expr_of(rid), "mpmath")
        steps.numeric = True
        steps.check("rate < 0 on M in {2, 3, 10, 100, 1e4}", all(f(v) < 0 for v in (2, 3, 10, 100, 10_000)))

    return proves(rid, "SLLN + cumulant generating function of log W (symbolic); Jensen")(body)


prove_unbiased_as_rate = _as_rate("unbiased")
prove_mle_as_rate = _as_rate("mle")


def _gil_pelaez(est: str):
    rid = f"gaussian.replace.{est}.prob_sigma2_below"
    cases = [(4, 1, 0.3, 1.0), (10, 2, 0.5, 1.2), (3, 2, 0.05, 1.0), (25, 2, 0.9, 0.8)]

    def body(steps: Steps) -> None:
        expr = expr_of(rid)
        integral = next(iter(expr.atoms(sp.Integral)))
        k = M - 1
        phi = chi2_mellin(sp.I * u, k) / _DIV[est] ** (sp.I * u)
        x = sp.log(eps / sigma0**2)
        derived = sp.im(sp.exp(-sp.I * u * x) * phi**n) / u
        f_reg = sp.lambdify((u, M, n, eps, sigma0), integral.function, "mpmath")
        f_der = sp.lambdify((u, M, n, eps, sigma0), derived, "mpmath")
        with mpmath.workdps(25):
            args = [mpmath.mpf(10), 3, mpmath.mpf("0.4"), mpmath.mpf("1.1")]
            worst = max(
                abs(f_reg(mpmath.mpf(uu), *args) - f_der(mpmath.mpf(uu), *args)) for uu in ("0.05", "0.7", "2.5", "9")
            )
        steps.check(
            "integrand = Im[e^{-iux} E(W^{iu})^n]/u (E W^{iu} from the Mellin transform)", worst < 1e-20, f"{worst}"
        )
        num = numeric_of(rid)
        for size, gens, e_val, s0 in cases:
            y = mpmath.mpf(e_val) / mpmath.mpf(s0) ** 2
            with mpmath.workdps(15):
                ref = _cdf_w(est, size, y) if gens == 1 else _cdf_product2(est, size, y)
            got = num(M=size, n=gens, eps=e_val, sigma0=s0)
            steps.close(f"numeric callable vs reference, M={size} n={gens} eps={e_val}", got, float(ref), 1e-9)
        size, gens, e_val, s0 = cases[1]
        with mpmath.workdps(20):
            pars = (mpmath.mpf(size), gens, mpmath.mpf(e_val), mpmath.mpf(s0))
            f = lambda t: f_reg(t, *pars)  # noqa: E731
            val = 0.5 - mpmath.quad(f, [0, 0.5, 2, 8, 30, 80]) / mpmath.pi
            ref = _cdf_product2(est, size, mpmath.mpf(e_val) / s0**2)
        steps.close("registry integral (mpmath quadrature) vs convolution reference", float(val), float(ref), 1e-9)

    return proves(
        rid,
        "characteristic function from the Mellin transform (checked at 25 digits); numerical check of the "
        "Gil-Pelaez integral (mpmath quadrature) and of the float64 scipy callable against the chi-square CDF "
        "(n = 1) and a convolution integral (n = 2), mpmath, agreement 1e-9",
    )(body)


prove_unbiased_prob_sigma2_below = _gil_pelaez("unbiased")
prove_mle_prob_sigma2_below = _gil_pelaez("mle")


def _clt(est: str):
    rid = f"gaussian.replace.{est}.prob_sigma2_below_clt"

    def body(steps: Steps) -> None:
        mean_log, var_log = log_moments(M - 1, 1 / _DIV[est])
        z = (sp.log(eps / sigma0**2) - n * mean_log) / sp.sqrt(n * var_log)
        steps.equal("Phi((x - n E log W)/sqrt(n Var log W))", expr_of(rid), (1 + sp.erf(z / sp.sqrt(2))) / 2)

    return proves(rid, "CLT for the random walk log sigma_n^2; moments from the CGF (symbolic)")(body)


prove_unbiased_prob_sigma2_below_clt = _clt("unbiased")
prove_mle_prob_sigma2_below_clt = _clt("mle")


def _chernoff(est: str):
    rid = f"gaussian.replace.{est}.upper_tail_chernoff"
    theta = sp.Rational(1, 2) if est == "unbiased" else sp.Integer(1)

    def body(steps: Steps) -> None:
        mellin = (1 / _DIV[est]) ** theta * chi2_mellin(theta, M - 1)
        derived = (sigma0**2 / eps) ** theta * mellin**n
        steps.equal(
            f"Markov on sigma_n^(2 theta), theta = {theta}: (sigma0^2/eps)^theta (E W^theta)^n",
            expr_of(rid),
            derived,
        )
        bound = numeric_of(rid)
        exact = numeric_of(f"gaussian.replace.{est}.prob_sigma2_below")
        for size, gens, e_val in ((10, 20, 1.0), (10, 50, 0.5), (100, 200, 0.2)):
            tail = 1 - exact(M=size, n=gens, eps=e_val, sigma0=1.0)
            steps.check(
                f"bound >= exact tail at M={size} n={gens}", bound(M=size, n=gens, eps=e_val, sigma0=1.0) >= tail
            )

    return proves(rid, "Markov inequality on sigma_n^(2 theta) with the chi-square Mellin transform (symbolic)")(body)


prove_unbiased_upper_tail_chernoff = _chernoff("unbiased")
prove_mle_upper_tail_chernoff = _chernoff("mle")


def _cramer(est: str):
    rid = f"gaussian.replace.{est}.cramer_exponent"

    def body(steps: Steps) -> None:
        got = numeric_of(rid)
        for size in (3, 10, 100):
            with mpmath.workdps(30):
                a = mpmath.mpf(size - 1) / 2
                l2c = mpmath.log(2 * mpmath.mpf(_c(est, size)))
                th = mpmath.findroot(lambda t: l2c + mpmath.digamma(a + t), 0.5 if est == "unbiased" else 1.0)
                ref = -(th * l2c + mpmath.loggamma(a + th) - mpmath.loggamma(a))
            steps.close(f"I(M={size}) vs mpmath stationary point", got(M=size), float(ref), 1e-9)
        big = 1000
        approx = 1 / (4 * (big - 1)) if est == "unbiased" else float(mpmath.log(mpmath.mpf(big) / (big - 1)))
        steps.close("large-M form of I at M = 1000", got(M=big), approx, 1e-2)

    return proves(rid, "numerical check: stationary point of log E W^theta by mpmath findroot, 30 digits")(body)


prove_unbiased_cramer_exponent = _cramer("unbiased")
prove_mle_cramer_exponent = _cramer("mle")


def _small_eps(est: str):
    rid = f"gaussian.replace.{est}.prob_sigma2_below_small_eps"

    def body(steps: Steps) -> None:
        asym = expr_of(rid)
        k = M - 1
        c = 1 / _DIV[est]
        y = eps / (sigma0**2 * 2 * c)
        exact1 = sp.lowergamma(k / 2, y) / sp.gamma(k / 2)
        ratio = sp.simplify(sp.diff(exact1, eps) / sp.diff(asym.subs(n, 1), eps))
        lim = sp.limit(ratio.subs({M: 5, sigma0: 1}), eps, 0)
        steps.check("n = 1: P / asymptote -> 1 (L'Hopital, symbolic at M = 5)", lim == 1, f"limit {lim}")
        f_asym = sp.lambdify((M, n, eps, sigma0), asym, "mpmath")
        ratios = []
        with mpmath.workdps(30):
            for power in (2, 4, 8, 16, 32):
                yy = mpmath.mpf(10) ** (-power)
                e_val = yy * (2 * mpmath.mpf(_c(est, 4))) ** 2
                exact2 = _gamma_product_cdf(power)
                ratios.append(exact2 / f_asym(mpmath.mpf(4), 2, e_val, mpmath.mpf(1)))
        steps.numeric = True
        steps.check(
            "n = 2, M = 4: ratio increases to 1 for y = 1e-2 .. 1e-32",
            all(a < b for a, b in zip(ratios, ratios[1:], strict=False)) and 0.99 < ratios[-1] < 1,
            ", ".join(mpmath.nstr(r, 6) for r in ratios),
        )
        scaled = [(1 - r) * p * mpmath.log(10) for r, p in zip(ratios, (2, 4, 8, 16, 32), strict=True)]
        steps.check(
            "relative error ~ const/ln(1/y)",
            all(0.3 < s < 0.7 for s in scaled),
            ", ".join(mpmath.nstr(s, 3) for s in scaled),
        )

    return proves(
        rid,
        "n = 1 by a symbolic limit (L'Hopital); n = 2 numerical check (convolution, mpmath 30 digits)",
    )(body)


prove_unbiased_prob_sigma2_below_small_eps = _small_eps("unbiased")
prove_mle_prob_sigma2_below_small_eps = _small_eps("mle")
