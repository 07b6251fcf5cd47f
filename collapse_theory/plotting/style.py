r"""Venue styles: exact widths, font sizes, Type 42 fonts and a colour-blind-safe palette, as a context.

A venue bundle is applied with :func:`style`, a context manager over ``matplotlib.rc_context``:
the user's rcParams are restored on exit, and importing this module changes nothing (it selects
no backend and touches no rcParams). Widths are the venues' ``\\textwidth`` / ``\\columnwidth``
in TeX points (72.27 per inch), checked against the style files and tueplots' ``figsizes``:

========================  ==============  =====================================================
bundle                    width (TeX pt)  source
========================  ==============  =====================================================
``neurips``               397.48          neurips_2024.sty: ``\\textwidth`` 5.5 in
``iclr``                  397.48          iclr2025_conference.sty: 5.5 in
``icml`` (half column)    234.88          icml2024.sty: ``\\columnwidth`` 3.25 in
``icml-full``             487.82          icml2024.sty: ``\\textwidth`` 6.75 in
``jmlr``                  433.62          jmlr2e.sty: 6.0 in text width (US letter)
``nature`` (single col.)  253.23          Nature figure guide: 89 mm
``nature-double``         520.69          Nature figure guide: 183 mm
========================  ==============  =====================================================

Heights follow the golden ratio per panel row (tueplots' convention) unless a figure asks for
another aspect. Figures use constrained layout and are saved without ``bbox_inches="tight"``, so
the saved page is exactly the venue width (tight bounding boxes are what make figures "a few
points too wide" in tueplots' issue tracker). Every font key is set explicitly, so a seaborn
theme set earlier cannot override the bundle inside the context. LaTeX is used only when
``latex`` and ``dvipng`` are on the ``PATH`` and ``usetex=True`` is asked for; otherwise
mathtext with STIX (Times-like) or DejaVu Sans renders the labels.
"""

from __future__ import annotations

import contextlib
import math
import shutil
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = [
    "GOLDEN",
    "TEX_PT_PER_IN",
    "VENUES",
    "Venue",
    "OKABE_ITO",
    "MARKERS",
    "LINESTYLES",
    "cue",
    "style",
    "rc_params",
    "figsize",
    "new_figure",
    "latex_available",
    "journal_style",
    "FIG_WIDTH_IN",
]

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0
"""Height / width of one panel row."""
TEX_PT_PER_IN = 72.27
"""TeX points per inch (the unit of ``\\textwidth``)."""
MM_PER_IN = 25.4

OKABE_ITO = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#009E73",  # bluish green
    "#CC79A7",  # reddish purple
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow (last: weak on white)
    "#000000",  # black
)
"""Okabe & Ito (2008), *Color Universal Design*: distinguishable under the common colour-vision deficiencies."""
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (8, 2)))
THEORY_COLOR = "#000000"
"""Closed forms are drawn in black, dashed, over coloured simulation curves."""


def cue(i: int) -> dict:
    """Colour, marker and line style of series ``i``: three redundant cues, one meaning per index."""
    return {"color": OKABE_ITO[i % 7], "marker": MARKERS[i % len(MARKERS)], "linestyle": LINESTYLES[i % 4]}


@dataclass(frozen=True)
class Venue:
    """A publication format.

    Attributes:
        name: bundle name.
        width_pt: figure width in TeX points.
        base: main font size (axis labels, titles) in pt.
        small: tick labels and legend in pt.
        family: ``"serif"`` or ``"sans-serif"``.
        description: the format in words.

    """

    name: str
    width_pt: float
    base: float
    small: float
    family: str
    description: str

    @property
    def width_in(self) -> float:
        """The width in inches."""
        return self.width_pt / TEX_PT_PER_IN


def _mm(x: float) -> float:
    return x / MM_PER_IN * TEX_PT_PER_IN


VENUES: dict[str, Venue] = {
    v.name: v
    for v in (
        Venue("neurips", 5.5 * TEX_PT_PER_IN, 9.0, 7.0, "serif", "NeurIPS text width (5.5 in)"),
        Venue("iclr", 5.5 * TEX_PT_PER_IN, 9.0, 7.0, "serif", "ICLR text width (5.5 in)"),
        Venue("icml", 3.25 * TEX_PT_PER_IN, 8.0, 6.5, "serif", "ICML column width (3.25 in)"),
        Venue("icml-full", 6.75 * TEX_PT_PER_IN, 8.0, 6.5, "serif", "ICML text width (6.75 in)"),
        Venue("jmlr", 6.0 * TEX_PT_PER_IN, 9.0, 7.5, "serif", "JMLR text width (6 in)"),
        Venue("nature", _mm(89.0), 7.0, 6.0, "sans-serif", "Nature single column (89 mm)"),
        Venue("nature-double", _mm(183.0), 7.0, 6.0, "sans-serif", "Nature double column (183 mm)"),
    )
}
"""The venue bundles by name; ``icml-half`` and ``nature-single`` are accepted as aliases."""
_ALIASES = {"icml-half": "icml", "nature-single": "nature", "icml-column": "icml"}


def venue(name: str) -> Venue:
    """The :class:`Venue` called ``name`` (or an alias), with a one-line error naming the choices."""
    key = _ALIASES.get(name, name)
    if key not in VENUES:
        raise ValueError(f"unknown style {name!r}; choose from {', '.join(VENUES)}")
    return VENUES[key]


