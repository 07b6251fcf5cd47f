"""Assertions about whole laws: an exact law, and the same law of two families or two sample sets.

* :func:`assert_ks`: the one-sample Kolmogorov-Smirnov test against a continuous CDF, p-value
  from the exact distribution of ``sup |F_n - F|`` (:data:`scipy.stats.kstwo`).
* :func:`assert_exact_law`: agreement with an exact law through the probability-integral
  transform ``u = F(x)``, uniform under the hypothesis; for a discrete law the randomized PIT
  ``u = F(x - 1) + V P(x)``, ``V ~ U(0, 1)``, which is exactly uniform too (e.g.
  ``(M - 1) s^2 / sigma^2 ~ chi^2_{M-1}``, or a count against its binomial law).
* :func:`assert_two_sample_ks`: the two-sample KS test; p-value from the Kolmogorov distribution at
  the effective size ``round(n m / (n + m))`` (scipy's asymptotic method).
* :func:`assert_same_law`: two families' chains (or two sample sets) have the same law. One
  metric: a two-sample KS test. Several metrics, ``metric=None``: each one's marginal law,
  Bonferroni over metrics and recorded generations. A joint law (``metric=(a, b, ...)``, or 2-D
  sample arrays): the marginal of every coordinate and of ``projections`` random directions of
  the standardized vector (Cramer-Wold), Bonferroni over the projections.

Every test reports the KS distance ``sup |F - G|`` it detects with 80 % power
(:func:`~collapse_theory.testing.power.detectable_discrepancy`, a distribution-free bound). On
discrete data (ties) the KS tests are conservative: the false-failure rate is then below the
stated one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

from collapse_theory.testing import power
from collapse_theory.testing.result import AssertionResult, finish
from collapse_theory.testing.samples import as_sample, resolve_rate

__all__ = ["assert_ks", "assert_exact_law", "assert_two_sample_ks", "assert_same_law", "combine"]

PROJECTION_SEED = 0x5A3E
"""The numpy seed of the random projection directions (fixed: a test means the same thing every run)."""


def _ks_sf(d: float, n: int) -> float:
    if n > power.ASYMPTOTIC_N:
        return float(stats.kstwobign.sf(d * math.sqrt(n)))
    return float(stats.kstwo.sf(d, n))


def _ks_one(u: np.ndarray, rate: float, what: str, test: str) -> AssertionResult:
    """KS test that ``u`` (values of the hypothesised CDF at the data) is uniform."""
    if np.any((u < 0) | (u > 1)) or not np.all(np.isfinite(u)):
        raise ValueError(f"{what}: the CDF returned values outside [0, 1]")
    n = u.size
    u = np.sort(u)
    i = np.arange(1, n + 1)
    d = float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))
    crit = power.ks_threshold(rate, n)
    return AssertionResult(
        test=test,
        what=what,
        statistic=d,
        threshold=crit,
        p_value=_ks_sf(d, n),
        false_fail_rate=rate,
        detect=power.later("ks", chains=n, false_fail_rate=rate),
        discrepancy="KS distance sup|F - G|",
        n=n,
        passed=bool(d <= crit),
    )


def _ks_two(a: np.ndarray, b: np.ndarray, rate: float, what: str) -> AssertionResult:
    n, m = a.size, b.size
    d = float(stats.ks_2samp(a, b, method="asymp").statistic)
    e = max(int(round(n * m / (n + m))), 1)
    crit = power.ks_threshold(rate, n, m)
    return AssertionResult(
        test="two-sample KS",
        what=what,
        statistic=d,
        threshold=crit,
        p_value=_ks_sf(d, e),
        false_fail_rate=rate,
        detect=power.later("same_law", chains=n, chains_b=m, false_fail_rate=rate),
        discrepancy="KS distance sup|F - G|",
        n=min(n, m),
        passed=bool(d <= crit),
    )


def combine(items: Sequence[AssertionResult], what: str, test: str | None = None) -> AssertionResult:
    """One result for several Bonferroni items: fails if any fails; its rate is the sum of theirs."""
    if len(items) == 1:
        return items[0] if items[0].what == what else _relabel(items[0], f"{what}: {items[0].what}")
    items = tuple(items)
    worst = min(items, key=lambda r: (r.passed, r.p_value))
    return AssertionResult(
        test=test or worst.test,
        what=what,
        statistic=worst.statistic,
        threshold=worst.threshold,
        p_value=min(r.p_value for r in items),
        false_fail_rate=sum(r.false_fail_rate for r in items),
        detect=lambda: max(r.detectable for r in items),
        discrepancy=worst.discrepancy + f" (per item, {len(items)} items)",
        n=min(r.n for r in items),
        passed=all(r.passed for r in items),
        items=items,
    )


def _relabel(r: AssertionResult, what: str) -> AssertionResult:
    import dataclasses

    return dataclasses.replace(r, what=what)


def assert_ks(
    samples,
    cdf: Callable,
    alpha: float | None = None,
    k: int = 1,
    what: str = "KS",
    *,
    false_fail_rate: float | None = None,
    raise_on_failure: bool = True,
) -> AssertionResult:
    """One-sample KS test against a continuous, vectorised ``cdf``.

    Args:
        samples: i.i.d. draws, finite, at least 20.
        cdf: the hypothesised CDF (``stats.chi2(4).cdf``).
        alpha: the rate shared by ``k`` calls (original API).
        k: the number of calls sharing ``alpha``.
        what: a label.
        false_fail_rate: this call's own rate.
        raise_on_failure: raise on failure.

    Returns:
        The result; ``float(result)`` is the p-value, as before.

    """
    rate = resolve_rate(alpha, k, false_fail_rate)
    x = as_sample(samples, what, power.MIN_SAMPLES["ks"])
    res = _ks_one(np.asarray(cdf(x), dtype=np.float64), rate, what, "one-sample KS")
    return finish(_with_legacy(res), raise_on_failure)


def _with_legacy(r: AssertionResult) -> AssertionResult:
    import dataclasses

    return dataclasses.replace(r, legacy=r.p_value)


def _is_discrete(law) -> bool:
    return isinstance(getattr(law, "dist", None), stats.rv_discrete)


def assert_exact_law(
    samples,
    law,
    *,
    false_fail_rate: float | None = None,
    what: str = "exact law",
    seed: int = 0,
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Assert that ``samples`` follow ``law`` exactly (KS test of the probability-integral transform).

    Args:
        samples: i.i.d. draws, finite, at least 20.
        law: a frozen scipy distribution (``stats.chi2(9)``, ``stats.binom(20, 0.3)``) or a
            continuous CDF. A discrete law uses the randomized PIT (module docstring); the
            samples must then be integers.
        false_fail_rate: the rate (default 1e-4).
        what: a label.
        seed: the numpy seed of the randomized PIT's uniforms (discrete laws).
        raise_on_failure: raise on failure.

    Example:
        >>> import numpy as np
        >>> from scipy import stats
        >>> rng = np.random.default_rng(0)
        >>> x = rng.normal(size=(5000, 10))
        >>> q = 9 * x.var(axis=1, ddof=1)  # (M - 1) s^2 / sigma^2
        >>> assert_exact_law(q, stats.chi2(9), false_fail_rate=1e-6).passed
        True

    """
    rate = resolve_rate(None, 1, false_fail_rate)
    x = as_sample(samples, what, power.MIN_SAMPLES["ks"])
    if _is_discrete(law):
        if not np.array_equal(x, np.round(x)):
            raise AssertionError(f"{what}: a discrete law needs integer samples")
        v = np.random.default_rng(seed).random(x.size)
        u = np.clip(law.cdf(x - 1) + v * law.pmf(x), 0.0, 1.0)
        test = "KS test of the randomized PIT"
    else:
        u = np.asarray((law.cdf if hasattr(law, "cdf") else law)(x), dtype=np.float64)
        test = "KS test of the PIT"
    return finish(_ks_one(u, rate, what, test), raise_on_failure)


