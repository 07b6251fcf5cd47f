"""Parameter domains of the registered results, and the one error their checks raise.

Every parameter of every :class:`~collapse_theory.theory.registry.Result` has a domain: the set
of values on which the result's assumptions hold and its value is finite. The vocabulary:

* :class:`Integer` -- an integer in ``[low, high]`` (``high`` optional), e.g. ``integer >= 2``.
  Python ints, numpy integers and floats with an integral value (``5.0``, ``1e40``, converted
  exactly) are accepted; ``2.5``, ``True`` and strings are rejected. An integral float is
  accepted because the command line and numpy arrays (``r.generations``) deliver counts as
  floats or int64, and the conversion is exact.
* :class:`Real` -- a finite real in an interval with open or closed ends, e.g. ``real > 0``,
  ``real in (0, 1]``; ints and numpy scalars are accepted.
* :class:`ProbVector` -- a probability vector: ``K`` entries in ``[0, 1]`` (``K`` within the
  stated bounds) summing to 1 within ``(K + 1) 2^-53`` (:data:`PROB_SUM_TOLERANCE`).
* :class:`Constraint` -- a condition across parameters (``M >= d + 1``), checked after the
  per-parameter domains.

Every number must be finite and within the float64 range (an integer above ``2^1024`` is
rejected). Violations raise :class:`ParameterError`, a ``ValueError`` (and the project's
``ConfigError``, so the command line prints it as one ``error:`` line with exit status 2) whose
message is one line naming the result, the parameter, its domain and the value.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from collapse_theory.config import ConfigError

__all__ = [
    "INT_GE0",
    "INT_GE1",
    "INT_GE2",
    "NONNEG",
    "POSITIVE",
    "PROB_SUM_TOLERANCE",
    "PROB_VECTOR",
    "REAL",
    "UNIT_CLOSED",
    "UNIT_HALF_OPEN",
    "UNIT_OPEN",
    "Constraint",
    "Domain",
    "Integer",
    "ParameterError",
    "ProbVector",
    "Real",
]

FLOAT_MAX = 1.7976931348623157e308
_INT_MAX = 2**1024  # integers at or above this do not round to a finite float64
_U = 2.0**-53


def PROB_SUM_TOLERANCE(size: int) -> float:  # noqa: N802 - reads as the constant it documents
    """Tolerance on ``|sum p - 1|`` for ``size`` entries: ``(size + 1) 2^-53``.

    Derivation: each entry of a vector whose exact decimal entries sum to 1 is rounded with
    relative error at most ``u = 2^-53``, which moves the sum by at most ``u``; normalising a
    vector by its float sum (``p / p.sum()``) adds at most ``(size - 1) u`` (Higham's
    ``gamma_{size-1}`` for recursive summation, to first order) plus ``u`` for the division.
    The sum itself is taken exactly rounded (``math.fsum``).
    """
    return (size + 1) * _U


class ParameterError(ConfigError):
    """An invalid parameter value of a registered result; the message is one line."""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and type(value).__name__ != "bool_"


@dataclasses.dataclass(frozen=True)
class Domain:
    """Base class of a parameter domain."""

    def describe(self) -> str:
        """The domain in words (``integer >= 2``)."""
        raise NotImplementedError

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready description."""
        raise NotImplementedError

    def check(self, name: str, value: Any) -> Any:
        """The canonical value (``int``, ``float`` or ``tuple[float, ...]``).

        Raises:
            ParameterError: ``value`` is not in the domain.

        """
        raise NotImplementedError

    def examples(self) -> list[Any]:
        """Valid values, extremes included (for tests and surveys)."""
        raise NotImplementedError

    def invalid_examples(self) -> list[Any]:
        """Values the check rejects: wrong types, non-finite, outside the bounds."""
        raise NotImplementedError

    def fail(self, name: str, value: Any, why: str = "") -> ParameterError:
        """The error for ``value`` of ``name`` outside this domain."""
        extra = f" ({why})" if why else ""
        return ParameterError(f"parameter {name} must be {self.describe()}, got {_fmt(value)}{extra}")