def latex_available() -> bool:
    """Whether ``latex`` and ``dvipng`` are on the PATH (needed by matplotlib's ``text.usetex``)."""
    return shutil.which("latex") is not None and shutil.which("dvipng") is not None


def rc_params(name: str = "neurips", *, usetex: bool = False) -> dict:
    """The rcParams of a venue bundle (every font key set, so earlier themes cannot leak in).

    Args:
        name: a key of :data:`VENUES`.
        usetex: typeset with LaTeX if it is installed (ignored otherwise).

    """
    from cycler import cycler

    v = venue(name)
    tex = usetex and latex_available()
    serif = v.family == "serif"
    rc = {
        "font.family": v.family,
        "font.serif": ["STIXGeneral", "DejaVu Serif"],
        "font.sans-serif": ["DejaVu Sans"],
        "mathtext.fontset": "stix" if serif else "dejavusans",
        "font.size": v.base,
        "axes.titlesize": v.base,
        "axes.labelsize": v.base,
        "figure.titlesize": v.base,
        "figure.labelsize": v.base,
        "xtick.labelsize": v.small,
        "ytick.labelsize": v.small,
        "legend.fontsize": v.small,
        "legend.title_fontsize": v.small,
        "legend.frameon": False,
        "legend.handlelength": 2.2,
        "text.usetex": tex,
        "pdf.fonttype": 42,
        "ps.fonttype": 42,
        "svg.fonttype": "none",
        "axes.prop_cycle": cycler(color=list(OKABE_ITO[:7])),
        "axes.linewidth": 0.6,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": False,
        "axes.titlepad": 3.0,
        "axes.labelpad": 2.0,
        "axes.formatter.use_mathtext": True,
        "lines.linewidth": 1.1,
        "lines.markersize": 3.0,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "xtick.minor.width": 0.4,
        "ytick.minor.width": 0.4,
        "xtick.major.size": 2.5,
        "ytick.major.size": 2.5,
        "xtick.minor.size": 1.5,
        "ytick.minor.size": 1.5,
        "figure.figsize": figsize(name),
        "figure.dpi": 100,
        "figure.constrained_layout.use": True,
        "figure.constrained_layout.h_pad": 0.02,
        "figure.constrained_layout.w_pad": 0.02,
        "savefig.dpi": 300,
        "savefig.bbox": "standard",
        "savefig.pad_inches": 0.0,
        "image.cmap": "viridis",
    }
    if tex:
        rc["text.latex.preamble"] = r"\usepackage{amsmath,amssymb}" + (r"\usepackage{times}" if serif else "")
    return rc


@contextlib.contextmanager
def style(name: str = "neurips", *, usetex: bool = False) -> Iterator[Venue]:
    """Apply a venue bundle inside a ``with`` block; the user's rcParams are restored afterwards.

    Example:
        >>> from collapse_theory.plotting import style, new_figure
        >>> with style("icml"):
        ...     fig, axes = new_figure(1, 2)

    Yields:
        The :class:`Venue`.

    """
    import matplotlib as mpl

    v = venue(name)
    with mpl.rc_context(rc_params(name, usetex=usetex)):
        yield v


def figsize(name: str = "neurips", nrows: int = 1, ncols: int = 1, aspect: float = GOLDEN) -> tuple[float, float]:
    """(width, height) in inches: the venue width, and ``aspect`` times the panel width per row.

    Args:
        name: venue bundle.
        nrows: panel rows.
        ncols: panel columns.
        aspect: panel height / panel width (golden ratio by default).

    """
    w = venue(name).width_in
    return (w, aspect * (w / ncols) * nrows)


def new_figure(
    nrows: int = 1,
    ncols: int = 1,
    height: float | None = None,
    *,
    venue_name: str | None = None,
    aspect: float = GOLDEN,
    **subplot_kw,
):
    """A figure of the current (or the given) venue's width with a grid of panels.

    Call it inside :func:`style`; outside, the figure still has the venue's size but the user's
    fonts.

    Args:
        nrows: panel rows.
        ncols: panel columns.
        height: height in inches (default: ``aspect`` times the panel width per row).
        venue_name: the width's venue (default: the one whose width the active rcParams carry,
            else NeurIPS).
        aspect: panel height / width.
        **subplot_kw: passed to ``plt.subplots`` (``sharex``, ``sharey``, ...).

    Returns:
        ``(fig, axes)``: axes as a flat numpy array.

    """
    import matplotlib.pyplot as plt

    name = venue_name or _active_venue()
    w, h = figsize(name, nrows, ncols, aspect)
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, height or h), squeeze=False, layout="constrained", **subplot_kw)
    return fig, axes.ravel()


def _active_venue() -> str:
    import matplotlib as mpl

    w = float(mpl.rcParams["figure.figsize"][0])
    for v in VENUES.values():
        if abs(v.width_in - w) < 1e-9:
            return v.name
    return "neurips"


# --- backward compatibility (0.1.0 names) ---
FIG_WIDTH_IN = VENUES["icml"].width_in
"""Single-column width of 0.1.0 (now the ICML column, 3.25 in)."""


def journal_style(name: str = "icml") -> dict:
    """The rcParams of a venue bundle (0.1.0 name of :func:`rc_params`)."""
    return rc_params(name)
