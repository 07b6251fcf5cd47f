"""Axes-level drawing: Monte Carlo summaries with stated bands that stay valid on log axes, and theory.

Bands:

* :func:`plot_quantiles`: a centre (median by default) and a band between two chain quantiles
  (5-95 % by default): the spread of the chains, positive whenever the metric is;
* :func:`plot_mean`: the mean with its 95 % confidence interval; on a log axis the interval is
  computed for log(mean) by the delta method, exp(log m +- z se / m), which stays positive
  (a normal interval m +- z se can cross 0 and breaks into strips on a log axis). Points whose
  standard error is not trustworthy (heavy tails, see :mod:`collapse_theory.summaries`) are drawn
  hollow;
* :func:`plot_proportion`: a proportion of chains with its Wilson 95 % interval.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from collapse_theory.plotting.style import THEORY_COLOR
from collapse_theory.summaries import QUANTILE_LEVELS, MetricSummary, summarize

__all__ = [
    "markevery",
    "log_interval",
    "wilson",
    "plot_quantiles",
    "plot_mean",
    "plot_proportion",
    "plot_theory",
    "plot_mc_band",
    "plot_closed_form",
]

_Z = float(stats.norm.isf(0.025))


def _summary(s) -> MetricSummary:
    return s if isinstance(s, MetricSummary) else summarize(np.asarray(s, dtype=float))


def _q(s: MetricSummary, p: float) -> np.ndarray:
    return s.quantiles[QUANTILE_LEVELS.index(p)]


def _style(kw: dict) -> tuple[dict, str]:
    color = kw.pop("color", None) or "C0"
    return kw, color


def plot_quantiles(
    ax, x, summary, *, band: tuple[float, float] = (0.05, 0.95), center: str = "median", label=None, alpha=0.18, **kw
):
    """A centre line and a band between two chain quantiles.

    Args:
        ax: matplotlib axes.
        x: x values (recorded generations).
        summary: a :class:`~collapse_theory.summaries.MetricSummary` or per-chain values
            ``[R, chains]``.
        band: the quantile levels of the band, from :data:`~collapse_theory.summaries.QUANTILE_LEVELS`.
        center: ``"median"`` or ``"mean"``.
        label: legend label of the line.
        alpha: band opacity.
        **kw: line properties (``color``, ``marker``, ``linestyle``, ...).

    """
    s = _summary(summary)
    kw, color = _style(dict(kw))
    x = np.asarray(x, dtype=float)
    y = s.median if center == "median" else s.mean
    ax.fill_between(x, _q(s, band[0]), _q(s, band[1]), color=color, alpha=alpha, lw=0)
    ax.plot(x, y, color=color, label=label, **({"markersize": 2.5, "markevery": markevery(x)} | kw))
    return ax


def markevery(x, target: int = 10) -> list[int]:
    """Indices of about ``target`` points to mark, evenly spaced in log x when x spans decades.

    Dense records make markers a smear, and every k-th point bunches up on a log axis.
    """
    x = np.asarray(x, dtype=float)
    n = x.size
    if n <= target:
        return list(range(n))
    if np.all(x > 0) and x.max() / x.min() > 30:
        grid = np.geomspace(x.min(), x.max(), target)
        idx = {int(np.argmin(np.abs(np.log(x) - np.log(g)))) for g in grid}
    else:
        idx = set(range(0, n, max(1, n // target)))
    return sorted(idx)


def log_interval(mean, se, z: float = _Z) -> tuple[np.ndarray, np.ndarray]:
    """The delta-method interval exp(log m -+ z se / m): positive, for a positive mean."""
    m, s = np.asarray(mean, dtype=float), np.asarray(se, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.exp(z * s / m)
        return np.where(m > 0, m / r, np.nan), np.where(m > 0, m * r, np.nan)


def plot_mean(ax, x, summary, *, log: bool | None = None, label=None, alpha=0.25, **kw):
    """The Monte Carlo mean with its 95 % confidence interval (in log space on log axes).

    Args:
        ax: matplotlib axes.
        x: x values.
        summary: a ``MetricSummary`` or per-chain values.
        log: compute the interval for log(mean) (default: whether the y axis is logarithmic).
        label: legend label.
        alpha: band opacity.
        **kw: line properties.

    """
    s = _summary(summary)
    kw, color = _style(dict(kw))
    x = np.asarray(x, dtype=float)
    log = ax.get_yscale() == "log" if log is None else log
    lo, hi = log_interval(s.mean, s.se) if log else (s.ci_low, s.ci_high)
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0)
    marker = kw.pop("marker", "o")
    ms = kw.pop("markersize", 2.5)
    ax.plot(x, s.mean, color=color, label=label, marker="none", **kw)
    good = np.asarray(s.se_trustworthy, bool)
    every = np.zeros(x.size, bool)
    every[markevery(x)] = True
    good, shaky = good & every, ~good & every
    ax.plot(x[good], s.mean[good], ls="none", marker=marker, ms=ms, color=color)
    if shaky.any():
        ax.plot(x[shaky], s.mean[shaky], ls="none", marker=marker, ms=ms, mfc="white", mec=color, mew=0.7)
    return ax


def wilson(k, n, z: float = _Z) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion k / n (valid at 0 and 1)."""
    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return np.clip(c - h, 0, 1), np.clip(c + h, 0, 1)


