"""Fresh real data and collapse probabilities: stationary errors vs the real fraction, P(sigma_n^2 < eps).

Each function takes a :class:`~collapse_theory.sweeps.Sweep` and returns ``(fig, axes)``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.lines import Line2D

from collapse_theory.plotting.curves import plot_proportion, plot_theory
from collapse_theory.plotting.labels import GENERATION
from collapse_theory.plotting.panels import legend_below, letter, loglog, note_below
from collapse_theory.plotting.style import THEORY_COLOR, cue, new_figure
from collapse_theory.plotting.theory import curve, value

__all__ = ["cardinality_proportion", "fresh_data_fraction", "collapse_probability", "stationary", "grid_cells"]


def stationary(result, metric: str, burn: int) -> np.ndarray:
    """Per-chain time averages of ``metric`` over the recorded generations >= ``burn`` (stationary phase)."""
    g = np.asarray(result.generations)
    v = result.values[metric][g >= burn]
    return v.mean(axis=0)


def _note(fig, text: str) -> None:
    note_below(fig, text)


def cardinality_proportion(grid_sweep, reals, synths, total_sweep, totals, fractions, sigma0: float = 1.0):
    """The value of synthetic data depends on the real data: the stationary error over real x synthetic counts.

    Args:
        grid_sweep: fresh-split Gaussian (unbiased) cells with ``real`` = R and ``synthetic`` = S
            points per generation (``samples = R + S``, ``real_fraction = R / (R + S)``).
        reals: the grid's R values.
        synths: the grid's S values.
        total_sweep: cells over ``samples`` (= total data M) x ``real_fraction``.
        totals: its M values.
        fractions: its real fractions.
        sigma0: the truth's sd.

    Returns:
        ``(fig, axes)``: a) simulated stationary ‖mu - mu_0‖² on the (R, S) grid (colour, log scale;
        numbers: simulation / closed form), b) the error vs the real fraction, one colour per M,
        closed form dashed.

    """
    fig, axes = new_figure(1, 2, aspect=0.85)
    a, b = axes
    z = np.full((len(synths), len(reals)), np.nan)
    ratio = np.full_like(z, np.nan)
    cells = {real_synthetic(c.config): c.result for c in grid_sweep.cells}
    for i, S in enumerate(synths):
        for j, R in enumerate(reals):
            r = cells.get((R, S))
            if r is None:
                continue
            alpha, M = R / (R + S), R + S
            burn = _burn(alpha)
            z[i, j] = stationary(r, "mu_err2", burn).mean()
            ratio[i, j] = z[i, j] / value("fresh.split.e_star", M=M, alpha=alpha, sigma0=sigma0)
    im = a.imshow(z, origin="lower", cmap="viridis", norm=LogNorm(), aspect="auto")
    for i in range(len(synths)):
        for j in range(len(reals)):
            if np.isfinite(ratio[i, j]):
                a.text(j, i, f"{ratio[i, j]:.2f}", ha="center", va="center", fontsize=5, color="white" if z[i, j] > np.nanmedian(z) else "black")  # fmt: skip
    a.set_xticks(range(len(reals)), [str(r) for r in reals])
    a.set_yticks(range(len(synths)), [str(s) for s in synths])
    a.set_xlabel("real points per generation $R$")
    a.set_ylabel("synthetic points per generation $S$")
    cb = fig.colorbar(im, ax=a, location="top", shrink=0.8, pad=0.02, aspect=30)
    cb.set_label(r"simulated stationary $\|\hat\mu-\mu_0\|^2$", fontsize="small")
    letter(a, "a")
    xs = np.geomspace(min(fractions) * 0.8, 1.0, 80)
    for k, M in enumerate(totals):
        c = cue(k)
        th = curve("fresh.split.e_star", xs, over="alpha", M=M, sigma0=sigma0)
        plot_theory(b, xs, th, color=c["color"])
        ys, lo, hi = [], [], []
        for f in fractions:
            r = total_sweep.get(samples=M, real_fraction=f)
            v = stationary(r, "mu_err2", _burn(f))
            m, se = v.mean(), v.std(ddof=1) / np.sqrt(v.size)
            ys.append(m)
            lo.append(m - 1.96 * se)
            hi.append(m + 1.96 * se)
        b.errorbar(fractions, ys, yerr=[np.subtract(ys, lo), np.subtract(hi, ys)], ls="none", marker=c["marker"], ms=3, color=c["color"], label=f"$M={M}$")  # fmt: skip
    loglog(b)
    lo, hi = b.get_ylim()
    b.set_ylim(lo / 12, hi)  # room for the legend below the curves
    b.set_xlabel(r"real fraction $\alpha = R/M$")
    b.set_ylabel(r"stationary $\|\hat\mu-\mu_0\|^2$")
    hb, lb = b.get_legend_handles_labels()
    b.legend(hb + [Line2D([], [], color="0.3", ls=(0, (4, 2)))], lb + ["closed form $e^\\ast(M,\\alpha)$"], fontsize="x-small", loc="lower left", ncol=2)  # fmt: skip
    letter(b, "b")
    chains = grid_sweep.cells[0].config.chains
    _note(fig, f"fresh data, split mixing; a: numbers = simulation / closed form; {chains} chains per cell")
    return fig, axes


def real_synthetic(config) -> tuple[int, int]:
    """(R, S): real and synthetic points per generation of a fresh-split configuration."""
    m = int(config.samples)
    r = int(round(config.real_fraction * m))
    return r, m - r


def grid_cells(reals, synths) -> list[tuple[int, float]]:
    """(samples, real_fraction) of each (R, S) cell of the grid."""
    return [(r + s, r / (r + s)) for s in synths for r in reals]


def _burn(alpha: float) -> int:
    """Burn-in of the fresh chain: 10 / (1 - (1 - alpha)^2) generations (docs/derivations.md, 'Fresh real data')."""
    return int(np.ceil(10.0 / (1.0 - (1.0 - alpha) ** 2)))


def fresh_data_fraction(sweep, fractions, samples: int, sigma0: float = 1.0):
    """Stationary mean error and fitted variance vs the fresh real fraction alpha, split and mixture.

    Args:
        sweep: fresh Gaussian (unbiased) cells over ``real_fraction`` x ``mixing`` at ``samples``.
        fractions: the alpha values.
        samples: M.
        sigma0: the truth's sd.

    Returns:
        ``(fig, axes)``: a) E‖mu - mu_0‖² at stationarity, b) E sigma² at stationarity; markers
        simulation (95 % CI), lines the registry's fixed points; the dotted line marks the 10 %
        real data of the Curse of Recursion's language-model runs.
    """
    fig, axes = new_figure(1, 2, aspect=0.85)
    xs = np.geomspace(min(fractions) * 0.8, 1.0, 100)
    line = {"split": "-", "mixture": (0, (4, 2))}
    dodge = {"split": 1 / 1.04, "mixture": 1.04}  # the two nearly coincide: offset their markers
    for k, mixing in enumerate(("split", "mixture")):
        c = cue(k)
        for ax, metric, q in ((axes[0], "mu_err2", "e_star"), (axes[1], "sigma2", "v_star")):
            th = curve(f"fresh.{mixing}.{q}", xs, over="alpha", M=samples, sigma0=sigma0)
            plot_theory(ax, xs, th, color=c["color"], linestyle=line[mixing])
            ys, es = [], []
            for f in fractions:
                v = stationary(sweep.get(real_fraction=f, mixing=mixing), metric, _burn(f))
                ys.append(v.mean())
                es.append(1.96 * v.std(ddof=1) / np.sqrt(v.size))
            xd = np.asarray(fractions) * dodge[mixing]
            ax.errorbar(xd, ys, yerr=es, ls="none", marker=c["marker"], ms=3, mfc="white", color=c["color"], label=f"{mixing} (simulation)", zorder=5)  # fmt: skip
    for ax in axes:
        ax.set_xscale("log")
        ax.axvline(0.1, color="0.5", lw=0.6, ls=":")
        ax.text(0.105, 0.98, r"$\alpha=10\,\%$", transform=ax.get_xaxis_transform(), fontsize="x-small", color="0.4", va="top")  # fmt: skip
        ax.set_xlabel(r"fresh real fraction $\alpha$")
    axes[0].set_yscale("log")
    axes[0].set_ylabel(r"stationary $\mathbb{E}\|\hat\mu-\mu_0\|^2$")
    axes[1].set_ylabel(r"stationary $\mathbb{E}\,\hat\sigma^2$")
    axes[1].axhline(sigma0**2, color="0.5", lw=0.6)
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color=cue(0)["color"], ls=line["split"]), Line2D([], [], color=cue(1)["color"], ls=line["mixture"])]  # fmt: skip
    labels += ["split: closed form", "mixture: closed form"]
    axes[0].legend(handles, labels, fontsize="x-small", loc="lower left")
    letter(axes[0], "a")
    letter(axes[1], "b")
    chains = sweep.cells[0].config.chains
    _note(fig, f"$M={samples}$; time averages after burn-in; {chains} chains; bars: 95 % CI")
    return fig, axes


def collapse_probability(sweep, samples, eps: float, sigma0: float = 1.0):
    """P(sigma_n^2 < eps) over generations: simulation, exact law, CLT and the Chernoff bound.

    Args:
        sweep: Gaussian (unbiased, replace) cells over ``samples``.
        samples: one panel per M.
        eps: the collapse threshold.
        sigma0: the truth's sd.

    Returns:
        ``(fig, axes)``; colours mean the same method in every panel.

    """
    fig, axes = new_figure(1, len(samples), aspect=1.0, sharey=True)
    for ax, M in zip(axes, samples, strict=True):
        r = sweep.get(samples=M)
        g = np.asarray(r.generations)
        keep = g >= 1
        x = g[keep]
        s2 = r.values["sigma2"][keep]
        hits = (s2 < eps).sum(axis=1)
        plot_proportion(ax, x, hits, s2.shape[1], ls="none", marker="o", markersize=2.6, mfc="white", mew=0.7, label="simulation (Wilson 95 % band)", **_c(0))  # fmt: skip
        kw = dict(M=M, eps=eps, sigma0=sigma0)
        ex = curve("gaussian.replace.unbiased.prob_sigma2_below", x, **kw)
        clt = curve("gaussian.replace.unbiased.prob_sigma2_below_clt", x, **kw)
        ch = 1.0 - curve("gaussian.replace.unbiased.upper_tail_chernoff", x, **kw)
        ax.plot(x, ex, color=THEORY_COLOR, lw=0.9, ls="-", label="exact", zorder=4)
        ax.plot(x, clt, color=cue(1)["color"], lw=1.0, ls=(0, (5, 2)), label="CLT approximation", zorder=4)
        ax.plot(x, np.clip(ch, 0, 1), color=cue(2)["color"], lw=1.0, ls=":", label="Chernoff lower bound")
        ax.set_xscale("log")
        ax.set_title(f"$M={M}$")
        ax.set_xlabel(GENERATION)
    axes[0].set_ylabel(rf"$P(\hat\sigma_n^2<{eps:g}\,\sigma_0^2)$")
    axes[0].set_ylim(-0.02, 1.02)
    h, lab = axes[0].get_legend_handles_labels()
    legend_below(fig, h, lab, ncol=len(lab), note=f"unbiased estimator, replace; {r.config.chains} chains")
    return fig, axes


def _c(i: int) -> dict:
    c = cue(i)
    return {"color": c["color"]}
