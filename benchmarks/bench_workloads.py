"""The workloads of issue 13, side by side with vectorised numpy: long horizons and many chains.

Every benchmark here times a ``ct.simulate`` run (``timing.run_seconds``: steady state, compile
reported apart) against a vectorised numpy baseline written in ``bench_engine.py`` /
``bench_families.py``, on the shapes where users spend their time:

========================  =============================================================  ==========================
name                      JAX side                                                       numpy baseline
========================  =============================================================  ==========================
``cat_1000g_400c``        categorical exact, K = 100 uniform, M = 1000, 1000 gens, 400   ``rng.multinomial`` (C, K)
``cat_1000g_2000c``       the same, 2000 chains
``cat_100g_2000c``        the same, 100 generations, 2000 chains
``poisson_1000g``         Poisson exact, rate 1, M = 100, 1000 gens, 20 000 chains       ``rng.poisson(M lam) / M``
``kde_200g``              KDE replace, M = 100, h = 0.3, 200 gens, 2000 chains           bootstrap + h noise
``gauss_exact_1000g``     Gaussian exact (unbiased), M = 100, 1000 gens, 20 000 chains   normal + chi-square
``gauss_sample_1000g``    Gaussian sample kernel, M = 100, 1000 gens, 2000 chains        (C, M) normals, refit
``regression_sample``     OLS, d = 10, T = 40, fresh design, sample kernel, 100 x 5000   batched ``linalg.solve``
``regression_np32``       the same (JAX float32 as always)                               the same in float32
``bayes_1000g``           Gaussian NIG posterior predictive, prior (0, 1, 2, 1), M = 100,  ``rng.standard_t`` (C, M),
                          1000 gens, 2000 chains (sample kernel: M t draws per chain)     conjugate update
``gmm_sklearn``           GMM by EM, K = 2, M = 1000, 20 gens, 64 chains                 sklearn ``GaussianMixture`` refits
``gmm_numpy_em``          the same, 200 gens                                             the same EM in numpy (float32)
``gmm_sklearn_nll``       ``gmm_sklearn`` recording only the ``nll`` metric (the        the same
                          baselines compute no metric; ``w2_sq`` is a quadrature)
``gmm_numpy_em_nll``      ``gmm_numpy_em`` recording only ``nll``                       the same
========================  =============================================================  ==========================

Protocol: both sides warm up (JAX compiles), then ``--repeats`` timed repeats run interleaved
(numpy, JAX, numpy, JAX, ...), so background load hits both alike. Each line reports the best
time, every time, the spread (max / min), the ratio of best times and the median of the ratios of
the interleaved pairs, and the load average (1 min) before and after the benchmark. Load on this
shared machine moves absolute times by 30 % or more; only the ratios of one run mean anything.

``python benchmarks/speed_table.py FILE`` prints the README's speed table from the JSON lines,
worst ratio first.

Usage: python benchmarks/bench_workloads.py [--smoke] [--repeats R] [--only NAME ...] > run.jsonl
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from dataclasses import dataclass

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_engine as be  # noqa: E402
import bench_families as bf  # noqa: E402

import collapse_theory as ct  # noqa: E402

TARGETS = {
    "cat_1000g_400c": 1.5,
    "cat_1000g_2000c": 1.5,
    "cat_100g_2000c": 1.5,
    "poisson_1000g": 1.5,
    "kde_200g": 1.5,
    "gauss_exact_1000g": 1.5,
    "gauss_sample_1000g": 3.0,
    "regression_sample": 1.5,
    "regression_np32": 1.5,
    "bayes_1000g": 1.5,
    "gmm_sklearn": 20.0,
    "gmm_numpy_em": 2.0,
    "gmm_sklearn_nll": 20.0,
    "gmm_numpy_em_nll": 2.0,
}
BENCHMARKS = tuple(TARGETS)
BAYES_PRIOR = (0.0, 1.0, 2.0, 1.0)  # the default prior of gaussian_bayes


@dataclass(frozen=True)
class Case:
    """One benchmark: the JAX configuration, the numpy function and its leading arguments."""

    config: ct.SimConfig
    numpy_fn: object
    numpy_args: tuple
    what: str


def cases(smoke: bool) -> dict[str, Case]:
    """The workloads (``smoke``: 64 chains and a few generations, through the same code)."""

    def shape(g: int, c: int) -> tuple[int, int]:
        return (min(g, 5), 64) if smoke else (g, c)

    def cfg(family: str, g: int, c: int, **kw) -> ct.SimConfig:
        g, c = shape(g, c)
        return ct.SimConfig(family=family, generations=g, chains=c, seed=0, record=(g,), **kw)

    uniform = tuple([0.01] * 100)
    cat = {"probs": uniform, "samples": 1000, "kernel": "exact"}
    return {
        "cat_1000g_400c": Case(cfg("categorical", 1000, 400, **cat), be.numpy_categorical, (100, 1000), "categorical"),
        "cat_1000g_2000c": Case(
            cfg("categorical", 1000, 2000, **cat), be.numpy_categorical, (100, 1000), "categorical"
        ),
        "cat_100g_2000c": Case(cfg("categorical", 100, 2000, **cat), be.numpy_categorical, (100, 1000), "categorical"),
        "poisson_1000g": Case(
            cfg("poisson", 1000, 20000, rate=1.0, samples=100), bf.numpy_poisson, (100, 1.0), "poisson"
        ),
        "kde_200g": Case(cfg("kde", 200, 2000, bandwidth=0.3, samples=100), bf.numpy_kde, (100, 0.3), "kde"),
        "gauss_exact_1000g": Case(
            cfg("gaussian", 1000, 20000, estimator="unbiased", samples=100), be.numpy_gaussian_exact, (100,), "gaussian"
        ),
        "gauss_sample_1000g": Case(
            cfg("gaussian", 1000, 2000, estimator="unbiased", samples=100, kernel="sample"),
            be.numpy_gaussian_sample,
            (100,),
            "gaussian",
        ),
        "regression_sample": Case(
            cfg("regression", 100, 5000, dim=10, samples=40, design="fresh", kernel="sample"),
            bf.numpy_regression,
            (40, 10),
            "regression",
        ),
        "regression_np32": Case(
            cfg("regression", 100, 5000, dim=10, samples=40, design="fresh", kernel="sample"),
            bf.numpy_regression32,
            (40, 10),
            "regression",
        ),
        "bayes_1000g": Case(
            cfg("gaussian", 1000, 2000, estimator="bayes", prior=BAYES_PRIOR, samples=100, kernel="sample"),
            bf.numpy_bayes,
            (100, BAYES_PRIOR),
            "gaussian",
        ),
        "gmm_sklearn": Case(cfg("gmm", 20, 64, samples=1000, components=2), bf.sklearn_gmm, (1000, 2), "gmm"),
        "gmm_numpy_em": Case(cfg("gmm", 200, 64, samples=1000, components=2), bf.numpy_gmm_em, (1000, 2), "gmm"),
        "gmm_sklearn_nll": Case(
            cfg("gmm", 20, 64, samples=1000, components=2, metrics=("nll",)), bf.sklearn_gmm, (1000, 2), "gmm"
        ),
        "gmm_numpy_em_nll": Case(
            cfg("gmm", 200, 64, samples=1000, components=2, metrics=("nll",)), bf.numpy_gmm_em, (1000, 2), "gmm"
        ),
    }


def run_case(name: str, case: Case, repeats: int) -> list[dict]:
    """Measure one case interleaved; return its numpy and JAX lines."""
    c = case.config
    wl = {k: v for k, v in c.to_dict().items() if v is not None and k not in ("seed", "record", "probs")}
    if c.family == "categorical":
        wl["states"] = len(c.to_dict()["probs"])
    npy = be.numpy_side("numpy_vectorised", case.numpy_fn, case.numpy_args, c.chains, c.generations, wl)
    jx = be.jax_side("jax", c, wl)
    load0 = os.getloadavg()[0]
    be.measure([npy, jx], repeats)
    load1 = os.getloadavg()[0]
    pairs = [n / j for n, j in zip(npy.seconds, jx.seconds, strict=True)]
    out = []
    for side, base in ((npy, None), (jx, npy)):
        d = be.line(name, side, base, TARGETS[name] if base is not None else None)
        d["spread"] = max(side.seconds) / min(side.seconds)
        d["loadavg_1min"] = [load0, load1]
        if base is not None:
            d["ratio_median_pairs"] = float(np.median(pairs))
            d["ratio_pairs"] = pairs
        out.append(d)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny workloads: every code path, meaningless ratios")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per side (default 3, smoke 1)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS, help="benchmarks to run")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (1 if args.smoke else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")

    emit = be.emit

    errors = 0
    cache = tempfile.mkdtemp(prefix="bench_workloads_jax_cache_")
    try:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        emit(be.header(args.smoke, repeats) | {"script": "bench_workloads"})
        all_cases = cases(args.smoke)
        for name in args.only:
            try:
                for d in run_case(name, all_cases[name], repeats):
                    emit(d)
            except Exception as e:  # a broken benchmark is reported, the others still run
                errors += 1
                emit(
                    {
                        "benchmark": name,
                        "impl": None,
                        "error": f"{type(e).__name__}: {e}",
                        "traceback": traceback.format_exc(limit=3),
                    }
                )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