def plot_proportion(ax, x, hits, n, *, label=None, alpha=0.25, **kw):
    """A proportion of chains (``hits`` of ``n``) with its Wilson 95 % interval."""
    kw, color = _style(dict(kw))
    x = np.asarray(x, dtype=float)
    lo, hi = wilson(hits, n)
    ax.fill_between(x, lo, hi, color=color, alpha=alpha, lw=0)
    ax.plot(x, np.asarray(hits, dtype=float) / np.asarray(n, dtype=float), color=color, label=label, **kw)
    return ax


def plot_theory(ax, x, y, *, label=None, color: str = THEORY_COLOR, **kw):
    """A closed form as a dashed line (black unless a colour is given), drawn above the bands."""
    kw = {"linestyle": (0, (4, 2)), "linewidth": 0.9, "zorder": 4} | kw
    ax.plot(np.asarray(x, dtype=float), np.asarray(y, dtype=float), color=color, label=label, **kw)
    return ax


def plot_mc_band(ax, generations, mean, se, label: str = "simulation", color: str = "C0", log: bool | None = None):
    """Mean with its 95 % band; on a log axis the band is the log-space interval (0.1.0 API).

    Args:
        ax: a matplotlib ``Axes``.
        generations: x values.
        mean: MC means.
        se: their standard errors.
        label: legend label.
        color: line colour.
        log: log-space interval (default: whether the y axis is logarithmic).

    """
    g, m, s = (np.asarray(a, dtype=float) for a in (generations, mean, se))
    log = ax.get_yscale() == "log" if log is None else log
    lo, hi = log_interval(m, s) if log else (m - _Z * s, m + _Z * s)
    ax.plot(g, m, "o-", ms=2.5, color=color, label=label)
    ax.fill_between(g, lo, hi, color=color, alpha=0.25, lw=0)
    return ax


def plot_closed_form(ax, generations, values, label: str = "closed form", color: str = THEORY_COLOR):
    """A closed form evaluated at ``generations`` (0.1.0 API of :func:`plot_theory`)."""
    return plot_theory(ax, generations, values, label=label, color=color)


def finite_positive(a) -> bool:
    """Whether every value is finite and > 0 (a log axis can show it)."""
    a = np.asarray(a, dtype=float)
    return bool(a.size and np.all(np.isfinite(a)) and np.all(a > 0))


def decades(a) -> float:
    """How many decades the finite positive values of ``a`` span."""
    a = np.asarray(a, dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    return math.log10(a.max() / a.min()) if a.size else 0.0
