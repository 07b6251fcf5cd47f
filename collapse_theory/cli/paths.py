"""Output paths checked before a long run, not after it: a one-line error if they cannot be written."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from collapse_theory.config import ConfigError

__all__ = ["writable_file", "writable_folder"]


def writable_file(path: str, option: str = "--output") -> None:
    """``path`` can be created (or overwritten) as a file: tried by creating it, then removed if new."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise ConfigError(f"{option}: {str(p)!r} is a folder, not a file")
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass
    except OSError as e:
        raise ConfigError(f"{option}: cannot write {str(p)!r} ({e.strerror})") from None
    if not existed:
        p.unlink()


def writable_folder(path: str, option: str = "--output") -> None:
    """``path`` is (or can be created as) a folder in which files can be written: tried with a probe file."""
    p = Path(path).expanduser()
    try:
        p.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=p, prefix=".write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"{option}: cannot write into folder {str(p)!r} ({e.strerror})") from None
