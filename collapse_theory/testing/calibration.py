"""Calibration: rerun a statistical test over many seeds and compare its failure rate with its stated rate.

A statistical test is only as good as its stated false-failure rate. :func:`calibrate` reruns a
test (a callable of a seed that raises ``AssertionError`` on failure) over ``N`` seeds, with every
assertion's rate multiplied by a factor so that the test's total stated rate (the sum the ledger
books in one run) is ``target_rate``, e.g. 0.05, where ``N = 200`` runs are informative. The
number of failures is then at most Binomial(N, stated) (exactly that when the test's items are
exact and independent, fewer by the union bound otherwise). The result has the Clopper-Pearson
interval of the measured rate and both one-sided binomial p-values: a small ``p_too_high`` means
the test fails correct code more often than it says; a small ``p_too_low`` means it fails less
often than an exact test would (conservative, or broken like an inverted p-value comparison that
never fails).

The pytest plugin's ``--ct-calibrate N`` runs this for every test that takes the ``ct_seed`` fixture.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from scipy import stats

from collapse_theory.testing import ledger

__all__ = ["CalibrationResult", "calibrate", "clopper_pearson", "assert_binomial", "assert_calibrated"]


def clopper_pearson(k: int, n: int, level: float = 0.99) -> tuple[float, float]:
    """The exact two-sided binomial confidence interval of a rate from ``k`` events in ``n`` trials."""
    a = 1.0 - level
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


@dataclasses.dataclass(frozen=True)
class CalibrationResult:
    """Measured against stated failure rate of one test over many seeds.

    Attributes:
        name: the test.
        runs: seeds run.
        failures: runs that raised ``AssertionError``.
        stated_rate: the test's total false-failure rate per run (after inflation).
        factor: the factor every assertion's rate was multiplied by.
        interval: the 99 % Clopper-Pearson interval of the measured rate.
        p_too_high: ``P(Binomial(runs, stated) >= failures)``.
        p_too_low: ``P(Binomial(runs, stated) <= failures)``.

    """

    name: str
    runs: int
    failures: int
    stated_rate: float
    factor: float
    interval: tuple[float, float]
    p_too_high: float
    p_too_low: float

    @property
    def measured_rate(self) -> float:
        """``failures / runs``."""
        return self.failures / self.runs

    def verdict(self, level: float = 1e-3) -> str:
        """``"too high"``, ``"conservative"`` (fails less than stated) or ``"consistent"``, at ``level``."""
        if self.p_too_high < level:
            return "too high"
        if self.p_too_low < level:
            return "conservative"
        return "consistent"

    def __str__(self) -> str:
        lo, hi = self.interval
        return (
            f"{self.name}: {self.failures}/{self.runs} failed = {self.measured_rate:.3f} "
            f"[{lo:.3f}, {hi:.3f}] vs stated {self.stated_rate:.3g} (rates x{self.factor:.3g}): {self.verdict()}"
        )


def _run(test: Callable[[int], object], seed: int) -> tuple[bool, float]:
    start = ledger.mark()
    try:
        test(seed)
        failed = False
    except AssertionError:
        failed = True
    total = sum(e.rate for e in ledger.entries(start))
    ledger.rollback(start)
    return failed, total


def calibrate(
    test: Callable[[int], object],
    seeds: int | Sequence[int] = 200,
    *,
    target_rate: float = 0.05,
    stated_rate: float | None = None,
    name: str | None = None,
) -> CalibrationResult:
    """Rerun ``test(seed)`` over ``seeds`` at an inflated rate and measure how often it fails.

    The first seed's run, at the stated rates, measures the test's total rate ``r``; every run then
    has its assertions' rates multiplied by ``target_rate / r`` (1 if ``r >= target_rate``). The
    ledger entries of these runs are rolled back (they are not the session's budget).

    Args:
        test: a callable of an integer seed; it fails by raising ``AssertionError`` (any other
            exception propagates).
        seeds: the seeds (or their number: ``1 .. N``).
        target_rate: the total rate each run is inflated to.
        stated_rate: the test's total rate at its stated rates, if known (else measured by a first run).
        name: a label (default the callable's name).

    Returns:
        A :class:`CalibrationResult`.

    Raises:
        ValueError: the test booked no statistical assertion.

    """
    seq = list(range(1, seeds + 1)) if isinstance(seeds, int) else list(seeds)
    target = ledger.validate_rate(target_rate, "target_rate")
    r = stated_rate if stated_rate is not None else _run(test, seq[0])[1]
    if r <= 0:
        raise ValueError(f"{name or test}: books no statistical assertion (nothing to calibrate)")
    factor = max(target / r, 1.0)
    failures, totals = 0, []
    with ledger.inflated(factor):
        for s in seq:
            failed, total = _run(test, s)
            failures += failed
            if not failed:
                totals.append(total)
    stated = min(max(totals) if totals else min(r * factor, ledger.MAX_RATE), 1.0)
    n = len(seq)
    return CalibrationResult(
        name=name or str(getattr(test, "__name__", "test")),
        runs=n,
        failures=failures,
        stated_rate=stated,
        factor=factor,
        interval=clopper_pearson(failures, n),
        p_too_high=float(stats.binom.sf(failures - 1, n, stated)),
        p_too_low=float(stats.binom.cdf(failures, n, stated)),
    )


def assert_binomial(
    hits: int,
    runs: int,
    rate: float,
    *,
    false_fail_rate: float,
    side: str = "two-sided",
    what: str = "binomial count",
) -> None:
    """Assert that ``hits`` is a plausible draw of Binomial(``runs``, ``rate``).

    An exact binomial test at ``false_fail_rate`` (split over the two sides when two-sided), booked in
    the ledger: ``side="high"`` rejects only too many hits (a rate that must not be exceeded),
    ``"low"`` only too few (a power that must be reached), ``"two-sided"`` both.

    Raises:
        AssertionError: the count is implausible.

    """
    if side not in ("two-sided", "high", "low"):
        raise ValueError(f"side must be 'two-sided', 'high' or 'low', got {side!r}")
    per = false_fail_rate / 2 if side == "two-sided" else false_fail_rate
    p_high = float(stats.binom.sf(hits - 1, runs, rate))  # P(X >= hits)
    p_low = float(stats.binom.cdf(hits, runs, rate))  # P(X <= hits)
    ok = (side == "low" or p_high >= per) and (side == "high" or p_low >= per)
    ledger.record(what, "exact binomial test", false_fail_rate, ok)
    if not ok:
        raise AssertionError(
            f"{what}: {hits}/{runs} = {hits / runs:.3f} vs rate {rate:.4g} "
            f"(P(X >= hits) = {p_high:.2g}, P(X <= hits) = {p_low:.2g}, {side} at {false_fail_rate:g})"
        )


def assert_calibrated(
    res: CalibrationResult, *, false_fail_rate: float, exact: bool = True, at_least: float | None = None
) -> None:
    """Assert that a calibration's failure count is consistent with the test's stated rate.

    Args:
        res: the calibration (:func:`calibrate`).
        false_fail_rate: the rate of this check (split over its sides).
        exact: the test is exact at its stated rate: too few failures fail too (a test that never
            fails, like an inverted p-value comparison, is caught); else only too many fail.
        at_least: for a conservative (union-bound) test, a rate it must still reach, e.g. the
            exact rate of its largest single item (too few failures below it fail).

    """
    k = 1 + exact + (at_least is not None)
    assert_binomial(
        res.failures,
        res.runs,
        res.stated_rate,
        false_fail_rate=false_fail_rate * (1 + exact) / k,
        side="two-sided" if exact else "high",
        what=res.name,
    )
    if at_least is not None:
        assert_binomial(
            res.failures,
            res.runs,
            at_least,
            false_fail_rate=false_fail_rate / k,
            side="low",
            what=f"{res.name} (at least)",
        )
