"""A minimal progress bar on stderr, shown only on a terminal (or when asked)."""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Counts work units and redraws at most 10 times a second.

    Args:
        total: total units.
        enabled: True/False to force; None enables it only when ``stream`` is a terminal.
        stream: where to draw (stderr).

    """

    def __init__(self, total: int, enabled: bool | None, stream: TextIO):
        self.total = max(1, total)
        self.done = 0
        self.stream = stream
        self.enabled = stream.isatty() if enabled is None else enabled
        self.start = time.perf_counter()
        self.last = 0.0

    def update(self, n: int) -> None:
        """Add ``n`` completed units."""
        self.done += n
        now = time.perf_counter()
        if self.enabled and (now - self.last > 0.1 or self.done >= self.total):
            self.last = now
            frac = min(1.0, self.done / self.total)
            rate = self.done / max(now - self.start, 1e-9)
            eta = (self.total - self.done) / rate if rate > 0 else 0.0
            bar = "#" * int(30 * frac)
            self.stream.write(f"\r[{bar:<30}] {100 * frac:5.1f}%  eta {eta:6.1f}s")
            self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()
