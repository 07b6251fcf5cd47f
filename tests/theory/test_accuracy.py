"""Accuracy at extreme-but-valid values, against mpmath at 50 significant digits or more.

Tolerances, derived:

* Expressions (``numeric.adaptive``): two evaluations agree to ``2^-62`` relative before the
  second is rounded to float64 (half an ulp, ``2^-53``); the reference has 50 correct digits.
  So ``|value - ref| <= (2^-53 + 2^-62) |ref|``; the test allows ``REL_EXPR = 2^-51``.
* Float64 kernels (``collapse_theory.theory.kernels`` and the mean-error series): their
  docstrings bound the relative error by a few ``u`` per term (``8u`` for ``log c4``) plus
  ``3u (ln n + 1)`` for the running product; ``REL_KERNEL = 1e-14`` (about 90 ``u``) covers it.
* Values below the float64 range compare as rounded (subnormals carry absolute error
  ``2^-1075``); values above it must come back as ``inf``.
"""

from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp
from theory.valid_points import base_point, grid

from collapse_theory.theory import accumulate, kernels, numeric, poisson, registry

REL_EXPR = 2.0**-51
REL_KERNEL = 1e-14
TINY = 2.2250738585072014e-308
EXPR_RESULTS = [r for r in registry.all_results() if r.numeric is None and not r.expr.has(sp.Sum, sp.Product)]


def _close(value: float, ref: mpmath.mpf, rel: float) -> bool:
    if abs(ref) > 1.7976931348623157e308:
        return math.isinf(value) and (value > 0) == (ref > 0)
    if abs(ref) < TINY:
        return abs(value - float(ref)) <= 2.0**-1074
    return bool(abs(mpmath.mpf(value) - ref) <= rel * abs(ref))


def _plain(expr: sp.Expr, rewrite: bool = True):
    """The expression lambdified for the reference, fixed precision, no escalation logic.

    With ``rewrite``, the bridge's exact rewrites (``1/Gamma -> rgamma``, ``sin(pi z) ->
    sinpi``, ``1 + erf -> erfc``; identities, checked against the plain form by
    :func:`test_rewrites_are_identities`) keep normal tails from needing thousands of digits.
    """
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    form = numeric._stable_forms(expr) if rewrite else expr
    return sp.lambdify(symbols, form, modules=numeric._MODULES), [s.name for s in symbols]


