"""Figures of the Curse of Recursion's neural chains, at the scale of :mod:`collapse_theory.neural`.

The VAE on scikit-learn's digits (decoded samples per generation, latent densities under the
generation-0 encoder) and the character n-gram model on the standard library's docstrings
(held-out perplexity with and without 10 % real data, histograms of the generation-0
perplexity of generated text). Each ``draw_*`` function takes the gallery's
:class:`~collapse_theory.plotting.context.Context` (cached data) and returns ``(fig, axes)``;
the plain drawing functions take arrays.

References:
    Shumailov et al., "AI models collapse when trained on recursively generated data",
    Nature 631 (2024): Fig. 4 (perplexity histograms, 10 % of the data kept) and the VAE figures
    of its supplement.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from scipy import stats

from collapse_theory.config import SimConfig
from collapse_theory.plotting.curves import plot_quantiles
from collapse_theory.plotting.labels import GENERATION
from collapse_theory.plotting.panels import legend_below, letter, note_below
from collapse_theory.plotting.style import cue, new_figure

__all__ = [
    "vae_digits",
    "vae_latents",
    "lm_perplexity",
    "lm_histograms",
    "draw_vae_digits",
    "draw_vae_latents",
    "draw_lm_perplexity",
    "draw_lm_histograms",
    "VAE",
    "LM",
]

SCENARIOS: tuple[tuple[str, dict[str, Any]], ...] = (("replace", {}), ("fresh", {"real_fraction": 0.1}))
TITLES = {"replace": "replace (no real data)", "fresh": "10 % real data"}
ROWS = {"replace": "replace", "fresh": "10 % real"}
VAE: dict[str, Any] = dict(samples=200, generations=20, seed=11)
"""VAE chains: 200 images per generation (the paper's MNIST chain used 60000; digits has 1500 to train)."""
VAE_SHOWN = (0, 1, 2, 5, 10, 20)
VAE_CHAINS = 4
LM: dict[str, Any] = dict(samples=2763, generations=20, chains=64, seed=12, record=tuple(range(21)))
"""n-gram chains: each generation writes as many 64-character sequences as the training text has (2763)."""
LM_SHOWN = (0, 1, 2, 5, 10, 20)
LM_CHAINS = 8
LM_SEQUENCES = 128
BAND = (0.05, 0.95)


def _params(config: SimConfig, generations, chains: int) -> dict[int, Any]:
    """The fitted user parameters of the first chains (batched), by generation."""
    import jax

    from collapse_theory.plotting.data import chain_params

    spec: Any = config.validated().spec
    treedef = jax.tree_util.tree_structure(spec.truth)
    n = len(jax.tree_util.tree_leaves(spec.truth))
    out = {}
    for g, leaves in chain_params(config, generations, chains=chains).items():
        out[g] = jax.tree_util.tree_unflatten(treedef, leaves[:n])
    return out


# --- the VAE ---------------------------------------------------------------------------------


def _vae_data(ctx) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp

    from collapse_theory.neural import vae

    est = vae.vae_estimator()

    def compute():
        z = jax.random.normal(jax.random.key(7), (16, 2))
        out = {}
        for sc, extra in SCENARIOS:
            cfg = SimConfig(est, scenario=sc, chains=VAE_CHAINS, record=VAE_SHOWN, **VAE, **extra)
            for g, p in _params(cfg, VAE_SHOWN, VAE_CHAINS).items():
                p = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), p)
                first = jax.tree_util.tree_map(lambda a: a[0], p)
                out[f"{sc}/{g}/images"] = np.asarray(vae.decode_mean(first, z))
                keys = jax.random.split(jax.random.key(8), VAE_CHAINS)
                xs = jax.vmap(lambda k, q: vae.sample(k, q, 256))(keys, p).reshape(-1, vae.PIXELS)
                truth = jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float32), est.truth)
                out[f"{sc}/{g}/latents"] = np.asarray(vae.encode_mean(truth, xs))
        return out

    return ctx.arrays(
        "neural-vae", {"config": VAE, "shown": VAE_SHOWN, "chains": VAE_CHAINS, **dict(est.details or {})}, compute
    )


