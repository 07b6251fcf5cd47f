"""Closed forms from the registry, evaluated along an axis for overlays (never typed in by hand).

Some closed forms are products or sums over generations evaluated term by term, so a figure's
overlays can take seconds; :func:`theory_cache` memoises them in a JSON file for the duration of
a ``with`` block (the gallery keeps one beside its sweep cells, keyed by the package version).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import math
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

__all__ = ["curve", "value", "theory_cache"]

_CACHE: contextvars.ContextVar[dict | None] = contextvars.ContextVar("collapse_theory_theory_cache", default=None)


@contextlib.contextmanager
def theory_cache(path: str | Path | None) -> Iterator[None]:
    """Memoise :func:`value` in ``path`` (JSON) inside the block; None: in memory only."""
    from collapse_theory import __version__

    store: dict = {}
    p = Path(path) if path is not None else None
    if p is not None and p.is_file():
        try:
            loaded = json.loads(p.read_text())
            if loaded.get("version") == __version__:
                store = loaded.get("values", {})
        except (OSError, ValueError):
            store = {}
    n0 = len(store)
    token = _CACHE.set(store)
    try:
        yield
    finally:
        _CACHE.reset(token)
        if p is not None and len(store) != n0:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f".{p.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"version": __version__, "values": store}, sort_keys=True))
            os.replace(tmp, p)


def value(result_id: str, **params) -> float:
    """One registry value (``collapse_theory.theory.evaluate``); NaN outside the result's domain."""
    store = _CACHE.get()
    key = json.dumps([result_id, params], sort_keys=True, default=float) if store is not None else ""
    if store is not None and key in store:
        v = store[key]
        return math.nan if v is None else float(v)
    from collapse_theory.theory import evaluate

    try:
        out = float(evaluate(result_id, **params))
    except (ValueError, ZeroDivisionError, OverflowError):
        out = math.nan
    if store is not None:
        store[key] = out if math.isfinite(out) else None
    return out


def curve(result_id: str, xs: Iterable, over: str = "n", **params) -> np.ndarray:
    """The registered result ``result_id`` at ``over = x`` for each x (other parameters fixed).

    Args:
        result_id: a registry id (``collapse-theory theory list``).
        xs: the values of the varying parameter (integers stay integers: products over
            generations need them).
        over: the parameter's name.
        **params: the other parameters.

    Returns:
        ``float64`` array, NaN where the result is not defined.

    """
    out = []
    for x in xs:
        v = int(x) if isinstance(x, (int, np.integer)) else float(x)
        out.append(value(result_id, **params, **{over: v}))
    return np.asarray(out, dtype=float)
