"""Journal-style figures (matplotlib, Agg backend). Imported lazily: ``import collapse_theory`` never loads it."""

from collapse_theory.plotting.curves import plot_closed_form, plot_mc_band
from collapse_theory.plotting.style import FIG_WIDTH_IN, journal_style, new_figure

__all__ = ["FIG_WIDTH_IN", "journal_style", "new_figure", "plot_mc_band", "plot_closed_form"]
