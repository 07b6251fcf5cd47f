"""The error decomposition and the verifier's summary as figures.

:func:`error_decomposition` draws a :class:`~collapse_theory.decompose.Decomposition` (also what
``Decomposition.figure`` saves); :func:`verify_summary` draws the JSON of ``collapse-theory
verify`` (``runner.to_json``). Colours: one per error source in every panel.
"""

from __future__ import annotations

import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
from scipy import stats

from collapse_theory.plotting.curves import log_interval, markevery
from collapse_theory.plotting.labels import GENERATION, label
from collapse_theory.plotting.panels import letter
from collapse_theory.plotting.style import OKABE_ITO, THEORY_COLOR, new_figure

__all__ = ["error_decomposition", "verify_summary", "SOURCE_COLORS"]

SOURCE_COLORS = {
    "statistical": OKABE_ITO[0],
    "functional": OKABE_ITO[1],
    "numerical": OKABE_ITO[2],
    "interaction": OKABE_ITO[3],
}
"""Colour of each error source: the same in the runs panel (that source off) and the contributions panel."""
_Z = float(stats.norm.isf(0.025))
_RUN_STYLE = {
    "all": dict(color=THEORY_COLOR, linestyle="-", marker="o"),
    "no_statistical": dict(color=SOURCE_COLORS["statistical"], linestyle="--", marker="s"),
    "no_functional": dict(color=SOURCE_COLORS["functional"], linestyle="--", marker="^"),
    "no_numerical": dict(color=SOURCE_COLORS["numerical"], linestyle="--", marker="D"),
    "none": dict(color="0.55", linestyle=":", marker="v"),
}
_RUN_LABEL = {
    "all": "all sources on",
    "no_statistical": "statistical off",
    "no_functional": "functional off",
    "no_numerical": "numerical off",
    "none": "all off",
}
_MARK = {"statistical": "s", "functional": "^", "numerical": "D", "interaction": "P"}


def error_decomposition(d):
    """Each run's metric (log axis, 95 % CI in log space) and each source's contribution (95 % CI).

    Args:
        d: a :class:`~collapse_theory.decompose.Decomposition`.

    Returns:
        ``(fig, axes)``: a) the five runs, b) the contributions (all on minus that source off)
        and the interaction.

    """
    fig, (a, b) = new_figure(1, 2, aspect=0.85)
    g_all = np.asarray(d.generations, dtype=float)
    keep = g_all >= 1  # generation 0 is the truth: no recursion yet
    g = g_all[keep]
    top = max(float(np.nanmax(np.asarray(m, float))) for m, _ in d.runs.values())
    zero = []
    for k, (m, s) in d.runs.items():
        st = _RUN_STYLE.get(k, dict(color="0.3", linestyle="-", marker="o"))
        m, s = np.asarray(m, float)[keep], np.asarray(s, float)[keep]
        if not np.all(m > 1e-12 * top):  # zero up to rounding (e.g. all sources off)
            zero.append(_RUN_LABEL.get(k, k))
            continue
        lo, hi = log_interval(m, s)
        a.fill_between(g, lo, hi, color=st["color"], alpha=0.2, lw=0)
        a.plot(g, m, ms=2.8, lw=1.0, label=_RUN_LABEL.get(k, k), markevery=markevery(g), **st)
    a.set_yscale("log")
    a.set_xlabel(GENERATION)
    a.set_ylabel(label(d.metric))
    a.legend(fontsize="x-small", loc="lower right")
    if zero:
        a.text(0.02, 0.98, f"{', '.join(zero)}: {label(d.metric)} = 0", transform=a.transAxes, va="top", fontsize="x-small", color="0.35")  # fmt: skip
    letter(a, "a")
    for k, (m, s) in d.contributions.items():
        m, s = np.asarray(m, float)[keep], np.asarray(s, float)[keep]
        c = SOURCE_COLORS.get(k, "0.3")
        b.fill_between(g, m - _Z * s, m + _Z * s, color=c, alpha=0.2, lw=0)
        b.plot(
            g,
            m,
            color=c,
            marker=_MARK.get(k, "o"),
            ms=2.8,
            lw=1.0,
            ls="-" if k != "interaction" else "-.",
            label=k,
            markevery=markevery(g),
        )
    b.axhline(0.0, color="0.4", lw=0.5)
    _symlog(b, _linthresh(d))
    b.set_xlabel(GENERATION)
    b.set_ylabel(f"contribution to {label(d.metric)}")
    b.legend(fontsize="x-small", loc="best")
    letter(b, "b")
    for ax in (a, b):
        if g.size and g.max() / g.min() >= 20:
            ax.set_xscale("log")
    fig.supxlabel(
        "contribution = all on − that source off (paired over chains); bands: 95 % CI", fontsize="x-small", color="0.3"
    )
    return fig, (a, b)


