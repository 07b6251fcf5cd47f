"""Parameter sweeps: the product grid of configurations, each cell cached on disk and resumable.

::

    import collapse_theory as ct
    base = ct.SimConfig(family="gaussian", estimator="unbiased", generations=100, chains=2000)
    s = ct.sweep(base, grid={"samples": [10, 100, 1000], "scenario": ["replace", "accumulate"]}, cache="runs")
    s.to_dataframe()                                   # one tidy table of every cell
    s.get(samples=100, scenario="accumulate")          # one cell's SimulationResult

Cells
    The grid is the product of its axes in the order given; an axis named by a tuple of settings
    varies them together (``{("scenario", "real_fraction"): [("fresh", 0.1), ("fresh", 0.5)]}``).
    Each cell's configuration is ``base.replace(**cell)``, validated.

Cache
    A cell is identified by the SHA-256 of its canonical configuration (``SimConfig.to_dict()``
    after validation, JSON with sorted keys) and the package version:
    ``DIR/<key>.npz`` is its result (:meth:`SimulationResult.save`, checksummed) and
    ``DIR/<key>.json`` its metadata (the configuration, package / JAX / numpy / Python versions,
    the JAX device, start time and seconds), written last and atomically: a cell whose ``.json``
    exists is finished and skipped; an interrupted sweep resumes where it stopped. A new package
    version misses the old cells by design (results may differ).

Executors
    Cells run through any :class:`concurrent.futures.Executor` (``executor=``); the default
    runs them one after the other in this process. With a process pool or a cluster
    (dask.distributed's ``Client.get_executor()``) each worker rebuilds the configuration from
    its dictionary, runs it and writes the cell into the cache, so the cache must be on a file
    system the workers share. User families (``ct.estimator``) run in-process only.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import platform
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from collapse_theory.config import ConfigError, SimConfig
from collapse_theory.results import SimulationResult
from collapse_theory.results import load as load_result

__all__ = ["Sweep", "Cell", "sweep", "cell_key", "grid_cells", "load_cell", "versions"]


def _version() -> str:
    from collapse_theory import __version__

    return __version__


def versions() -> dict[str, str]:
    """Package, JAX, jaxlib, numpy and Python versions (written into each cell's metadata)."""
    import jax
    import jaxlib
    import numpy

    return {
        "collapse_theory": _version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
    }


def _device() -> str:
    import jax

    d = jax.devices()[0]
    return f"{d.platform}:{getattr(d, 'device_kind', d.platform)} x{jax.device_count()}"


def canonical(config: SimConfig) -> dict:
    """The validated configuration as the JSON dictionary a cell is keyed on."""
    from collapse_theory.results import _clean

    return _clean(config.validated().to_dict())


def cell_key(config: SimConfig, version: str | None = None) -> str:
    """SHA-256 of the canonical configuration and the package version (hex)."""
    payload = {"config": canonical(config), "version": version or _version()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, allow_nan=False).encode()).hexdigest()


def _axes(grid: Mapping) -> list[tuple[tuple[str, ...], list[tuple]]]:
    out = []
    for k, vals in grid.items():
        names = (k,) if isinstance(k, str) else tuple(k)
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Iterable):
            raise ConfigError(f"sweep grid axis {k!r} needs a list of values, got {vals!r}")
        vals = list(vals)
        if not vals:
            raise ConfigError(f"sweep grid axis {k!r} is empty")
        rows = []
        for v in vals:
            t = (v,) if len(names) == 1 else tuple(v)
            if len(t) != len(names):
                raise ConfigError(f"sweep grid axis {k!r}: {v!r} does not give {len(names)} values")
            rows.append(t)
        out.append((names, rows))
    return out


def grid_cells(grid: Mapping) -> list[dict[str, Any]]:
    """The product of the grid's axes, as one settings dictionary per cell (in grid order)."""
    axes = _axes(grid)
    cells = []
    for combo in itertools.product(*(rows for _, rows in axes)):
        d: dict[str, Any] = {}
        for (names, _), vals in zip(axes, combo, strict=True):
            d.update(zip(names, vals, strict=True))
        cells.append(d)
    return cells


