"""The conformance contract every family meets, built-in or a user's: :func:`check_family`.

The scenarios only ever call a family's batched functions, so a family that keeps these
promises runs correctly under every workflow:

* ``draw`` is, in law, ``points`` followed by ``points_stats`` (the exact-statistics kernel and
  the explicit points describe the same sample): a two-sample Kolmogorov-Smirnov test of every
  metric of the two fits, Bonferroni over the metrics, at the stated false-failure rate;
* ``merge`` with ``empty`` is the identity, on either side (exactly);
* ``fit_weighted`` with no synthetic data is ``fit``, whatever the weight. The two paths compute
  the same quantity in a different order, so they agree up to rounding: the check runs in float64
  and allows a norm-wise relative difference of ``2**20`` float64 epsilons (2.3e-10), rounding
  amplified by a condition number up to about 10^6 (a regression fit solves a linear system); a
  wrong formula differs by orders of magnitude more;
* chunk invariance: the per-chain values do not depend on the chunk size (exactly);
* determinism: a rerun with the same seed is bit-identical, a different seed changes the draws;
* prefix extension: a run of G generations is the first G generations of a longer run (exactly).

The statistical test is the only one that can fail a correct family, with probability at most
``false_fail_rate`` (booked in the :mod:`~collapse_theory.testing.ledger`).
:func:`~collapse_theory.testing.check_estimator` extends this contract.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from collapse_theory.config import SimConfig
from collapse_theory.families.spec import BuildContext, FamilySpec
from collapse_theory.random import bits
from collapse_theory.testing import ledger

__all__ = ["CheckResult", "ConformanceReport", "check_family"]

ROUNDING_BUDGET = 2.0**20 * float(np.finfo(np.float64).eps)
"""Norm-wise relative difference allowed between ``fit_weighted`` without synthetic data and ``fit`` (float64)."""


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """One conformance check: its name, verdict and a one-line detail."""

    name: str
    passed: bool
    detail: str


@dataclasses.dataclass(frozen=True)
class ConformanceReport:
    """Every check of :func:`check_family` and the false-failure rate of the statistical ones."""

    family: str
    checks: tuple[CheckResult, ...]
    false_fail_rate: float

    @property
    def passed(self) -> bool:
        """Whether every check passed."""
        return all(c.passed for c in self.checks)

    def __str__(self) -> str:
        lines = [f"conformance of {self.family} (false-fail rate {self.false_fail_rate:g}):"]
        lines += [f"  {'PASS' if c.passed else 'FAIL'} {c.name}: {c.detail}" for c in self.checks]
        return "\n".join(lines)


_CACHE: dict = {}
_CACHE_SIZE = 64


def cached(key, make):
    """``make()`` once per ``key`` (a bounded process-wide cache; an unhashable key is not cached).

    Repeated checks of one family (over seeds, in calibration) then reuse its builds and their
    compiled functions (JAX caches traces per function object).
    """
    try:
        hash(key)
    except TypeError:
        return make()
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = make()
    return _CACHE[key]


def built(spec: FamilySpec, ctx: BuildContext):
    """``spec.build(ctx)``, cached (:func:`cached`)."""
    return cached(("build", spec, ctx), lambda: spec.build(ctx))


def _leaves(tree) -> list[np.ndarray]:
    return [np.asarray(a) for a in jax.tree_util.tree_leaves(tree)]


def _same(a, b) -> bool:
    return all(
        x.shape == y.shape and np.array_equal(x, y, equal_nan=np.issubdtype(x.dtype, np.floating))
        for x, y in zip(_leaves(a), _leaves(b), strict=True)
    )


def _close(a, b) -> tuple[bool, float]:
    """Norm-wise relative difference of two parameter pytrees, leaf by leaf (non-finite entries must match)."""
    worst = 0.0
    for x, y in zip(_leaves(a), _leaves(b), strict=True):
        if not np.issubdtype(x.dtype, np.floating):
            if not np.array_equal(x, y):
                return False, math.inf
            continue
        x64, y64 = x.astype(np.float64), y.astype(np.float64)
        both = np.isfinite(x64) & np.isfinite(y64)
        if not np.array_equal(np.isfinite(x64), np.isfinite(y64)) or not np.array_equal(x64[~both], y64[~both]):
            return False, math.inf
        if not both.any():
            continue
        scale = max(float(np.max(np.abs(x64[both]))), float(np.max(np.abs(y64[both]))), np.finfo(np.float64).tiny)
        worst = max(worst, float(np.max(np.abs(x64 - y64)[both])) / scale)
    return worst <= ROUNDING_BUDGET, worst


def _metric_ks(m1: dict, m2: dict, alpha: float) -> tuple[bool, str]:
    names = sorted(m1)
    worst_p, worst = 1.0, ""
    for k in names:
        a, b = np.asarray(m1[k], np.float64), np.asarray(m2[k], np.float64)
        fa, fb = np.isfinite(a), np.isfinite(b)
        if not fa.any() and not fb.any():
            continue
        if not (fa.any() and fb.any()):
            return False, f"{k}: finite in {fa.mean():.3f} vs {fb.mean():.3f} of the chains"
        p = float(stats.ks_2samp(a[fa], b[fb], method="asymp").pvalue)
        if p < worst_p:
            worst_p, worst = p, k
    threshold = alpha / max(len(names), 1)
    ok = worst_p >= threshold
    return ok, f"smallest KS p-value {worst_p:.3g} ({worst or 'none'}) vs {threshold:.3g} over {len(names)} metrics"


def _weighted_identity(spec: FamilySpec, ctx: BuildContext, m: int, c: int, key) -> CheckResult:
    name = "fit_weighted without synthetic data is fit"
    with jax.enable_x64(True):
        fam = built(spec, ctx)
        ch = jnp.arange(c, dtype=jnp.uint32)
        s = fam.draw(key, ch, fam.truth(c), m, ctx.capacity)
        f = fam.fit(s)
        worst, ok = 0.0, True
        try:
            for w in (1.0, 0.3):
                good, err = _close(fam.fit_weighted(s, fam.empty(c), w), f)
                ok, worst = ok and good, max(worst, err)
        except NotImplementedError as e:
            return CheckResult(name, True, f"not supported: {e}")
    return CheckResult(name, ok, f"largest relative difference {worst:.3g} in float64 (budget {ROUNDING_BUDGET:.2g})")


def check_family(
    family: FamilySpec,
    *,
    scenario: str = "replace",
    samples: int | None = None,
    chains: int = 2048,
    seed: int = 0,
    false_fail_rate: float = 1e-6,
    precision: str = "float32",
    raise_on_failure: bool = True,
    **settings,
) -> ConformanceReport:
    """Check the conformance contract (module docstring) of a family spec.

    Args:
        family: ``ct.family(...)`` or ``ct.estimator(...)``.
        scenario: the scenario whose buffers the family is built for.
        samples: M (default ``max(8, 2 * min_samples)``).
        chains: chains of the statistical check.
        seed: the seed of every check.
        false_fail_rate: the probability that a correct family fails (the KS check's budget).
        precision: the run precision.
        raise_on_failure: raise ``AssertionError`` with the report when a check fails.
        **settings: scenario settings (``real_fraction``, ``mixing``, ``real_weight``).

    Returns:
        A :class:`ConformanceReport`.

    """
    from collapse_theory.engine import simulate

    if not 0 < false_fail_rate < 1:
        raise ValueError(f"false_fail_rate must be in (0, 1), got {false_fail_rate!r}")
    false_fail_rate = ledger.effective_rate(false_fail_rate)
    base = SimConfig(family, scenario=scenario, generations=3, chains=64, seed=seed, precision=precision, **settings)
    m = samples if samples is not None else max(8, 2 * base.validated().spec.min_samples())
    config = base.replace(samples=m).validated()
    spec = config.spec
    dtype = spec.carrier_dtype(precision)
    results: list[CheckResult] = []
    c = -(-chains // 64) * 64
    with jax.enable_x64(dtype == jnp.float64):
        sizes = config.sizes()
        ctx = BuildContext(dtype, scenario, int(sizes.max()), int(sizes.sum()), precision, config.population())
        fam = built(spec, ctx)
        ch = jnp.arange(c, dtype=jnp.uint32)
        root = bits.key_from_seed(seed)
        k1, k2 = (bits.fold(root, 0xC0F, i) for i in range(2))
        truth = fam.truth(c)
        cap = ctx.capacity
        fit, draw = jax.jit(fam.fit), jax.jit(fam.draw, static_argnums=(4,))
        s1 = draw(k1, ch, truth, m, cap)
        empty = fam.empty(c)
        f1 = fit(s1)
        ok = _same(fit(fam.merge(s1, empty)), f1) and _same(fit(fam.merge(empty, s1)), f1)
        results.append(
            CheckResult(
                "merge with empty is the identity", ok, "fit(merge(s, empty)) == fit(merge(empty, s)) == fit(s)"
            )
        )
        mask = jnp.broadcast_to(jnp.arange(cap)[None, :] < m, (c, cap))
        via_points = fit(fam.points_stats(fam.points(k2, ch, truth, cap), mask))
        metrics = jax.jit(fam.metrics)
        ok, detail = _metric_ks(metrics(f1), metrics(via_points), false_fail_rate)
        ledger.record(f"{spec.name}: draw == points + points_stats in law", "two-sample KS", false_fail_rate, ok)
        results.append(CheckResult("draw == points + points_stats in law", ok, detail))
    results.append(_weighted_identity(spec, ctx._replace(dtype=jnp.float64), m, c, k1))
    run = config.replace(chains=150, generations=5, record=(1, 3, 5))
    a = simulate(run, progress=False)
    b = simulate(run.replace(chunk_size=64), progress=False)
    results.append(CheckResult("chunk invariance", _same(a.values, b.values), "chunks of 64 vs one chunk"))
    again = simulate(run, progress=False)
    other = simulate(run.replace(seed=seed + 1), progress=False)
    moved = any(not np.array_equal(a.values[k], other.values[k], equal_nan=True) for k in a.values)
    results.append(
        CheckResult("determinism", _same(a.values, again.values) and moved, "same seed identical, other seed differs")
    )
    short = simulate(run.replace(generations=3, record=(1, 3)), progress=False)
    prefix = all(np.array_equal(short.values[k], a.values[k][:2], equal_nan=True) for k in short.values)
    results.append(CheckResult("prefix extension", prefix, "3 generations == the first 3 of 5"))
    report = ConformanceReport(spec.name, tuple(results), false_fail_rate)
    if raise_on_failure and not report.passed:
        raise AssertionError(str(report))
    return report
