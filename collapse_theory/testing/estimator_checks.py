"""The contract of any estimator, built-in or a user's: :func:`check_estimator`.

It runs :func:`~collapse_theory.testing.check_family` (draw = points + points_stats in law, merge
with empty, fit_weighted without synthetic data, chunk invariance, determinism, prefix extension)
and then:

* **independent chains** (statistical): the fitted metrics of chains ``2i`` and ``2i + 1``, and of
  ``i`` and ``i + C/2``, are uncorrelated (Spearman rank correlation, ``sqrt(n - 1) rho -> N(0, 1)``
  for independent variables), and not all chains are equal;
* **fresh draws for a fresh key** (statistical): two keys (as two generations get) give
  uncorrelated fits, through ``draw`` and through ``points``; a metric that is equal in most
  chains under both keys fails outright (a key reused across generations);
* **permutation invariance of fit**: reordering the filled points leaves the fitted metrics
  unchanged (float64, up to rounding);
* **weights honoured**: for a user estimator, ``fit`` on points with some duplicated equals
  ``fit`` with weight 2 on them, and points in slots of weight 0 are ignored; for any family,
  ``fit_weighted(a, b, w)`` at ``w = n_a / (n_a + n_b)`` is ``fit(merge(a, b))``, and at ``w = 1``
  the synthetic points ``b`` have no influence;
* **merge is the union** of samples, in either order (the accumulate pool: an off-by-one loses a
  point);
* **equivariance** where the family declares it (:class:`~collapse_theory.testing.Equivariance`);
* **no recompilation per seed**: new seeds compile no program and no XLA executable;
* **declared statistical properties** (:mod:`collapse_theory.testing.properties`).

The statistical checks share ``false_fail_rate`` equally (Bonferroni); the others are exact up to
the rounding budget of :data:`~collapse_theory.testing.conformance.ROUNDING_BUDGET`, so a correct
family fails the whole contract with probability at most ``false_fail_rate``.
"""

from __future__ import annotations

from collections.abc import Sequence

import jax

from collapse_theory.config import SimConfig
from collapse_theory.testing import conformance, ledger
from collapse_theory.testing.conformance import CheckResult, ConformanceReport
from collapse_theory.testing.contract import (
    Harness,
    chains_check,
    compile_check,
    detail,
    equivariance_check,
    generations_check,
    merge_check,
    permutation_check,
    weights_check,
)
from collapse_theory.testing.properties import declared_properties

__all__ = ["check_estimator", "CHECKS"]

CHECKS = ("family", "chains", "generations", "permutation", "weights", "merge", "equivariance", "compile", "properties")
"""The groups of checks, for ``check_estimator(..., checks=...)``."""

_STATISTICAL = ("family", "chains", "generations")


def check_estimator(
    family,
    *,
    scenario: str = "replace",
    samples: int | None = None,
    chains: int = 2048,
    seed: int = 0,
    false_fail_rate: float = 1e-6,
    precision: str = "float32",
    properties: Sequence = (),
    checks: Sequence[str] | None = None,
    raise_on_failure: bool = True,
    **settings,
) -> ConformanceReport:
    """Check the whole contract (module docstring) of a family or a user's estimator.

    Args:
        family: ``ct.estimator(...)`` or ``ct.family(...)``.
        scenario: the scenario whose buffers the family is built for (check_family's checks).
        samples: M (default ``max(8, 2 * min_samples)``).
        chains: chains of the statistical checks (rounded up to a multiple of 64).
        seed: the seed of every check.
        false_fail_rate: the probability that a correct family fails, shared by the statistical checks.
        precision: the run precision of the engine checks.
        properties: declared properties (:mod:`collapse_theory.testing.properties`), beside those
            declared with :func:`~collapse_theory.testing.declare` or built in.
        checks: run only these groups of :data:`CHECKS` (default all).
        raise_on_failure: raise ``AssertionError`` with the report when a check fails.
        **settings: scenario settings (``real_fraction``, ``mixing``, ``real_weight``).

    Returns:
        A :class:`~collapse_theory.testing.ConformanceReport`.

    Example:
        >>> import collapse_theory as ct
        >>> ct.testing.check_estimator(ct.family("gaussian", estimator="mle")).passed  # doctest: +SKIP
        True

    """
    rate_total = ledger.effective_rate(ledger.validate_rate(false_fail_rate))
    groups = tuple(CHECKS if checks is None else checks)
    unknown = [g for g in groups if g not in CHECKS]
    if unknown:
        raise ValueError(f"unknown checks {unknown}; choose from {', '.join(CHECKS)}")
    props = tuple(properties) + declared_properties(family)
    base = SimConfig(family, scenario=scenario, generations=3, chains=64, seed=seed, precision=precision, **settings)
    m = samples if samples is not None else max(8, 2 * base.validated().spec.min_samples())
    config = base.replace(samples=m).validated()
    if config.spec is not family:
        props += tuple(p for p in declared_properties(config.spec) if p not in props)
    stat_props = [p for p in props if p.statistical] if "properties" in groups else []
    n_stat = sum(g in groups for g in _STATISTICAL) + len(stat_props)
    rate = rate_total / max(n_stat, 1)
    results: list[CheckResult] = []
    with ledger.inflated(1.0):  # the rates are inflated once, above: the checks run at them
        if "family" in groups:
            rep = conformance.check_family(
                family,
                scenario=scenario,
                samples=m,
                chains=chains,
                seed=seed,
                false_fail_rate=rate,
                precision=precision,
                raise_on_failure=False,
                **settings,
            )
            results += rep.checks
        h = Harness(config, chains, seed)
        with jax.enable_x64(True):
            if "chains" in groups:
                results.append(chains_check(h, rate))
            if "generations" in groups:
                results.append(generations_check(h, rate))
            if "permutation" in groups:
                results.append(permutation_check(h))
            if "weights" in groups:
                results.append(weights_check(h))
            if "merge" in groups:
                results.append(merge_check(h))
            if "equivariance" in groups:
                results += [equivariance_check(h, p) for p in props if not p.statistical]
        if "compile" in groups:
            results.append(compile_check(config, seed))
        for p in stat_props:
            res = p.check(family, samples=m, seed=seed, rate=rate)  # the assertions inside book themselves
            results.append(CheckResult(p.name, res.passed, detail(res)))
    report = ConformanceReport(config.spec.name, tuple(results), rate * n_stat if n_stat else 0.0)
    if raise_on_failure and not report.passed:
        raise AssertionError(str(report))
    return report
