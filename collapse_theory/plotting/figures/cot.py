"""Figures of *Collapse or Thrive?* (Kazdan et al., 2024): the three data workflows side by side.

Columns are the workflows replace | accumulate-subsample | accumulate, colour is the sample size
per iteration, every panel of a figure shares the colour meaning. Each function takes a
:class:`~collapse_theory.sweeps.Sweep` and returns ``(fig, axes)``.
"""

from __future__ import annotations

import numpy as np
from matplotlib.lines import Line2D

from collapse_theory.plotting.curves import plot_mean, plot_quantiles, plot_theory
from collapse_theory.plotting.labels import GENERATION
from collapse_theory.plotting.panels import legend_below, letter, loglog, note_below, summary_of
from collapse_theory.plotting.style import THEORY_COLOR, cue, new_figure
from collapse_theory.plotting.theory import curve

__all__ = ["WORKFLOWS", "gaussian_workflows", "kde_workflows", "regression_workflows", "discrete_collapse"]

WORKFLOWS = ("replace", "accumulate-subsample", "accumulate")
BAND = (0.05, 0.95)
_THEORY = Line2D([], [], color=THEORY_COLOR, linestyle=(0, (4, 2)), lw=0.9)


def _x(r):
    g = np.asarray(r.generations)
    keep = g >= 1
    return keep, g[keep].astype(float)


def _note(fig, text: str) -> None:
    note_below(fig, text)


def _cov_metrics(r) -> tuple[np.ndarray, np.ndarray]:
    """(log det, trace) of the fitted covariance; in 1-D these are log sigma^2 and sigma^2."""
    v = r.values
    if "log_det" in v:
        return v["log_det"], v["trace"]
    return v["log_sigma2"], v["sigma2"]


def gaussian_workflows(sweep, samples, dims):
    """‖mu_n - mu_0‖², det Sigma_n / det Sigma_0 and tr Sigma_n / tr Sigma_0 per workflow.

    Args:
        sweep: sweep of the d-dimensional Gaussian (unbiased, truth N(0, I)) over ``samples`` x
            ``dim`` x ``scenario``.
        samples: the sample sizes M (colours).
        dims: the dimensions d (line style and marker within a colour: solid circles the
            first, dashed squares the second, ...).

    Returns:
        ``(fig, axes)``: rows = the three metrics, columns = :data:`WORKFLOWS`. Row a: MC means
        with 95 % intervals (the closed form is a mean); rows b, c: chain medians and 5-95 % of
        chains (det and trace are heavy-tailed); bands for the first dimension only, to keep
        panels readable. Black dashed (replace): E‖mu_n - mu_0‖², exp(E log det / d) (the
        median's large-n limit) and E tr = tr_0, all from the registry.
    """
    fig, axes = new_figure(3, len(WORKFLOWS), aspect=0.62, sharex=True, sharey="row")
    grid = axes.reshape(3, len(WORKFLOWS))
    styles = ("-", "--", ":")
    marks = ("o", "s", "^")
    for j, sc in enumerate(WORKFLOWS):
        for ax in grid[:, j]:
            loglog(ax)  # before drawing: the mean's interval is computed in log space on log axes
        for i, M in enumerate(samples):
            color = cue(i)["color"]
            for k, d in enumerate(dims):
                r = sweep.get(samples=M, dim=d, scenario=sc)
                keep, x = _x(r)
                ln = dict(color=color, linestyle=styles[k % 3], marker=marks[k % 3], markersize=2.2, lw=0.9)
                alpha = 0.14 if k == 0 else 0.0
                plot_mean(grid[0, j], x, summary_of(r.values["mu_err2"][keep] / d), alpha=1.5 * alpha, **ln)
                log_det, trace = _cov_metrics(r)
                plot_quantiles(grid[1, j], x, summary_of(np.exp(log_det[keep] / d)), band=BAND, alpha=alpha, **ln)
                plot_quantiles(grid[2, j], x, summary_of(trace[keep] / d), band=BAND, alpha=alpha, **ln)
                if sc == "replace":
                    ns = x.astype(int)
                    mse = curve("multivariate.replace.mean_sq_mean_error", ns, M=M, tr0=float(d))
                    ld = curve("multivariate.replace.mean_log_det", ns, M=M, d=d, logdet0=0.0)
                    plot_theory(grid[0, j], x, mse / d)
                    plot_theory(grid[1, j], x, np.exp(ld / d))
        if sc == "replace":
            tr = curve("multivariate.replace.mean_trace", [1.0], over="tr0")[0]
            grid[2, j].axhline(tr, color=THEORY_COLOR, ls=(0, (4, 2)), lw=0.9, zorder=4)
        grid[0, j].set_title(sc)
        grid[2, j].set_xlabel(GENERATION)
    grid[0, 0].set_ylabel(r"$\|\hat\mu_n-\mu_0\|^2/d$")
    grid[1, 0].set_ylabel(r"$(\det\hat\Sigma_n/\det\Sigma_0)^{1/d}$")
    grid[2, 0].set_ylabel(r"$\mathrm{tr}\,\hat\Sigma_n/\mathrm{tr}\,\Sigma_0$")
    for i, s in enumerate("abc"):
        letter(grid[i, 0], s)
    handles = [Line2D([], [], color=cue(i)["color"], lw=2) for i in range(len(samples))]
    labels = [f"$M={M}$" for M in samples]
    handles += [
        Line2D([], [], color="0.3", linestyle=styles[k % 3], marker=marks[k % 3], ms=2.5) for k in range(len(dims))
    ]
    labels += [f"$d={d}$" for d in dims]
    handles.append(_THEORY)
    labels.append("closed form")
    legend_below(
        fig,
        handles,
        labels,
        ncol=len(labels),
        note="a: means with 95 % CI (hollow: SE untrustworthy); b, c: chain medians, 5–95 % of chains; bands for $d=1$",
    )
    return fig, axes