@dataclasses.dataclass(frozen=True)
class Integer(Domain):
    """An integer in ``[low, high]``.

    Attributes:
        low: Smallest allowed value.
        high: Largest allowed value (``None``: up to the float64 range).
        why_high: The reason for ``high`` (a cost or accuracy cap), shown in the error.

    """

    low: int
    high: int | None = None
    why_high: str = ""

    def describe(self) -> str:
        """``integer >= low`` or ``integer in [low, high]``."""
        if self.high is None:
            return f"integer >= {self.low}"
        return f"integer in [{self.low}, {self.high}]"

    def to_json(self) -> dict[str, Any]:
        """``{"type": "integer", "min": low, "max": high}``."""
        return {"type": "integer", "min": self.low, "max": self.high, "text": self.describe()}

    def check(self, name: str, value: Any) -> int:
        """The value as a Python int (see the module docstring for what is accepted)."""
        if not _number(value):
            raise self.fail(name, value, f"not a number: {type(value).__name__}")
        if isinstance(value, numbers.Integral):
            out = int(value)
        else:
            fval = float(value)
            if not math.isfinite(fval):
                raise self.fail(name, value, "not finite")
            if not fval.is_integer():
                raise self.fail(name, value, "not an integer")
            out = int(fval)
        if abs(out) >= _INT_MAX:
            raise self.fail(name, value, "beyond the float64 range")
        if out < self.low:
            raise self.fail(name, value)
        if self.high is not None and out > self.high:
            raise self.fail(name, value, self.why_high)
        return out

    def examples(self) -> list[Any]:
        """``low``, its neighbours and powers of ten up to ``10^300`` (or ``high``)."""
        top = self.high if self.high is not None else 10**300
        raw = [self.low + k for k in (0, 1, 2, 5)] + [10**e for e in (1, 2, 3, 4, 6, 9, 15, 40, 300)] + [top]
        return sorted({v for v in raw if self.low <= v <= top})

    def invalid_examples(self) -> list[Any]:
        """Below ``low``, above ``high``, non-integral, non-finite, too large, wrong types."""
        out: list[Any] = [self.low - 1, self.low + 0.5, float("nan"), float("inf"), -float("inf"), 2**1100]
        out += ["5", None, True, [self.low], complex(self.low, 1)]
        if self.high is not None:
            out.append(self.high + 1)
        return out


