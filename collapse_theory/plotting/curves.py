"""Axes-level plotting: a Monte Carlo mean with its 95% band and a closed form overlaid."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_mc_band", "plot_closed_form"]


def plot_mc_band(ax, generations, mean, se, label: str = "simulation", color: str = "C0"):
    """Simulation mean with a 95% normal band (mean ± 1.96 se) over generations.

    Args:
        ax: a matplotlib ``Axes``.
        generations: x values.
        mean: MC means.
        se: their standard errors.
        label: legend label.
        color: line colour.

    """
    g, m, s = (np.asarray(a, dtype=float) for a in (generations, mean, se))
    ax.plot(g, m, "o-", ms=2.5, color=color, label=label)
    ax.fill_between(g, m - 1.96 * s, m + 1.96 * s, color=color, alpha=0.25, lw=0)
    ax.set_xlabel("generation n")
    return ax


def plot_closed_form(ax, generations, values, label: str = "closed form", color: str = "k"):
    """A closed form evaluated at ``generations``, drawn as a dashed line."""
    ax.plot(np.asarray(generations, dtype=float), np.asarray(values, dtype=float), "--", color=color, label=label)
    return ax
