"""Progress on stderr with an ETA: a bar on a terminal, log lines elsewhere (logs of batch jobs).

On a terminal the bar redraws at most 10 times a second. Elsewhere (a file, a pipe, a SLURM
log) a line ``progress: 35% (elapsed 1m12s, eta 2m14s)`` is written at every :data:`LOG_STEP`
of the work; with ``enabled=None`` (the default of ``simulate``) only runs that have lasted
:data:`QUIET_SECONDS` log at all, so short runs stay silent.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress", "LOG_STEP", "QUIET_SECONDS"]

LOG_STEP = 0.05
QUIET_SECONDS = 10.0


def _clock(s: float) -> str:
    s = max(0.0, s)
    if s < 60:
        return f"{s:.0f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"


class Progress:
    """Counts work units and reports them (see the module docstring).

    Args:
        total: total units.
        enabled: True/False to force; None: the bar on a terminal, log lines after
            :data:`QUIET_SECONDS` elsewhere.
        stream: where to write (stderr).

    """

    def __init__(self, total: int, enabled: bool | None, stream: TextIO):
        self.total = max(1, total)
        self.done = 0
        self.base = 0  # units done before this process started (a resumed run)
        self.stream = stream
        tty = bool(getattr(stream, "isatty", lambda: False)())
        self.bar = tty and enabled is not False
        self.log = not tty and enabled is not False
        self.quiet = QUIET_SECONDS if enabled is None else 0.0
        self.start = time.perf_counter()
        self.last = 0.0
        self.logged = -1
        self.drawn = False

    @property
    def enabled(self) -> bool:
        """Whether anything may be written."""
        return self.bar or self.log

    def update(self, n: int) -> None:
        """Add ``n`` completed units."""
        self.done += n
        now = time.perf_counter()
        frac = min(1.0, self.done / self.total)
        run = max(self.done - self.base, 0)
        rate = run / max(now - self.start, 1e-9)
        eta = (self.total - self.done) / rate if rate > 0 else 0.0
        if self.bar and (now - self.last > 0.1 or self.done >= self.total):
            self.last = now
            bar = "#" * int(30 * frac)
            self.stream.write(f"\r[{bar:<30}] {100 * frac:5.1f}%  eta {eta:6.1f}s")
            self.stream.flush()
            self.drawn = True
        elif self.log and now - self.start >= self.quiet:
            step = int(frac / LOG_STEP)
            if step > self.logged:
                self.logged = step
                self.stream.write(
                    f"progress: {100 * frac:.0f}% (elapsed {_clock(now - self.start)}, eta {_clock(eta)})\n"
                )
                self.stream.flush()

    def resumed(self, n: int) -> None:
        """Count ``n`` units done by an earlier, checkpointed process (not in the rate)."""
        self.base += n
        self.done += n

    def close(self) -> None:
        """Finish the line."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
