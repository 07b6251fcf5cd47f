"""Simulation results: per-chain metric values at recorded generations, summaries, save/load.

Like scipy's ``BootstrapResult``: a dataclass with named fields; :meth:`SimulationResult.summary`
gives the mean over chains, its standard error and a normal-theory confidence interval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from collapse_theory.config import SimConfig

__all__ = ["Timing", "MetricSummary", "SimulationResult", "load"]


class Timing(NamedTuple):
    """Wall-clock timing: compilation, steady-state run, and throughput."""

    compile_seconds: float
    run_seconds: float
    chain_generations_per_second: float


class MetricSummary(NamedTuple):
    """Mean over chains per recorded generation, standard error of that mean, and a 95% CI."""

    mean: np.ndarray
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray


@dataclass
class SimulationResult:
    """The outcome of :func:`collapse_theory.simulate`.

    Attributes:
        config: the validated configuration (every setting, seed included).
        generations: ``int[R]`` recorded generations.
        values: metric name -> ``float64[R, chains]`` per-chain values.
        timing: compile and run time.
        version: package version that produced it.
        diagnostics: diagnostics of the fits (e.g. EM convergence) -> ``float64[R, chains]``,
            recorded beside the metrics (``Family.diagnostics``; a user's ``fit`` info).
        warnings: problems the run reports rather than hides (e.g. EM fits that did not converge).

    """

    config: SimConfig
    generations: np.ndarray
    values: dict[str, np.ndarray]
    timing: Timing
    version: str
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def summary(self, name: str) -> MetricSummary:
        """Mean, standard error (sample SD / sqrt(chains)) and 95% normal CI of one metric."""
        if name not in self.values:
            raise KeyError(f"unknown metric {name!r}; have {', '.join(self.values)}")
        v = self.values[name]
        c = v.shape[1]
        with np.errstate(invalid="ignore"):
            mean = v.mean(axis=1)
            se = v.std(axis=1, ddof=1) / np.sqrt(c) if c > 1 else np.full(v.shape[0], np.nan)
        return MetricSummary(mean, se, mean - 1.959963984540054 * se, mean + 1.959963984540054 * se)

    @property
    def metrics(self) -> dict[str, dict[str, list[float | None]]]:
        """The JSON contract's ``metrics`` block: name -> {"mean": [...], "se": [...]}."""
        out = {}
        for name in self.values:
            s = self.summary(name)
            out[name] = {"mean": [_num(x) for x in s.mean], "se": [_num(x) for x in s.se]}
        return out

    def to_json(self) -> dict:
        """The object ``simulate --format json`` prints."""
        return {
            "config": self.config.to_dict(),
            "generations": [int(g) for g in self.generations],
            "metrics": self.metrics,
            "timing": self.timing._asdict(),
            "version": self.version,
            "warnings": self.warnings,
        }

    def save(self, path: str | Path) -> Path:
        """Save to a ``.npz`` file holding the configuration, version, timing and all values."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        meta = {
            "config": self.config.to_dict(),
            "timing": self.timing._asdict(),
            "version": self.version,
            "warnings": list(self.warnings),
        }
        arrays = {f"values/{k}": v for k, v in self.values.items()}
        arrays |= {f"diagnostics/{k}": v for k, v in self.diagnostics.items()}
        arrays["meta"] = np.array(json.dumps(meta))
        arrays["generations"] = np.asarray(self.generations)
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
        return path


def _num(x: float) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else (None if np.isnan(x) else (1e308 if x > 0 else -1e308))


def load(path: str | Path) -> SimulationResult:
    """Load a result saved by :meth:`SimulationResult.save`."""
    with np.load(Path(path), allow_pickle=False) as f:
        meta = json.loads(str(f["meta"]))
        values = {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith("values/")}
        diagnostics = {k.split("/", 1)[1]: f[k] for k in f.files if k.startswith("diagnostics/")}
        gens = f["generations"]
    return SimulationResult(
        config=SimConfig.from_dict(meta["config"]),
        generations=gens,
        values=values,
        timing=Timing(**meta["timing"]),
        version=meta["version"],
        diagnostics=diagnostics,
        warnings=list(meta.get("warnings", [])),
    )
