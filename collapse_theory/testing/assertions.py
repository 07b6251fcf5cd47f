"""Monte Carlo assertions on moments, with derived tolerances.

Every assertion takes a false-failure rate (the probability that a correct implementation fails
it), derives its threshold from that rate, returns an
:class:`~collapse_theory.testing.result.AssertionResult` and raises ``AssertionError`` with that
report on failure. The rate is ``false_fail_rate`` (keyword), or, as in the original API, the
positional ``alpha`` shared by ``k`` comparisons (Bonferroni: each call runs at ``alpha / k``).
Samples must be finite and at least :data:`~collapse_theory.testing.power.MIN_SAMPLES` long.

* :func:`z_threshold`: the two-sided normal quantile for a rate ``alpha`` shared by ``k`` items.
* :func:`assert_mean`: the two-sided one-sample t-test, ``|mean - expected| <= t_{n-1} SE``,
  ``SE = sample SD / sqrt(n)`` (exact for Gaussian data, the z-test of the CLT for large n). Use it
  for light-tailed quantities (log sigma^2, not sigma^2 after many generations).
* :func:`assert_log_moment`: :func:`assert_mean` of ``log x`` (heavy-tailed positive quantities).
* :func:`assert_closed_form`: the mean (or variance) against a closed form of the theory registry.
* :func:`assert_unbiased`: an estimator's mean against the true value (from samples or a family).
* :func:`assert_variance`: the sample variance against an exact variance, SE from the sample fourth
  central moment, ``Var(s^2) ~ (m4 - s^4) / n``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from collapse_theory.testing import power
from collapse_theory.testing.result import AssertionResult, finish
from collapse_theory.testing.samples import as_sample, edgeworth_excess, resolve_rate

__all__ = [
    "z_threshold",
    "resolve_rate",
    "as_sample",
    "assert_ks",
    "assert_two_sample_ks",
    "assert_mean",
    "assert_log_moment",
    "assert_closed_form",
    "assert_unbiased",
    "assert_variance",
]


def z_threshold(alpha: float, k: int = 1) -> float:
    """Two-sided z with P(|Z| > z) = alpha / k."""
    if not (0 < alpha < 1) or k < 1:
        raise ValueError("need 0 < alpha < 1 and k >= 1")
    return float(stats.norm.isf(alpha / (2 * k)))


def _t_result(
    x: np.ndarray, expected: float, rate: float, what: str, test: str, *, transform: str = ""
) -> AssertionResult:
    n = x.size
    est, sd = float(x.mean()), float(x.std(ddof=1))
    se = sd / math.sqrt(n)
    if se > 0:
        t = (est - expected) / se
    else:
        t = 0.0 if est == expected else math.inf
    crit = float(stats.t.isf(rate / 2, n - 1))
    p = float(2 * stats.t.sf(abs(t), n - 1)) if math.isfinite(t) else 0.0
    return AssertionResult(
        test=test,
        what=what,
        statistic=abs(t),
        threshold=crit,
        p_value=p,
        false_fail_rate=rate,
        detect=power.later("mean", chains=n, false_fail_rate=rate, sd=sd),
        discrepancy=f"shift of the mean{transform}",
        n=n,
        passed=bool(abs(t) <= crit),
        estimate=est,
        expected=float(expected),
        se=se,
        legacy=t,
        approximation_error=edgeworth_excess(x, crit),
    )


def assert_mean(
    samples,
    expected: float,
    alpha: float | None = None,
    k: int = 1,
    what: str = "mean",
    *,
    false_fail_rate: float | None = None,
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that the true mean of ``samples`` is ``expected`` (two-sided t-test).

    Args:
        samples: i.i.d. draws (any shape; flattened), finite, at least 20.
        expected: the exact mean.
        alpha: the false-failure rate shared by ``k`` calls (the original positional API).
        k: the number of calls sharing ``alpha``.
        what: a label for the report.
        false_fail_rate: this call's own rate (instead of ``alpha``).
        raise_on_failure: raise ``AssertionError`` on failure (else return the failed result).

    Returns:
        The :class:`AssertionResult`; ``float(result)`` is the t (z) score, as before.

    Example:
        >>> import numpy as np
        >>> x = np.random.default_rng(0).normal(1.0, 2.0, 1000)
        >>> assert_mean(x, 1.0, false_fail_rate=1e-6).passed
        True

    """
    rate = resolve_rate(alpha, k, false_fail_rate)
    x = as_sample(samples, what, power.MIN_SAMPLES["mean"])
    return finish(_t_result(x, float(expected), rate, what, "t-test of a mean"), raise_on_failure)


