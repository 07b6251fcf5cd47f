"""Simulation configuration: one frozen dataclass, validated with one-line errors.

Every invalid setting raises :class:`ConfigError` (a ``ValueError``) whose message is one line
that names the setting; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from collapse_theory import config_checks as checks
from collapse_theory.config_checks import PROB_TOLERANCE, ConfigError
from collapse_theory.scenarios.schedule import ScheduleError, evaluate_schedule

__all__ = ["ConfigError", "SimConfig", "default_record", "PROB_TOLERANCE"]


FAMILIES = ("gaussian", "categorical", "kde", "regression", "poisson", "gmm")
KERNELS = ("exact", "sample", "naive-sample")
PRECISIONS = ("float64", "float32", "float16", "bfloat16")
SCENARIOS = ("replace", "accumulate", "accumulate-subsample", "fresh")


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
        family: ``"gaussian"``, ``"categorical"``, ``"kde"``, ``"regression"``, ``"poisson"`` or
            ``"gmm"``.
        scenario: ``"replace"``, ``"accumulate"``, ``"accumulate-subsample"`` or ``"fresh"``.
        estimator: gaussian ``"unbiased"`` (ddof = 1), ``"mle"`` (ddof = 0) or ``"bayes"``
            (Normal-Inverse-Gamma posterior predictive, needs ``prior``), no default on purpose
            for the Gaussian; categorical ``"mle"`` or ``"laplace"`` (the Dirichlet(a)
            posterior predictive); the other families have one estimator each (set for you).
        samples: M, the sample size per generation (ignored when ``samples_schedule`` is set);
            ``math.inf`` (CLI ``--samples inf``) fits the population moments exactly (1-D
            Gaussian, replace or accumulate), switching the statistical error off. For
            regression it is the design size T.
        generations: number of fit-sample generations n.
        chains: number of independent replicate chains.
        seed: the run's seed; chain c's stream depends only on (seed, c, generation).
        record: generations at which metrics are recorded (0 = the truth).
        kernel: ``"exact"`` (sufficient statistics), ``"sample"`` (draw and fit points) or
            ``"naive-sample"`` (1-D Gaussian: x = mu + sigma z and the estimator in the chosen
            ``precision``, ``rounding`` and ``accumulation``; shows the precision floor).
        dim, mean, cov_diag, cov: the Gaussian truth (default N(0, I_dim)); ``cov`` (full matrix,
            row-major tuple of rows) overrides ``cov_diag``.
        probs: the categorical truth.
        smoothing: Laplace pseudo-count.
        real_fraction, mixing: the fresh-data workflow (alpha in [0, 1]; ``split`` or ``mixture``).
        real_weight: total weight w of the real data in the fit (He, Xu & Cheng), or None.
        samples_schedule: an expression in t giving M_t, e.g. ``"3*(t+1)**2"``.
        precision: ``"float32"`` (default, fast) or ``"float64"`` (enabled locally, never
            globally); ``"float16"`` and ``"bfloat16"`` with ``kernel="naive-sample"``.
        rounding, accumulation: the naive-sample kernel's rounding (``"nearest"`` or
            ``"stochastic"``) and summation (``"naive"``, ``"pairwise"``, ``"kahan"``,
            ``"welford"``).
        truth: a non-Gaussian truth for a Gaussian fit (``"mixture:w,m,s;w,m,s"`` or
            ``"student-t:df[,loc,scale]"``), or the GMM family's true mixture.
        bandwidth: KDE bandwidth h > 0, or ``"scott"`` / ``"silverman"``.
        noise_sd, design: regression noise standard deviation and ``"fixed"`` / ``"fresh"``
            design; ``dim`` is the number of features and ``mean`` the true weights.
        rate: the Poisson truth.
        components, em_iterations, em_tol, em_init, var_floor: the GMM fit by EM.
        prior: NIG prior ``(mu0, kappa0, alpha0, beta0)`` of the Bayesian Gaussian learner.
        chunk_size: chains per compiled batch, rounded up to a multiple of 64 (None = automatic).
        metrics: subset of metric names to keep (None = all).

    """

    family: str
    scenario: str = "replace"
    estimator: str | None = None
    samples: int | float = 100
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
    rounding: str = "nearest"
    accumulation: str = "naive"
    truth: str | None = None
    bandwidth: float | str | None = None
    noise_sd: float = 1.0
    design: str = "fixed"
    rate: float = 1.0
    components: int = 2
    em_iterations: int = 100
    em_tol: float | None = 1e-6
    em_init: str = "quantile"
    var_floor: float = 1e-6
    prior: tuple[float, ...] | None = None

    def to_dict(self) -> dict:
        """JSON-ready dict of every setting (seed included; ``samples = inf`` as ``"inf"``)."""
        d = dataclasses.asdict(self)
        if d["samples"] == math.inf:
            d["samples"] = "inf"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SimConfig":
        """Inverse of :meth:`to_dict` (lists become tuples)."""

        def tup(v):
            if isinstance(v, list):
                return tuple(tup(x) for x in v)
            return v

        d = {k: tup(v) for k, v in d.items()}
        if d.get("samples") == "inf":
            d["samples"] = math.inf
        return cls(**d)

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
        if self.kernel not in KERNELS:
            raise err(f"unknown kernel {self.kernel!r}; choose from {', '.join(KERNELS)}")
        if self.precision not in PRECISIONS:
            raise err(f"unknown precision {self.precision!r}; choose from {', '.join(PRECISIONS)}")
        if self.samples == math.inf and not isinstance(self.samples, bool):
            checks.check_population(self)
        elif not isinstance(self.samples, (int, np.integer)) or isinstance(self.samples, bool):
            raise err(f"--samples must be an integer or inf, got {self.samples!r}")
        for name in ("generations", "chains", "dim"):
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
        checks.check_precision(self)
        changes = checks.validate_family(self)
        minimum = checks.min_samples(self, changes.get("estimator", self.estimator))
        if self.population():
            pass
        elif self.samples_schedule is None:
            if self.samples < minimum:
                raise err(f"--samples must be at least {minimum} for this family and estimator, got {self.samples}")
        else:
            try:
                evaluate_schedule(self.samples_schedule, self.generations, minimum)
            except ScheduleError as e:
                raise err(f"--samples-schedule: {e}") from None
        if self.scenario == "fresh" and self.mixing == "split" and self.family == "gaussian" and not self.population():
            self._check_split(minimum)
        record = self.record if self.record is not None else default_record(self.generations)
        record = tuple(sorted(set(int(r) for r in record)))
        if not record:
            raise err("--record needs at least one generation")
        if record[0] < 0 or record[-1] > self.generations:
            raise err(f"--record generations must be in [0, {self.generations}], got {record[0]}..{record[-1]}")
        changes["record"] = record
        return dataclasses.replace(self, **changes)

    def population(self) -> bool:
        """Whether the fit is to infinitely many samples (``samples = inf``)."""
        return self.samples == math.inf

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
        if self.family != "categorical" and (self.temperature != 1.0 or self.top_p != 1.0):
            raise err("--temperature and --top-p are for the categorical family")
        if self.family != "gaussian" and (self.sampling_variance != 1.0 or self.truncate is not None):
            raise err("--sampling-variance and --truncate are for the Gaussian family")
        if self.truncate is not None and (self.dim != 1 or self.kernel != "sample"):
            raise err(
                "--truncate needs a 1-D Gaussian and --kernel sample (truncated draws have no exact statistics kernel)"
            )

    def _check_split(self, minimum: int) -> None:
        sizes = self.sizes()
        n_real = np.round(self.real_fraction * sizes)
        if self.real_fraction > 0 and np.any(n_real == 0):
            raise ConfigError(
                f"--real-fraction {self.real_fraction} gives 0 real points when M={int(sizes[np.argmax(n_real == 0)])}; use --mixing mixture or a larger fraction"
            )

    def sizes(self) -> np.ndarray:
        """Sample sizes M_t for t = 0..generations-1 (validated config)."""
        if self.population():
            return np.ones(self.generations, dtype=np.int64)  # population fits: n is a weight
        if self.samples_schedule is None:
            return np.full(self.generations, self.samples, dtype=np.int64)
        return evaluate_schedule(self.samples_schedule, self.generations, 1)
