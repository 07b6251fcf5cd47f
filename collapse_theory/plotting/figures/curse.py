"""Figures of the Curse of Recursion (Shumailov et al., Nature 631, 2024): drift, the GMM chain, tails.

Each function takes simulation results (a :class:`~collapse_theory.sweeps.Sweep` or results)
and returns ``(fig, axes)``; call it inside :func:`collapse_theory.plotting.style`.
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.lines import Line2D
from scipy import stats

from collapse_theory.plotting.curves import log_interval, markevery, plot_quantiles, plot_theory
from collapse_theory.plotting.labels import GENERATION
from collapse_theory.plotting.panels import legend_below, letter, loglog, summary_of
from collapse_theory.plotting.style import THEORY_COLOR, cue, new_figure
from collapse_theory.plotting.theory import curve

__all__ = ["gaussian_drift", "gmm_generations", "separation", "tails"]

BAND = (0.05, 0.95)
ACC_EXACT_UPTO = 200
"""Generations up to which the accumulate closed form is evaluated term by term; its limit after."""
BAND_TEXT = "bands: 5–95 % of chains"


def _rms(ax, x, sq, c):
    """Sqrt of the mean of squares, with sqrt of its log-space 95 % interval; hollow where the SE is shaky."""
    s = summary_of(sq)
    lo, hi = log_interval(s.mean, s.se)
    y = np.sqrt(s.mean)
    every = np.zeros(x.size, bool)
    every[markevery(x)] = True
    good = np.asarray(s.se_trustworthy, bool)
    ax.plot(x, y, color=c["color"], linestyle=c["linestyle"], lw=1.0)
    ax.vlines(x[every], np.sqrt(lo)[every], np.sqrt(hi)[every], color=c["color"], lw=0.6)
    ax.plot(x[good & every], y[good & every], ls="none", marker=c["marker"], ms=2.8, color=c["color"])
    shaky = ~good & every
    ax.plot(x[shaky], y[shaky], ls="none", marker=c["marker"], ms=2.8, mfc="white", mec=c["color"], mew=0.7)


def gaussian_drift(sweep, samples=(100, 500, 1000, 10_000), scenarios=("replace", "accumulate"), sigma0: float = 1.0):
    """|mu_n - mu_0| and |sigma_n - sigma_0| over generations, by sample size M and workflow.

    Args:
        sweep: a sweep of the 1-D Gaussian (unbiased estimator) over ``samples`` x ``scenario``.
        samples: the sample sizes (colours).
        scenarios: the columns.
        sigma0: the true standard deviation.

    Returns:
        ``(fig, axes)`` with axes ``[2, len(scenarios)]`` flattened row by row.

    Lines: the root mean square over chains (markers; vertical bars: its 95 % interval, hollow
    where the standard error is not trustworthy); bands: 5-95 % of the chains; black dashed:
    the closed form of the root mean square (registry).
    """
    fig, axes = new_figure(2, len(scenarios), aspect=0.72, sharex=True, sharey="row")
    grid = axes.reshape(2, len(scenarios))
    for j, sc in enumerate(scenarios):
        top, bot = grid[0, j], grid[1, j]
        for ax in (top, bot):
            loglog(ax)
        for i, M in enumerate(samples):
            r = sweep.get(samples=M, scenario=sc)
            g = np.asarray(r.generations)
            keep = g >= 1
            x = g[keep].astype(float)
            c = cue(i)
            mu_err2 = r.values["mu_err2"][keep]
            dsig = r.values["sigma"][keep] - sigma0
            plot_quantiles(
                top,
                x,
                summary_of(np.sqrt(mu_err2)),
                band=BAND,
                color=c["color"],
                linestyle="none",
                marker="none",
                alpha=0.13,
            )
            _rms(top, x, mu_err2, c)
            plot_quantiles(
                bot,
                x,
                summary_of(np.abs(dsig)),
                band=BAND,
                color=c["color"],
                linestyle="none",
                marker="none",
                alpha=0.13,
            )
            _rms(bot, x, dsig**2, c)
            ns = x.astype(int)
            prefix = "gaussian.replace.unbiased" if sc == "replace" else "accumulate.unbiased"
            if sc == "replace":
                mse = curve(f"{prefix}.mean_sq_mean_error", ns, M=M, sigma0=sigma0)
                plot_theory(top, x, np.sqrt(mse))
            else:  # the exact sum costs O(n^2) terms: exact up to n = 200, then its registered limit
                early = ns <= ACC_EXACT_UPTO
                mse = curve(f"{prefix}.mean_sq_mean_error", ns[early], M=M, sigma0=sigma0)
                plot_theory(top, x[early], np.sqrt(mse))
                lim = curve(f"{prefix}.limit_mean_sq_mean_error", [M], over="M", sigma0=sigma0)[0]
                top.plot([ACC_EXACT_UPTO, x.max()], [np.sqrt(lim)] * 2, color=THEORY_COLOR, ls=":", lw=0.9)
            if sc == "replace":
                e2 = curve(f"{prefix}.mean_sigma2", ns, M=M, sigma0=sigma0)
                e1 = curve(f"{prefix}.mean_sigma", ns, M=M, sigma0=sigma0)
                plot_theory(bot, x, np.sqrt(np.maximum(e2 - 2 * sigma0 * e1 + sigma0**2, 0)))
        top.set_title({"replace": "replace", "accumulate": "accumulate"}.get(sc, sc))
        bot.set_xlabel(GENERATION)
    grid[0, 0].set_ylabel(r"$|\hat\mu_n-\mu_0|$")
    grid[1, 0].set_ylabel(r"$|\hat\sigma_n-\sigma_0|$")
    letter(grid[0, 0], "a")
    letter(grid[1, 0], "b")
    handles = [Line2D([], [], **cue(i), lw=1.0, ms=3) for i in range(len(samples))]
    labels = [rf"$M={_tex_int(M)}$" for M in samples]
    handles += [Line2D([], [], color=THEORY_COLOR, linestyle=(0, (4, 2)), lw=0.9), Line2D([], [], color=THEORY_COLOR, ls=":", lw=0.9)]  # fmt: skip
    labels += ["closed form (RMS)", r"its limit $n\to\infty$"]
    note = (
        "lines: root mean square over chains (bars: 95 % CI; hollow: SE untrustworthy, heavy tails); "
        + BAND_TEXT
        + "\n"
    )
    legend_below(
        fig,
        handles,
        labels,
        ncol=len(labels),
        note=note + r"dashed: closed forms of the RMS (none is registered for $\hat\sigma_n$ under accumulate)",
    )
    return fig, axes


def _tex_int(m: int) -> str:
    e = int(round(math.log10(m))) if m > 0 else 0
    return f"10^{{{e}}}" if m >= 10_000 and 10**e == m else f"{m}"


def separation(w, m, s) -> np.ndarray:
    """Per chain, min over adjacent components (by mean) of |m_k+1 - m_k| / sqrt(s_k^2 + s_k+1^2) (the gmm metric)."""
    order = np.argsort(m, axis=1)
    m, s = np.take_along_axis(m, order, 1), np.take_along_axis(s, order, 1)
    return np.min(np.diff(m, axis=1) / np.sqrt(s[:, 1:] ** 2 + s[:, :-1] ** 2), axis=1)


def gmm_generations(params: dict, truth: tuple, generations=(0, 50, 100, 150, 200, 350, 2000)):
    """The GMM-by-EM chain: fitted densities at chosen generations, and mode separation over n.

    Args:
        params: generation -> (weights, means, sds) arrays ``[chains, K]`` of the recorded chains
            (:func:`collapse_theory.plotting.data.chain_params`), at every generation drawn in b.
        truth: (weights, means, sds) of the true mixture.
        generations: the generations whose fitted densities (chain 1) are drawn in a.

    Returns:
        ``(fig, axes)``: a) densities of one chain (log scale: the tails vanish, the modes
        merge into a spike), b) the separation of the two fitted components of each chain and
        their median (EM is slow: a handful of chains, drawn individually as in the paper).

    """
    fig, axes = new_figure(1, 2, aspect=0.8)
    a, b = axes
    x = np.linspace(-8, 8, 801)
    w0, m0, s0 = (np.asarray(t, float) for t in truth)
    floor = 1e-4  # the log axis starts here; the truth is shaded down to it
    a.fill_between(x, floor, np.maximum(_mix(x, w0, m0, s0), floor), color="0.85", lw=0, label="truth")
    gens = [g for g in generations if g in params]
    cmap = _sequential(len(gens))
    top = 1e3  # headroom for the legend; a collapsed fit's spike is clipped and its peak printed
    for k, g in enumerate(gens):
        w, m, s = (np.asarray(v, float)[0] for v in params[g])
        dens = _mix(x, w, m, s)
        a.plot(x, dens, color=cmap[k], lw=0.9, label=f"$n={g}$")
        peak = _mix(m, w, m, s).max()
        if peak > top:
            a.annotate(f"peak $10^{{{np.log10(peak):.0f}}}$", (m[np.argmax(w)], top), xytext=(4, -8), textcoords="offset points", fontsize="x-small", color=cmap[k])  # fmt: skip
    a.set_yscale("log")
    a.set_ylim(floor, top)
    a.set_xlabel("$x$")
    a.set_ylabel(r"fitted density $\hat p_n(x)$ (chain 1)")
    a.set_xlim(-7, 7)
    a.legend(loc="upper left", ncol=2, handlelength=1.4, fontsize="x-small")
    letter(a, "a")
    xs = np.asarray(sorted(g for g in params if g >= 1), dtype=float)
    sep = np.stack([separation(*(np.asarray(v, float) for v in params[int(g)])) for g in xs])
    c = cue(0)
    plot_quantiles(b, xs, summary_of(sep), band=BAND, **c)
    for j in range(min(4, sep.shape[1])):
        b.plot(xs, sep[:, j], color=c["color"], lw=0.4, alpha=0.6)
    sep0 = float(np.abs(np.diff(m0))[0] / math.sqrt(np.sum(s0**2)))
    b.axhline(sep0, color=THEORY_COLOR, ls=(0, (4, 2)), lw=0.9)
    loglog(b)
    b.set_xlabel(GENERATION)
    b.set_ylabel(r"separation $|\hat m_2-\hat m_1|/\sqrt{\hat s_1^2+\hat s_2^2}$")
    b.legend(
        [Line2D([], [], **c), Line2D([], [], color=c["color"], lw=0.4), Line2D([], [], color=THEORY_COLOR, ls=(0, (4, 2)))],
        [f"median, 5–95 % of {sep.shape[1]} chains", "chains 1–4", "truth"],
        loc="upper left", fontsize="x-small",
    )  # fmt: skip
    letter(b, "b")
    return fig, axes


def _mix(x, w, m, s):
    return np.sum(w[None, :] * stats.norm.pdf(x[:, None], m[None, :], s[None, :]), axis=1)


def _sequential(n: int) -> list:
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    return [cmap(0.9 * k / max(n - 1, 1)) for k in range(n)]


def tails(gauss, categorical, probs, samples_g=(100, 1000), samples_c=(100, 1000), sigma0: float = 1.0):
    """Tails disappear: the fitted Gaussian tail mass and the surviving support of a Zipf categorical.

    Args:
        gauss: sweep of the 1-D Gaussian (unbiased, replace) over ``samples``.
        categorical: sweep of the categorical (Zipf ``probs``, replace) over ``samples``.
        probs: the categorical truth.
        samples_g: the Gaussian sample sizes drawn (colours; the same M has the same colour).
        samples_c: the categorical sample sizes drawn.
        sigma0: the true standard deviation.

    Returns:
        ``(fig, axes)``.

    """
    fig, axes = new_figure(1, 2, aspect=0.8)
    a, b = axes
    allm = sorted(set(samples_g) | set(samples_c))
    for M in samples_g:
        c = cue(allm.index(M))
        r = gauss.get(samples=M, scenario="replace")
        g = np.asarray(r.generations)
        keep = g >= 1
        x = g[keep].astype(float)
        plot_quantiles(a, x, summary_of(r.values["tail_mass"][keep]), band=BAND, label=f"$M={M}$", **c)
        # plug-in: the tail mass of N(mu_0, s^2) at the typical fitted variance, log s^2 = E log sigma_n^2
        elog = curve("gaussian.replace.unbiased.mean_log_sigma2", x.astype(int), M=M, sigma0=sigma0)
        plug = 2 * stats.norm.sf(3 * sigma0 / np.exp(0.5 * elog))
        plot_theory(a, x, np.where(plug > 1e-30, plug, np.nan))
    a.axhline(2 * stats.norm.sf(3), color="0.5", lw=0.6, ls=":")
    a.text(
        0.98,
        2 * stats.norm.sf(3) * 1.4,
        "truth",
        transform=a.get_yaxis_transform(),
        ha="right",
        fontsize="x-small",
        color="0.4",
    )
    loglog(a)
    a.set_ylim(1e-12, 1.0)
    a.set_xlabel(GENERATION)
    a.set_ylabel(r"tail mass $\hat P_n(|X-\mu_0|>3\sigma_0)$", fontsize="small")
    letter(a, "a")
    k = len(probs)
    for M in samples_c:
        c = cue(allm.index(M))
        r = categorical.get(samples=M)
        g = np.asarray(r.generations)
        keep = g >= 1
        x = g[keep].astype(float)
        plot_quantiles(b, x, summary_of(r.values["support"][keep]), band=BAND, label=f"$M={M}$", **c)
        one = curve("wf.one_step.mean_support", [M], over="M", p=list(probs))[0]
        b.plot([1], [one], ls="none", marker="*", ms=6, color=THEORY_COLOR, zorder=5)
        t1 = curve("wf.absorption_time_littler", [M], over="M", p=list(probs))[0]
        b.axvline(t1, color=c["color"], lw=0.7, ls=":")
    b.set_xscale("log")
    b.set_ylim(0.8, k + 1)
    b.set_xlabel(GENERATION)
    b.set_ylabel(r"support $|\mathrm{supp}\,\hat p_n|$")
    letter(b, "b")
    handles = [Line2D([], [], **cue(allm.index(M))) for M in allm]
    labels = [f"$M={M}$" for M in allm]
    handles += [
        Line2D([], [], color=THEORY_COLOR, ls=(0, (4, 2))),
        Line2D([], [], color=THEORY_COLOR, ls="none", marker="*", ms=6),
        Line2D([], [], color="0.3", ls=":"),
    ]
    labels += [
        r"variance collapse alone: $2\Phi(-3\sigma_0/\tilde\sigma_n)$",
        r"exact $\mathbb{E}$ support at $n=1$",
        "mean time to one state (diffusion)",
    ]
    legend_below(
        fig,
        handles,
        labels,
        ncol=3,
        note=f"lines: chain medians; {BAND_TEXT}; a: "
        + r"$\log\tilde\sigma_n^2=\mathbb{E}\log\hat\sigma_n^2$ (registry), $\hat\mu_n=\mu_0$"
        + f"; b: Zipf truth, $K={k}$",
    )
    return fig, axes
