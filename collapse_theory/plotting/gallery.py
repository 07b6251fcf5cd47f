"""The gallery: every seed result of the literature as a paper-ready figure, from cached sweeps.

``collapse-theory figures --out DIR [--style neurips] [--only NAME,...]`` (or :func:`build`)
writes ``DIR/NAME.pdf`` and ``DIR/NAME.png`` for each name of :data:`FIGURES`. Every
simulation goes through :func:`collapse_theory.sweeps.sweep` with one cache folder, so a second
build only redraws. The chain counts and horizons below are chosen so the whole gallery runs in
about 20 minutes on two CPU cores: bands rest on 400 to 4000 chains (the GMM chain, EM on 1000
points per fit for 2000 generations, on 64), and each figure states its count.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from collapse_theory.config import SimConfig
from collapse_theory.plotting.context import Context, Figure, default_cache, log_record

__all__ = ["FIGURES", "Figure", "Context", "build", "default_cache", "log_record"]


DOUBLE_COLUMN = {"icml": "icml-full", "nature": "nature-double"}
"""Every gallery figure has two or three panel columns: in two-column venues it is set across both
columns (``figure*``), in the full-width sibling of the bundle."""


# --- data and drawing of each figure -------------------------------------------------------

G1: dict[str, Any] = dict(
    family="gaussian", estimator="unbiased", generations=1000, chains=4000, seed=1, record=log_record(1000)
)
DRIFT_M = (100, 500, 1000, 10_000)


def _drift(ctx: Context):
    from collapse_theory.plotting.figures.curse import gaussian_drift

    s = ctx.sweep(G1, {"samples": list(DRIFT_M), "scenario": ["replace", "accumulate"]})
    return gaussian_drift(s, DRIFT_M)


GMM_TRUTH = ((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0))
GMM: dict[str, Any] = dict(
    family="gmm", truth="mixture:0.5,-3,1;0.5,3,1", samples=1000, generations=2000, chains=64, seed=2, em_tol=1e-3,
)  # fmt: skip
"""EM stops at a gain below 1e-3 nats per point, scikit-learn's GaussianMixture default (the paper's fits)."""
GMM_GENERATIONS = (0, 50, 100, 150, 200, 350, 2000)


def _gmm(ctx: Context):
    from collapse_theory.plotting.data import chain_params
    from collapse_theory.plotting.figures.curse import gmm_generations

    gens = sorted(set(GMM_GENERATIONS) | set(log_record(2000, 30)))

    def compute():
        p = chain_params(SimConfig(**GMM), gens, chains=GMM["chains"])
        out = {}
        for g, (w, m, ls, *_rest) in p.items():
            out[f"{g}/w"], out[f"{g}/m"], out[f"{g}/s"] = w, m, np.exp(ls)
        return out

    arr = ctx.arrays("gmm-params", {"config": GMM, "generations": gens}, compute)
    params = {g: (arr[f"{g}/w"], arr[f"{g}/m"], arr[f"{g}/s"]) for g in gens}
    return gmm_generations(params, GMM_TRUTH, GMM_GENERATIONS)


ZIPF_K = 20
ZIPF = tuple(float(x) for x in (1.0 / np.arange(1, ZIPF_K + 1)) / np.sum(1.0 / np.arange(1, ZIPF_K + 1)))
CAT: dict[str, Any] = dict(
    family="categorical", probs=ZIPF, generations=5000, chains=1000, seed=3, record=log_record(5000, 40)
)


def _tails(ctx: Context):
    from collapse_theory.plotting.figures.curse import tails

    g = ctx.sweep(G1, {"samples": [100, 1000], "scenario": ["replace"]})
    c = ctx.sweep(CAT, {"samples": [100, 1000]})
    return tails(g, c, ZIPF, (100, 1000), (100, 1000))


MV: dict[str, Any] = dict(
    family="gaussian", estimator="unbiased", generations=50, chains=400, seed=4, record=log_record(50, 20)
)
MV_M = (20, 50, 200)
"""accumulate-subsample keeps every point: its cost grows as M n^2, hence 50 iterations and M <= 200."""
MV_D = (1, 10)


def _cot_gauss(ctx: Context):
    from collapse_theory.plotting.figures.cot import WORKFLOWS, gaussian_workflows

    s = ctx.sweep(MV, {"dim": list(MV_D), "scenario": list(WORKFLOWS), "samples": list(MV_M)})
    return gaussian_workflows(s, MV_M, MV_D)


KDE_H = 0.3
KDE: dict[str, Any] = dict(family="kde", bandwidth=KDE_H, generations=50, chains=500, seed=5, record=log_record(50, 12))
"""The NLL is a 744-node panel quadrature (h = 0.3) over every pooled point: accumulate costs chains x nodes x n M per record."""
KDE_M = (10, 30, 100)


def _cot_kde(ctx: Context):
    from collapse_theory.plotting.figures.cot import WORKFLOWS, kde_workflows

    s = ctx.sweep(KDE, {"scenario": list(WORKFLOWS), "samples": list(KDE_M)})
    return kde_workflows(s, KDE_M, KDE_H)


REG_D = 10
REG: dict[str, Any] = dict(
    family="regression", dim=REG_D, generations=100, chains=2000, seed=6, record=log_record(100, 25)
)
REG_T = (20, 40, 100)


def _cot_reg(ctx: Context):
    from collapse_theory.plotting.figures.cot import regression_workflows
    from collapse_theory.sweeps import Sweep

    fixed = ctx.sweep(REG, {"scenario": ["replace", "accumulate"], "samples": list(REG_T)})
    fresh = ctx.sweep(
        REG | {"design": "fresh", "chains": 500}, {"scenario": ["accumulate-subsample"], "samples": list(REG_T)}
    )
    both = Sweep(fixed.cells + fresh.cells, fixed.axes, fixed.cache)
    return regression_workflows(both, REG_T, REG_D)


WF_M = (6, 12, 24, 48, 96, 192)
WF: dict[str, Any] = dict(
    family="categorical", probs=(1 / 3, 1 / 3, 1 / 3), chains=2000, seed=7, metrics=("support", "entropy")
)


def _discrete(ctx: Context):
    from collapse_theory.plotting.figures.cot import discrete_collapse

    horizon = [(m, 12 * m, tuple(range(12 * m + 1))) for m in WF_M]
    s = ctx.sweep(WF, {("samples", "generations", "record"): horizon})
    return discrete_collapse(s, WF_M, WF["probs"], entropy_samples=[6, 24, 96])


REALS = (4, 16, 64, 256)
SYNTHS = (0, 4, 16, 64, 256)
"""Powers of four: R / (R + S) takes 8 values over the 20 cells (the engine compiles once per fraction)."""
TOTALS = (16, 64, 256)
FRACTIONS = (1 / 16, 1 / 8, 1 / 4, 1 / 2, 1.0)
ALPHAS = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)
FRESH_M = 100
STATIONARY = 200
"""Generations averaged after the longest burn-in, 10 / (1 - (1 - alpha)^2) at the smallest alpha."""
FRESH_HORIZON = int(np.ceil(10.0 / (1.0 - (1.0 - 4 / 260) ** 2))) + STATIONARY
FRESH: dict[str, Any] = dict(
    family="gaussian",
    estimator="unbiased",
    scenario="fresh",
    mixing="split",
    chains=1000,
    seed=8,
    metrics=("mu_err2", "sigma2"),
    generations=FRESH_HORIZON,
    record=(0, *range(10, FRESH_HORIZON + 1, 2)),
)
"""One horizon for every cell (the horizon is part of the compiled program); each cell averages from its own burn-in."""


def _cardinality(ctx: Context):
    from collapse_theory.plotting.figures.fresh import cardinality_proportion, grid_cells

    axis = ("samples", "real_fraction")
    g = ctx.sweep(FRESH, {axis: grid_cells(REALS, SYNTHS)})
    t = ctx.sweep(FRESH, {axis: [(m, f) for m in TOTALS for f in FRACTIONS]})
    return cardinality_proportion(g, REALS, SYNTHS, t, TOTALS, FRACTIONS)


def _fresh_fraction(ctx: Context):
    from collapse_theory.plotting.figures.fresh import fresh_data_fraction

    s = ctx.sweep(FRESH, {"samples": [FRESH_M], "real_fraction": list(ALPHAS), "mixing": ["split", "mixture"]})
    return fresh_data_fraction(s, ALPHAS, FRESH_M)


COLLAPSE_M = (10, 30, 100)
EPS = 0.1


def _collapse_probability(ctx: Context):
    from collapse_theory.plotting.figures.fresh import collapse_probability

    s = ctx.sweep(G1, {"samples": list(COLLAPSE_M), "scenario": ["replace"]})
    return collapse_probability(s, COLLAPSE_M, EPS)


DECOMPOSE: dict[str, Any] = dict(
    family="gaussian", estimator="unbiased", truth="mixture:0.5,-2,1;0.5,2,1", samples=20, kernel="naive-sample",
    precision="bfloat16", generations=50, chains=2000, seed=9, record=log_record(50, 20),
)  # fmt: skip


def _decomposition(ctx: Context):
    from collapse_theory.decompose import decompose
    from collapse_theory.plotting.figures.diagnostics import error_decomposition

    js = ctx.json("decompose", DECOMPOSE, lambda: decompose(SimConfig(**DECOMPOSE), "w2_sq", progress=False).to_json())
    return error_decomposition(_decomp(js))


def _decomp(js: dict):
    """A :class:`~collapse_theory.decompose.Decomposition` from its JSON (``to_json``)."""
    from collapse_theory.decompose import Decomposition

    def arr(v):
        return np.asarray([np.nan if x is None else x for x in v], dtype=float)

    return Decomposition(
        metric=js["metric"],
        generations=np.asarray(js["generations"]),
        runs={k: (arr(v["mean"]), arr(v["se"])) for k, v in js["runs"].items()},
        contributions={k: (arr(v["mean"]), arr(v["se"])) for k, v in js["contributions"].items()},
        configs={k: SimConfig.from_dict(c) for k, c in js["configs"].items()},
    )


VERIFY = {"mode": "quick", "seed": 0}


def _verify(ctx: Context):
    from collapse_theory.plotting.figures.diagnostics import verify_summary

    def compute():
        from collapse_theory.verify import runner

        out = runner.run(list(runner.CHECKS), chains=runner.CHAINS[VERIFY["mode"]], seed=VERIFY["seed"])
        return runner.to_json(out)

    return verify_summary(ctx.json("verify", VERIFY, compute))


def _neural(name: str) -> Callable[[Context], tuple]:
    def draw(ctx: Context):
        from collapse_theory.plotting.figures import neural

        return getattr(neural, name)(ctx)

    return draw


FIGURES: dict[str, Figure] = {
    f.name: f
    for f in (
        Figure("curse-gaussian-drift", "Gaussian drift of the fitted mean and sd, replace vs accumulate", _drift),
        Figure("curse-gmm-generations", "GMM fitted by EM: densities over generations, modes merging", _gmm),
        Figure("curse-tails", "Tails disappear: Gaussian tail mass, Zipf support", _tails),
        Figure("cot-gaussian-workflows", "Multivariate Gaussian under the three workflows", _cot_gauss),
        Figure("cot-kde-workflows", "KDE under the three workflows", _cot_kde),
        Figure("cot-regression-workflows", "Linear regression under the three workflows, pi^2/6 bound", _cot_reg),
        Figure("cot-discrete-collapse", "Wright-Fisher: time to collapse vs M, entropy left", _discrete),
        Figure("cot-cardinality-proportion", "Real x synthetic counts; loss vs real fraction", _cardinality),
        Figure("fresh-data-fraction", "Stationary error vs the fresh real fraction", _fresh_fraction),
        Figure("collapse-probability", "P(sigma_n^2 < eps): exact, CLT, Chernoff, simulation", _collapse_probability),
        Figure("error-decomposition", "Statistical / functional / numerical contributions", _decomposition),
        Figure("verify-summary", "Every verify check's z against Holm; negative controls", _verify),
        Figure(
            "curse-vae-digits",
            "VAE on digits: decoded samples per generation (needs [neural])",
            _neural("draw_vae_digits"),
        ),
        Figure(
            "curse-vae-latents",
            "VAE on digits: latent densities under the generation-0 encoder",
            _neural("draw_vae_latents"),
        ),
        Figure(
            "curse-lm-perplexity",
            "Character n-gram LM: held-out perplexity, with and without 10 % real data",
            _neural("draw_lm_perplexity"),
        ),
        Figure(
            "curse-lm-histograms",
            "Character n-gram LM: perplexity of generated text under model 0",
            _neural("draw_lm_histograms"),
        ),
    )
}
"""The gallery's figures by file stem."""


