"""Simulation results: per-chain metric values at recorded generations, summaries, save/load.

Like scipy's ``BootstrapResult``: a dataclass with named fields. :meth:`SimulationResult.summary`
gives, per recorded generation, the mean over the finite chains with its standard error, the
counts of non-finite chains, robust summaries (median and quantiles with order-statistic
intervals, the mean of logs) and whether the mean's standard error can be trusted
(:mod:`collapse_theory.summaries`). The JSON form is standard JSON: no NaN or Infinity tokens,
non-finite summaries are ``null`` next to the counts that explain them.
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from collapse_theory.config import ConfigError, SimConfig
from collapse_theory.summaries import QUANTILE_LEVELS, MetricSummary, summarize

__all__ = ["Timing", "MetricSummary", "SimulationResult", "ResultFileError", "load", "summary_warnings"]


class Timing(NamedTuple):
    """Wall-clock timing: compilation, steady-state run, throughput, and what it ran on."""

    compile_seconds: float
    run_seconds: float
    chain_generations_per_second: float
    devices: int = 1
    processes: int = 1

    def to_json(self) -> dict:
        """The JSON contract's ``timing`` (seconds as numbers or null, devices and processes as integers)."""
        d = self._asdict()
        return {k: int(v) if k in ("devices", "processes") else _num(v) for k, v in d.items()}


class ResultFileError(ValueError):
    """A result file that is not a readable, intact collapse_theory result."""


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


def _gens(generations, mask) -> str:
    gs = [int(g) for g, m in zip(generations, mask, strict=True) if m]
    return ", ".join(map(str, gs[:6])) + (f" and {len(gs) - 6} more" if len(gs) > 6 else "")


def summary_warnings(values: dict[str, np.ndarray] | dict[str, MetricSummary], generations) -> list[str]:
    """Warnings the numbers need: non-finite chains after generation 0, untrustworthy standard errors.

    ``values`` maps names to per-chain values or to their (streamed) summaries.
    """
    out = []
    later = np.asarray(generations) > 0
    for name, v in values.items():
        s = v if isinstance(v, MetricSummary) else summarize(v)
        bad = (s.n_finite < s.n) & later
        if bad.any():
            i = int(np.argmax(s.n - s.n_finite))
            out.append(
                f"{name}: not finite in some chains at generation {_gens(generations, bad)} (at most {int(s.n[i] - s.n_finite[i])} "
                f"of {int(s.n[i])}: {int(s.n_nan[i])} NaN, {int(s.n_posinf[i])} +inf, {int(s.n_neginf[i])} -inf); "
                "its summaries there are over the finite chains"
            )
        shaky = ~s.se_trustworthy & later & (s.n_finite >= 2)
        if shaky.any():
            k = float(np.nanmax(np.where(shaky, s.kurtosis, np.nan)))
            out.append(
                f"{name}: the standard error of the mean is not trustworthy at generation {_gens(generations, shaky)} "
                f"(heavy tails: sample kurtosis up to {k:.3g} > 1 + n/4); use the median, quantiles or the mean of logs"
            )
    return out