def assert_two_sample_ks(
    a,
    b,
    alpha: float | None = None,
    k: int = 1,
    what: str = "two-sample KS",
    *,
    false_fail_rate: float | None = None,
    raise_on_failure: bool = True,
) -> AssertionResult:
    """Two-sample KS test that ``a`` and ``b`` share a law.

    Args:
        a: i.i.d. draws of one law, finite, at least 20.
        b: i.i.d. draws of the other, independent of ``a``.
        alpha: the rate shared by ``k`` calls (original API).
        k: the number of calls sharing ``alpha``.
        what: a label.
        false_fail_rate: this call's own rate.
        raise_on_failure: raise on failure.

    Returns:
        The result; ``float(result)`` is the p-value, as before.

    """
    rate = resolve_rate(alpha, k, false_fail_rate)
    xa = as_sample(a, f"{what} (first sample)", power.MIN_SAMPLES["ks2"])
    xb = as_sample(b, f"{what} (second sample)", power.MIN_SAMPLES["ks2"])
    return finish(_with_legacy(_ks_two(xa, xb, rate, what)), raise_on_failure)


def _directions(d: int, projections: int) -> np.ndarray:
    """Unit directions: the d axes, then ``projections`` random ones (none extra in 1-D)."""
    eye = np.eye(d)
    if d == 1 or projections == 0:
        return eye
    g = np.random.default_rng(PROJECTION_SEED).normal(size=(projections, d))
    return np.concatenate([eye, g / np.linalg.norm(g, axis=1, keepdims=True)])