def kde_workflows(sweep, samples, bandwidth: float, v0: float = 1.0):
    """KDE: the excess NLL on real data (= KL(p_0 || p_n)) and the spread of the points over iterations.

    Args:
        sweep: sweep of the kde family (fixed ``bandwidth``, truth N(0, 1)) over ``samples`` x ``scenario``.
        samples: the sample sizes (colours).
        bandwidth: the kernel bandwidth h.
        v0: the truth's variance.

    Returns:
        ``(fig, axes)``: rows excess NLL (the ``nll`` metric minus the truth's entropy, chain
        medians and 5-95 % bands) and mean spread (95 % CI; its closed form is a mean),
        columns :data:`WORKFLOWS`.

    """
    fig, axes = new_figure(2, len(WORKFLOWS), aspect=0.7, sharex=True, sharey="row")
    grid = axes.reshape(2, len(WORKFLOWS))
    h0 = 0.5 * np.log(2 * np.pi * np.e * v0)  # entropy of the truth N(0, v0)
    for j, sc in enumerate(WORKFLOWS):
        for ax in grid[:, j]:
            loglog(ax)
        for i, M in enumerate(samples):
            r = sweep.get(samples=M, scenario=sc)
            keep, x = _x(r)
            c = cue(i)
            excess = r.values["nll"][keep] - h0  # = KL(p_0 || p_hat_n) >= 0
            plot_quantiles(grid[0, j], x, summary_of(np.maximum(excess, 1e-12)), band=BAND, **c)
            plot_mean(grid[1, j], x, summary_of(r.values["spread"][keep]), **c)
            if sc == "replace":
                m = curve("kde.replace.mean_spread", x.astype(int), over="t", M=M, h=bandwidth, v0=v0)
                plot_theory(grid[1, j], x, m)
        grid[0, j].set_title(sc)
        grid[1, j].set_xlabel(GENERATION)
    grid[0, 0].set_ylabel(r"$\mathrm{KL}(p_0\,\|\,\hat p_n)$")
    grid[1, 0].set_ylabel(r"spread $\mathbb{E}\,\hat v_n$")
    letter(grid[0, 0], "a")
    letter(grid[1, 0], "b")
    handles = [Line2D([], [], **cue(i)) for i in range(len(samples))] + [_THEORY]
    labels = [f"$M={M}$" for M in samples] + ["closed form (mean spread)"]
    legend_below(
        fig,
        handles,
        labels,
        ncol=len(labels),
        note=f"bandwidth $h={bandwidth:g}$; a: excess NLL on real data = KL, chain medians and 5–95 % bands; "
        "b: point variance, means with 95 % CI",
    )
    return fig, axes


def regression_workflows(sweep, samples, dim: int, noise_sd: float = 1.0):
    """OLS retrained on its own labels: test error over iterations, with the pi^2/6 accumulate bound.

    Args:
        sweep: sweep of the regression family over ``samples`` (design size T) x ``scenario``.
        samples: the design sizes T (colours).
        dim: the dimension d.
        noise_sd: the label noise sigma.

    Returns:
        ``(fig, axes)``: one panel per workflow. Lines: MC means with 95 % intervals (the
        closed forms are means; the test error is a quadratic form of Gaussians, so the standard
        error is trustworthy); black dashed: E test error (registry); dotted: Gerstgrasser et
        al.'s accumulate bound (pi^2/6) sigma^2 d / (T - d - 1).
    """
    fig, axes = new_figure(1, len(WORKFLOWS), aspect=1.0, sharey=True)
    for j, sc in enumerate(WORKFLOWS):
        ax = axes[j]
        loglog(ax)
        for i, T in enumerate(samples):
            r = sweep.get(samples=T, scenario=sc)
            keep, x = _x(r)
            c = cue(i)
            plot_mean(ax, x, summary_of(r.values["test_error"][keep]), **c)
            kw = dict(sigma=noise_sd, d=dim, T=T)
            if sc in ("replace", "accumulate"):
                plot_theory(ax, x, curve(f"regression.{sc}.test_error", x.astype(int), **kw))
            if sc == "accumulate":
                b = curve("regression.accumulate.bound", [T], over="T", sigma=noise_sd, d=dim)[0]
                ax.axhline(b, color=c["color"], lw=0.8, ls=":")
        ax.set_title(sc + (" (fresh design)" if sc == "accumulate-subsample" else ""))
        ax.set_xlabel(GENERATION)
    axes[0].set_ylabel(r"test error $\|\hat w_n-w^\ast\|^2$")
    letter(axes[0], "a")
    handles = [Line2D([], [], **cue(i)) for i in range(len(samples))]
    labels = [f"$T={T}$" for T in samples]
    handles += [_THEORY, Line2D([], [], color="0.3", ls=":")]
    labels += ["closed form", r"bound $\frac{\pi^2}{6}\,\frac{\sigma^2 d}{T-d-1}$"]
    legend_below(
        fig, handles, labels, ncol=len(labels), note=f"$d={dim}$, $\\sigma={noise_sd:g}$; MC means with 95 % intervals"
    )
    return fig, axes


