"""Error decomposition: each of the three error sources switched off in turn.

Shumailov et al. (Nature 631, 2024, "What is model collapse?") name three sources of error in
recursive training: statistical (finite samples), functional (a model family that cannot
represent the truth) and numerical (finite-precision arithmetic). :func:`decompose` runs one
configuration with all three on, then with each one off:

* statistical off: ``samples = inf``, the population (moment-matched) fit, in exact float64;
  with no samples there is no arithmetic on data either, so this run also has no numerical error;
* functional off: the truth replaced by its moment-matched Gaussian, so the family is correct;
* numerical off: the same naive kernel in float64 (it draws the same standard normals, so the
  difference is the rounding alone, paired chain by chain);

and a baseline with all three off. The contribution of a source is the metric with everything
on minus the metric with that source off; the interaction is what the sum of contributions and
the baseline leave unexplained. All runs share the seed, so chain c of each run uses the same
stream positions and differences are paired: their standard errors are those of the per-chain
differences (valid whatever the correlation between runs).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from collapse_theory.config import ConfigError, SimConfig
from collapse_theory.results import SimulationResult, summary_warnings
from collapse_theory.summaries import summarize

__all__ = ["Decomposition", "SOURCES", "decompose", "variants"]

SOURCES = ("statistical", "functional", "numerical")


@dataclasses.dataclass(frozen=True)
class Decomposition:
    """Per-generation means and standard errors of every run and every source's contribution.

    Attributes:
        metric: the decomposed metric.
        generations: ``int[R]``.
        runs: run name -> (mean[R], se[R]); names ``all``, ``no_<source>``, ``none``.
        contributions: source (or ``interaction``) -> (mean[R], se[R]) of paired differences.
        configs: run name -> the configuration that produced it.
        warnings: chains whose value (or paired difference) is not finite, per run and source:
            the means and standard errors are over the finite chains.

    """

    metric: str
    generations: np.ndarray
    runs: dict[str, tuple[np.ndarray, np.ndarray]]
    contributions: dict[str, tuple[np.ndarray, np.ndarray]]
    configs: dict[str, SimConfig]
    warnings: list[str] = dataclasses.field(default_factory=list)

    def to_json(self) -> dict:
        """JSON-ready dict (non-finite numbers as None)."""

        def arr(a):
            return [float(x) if math.isfinite(float(x)) else None for x in a]

        return {
            "metric": self.metric,
            "generations": [int(g) for g in self.generations],
            "runs": {k: {"mean": arr(m), "se": arr(s)} for k, (m, s) in self.runs.items()},
            "contributions": {k: {"mean": arr(m), "se": arr(s)} for k, (m, s) in self.contributions.items()},
            "configs": {k: c.to_dict() for k, c in self.configs.items()},
            "warnings": list(self.warnings),
        }

    def table(self) -> str:
        """A plain-text table: one row per generation, mean ± se of each run and contribution."""
        cols = list(self.runs) + list(self.contributions)
        head = "gen".rjust(6) + "".join(f"{c:>22}" for c in cols)
        lines = [f"# decomposition of {self.metric} (contribution = all - <source off>)", head]
        for i, g in enumerate(self.generations):
            cells = []
            for c in cols:
                m, s = self.runs[c] if c in self.runs else self.contributions[c]
                cells.append(f"{m[i]:>11.4g} ±{s[i]:<8.2g}")
            lines.append(f"{int(g):>6}" + "".join(f"{x:>22}" for x in cells))
        return "\n".join(lines)

    def figure(self, path, style: str = "neurips"):
        """Save the figure of :func:`collapse_theory.plotting.figures.diagnostics.error_decomposition`.

        Writes ``path`` and its PDF / PNG sibling (same stem), in the venue ``style``; a) the five
        runs on a log axis with 95 % intervals in log space, b) each source's contribution with
        its paired 95 % interval; one colour per source in both panels. Returns ``path``.
        """
        from pathlib import Path

        import matplotlib.pyplot as plt

        from collapse_theory.plotting.figures.diagnostics import error_decomposition
        from collapse_theory.plotting.panels import tidy
        from collapse_theory.plotting.save import save_figure
        from collapse_theory.plotting.style import style as venue_style

        path = Path(path)
        with venue_style(style):
            fig, _ = error_decomposition(self)
            tidy(fig)
            suffix = path.suffix.lstrip(".") or "png"
            save_figure(fig, path.with_suffix(""), [suffix] + [f for f in ("pdf", "png") if f != suffix])
        plt.close(fig)
        return path


def variants(config: SimConfig) -> dict[str, SimConfig]:
    """The five configurations: ``all``, ``no_statistical``, ``no_functional``, ``no_numerical``, ``none``.

    Each source is switched off by the changes the family declares
    (:meth:`~collapse_theory.families.spec.FamilySpec.error_switches`); ``none`` applies them all.

    Raises:
        ConfigError: unless the family can switch its sources off and all three are on (the
            Gaussian: 1-D with a ``truth``, finite ``samples`` and ``kernel="naive-sample"``).

    """
    c = config.validated()
    switches = c.spec.error_switches(c.context())
    missing = [s for s in SOURCES if s not in switches]
    if missing:
        raise ConfigError(f"the {c.family} family cannot switch off the {missing[0]} error source")
    out = {"all": c}
    none: dict = {}
    for s in SOURCES:
        out[f"no_{s}"] = c.replace(**switches[s])
        none |= switches[s]
    out["none"] = c.replace(**none)
    return out


def _mean_se(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and SE over the finite chains (the counts of the others go to the warnings)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = summarize(v)
    return s.mean, s.se


def decompose(config: SimConfig, metric: str = "w2_sq", *, progress: bool | None = None) -> Decomposition:
    """Run :func:`variants` of ``config`` and decompose ``metric`` into source contributions.

    Args:
        config: the configuration with all three sources on (see :func:`variants`).
        metric: a 1-D Gaussian metric name (``w2_sq``, ``kl``, ``mu_err2``, ``sigma2``, ...).
        progress: as in :func:`collapse_theory.simulate`.

    Returns:
        A :class:`Decomposition`.

    """
    from collapse_theory.engine import simulate

    names = config.validated().spec.metric_names()
    if metric not in names:
        raise ConfigError(f"unknown metric {metric!r}; choose from {', '.join(names)}")
    configs = variants(config.replace(metrics=(metric,)))
    results: dict[str, SimulationResult] = {k: simulate(c, progress=progress) for k, c in configs.items()}
    values = {k: r.values[metric] for k, r in results.items()}
    with np.errstate(invalid="ignore", over="ignore"):
        diffs = {s: values["all"] - values[f"no_{s}"] for s in SOURCES}
        diffs["interaction"] = values["all"] - (values["none"] + sum(diffs[s] for s in SOURCES))
    runs = {k: _mean_se(v) for k, v in values.items()}
    contributions = {k: _mean_se(v) for k, v in diffs.items()}
    gens = results["all"].generations
    named = {f"{metric} (run {k})": v for k, v in values.items()} | {
        f"{metric} ({k} contribution)": v for k, v in diffs.items()
    }
    warnings = [w for w in summary_warnings(named, gens) if "not finite" in w]
    return Decomposition(metric, np.asarray(gens), runs, contributions, configs, warnings)
