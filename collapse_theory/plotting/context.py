"""What a gallery figure is and where it gets its data: :class:`Figure`, :class:`Context`, the cache folder.

A figure's ``draw`` takes a :class:`Context` and asks it for cached sweeps
(:func:`collapse_theory.sweeps.sweep`), JSON payloads or arrays, so a second build of the gallery
(:mod:`collapse_theory.plotting.gallery`) only redraws.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from collapse_theory.config import SimConfig

__all__ = ["Context", "Figure", "default_cache", "log_record"]


def log_record(generations: int, points: int = 40) -> tuple[int, ...]:
    """0 and about ``points`` log-spaced generations up to ``generations`` (both included)."""
    g = np.unique(np.round(np.geomspace(1, generations, points)).astype(int))
    return tuple(int(x) for x in (0, *g))


def default_cache() -> Path:
    """``$COLLAPSE_THEORY_CACHE``, else ``$XDG_CACHE_HOME/collapse_theory/gallery`` (``~/.cache``)."""
    env = os.environ.get("COLLAPSE_THEORY_CACHE")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "collapse_theory" / "gallery"


@dataclass
class Context:
    """Where a figure gets its data: the cache folder, the executor, progress."""

    cache: Path | None
    executor: object | None = None
    progress: bool | None = None

    def sweep(self, base: dict, grid: dict):
        """A cached sweep (:func:`collapse_theory.sweeps.sweep`)."""
        from collapse_theory.sweeps import sweep

        return sweep(SimConfig(**base), grid, cache=self.cache, executor=self.executor, progress=self.progress)  # type: ignore[arg-type]

    def json(self, kind: str, payload: dict, compute: Callable[[], dict]) -> dict:
        """A cached JSON payload."""
        from collapse_theory.plotting.data import cached_json

        return cached_json(self.cache, kind, payload, compute)

    def arrays(self, kind: str, payload: dict, compute: Callable[[], dict]) -> dict:
        """A cached dict of arrays."""
        from collapse_theory.plotting.data import cached_npz

        return cached_npz(self.cache, kind, payload, compute)


@dataclass(frozen=True)
class Figure:
    """One gallery figure: its file stem, what it shows, and the function drawing it from a :class:`Context`."""

    name: str
    caption: str
    draw: Callable[[Context], tuple]