def absorption_times(support: np.ndarray) -> tuple[np.ndarray, int]:
    """Per chain, the first recorded generation with one state left (support recorded at n = 0, 1, 2, ...).

    Returns:
        (times, censored): times are the recorded horizon where a chain never collapsed; the
        count of such chains.
    """
    alive = support > 1.5
    t = alive.sum(axis=0).astype(float)  # generations 0..T-1 with >= 2 states: T = first with one
    censored = int(alive[-1].sum())
    return t, censored


def discrete_collapse(sweep, samples, probs, entropy_samples=None):
    """Wright-Fisher: expected iterations to total collapse vs M, and the fraction of entropy left.

    Args:
        sweep: sweep of the categorical (``probs``, replace) over ``samples``, recorded at every
            generation with metrics ``support`` and ``entropy``.
        samples: the sample sizes.
        probs: the truth.
        entropy_samples: the M drawn in panel b (default: every other one of ``samples``).

    Returns:
        ``(fig, axes)``.

    """
    fig, axes = new_figure(1, 2, aspect=0.85)
    a, b = axes
    means, ses, cens = [], [], 0
    for M in samples:
        r = sweep.get(samples=M)
        t, c = absorption_times(r.values["support"])
        cens += c
        means.append(t.mean())
        ses.append(t.std(ddof=1) / np.sqrt(t.size))
    ms = np.asarray(samples, float)
    a.errorbar(
        ms,
        means,
        yerr=1.96 * np.asarray(ses),
        ls="none",
        marker="o",
        ms=3,
        color=cue(0)["color"],
        label="simulation (95 % CI)",
        zorder=5,
    )
    dense = np.unique(np.geomspace(ms.min() * 0.7, ms.max() * 1.4, 40).round())
    lit = curve("wf.absorption_time_littler", dense.astype(int), over="M", p=list(probs))
    a.plot(dense, lit, color=cue(1)["color"], ls="--", lw=0.9, label="diffusion (Littler 1975)")
    k = len(probs)
    if k == 3:
        exact_m = [m for m in (3, 6, 12, 24, 48, 84) if m <= 87]
        ex = [curve("wf.k3.absorption_time_exact", [m], over="M", **_counts(probs, m))[0] for m in exact_m]
        a.plot(exact_m, ex, color=THEORY_COLOR, ls=(0, (4, 2)), lw=0.9, marker="x", ms=3, label="exact chain")
    loglog(a)
    a.set_xlabel("samples per iteration $M$")
    a.set_ylabel(r"$\mathbb{E}[T]$, iterations to one state")
    a.legend(loc="upper left", fontsize="x-small")
    letter(a, "a")
    em = entropy_samples or list(samples)[::2]
    for i, M in enumerate(em):
        r = sweep.get(samples=M)
        g = np.asarray(r.generations)
        keep = g >= 1
        h = r.values["entropy"]
        frac = h[keep] / h[0].mean()
        plot_mean(b, g[keep].astype(float), summary_of(frac), log=False, label=f"$M={M}$", **cue(i + 2))
    b.set_xscale("log")
    b.set_ylim(0, 1.02)
    b.set_xlabel(GENERATION)
    b.set_ylabel(r"$\mathbb{E}[\mathcal{H}(\hat p_n)]/\mathcal{H}(p_0)$")
    b.legend(loc="lower left", fontsize="x-small")
    letter(b, "b")
    chains = sweep.cells[0].config.chains
    left = "every chain reached one state" if cens == 0 else f"{cens} chains had not (counted at the horizon)"
    _note(fig, f"$K={k}$ states, uniform truth; {chains} chains per $M$, run for $12M$ generations: {left}")
    return fig, axes


def _counts(probs, m: int) -> dict:
    x = np.round(np.asarray(probs) * m).astype(int)
    return {"x1": int(x[0]), "x2": int(x[1]), "x3": int(m - x[0] - x[1])}