@dataclasses.dataclass(frozen=True)
class Real(Domain):
    """A finite real in an interval.

    Attributes:
        low: Lower end (``None``: unbounded).
        high: Upper end (``None``: unbounded).
        low_open: The lower end is excluded.
        high_open: The upper end is excluded.

    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def describe(self) -> str:
        """``real``, ``real > 0``, ``real in (0, 1]``, ..."""
        lo, hi = self.low, self.high
        if lo is None and hi is None:
            return "real"
        if hi is None:
            return f"real {'>' if self.low_open else '>='} {_num(lo)}"
        if lo is None:
            return f"real {'<' if self.high_open else '<='} {_num(hi)}"
        return f"real in {'(' if self.low_open else '['}{_num(lo)}, {_num(hi)}{')' if self.high_open else ']'}"

    def to_json(self) -> dict[str, Any]:
        """``{"type": "real", "min", "max", "min_open", "max_open"}``."""
        return {
            "type": "real",
            "min": self.low,
            "max": self.high,
            "min_open": self.low_open,
            "max_open": self.high_open,
            "text": self.describe(),
        }

    def check(self, name: str, value: Any) -> float:
        """The value as a Python float."""
        if not _number(value):
            raise self.fail(name, value, f"not a number: {type(value).__name__}")
        if isinstance(value, numbers.Integral) and abs(int(value)) >= _INT_MAX:
            raise self.fail(name, value, "beyond the float64 range")
        out = float(value)
        if not math.isfinite(out):
            raise self.fail(name, value, "not finite")
        if self.low is not None and (out < self.low or (self.low_open and out == self.low)):
            raise self.fail(name, value)
        if self.high is not None and (out > self.high or (self.high_open and out == self.high)):
            raise self.fail(name, value)
        return out

    def _inside(self, x: float) -> bool:
        try:
            self.check("x", x)
        except ParameterError:
            return False
        return True

    def examples(self) -> list[Any]:
        """Closed ends, the floats next to open ends, and magnitudes from 1e-300 to 1e300."""
        raw = [0.0, 0.1, 0.5, 1 - 1e-10, 1.0, 1 + 1e-10, 2.0, 3.0, 10.0, 1e10, 1e300, 1e-10, 1e-300]
        raw += [-x for x in raw]
        for end, is_open, towards in ((self.low, self.low_open, math.inf), (self.high, self.high_open, -math.inf)):
            if end is not None:
                raw += [end, math.nextafter(end, towards)] if is_open else [end]
        return sorted({x for x in raw if self._inside(x)})

    def invalid_examples(self) -> list[Any]:
        """Outside the ends, the open ends themselves, non-finite values, wrong types."""
        out: list[Any] = [float("nan"), float("inf"), -float("inf"), "0.5", None, True, [0.5], 2**1100]
        if self.low is not None:
            out += [self.low - 1.0, math.nextafter(self.low, -math.inf)] + ([self.low] if self.low_open else [])
        if self.high is not None:
            out += [self.high + 1.0, math.nextafter(self.high, math.inf)] + ([self.high] if self.high_open else [])
        return out


def _num(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else repr(float(x))


@dataclasses.dataclass(frozen=True)
class ProbVector(Domain):
    """A probability vector of ``K`` entries, ``min_len <= K <= max_len``.

    Attributes:
        min_len: Fewest entries.
        max_len: Most entries (a cost cap).

    """

    min_len: int = 2
    max_len: int = 100_000

    def describe(self) -> str:
        """``probability vector (K in [2, 100000] entries in [0, 1], sum 1)``."""
        return f"a probability vector (K in [{self.min_len}, {self.max_len}] entries in [0, 1] summing to 1)"

    def to_json(self) -> dict[str, Any]:
        """``{"type": "probability_vector", "min_len", "max_len"}``."""
        return {"type": "probability_vector", "min_len": self.min_len, "max_len": self.max_len, "text": self.describe()}

    def check(self, name: str, value: Any) -> tuple[float, ...]:
        """The entries as a tuple of floats."""
        if isinstance(value, (str, bytes)) or _number(value) or not hasattr(value, "__len__"):
            raise self.fail(name, value, "not a sequence")
        try:
            items = list(value)
        except TypeError:
            raise self.fail(name, value, "not a sequence") from None
        if not self.min_len <= len(items) <= self.max_len:
            raise self.fail(name, value, f"{len(items)} entries")
        out = []
        for i, item in enumerate(items):
            if not _number(item):
                raise self.fail(name, value, f"entry {i} is not a number")
            fval = float(item)
            if not (math.isfinite(fval) and 0.0 <= fval <= 1.0):
                raise self.fail(name, value, f"entry {i} = {_fmt(fval)}")
            out.append(fval)
        total = math.fsum(out)
        if abs(total - 1.0) > PROB_SUM_TOLERANCE(len(out)):
            raise self.fail(name, value, f"sum {total!r}, tolerance {PROB_SUM_TOLERANCE(len(out)):.2g}")
        return tuple(out)

    def examples(self) -> list[Any]:
        """Uniform, skewed, nearly degenerate and degenerate vectors, the longest uniform one."""
        raw: list[list[float]] = [
            [1.0],
            [0.5, 0.5],
            [1 - 1e-10, 1e-10],
            [1.0, 0.0],
            [1e-300, 1.0],
            [0.5, 0.3, 0.2],
            [0.4, 0.3, 0.15, 0.1, 0.05],
            [0.001] * 1000,
            [1.0 / self.max_len] * self.max_len,
        ]
        return [v for v in raw if self.min_len <= len(v) <= self.max_len and _ok(self, v)]

    def invalid_examples(self) -> list[Any]:
        """Scalars, strings, wrong sums, entries outside [0, 1], wrong lengths."""
        out: list[Any] = [0.5, "0.5,0.5", None, [0.5, 0.6], [1.5, -0.5], [float("nan"), 1.0], [], [0.5, "0.5"]]
        out += [[0.2] * 4, [1.0 / (self.max_len + 1)] * (self.max_len + 1)]
        if self.min_len > 1:
            out.append([1.0])
        return out


def _ok(domain: Domain, value: Any) -> bool:
    try:
        domain.check("p", value)
    except ParameterError:
        return False
    return True


@dataclasses.dataclass(frozen=True)
class Constraint:
    """A condition across parameters.

    Attributes:
        text: The condition as shown to users (``M >= d + 1``).
        holds: ``holds(values) -> bool`` on the canonical values.
        names: The parameters it involves, in the order they are shown in the error.

    """

    text: str
    holds: Callable[[Mapping[str, Any]], bool]
    names: Sequence[str]

    def check(self, values: Mapping[str, Any]) -> None:
        """Raise :class:`ParameterError` when the condition fails."""
        if not self.holds(values):
            shown = ", ".join(f"{k}={_fmt(values[k])}" for k in self.names)
            raise ParameterError(f"parameters {shown} violate {self.text}")


INT_GE0 = Integer(0)
INT_GE1 = Integer(1)
INT_GE2 = Integer(2)
REAL = Real()
POSITIVE = Real(0.0, low_open=True)
NONNEG = Real(0.0)
UNIT_CLOSED = Real(0.0, 1.0)
UNIT_HALF_OPEN = Real(0.0, 1.0, low_open=True)
UNIT_OPEN = Real(0.0, 1.0, low_open=True, high_open=True)
PROB_VECTOR = ProbVector()
