"""What a statistical assertion returns (and what its ``AssertionError`` says): :class:`AssertionResult`.

Every assertion of the toolkit reports the same things, like TensorFlow Probability's
``statistical_testing`` verbs: the test statistic, the threshold it was held to, its p-value, the
false-failure rate the threshold was derived from, and the smallest discrepancy the test detects
with 80 % power at this sample size (so a pass says how much it rules out).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

from collapse_theory.testing import ledger

__all__ = ["AssertionResult", "REPORT_POWER", "finish"]

REPORT_POWER = 0.8
"""The power at which results report their detectable discrepancy."""


def _fmt(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.4g}" if math.isfinite(x) else str(x)


@dataclasses.dataclass(frozen=True)
class AssertionResult:
    """The outcome of one statistical assertion.

    Attributes:
        test: the statistical test, e.g. ``"t-test of a mean"``, ``"two-sample KS"``.
        what: the label the caller gave.
        statistic: the test statistic (``|t|``, the KS distance, ...).
        threshold: the statistic's critical value: the assertion fails when ``statistic > threshold``.
        p_value: the p-value of the statistic (the smallest over ``items`` for a combined test).
        false_fail_rate: the probability that a correct implementation fails this assertion (the
            rate the threshold was derived from; for a combined test, the sum over its items).
        detect: computes :attr:`detectable` (on first access: a root-finding that sweeps over
            seeds do not need), or ``None``.
        discrepancy: what ``detectable`` measures, e.g. ``"shift of the mean"``,
            ``"KS distance sup|F - G|"``.
        n: the sample size (chains; for two samples, the smaller one).
        passed: the verdict.
        estimate: the estimated quantity, where there is one (a mean, a slope, ...).
        expected: the value it was compared with.
        se: the standard error of ``estimate``.
        items: the per-item results of a combined (Bonferroni) test.
        legacy: the number the pre-result API returned (the z-score, or the p-value of a KS test);
            ``float(result)`` gives it.
        approximation_error: for tests on a normal approximation (t-tests), the Edgeworth
            estimate of how much the actual false-failure rate may exceed the stated one
            (:func:`~collapse_theory.testing.samples.edgeworth_excess`), else ``None``.

    """

    test: str
    what: str
    statistic: float
    threshold: float
    p_value: float
    false_fail_rate: float
    detect: Callable[[], float] | None = dataclasses.field(repr=False, compare=False)
    discrepancy: str
    n: int
    passed: bool
    estimate: float | None = None
    expected: float | None = None
    se: float | None = None
    items: tuple[AssertionResult, ...] = ()
    legacy: float | None = None
    approximation_error: float | None = None

    @functools.cached_property
    def detectable(self) -> float:
        """The discrepancy this test detects with power :data:`REPORT_POWER` at this sample size and
        rate, in the units that :attr:`discrepancy` names (``nan`` where the test has no stated
        power formula).
        """
        return float(self.detect()) if self.detect is not None else math.nan

    @property
    def detectable_discrepancy(self) -> float:
        """Alias of :attr:`detectable`."""
        return self.detectable

    def __float__(self) -> float:
        return float(self.legacy if self.legacy is not None else self.statistic)

    def __bool__(self) -> bool:
        return self.passed

    def brief(self) -> str:
        """The numbers without the verdict and label: test, n, estimate, statistic, p-value, rate, power."""
        est = ""
        if self.estimate is not None:
            est = f"estimate {_fmt(self.estimate)}"
            est += f" ± {_fmt(self.se)}" if self.se is not None else ""
            est += f" vs {_fmt(self.expected)}; " if self.expected is not None else "; "
        approx = ""
        if self.approximation_error is not None and self.approximation_error > 0.1 * self.false_fail_rate:
            approx = (
                f" (normal approximation: the actual rate may be about "
                f"{self.false_fail_rate + self.approximation_error:.2g}, Edgeworth; use more samples or a transform)"
            )
        return (
            f"{self.test}, n={self.n}: {est}statistic {_fmt(self.statistic)} vs threshold {_fmt(self.threshold)}, "
            f"p = {self.p_value:.3g}, false-fail rate {self.false_fail_rate:.3g}{approx}; "
            f"detectable with {REPORT_POWER:.0%} power: {self.discrepancy} {_fmt(self.detectable)}"
        )

    def summary(self) -> str:
        """One line: verdict, label, then :meth:`brief`."""
        return f"{'PASS' if self.passed else 'FAIL'} {self.what} ({self.brief()})"

    def __str__(self) -> str:
        lines = [self.summary()]
        failed = [i for i in self.items if not i.passed]
        shown = failed[:8] if failed else ()
        lines += ["  " + i.summary() for i in shown]
        if len(failed) > len(shown):
            lines.append(f"  ... and {len(failed) - len(shown)} more failed items")
        return "\n".join(lines)


def finish(result: AssertionResult, raise_on_failure: bool = True) -> AssertionResult:
    """Book ``result`` in the ledger and raise ``AssertionError`` with its report if it failed."""
    ledger.record(result.what, result.test, result.false_fail_rate, result.passed)
    if raise_on_failure and not result.passed:
        raise AssertionError(str(result))
    return result
