"""Counting compilations: a test that a loop (a hypothesis run, a sweep of seeds) does not recompile.

:func:`count_compilations` counts, inside a ``with`` block, the engine's compiled programs
(misses of the program cache of :mod:`collapse_theory.engine`: one per family spec, scenario,
shapes and chunk size) and JAX's own traces and XLA compilations (through the public
``jax.monitoring`` listener API; the listener is removed when the block ends).

Example:
    >>> import collapse_theory as ct
    >>> from collapse_theory.testing import count_compilations
    >>> fam = ct.family("gaussian", estimator="mle")
    >>> with count_compilations() as c:  # doctest: +SKIP
    ...     for seed in range(5):
    ...         ct.run(fam, samples=10, generations=3, chains=100, seed=seed)
    >>> c.programs  # doctest: +SKIP
    1

"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import jax

__all__ = ["CompileCount", "count_compilations", "BACKEND_COMPILE_EVENT", "TRACE_EVENT"]

BACKEND_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
"""The ``jax.monitoring`` event of one XLA compilation (also recorded on a persistent-cache hit)."""

TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
"""The ``jax.monitoring`` event of one trace of a jitted function."""


@dataclasses.dataclass
class CompileCount:
    """Compilations counted so far in a :func:`count_compilations` block.

    Attributes:
        programs: programs the engine compiled (program-cache misses).
        backend: XLA compilations requested by JAX (engine programs and any other jitted code).
        traces: traces of jitted functions.

    """

    programs: int = 0
    backend: int = 0
    traces: int = 0


def _engine_misses() -> int:
    from collapse_theory import engine

    return engine._program.cache_info().misses


@contextlib.contextmanager
def count_compilations() -> Iterator[CompileCount]:
    """Count compilations inside the block (the counts are updated live and final after it)."""
    count = CompileCount()
    start = _engine_misses()

    def listener(event: str, duration_secs: float, **kwargs: str | int) -> None:
        del duration_secs, kwargs
        if event == BACKEND_COMPILE_EVENT:
            count.backend += 1
        elif event == TRACE_EVENT:
            count.traces += 1

    jax.monitoring.register_event_duration_secs_listener(listener)
    try:
        yield count
    finally:
        jax.monitoring.unregister_event_duration_listener(listener)
        count.programs = _engine_misses() - start