def _reference(expr: sp.Expr, point: dict) -> mpmath.mpf | None:
    """``expr`` at ``point`` to 50 digits, or None at a pole of the plain form.

    The form at ``d`` and ``d + 50`` digits must agree to ``10^-50`` relative, ``d`` doubling
    from at least 50 digits more than :func:`numeric.start_dps`. Values at the noise level of
    the precision (an exact zero, ``sin(pi)``, a normal tail below it) count as zero only once
    ``d >= 700``: a float64 value (above 1e-324) cancelled from terms below 1e300 needs fewer.
    """
    fn, names = _plain(expr)
    # Two fixed ladders (mpmath caches its Bernoulli numbers per precision): 100 digits when the
    # inputs' magnitudes add at most 20 (start_dps <= 50), else 400 (start_dps <= 360 always).
    dps = 100 if numeric.start_dps(point) <= 50 else 400
    while dps < 6000:
        values = []
        for digits in (dps, dps + 50):
            with mpmath.workdps(digits):
                try:
                    v = mpmath.mpmathify(fn(*[mpmath.mpf(point[n]) for n in names]))
                except (ValueError, ZeroDivisionError):
                    return None  # a removable pole of the plain form (e.g. 1/Gamma(0)); checked separately
                values.append(+(v.real if isinstance(v, mpmath.mpc) else v))
        with mpmath.workdps(dps):
            noise = mpmath.mpf(10) ** (-dps // 2)
            if abs(values[0]) <= noise and abs(values[1]) <= noise:
                if dps >= 700:
                    return mpmath.mpf(0)
            elif abs(values[0] - values[1]) <= mpmath.mpf(10) ** -50 * abs(values[1]):
                return values[1]
        dps *= 2
    raise AssertionError(f"no 50-digit reference for {point}")


@pytest.mark.parametrize("res", EXPR_RESULTS, ids=lambda r: r.id)
def test_expressions_at_extreme_values_match_mpmath(res: registry.Result):
    checked = 0
    for point in grid(res, pairs=(("M", "n"),), extremes_only=True):
        ref = _reference(res.expr, point)
        if ref is None:
            continue
        value = registry.evaluate(res.id, **point)
        assert _close(value, ref, REL_EXPR), f"{res.id} at {point}: {value!r} vs {mpmath.nstr(ref, 20)}"
        checked += 1
    assert checked >= 5


@pytest.mark.parametrize(
    "res", [r for r in EXPR_RESULTS if numeric._stable_forms(r.expr) != r.expr], ids=lambda r: r.id
)
def test_rewrites_are_identities(res: registry.Result):
    """Rewritten and plain forms agree to 50 digits at moderate points (no poles, no deep tails)."""
    fast, names = _plain(res.expr)
    slow, _ = _plain(res.expr, rewrite=False)
    point = base_point(res)
    with mpmath.workdps(80):
        args = [mpmath.mpf(point[n]) for n in names]
        a, b = mpmath.mpmathify(fast(*args)), mpmath.mpmathify(slow(*args))
        assert abs(a - b) <= mpmath.mpf(10) ** -50 * abs(b)


@pytest.mark.parametrize(
    ("rid", "params", "approx"),
    [
        # 1 - c4^n and 1 - (1 - 1/M)^n forms at M = 1e40: leading orders n/M (3/2 for the unbiased W2)
        ("gaussian.replace.unbiased.mean_w2sq", dict(M=1e40, n=5, sigma0=1.0), 7.5e-40),
        ("gaussian.replace.mle.mean_w2sq", dict(M=1e40, n=5, sigma0=1.0), 7.5e-40),
        ("gaussian.replace.mle.mean_sq_mean_error", dict(M=1e40, n=5, sigma0=1.0), 5e-40),
        ("gaussian.replace.unbiased.as_rate", dict(M=1e300), -1e-300),
        ("gaussian.replace.unbiased.mean_log_sigma2", dict(M=1e40, n=3, sigma0=1.0), -3e-40),
        # t h^2 + (1 - a^t)(v0 - (M-1) h^2) = 3/M - 1/M^2 at t = 2, v0 = 0: every digit cancels
        ("kde.replace.mean_sq_mean_drift", dict(M=1e40, h=1.0, v0=0.0, t=2), 3e-40),
        ("fresh.weighted.optimal_weight", dict(kappa=1e-300), 1.0),
        ("wf.k2.conditional_fixation_time_diffusion", dict(M=10, q=1e-300), 20.0),
        ("gaussian.replace.unbiased.prob_sigma2_below_clt", dict(M=10, n=5, eps=1e-10, sigma0=1.0), 1.9697834558e-90),
        ("gaussian.replace.unbiased.cramer_exponent", dict(M=1e40), 2.5e-41),
        ("gaussian.replace.mle.cramer_exponent", dict(M=1e40), 1e-40),
        ("multivariate.replace.log_det_as_rate", dict(M=1e40, d=3), -6e-40),
        ("accumulate.unbiased.mean_sigma2", dict(M=10, n=10**300, sigma0=1.0), 0.935141),
    ],
)
def test_catastrophic_cancellations_are_resolved(rid, params, approx):
    """The old evaluation lost every digit here (e.g. ``M=1e40 n=5`` gave 2.0); leading orders by hand."""
    assert registry.evaluate(rid, **params) == pytest.approx(approx, rel=1e-6)


def test_rgamma_poles_give_the_limit():
    """MLE with M = 1: sigma_1 = 0, so E sigma_n = 0 and E W2^2 = 2 sigma0^2 for n >= 1 (1/Gamma(0) = 0)."""
    assert registry.evaluate("gaussian.replace.mle.mean_sigma", M=1, n=3, sigma0=2.0) == 0.0
    assert registry.evaluate("gaussian.replace.mle.mean_w2sq", M=1, n=3, sigma0=2.0) == 8.0
    assert registry.evaluate("gaussian.replace.mle.mean_w2sq", M=1, n=0, sigma0=2.0) == 0.0
    assert registry.evaluate("wf.accumulate.limit_heterozygosity", M=1, H0=0.5) == 0.0  # sin(pi) exactly


# --- numeric callables against independent mpmath computations at 50 digits -------------


def _mp_product(est: str, size: int, n: int) -> mpmath.mpf:
    with mpmath.workdps(60 + 2 * numeric.start_dps({"M": size})):
        m = mpmath.mpf(size)
        first = 1 if est == "unbiased" else 1 - 1 / m
        if est == "unbiased":
            terms = (1 - 1 / (j * (j * m - 1)) for j in range(2, n + 1))
        else:
            terms = (1 - 1 / (j * j * m) for j in range(2, n + 1))
        return first * mpmath.fprod(terms)


@pytest.mark.parametrize("est", ["unbiased", "mle"])
def test_accumulate_products_gamma_form(est):
    for size in (2, 10, 10**6, 10**40):
        for n in (1, 2, 64, 65, 3000):
            got = registry.evaluate(f"accumulate.{est}.mean_sigma2", M=size, n=n, sigma0=1.0)
            assert _close(got, _mp_product(est, size, n), REL_EXPR), (size, n)
    got = registry.evaluate("wf.accumulate.mean_heterozygosity", M=7, n=500, H0=0.5)
    assert _close(got, 0.5 * _mp_product("mle", 7, 500), REL_EXPR)


@pytest.mark.parametrize("est", ["unbiased", "mle"])
def test_accumulate_mean_error_series(est):
    for size in (2, 5, 10**6, 10**40):
        with mpmath.workdps(60 + 2 * numeric.start_dps({"M": size})):
            m = mpmath.mpf(size)
            s = 1 if est == "unbiased" else 1 - 1 / m
            total, refs = mpmath.mpf(1), {}
            for mm in range(2, 3001):
                total += s / mm**2
                j = mm  # s_{mm} for the next term
                s *= 1 - 1 / (j * (j * m - 1)) if est == "unbiased" else 1 - 1 / (j * j * m)
                if mm in (2, 10, 3000):
                    refs[mm] = total / m
        refs[1] = 1 / mpmath.mpf(size)
        for n, ref in refs.items():
            got = registry.evaluate(f"accumulate.{est}.mean_sq_mean_error", M=size, n=n, sigma0=1.0)
            assert _close(got, ref, REL_KERNEL), (size, n)
    # across the switch to the asymptotic tail (N = 10^6): one more term of size s_inf / (N+1)^2 / M
    big = accumulate.DIRECT_TERMS
    a = registry.evaluate_mp(f"accumulate.{est}.mean_sq_mean_error", M=5, n=big, sigma0=1.0)
    b = registry.evaluate_mp(f"accumulate.{est}.mean_sq_mean_error", M=5, n=big + 1, sigma0=1.0)
    s_inf = registry.evaluate(f"accumulate.{est}.limit_sigma2", M=5, sigma0=1.0)
    assert float((b - a) * 5 * (big + 1) ** 2) == pytest.approx(s_inf, rel=1e-5)


def test_schedules_against_the_expression_term_by_term():
    for rid in ("schedules.power.mean_w2sq", "schedules.power.mean_sigma", "schedules.power.mean_sq_mean_error"):
        expr = registry.get(rid).expr
        for m0 in (1 + 2.0**-52, 1.5, 10.0, 1e40):
            for growth in (0.0, 0.5, 1.0, 2.0):
                point = dict(M0=m0, growth=growth, n=150, sigma0=1.0)
                with mpmath.workdps(60 + 2 * numeric.start_dps(point)):
                    ref = numeric._eval(expr, numeric._prepare(expr, point))
                # E sigma_n = sigma0 exp(L): a relative error d of L = sum log c4 becomes |L| d
                rel = (
                    REL_KERNEL * (1 + abs(float(mpmath.log(ref)))) if rid.endswith("sigma") and ref > 0 else REL_KERNEL
                )
                assert _close(registry.evaluate(rid, **point), ref, rel), point


def test_log_c4_kernel():
    for size in (1 + 2.0**-52, 1 + 1e-10, 1.3, 2.0, 7.7, 19.999, 20.0, 39.999, 40.0, 1e3, 1e15, 1e40, 1e300):
        with mpmath.workdps(400):
            m = mpmath.mpf(size)
            ref = mpmath.log(mpmath.sqrt(2 / (m - 1)) * mpmath.gamma(m / 2) / mpmath.gamma((m - 1) / 2))
        assert _close(float(kernels.log_c4(size)), ref, 16 * 2.0**-53), size
    for k, coef in zip(range(1, 24, 2), kernels.LOG_C4_SERIES, strict=True):
        exact = (sp.Rational(1, 2**k) - 2) * sp.bernoulli(k + 1) / (k * (k + 1))
        assert coef == float(exact)


def test_multivariate_drift_closed_form():
    for d, size in ((1, 2), (3, 10), (64, 65), (65, 66), (65, 10**6), (200, 201), (200, 10**40)):
        with mpmath.workdps(60 + 2 * numeric.start_dps({"M": size})):
            m = mpmath.mpf(size)
            ref = mpmath.fsum(mpmath.digamma((m - j) / 2) + mpmath.log(2 / (m - 1)) for j in range(1, d + 1))
        assert _close(registry.evaluate("multivariate.replace.log_det_as_rate", M=size, d=d), ref, REL_EXPR)


def test_vector_sums_and_regression():
    p = [0.4, 0.3, 0.15, 0.1, 0.05]
    for size in (1, 20, 10**6, 10**300):
        with mpmath.workdps(60 + 2 * numeric.start_dps({"M": size})):
            sup = mpmath.fsum(1 - (1 - mpmath.mpf(x)) ** size for x in p)
            lit = -2 * size * mpmath.fsum((1 - mpmath.mpf(x)) * mpmath.log(1 - mpmath.mpf(x)) for x in p)
        assert _close(registry.evaluate("wf.one_step.mean_support", M=size, p=p), sup, REL_KERNEL)
        assert _close(registry.evaluate("wf.absorption_time_littler", M=size, p=p), lit, REL_KERNEL)
    for n in (1, 2, 1000):
        ref = mpmath.mpf(10) / 29 * mpmath.fsum(mpmath.mpf(1) / i**2 for i in range(1, n + 1))
        assert _close(registry.evaluate("regression.accumulate.test_error", sigma=1.0, d=10, T=40, n=n), ref, REL_EXPR)


def test_poisson_iteration_and_fatou_continuation():
    with mpmath.workdps(60):
        gap, refs = mpmath.mpf(1), {}
        for step in range(1, 4001):
            gap = -mpmath.expm1(-gap)
            if step in (1, 5, 1000, 1001, 2500, 4000):
                refs[step] = {n0: mpmath.exp(n0 * mpmath.log1p(-gap)) for n0 in (1, 10, 1000)}
    for t, by_n0 in refs.items():
        for n0, ref in by_n0.items():
            assert _close(registry.evaluate("poisson.extinction_probability", N0=n0, t=t), ref, REL_EXPR), (t, n0)


def _series_mul(a: list, b: list, order: int) -> list:
    return [sum(a[i] * b[k - i] for i in range(k + 1)) for k in range(order)]


def test_fatou_coefficients_solve_the_abel_equation():
    """``Phi(g(e)) - Phi(e) - 1 = O(e^11)``, ``g(e) = 1 - exp(-e) = e G(e)``, in exact rational series.

    ``Phi(e) = 2/e + (1/3) log e + sum_k c_k e^k``, so the residual is
    ``(2/e)(1/G - 1) + (1/3) log G + sum_k c_k e^k (G^k - 1) - 1``; every coefficient up to
    ``e^10`` must vanish.
    """
    from fractions import Fraction

    order = 12
    big_g = [Fraction((-1) ** k, math.factorial(k + 1)) for k in range(order + 1)]  # G = sum (-e)^k/(k+1)!
    inv = [Fraction(1)] + [Fraction(0)] * order  # 1/G by long division
    for k in range(1, order + 1):
        inv[k] = -sum(big_g[i] * inv[k - i] for i in range(1, k + 1))
    h = [Fraction(0)] + big_g[1:]  # log G = log(1 + h) = sum (-1)^(m+1) h^m / m
    log_g, power = [Fraction(0)] * (order + 1), [Fraction(1)] + [Fraction(0)] * order
    for m in range(1, order + 1):
        power = _series_mul(power, h, order + 1)
        log_g = [x + Fraction((-1) ** (m + 1), m) * y for x, y in zip(log_g, power, strict=True)]
    residual = [Fraction(0)] * (order + 1)
    for k in range(order):  # (2/e)(1/G - 1): shift down by one
        residual[k] += 2 * inv[k + 1]
    residual = [x + y / 3 for x, y in zip(residual, log_g, strict=True)]
    residual[0] -= 1
    g_power = [Fraction(1)] + [Fraction(0)] * order
    for k, coef in enumerate(poisson.FATOU, start=1):
        g_power = _series_mul(g_power, big_g, order + 1)
        for i in range(order + 1 - k):
            residual[i + k] += coef * (g_power[i] - (1 if i == 0 else 0))
    assert all(x == 0 for x in residual[:11]), residual[:11]


def test_nig_recursion_by_squaring():
    point = dict(M=10, kappa0=1.0, alpha0=2.0, beta0=1.0, var0=3.0, d0=0.5)
    with mpmath.workdps(60):
        kn, an = mpmath.mpf(11), mpmath.mpf(7)
        r, c = 10 / kn, (kn + 1) / (kn * (an - 1))
        v, d, refs = mpmath.mpf(3), mpmath.mpf("0.5"), {}
        for step in range(1, 1001):
            v, d = c * (1 + 9 * v / 2 + 10 * (d + v / 10) / (2 * kn)), r * r * (d + v / 10)
            refs[step] = v
    for n in (1, 2, 7, 1000):
        got = registry.evaluate("bayes.nig.mean_predictive_variance", **point, n=n)
        assert _close(got, refs[n], REL_EXPR), n


def test_cramer_exponent_against_a_high_precision_root():
    for est in ("unbiased", "mle"):
        for size in (2, 10, 10**6, 10**40):
            with mpmath.workdps(100 + 2 * numeric.start_dps({"M": size})):
                m = mpmath.mpf(size)
                a = (m - 1) / 2
                l2c = mpmath.log(2 / (m - 1 if est == "unbiased" else m))
                th = mpmath.findroot(
                    lambda t, a=a, l2c=l2c: l2c + mpmath.digamma(a + t), 0.5 if est == "unbiased" else 1.0
                )
                ref = -(th * l2c + mpmath.loggamma(a + th) - mpmath.loggamma(a))
            got = registry.evaluate(f"gaussian.replace.{est}.cramer_exponent", M=size)
            assert _close(got, ref, REL_EXPR), (est, size)


def test_exact_collapse_probability_at_one_generation():
    """n = 1: P(sigma_1^2 < eps) = P(chi2_k < eps/(c sigma0^2)), a regularised incomplete Gamma (abs. error 1e-12)."""
    for est in ("unbiased", "mle"):
        for size in (2, 3, 10, 100, 10**4):
            for eps in (1e-3, 0.5, 1.0, 2.0):
                with mpmath.workdps(50):
                    c = mpmath.mpf(1) / (size - 1 if est == "unbiased" else size)
                    ref = mpmath.gammainc((size - 1) / mpmath.mpf(2), 0, eps / (2 * c), regularized=True)
                got = registry.evaluate(f"gaussian.replace.{est}.prob_sigma2_below", M=size, n=1, eps=eps, sigma0=1.0)
                assert abs(got - float(ref)) < 1e-12, (est, size, eps)


def test_wright_fisher_chain_against_exact_rationals():
    """Mean absorption time of the two-state chain: (I - Q) tau = 1 solved in mpmath at 50 digits."""
    for size in (2, 5, 12):
        with mpmath.workdps(50):
            q = mpmath.matrix(size - 1, size - 1)
            for x in range(1, size):
                for y in range(1, size):
                    q[x - 1, y - 1] = (
                        mpmath.binomial(size, y)
                        * (mpmath.mpf(x) / size) ** y
                        * (1 - mpmath.mpf(x) / size) ** (size - y)
                    )
            tau = mpmath.lu_solve(mpmath.eye(size - 1) - q, mpmath.ones(size - 1, 1))
        for x in range(1, size):
            got = registry.evaluate("wf.k2.absorption_time_exact", M=size, x=x)
            assert abs(got - float(tau[x - 1])) <= 1e-13 * float(tau[x - 1]), (size, x)


def test_base_points_are_valid():
    for res in registry.all_results():
        registry.check_params(res.id, **base_point(res))
