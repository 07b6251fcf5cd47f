"""The host loop: chunks of chains, segments of generations, measurements, checkpoints.

The host walks this process's chains one step (every device's chunk) at a time and, within a
step, the recorded generations segment by segment. Work is dispatched asynchronously and at
most :data:`DEPTH` items (segments, measurements) are outstanding: the host waits for the oldest
(which moves the progress bar by completed work), copies measurements to host memory and feeds
them to the :class:`Collector` while the devices run the next segments. There is no host sync
inside the generation loop, only between segments.
"""

from __future__ import annotations

import functools
import math
from collections import deque
from collections.abc import Callable
from typing import Any

import jax
import numpy as np

from collapse_theory.checkpoint import Checkpointer, Resume, stop_requested
from collapse_theory.plan import Plan
from collapse_theory.streaming import Cell, pack, unpack

__all__ = ["Collector", "drive", "DEPTH", "SEGMENTS"]

DEPTH = 3
"""Outstanding dispatched items (segments, measurements) before the host waits for the oldest."""

SEGMENTS = 50
"""Segments per horizon: the progress bar and checkpoints move at most every 1/50 of the generations."""

_MAX_FAMILY_WARNINGS = 10


class Collector:
    """This process's per-chain values (kept) or streamed summary cells.

    Args:
        plan: the run's layout (chain range, kept or streamed).
        names: metric names kept; diagnostics: the family's diagnostic names.
        record: recorded generations.
        warn: the family's ``warnings(diagnostics, generations)`` or None.

    """

    def __init__(self, plan: Plan, names: tuple[str, ...], diagnostics: tuple[str, ...], record: np.ndarray, warn):
        self.plan, self.names, self.diag, self.record, self.warn = plan, names, diagnostics, record, warn
        self.keep = plan.keep
        local = plan.stop - plan.first
        if self.keep:
            self.out = np.empty((len(names) + len(diagnostics), len(record), local), dtype=np.float64)
        else:
            self.cells = {self.key(i, ri): Cell(plan.first) for i in range(len(names)) for ri in range(len(record))}
            self.step_diag = np.empty((len(diagnostics), len(record), plan.lanes), dtype=np.float64)
        self.family_warnings: list[str] = []
        self.more_warnings = 0

    @staticmethod
    def key(i: int, ri: int) -> str:
        """The cell of metric i at recorded generation ri."""
        return f"{i}/{ri}"

    def feed(self, ri: int, lo: int, vals: np.ndarray) -> None:
        """Measured rows (metrics then diagnostics) at recorded generation ``ri`` of chains ``lo..``."""
        n = vals.shape[1]
        if self.keep:
            self.out[:, ri, lo - self.plan.first : lo - self.plan.first + n] = vals
            return
        for i in range(len(self.names)):
            self.cells[self.key(i, ri)].feed(vals[i])
        if self.diag:
            self.step_diag[:, ri, :n] = vals[len(self.names) :]
            if ri == len(self.record) - 1 and self.warn is not None:
                d = {k: self.step_diag[j, :, :n] for j, k in enumerate(self.diag)}
                for w in self.warn(d, self.record):
                    if len(self.family_warnings) < _MAX_FAMILY_WARNINGS:
                        self.family_warnings.append(f"chains {lo}..{lo + n - 1}: {w}")
                    else:
                        self.more_warnings += 1

    def to_arrays(self, upto: int) -> dict[str, np.ndarray]:
        """The state for a checkpoint (kept values of the first ``upto`` local chains, or the cells)."""
        if self.keep:
            return {"kept": self.out[:, :, :upto]}
        out: dict[str, np.ndarray] = {"cells": np.frombuffer(pack(self.cells), dtype=np.uint8)}
        if self.diag:
            out["step_diag"] = self.step_diag
        out["more_warnings"] = np.asarray(self.more_warnings)
        return out

    def restore(self, arrays: dict[str, np.ndarray], warnings: list[str]) -> None:
        """Inverse of :meth:`to_arrays`."""
        self.family_warnings = list(warnings)
        if self.keep:
            kept = arrays["kept"]
            self.out[:, :, : kept.shape[2]] = kept
            return
        self.cells = unpack(arrays["cells"].tobytes(), list(self.cells))
        if self.diag:
            self.step_diag[...] = arrays["step_diag"]
        self.more_warnings = int(arrays["more_warnings"])

    def close(self) -> None:
        """Reduce the cells' last partial blocks."""
        if not self.keep:
            for c in self.cells.values():
                c.close()

    def all_warnings(self) -> list[str]:
        """The family's warnings from the streamed chunks (capped, with a count of the rest)."""
        extra = [f"{self.more_warnings} more chunk warnings of the family not shown"] if self.more_warnings else []
        return self.family_warnings + extra


