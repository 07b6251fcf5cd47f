"""Every figure function on deterministic fake data: rendered-data hashes, labels, log axes, bands.

The hash is of what is drawn (line data, band polygons, images, texts, scales and limits, each
number to 6 significant digits), not of pixels, so it does not depend on the FreeType build. Set
``COLLAPSE_THEORY_UPDATE_BASELINES=1`` to rewrite ``baselines.json`` after an intended change.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
sys.path.insert(0, str(Path(__file__).parent))  # fakes.py beside this file

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from fakes import fake_sweep, lognormal, normal  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from collapse_theory.plotting import style  # noqa: E402
from collapse_theory.plotting.figures import cot, curse, diagnostics, fresh  # noqa: E402

BASELINES = Path(__file__).with_name("baselines.json")
REC = (0, 1, 2, 5, 10, 20)


def _round(a) -> list:
    a = np.asarray(a, dtype=float).ravel()
    return [float(f"{x:.6g}") if np.isfinite(x) else str(x) for x in a]


def rendered(fig) -> dict:
    """What the figure draws, as plain data."""
    out = []
    for ax in fig.axes:
        d = {
            "x": ax.get_xscale(),
            "y": ax.get_yscale(),
            "xl": ax.get_xlabel(),
            "yl": ax.get_ylabel(),
            "t": ax.get_title(),
        }
        d["lines"] = [_round(ln.get_xydata()) for ln in ax.get_lines()]
        d["polys"] = [
            _round(p.vertices) for c in ax.collections if isinstance(c, PolyCollection) for p in c.get_paths()
        ]
        d["images"] = [_round(im.get_array()) for im in ax.get_images()]
        d["texts"] = [t.get_text() for t in ax.texts]
        out.append(d)
    out.append({"legends": [[t.get_text() for t in leg.get_texts()] for leg in fig.legends]})
    return {"axes": out}


def digest(fig) -> str:
    return hashlib.sha256(json.dumps(rendered(fig), sort_keys=True).encode()).hexdigest()[:16]


def gauss_sweep():
    base = dict(family="gaussian", estimator="unbiased", generations=20, chains=40, record=REC)
    m = {
        "mu_err2": lognormal(0.01, 0.1),
        "sigma": lognormal(1.0, -0.02),
        "sigma2": lognormal(1.0, -0.04),
        "tail_mass": lognormal(1e-3, -0.3),
    }
    return fake_sweep(base, {"samples": [10, 100, 1000], "scenario": ["replace", "accumulate"]}, m)


def _drift():
    return curse.gaussian_drift(gauss_sweep(), samples=(10, 100, 1000))


def _tails():
    probs = (0.4, 0.3, 0.2, 0.1)
    cat = fake_sweep(
        dict(family="categorical", probs=probs, generations=20, chains=40, record=REC),
        {"samples": [10, 100]},
        {"support": lambda rng, g, c: np.maximum(1, 4 - np.floor(g / 6) - rng.integers(0, 2, (g.size, c)))},
    )
    return curse.tails(gauss_sweep(), cat, probs, (10, 100), (10, 100))


def _gmm():
    w = np.array([[0.5, 0.5], [0.4, 0.6]])
    means = {g: np.array([[-3.0 + g / 10, 3.0 - g / 10], [-2.0, 3.0 - g / 20]]) for g in (0, 1, 2, 5, 10, 20)}
    params = {g: (w, m, np.ones((2, 2)) / (1 + g / 10)) for g, m in means.items()}
    return curse.gmm_generations(params, ((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0)), (0, 10, 20))


def _cot_gauss():
    base = dict(family="gaussian", estimator="unbiased", generations=20, chains=40, record=REC)
    m = {"mu_err2": lognormal(0.1, 0.05), "log_det": normal(-0.1, 0.2), "trace": lognormal(1.0, 0.0)}
    s = fake_sweep(base, {"dim": [1, 2], "scenario": list(cot.WORKFLOWS), "samples": [10, 40]}, m)
    return cot.gaussian_workflows(s, (10, 40), (1, 2))


def _cot_kde():
    base = dict(family="kde", bandwidth=0.3, generations=20, chains=40, record=REC)
    s = fake_sweep(
        base,
        {"scenario": list(cot.WORKFLOWS), "samples": [10, 40]},
        {"nll": normal(1.5, 0.1), "spread": lognormal(1.0, 0.01)},
    )
    return cot.kde_workflows(s, (10, 40), 0.3)


def _cot_reg():
    base = dict(family="regression", dim=3, generations=20, chains=40, record=REC)
    s = fake_sweep(
        base, {"scenario": ["replace", "accumulate"], "samples": [10, 20]}, {"test_error": lognormal(0.5, 0.05)}
    )
    f = fake_sweep(
        base | {"design": "fresh"},
        {"scenario": ["accumulate-subsample"], "samples": [10, 20]},
        {"test_error": lognormal(0.5, 0.0)},
    )
    from collapse_theory.sweeps import Sweep

    return cot.regression_workflows(Sweep(s.cells + f.cells, s.axes), (10, 20), 3)


def _discrete():
    probs = (1 / 3, 1 / 3, 1 / 3)
    ms = (3, 6, 12)
    horizon = [(m, 4 * m, tuple(range(4 * m + 1))) for m in ms]
    s = fake_sweep(
        dict(family="categorical", probs=probs, chains=40, metrics=("support", "entropy")),
        {("samples", "generations", "record"): horizon},
        {
            "support": lambda rng, g, c: np.where(g < rng.integers(1, int(g.max()) + 1, (1, c)), 2.0, 1.0),
            "entropy": lambda rng, g, c: np.log(3) * np.exp(-g / 10) * np.ones((1, c)),
        },
    )
    return cot.discrete_collapse(s, ms, probs, entropy_samples=[3, 12])


def _cardinality():
    from collapse_theory.plotting.figures.fresh import grid_cells

    base = dict(
        family="gaussian", estimator="unbiased", scenario="fresh", mixing="split", chains=40, metrics=("mu_err2",)
    )
    axis = ("samples", "real_fraction")
    m = {"mu_err2": lognormal(0.05)}
    reals, synths = (2, 8), (0, 8)
    g = fake_sweep(base | {"generations": 30, "record": (0, 25, 30)}, {axis: grid_cells(reals, synths)}, m)
    t = fake_sweep(
        base | {"generations": 30, "record": (0, 25, 30)}, {axis: [(m_, f) for m_ in (16, 32) for f in (0.5, 1.0)]}, m
    )
    return fresh.cardinality_proportion(g, reals, synths, t, (16, 32), (0.5, 1.0))


def _fresh_fraction():
    base = dict(
        family="gaussian",
        estimator="unbiased",
        scenario="fresh",
        samples=20,
        chains=40,
        generations=30,
        record=(0, 25, 30),
    )
    s = fake_sweep(
        base,
        {"real_fraction": [0.5, 1.0], "mixing": ["split", "mixture"]},
        {"mu_err2": lognormal(0.05), "sigma2": lognormal(1.0)},
    )
    return fresh.fresh_data_fraction(s, (0.5, 1.0), 20)


def _collapse():
    base = dict(family="gaussian", estimator="unbiased", generations=20, chains=40, record=REC)
    s = fake_sweep(base, {"samples": [10]}, {"sigma2": lognormal(1.0, -0.1)})
    return fresh.collapse_probability(s, (10,), 0.1)


def _decomposition():
    from collapse_theory.decompose import Decomposition

    g = np.array([1, 2, 5, 10])
    runs = {
        k: (np.full(4, v) * g, np.full(4, 0.01))
        for k, v in (
            ("all", 1.0),
            ("no_statistical", 0.5),
            ("no_functional", 0.4),
            ("no_numerical", 0.9),
            ("none", 0.0),
        )
    }
    contrib = {
        k: (np.full(4, v), np.full(4, 0.02))
        for k, v in (("statistical", 0.5), ("functional", 0.6), ("numerical", 0.1), ("interaction", -0.05))
    }
    return diagnostics.error_decomposition(Decomposition("w2_sq", g, runs, contrib, {}))


def _verify():
    checks = [{"p_value": p, "passed": p > 0.001} for p in (0.5, 0.2, 0.04, 1e-5)]
    ctrl = [{"p_value": 1e-30, "caught": True}, {"p_value": 0.3, "caught": False}]
    return diagnostics.verify_summary(
        {"checks": checks, "negative_controls": ctrl, "alpha_total": 0.01, "chains": 40, "ok": False}
    )


FIGS = {
    "curse-gaussian-drift": _drift,
    "curse-tails": _tails,
    "curse-gmm-generations": _gmm,
    "cot-gaussian-workflows": _cot_gauss,
    "cot-kde-workflows": _cot_kde,
    "cot-regression-workflows": _cot_reg,
    "cot-discrete-collapse": _discrete,
    "cot-cardinality-proportion": _cardinality,
    "fresh-data-fraction": _fresh_fraction,
    "collapse-probability": _collapse,
    "error-decomposition": _decomposition,
    "verify-summary": _verify,
}


@pytest.fixture(scope="module")
def drawn():
    out = {}
    with style("neurips"):
        for name, f in FIGS.items():
            fig, _ = f()
            fig.canvas.draw()  # layout and text rendering must not fail
            out[name] = (digest(fig), rendered(fig))
            plt.close(fig)
    return out


def test_rendered_data_matches_baselines_labels_and_log_bands(drawn):
    got = {k: v[0] for k, v in drawn.items()}
    if os.environ.get("COLLAPSE_THEORY_UPDATE_BASELINES"):
        BASELINES.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
    want = json.loads(BASELINES.read_text())
    assert got == want
    # in the same test, so the figures are drawn once (one worker): math labels, log-safe bands
    for name in sorted(FIGS):
        _check_labels_and_bands(drawn, name)


def _check_labels_and_bands(drawn, name):
    _, r = drawn[name]
    for ax in r["axes"][:-1]:
        for lab in (ax["xl"], ax["yl"], ax["t"]):
            assert not any(code in lab for code in ("mu_err2", "log_sigma2", "w2_sq", "gaussian.replace")), lab
        if ax["y"] == "log":
            for poly in ax["polys"]:
                ys = np.array([np.nan if isinstance(v, str) else v for v in poly]).reshape(-1, 2)[:, 1]
                assert np.all(ys[np.isfinite(ys)] > 0), "a band crosses 0 on a log axis"
