"""The four neural figures draw from arrays shaped like their cached data (no simulation)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from collapse_theory.plotting import style  # noqa: E402
from collapse_theory.plotting.figures import neural  # noqa: E402

RNG = np.random.default_rng(0)
SC = ("replace", "fresh")


def _draw(fn, *args):
    with style("neurips"):
        fig, axes = fn(*args)
        fig.canvas.draw()
    plt.close(fig)
    return axes


def test_vae_figures_draw():
    imgs = {(s, g): RNG.uniform(0, 16, (16, 64)) for s in SC for g in neural.VAE_SHOWN}
    assert _draw(neural.vae_digits, imgs).size == 2 * len(neural.VAE_SHOWN)
    lat = {(s, g): RNG.normal(0, 1 / (1 + g), (400, 2)) for s in SC for g in neural.VAE_SHOWN}
    assert _draw(neural.vae_latents, lat).size == 2 * len(neural.VAE_SHOWN)


def test_lm_figures_draw():
    gens = np.arange(6)
    runs = {
        (sm, s, k): RNG.uniform(5, 9, (gens.size, 64))
        for sm in ("laplace", "kneser-ney")
        for s in SC
        for k in ("heldout_ppl", "support_lost")
    }
    assert _draw(neural.lm_perplexity, runs, gens).size == 3
    ppl = {(s, g): RNG.lognormal(2, 0.2, 256) for s in SC for g in neural.LM_SHOWN}
    assert _draw(neural.lm_histograms, ppl).size == 2
