"""``collapse-theory figures``: the gallery, from cached sweeps, in a venue's format."""

from __future__ import annotations

import sys
import time

__all__ = ["add_parser"]


def add_parser(sub) -> None:
    """Register the ``figures`` subcommand."""
    from collapse_theory.plotting.gallery import FIGURES, default_cache
    from collapse_theory.plotting.style import VENUES

    p = sub.add_parser(
        "figures",
        help="regenerate the gallery figures (PDF + PNG) from cached sweeps",
        description=(
            "Writes OUT/NAME.pdf and OUT/NAME.png for each gallery figure: "
            + ", ".join(FIGURES)
            + ". Simulations are cached per configuration (--cache), so a second run only redraws. "
            "Every figure has two or three panel columns, so two-column venues (icml, nature) use their "
            "full width (icml-full, nature-double). "
            "Uses matplotlib's non-interactive Agg backend."
        ),
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--style", default="neurips", choices=sorted(VENUES), help="venue bundle (default neurips)")
    p.add_argument("--only", default=None, help="comma-separated figure names (default: all)")
    p.add_argument("--cache", default=None, help=f"sweep cache folder (default {default_cache()})")
    p.add_argument("--format", default="pdf,png", help="comma-separated file formats (default pdf,png)")
    p.add_argument("--dpi", type=int, default=300, help="PNG resolution (default 300)")
    p.add_argument("--usetex", action="store_true", help="typeset with LaTeX when latex and dvipng are installed")
    p.add_argument("--list", action="store_true", help="list the figure names and exit")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(run=run)


def run(a) -> int:
    """Build the requested figures and print one line per file written."""
    import matplotlib

    matplotlib.use("Agg")
    from collapse_theory.cli import CliError
    from collapse_theory.plotting.gallery import FIGURES, build

    if a.list:
        for name, f in FIGURES.items():
            print(f"{name:28} {f.caption}")
        return 0
    only = [s.strip() for s in a.only.split(",") if s.strip()] if a.only else None
    if only:
        unknown = [n for n in only if n not in FIGURES]
        if unknown:
            raise CliError(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}")
    formats = [s.strip() for s in a.format.split(",") if s.strip()]
    bad = [f for f in formats if f not in ("pdf", "png", "svg")]
    if bad:
        raise CliError(f"--format: unknown format {bad[0]!r}; choose from pdf, png, svg")
    t0 = time.perf_counter()
    report = build(
        a.out,
        style=a.style,
        only=only,
        cache=a.cache,
        formats=formats,
        progress=not a.quiet,
        usetex=a.usetex,
        dpi=a.dpi,
    )
    for name, r in report.items():
        print(f"{name}: {', '.join(r['files'])} ({r['seconds']:.1f} s)")
    print(f"{len(report)} figures in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0
