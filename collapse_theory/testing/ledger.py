"""The false-failure ledger: every statistical assertion books the rate at which it may fail.

Each call of an assertion (:mod:`collapse_theory.testing.assertions`, :mod:`~.laws`, :mod:`~.trends`,
the statistical checks of :func:`~collapse_theory.testing.check_estimator`) records one
:class:`Entry`: what it tested, the false-failure rate it ran at (the probability that a correct
implementation fails it) and its verdict. By the union bound, the probability that a run of many
assertions fails anywhere is at most the sum of their rates; the pytest plugin
(:mod:`collapse_theory.testing.pytest_plugin`) prints that sum per test and over the session.

Calibration (``pytest --ct-calibrate N``) reruns statistical tests with their rates multiplied by a
factor: :func:`inflated` sets it for a block of code, :func:`effective_rate` applies it. Outside
calibration the factor is 1 and the ledger only records.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import math
from collections.abc import Iterator

__all__ = [
    "Entry",
    "DEFAULT_RATE",
    "MAX_RATE",
    "validate_rate",
    "effective_rate",
    "record",
    "entries",
    "mark",
    "rollback",
    "inflated",
    "paused",
]

DEFAULT_RATE = 1e-4
"""The false-failure rate of an assertion called without one (the old ``alpha`` default)."""

MAX_RATE = 0.5
"""An inflated rate is capped here (a test that fails half the time is informative enough)."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One booked assertion.

    Attributes:
        what: the assertion's label.
        test: the statistical test (``"t-test of a mean"``, ``"two-sample KS"``, ...).
        rate: the false-failure rate it ran at (after any inflation).
        passed: its verdict.

    """

    what: str
    test: str
    rate: float
    passed: bool


_ENTRIES: list[Entry] = []
_FACTOR: contextvars.ContextVar[float] = contextvars.ContextVar("collapse_theory_rate_factor", default=1.0)
_PAUSED: contextvars.ContextVar[bool] = contextvars.ContextVar("collapse_theory_ledger_paused", default=False)


def validate_rate(rate: float, name: str = "false_fail_rate") -> float:
    """``rate`` as a float in (0, 1), else ``ValueError`` naming it."""
    r = float(rate)
    if not (0.0 < r < 1.0) or math.isnan(r):
        raise ValueError(f"{name} must be in (0, 1), got {rate!r}")
    return r


def effective_rate(rate: float) -> float:
    """The rate an assertion runs at: ``rate`` times the calibration factor, capped at :data:`MAX_RATE`."""
    r = validate_rate(rate)
    f = _FACTOR.get()
    return r if f == 1.0 else min(r * f, MAX_RATE)


def record(what: str, test: str, rate: float, passed: bool) -> None:
    """Book one assertion (called by every statistical assertion of the toolkit; not inside :func:`paused`)."""
    if _PAUSED.get():
        return
    _ENTRIES.append(Entry(str(what), str(test), float(rate), bool(passed)))


def entries(start: int = 0) -> list[Entry]:
    """The entries booked since position ``start`` (``len(entries())`` marks a position)."""
    return _ENTRIES[start:]


def mark() -> int:
    """The current position of the ledger (pass it to :func:`entries` later)."""
    return len(_ENTRIES)


def rollback(start: int) -> None:
    """Forget the entries booked since position ``start`` (calibration reruns are not the run's budget)."""
    del _ENTRIES[start:]


@contextlib.contextmanager
def inflated(factor: float) -> Iterator[None]:
    """Multiply every assertion's false-failure rate by ``factor`` inside the block (calibration).

    Example:
        >>> from collapse_theory.testing import ledger
        >>> with ledger.inflated(500.0):
        ...     ledger.effective_rate(1e-4)
        0.05

    """
    f = float(factor)
    if not (f > 0 and math.isfinite(f)):
        raise ValueError(f"the inflation factor must be positive and finite, got {factor!r}")
    token = _FACTOR.set(f)
    try:
        yield
    finally:
        _FACTOR.reset(token)


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Book nothing inside the block.

    For code that calls assertions many times to measure them (calibration and power
    simulations): their failures are data, not test failures, and book their own rate instead.
    """
    token = _PAUSED.set(True)
    try:
        yield
    finally:
        _PAUSED.reset(token)
