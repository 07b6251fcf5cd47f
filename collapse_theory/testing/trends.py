"""Assertions about how a quantity moves: a convergence rate, collapse, growth.

* :func:`assert_rate`: a power law ``E y ~ C x^slope`` (e.g. ``E |mu_M - mu|^2 ~ sigma^2 / M``,
  slope -1) from independent groups of chains, one per ``x``: the slope of ``log mean_i`` on
  ``log x_i`` by weighted least squares (weights ``1 / SE(log mean_i)^2``, delta method), inside
  the derived band ``slope +- z_{1-r/2} SE(slope)``; optionally the chi-square lack-of-fit test of
  the residuals (curvature), the rate then split in two.
* :func:`assert_trend`: the per-chain least-squares slope of ``log values`` (or ``values``) over
  the recorded generations of one run, averaged over chains (i.i.d. across chains, so its SE is
  the chains' SD / sqrt(C)), against a claimed direction and a minimum rate: fails when the data
  put the mean slope on the wrong side of ``-at_least`` (decreasing) or ``at_least`` (increasing)
  with confidence ``1 - rate`` (one-sided t-test).
* :func:`assert_collapse`: the fitted variance goes to 0 (``log sigma^2`` decreases at least at
  ``at_least`` per generation); :func:`assert_grows`: a distance grows (``W2^2`` under replace).

The trend assertions state a claim about the direction and size of the effect: with
``at_least = 0`` a correct implementation fails with probability at most the rate, but an
estimator with no trend at all also fails only rarely; give ``at_least`` (e.g. half the
theoretical rate, :mod:`collapse_theory.theory`) for power against a missing trend. Each result
reports the shortfall of the slope it detects with 80 % power.

* :func:`assert_bounded`: the true mean is at most (or at least) a bound, one-sided t-test,
  Bonferroni over the rows of a ``[generations, chains]`` array: boundedness under accumulate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import numpy as np
from scipy import stats

from collapse_theory.testing import power
from collapse_theory.testing.laws import combine
from collapse_theory.testing.result import AssertionResult, finish
from collapse_theory.testing.samples import as_sample, edgeworth_excess, resolve_rate

__all__ = ["assert_rate", "assert_trend", "assert_collapse", "assert_grows", "assert_bounded", "MAX_RELATIVE_SE"]

MAX_RELATIVE_SE = 0.1
"""The largest relative SE of a group mean on a log scale: the delta method's bias of ``log mean``,
about ``rel_se^2 / 2``, is then under 5 % of its SE."""


def assert_rate(
    x: Sequence[float],
    groups: Sequence,
    slope: float,
    *,
    log_x: bool = True,
    log_y: bool = True,
    check_fit: bool = False,
    false_fail_rate: float | None = None,
    what: str = "rate",
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that ``E y`` follows a power law (or a line) in ``x`` with the given ``slope``.

    Args:
        x: the design points (sample sizes, generations), at least 2 (3 with ``check_fit``).
        groups: one array of i.i.d. per-chain values per ``x``, independent across groups
            (separate runs).
        slope: the claimed slope of ``log E y`` on ``log x`` (or of the untransformed axes).
        log_x: regress on ``log x``.
        log_y: regress ``log`` of the group means.
        check_fit: also test the residuals for lack of fit (chi-square on ``len(x) - 2``
            degrees of freedom); the rate is then split over the two tests.
        false_fail_rate: the total rate (default 1e-4).
        what: a label.
        raise_on_failure: raise on failure.

    Raises:
        ValueError: fewer than 2 design points, or a group too small for the delta method (its
            relative SE is above :data:`MAX_RELATIVE_SE`).

    """
    xs = np.asarray(x, dtype=np.float64)
    if xs.ndim != 1 or xs.size < (3 if check_fit else 2) or xs.size != len(groups):
        raise ValueError("need one group per x and at least 2 design points (3 with check_fit)")
    rate = resolve_rate(None, 2 if check_fit else 1, false_fail_rate)
    ys, ses = [], []
    for xi, g in zip(xs, groups, strict=True):
        v = as_sample(g, f"{what} at x={xi:g}", power.MIN_SAMPLES["mean"])
        m, se = float(v.mean()), float(v.std(ddof=1) / math.sqrt(v.size))
        if log_y:
            if m <= 0 or se / m > MAX_RELATIVE_SE:
                raise ValueError(
                    f"{what} at x={xi:g}: mean {m:.3g} ± {se:.3g}; a log-scale fit needs a positive mean "
                    f"with relative SE <= {MAX_RELATIVE_SE} (more chains)"
                )
            m, se = math.log(m), se / m
        ys.append(m)
        ses.append(max(se, 1e-300))
    u = np.log(xs) if log_x else xs
    y, w = np.asarray(ys), 1.0 / np.square(ses)
    ubar, ybar = np.sum(w * u) / np.sum(w), np.sum(w * y) / np.sum(w)
    sxx = float(np.sum(w * (u - ubar) ** 2))
    b = float(np.sum(w * (u - ubar) * (y - ybar)) / sxx)
    se_b = 1.0 / math.sqrt(sxx)
    z = (b - slope) / se_b
    crit = float(stats.norm.isf(rate / 2))
    items = [
        AssertionResult(
            test="weighted least-squares slope",
            what=f"{what}: slope",
            statistic=abs(z),
            threshold=crit,
            p_value=float(2 * stats.norm.sf(abs(z))),
            false_fail_rate=rate,
            detect=functools.partial(power.z_detectable, se_b, rate),
            discrepancy="difference of the slope",
            n=int(xs.size),
            passed=bool(abs(z) <= crit),
            estimate=b,
            expected=float(slope),
            se=se_b,
        )
    ]
    if check_fit:
        resid = y - ybar - b * (u - ubar)
        q = float(np.sum(w * resid**2))
        dof = xs.size - 2
        crit_q = float(stats.chi2.isf(rate, dof))
        items.append(
            AssertionResult(
                test="chi-square lack of fit",
                what=f"{what}: lack of fit",
                statistic=q,
                threshold=crit_q,
                p_value=float(stats.chi2.sf(q, dof)),
                false_fail_rate=rate,
                detect=None,
                discrepancy="(no stated power formula)",
                n=int(xs.size),
                passed=bool(q <= crit_q),
            )
        )
    return finish(combine(items, what), raise_on_failure)


