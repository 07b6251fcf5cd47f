"""Journal style: single column 3.5 in wide, 8 pt fonts; selects the Agg backend on import."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

__all__ = ["FIG_WIDTH_IN", "journal_style", "new_figure"]

FIG_WIDTH_IN = 3.5

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "lines.linewidth": 1.0,
    "axes.linewidth": 0.6,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
}


def journal_style() -> dict:
    """The rcParams of the journal style (also applied by :func:`new_figure`)."""
    return dict(STYLE)


def new_figure(nrows: int = 1, ncols: int = 1, height: float | None = None):
    """A single-column figure (3.5 in wide) with the journal style applied.

    Returns:
        (fig, axes) as from ``plt.subplots`` (axes always a flat array).

    """
    plt.rcParams.update(STYLE)  # type: ignore[arg-type]
    h = height if height is not None else 2.2 * nrows
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIG_WIDTH_IN, h), squeeze=False, constrained_layout=True)
    return fig, axes.ravel()