def _joint_items(xa: np.ndarray, xb: np.ndarray, rate: float, what: str, projections: int, names=None):
    """KS items of the marginals of ``[n, d]`` samples along fixed directions (rate split over them)."""
    d = xa.shape[1]
    for lab, x in (("first", xa), ("second", xb)):
        bad = int(np.sum(~np.all(np.isfinite(x), axis=1)))
        if bad:
            raise AssertionError(f"{what}: {bad} of {x.shape[0]} rows of the {lab} sample are not finite")
        if x.shape[0] < power.MIN_SAMPLES["ks2"]:
            raise AssertionError(f"{what}: {x.shape[0]} samples, fewer than {power.MIN_SAMPLES['ks2']}")
    pooled = np.concatenate([xa, xb])
    loc, scale = pooled.mean(axis=0), pooled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    za, zb = (xa - loc) / scale, (xb - loc) / scale
    dirs = _directions(d, projections)
    r = rate / len(dirs)
    items = []
    for j, v in enumerate(dirs):
        if j < d:
            label = f"{what} [{names[j] if names else f'coordinate {j}'}]"
        else:
            label = f"{what} [projection {j - d}]"
        items.append(_ks_two(za @ v, zb @ v, r, label))
    return items


def assert_same_law(
    a,
    b,
    *,
    scenario: str = "replace",
    samples: int | None = None,
    generations: int | Sequence[int] | None = None,
    metric: str | Sequence[str] | None = None,
    chains: int = 10000,
    seed: int = 0,
    false_fail_rate: float | None = None,
    projections: int = 8,
    what: str | None = None,
    raise_on_failure: bool = True,
    **settings,
) -> AssertionResult:
    """Assert that two families' chains, or two sample sets, have the same law.

    Families (``ct.family(...)``, ``ct.estimator(...)``) are run under ``scenario`` with the same
    settings and independent streams (``a`` with ``seed``, ``b`` with ``seed + 1``), and the law
    of ``metric`` at each generation in ``generations`` is compared (module docstring).

    Args:
        a: a family, or samples: 1-D (one quantity) or ``[n, d]`` (a joint law).
        b: the other family, or samples like ``a``.
        scenario: the scenario of both runs.
        samples: M.
        generations: the generation(s) to compare (families; required).
        metric: a metric name, a tuple of names (their joint law), or None (every metric the two
            families share, marginally).
        chains: chains of each run.
        seed: the first run's seed.
        false_fail_rate: the total rate (default 1e-4), split over metrics, generations and
            projections.
        projections: random directions of a joint law, beside its coordinates.
        what: a label.
        raise_on_failure: raise on failure.
        **settings: further settings of both runs (``real_fraction``, ``precision``, ...).

    Example:
        >>> import collapse_theory as ct
        >>> ref = ct.family("gaussian", estimator="mle")
        >>> sample = ct.family("gaussian", estimator="mle", kernel="sample")
        >>> ct.testing.assert_same_law(sample, ref, samples=12, generations=8, metric="log_sigma2",
        ...                            chains=20000, seed=5, false_fail_rate=1e-6).passed  # doctest: +SKIP
        True

    """
    from collapse_theory.families.spec import FamilySpec

    rate_total = resolve_rate(None, 1, false_fail_rate)
    if isinstance(a, FamilySpec) != isinstance(b, FamilySpec):
        raise ValueError("assert_same_law compares two families or two sample sets, not one of each")
    if not isinstance(a, FamilySpec):
        xa, xb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        label = what or "same law"
        if xa.ndim <= 1 and xb.ndim <= 1:
            xa = as_sample(xa, f"{label} (first sample)", power.MIN_SAMPLES["ks2"])
            xb = as_sample(xb, f"{label} (second sample)", power.MIN_SAMPLES["ks2"])
            return finish(_ks_two(xa, xb, rate_total, label), raise_on_failure)
        if xa.ndim != 2 or xb.ndim != 2 or xa.shape[1] != xb.shape[1]:
            raise ValueError(f"joint samples must be [n, d] with the same d, got {xa.shape} and {xb.shape}")
        items = _joint_items(xa, xb, rate_total, label, projections)
        return finish(combine(items, label, "two-sample KS of projections"), raise_on_failure)
    from collapse_theory.engine import run

    if generations is None:
        raise ValueError("assert_same_law of families needs generations= (an int or a tuple)")
    if isinstance(generations, Sequence):
        record = tuple(sorted({int(g) for g in generations}))
    else:
        record = (int(generations),)
    kw = dict(samples=samples, generations=max(record), chains=chains, record=record, **settings)
    ra, rb = run(a, scenario, seed=seed, **kw), run(b, scenario, seed=seed + 1, **kw)
    if metric is None:
        names: list = [k for k in ra.values if k in rb.values]
        if not names:
            raise ValueError(f"{a.label()} and {b.label()} share no metric; pass metric=")
        joint = False
    elif isinstance(metric, str):
        names, joint = [metric], False
    else:
        names, joint = list(metric), True
    for k in names:
        for r, fam in ((ra, a), (rb, b)):
            if k not in r.values:
                raise ValueError(f"{fam.label()} has no metric {k!r} (it has {', '.join(r.values)})")
    label = what or f"same law of {a.label()} and {b.label()} ({scenario}, M={ra.config.samples})"
    groups = len(record) * (1 if joint else len(names))
    rate = rate_total / groups
    items = []
    for i, g in enumerate(record):
        if joint:
            xa = np.stack([ra.values[k][i] for k in names], axis=1)
            xb = np.stack([rb.values[k][i] for k in names], axis=1)
            items += _joint_items(xa, xb, rate, f"{'+'.join(names)} at generation {g}", projections, names)
            continue
        for k in names:
            lab = f"{k} at generation {g}"
            items.append(_ks_two(as_sample(ra.values[k][i], lab, 20), as_sample(rb.values[k][i], lab, 20), rate, lab))
    return finish(combine(items, label, "two-sample KS"), raise_on_failure)
