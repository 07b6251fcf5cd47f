"""Markdown report, one figure per result family and the summary figure (``collapse-theory verify --output``).

Figures use the NeurIPS bundle of :mod:`collapse_theory.plotting.style` and are written as PDF + PNG;
panels are titled by the registry's titles, axes by the metrics' mathematical labels.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np

from collapse_theory.verify.checks import CHECKS, Check, closed_form

__all__ = ["write_report", "family"]


def family(result_id: str) -> str:
    """Result family: the first two components of the registry id (e.g. ``gaussian.replace``)."""
    return ".".join(result_id.split(".")[:2])


def _curve(check: Check, res):
    """(generations, mean, se, closed, se_trustworthy) of a mean check over all recorded n ≥ 1, or None.

    Limits (the fixed points of ``docs/derivations.md``, 'Fresh real data' and 'Wright-Fisher
    (categorical)') are drawn as a flat line that the mean approaches.
    """
    if check.kind != "mean" or "one_step" in check.id:
        return None
    g = np.asarray(res.generations)
    keep = g >= 1
    s = res.summary(check.metric)
    closed = []
    for n in g[keep]:
        if check.gen_param not in check.params:  # a limit (fixed point) or an n-free identity: drawn flat
            closed.append(closed_form(check))
            continue
        c = replace(check, params=check.params | {check.gen_param: int(n) + check.gen_offset}, gen=int(n))
        try:
            closed.append(closed_form(c))
        except Exception:
            closed.append(math.nan)
    return g[keep], s.mean[keep], s.se[keep], np.asarray(closed), s.se_trustworthy[keep]


def _panel(ax, check: Check, curve) -> None:
    """One check: MC mean with its 95 % interval (log space on a log axis) and the closed form."""
    from collapse_theory.plotting.curves import decades, finite_positive, log_interval, plot_theory
    from collapse_theory.plotting.labels import GENERATION, label
    from collapse_theory.plotting.style import cue
    from collapse_theory.theory import registry

    g, m, s, cl, trust = curve
    log = finite_positive(m) and max(decades(m), decades(cl)) >= 1.0
    if log:
        ax.set_yscale("log")
        lo, hi = log_interval(m, s)
    else:
        lo, hi = m - 1.96 * s, m + 1.96 * s
    if g.size > 2 and g.min() >= 1 and g.max() / g.min() >= 20:
        ax.set_xscale("log")
    c = cue(0)
    ax.fill_between(g, lo, hi, color=c["color"], alpha=0.25, lw=0)
    ax.plot(g, m, color=c["color"], lw=0.9, label="simulation (95 % CI)")
    ok = np.asarray(trust, bool)
    ax.plot(g[ok], m[ok], "o", ms=2.4, color=c["color"])
    if (~ok).any():
        ax.plot(
            g[~ok], m[~ok], "o", ms=2.4, mfc="white", mec=c["color"], mew=0.7, label="SE untrustworthy (heavy tails)"
        )
    plot_theory(ax, g, cl, label="closed form")
    ax.set_xlabel(GENERATION if check.gen_param == "n" else f"generation (${check.gen_param}$)")
    ax.set_ylabel(label(check.metric))
    ax.set_title(textwrap.fill(registry.get(check.id).title, 34), fontsize="small")


def _bars(ax, rows) -> None:
    """Limits and laws: each estimate with its 95 % interval against its closed form."""
    from collapse_theory.plotting.style import THEORY_COLOR, cue
    from collapse_theory.theory import registry

    x = np.arange(len(rows))
    ax.errorbar(
        x, [r["estimate"] for r in rows], yerr=[1.96 * r["se"] for r in rows], fmt="o", ms=3,
        color=cue(0)["color"], label="simulation (95 % CI)",
    )  # fmt: skip
    ax.plot(x, [r["closed_form"] for r in rows], "_", ms=10, color=THEORY_COLOR, label="closed form")
    ax.set_xticks(x, [textwrap.fill(registry.get(r["id"]).title, 28) for r in rows], fontsize="x-small")
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylabel("value")


def _figures(out: dict, folder: Path, style: str = "neurips") -> dict[str, str]:
    import matplotlib.pyplot as plt

    from collapse_theory.plotting.figures.diagnostics import verify_summary
    from collapse_theory.plotting.panels import tidy
    from collapse_theory.plotting.save import save_figure
    from collapse_theory.plotting.style import new_figure
    from collapse_theory.plotting.style import style as venue_style
    from collapse_theory.verify.runner import to_json

    results = out["results"]
    fams: dict[str, list[Check]] = {}
    for c in CHECKS:
        if c.cfg in results:
            fams.setdefault(family(c.id), []).append(c)
    files = {}
    with venue_style(style):
        for fam, cs in fams.items():
            seen, curves = set(), []
            for c in cs:
                key = (c.id, c.cfg)
                if key in seen:
                    continue
                cur = _curve(c, results[c.cfg])
                if cur is not None:
                    seen.add(key)
                    curves.append((c, cur))
            if not curves:
                fig, axes = new_figure(1, 1, aspect=0.5)
                _bars(axes[0], [r for r in out["checks"] if family(r["id"]) == fam])
            else:
                ncols = min(3, len(curves))
                nrows = -(-len(curves) // ncols)
                fig, axes = new_figure(nrows, ncols, aspect=0.8)
                for ax, (c, cur) in zip(axes, curves, strict=False):
                    _panel(ax, c, cur)
                for ax in axes[len(curves) :]:
                    ax.set_visible(False)
            handles, labels = {}, []
            for ax in axes:
                for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
                    if lab not in handles:
                        handles[lab] = h
                        labels.append(lab)
            fig.legend(
                [handles[k] for k in labels], labels, loc="outside lower center", ncol=len(labels), fontsize="x-small"
            )
            stem = fam.replace(".", "_")
            tidy(fig)
            save_figure(fig, folder / stem)
            plt.close(fig)
            files[fam] = f"{stem}.png"
        fig, _ = verify_summary(to_json(out))
        save_figure(fig, folder / "verify-summary")
        plt.close(fig)
        files["summary"] = "verify-summary.png"
    return files


def write_report(out: dict, folder, elapsed: float | None = None, mode: str = "default") -> Path:
    """Write ``report.md`` and the family figures into ``folder``; returns the report path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    figs = _figures(out, folder)

    def row(r, verdict):
        return (
            f"| `{r['id']}` | {r['source']} | {r['config']} | {r['closed_form']:.6g} | "
            f"{r['estimate']:.6g} ± {r['se']:.3g} | {r['z']:.2f} | {r['p_value']:.2e} | "
            f"{r['power_rel']:.3g} | {verdict} |"
        )

    head = (
        "| id | source | config | closed form | estimate ± se | z | p | power (rel.) | result |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    n_pass = sum(r["passed"] for r in out["checks"])
    lines = [
        "# collapse-theory verify report",
        "",
        f"Mode `{mode}`, {out['chains']} chains per configuration, seed {out['seed']}"
        + (f", {elapsed:.1f} s" if elapsed is not None else "")
        + ".",
        f"Family-wise false-alarm budget alpha_total = {out['alpha_total']} (Holm–Bonferroni over "
        f"{len(out['checks'])} checks). **{n_pass}/{len(out['checks'])} checks pass; "
        f"{sum(r['caught'] for r in out['negative_controls'])}/{len(out['negative_controls'])} "
        "negative controls caught.** Verdict: " + ("OK" if out["ok"] else "FAILED"),
        "",
        "Power column: smallest relative error of the closed form detected with 80% power "
        "(for KS rows: detectable sup-CDF distance).",
        "",
        "Source column: the registry citation. 'docs/derivations.md' is the derivations document of the "
        "collapse_theory repository; `python -m proofs` runs the machine-checked derivations.",
        "",
        "## Checks",
        "",
        head,
        *[row(r, "PASS" if r["passed"] else "FAIL") for r in out["checks"]],
        "",
        "## Negative controls (must be caught)",
        "",
        head,
        *[row(r, "caught" if r["caught"] else "MISSED") for r in out["negative_controls"]],
        "",
        "## Figures",
        "",
    ]
    for fam, name in figs.items():
        lines += [f"### {fam}", "", f"![{fam}]({name})", ""]
    p = folder / "report.md"
    p.write_text("\n".join(lines))
    return p