def build(
    out: str | Path,
    *,
    style: str = "neurips",
    only: Sequence[str] | None = None,
    cache: str | Path | None = None,
    executor=None,
    formats: Sequence[str] = ("pdf", "png"),
    progress: bool | None = None,
    usetex: bool = False,
    dpi: int = 300,
) -> dict[str, dict]:
    """Regenerate gallery figures into ``out``.

    Args:
        out: output folder (created).
        style: venue bundle (:data:`collapse_theory.plotting.style.VENUES`); figures with three
            panel columns use the full-width bundle of a two-column venue (:data:`DOUBLE_COLUMN`).
            (Every gallery figure has two or three panel columns.)
        only: figure names (default: all of :data:`FIGURES`).
        cache: sweep cache folder (default :func:`default_cache`).
        executor: ``concurrent.futures`` executor for the sweep cells.
        formats: file formats.
        progress: per-cell progress lines on stderr (None: on a terminal).
        usetex: typeset with LaTeX when it is installed.
        dpi: PNG resolution.

    Returns:
        name -> ``{"files": [...], "seconds": s}``.

    Raises:
        KeyError: an unknown figure name (the message lists the names).

    """
    import matplotlib.pyplot as plt

    from collapse_theory.plotting.panels import tidy
    from collapse_theory.plotting.save import save_figure
    from collapse_theory.plotting.style import style as venue_style
    from collapse_theory.plotting.theory import theory_cache

    names = list(FIGURES) if not only else list(only)
    unknown = [n for n in names if n not in FIGURES]
    if unknown:
        raise KeyError(f"unknown figure {unknown[0]!r}; choose from {', '.join(FIGURES)}")
    ctx = Context(Path(cache) if cache is not None else default_cache(), executor, progress)
    report: dict[str, dict] = {}
    for name in names:
        t0 = time.perf_counter()
        memo = None if ctx.cache is None else ctx.cache / "theory.json"
        venue = DOUBLE_COLUMN.get(style, style)
        with venue_style(venue, usetex=usetex), theory_cache(memo):
            fig, _ = FIGURES[name].draw(ctx)
            tidy(fig)
            files = save_figure(fig, Path(out) / name, formats, dpi=dpi)
        plt.close(fig)
        report[name] = {"files": [str(f) for f in files], "seconds": time.perf_counter() - t0}
        if progress or (progress is None and sys.stderr.isatty()):
            print(f"{name}: {report[name]['seconds']:.1f} s", file=sys.stderr)
    return report
