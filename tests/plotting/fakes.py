"""Deterministic fake results and sweeps (no simulation) for the figure tests."""

from __future__ import annotations

import numpy as np

import collapse_theory as ct
from collapse_theory.results import SimulationResult, Timing
from collapse_theory.sweeps import Cell, Sweep, grid_cells


def fake_result(config: ct.SimConfig, metrics: dict, seed: int = 0) -> SimulationResult:
    """A result whose metric values are ``f(rng, generations[:, None], chains)`` for each name."""
    c = config.validated()
    g = np.asarray(c.record, dtype=np.int64)
    rng = np.random.default_rng(seed)
    values = {k: np.asarray(f(rng, g[:, None].astype(float), c.chains), dtype=np.float64) for k, f in metrics.items()}
    values = {k: np.broadcast_to(v, (g.size, c.chains)).copy() for k, v in values.items()}
    return SimulationResult(c, g, values, Timing(0.0, 0.0, 0.0), ct.__version__)


def fake_sweep(base: dict, grid: dict, metrics: dict) -> Sweep:
    """A sweep of fake results over the product grid (settings as in ``ct.sweep``)."""
    cells = []
    for i, s in enumerate(grid_cells(grid)):
        cfg = ct.SimConfig(**base).replace(**s).validated()
        cells.append(Cell(s, cfg, f"k{i}", fake_result(cfg, metrics, seed=i)))
    axes = tuple(n for k in grid for n in ((k,) if isinstance(k, str) else k))
    return Sweep(cells, axes)


def lognormal(scale: float = 1.0, drift: float = 0.0):
    return lambda rng, g, c: scale * np.exp(drift * g + 0.3 * rng.standard_normal((g.size, c)))


def normal(mu: float = 0.0, sd: float = 1.0):
    return lambda rng, g, c: mu + sd * rng.standard_normal((g.size, c))
