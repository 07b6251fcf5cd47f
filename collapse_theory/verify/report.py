"""Markdown report and one PNG figure per result family (``collapse-theory verify --output``)."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from collapse_theory.verify.checks import CHECKS, Check, closed_form

__all__ = ["write_report", "family"]


def family(result_id: str) -> str:
    """Result family: the first two components of the registry id (e.g. ``gaussian.replace``)."""
    return ".".join(result_id.split(".")[:2])


def _curve(check: Check, res):
    """(generations, mean, se, closed) of a mean check over all recorded n ≥ 1, or None.

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
    return g[keep], s.mean[keep], s.se[keep], np.asarray(closed)


def _figures(out: dict, folder: Path) -> dict[str, str]:
    import matplotlib.pyplot as plt

    from collapse_theory.plotting import new_figure, plot_closed_form, plot_mc_band

    results = out["results"]
    fams: dict[str, list[Check]] = {}
    for c in CHECKS:
        if c.cfg in results:
            fams.setdefault(family(c.id), []).append(c)
    files = {}
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
        curves = curves[:3]
        if not curves:  # limits/laws: bar of estimate vs closed form
            fig, axes = new_figure(1, 1)
            ax = axes[0]
            rows = [r for r in out["checks"] if family(r["id"]) == fam]
            x = np.arange(len(rows))
            ax.errorbar(
                x,
                [r["estimate"] for r in rows],
                yerr=[1.96 * r["se"] for r in rows],
                fmt="o",
                ms=3,
                label="simulation (95%)",
            )
            ax.plot(x, [r["closed_form"] for r in rows], "k_", ms=10, label="closed form")
            ax.set_xticks(x, [r["id"].split(".")[-1] for r in rows], rotation=30, ha="right")
        else:
            fig, axes = new_figure(len(curves), 1, height=1.7 * len(curves))
            for ax, (c, (g, m, s, cl)) in zip(axes, curves, strict=False):
                plot_mc_band(ax, g, m, s)
                plot_closed_form(ax, g, cl)
                ax.set_ylabel(c.metric)
                ax.set_title(f"{c.id} ({c.summary().rsplit(' n=', 1)[0]})", fontsize=6)
        axes[0].legend(frameon=False)
        name = f"{fam.replace('.', '_')}.png"
        fig.savefig(folder / name)
        plt.close(fig)
        files[fam] = name
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