@dataclass
class Cell:
    """One grid cell: its settings, configuration, cache key and (once run) result and metadata."""

    settings: dict[str, Any]
    config: SimConfig
    key: str
    result: SimulationResult | None = None
    meta: dict = field(default_factory=dict)
    cached: bool = False


def _paths(cache: Path, key: str) -> tuple[Path, Path]:
    return cache / f"{key}.npz", cache / f"{key}.json"


def load_cell(cache: str | Path, key: str) -> tuple[SimulationResult, dict] | None:
    """A finished cell from the cache (result, metadata), or None when absent or unreadable."""
    npz, meta = _paths(Path(cache), key)
    if not meta.is_file() or not npz.is_file():
        return None
    try:
        return load_result(npz), json.loads(meta.read_text())
    except (ValueError, OSError):
        return None


def run_cell(config_dict: dict, cache: str | None = None, key: str | None = None) -> tuple[SimulationResult, dict]:
    """Run one cell from its configuration dictionary and write it into ``cache`` (the worker).

    Module-level and given plain data, so any executor (process pools, dask) can ship it.
    """
    from collapse_theory.engine import simulate

    config = SimConfig.from_dict(config_dict)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    result = simulate(config, progress=False)
    meta = {
        "key": key,
        "config": config_dict,
        "versions": versions(),
        "device": _device(),
        "host": platform.node(),
        "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - t0, 3),
        "compile_seconds": round(result.timing.compile_seconds, 3),
    }
    if cache is not None and key is not None:
        _write(Path(cache), key, result, meta)
    return result, meta


def _write(cache: Path, key: str, result: SimulationResult, meta: dict) -> None:
    cache.mkdir(parents=True, exist_ok=True)
    npz, js = _paths(cache, key)
    tmp = cache / f".{key}.{os.getpid()}.tmp.npz"
    result.save(tmp)
    os.replace(tmp, npz)
    tmpj = cache / f".{key}.{os.getpid()}.tmp.json"
    tmpj.write_text(json.dumps(meta, indent=1, sort_keys=True, allow_nan=False))
    os.replace(tmpj, js)  # written last: its presence marks the cell finished


@dataclass
class Sweep:
    """The cells of a sweep, in grid order, with their results.

    Attributes:
        cells: the :class:`Cell` list.
        axes: the grid's setting names, in order.
        cache: the cache folder (None: nothing was written).

    """

    cells: list[Cell]
    axes: tuple[str, ...]
    cache: Path | None = None

    def __iter__(self) -> Iterator[Cell]:
        return iter(self.cells)

    def __len__(self) -> int:
        return len(self.cells)

    @property
    def results(self) -> list[SimulationResult]:
        """The results, in grid order."""
        return [c.result for c in self.cells if c.result is not None]

    def select(self, **settings) -> list[Cell]:
        """The cells whose grid settings equal every given one."""
        return [c for c in self.cells if all(_same(c.settings.get(k), v) for k, v in settings.items())]

    def get(self, **settings) -> SimulationResult:
        """The one result whose grid settings match (KeyError when none or several do)."""
        cells = self.select(**settings)
        if len(cells) != 1 or cells[0].result is None:
            raise KeyError(f"{len(cells)} cells match {settings}; axes: {', '.join(self.axes)}")
        return cells[0].result

    def to_dataframe(self, metrics: Sequence[str] | None = None):
        """One tidy table of every cell (see :func:`collapse_theory.tables.sweep_table`)."""
        from collapse_theory.tables import sweep_table

        return sweep_table(self, metrics=metrics)


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, (int, float)):
        return math.isclose(a, b) or (math.isinf(a) and a == b)
    return a == b or (isinstance(a, tuple) and list(a) == b)


