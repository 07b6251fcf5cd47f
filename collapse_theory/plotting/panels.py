"""Small helpers shared by the figure modules: panel letters, log axes, legends, derived summaries."""

from __future__ import annotations

import numpy as np

from collapse_theory.summaries import MetricSummary, summarize

__all__ = ["letter", "loglog", "legend_below", "note_below", "summary_of", "positive_generations", "column_titles"]


def letter(ax, s: str) -> None:
    """A bold panel letter at the top left, outside the data."""
    ax.set_title(f"{s}", loc="left", fontweight="bold")


def loglog(ax, x: bool = True, y: bool = True) -> None:
    """Log axes (base 10)."""
    if x:
        ax.set_xscale("log")
    if y:
        ax.set_yscale("log")


def legend_below(fig, handles, labels, ncol: int | None = None, note: str | None = None) -> None:
    """One legend for the whole figure, centred below the panels (constrained layout makes room).

    ``note`` (what the lines and bands are) is printed in grey under the entries.
    """
    import textwrap

    width = float(fig.get_figwidth())
    longest = max((_visible_len(t) for t in labels), default=1)
    per_line = int(width * 72 / 3.0)  # characters of a small font across the figure
    cap = max(1, per_line // (longest + 6))  # entries that fit side by side (handle + padding)
    ncol = min(ncol or len(labels), cap, len(labels))
    if note:
        note = "\n".join(textwrap.fill(line, int(width * 24)) for line in note.split("\n"))
    leg = fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=ncol,
        frameon=False,
        columnspacing=1.2,
        handletextpad=0.5,
    )
    if note:
        leg.set_title(note, prop={"size": "x-small"})
        leg.get_title().set_color("0.3")
        leg._legend_box.align = "center"  # the title above the entries, centred
    return leg


def _visible_len(label: str) -> int:
    """Rough rendered length of a mathtext label (commands and braces take no room)."""
    import re

    return len(re.sub(r"\\[a-zA-Z]+|[${}^_]", "", label))


def note_below(ax_or_fig, text: str) -> None:
    """A grey caption line at the bottom of a figure without a shared legend (wrapped to the width)."""
    import textwrap

    fig = getattr(ax_or_fig, "figure", ax_or_fig)
    fig.supxlabel(textwrap.fill(text, int(float(fig.get_figwidth()) * 24)), fontsize="x-small", color="0.3")


def summary_of(values, transform=None) -> MetricSummary:
    """Summaries of per-chain values after an optional elementwise transform."""
    v = np.asarray(values, dtype=float)
    return summarize(transform(v) if transform is not None else v)


def positive_generations(result, start: int = 1) -> np.ndarray:
    """Boolean mask of recorded generations >= ``start`` (log x axes cannot show n = 0)."""
    return np.asarray(result.generations) >= start


def column_titles(axes_row, titles) -> None:
    """Titles over the columns of the first row."""
    for ax, t in zip(axes_row, titles, strict=False):
        ax.set_title(t)


def tidy(fig) -> None:
    """Plain tick labels (1, 2, 5, 10 ...) on log axes that span less than two decades, where matplotlib writes 4x10^0."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    for ax in fig.axes:
        for axis, lim in ((ax.yaxis, ax.get_ylim()), (ax.xaxis, ax.get_xlim())):
            if axis.get_scale() != "log":
                continue
            lo, hi = sorted(lim)
            if lo > 0 and math.log10(hi / lo) < 2:
                axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
                axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
                axis.set_minor_formatter(NullFormatter())
