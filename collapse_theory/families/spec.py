"""Family specs: what a family is and which settings it takes, as a small frozen dataclass.

A *spec* is the object the driver is handed (``ct.run(spec, ...)``, like blackjax's
``run_inference_algorithm(key, algorithm, ...)``). It owns, in one place:

* its settings: dataclass fields declared with :func:`setting` (default, help text, CLI parser),
  from which the command line's options are generated;
* their validation against the run (:meth:`FamilySpec.validated`), with one-line
  :class:`ConfigError` messages that name the setting;
* its minimum sample size, metric names and supported precisions;
* its capabilities: the population fit (``samples = inf``), whether its compiled program depends
  on the sample size, the error sources it can switch off (:mod:`collapse_theory.decompose`);
* :meth:`FamilySpec.build`: the batched :class:`~collapse_theory.families.base.Family` the engine
  runs, and optionally its memory estimate.

Built-in specs live in their family's module and are listed in
:mod:`collapse_theory.families.registry`; a user's estimator is the spec
:class:`collapse_theory.families.user.Estimator`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, ClassVar, NamedTuple

import jax.numpy as jnp
import numpy as np

from collapse_theory.families.validation import (
    ConfigError,
    check_choice,
    check_in_precision,
    check_int,
    check_real,
    check_reals,
    check_resolution,
    flag,
    format_info,
    parse_float,
    parse_floats,
    parse_int,
    parse_optional_float,
    unknown_setting,
)

__all__ = [
    "ConfigError",
    "RunContext",
    "BuildContext",
    "FamilySpec",
    "setting",
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


class RunContext(NamedTuple):
    """The run-level settings a family validates itself against.

    Attributes:
        scenario: the data workflow.
        samples: M (``math.inf`` for the population fit), or None under a schedule.
        samples_schedule: the expression of M_t, or None.
        sizes: ``int64[G]`` sample sizes M_t (ones for the population fit).
        generations: G.
        precision: the run's precision name.
        real_weight: total weight of the real data in the fit, or None.
        real_fraction: alpha of the fresh workflow, or None.
        mixing: ``"split"`` or ``"mixture"`` (fresh), or None.

    """

    scenario: str
    samples: int | float | None
    samples_schedule: str | None
    sizes: np.ndarray
    generations: int
    precision: str
    real_weight: float | None
    real_fraction: float | None
    mixing: str | None

    @property
    def population(self) -> bool:
        """Whether the fit is to infinitely many samples."""
        return self.samples == math.inf


class BuildContext(NamedTuple):
    """What a family's build needs to know about the run.

    Attributes:
        dtype: the carrier dtype (``jnp.float32`` or ``jnp.float64``).
        scenario: the data workflow.
        capacity: static upper bound of any one sample's size (max M_t).
        total: total points drawn over the run (sum M_t).
        precision: the run's precision name.
        population: the fit is to infinitely many samples (``samples = inf``).

    """

    dtype: Any
    scenario: str
    capacity: int
    total: int
    precision: str
    population: bool = False

    @property
    def pool(self) -> int:
        """Slots per chain of a point buffer: the whole pool under accumulate, else one sample."""
        return self.total if self.scenario == "accumulate" else self.capacity


def setting(
    default: Any = None,
    *,
    help: str,
    parse: Callable[[str], Any] | None = None,
    metavar: str | None = None,
    cli: bool = True,
    unit: str | None = None,
) -> Any:
    """Declare a family setting (a dataclass field with CLI metadata).

    Args:
        default: the value when not given (``None`` = unset; the spec's validation fills it).
        help: one line for ``--help``; the default and unit are appended.
        parse: turns the command-line text into the value (default: the text itself). Raise
            :class:`ConfigError` on bad text.
        metavar: the placeholder in ``--help``.
        cli: whether the command line exposes the setting.
        unit: the unit, shown in ``--help``.

    """
    return dataclasses.field(
        default=default, metadata={"help": help, "parse": parse, "metavar": metavar, "cli": cli, "unit": unit}
    )


def _jsonable(v):
    if isinstance(v, tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, float) and not math.isfinite(v):
        return "inf" if v > 0 else "-inf" if v < 0 else "nan"
    return v


@dataclasses.dataclass(frozen=True)
class FamilySpec:
    """Base class of family specs (see the module docstring); subclasses are frozen dataclasses.

    Class attributes:
        name: the family's registry name (``ct.family(name)``, the CLI's ``simulate NAME``).
        summary: one line for ``--help``.
        user: True for families written by users (their configuration cannot be rebuilt from
            a saved result).
        legacy: see below.

    """

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    user: ClassVar[bool] = False
    legacy: ClassVar[dict] = {}
    """Settings that results saved before the family had its own spec carry but that it no longer
    takes, with the only value they could have had (e.g. ``{"kernel": "sample"}``)."""

    @classmethod
    def from_legacy(cls, settings: dict) -> dict:
        """Adapt the family's settings of a result saved by an older version (default: unchanged)."""
        return settings

    # --- settings ---
    @classmethod
    def setting_names(cls) -> tuple[str, ...]:
        """The names of this family's settings."""
        return tuple(f.name for f in dataclasses.fields(cls))

    def settings(self) -> dict:
        """JSON-ready dict of the settings (tuples as lists, infinities as strings)."""
        return {f.name: _jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def replace(self, **changes) -> FamilySpec:
        """A copy with some settings changed (an unknown name is a :class:`ConfigError`)."""
        unknown = [k for k in changes if k not in self.setting_names()]
        if unknown:
            raise ConfigError(unknown_setting(self.name, unknown[0], self.setting_names()))
        return dataclasses.replace(self, **changes)

    def label(self) -> str:
        """A short description for table headers: the name and the settings that differ from their defaults."""
        parts = []
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None or (v == f.default and f.name not in ("estimator", "kernel")):
                continue
            if isinstance(v, tuple):
                if len(v) > 4 or any(isinstance(x, tuple) for x in v):
                    continue
                v = ",".join(f"{x:g}" for x in v)
            parts.append(f"{f.name}={v}")
        return " ".join([self.name, *parts])

    # --- validation ---
    def validated(self, run: RunContext) -> FamilySpec:
        """Check every setting against the run; return a copy with defaults filled in.

        Raises:
            ConfigError: one line naming the bad setting.

        """
        return self

    def min_samples(self) -> int:
        """The smallest sample size the (validated) estimator accepts."""
        return 1

    def precisions(self) -> tuple[str, ...]:
        """The run precisions this (validated) family supports."""
        return ("float32", "float64")

    def carrier_dtype(self, precision: str):
        """The dtype arrays are carried in for ``precision``."""
        return jnp.float64 if precision == "float64" else jnp.float32

    def supports_population(self) -> bool:
        """Whether ``samples = inf`` (the population fit) is available."""
        return False

    def capacity_free(self, run: RunContext) -> bool:
        """Whether the compiled program is independent of the sample sizes (one compile for every M).

        True for exact sufficient-statistic kernels, whose sample size is a runtime value; the
        engine then reuses one program across sample sizes and schedules.
        """
        return False

    def metric_names(self) -> tuple[str, ...]:
        """The metric names of the (validated) family, in order."""
        raise NotImplementedError

    # --- building ---
    def build(self, ctx: BuildContext):
        """The batched :class:`~collapse_theory.families.base.Family` for a validated spec."""
        raise NotImplementedError

    def bytes_per_chain(self, ctx: BuildContext) -> int | None:
        """Approximate working set per chain of one generation, or None (the engine measures it)."""
        return None

    # --- capabilities ---
    def error_switches(self, run: RunContext) -> dict[str, dict]:
        """For each error source, the configuration changes that switch it off (decompose).

        Returns:
            source name (``statistical``, ``functional``, ``numerical``) -> flat changes for
            :meth:`collapse_theory.SimConfig.replace`.

        Raises:
            ConfigError: the family cannot switch its error sources off, or not all are on.

        """
        raise ConfigError(f"the {self.name} family does not support decompose")