class _Eta:
    """Cells done, their share of the work (chains x generations) and the time left, on stderr."""

    def __init__(self, costs: list[float], enabled: bool | None):
        self.total = sum(costs) or 1.0
        self.n = len(costs)
        self.done = 0.0
        self.k = 0
        self.t0 = time.perf_counter()
        self.on = sys.stderr.isatty() if enabled is None else enabled

    def step(self, cost: float, what: str, seconds: float) -> None:
        self.done += cost
        self.k += 1
        if not self.on:
            return
        el = time.perf_counter() - self.t0
        eta = el * (self.total - self.done) / self.done if self.done > 0 else math.nan
        sys.stderr.write(f"[{self.k}/{self.n}] {what} ({seconds:.1f} s); elapsed {el:.0f} s, eta {eta:.0f} s\n")
        sys.stderr.flush()


def _short(v) -> str:
    if isinstance(v, (tuple, list)) and len(v) > 4:
        return f"[{v[0]}, {v[1]}, ..., {v[-1]}] ({len(v)} values)"
    return str(v)


def _describe(settings: dict) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in settings.items()) or "base"


def sweep(
    base: SimConfig | Mapping[str, Any],
    grid: Mapping | None = None,
    *,
    cache: str | Path | None = None,
    executor: Executor | None = None,
    progress: bool | None = None,
    rerun: bool = False,
) -> Sweep:
    """Run (or load) every cell of the product grid.

    Args:
        base: the configuration every cell starts from (a ``SimConfig`` or its keyword
            arguments as a dict).
        grid: setting name (or tuple of names varied together) -> list of values.
        cache: folder of finished cells; finished cells are loaded, not rerun (None: no cache).
        executor: where cells run (``concurrent.futures`` API; default: in this process).
        progress: one line per finished cell with the time left (None: only on a terminal).
        rerun: run every cell again, overwriting the cache.

    Returns:
        A :class:`Sweep` with every cell's result.

    Raises:
        ConfigError: an invalid grid or cell configuration (before anything runs).

    """
    if not isinstance(base, SimConfig):
        base = SimConfig(**dict(base))
    grid = dict(grid or {})
    cells = []
    for settings in grid_cells(grid) if grid else [{}]:
        cfg = base.replace(**settings).validated()
        user = getattr(cfg.spec, "user", False)
        if user and (cache is not None or executor is not None):
            raise ConfigError(
                "a user family (ct.estimator) cannot be cached or shipped to an executor: its functions are not saved"
            )
        cells.append(Cell(settings, cfg, "" if user else cell_key(cfg)))
    axes = tuple(n for k in grid for n in ((k,) if isinstance(k, str) else k))
    folder = Path(cache) if cache is not None else None
    todo = []
    for c in cells:
        hit = None if (folder is None or rerun) else load_cell(folder, c.key)
        if hit is not None:
            c.result, c.meta = hit
            c.cached = True
        else:
            todo.append(c)
    costs = [float(c.config.chains) * max(c.config.record or (c.config.generations,)) for c in todo]
    eta = _Eta(costs, progress)
    if executor is None:
        for c, cost in zip(todo, costs, strict=True):
            t0 = time.perf_counter()
            if c.key:
                c.result, c.meta = run_cell(canonical(c.config), None if folder is None else str(folder), c.key)
            else:
                from collapse_theory.engine import simulate

                c.result = simulate(c.config, progress=False)
            eta.step(cost, _describe(c.settings), time.perf_counter() - t0)
    else:
        futures: dict[Future, tuple[Cell, float]] = {}
        for c, cost in zip(todo, costs, strict=True):
            f = executor.submit(run_cell, canonical(c.config), None if folder is None else str(folder), c.key)
            futures[f] = (c, cost)
        from concurrent.futures import as_completed

        for f in as_completed(futures):
            c, cost = futures[f]
            c.result, c.meta = f.result()
            eta.step(cost, _describe(c.settings), float(c.meta.get("seconds", math.nan)))
    return Sweep(cells, axes, folder)