def assert_log_moment(
    samples,
    expected: float,
    *,
    false_fail_rate: float | None = None,
    what: str = "E log x",
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert ``E log x = expected`` for positive ``samples`` (a t-test of ``log x``).

    The log-moment is the testable summary of a heavy-tailed positive quantity (the fitted
    variance after many generations is log-normal-like: its raw mean is dominated by rare chains,
    its log is light-tailed).

    Args:
        samples: positive draws (a zero or negative value fails: its log is not finite).
        expected: the exact ``E log x``.
        false_fail_rate: the rate (default 1e-4).
        what: a label.
        raise_on_failure: raise on failure.

    """
    rate = resolve_rate(None, 1, false_fail_rate)
    x = np.asarray(samples, dtype=np.float64).ravel()
    if np.any(x <= 0):
        raise AssertionError(f"{what}: {int(np.sum(x <= 0))} of {x.size} samples are not positive")
    with np.errstate(divide="ignore", invalid="ignore"):
        lx = as_sample(np.log(x), what, power.MIN_SAMPLES["mean"])
    res = _t_result(lx, float(expected), rate, what, "t-test of a log-moment", transform=" of log x")
    return finish(res, raise_on_failure)


def assert_closed_form(
    samples,
    result_id: str,
    *,
    moment: str = "mean",
    false_fail_rate: float | None = None,
    what: str | None = None,
    raise_on_failure: bool = True,
    **params,
) -> AssertionResult:
    """Assert that the mean (or variance) of ``samples`` is the registered closed form ``result_id``.

    Only ``exact`` and ``limit`` results are accepted (a ``bound`` or an ``approximation`` has no
    false-failure guarantee as an equality). A limit is compared as if reached: run enough
    generations.

    Args:
        samples: per-chain values of the quantity the result describes (e.g. ``log sigma^2`` for
            ``*.mean_log_sigma2``).
        result_id: an id of :mod:`collapse_theory.theory` (``collapse-theory theory list``).
        moment: ``"mean"`` (:func:`assert_mean`) or ``"variance"`` (:func:`assert_variance`).
        false_fail_rate: the rate (default 1e-4).
        what: a label (default: the id and parameters).
        raise_on_failure: raise on failure.
        **params: the result's parameters (``M=20, n=5, sigma0=1.0``).

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(1)
        >>> s2 = rng.chisquare(9, 20000) / 9  # the unbiased variance of 10 points, one generation
        >>> assert_closed_form(s2, "gaussian.replace.unbiased.mean_sigma2", M=10, n=1, sigma0=1.0).passed
        True

    """
    from collapse_theory.theory import registry

    res = registry.get(result_id)
    if res.kind not in ("exact", "limit"):
        raise ValueError(f"{result_id} is a {res.kind}, not an exact value: a z-test against it has no stated rate")
    expected = registry.evaluate(result_id, **params)
    label = what or f"{result_id}({', '.join(f'{k}={v}' for k, v in params.items())})"
    if moment == "mean":
        return assert_mean(
            samples, expected, what=label, false_fail_rate=false_fail_rate, raise_on_failure=raise_on_failure
        )
    if moment == "variance":
        return assert_variance(
            samples, expected, what=label, false_fail_rate=false_fail_rate, raise_on_failure=raise_on_failure
        )
    raise ValueError(f"moment must be 'mean' or 'variance', got {moment!r}")


def assert_unbiased(
    estimates,
    truth: float | None = None,
    *,
    metric: str | None = None,
    samples: int | None = None,
    chains: int = 20000,
    seed: int = 0,
    false_fail_rate: float | None = None,
    what: str | None = None,
    raise_on_failure: bool = True,
    **settings,
) -> AssertionResult:
    """Assert that an estimator is unbiased: the mean of its estimates is the true value.

    Args:
        estimates: per-chain estimates, or a family (``ct.family`` / ``ct.estimator``): then one
            generation of ``samples`` points is run over ``chains`` chains and ``metric`` of the
            fit is the estimate.
        truth: the true value (for a family, default: ``metric`` at the truth, generation 0).
        metric: the metric to test (families only).
        samples: M (families only; default the engine's).
        chains: chains of the run (families only).
        seed: the run's seed (families only).
        false_fail_rate: the rate (default 1e-4).
        what: a label.
        raise_on_failure: raise on failure.
        **settings: further ``ct.run`` settings (``precision``, ...).

    """
    from collapse_theory.families.spec import FamilySpec

    label = what or "unbiasedness"
    if isinstance(estimates, FamilySpec):
        from collapse_theory.engine import run

        if metric is None:
            raise ValueError("assert_unbiased of a family needs metric=")
        r = run(
            estimates,
            "replace",
            samples=samples,
            generations=1,
            chains=chains,
            seed=seed,
            record=(0, 1),
            **settings,
        )
        if truth is None:
            truth = float(r.values[metric][0][0])
        label = what or f"E {metric} of {estimates.label()} at M={r.config.samples}"
        estimates = r.values[metric][1]
    if truth is None:
        raise ValueError("assert_unbiased needs truth= for samples")
    rate = resolve_rate(None, 1, false_fail_rate)
    x = as_sample(estimates, label, power.MIN_SAMPLES["mean"])
    return finish(_t_result(x, float(truth), rate, label, "t-test of unbiasedness"), raise_on_failure)


def assert_variance(
    samples,
    expected: float,
    alpha: float | None = None,
    k: int = 1,
    what: str = "variance",
    *,
    false_fail_rate: float | None = None,
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that the variance of ``samples`` is ``expected`` (z-test, fourth-moment SE).

    Args:
        samples: i.i.d. draws, finite, at least 100.
        expected: the exact variance.
        alpha: the rate shared by ``k`` calls (original API).
        k: the number of calls sharing ``alpha``.
        what: a label.
        false_fail_rate: this call's own rate.
        raise_on_failure: raise on failure.

    Returns:
        The result; ``float(result)`` is the z-score, as before.

    """
    rate = resolve_rate(alpha, k, false_fail_rate)
    x = as_sample(samples, what, power.MIN_SAMPLES["variance"])
    n = x.size
    c = x - x.mean()
    s2 = float(np.mean(c**2) * n / (n - 1))
    m4 = float(np.mean(c**4))
    se = math.sqrt(max(m4 - s2**2, 0.0) / n)
    z = (s2 - expected) / se if se > 0 else (0.0 if s2 == expected else math.inf)
    crit = float(stats.norm.isf(rate / 2))
    kurt = max(m4 / s2**2, 1.0 + 1e-12) if s2 > 0 else 3.0
    res = AssertionResult(
        test="z-test of a variance",
        what=what,
        statistic=abs(z),
        threshold=crit,
        p_value=float(2 * stats.norm.sf(abs(z))),
        false_fail_rate=rate,
        detect=power.later("variance", chains=n, false_fail_rate=rate, sd=math.sqrt(s2), kurtosis=kurt),
        discrepancy="difference of the variance",
        n=n,
        passed=bool(abs(z) <= crit),
        estimate=s2,
        expected=float(expected),
        se=se,
        legacy=z,
    )
    return finish(res, raise_on_failure)


# The KS assertions live in laws.py; the original module exported them (tests import them from here).
from collapse_theory.testing.laws import assert_ks, assert_two_sample_ks  # noqa: E402