def _mosaic(images: np.ndarray, rows: int = 4) -> np.ndarray:
    """``[k, 64]`` images as one ``rows x (k / rows)`` mosaic with one-pixel gaps (NaN)."""
    k = images.shape[0]
    cols = k // rows
    out = np.full((rows * 9 - 1, cols * 9 - 1), np.nan)
    for i in range(k):
        r, c = divmod(i, cols)
        out[r * 9 : r * 9 + 8, c * 9 : c * 9 + 8] = images[i].reshape(8, 8)
    return out


def vae_digits(images: dict, generations=VAE_SHOWN, scenarios=("replace", "fresh")):
    """Decoded samples per generation: the decoder's mean grey levels at 16 fixed latent codes.

    Args:
        images: ``(scenario, generation) -> float[16, 64]`` grey levels 0..16.
        generations: the columns.
        scenarios: the rows.

    Returns:
        ``(fig, axes)``.

    """
    import matplotlib as mpl

    fig, axes = new_figure(len(scenarios), len(generations), aspect=1.0)
    grid = axes.reshape(len(scenarios), len(generations))
    cmap = mpl.colormaps["gray_r"].with_extremes(bad="white")
    for i, sc in enumerate(scenarios):
        for j, g in enumerate(generations):
            ax = grid[i, j]
            ax.imshow(_mosaic(images[sc, g]), cmap=cmap, vmin=0, vmax=16, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if i == 0:
                ax.set_title(f"$n={g}$")
        grid[i, 0].set_ylabel(ROWS[sc])
    letter(grid[0, 0], "a")
    letter(grid[1, 0], "b")
    note_below(
        fig,
        (
            "decoder means (16 sigmoid) at the same 16 latent codes in every panel, chain 0; generation 0: the VAE "
            "fit to the 1500 training digits; each later one fit to 200 images of the previous one "
            "(b: 20 of them real digits)"
        ),
    )
    return fig, axes


def vae_latents(latents: dict, generations=VAE_SHOWN, scenarios=("replace", "fresh")):
    """Density of the samples' latent means under the generation-0 encoder, per generation.

    Args:
        latents: ``(scenario, generation) -> float[N, 2]``.
        generations: the columns.
        scenarios: the rows.

    Returns:
        ``(fig, axes)``.

    """
    fig, axes = new_figure(len(scenarios), len(generations), aspect=1.0, sharex=True, sharey=True)
    grid = axes.reshape(len(scenarios), len(generations))
    ref = latents[scenarios[0], generations[0]]
    lo, hi = np.quantile(ref, [0.005, 0.995], axis=0)
    pad = 0.15 * (hi - lo)
    edges = [np.linspace(lo[d] - pad[d], hi[d] + pad[d], 41) for d in range(2)]
    h0, _, _ = np.histogram2d(ref[:, 0], ref[:, 1], bins=edges, density=True)
    gx, gy = np.meshgrid(*(np.linspace(e[0], e[-1], 60) for e in edges))
    dens = stats.gaussian_kde(ref.T)(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    srt = np.sort(dens.ravel())[::-1]
    level = srt[np.searchsorted(np.cumsum(srt) / srt.sum(), 0.9)]  # the KDE's 90 % highest-density region
    for i, sc in enumerate(scenarios):
        for j, g in enumerate(generations):
            ax = grid[i, j]
            z = latents[sc, g]
            h, _, _ = np.histogram2d(z[:, 0], z[:, 1], bins=edges, density=True)
            ax.pcolormesh(edges[0], edges[1], h.T, cmap="Blues", vmin=0, vmax=np.quantile(h0, 0.99), rasterized=True)
            ax.contour(gx, gy, dens, levels=[level], colors="0.2", linewidths=0.6, linestyles="--")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"$n={g}$")
            if i == len(scenarios) - 1 and j == 0:
                ax.set_xlabel("$z_1$")
        grid[i, 0].set_ylabel(f"{ROWS[sc]}: $z_2$")
    letter(grid[0, 0], "a")
    letter(grid[1, 0], "b")
    n = ref.shape[0]
    legend_below(
        fig,
        [Line2D([], [], color="0.2", ls="--", lw=0.6)],
        ["generation 0: 90 % highest-density region (Gaussian KDE)"],
        note=f"2-D histograms of the latent means of {n} samples ({VAE_CHAINS} chains) under the generation-0 encoder",
    )
    return fig, axes


def draw_vae_digits(ctx):
    """The gallery's ``curse-vae-digits``."""
    d = _vae_data(ctx)
    return vae_digits({(sc, g): d[f"{sc}/{g}/images"] for sc, _ in SCENARIOS for g in VAE_SHOWN})


def draw_vae_latents(ctx):
    """The gallery's ``curse-vae-latents``."""
    d = _vae_data(ctx)
    return vae_latents({(sc, g): d[f"{sc}/{g}/latents"] for sc, _ in SCENARIOS for g in VAE_SHOWN})


# --- the n-gram language model ---------------------------------------------------------------


def _lm_runs(ctx) -> dict[str, np.ndarray]:
    import collapse_theory as ct
    from collapse_theory.neural import ngram

    def compute():
        out = {}
        for sm in ngram.SMOOTHING:
            est = ngram.ngram_estimator(smoothing=sm)
            for sc, extra in SCENARIOS:
                r = ct.run(est, sc, **LM, **extra)
                for k in ("heldout_ppl", "support_lost", "gen_log_ppl"):
                    out[f"{sm}/{sc}/{k}"] = r.values[k]
                out["generations"] = np.asarray(r.generations)
        return out

    return ctx.arrays("neural-lm", {"config": LM}, compute)


def lm_perplexity(runs: dict, generations, smoothings=("laplace", "kneser-ney"), scenarios=("replace", "fresh")):
    """Held-out perplexity of model n on real text, and the n-grams lost, with and without 10 % real data.

    Args:
        runs: ``(smoothing, scenario, metric) -> float[R, chains]``.
        generations: the recorded generations.
        smoothings: panels a and b.
        scenarios: the colours.

    Returns:
        ``(fig, axes)``.

    """
    fig, axes = new_figure(1, 3, aspect=1.0)
    x = np.asarray(generations, float)
    names = {"laplace": "Laplace", "kneser-ney": "Kneser–Ney"}
    for j, sm in enumerate(smoothings):
        ax = axes[j]
        for i, sc in enumerate(scenarios):
            plot_quantiles(ax, x, runs[sm, sc, "heldout_ppl"], band=BAND, center="mean", **cue(i), lw=1.0)
        ax.set_title(names[sm])
        ax.set_xlabel(GENERATION)
        letter(ax, "ab"[j])
    axes[0].set_ylabel("perplexity")
    ax = axes[2]
    for i, sc in enumerate(scenarios):
        for k, sm in enumerate(smoothings):
            c = cue(i)
            ax.plot(x, runs[sm, sc, "support_lost"].mean(axis=1), color=c["color"], ls=("-", ":")[k], lw=1.0)
    ax.set_title("support lost")
    ax.set_ylabel("fraction unseen")
    ax.set_xlabel(GENERATION)
    letter(ax, "c")
    n = runs[smoothings[0], scenarios[0], "heldout_ppl"].shape[1]
    handles = [Line2D([], [], **cue(i), lw=1.0, ms=3) for i in range(len(scenarios))]
    handles += [Line2D([], [], color="0.3", ls="-", lw=1.0), Line2D([], [], color="0.3", ls=":", lw=1.0)]
    legend_below(
        fig,
        handles,
        [TITLES[s] for s in scenarios] + ["c: Laplace", "c: Kneser–Ney"],
        note=f"a, b: perplexity per character of model n on held-out real text, mean over {n} chains, bands 5–95 % "
        "of chains; c: fraction of the training text's trigram types model n never saw (mean); character trigrams "
        "on stdlib docstrings, 2763 sequences of 64 characters per generation; generation 0 counts the training text",
    )
    return fig, axes


def _lm_hist_data(ctx) -> dict[str, np.ndarray]:
    import jax
    import jax.numpy as jnp

    from collapse_theory.neural import ngram

    est = ngram.ngram_estimator()
    args = (3, "laplace", 0.1, 0.75)

    def compute():
        logp0 = ngram.log_probs(ngram.NgramParams(jnp.asarray(est.truth.counts)), *args)
        cfg_base = {k: v for k, v in LM.items() if k not in ("chains", "record")}
        out = {}
        for sc, extra in SCENARIOS:
            cfg = SimConfig(est, scenario=sc, chains=LM_CHAINS, record=LM_SHOWN, **cfg_base, **extra)
            for g, p in _params(cfg, LM_SHOWN, LM_CHAINS).items():

                def one(k, c):
                    seqs = ngram.sample(k, ngram.log_probs(ngram.NgramParams(c), *args), LM_SEQUENCES, 64, 3)
                    return jnp.exp(-jnp.mean(ngram.sequence_log_probs(logp0, seqs, 3), axis=-1))

                keys = jax.random.split(jax.random.key(9), LM_CHAINS)
                out[f"{sc}/{g}"] = np.asarray(jax.vmap(one)(keys, jnp.asarray(p.counts, jnp.float32))).ravel()
        return out

    return ctx.arrays("neural-lm-hist", {"config": LM, "shown": LM_SHOWN, "chains": LM_CHAINS}, compute)


def lm_histograms(ppl: dict, generations=LM_SHOWN, scenarios=("replace", "fresh")):
    """Histograms of the perplexity, under the generation-0 model, of text generated by model n.

    Args:
        ppl: ``(scenario, generation) -> float[N]`` per-sequence perplexities.
        generations: the colours.
        scenarios: the panels.

    Returns:
        ``(fig, axes)``.

    """
    fig, axes = new_figure(1, len(scenarios), aspect=0.7, sharex=True, sharey=True)
    allv = np.concatenate([ppl[k] for k in ppl])
    bins = np.geomspace(np.quantile(allv, 0.001), np.quantile(allv, 0.999), 45)
    for j, sc in enumerate(scenarios):
        ax = axes[j]
        for i, g in enumerate(generations):
            ax.hist(ppl[sc, g], bins=bins, density=True, histtype="step", color=cue(i)["color"], lw=0.9)
        ax.set_xscale("log")
        ax.set_title(TITLES[sc])
        ax.set_xlabel("perplexity under the generation-0 model")
        letter(ax, "ab"[j])
    axes[0].set_ylabel("density")
    n = ppl[scenarios[0], generations[0]].size
    legend_below(
        fig,
        [Patch(facecolor="none", edgecolor=cue(i)["color"]) for i in range(len(generations))],
        [f"$n={g}$" for g in generations],
        note=f"{n} sequences of 64 characters per generation ({LM_CHAINS} chains), generated by model n "
        "(character trigrams, Laplace 0.1) and scored by model 0",
    )
    return fig, axes


def draw_lm_perplexity(ctx):
    """The gallery's ``curse-lm-perplexity``."""
    d = _lm_runs(ctx)
    runs = {tuple(k.split("/")): v for k, v in d.items() if k != "generations"}
    return lm_perplexity(runs, d["generations"])


def draw_lm_histograms(ctx):
    """The gallery's ``curse-lm-histograms``."""
    d = _lm_hist_data(ctx)
    return lm_histograms({(sc, g): d[f"{sc}/{g}"] for sc, _ in SCENARIOS for g in LM_SHOWN})