def _chain_slopes(values, generations, log: bool, what: str) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    t = np.asarray(generations, dtype=np.float64)
    if v.ndim != 2 or v.shape[0] != t.size or t.size < 2:
        raise ValueError(f"{what}: values must be [generations, chains] with at least 2 recorded generations")
    if log:
        if np.any(v <= 0):
            raise AssertionError(f"{what}: {int(np.sum(v <= 0))} values are not positive (log scale)")
        v = np.log(v)
    tc = t - t.mean()
    return (tc @ v) / float(tc @ tc)


def assert_trend(
    values,
    generations: Sequence[int],
    *,
    direction: str = "decreasing",
    at_least: float = 0.0,
    log: bool = True,
    false_fail_rate: float | None = None,
    what: str = "trend",
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that a per-chain quantity moves in ``direction`` at least at rate ``at_least`` per generation.

    Args:
        values: ``[recorded generations, chains]`` (``result.values[metric]``).
        generations: the recorded generations (``result.generations``).
        direction: ``"decreasing"`` or ``"increasing"``.
        at_least: the claimed minimum rate (>= 0) of the slope of ``log values`` (or ``values``).
        log: fit the slope of ``log values`` (a variance collapses geometrically).
        false_fail_rate: the rate (default 1e-4).
        what: a label.
        raise_on_failure: raise on failure.

    """
    if direction not in ("decreasing", "increasing"):
        raise ValueError(f"direction must be 'decreasing' or 'increasing', got {direction!r}")
    if not at_least >= 0:
        raise ValueError(f"at_least must be >= 0, got {at_least!r}")
    rate = resolve_rate(None, 1, false_fail_rate)
    s = as_sample(_chain_slopes(values, generations, log, what), what, power.MIN_SAMPLES["mean"])
    n, est, sd = s.size, float(s.mean()), float(s.std(ddof=1))
    se = sd / math.sqrt(n)
    claim = -at_least if direction == "decreasing" else at_least
    excess = (est - claim) if direction == "decreasing" else (claim - est)
    t = excess / se if se > 0 else (0.0 if excess <= 0 else math.inf)
    crit = float(stats.t.isf(rate, n - 1))
    res = AssertionResult(
        test=f"one-sided t-test of a {direction} trend",
        what=what,
        statistic=t,
        threshold=crit,
        p_value=float(stats.t.sf(t, n - 1)) if math.isfinite(t) else 0.0,
        false_fail_rate=rate,
        detect=power.later("mean", chains=n, false_fail_rate=2 * rate, sd=sd),
        discrepancy="shortfall of the slope per generation",
        approximation_error=edgeworth_excess(s, crit, sides=1),
        n=n,
        passed=bool(t <= crit),
        estimate=est,
        expected=claim,
        se=se,
    )
    return finish(res, raise_on_failure)


def assert_collapse(result, metric: str = "sigma2", *, at_least: float = 0.0, **kwargs) -> AssertionResult:
    """Assert that ``metric`` (a variance) collapses: ``log metric`` decreases at least at ``at_least`` per generation.

    Args:
        result: a :class:`~collapse_theory.SimulationResult` with at least 2 recorded generations.
        metric: a positive metric (``sigma2``, ``trace``, a heterozygosity).
        at_least: the claimed minimum decrease of ``E log metric`` per generation.
        **kwargs: ``false_fail_rate``, ``what``, ``raise_on_failure`` (:func:`assert_trend`).

    """
    kwargs.setdefault("what", f"collapse of {metric}")
    return assert_trend(
        result.values[metric], result.generations, direction="decreasing", at_least=at_least, log=True, **kwargs
    )


def assert_grows(
    result, metric: str = "w2_sq", *, at_least: float = 0.0, log: bool = False, **kwargs
) -> AssertionResult:
    """Assert that ``metric`` (a distance to the truth) grows at least at ``at_least`` per generation.

    Args:
        result: a :class:`~collapse_theory.SimulationResult` with at least 2 recorded generations.
        metric: the metric (``w2_sq`` under replace).
        at_least: the claimed minimum increase per generation.
        log: fit the slope of ``log metric`` instead.
        **kwargs: ``false_fail_rate``, ``what``, ``raise_on_failure`` (:func:`assert_trend`).

    """
    kwargs.setdefault("what", f"growth of {metric}")
    return assert_trend(
        result.values[metric], result.generations, direction="increasing", at_least=at_least, log=log, **kwargs
    )


def assert_bounded(
    samples,
    bound: float,
    *,
    side: str = "upper",
    false_fail_rate: float | None = None,
    what: str = "bounded mean",
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that the true mean is at most ``bound`` (``side="upper"``) or at least it (``"lower"``).

    The one-sided t-test fails only when the data put the mean beyond the bound with confidence
    ``1 - rate`` (a correct implementation whose mean is within the bound fails with probability at
    most the rate). A 2-D array ``[generations, chains]`` asserts the bound at every row, Bonferroni
    over rows: e.g. boundedness under accumulate, ``E W2^2 <= bound`` at every recorded generation.

    Args:
        samples: per-chain values, 1-D, or 2-D with one row per generation.
        bound: the bound on the mean.
        side: ``"upper"`` or ``"lower"``.
        false_fail_rate: the total rate (default 1e-4).
        what: a label.
        raise_on_failure: raise on failure.

    """
    if side not in ("upper", "lower"):
        raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
    rows = np.atleast_2d(np.asarray(samples, dtype=np.float64))
    if rows.ndim != 2:
        raise ValueError("samples must be 1-D or [generations, chains]")
    rate = resolve_rate(None, rows.shape[0], false_fail_rate)
    sign = 1.0 if side == "upper" else -1.0
    items = []
    for i, row in enumerate(rows):
        label = what if rows.shape[0] == 1 else f"{what} [row {i}]"
        x = as_sample(row, label, power.MIN_SAMPLES["mean"])
        n, est, sd = x.size, float(x.mean()), float(x.std(ddof=1))
        se = sd / math.sqrt(n)
        t = sign * (est - bound) / se if se > 0 else (0.0 if sign * (est - bound) <= 0 else math.inf)
        crit = float(stats.t.isf(rate, n - 1))
        items.append(
            AssertionResult(
                test=f"one-sided t-test of an {side} bound",
                what=label,
                statistic=t,
                threshold=crit,
                p_value=float(stats.t.sf(t, n - 1)) if math.isfinite(t) else 0.0,
                false_fail_rate=rate,
                detect=power.later("mean", chains=n, false_fail_rate=2 * rate, sd=sd),
                discrepancy="excess of the mean over the bound",
                approximation_error=edgeworth_excess(x, crit, sides=1),
                n=n,
                passed=bool(t <= crit),
                estimate=est,
                expected=float(bound),
                se=se,
            )
        )
    if len(items) == 1:
        return finish(items[0], raise_on_failure)
    worst = max(items, key=lambda r: r.statistic - r.threshold)
    res = AssertionResult(
        test=worst.test,
        what=what,
        statistic=worst.statistic,
        threshold=worst.threshold,
        p_value=min(r.p_value for r in items),
        false_fail_rate=rate * len(items),
        detect=lambda: max(r.detectable for r in items),
        discrepancy=worst.discrepancy,
        n=min(r.n for r in items),
        passed=all(r.passed for r in items),
        estimate=worst.estimate,
        expected=float(bound),
        se=worst.se,
        items=tuple(items),
    )
    return finish(res, raise_on_failure)
