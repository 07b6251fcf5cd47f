"""Saving figures as PDF + PNG, byte-for-byte reproducible.

Dates are pinned (``CreationDate``/``ModDate`` are left out of the PDF; the PNG carries no
time), fonts are embedded as TrueType (Type 42, never Type 3; set by the venue bundles), and the
page is the figure size exactly (no tight bounding box), so the PDF's width is the venue's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = ["save_figure", "FORMATS"]

FORMATS = ("pdf", "png")


def save_figure(fig, stem: str | Path, formats: Sequence[str] = FORMATS, *, dpi: int = 300) -> list[Path]:
    """Write ``fig`` to ``stem.pdf`` and ``stem.png`` (or the given formats) and return the paths.

    Args:
        fig: a matplotlib figure.
        stem: the path without suffix (a suffix given is replaced).
        formats: file formats (``pdf``, ``png``, ``svg``).
        dpi: raster resolution of the PNG.

    """
    import matplotlib as mpl

    stem = Path(stem)
    if stem.suffix.lstrip(".") in ("pdf", "png", "svg"):
        stem = stem.with_suffix("")
    stem.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "pdf": {"Creator": "collapse_theory", "Producer": None, "CreationDate": None, "ModDate": None},
        "png": {"Software": "collapse_theory"},
        "svg": {"Date": None, "Creator": "collapse_theory"},
    }
    out = []
    with mpl.rc_context({"pdf.fonttype": 42, "svg.hashsalt": "collapse_theory", "savefig.bbox": "standard"}):
        for fmt in formats:
            path = stem.with_suffix(f".{fmt}")
            fig.savefig(path, format=fmt, dpi=dpi, metadata=meta.get(fmt))
            out.append(path)
    return out