def _wait(tick, units: int, progress: Callable[[int], None]) -> None:
    jax.block_until_ready(tick)
    progress(units)


def _fetch(measured, rows: np.ndarray, n: int, feed: Callable[[np.ndarray], None]) -> None:
    feed(np.asarray(measured)[rows, :n])


def drive(
    prog: Any,
    plan: Plan,
    record: np.ndarray,
    rows: list[int],
    collector: Collector,
    args: tuple,
    progress: Callable[[int], None],
    ckpt: Checkpointer | None,
    resume: Resume | None,
    elapsed: Callable[[], float],
) -> None:
    """Run this process's chains (see the module docstring).

    Args:
        prog: the compiled program (init, advance, measure, measure_truth, put, place_state).
        plan: the layout.
        record: recorded generations.
        rows: measured rows to keep, in order.
        collector: receives the measurements.
        args: ``(run_key, sizes)`` placed on the devices.
        progress: called with completed chain-generations / lanes.
        ckpt: checkpoint writer or None.
        resume: where to resume from, or None.
        elapsed: run seconds so far (for the checkpoint).

    Raises:
        RunInterrupted: a stop was requested; the checkpoint is saved.

    """
    run_key, sizes = args
    generations = int(record[-1])
    seg = max(1, math.ceil(generations / SEGMENTS))
    pending: deque[Callable[[], None]] = deque()
    rows_idx = np.asarray(rows)

    def drain(limit: int) -> None:
        while len(pending) > limit:
            pending.popleft()()

    def boundary(step: int, g: int, measured: int, state) -> None:
        if ckpt is None or not ckpt.due():
            return
        drain(0)
        lo_local = step * plan.lanes + (plan.lanes if measured else 0)
        leaves = [np.asarray(x) for x in jax.tree_util.tree_leaves(state)] if state is not None else None
        ckpt.save(
            step=step,
            generation=g,
            measured=measured,
            state=leaves,
            arrays=collector.to_arrays(min(lo_local, plan.stop - plan.first)),
            elapsed=elapsed(),
            warnings=collector.family_warnings,
            lanes=plan.lanes,
        )
        if stop_requested():
            raise ckpt.interrupted()

    start = resume.step if resume is not None else 0
    for step in range(start, plan.steps):
        lo = plan.first + step * plan.lanes
        n = min(plan.lanes, plan.stop - lo)
        lo_dev = prog.put(np.uint32(lo))
        if resume is not None and step == resume.step and resume.state is not None:
            state, g, measured = prog.place_state(resume.state), resume.generation, resume.measured
        else:
            state, g, measured = prog.init(), 0, 0
        for ri in range(measured, len(record)):
            r = int(record[ri])
            while g < r:
                nxt = min(r, g + seg)
                state = prog.advance(state, lo_dev, run_key, sizes, prog.put(np.int32(g)), prog.put(np.int32(nxt)))
                # wait on the smallest output only (all are ready together): older states can be freed
                tick = min(jax.tree_util.tree_leaves(state), key=lambda a: a.size)
                pending.append(functools.partial(_wait, tick, nxt - g, progress))
                drain(DEPTH)
                g = nxt
                boundary(step, g, ri, state)
            m = prog.measure_truth() if r == 0 else prog.measure(state)
            pending.append(functools.partial(_fetch, m, rows_idx, n, functools.partial(collector.feed, ri, lo)))
            drain(DEPTH)
            boundary(step, g, ri + 1, state)
        boundary(step + 1, 0, 0, None)
    drain(0)
