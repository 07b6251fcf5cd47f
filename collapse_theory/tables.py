"""Tidy tables (pandas) of results and sweeps, and their CSV / parquet export.

One row per (configuration, recorded generation, metric): the configuration's settings as
columns (``SimConfig.to_dict()``, flat; lists as JSON strings so every column is a scalar), then
``generation``, ``metric`` and the summaries of :func:`collapse_theory.summaries.summarize`:
``mean``, ``se`` (over the finite chains), ``ci_low``/``ci_high`` (normal 95 %), ``n``,
``n_finite``, ``se_trustworthy``, ``median`` with its order-statistic interval, the quantiles
``q05 q25 q50 q75 q95`` and ``mean_log``/``mean_log_se``. A sweep's table adds ``cell`` (the cache
key) and has the grid's axes first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from collapse_theory.summaries import QUANTILE_LEVELS

if TYPE_CHECKING:
    from collapse_theory.results import SimulationResult
    from collapse_theory.sweeps import Sweep

__all__ = ["result_table", "sweep_table", "write_table", "SUMMARY_COLUMNS", "CONFIG_SKIP"]

QUANTILE_COLUMNS = tuple(f"q{round(100 * p):02d}" for p in QUANTILE_LEVELS)
SUMMARY_COLUMNS = (
    "mean",
    "se",
    "ci_low",
    "ci_high",
    "n",
    "n_finite",
    "se_trustworthy",
    "median",
    "median_ci_low",
    "median_ci_high",
    *QUANTILE_COLUMNS,
    "mean_log",
    "mean_log_se",
)
CONFIG_SKIP = ("record", "metrics", "chunk_size")
"""Configuration keys not repeated on every row (the generation and metric columns carry them)."""


def _pandas():
    try:
        import pandas as pd
    except ImportError as e:  # pragma: no cover - pandas is a dependency
        raise ImportError("tidy tables need pandas: pip install pandas") from e
    return pd


def _scalar(v: Any) -> Any:
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v)
    return v


def config_columns(result: SimulationResult) -> dict[str, Any]:
    """The configuration of ``result`` as flat scalar columns."""
    from collapse_theory.results import _clean

    d = _clean(result.config.to_dict())
    return {k: _scalar(v) for k, v in d.items() if k not in CONFIG_SKIP}


def _rows(result: SimulationResult, metrics: Sequence[str] | None) -> dict[str, list]:
    names = list(result.values) if metrics is None else list(metrics)
    cols: dict[str, list] = {"generation": [], "metric": [], **{c: [] for c in SUMMARY_COLUMNS}}
    gens = np.asarray(result.generations, dtype=np.int64)
    for name in names:
        s = result.summary(name)
        r = gens.size
        cols["generation"] += gens.tolist()
        cols["metric"] += [name] * r
        for c, a in (
            ("mean", s.mean),
            ("se", s.se),
            ("ci_low", s.ci_low),
            ("ci_high", s.ci_high),
            ("n", s.n),
            ("n_finite", s.n_finite),
            ("se_trustworthy", s.se_trustworthy),
            ("median", s.median),
            ("median_ci_low", s.median_ci_low),
            ("median_ci_high", s.median_ci_high),
            ("mean_log", s.mean_log),
            ("mean_log_se", s.mean_log_se),
        ):
            cols[c] += np.asarray(a).tolist()
        for i, c in enumerate(QUANTILE_COLUMNS):
            cols[c] += np.asarray(s.quantiles[i]).tolist()
    return cols


def result_table(result: SimulationResult, metrics: Sequence[str] | None = None):
    """The tidy table of one result (what :meth:`SimulationResult.to_dataframe` returns).

    Args:
        result: a simulation result.
        metrics: the metrics to include (default: all).

    Returns:
        A ``pandas.DataFrame``: configuration columns, ``generation``, ``metric``, summaries.

    """
    pd = _pandas()
    body = _rows(result, metrics)
    n = len(body["generation"])
    head = {k: [v] * n for k, v in config_columns(result).items()}
    df = pd.DataFrame(head | body)
    df["se_trustworthy"] = df["se_trustworthy"].astype(bool)
    return df


def sweep_table(sweep: Sweep, metrics: Sequence[str] | None = None):
    """The combined tidy table of a sweep: ``cell`` and the grid's axes first, then as :func:`result_table`."""
    pd = _pandas()
    frames = []
    for c in sweep.cells:
        if c.result is None:
            continue
        names = None if metrics is None else [m for m in metrics if m in c.result.values]
        df = result_table(c.result, names)
        df.insert(0, "cell", c.key)
        frames.append(df)
    if not frames:
        return pd.DataFrame(columns=["cell", "generation", "metric", *SUMMARY_COLUMNS])
    out = pd.concat(frames, ignore_index=True, sort=False)
    first = ["cell", *[a for a in sweep.axes if a in out.columns]]
    return out[first + [c for c in out.columns if c not in first]]


def write_table(df, path: str | Path) -> Path:
    """Write a table as CSV (``.csv``) or parquet (``.parquet``, needs pyarrow).

    Raises:
        ValueError: another suffix.
        ImportError: parquet without pyarrow, with the install command.

    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".csv":
        df.to_csv(path, index=False)
    elif path.suffix in (".parquet", ".pq"):
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise ImportError(
                "writing parquet needs pyarrow: pip install 'collapse-theory[parquet]' (or pyarrow); or use .csv"
            ) from None
        df.to_parquet(path, index=False)
    else:
        raise ValueError(f"{path}: choose a .csv or .parquet file")
    return path
