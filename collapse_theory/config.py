"""Simulation configuration: one frozen dataclass, validated with one-line errors.

Every invalid setting raises :class:`ConfigError` (a ``ValueError``) whose message is one line
that names the setting; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from collapse_theory.scenarios.schedule import ScheduleError, evaluate_schedule

__all__ = ["ConfigError", "SimConfig", "default_record", "PROB_TOLERANCE"]

PROB_TOLERANCE = 1e-6
"""Probabilities must sum to 1 within this absolute tolerance; they are then renormalised in float64."""

FAMILIES = ("gaussian", "categorical")
SCENARIOS = ("replace", "accumulate", "accumulate-subsample", "fresh")


class ConfigError(ValueError):
    """An invalid simulation setting."""


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


@dataclass(frozen=True)
class SimConfig:
    """Everything that defines a simulation; results store it verbatim.

    Attributes:
        family: ``"gaussian"`` or ``"categorical"``.
        scenario: ``"replace"``, ``"accumulate"``, ``"accumulate-subsample"`` or ``"fresh"``.
        estimator: gaussian ``"unbiased"`` (ddof = 1) or ``"mle"`` (ddof = 0), no default on purpose
            for the Gaussian; categorical ``"mle"`` or ``"laplace"``.
        samples: M, the sample size per generation (ignored when ``samples_schedule`` is set).
        generations: number of fit-sample generations n.
        chains: number of independent replicate chains.
        seed: the run's seed; chain c's stream depends only on (seed, c, generation).
        record: generations at which metrics are recorded (0 = the truth).
        kernel: ``"exact"`` (sufficient statistics) or ``"sample"`` (draw and fit points).
        dim, mean, cov_diag, cov: the Gaussian truth (default N(0, I_dim)); ``cov`` (full matrix,
            row-major tuple of rows) overrides ``cov_diag``.
        probs: the categorical truth.
        smoothing: Laplace pseudo-count.
        real_fraction, mixing: the fresh-data workflow (alpha in [0, 1]; ``split`` or ``mixture``).
        real_weight: total weight w of the real data in the fit (He, Xu & Cheng), or None.
        samples_schedule: an expression in t giving M_t, e.g. ``"3*(t+1)**2"``.
        precision: ``"float32"`` (default, fast) or ``"float64"`` (enabled locally, never globally).
        chunk_size: chains per compiled batch, rounded up to a multiple of 64 (None = automatic).
        metrics: subset of metric names to keep (None = all).

    """

    family: str
    scenario: str = "replace"
    estimator: str | None = None
    samples: int = 100
    generations: int = 100
    chains: int = 1000
    seed: int = 0
    record: tuple[int, ...] | None = None
    kernel: str = "exact"
    dim: int = 1
    mean: tuple[float, ...] | None = None
    cov_diag: tuple[float, ...] | None = None
    cov: tuple[tuple[float, ...], ...] | None = None
    probs: tuple[float, ...] | None = None
    smoothing: float = 1.0
    real_fraction: float = 0.5
    mixing: str = "split"
    real_weight: float | None = None
    samples_schedule: str | None = None
    precision: str = "float32"
    chunk_size: int | None = None
    metrics: tuple[str, ...] | None = field(default=None)
    sampling_variance: float = 1.0
    truncate: float | None = None
    temperature: float = 1.0
    top_p: float = 1.0

    def to_dict(self) -> dict:
        """JSON-ready dict of every setting (seed included)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "SimConfig":
        """Inverse of :meth:`to_dict` (lists become tuples)."""

        def tup(v):
            if isinstance(v, list):
                return tuple(tup(x) for x in v)
            return v

        return cls(**{k: tup(v) for k, v in d.items()})

    def validated(self) -> "SimConfig":
        """Check every setting; return a copy with defaults filled in (truth, record, estimator).

        Raises:
            ConfigError: with a one-line message naming the bad setting.

        """
        err = ConfigError
        if self.family not in FAMILIES:
            raise err(f"unknown family {self.family!r}; choose from {', '.join(FAMILIES)}")
        if self.scenario not in SCENARIOS:
            raise err(f"unknown scenario {self.scenario!r}; choose from {', '.join(SCENARIOS)}")
        if self.kernel not in ("exact", "sample"):
            raise err(f"unknown kernel {self.kernel!r}; choose exact or sample")
        if self.precision not in ("float32", "float64"):
            raise err(f"unknown precision {self.precision!r}; choose float32 or float64")
        for name in ("samples", "generations", "chains", "dim"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                raise err(f"--{name} must be an integer, got {v!r}")
        if self.chains < 1:
            raise err(f"--chains must be at least 1, got {self.chains}")
        if self.generations < 1:
            raise err(f"--generations must be at least 1, got {self.generations}")
        if self.generations > 10**7:
            raise err(f"--generations must be at most 1e7, got {self.generations}")
        if not isinstance(self.seed, int) or self.seed < 0 or self.seed >= 2**63:
            raise err(f"--seed must be an integer in [0, 2**63), got {self.seed!r}")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise err(f"--chunk-size must be at least 1, got {self.chunk_size}")
        if not (0.0 <= self.real_fraction <= 1.0) or math.isnan(self.real_fraction):
            raise err(f"--real-fraction must be in [0, 1], got {self.real_fraction}")
        if self.mixing not in ("split", "mixture"):
            raise err(f"unknown mixing {self.mixing!r}; choose split or mixture")
        if self.real_weight is not None:
            if not (0.0 < self.real_weight < 1.0):
                raise err(f"--real-weight must be in (0, 1), got {self.real_weight}")
            if self.scenario not in ("accumulate", "fresh"):
                raise err(
                    f"--real-weight needs real data in every fit: use it with accumulate or fresh, not {self.scenario}"
                )
        self._validate_sampling()
        changes: dict = {}
        if self.family == "gaussian":
            changes.update(self._validate_gaussian())
        else:
            changes.update(self._validate_categorical())
        minimum = self._min_samples(changes.get("estimator", self.estimator))
        if self.samples_schedule is None:
            if self.samples < minimum:
                raise err(f"--samples must be at least {minimum} for this family and estimator, got {self.samples}")
        else:
            try:
                evaluate_schedule(self.samples_schedule, self.generations, minimum)
            except ScheduleError as e:
                raise err(f"--samples-schedule: {e}") from None
        if self.scenario == "fresh" and self.mixing == "split" and self.family == "gaussian":
            self._check_split(minimum)
        record = self.record if self.record is not None else default_record(self.generations)
        record = tuple(sorted(set(int(r) for r in record)))
        if not record:
            raise err("--record needs at least one generation")
        if record[0] < 0 or record[-1] > self.generations:
            raise err(f"--record generations must be in [0, {self.generations}], got {record[0]}..{record[-1]}")
        changes["record"] = record
        return dataclasses.replace(self, **changes)

    def biased(self) -> bool:
        """Whether synthetic data are drawn with a sampling bias."""
        return (
            self.sampling_variance != 1.0 or self.truncate is not None or self.temperature != 1.0 or self.top_p != 1.0
        )

    def _validate_sampling(self) -> None:
        err = ConfigError
        if not (0.0 < self.sampling_variance < math.inf):
            raise err(f"--sampling-variance must be positive and finite, got {self.sampling_variance}")
        if self.truncate is not None and not (0.0 < self.truncate < math.inf):
            raise err(f"--truncate must be positive and finite, got {self.truncate}")
        if not (0.0 < self.temperature < math.inf):
            raise err(f"--temperature must be positive and finite, got {self.temperature}")
        if not (0.0 < self.top_p <= 1.0):
            raise err(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.family == "gaussian" and (self.temperature != 1.0 or self.top_p != 1.0):
            raise err("--temperature and --top-p are for the categorical family")
        if self.family == "categorical" and (self.sampling_variance != 1.0 or self.truncate is not None):
            raise err("--sampling-variance and --truncate are for the Gaussian family")
        if self.truncate is not None and (self.dim != 1 or self.kernel != "sample"):
            raise err(
                "--truncate needs a 1-D Gaussian and --kernel sample (truncated draws have no exact statistics kernel)"
            )

    def _min_samples(self, estimator) -> int:
        if self.family == "categorical":
            return 1
        base = 2 if estimator == "unbiased" else 1
        return max(base, self.dim + 1) if self.dim > 1 else base

    def _check_split(self, minimum: int) -> None:
        sizes = self.sizes()
        n_real = np.round(self.real_fraction * sizes)
        if self.real_fraction > 0 and np.any(n_real == 0):
            raise ConfigError(
                f"--real-fraction {self.real_fraction} gives 0 real points when M={int(sizes[np.argmax(n_real == 0)])}; use --mixing mixture or a larger fraction"
            )

    def _validate_gaussian(self) -> dict:
        err = ConfigError
        if self.estimator not in ("unbiased", "mle"):
            raise err(
                f"--estimator must be chosen explicitly for the Gaussian: unbiased or mle, got {self.estimator!r}"
            )
        if self.probs is not None:
            raise err("--probs is for the categorical family")
        d = self.dim
        if d < 1:
            raise err(f"--dim must be at least 1, got {d}")
        mean = tuple(float(x) for x in (self.mean if self.mean is not None else (0.0,) * d))
        if len(mean) != d:
            raise err(f"--mean has {len(mean)} entries but --dim is {d}")
        if not all(math.isfinite(x) for x in mean):
            raise err("--mean must be finite")
        if self.cov is not None:
            cov = np.asarray(self.cov, dtype=np.float64)
            if cov.shape != (d, d):
                raise err(f"covariance must be {d}x{d}, got shape {cov.shape}")
            if not np.allclose(cov, cov.T, rtol=1e-12, atol=0):
                raise err("covariance must be symmetric")
            cov_t = tuple(tuple(float(x) for x in row) for row in cov)
            diag = None
        else:
            diag = tuple(float(x) for x in (self.cov_diag if self.cov_diag is not None else (1.0,) * d))
            if len(diag) != d:
                raise err(f"--cov-diag has {len(diag)} entries but --dim is {d}")
            cov = np.diag(diag)
            cov_t = None
        if not np.all(np.isfinite(cov)):
            raise err("covariance must be finite")
        eig = np.linalg.eigvalsh(cov)
        if eig[0] <= 0:
            raise err(f"covariance must be positive definite (smallest eigenvalue {eig[0]:.3g})")
        return {"mean": mean, "cov_diag": diag, "cov": cov_t}

    def _validate_categorical(self) -> dict:
        err = ConfigError
        est = self.estimator if self.estimator is not None else "mle"
        if est not in ("mle", "laplace"):
            raise err(f"--estimator for categorical must be mle or laplace, got {est!r}")
        if self.probs is None:
            raise err("--probs is required for the categorical family")
        if self.mean is not None or self.cov_diag is not None or self.cov is not None or self.dim != 1:
            raise err("--dim/--mean/--cov-diag are for the Gaussian family")
        p = np.asarray(self.probs, dtype=np.float64)
        if p.ndim != 1 or p.size < 2:
            raise err("--probs needs at least 2 states")
        if not np.all(np.isfinite(p)):
            raise err("--probs must be finite")
        if np.any(p < 0):
            raise err(f"--probs must be non-negative, got {p[p < 0][0]}")
        tiny = float(np.finfo(np.float32 if self.precision == "float32" else np.float64).tiny)
        if np.any((p > 0) & (p < tiny)):
            raise err(
                f"--probs has a positive probability below the smallest normal {self.precision} ({tiny:.3g}); set it to 0 or use --precision float64"
            )
        if abs(p.sum() - 1.0) > PROB_TOLERANCE:
            raise err(f"--probs must sum to 1 within {PROB_TOLERANCE}, sum is {p.sum():.9g}")
        if est == "laplace" and not (self.smoothing > 0):
            raise err(f"--smoothing must be positive, got {self.smoothing}")
        return {"estimator": est, "probs": tuple(float(x) for x in p / p.sum())}

    def sizes(self) -> np.ndarray:
        """Sample sizes M_t for t = 0..generations-1 (validated config)."""
        if self.samples_schedule is None:
            return np.full(self.generations, self.samples, dtype=np.int64)
        return evaluate_schedule(self.samples_schedule, self.generations, 1)