@dataclass
class SimulationResult:
    """The outcome of :func:`collapse_theory.run` / :func:`collapse_theory.simulate`.

    Attributes:
        config: the validated configuration (every setting, seed included).
        generations: ``int[R]`` recorded generations.
        values: metric name -> ``float64[R, chains]`` per-chain values; empty when the chains
            were not kept (``keep_chains=False``, or a run too large to keep them).
        timing: compile and run time, devices and processes.
        version: package version that produced it.
        diagnostics: diagnostics of the fits (e.g. EM convergence) -> ``float64[R, chains]``,
            recorded beside the metrics (``Family.diagnostics``; a user's ``fit`` info).
        warnings: problems the run reports rather than hides: the family's (e.g. EM fits that
            did not converge) and the numbers' (non-finite chains, untrustworthy standard errors).
        summaries: metric name -> streamed :class:`MetricSummary` when the chains were not kept
            (empty otherwise: summaries are computed from ``values``).

    """

    config: SimConfig
    generations: np.ndarray
    values: dict[str, np.ndarray]
    timing: Timing
    version: str
    diagnostics: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    summaries: dict[str, MetricSummary] = field(default_factory=dict)

    @property
    def metric_names(self) -> list[str]:
        """The metrics recorded, kept or streamed."""
        return list(self.values) or list(self.summaries)

    @property
    def chains_kept(self) -> bool:
        """Whether ``values`` holds every chain's values (False: only streamed summaries)."""
        return bool(self.values) or not self.summaries

    def summary(self, name: str) -> MetricSummary:
        """Summaries of one metric per recorded generation (:class:`~collapse_theory.summaries.MetricSummary`)."""
        if name in self.values:
            return summarize(self.values[name])
        if name in self.summaries:
            return self.summaries[name]
        raise KeyError(f"unknown metric {name!r}; have {', '.join(self.metric_names)}")

    def to_dataframe(self, metrics: list[str] | None = None):
        """A tidy ``pandas.DataFrame``: configuration columns, ``generation``, ``metric``, mean, se, quantiles.

        See :func:`collapse_theory.tables.result_table` (one row per recorded generation and metric).
        """
        from collapse_theory.tables import result_table

        return result_table(self, metrics)

    @property
    def metrics(self) -> dict[str, dict]:
        """The JSON contract's ``metrics`` block: name -> lists per recorded generation.

        ``mean`` and ``se`` (over the finite chains), ``n_finite``, ``n_nan``, ``n_posinf``,
        ``n_neginf``, ``finite_only``, ``se_trustworthy``, ``median`` with ``median_ci_low`` /
        ``median_ci_high``, ``quantiles`` (level -> list), ``mean_log`` / ``mean_log_se`` and
        ``quantile_rank_error`` (0 for kept chains; for streamed ones the bound E, in ranks, of
        every quantile and interval end). Non-finite numbers are ``null``.
        """
        out = {}
        for name in self.metric_names:
            s = self.summary(name)
            out[name] = {
                "mean": [_num(x) for x in s.mean],
                "se": [_num(x) for x in s.se],
                "n_finite": [int(x) for x in s.n_finite],
                "n_nan": [int(x) for x in s.n_nan],
                "n_posinf": [int(x) for x in s.n_posinf],
                "n_neginf": [int(x) for x in s.n_neginf],
                "finite_only": [bool(x) for x in s.finite_only],
                "se_trustworthy": [bool(x) for x in s.se_trustworthy],
                "median": [_num(x) for x in s.median],
                "median_ci_low": [_num(x) for x in s.median_ci_low],
                "median_ci_high": [_num(x) for x in s.median_ci_high],
                "quantiles": {f"{p:g}": [_num(x) for x in s.quantiles[i]] for i, p in enumerate(QUANTILE_LEVELS)},
                "mean_log": [_num(x) for x in s.mean_log],
                "mean_log_se": [_num(x) for x in s.mean_log_se],
                "quantile_rank_error": [int(x) for x in _rank_error(s)],
            }
        return out

    def to_json(self) -> dict:
        """The object ``simulate --format json`` prints (standard JSON: ``json.dumps(..., allow_nan=False)`` works)."""
        return {
            "config": _clean(self.config.to_dict()),
            "generations": [int(g) for g in self.generations],
            "chains_kept": self.chains_kept,
            "metrics": self.metrics,
            "timing": self.timing.to_json(),
            "version": self.version,
            "warnings": list(self.warnings),
        }

    def _payload(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "config": _clean(self.config.to_dict()),
            "timing": self.timing.to_json(),
            "version": self.version,
            "warnings": list(self.warnings),
            "format": 2,
        }
        arrays = {f"values/{k}": np.asarray(v, np.float64) for k, v in self.values.items()}
        for k, s in self.summaries.items():
            arrays |= {
                f"summaries/{k}/{f}": np.asarray(_rank_error(s) if v is None else v) for f, v in s._asdict().items()
            }
        arrays |= {f"diagnostics/{k}": np.asarray(v, np.float64) for k, v in self.diagnostics.items()}
        arrays["generations"] = np.asarray(self.generations, np.int64)
        return meta, arrays

    def save(self, path: str | Path) -> Path:
        """Save to a ``.npz`` file holding the configuration, version, timing, all values and a checksum."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        meta, arrays = self._payload()
        meta["sha256"] = _checksum(meta, arrays)
        arrays["meta"] = np.array(json.dumps(meta, allow_nan=False))
        np.savez_compressed(path, **arrays)  # type: ignore[arg-type]
        return path


def _rank_error(s: MetricSummary) -> np.ndarray:
    return np.zeros(len(s.mean), np.int64) if s.rank_error is None else s.rank_error


def _clean(d):
    """Non-finite floats (e.g. ``samples = inf`` is already a string) as strings, for standard JSON."""
    if isinstance(d, dict):
        return {k: _clean(v) for k, v in d.items()}
    if isinstance(d, list):
        return [_clean(v) for v in d]
    if isinstance(d, float) and not math.isfinite(d):
        return "inf" if d > 0 else "-inf" if d < 0 else "nan"
    return d


def _checksum(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256(json.dumps({k: v for k, v in meta.items() if k != "sha256"}, sort_keys=True).encode())
    for k in sorted(arrays):
        a = np.ascontiguousarray(arrays[k])
        h.update(k.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
    return h.hexdigest()


def load(path: str | Path) -> SimulationResult:
    """Load a result saved by :meth:`SimulationResult.save`, checking that it is intact.

    Raises:
        ResultFileError: the file is missing, not an ``.npz`` archive, not a collapse_theory
            result, inconsistent (shapes, configuration) or modified since it was saved.

    """
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"{path}: no such file")
    try:
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as f:
            files = set(f.files)
            if "meta" not in files or "generations" not in files:
                raise ResultFileError(f"{path}: not a collapse_theory result (no meta or generations)")
            meta = json.loads(str(f["meta"]))
            arrays = {k: f[k] for k in f.files if k != "meta"}  # in saved order
    except ResultFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ResultFileError(f"{path}: not a readable result file ({type(e).__name__}: {e})") from None
    if not isinstance(meta, dict) or not {"config", "timing", "version"} <= set(meta):
        raise ResultFileError(f"{path}: its metadata is not that of a collapse_theory result")
    if "sha256" in meta and meta["sha256"] != _checksum(meta, arrays):
        raise ResultFileError(f"{path}: checksum mismatch: the file was modified after it was saved")
    try:
        config = SimConfig.from_dict(meta["config"])
        t = meta["timing"]
        secs = [math.nan if t[k] is None else float(t[k]) for k in Timing._fields[:3]]
        timing = Timing(secs[0], secs[1], secs[2], int(t.get("devices", 1)), int(t.get("processes", 1)))
    except (ConfigError, KeyError, TypeError, ValueError, AttributeError) as e:
        raise ResultFileError(f"{path}: its configuration cannot be read ({e})") from None
    gens = np.asarray(arrays.pop("generations"))
    values = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("values/")}
    diagnostics = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("diagnostics/")}
    summaries = _summaries(path, arrays, gens.size)
    chains = config.chains
    for k, v in {**values, **diagnostics}.items():
        if v.ndim != 2 or v.shape != (gens.size, chains) or v.dtype.kind != "f":
            raise ResultFileError(f"{path}: {k!r} has shape {v.shape}, expected ({gens.size}, {chains}) floats")
    if gens.ndim != 1 or gens.dtype.kind not in "iu" or not (values or summaries):
        raise ResultFileError(f"{path}: no recorded generations or no values")
    return SimulationResult(
        config=config,
        generations=gens,
        values=values,
        timing=timing,
        version=str(meta["version"]),
        diagnostics=diagnostics,
        warnings=[str(w) for w in meta.get("warnings", [])],
        summaries=summaries,
    )


def _summaries(path: Path, arrays: dict[str, np.ndarray], r: int) -> dict[str, MetricSummary]:
    """Streamed summaries saved beside (instead of) per-chain values, checked field by field."""
    names = list(dict.fromkeys(k.split("/")[1] for k in arrays if k.startswith("summaries/")))
    out = {}
    for name in names:
        try:
            fields = {f: arrays[f"summaries/{name}/{f}"] for f in MetricSummary._fields}
        except KeyError as e:
            raise ResultFileError(f"{path}: the streamed summary of {name!r} lacks {e}") from None
        if any(v.shape[-1:] != (r,) for v in fields.values()):
            raise ResultFileError(f"{path}: the streamed summary of {name!r} does not match {r} recorded generations")
        out[name] = MetricSummary(**fields)
    return out