def _linthresh(d) -> float:
    """A power of ten near the small contributions: linear below it, logarithmic above."""
    vals = np.concatenate([np.abs(np.asarray(m, float)) for m, _ in d.contributions.values()])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    q = float(np.quantile(vals, 0.1)) if vals.size else 1.0
    return float(10.0 ** np.floor(np.log10(q)))


def _symlog(ax, linthresh: float) -> None:
    """A symmetric log axis whose ticks are 0 and +-10^k above the linear range (no crowding at 0)."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ax.set_yscale("symlog", linthresh=linthresh, linscale=0.6)
    lo, hi = ax.get_ylim()
    k0 = int(np.log10(linthresh)) + 1
    top = int(np.ceil(np.log10(max(abs(lo), abs(hi), linthresh * 10))))
    ticks = [0.0] + [s * 10.0**k for k in range(k0, top + 1) for s in (1, -1)]
    ax.yaxis.set_major_locator(FixedLocator(sorted(t for t in ticks if lo <= t <= hi)))
    ax.yaxis.set_minor_locator(NullLocator())


def _equivalent_z(p) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=float), 1e-300, 1.0)
    return stats.norm.isf(p / 2)


def verify_summary(js: dict):
    """Every check's equivalent |z| against Holm's step-down threshold, and the negative controls.

    Args:
        js: the verifier's JSON (``collapse-theory verify --format json``).

    Returns:
        ``(fig, axes)``: a) checks sorted by p-value with the Holm critical |z| of each rank
        (a check passes below its step), b) the negative controls with the per-check Bonferroni
        threshold they must exceed.

    The equivalent |z| is Phi^{-1}(1 - p/2) of each check's p-value (z-, proportion, variance
    and KS tests alike), so every test is on one scale.
    """
    fig, (a, b) = new_figure(1, 2, aspect=0.85, gridspec_kw={"width_ratios": [3, 1]})
    checks = js["checks"]
    alpha = float(js["alpha_total"])
    m = len(checks)
    p = np.array([r["p_value"] if r["p_value"] is not None else 1.0 for r in checks])
    order = np.argsort(p, kind="stable")
    z = _equivalent_z(p[order])
    ranks = np.arange(1, m + 1)
    holm = _equivalent_z(alpha / (m - ranks + 1))
    passed = np.array([checks[i]["passed"] for i in order])
    a.step(ranks, holm, where="mid", color=THEORY_COLOR, lw=0.9, label=rf"Holm threshold ($\alpha={alpha:g}$)")
    a.plot(ranks[passed], z[passed], "o", ms=2.8, color=OKABE_ITO[0], label=f"pass ({passed.sum()})")
    if (~passed).any():
        a.plot(ranks[~passed], z[~passed], "X", ms=4, color=OKABE_ITO[1], label=f"fail ({(~passed).sum()})")
    a.set_xlabel("check, by increasing $p$-value")
    a.set_ylabel(r"equivalent $|z| = \Phi^{-1}(1-p/2)$")
    a.set_ylim(0, max(float(holm.max()) * 1.15, float(z.max()) * 1.1))
    a.legend(fontsize="x-small", loc="center right")
    letter(a, "a")
    ctrl = js.get("negative_controls", [])
    bonf = float(_equivalent_z(alpha / max(m, 1)))
    if ctrl:
        zc = _equivalent_z([r["p_value"] if r["p_value"] is not None else 1.0 for r in ctrl])
        caught = np.array([r["caught"] for r in ctrl])
        xc = np.arange(1, len(ctrl) + 1)
        b.plot(xc[caught], zc[caught], "D", ms=3, color=OKABE_ITO[2])
        if (~caught).any():
            b.plot(xc[~caught], zc[~caught], "X", ms=4, color=OKABE_ITO[1])
        b.set_xticks(xc)
        b.set_xlim(0.4, len(ctrl) + 0.6)
        b.set_yscale("log")
        b.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
        b.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        b.yaxis.set_minor_formatter(NullFormatter())
        b.set_title(f"{int(caught.sum())}/{len(ctrl)} caught", fontsize="small")
    b.axhline(bonf, color=THEORY_COLOR, lw=0.9, ls=(0, (4, 2)))
    b.annotate("must exceed", (0.5, bonf), xycoords=("axes fraction", "data"), xytext=(0, 2), textcoords="offset points", ha="center", va="bottom", fontsize="x-small")  # fmt: skip
    b.set_xlabel("negative control")
    b.set_ylabel(r"equivalent $|z|$")
    letter(b, "b")
    verdict = "OK" if js.get("ok") else "FAILED"
    fig.supxlabel(
        f"{m} checks, {js.get('chains')} chains per configuration; verdict: {verdict}", fontsize="x-small", color="0.3"
    )
    return fig, (a, b)
