"""Paper-ready figures: venue styles, bands valid on log axes, theory overlays, the gallery.

Importing this package selects no matplotlib backend and changes no rcParams: styles apply
inside ``with style("neurips"):`` only (the CLI selects the non-interactive Agg backend).
``import collapse_theory`` does not import it.

* :mod:`.style`: venue bundles (:data:`VENUES`), the Okabe-Ito palette, :func:`new_figure`;
* :mod:`.curves`: quantile bands, means with log-space intervals, proportions, closed forms;
* :mod:`.theory`: registry closed forms along an axis;
* :mod:`.save`: deterministic PDF + PNG;
* :mod:`.figures`: one module per figure group; :mod:`.gallery`: the 12 gallery figures.
"""

from collapse_theory.plotting.curves import (
    plot_closed_form,
    plot_mc_band,
    plot_mean,
    plot_proportion,
    plot_quantiles,
    plot_theory,
)
from collapse_theory.plotting.labels import LABELS, label
from collapse_theory.plotting.save import save_figure
from collapse_theory.plotting.style import (
    FIG_WIDTH_IN,
    OKABE_ITO,
    VENUES,
    cue,
    figsize,
    journal_style,
    new_figure,
    rc_params,
    style,
)

__all__ = [
    "FIG_WIDTH_IN",
    "LABELS",
    "OKABE_ITO",
    "VENUES",
    "cue",
    "figsize",
    "journal_style",
    "label",
    "new_figure",
    "plot_closed_form",
    "plot_mc_band",
    "plot_mean",
    "plot_proportion",
    "plot_quantiles",
    "plot_theory",
    "rc_params",
    "save_figure",
    "style",
]
