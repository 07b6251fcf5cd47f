"""Simulation configuration: the run-level settings plus the family's spec, validated with one-line errors.

A :class:`SimConfig` holds what every run has (scenario, sample sizes, generations, chains, seed,
recorded generations, precision, chunking, the fresh/weighting settings of the scenario) and a
family spec (:class:`~collapse_theory.families.spec.FamilySpec`) that owns the family's own
settings. For convenience the family's settings can be given flat::

    SimConfig(family="gaussian", estimator="mle", samples=20)      # = family=ct.family("gaussian", estimator="mle")

and read flat (``config.estimator``). A setting that the family does not take is an error, by
construction. Every invalid setting raises :class:`ConfigError` (a ``ValueError``) whose message
is one line naming the setting; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from collapse_theory import saved_configs
from collapse_theory.errors.precision import FORMATS as PRECISIONS
from collapse_theory.families import registry
from collapse_theory.families.categorical import PROB_TOLERANCE
from collapse_theory.families.spec import (
    ConfigError,
    FamilySpec,
    RunContext,
    check_choice,
    check_int,
    check_real,
)
from collapse_theory.scenarios.schedule import MAX_SAMPLES, ScheduleError, evaluate_schedule
from collapse_theory.scenarios.workflows import SCENARIOS

__all__ = [
    "ConfigError",
    "SimConfig",
    "default_record",
    "PROB_TOLERANCE",
    "PRECISIONS",
    "SCENARIOS",
    "MIXINGS",
    "RUN_SETTINGS",
    "SCENARIO_SETTINGS",
]

MIXINGS = ("split", "mixture")
SCENARIO_SETTINGS = ("real_fraction", "mixing", "real_weight")
RUN_SETTINGS = (
    "scenario",
    "samples",
    "samples_schedule",
    "generations",
    "chains",
    "seed",
    "record",
    "precision",
    "chunk_size",
    "metrics",
    *SCENARIO_SETTINGS,
    "devices",
    "keep_chains",
)
MAX_GENERATIONS = 10**7
MAX_CHAINS = 2**32
"""Chain indices are 32-bit counters of the random streams."""


def default_record(generations: int) -> tuple[int, ...]:
    """A log-spaced set of generations: 0, 1, 2, 5, 10, 20, 50, ... up to and including the last."""
    out = {0, generations}
    base = 1
    while base <= generations:
        for m in (1, 2, 5):
            if m * base <= generations:
                out.add(m * base)
        base *= 10
    return tuple(sorted(out))


@dataclass(frozen=True, init=False)
class SimConfig:
    """Everything that defines a simulation; results store it verbatim.

    Attributes:
        family: the family's name (``spec.name``).
        scenario: ``"replace"``, ``"accumulate"``, ``"accumulate-subsample"`` or ``"fresh"``.
        samples: M, the sample size per generation (default 100 unless ``samples_schedule`` is
            set); ``math.inf`` (CLI ``--samples inf``) fits the population moments exactly
            where the family supports it (1-D Gaussian), switching the statistical error off.
            For regression it is the design size T.
        samples_schedule: an expression in t giving M_t, e.g. ``"3*(t+1)**2"`` (not with ``samples``).
        generations: number of fit-sample generations n.
        chains: number of independent replicate chains.
        seed: the run's seed; chain c's stream depends only on (seed, c, generation).
        record: generations at which metrics are recorded (0 = the truth).
        precision: ``"float32"`` (default, fast) or ``"float64"`` (enabled locally, never
            globally); ``"float16"`` and ``"bfloat16"`` where the family computes in them
            (the Gaussian ``kernel="naive-sample"``).
        chunk_size: chains per compiled batch, rounded up to a multiple of 64 (None = automatic).
        metrics: subset of metric names to keep (None = all).
        real_fraction, mixing: the fresh workflow (alpha in [0, 1], default 0.5; ``split`` = exactly
            round(alpha M) real points, default, or ``mixture`` = each point real w.p. alpha).
        real_weight: total weight w of the real data in the fit (accumulate, fresh; He, Xu & Cheng).
        devices: local JAX devices to shard the chains over (None = all); results do not depend on it.
        keep_chains: keep every chain's values (True), stream the summaries in bounded memory
            (False), or keep them only when they fit comfortably (None; see ``docs/scale-out.md``).
        spec: the family spec with the family's own settings (see ``ct.family``).

    """

    family: str
    scenario: str
    samples: int | float | None
    samples_schedule: str | None
    generations: int
    chains: int
    seed: int
    record: tuple[int, ...] | None
    precision: str
    chunk_size: int | None
    metrics: tuple[str, ...] | None
    real_fraction: float | None
    mixing: str | None
    real_weight: float | None
    devices: int | None
    keep_chains: bool | None
    spec: FamilySpec

    def __init__(
        self,
        family: str | FamilySpec,
        scenario: str = "replace",
        samples: int | float | None = None,
        samples_schedule: str | None = None,
        generations: int = 100,
        chains: int = 1000,
        seed: int = 0,
        record: tuple[int, ...] | None = None,
        precision: str = "float32",
        chunk_size: int | None = None,
        metrics: tuple[str, ...] | None = None,
        real_fraction: float | None = None,
        mixing: str | None = None,
        real_weight: float | None = None,
        devices: int | None = None,
        keep_chains: bool | None = None,
        spec: FamilySpec | None = None,
        **settings,
    ):
        if isinstance(family, FamilySpec):
            if spec is not None and spec is not family:
                raise ConfigError("give the family spec once (family= or spec=)")
            spec = family
        elif spec is None:
            spec = registry.family(family, **settings)
            settings = {}
        elif not isinstance(family, str) or family != spec.name:
            raise ConfigError(f"family {family!r} does not match its spec ({spec.name!r})")
        if settings:
            spec = spec.replace(**settings)
        values = dict(
            family=spec.name,
            scenario=scenario,
            samples=samples,
            samples_schedule=samples_schedule,
            generations=generations,
            chains=chains,
            seed=seed,
            record=tuple(record) if isinstance(record, list) else record,
            precision=precision,
            chunk_size=chunk_size,
            metrics=tuple(metrics) if isinstance(metrics, list) else metrics,
            real_fraction=real_fraction,
            mixing=mixing,
            real_weight=real_weight,
            devices=devices,
            keep_chains=keep_chains,
            spec=spec,
        )
        for k, v in values.items():
            object.__setattr__(self, k, v)

    def __getattr__(self, name: str):
        # Only called when normal lookup fails: the family's settings read flat (config.estimator).
        spec = self.__dict__.get("spec")
        if spec is not None and name in type(spec).setting_names():
            return getattr(spec, name)
        raise AttributeError(f"{type(self).__name__} has no setting {name!r}")

    def replace(self, **changes) -> SimConfig:
        """A copy with run-level or family settings changed (flat names, as in the constructor)."""
        run = {k: v for k, v in changes.items() if k in RUN_SETTINGS}
        fam = {k: v for k, v in changes.items() if k not in RUN_SETTINGS}
        spec = self.spec.replace(**fam) if fam else self.spec
        return dataclasses.replace(self, **run, spec=spec)

    # --- JSON ---
    def to_dict(self) -> dict:
        """JSON-ready dict: ``family``, the run-level settings, then the family's settings, flat.

        ``samples = inf`` is written as ``"inf"``. A user family's entry says ``user_family: true``.
        """
        d: dict[str, Any] = {"family": self.family}
        for k in RUN_SETTINGS:
            v = getattr(self, k)
            d[k] = list(v) if isinstance(v, tuple) else v
        if d["samples"] == math.inf:
            d["samples"] = "inf"
        return d | self.spec.settings()

    @classmethod
    def from_dict(cls, d: dict) -> SimConfig:
        """Inverse of :meth:`to_dict`; also reads the flat configurations saved by version 0.1.0.

        A user family's configuration cannot be rebuilt (its functions are not saved): its spec
        is an :class:`~collapse_theory.saved_configs.UnavailableSpec` that records the settings and refuses to run.

        Raises:
            ConfigError: an unknown family, or a setting that the family does not take.

        """
        spec, run = saved_configs.read(d, RUN_SETTINGS)
        return cls(family=spec, **run)

    # --- validation ---
    def context(self) -> RunContext:
        """The run-level settings a family validates itself against (validated config)."""
        return RunContext(
            scenario=self.scenario,
            samples=self.samples,
            samples_schedule=self.samples_schedule,
            sizes=self.sizes(),
            generations=self.generations,
            precision=self.precision,
            real_weight=self.real_weight,
            real_fraction=self.real_fraction,
            mixing=self.mixing,
        )

    def validated(self) -> SimConfig:
        """Check every setting; return a copy with defaults filled in (samples, record, the family's).

        Raises:
            ConfigError: with a one-line message naming the bad setting.

        """
        err = ConfigError
        check_choice(self.scenario, "scenario", SCENARIOS)
        check_choice(self.precision, "precision", PRECISIONS)
        generations = check_int(self.generations, "generations", lo=1, hi=MAX_GENERATIONS)
        chains = check_int(self.chains, "chains", lo=1, hi=MAX_CHAINS)
        seed = check_int(self.seed, "seed", lo=0, hi=2**63 - 1)
        chunk = None if self.chunk_size is None else check_int(self.chunk_size, "chunk_size", lo=1)
        devices = None if self.devices is None else check_int(self.devices, "devices", lo=1)
        if self.keep_chains is not None and not isinstance(self.keep_chains, (bool, np.bool_)):
            raise err(f"keep_chains must be True, False or None, got {self.keep_chains!r}")
        keep = None if self.keep_chains is None else bool(self.keep_chains)
        samples, schedule = self.samples, self.samples_schedule
        if schedule is not None:
            if samples is not None:
                raise err("give --samples or --samples-schedule, not both")
            if not isinstance(schedule, str):
                raise err(f"--samples-schedule must be an expression in t, got {schedule!r}")
        elif samples is None:
            samples = 100
        elif isinstance(samples, (float, np.floating)) and samples == math.inf:
            samples = math.inf
        else:
            samples = check_int(samples, "samples", lo=1, hi=MAX_SAMPLES)
        scenario_settings = self._scenario_settings()
        record = self._record(generations)
        metrics = self.metrics
        if metrics is not None:
            if isinstance(metrics, str) or not all(isinstance(m, str) for m in metrics) or not metrics:
                raise err(f"--metrics must be a non-empty list of metric names, got {metrics!r}")
            metrics = tuple(metrics)
        c = dataclasses.replace(
            self,
            samples=samples,
            generations=generations,
            chains=chains,
            seed=seed,
            chunk_size=chunk,
            record=record,
            metrics=metrics,
            devices=devices,
            keep_chains=keep,
            **scenario_settings,
        )
        if c.population() and not c.spec.supports_population():
            raise err(f"--samples inf (the population fit) is not available for the {c.family} family")
        if schedule is not None:
            try:
                evaluate_schedule(schedule, generations, 1)
            except ScheduleError as e:
                raise err(f"--samples-schedule: {e}") from None
        spec = c.spec.validated(c.context())
        if c.precision not in spec.precisions():
            raise err(
                f"--precision {c.precision} is not available for this {c.family} configuration "
                f"(choose from {', '.join(spec.precisions())})"
            )
        c = dataclasses.replace(c, spec=spec)
        minimum = spec.min_samples()
        if not c.population():
            if schedule is None:
                if samples is not None and samples < minimum:
                    raise err(f"--samples must be at least {minimum} for this family and estimator, got {samples}")
            else:
                try:
                    evaluate_schedule(schedule, generations, minimum)
                except ScheduleError as e:
                    raise err(f"--samples-schedule: {e}") from None
            if c.scenario == "fresh" and c.mixing == "split":
                c._check_split()
        if metrics is not None:
            names = spec.metric_names()
            unknown = [m for m in metrics if m not in names]
            if unknown:
                raise err(f"unknown metric {unknown[0]!r} for {c.family}; choose from {', '.join(names)}")
        return c

    def _scenario_settings(self) -> dict:
        err = ConfigError
        out: dict[str, Any] = {}
        fresh = self.scenario == "fresh"
        for name in ("real_fraction", "mixing"):
            if getattr(self, name) is not None and not fresh:
                raise err(f"--{name.replace('_', '-')} is for --scenario fresh, not {self.scenario}")
        if fresh:
            alpha = 0.5 if self.real_fraction is None else self.real_fraction
            out["real_fraction"] = check_real(alpha, "real_fraction", lo=0.0, hi=1.0, lo_closed=True, hi_closed=True)
            out["mixing"] = check_choice("split" if self.mixing is None else self.mixing, "mixing", MIXINGS)
        if self.real_weight is not None:
            out["real_weight"] = check_real(self.real_weight, "real_weight", lo=0.0, hi=1.0)
            if self.scenario not in ("accumulate", "fresh"):
                raise err(
                    f"--real-weight needs real data in every fit: use it with accumulate or fresh, not {self.scenario}"
                )
        return out

    def _record(self, generations: int) -> tuple[int, ...]:
        err = ConfigError
        record = self.record if self.record is not None else default_record(generations)
        if isinstance(record, (str, bytes)) or not hasattr(record, "__iter__"):
            raise err(f"--record must be a list of generations, got {record!r}")
        vals = []
        for r in record:
            if isinstance(r, (bool, np.bool_)) or not isinstance(r, (int, np.integer)):
                raise err(f"--record generations must be integers, got {r!r}")
            vals.append(int(r))
        out = tuple(sorted(set(vals)))
        if not out:
            raise err("--record needs at least one generation")
        if out[0] < 0 or out[-1] > generations:
            raise err(f"--record generations must be in [0, {generations}], got {out[0]}..{out[-1]}")
        return out

    def _check_split(self) -> None:
        assert self.real_fraction is not None
        sizes = self.sizes()
        n_real = np.round(self.real_fraction * sizes)
        if self.real_fraction > 0 and np.any(n_real == 0):
            raise ConfigError(
                f"--real-fraction {self.real_fraction} gives 0 real points when M={int(sizes[np.argmax(n_real == 0)])}; use --mixing mixture or a larger fraction"
            )

    def population(self) -> bool:
        """Whether the fit is to infinitely many samples (``samples = inf``)."""
        return self.samples == math.inf

    def sizes(self) -> np.ndarray:
        """Sample sizes M_t for t = 0..generations-1 (validated config)."""
        if self.population():
            return np.ones(self.generations, dtype=np.int64)  # population fits: n is a weight
        if self.samples_schedule is None:
            return np.full(self.generations, 100 if self.samples is None else self.samples, dtype=np.int64)
        return evaluate_schedule(self.samples_schedule, self.generations, 1)
