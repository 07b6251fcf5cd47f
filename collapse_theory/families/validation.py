"""Validation helpers of family settings: one-line ``ConfigError`` messages that name the setting.

Every family spec checks its settings with these (types, ranges, what the run's precision holds
faithfully) and parses command-line text with the ``parse_*`` functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

__all__ = [
    "ConfigError",
    "flag",
    "check_real",
    "check_int",
    "check_choice",
    "check_reals",
    "check_in_precision",
    "check_resolution",
    "format_info",
    "parse_float",
    "parse_floats",
    "parse_int",
    "parse_optional_float",
    "unknown_setting",
]


class ConfigError(ValueError):
    """An invalid simulation setting (its message is one line naming the setting)."""


def flag(name: str) -> str:
    """The command-line flag of a setting: ``cov_diag`` -> ``--cov-diag``."""
    return "--" + name.replace("_", "-")


def _is_real(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_real(
    value,
    name: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_closed: bool = False,
    hi_closed: bool = False,
    finite: bool = True,
) -> float:
    """A real number within bounds, as a float; otherwise :class:`ConfigError` naming ``name``."""
    if not _is_real(value):
        raise ConfigError(f"{flag(name)} must be a number, got {value!r}")
    v = float(value)
    if math.isnan(v) or (finite and not math.isfinite(v)):
        raise ConfigError(f"{flag(name)} must be finite, got {value!r}")
    bad_lo = lo is not None and (v < lo or (v == lo and not lo_closed))
    bad_hi = hi is not None and (v > hi or (v == hi and not hi_closed))
    if bad_lo or bad_hi:
        if lo == 0 and hi is None:
            what = "non-negative" if lo_closed else "positive"
            what += " and finite" if finite else ""
        else:
            left = "(-inf" if lo is None else ("[" if lo_closed else "(") + f"{lo:g}"
            right = "inf)" if hi is None else f"{hi:g}" + ("]" if hi_closed else ")")
            what = f"in {left}, {right}"
        raise ConfigError(f"{flag(name)} must be {what}, got {value!r}")
    return v


def check_int(value, name: str, *, lo: int | None = None, hi: int | None = None) -> int:
    """An integer (not a bool or a float) within bounds."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{flag(name)} must be an integer, got {value!r}")
    v = int(value)
    if lo is not None and v < lo:
        raise ConfigError(f"{flag(name)} must be at least {lo}, got {v}")
    if hi is not None and v > hi:
        raise ConfigError(f"{flag(name)} must be at most {hi}, got {v}")
    return v


_FORMAT_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def format_info(precision: str):
    """``np.finfo`` of a precision name (bfloat16: 8 exponent and 8 significand bits)."""
    if precision == "bfloat16":
        import ml_dtypes

        return ml_dtypes.finfo(ml_dtypes.bfloat16)
    return np.finfo(_FORMAT_DTYPES[precision])


def check_in_precision(
    value: float, name: str, precision: str, *, headroom: float = 16.0, scale: float | None = None
) -> float:
    """A finite number that ``precision`` holds faithfully: a normal number (no underflow to a
    subnormal or zero) at most ``max / headroom`` in magnitude (room for the arithmetic on it).

    Args:
        value: the setting.
        name: its name (for the message).
        precision: the format that holds it.
        headroom: the factor below the format's largest number that the value must stay.
        scale: for a location (a mean), the spread it is compared with: a location smaller than the
            smallest normal number is then accepted, because it is held as (at worst) zero, an
            absolute error below that smallest normal number and so below one unit in the last
            place of ``scale`` (checked); only overflow is an error.

    Raises:
        ConfigError: naming the setting, the precision and the representable range.

    """
    fi = format_info(precision)
    tiny, big = float(fi.tiny), float(fi.max) / headroom
    v = float(value)
    if scale is not None and abs(v) < tiny and tiny <= abs(float(scale)) * float(fi.eps):
        return v
    if v != 0 and not (tiny <= abs(v) <= big):
        what = "underflows" if abs(v) < tiny else "overflows"
        raise ConfigError(
            f"{flag(name)} = {value!r} {what} {precision} (magnitudes from {tiny:.3g} to {big:.3g} are held "
            f"faithfully){'; use --precision float64' if precision != 'float64' else ''}"
        )
    return v


def check_resolution(step: float, location: float, what: str, precision: str, *, ulps: float = 256.0) -> None:
    """The smallest change a chain must resolve (``step``) spans at least ``ulps`` units in the last
    place of ``location`` in ``precision`` (so its rounding error is below 1 / (2 ulps) of it).

    Raises:
        ConfigError: explaining the step, the location and the remedy.

    """
    fi = format_info(precision)
    ulp = abs(float(location)) * float(fi.eps)
    if ulp > 0 and step < ulps * ulp:
        raise ConfigError(
            f"{what} ({step:.3g}) is only {step / ulp:.3g} units in the last place of {location:.3g} in {precision} "
            f"(need {ulps:g}); center the truth near 0{' or use --precision float64' if precision != 'float64' else ''}"
        )


def check_choice(value, name: str, choices: Sequence[str]) -> str:
    """One of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ConfigError(
            f"unknown {name.replace('_', ' ')} {value!r} ({flag(name)}); choose from {', '.join(choices)}"
        )
    return value


def check_reals(value, name: str, length: int | None = None) -> tuple[float, ...]:
    """A sequence of finite numbers (a string is not a sequence here), as a tuple of floats."""
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
        raise ConfigError(f"{flag(name)} must be a sequence of numbers, got {value!r}")
    vals = tuple(value)
    if length is not None and len(vals) != length:
        raise ConfigError(f"{flag(name)} needs {length} entries, got {len(vals)}")
    for v in vals:
        if not _is_real(v) or not math.isfinite(float(v)):
            raise ConfigError(f"{flag(name)} entries must be finite numbers, got {v!r}")
    return tuple(float(v) for v in vals)


def parse_floats(text: str) -> tuple[float, ...]:
    """Command-line parser of a comma-separated list of numbers."""
    try:
        return tuple(float(x) for x in text.split(","))
    except ValueError:
        raise ConfigError(f"expected a comma-separated list of numbers, got {text!r}") from None


def parse_float(text: str) -> float:
    """Command-line parser of one number."""
    try:
        return float(text)
    except ValueError:
        raise ConfigError(f"expected a number, got {text!r}") from None


def parse_int(text: str) -> int:
    """Command-line parser of one integer."""
    try:
        return int(text)
    except ValueError:
        raise ConfigError(f"expected an integer, got {text!r}") from None


def parse_optional_float(text: str) -> float | None:
    """A number, or ``none``."""
    return None if text.strip().lower() == "none" else parse_float(text)


def unknown_setting(family: str, name: str, known: Sequence[str]) -> str:
    """The error message for a setting that the family does not take."""
    return f"{flag(name)} is not a setting of the {family} family (its settings: {', '.join(flag(k) for k in known)})"
