"""Checkpoint and resume at segment boundaries.

With ``checkpoint=PATH`` (CLI ``--checkpoint PATH``) the engine saves, every
``checkpoint_every`` seconds (default :data:`EVERY_SECONDS`) and when it receives SIGTERM or
SIGINT (e.g. SLURM's warning before a time limit or a preemption), the state of the run at the
next segment boundary: which chunk of chains it is on, the generation reached, the chunk's
carried model state, and everything summarised so far (kept values, or the streamed summaries'
buffers and tree nodes). On a signal it then stops with :class:`RunInterrupted`. Running the same
call again with the same path resumes from the file, and the result is bit-identical to an
uninterrupted run (the random streams depend only on seed, chain and generation; the carried
state is restored exactly). The file is removed once the run completes.

A checkpoint belongs to one configuration: resuming with a different one (or a different
package version, chain range or keep-chains mode) is refused. The device count may change as
long as the checkpoint's chains per step split into multiples of 64 per device. With several
processes each writes its own file, ``PATH.p<id>``. Writes are atomic (a temporary file, then
a rename).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import jax.numpy as jnp
import numpy as np

from collapse_theory.config import ConfigError

__all__ = ["EVERY_SECONDS", "Checkpointer", "Resume", "RunInterrupted", "request_stop", "stop_requested"]

EVERY_SECONDS = 300.0
_FORMAT = 1
_stop = threading.Event()
_signal: list[int] = []


class RunInterrupted(Exception):
    """The run stopped at a segment boundary after a signal; its checkpoint is saved.

    Attributes:
        path: the checkpoint file; running the same call again resumes from it.
        signum: the signal received (or 0 when stopped by :func:`request_stop`).

    """

    def __init__(self, path: Path, signum: int):
        super().__init__(f"interrupted; checkpoint saved to {path}: run the same command again to resume")
        self.path = path
        self.signum = signum


def request_stop(signum: int = 0) -> None:
    """Ask a running simulation to save its checkpoint and stop at the next segment boundary."""
    _signal.append(signum)
    _stop.set()


def stop_requested() -> bool:
    """Whether :func:`request_stop` was called (by a signal handler or the user) since the run began."""
    return _stop.is_set()


@contextlib.contextmanager
def signals_save() -> Iterator[None]:
    """While a checkpointed run is going: SIGTERM / SIGINT request a stop instead of killing it (main thread only)."""
    _stop.clear()
    _signal.clear()
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    for s in previous:
        signal.signal(s, lambda signum, frame: request_stop(signum))
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


class Resume(NamedTuple):
    """Where a checkpointed run stands."""

    step: int
    generation: int
    measured: int
    state: list[np.ndarray] | None
    arrays: dict[str, np.ndarray]
    elapsed: float
    warnings: list[str]
    lanes: int


class Checkpointer:
    """Saves and loads one process's checkpoint file.

    Args:
        path: the checkpoint file (``.p<id>`` is appended when several processes take part).
        identity: what must match to resume (configuration, version, chain range, mode).
        every: seconds between periodic saves.
        process, processes: this process and the process count.

    """

    def __init__(self, path: str | Path, identity: dict, *, every: float | None, process: int = 0, processes: int = 1):
        path = Path(path)
        self.path = path.with_name(path.name + f".p{process}") if processes > 1 else path
        self.identity = json.loads(json.dumps(identity, sort_keys=True, default=str))
        self.every = EVERY_SECONDS if every is None else float(every)
        self.last = time.monotonic()

    def check_writable(self) -> None:
        """Fail before the run if the checkpoint cannot be written."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.tmp, "wb"):
                pass
            os.remove(self.tmp)
        except OSError as e:
            raise ConfigError(f"--checkpoint {self.path}: cannot write there ({e.strerror or e})") from None

    @property
    def tmp(self) -> Path:
        """The temporary file a save writes before renaming it."""
        return self.path.with_name(self.path.name + ".tmp")

    def due(self) -> bool:
        """Whether to save at this boundary: the interval elapsed, or a stop was requested."""
        return stop_requested() or time.monotonic() - self.last >= self.every

    def load(self) -> Resume | None:
        """The saved state, or None if there is no checkpoint file yet.

        Raises:
            ConfigError: the file is unreadable or belongs to another run.

        """
        if not self.path.exists():
            return None
        try:
            with np.load(self.path, allow_pickle=False) as f:
                meta = json.loads(str(f["meta"]))
                arrays = {k: f[k] for k in f.files if k != "meta"}
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"--checkpoint {self.path}: not a readable checkpoint ({e})") from None
        if meta.get("format") != _FORMAT or meta.get("identity") != self.identity:
            theirs = meta.get("identity") or {}
            diff = sorted(k for k in set(theirs) | set(self.identity) if theirs.get(k) != self.identity.get(k))
            raise ConfigError(
                f"--checkpoint {self.path} was written by a different run (differs in: {', '.join(diff) or 'format'}); "
                "use another path or delete it"
            )
        state = None
        if meta["has_state"]:  # raw bytes + dtype names: bfloat16 and friends round-trip exactly
            state = [
                arrays.pop(f"state/{i}").view(jnp.dtype(dt)).reshape(shape)
                for i, (dt, shape) in enumerate(zip(meta["state_dtypes"], meta["state_shapes"], strict=True))
            ]
        return Resume(
            int(meta["step"]),
            int(meta["generation"]),
            int(meta["measured"]),
            state,
            arrays,
            float(meta["elapsed"]),
            list(meta["warnings"]),
            int(meta["lanes"]),
        )

    def save(
        self,
        *,
        step: int,
        generation: int,
        measured: int,
        state: list[np.ndarray] | None,
        arrays: dict[str, np.ndarray],
        elapsed: float,
        warnings: list[str],
        lanes: int,
    ) -> None:
        """Write the checkpoint atomically."""
        meta = dict(
            format=_FORMAT,
            identity=self.identity,
            step=step,
            generation=generation,
            measured=measured,
            has_state=state is not None,
            state_dtypes=[str(a.dtype) for a in state or []],
            state_shapes=[list(a.shape) for a in state or []],
            elapsed=elapsed,
            warnings=warnings,
            lanes=lanes,
        )
        out = dict(arrays)
        for i, a in enumerate(state or []):
            out[f"state/{i}"] = np.ascontiguousarray(a).reshape(-1).view(np.uint8)
        out["meta"] = np.array(json.dumps(meta))
        with open(self.tmp, "wb") as fh:
            np.savez(fh, **out)  # type: ignore[arg-type]
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(self.tmp, self.path)
        self.last = time.monotonic()

    def interrupted(self) -> RunInterrupted:
        """The exception to raise after saving on a stop request."""
        return RunInterrupted(self.path, _signal[0] if _signal else 0)

    def remove(self) -> None:
        """Delete the checkpoint (the run completed)."""
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.path)
