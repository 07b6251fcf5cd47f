"""Family throughput: every model family and error-source option of ``ct.simulate``, timed.

Companion of ``bench_engine.py`` (same protocol, helpers imported from it): each benchmark warms
every side up (JAX: one full ``simulate`` call, which compiles; numpy: a tenth of the generations),
then runs ``--repeats`` timed repeats of its sides interleaved and reports each side's best.

1. ``kde_replace``: the KDE family (Kazdan et al. 2024), h = 0.3, M = 50, against numpy
   vectorised over chains (bootstrap indices ``rng.integers`` + ``h standard_normal``, (C, M) per
   generation, then the spread, ``var`` with ddof = 0). Ratio reported, no target.
2. ``kde_accumulate``: the same KDE with the accumulate scenario (the pool grows by M per
   generation, so a generation costs O(M g)). No baseline.
3. ``regression``: OLS, d = 10, T = 40: ``jax_exact`` (fixed design, exact kernel) and
   ``jax_sample`` (fresh design, sample kernel) against numpy drawing X (C, T, d), y = X w + noise
   and solving the batched normal equations with ``np.linalg.solve`` (the fresh design).
4. ``poisson``: rate 5, M = 100: ``jax_exact`` and ``jax_sample`` against numpy
   ``rng.poisson(M lambda) / M`` vectorised over chains.
5. ``gmm_em``: two-component GMM fitted by EM to M = 1000 points (Shumailov et al. 2024); reports
   the mean EM iteration count of the last generation. No baseline.
6. ``naive_sample``: the naive-sample kernel (1-D Gaussian, unbiased) in low precision with
   several rounding and accumulation modes; ratio against the ``sample`` kernel of the same M
   (information: the price of simulating the arithmetic).
7. ``misspecified``: fresh scenario, real_fraction 0.5, sample kernel, real data from a
   two-component mixture truth, against the same run with the Gaussian truth (ratio = mixture /
   Gaussian: the price of drawing the real points from the mixture).
8. ``bayes``: the Normal-Inverse-Gamma posterior-predictive learner (sample kernel) against the
   unbiased ``sample`` kernel of the same M (ratio, information).

Unit: chain-generations per second (cg/s); JAX time is ``SimulationResult.timing.run_seconds``
and compile time is reported separately (``compile_s`` cold, ``compile_cached_s`` later calls).
Output: JSON lines (a ``header`` line first); a failing benchmark prints an ``error`` line and the
rest still run; exit status 1 if any benchmark failed. ``--smoke``: tiny workloads through every
code path (fewer naive-sample variants, to bound compilation); its numbers mean nothing.

Usage: python benchmarks/bench_families.py [--smoke] [--repeats R] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_engine as be  # noqa: E402  (sibling script: Side, numpy_side, measure, line, header)

import collapse_theory as ct  # noqa: E402

BENCHMARKS = (
    "kde_replace",
    "kde_accumulate",
    "regression",
    "poisson",
    "gmm_em",
    "naive_sample",
    "misspecified",
    "bayes",
)
MIXTURE = "mixture:0.5,-2,1;0.5,2,1"

# (precision, rounding, accumulation) of the naive-sample kernel.
NAIVE_FULL = (
    ("float32", "nearest", "naive"),
    ("float16", "nearest", "naive"),
    ("float16", "nearest", "pairwise"),
    ("float16", "nearest", "kahan"),
    ("float16", "nearest", "welford"),
    ("bfloat16", "stochastic", "naive"),
)
NAIVE_SMOKE = (("float16", "nearest", "kahan"), ("bfloat16", "stochastic", "naive"))


@dataclass(frozen=True)
class Shape:
    """Generations G and chains C of one benchmark."""

    g: int
    c: int


@dataclass(frozen=True)
class Workloads:
    """Shapes of every benchmark (sample sizes are fixed by the benchmark's definition)."""

    kde: Shape
    kde_acc: Shape
    reg_exact: Shape
    reg_sample: Shape
    pois_exact: Shape
    pois_sample: Shape
    gmm: Shape
    gmm_iters: int
    gauss: Shape  # naive_sample, its sample reference, and bayes (one shape: the reference compiles once)
    misspec: Shape
    naive: tuple[tuple[str, str, str], ...]


FULL = Workloads(
    kde=Shape(100, 10000),
    kde_acc=Shape(50, 2000),
    reg_exact=Shape(100, 20000),
    reg_sample=Shape(100, 5000),
    pois_exact=Shape(200, 20000),
    pois_sample=Shape(50, 2000),  # its cost per generation grows as the rates spread (see README)
    gmm=Shape(10, 2000),
    gmm_iters=100,
    gauss=Shape(40, 5000),  # bfloat16 stochastic rounding is ~40x slower than the rest
    misspec=Shape(100, 10000),
    naive=NAIVE_FULL,
)
SMOKE = Workloads(
    kde=Shape(5, 64),
    kde_acc=Shape(5, 64),
    reg_exact=Shape(5, 64),
    reg_sample=Shape(5, 64),
    pois_exact=Shape(5, 64),
    pois_sample=Shape(5, 64),
    gmm=Shape(2, 64),
    gmm_iters=10,
    gauss=Shape(5, 64),
    misspec=Shape(5, 64),
    naive=NAIVE_SMOKE,
)


# ---------------------------------------------------------------- numpy baselines (float64)


def numpy_kde(rng: np.random.Generator, m: int, h: float, gens: int, chains: int) -> np.ndarray:
    """KDE replace chain: generation 1 fits the real N(0, 1) sample, later ones a bootstrap + h noise."""
    pts = rng.standard_normal((chains, m))
    spread = pts.var(axis=1)
    for _ in range(gens - 1):
        idx = rng.integers(0, m, (chains, m))
        pts = np.take_along_axis(pts, idx, axis=1) + h * rng.standard_normal((chains, m))
        spread = pts.var(axis=1)
    return spread


def numpy_regression(rng: np.random.Generator, t: int, d: int, gens: int, chains: int) -> np.ndarray:
    """OLS chain, fresh design: X ~ N(0, I) (C, T, d), y = X w + N(0, 1), w <- solve(X^T X, X^T y)."""
    w = np.zeros((chains, d))
    for _ in range(gens):
        x = rng.standard_normal((chains, t, d))
        y = np.einsum("ctd,cd->ct", x, w) + rng.standard_normal((chains, t))
        xt = x.transpose(0, 2, 1)
        w = np.linalg.solve(xt @ x, (xt @ y[..., None]))[..., 0]
    return w


def numpy_regression32(rng: np.random.Generator, t: int, d: int, gens: int, chains: int) -> np.ndarray:
    """:func:`numpy_regression` in float32 (the JAX kernel's default precision): float32 normals and solve."""
    w = np.zeros((chains, d), np.float32)
    for _ in range(gens):
        x = rng.standard_normal((chains, t, d), dtype=np.float32)
        y = np.einsum("ctd,cd->ct", x, w) + rng.standard_normal((chains, t), dtype=np.float32)
        xt = x.transpose(0, 2, 1)
        w = np.linalg.solve(xt @ x, (xt @ y[..., None]))[..., 0]
    return w


def numpy_poisson(rng: np.random.Generator, m: int, rate: float, gens: int, chains: int) -> np.ndarray:
    """Poisson chain refitted by its sample mean: the sum of M draws is Poisson(M lambda)."""
    lam = np.full(chains, rate)
    for _ in range(gens):
        lam = rng.poisson(m * lam) / m
    return lam


def numpy_bayes(
    rng: np.random.Generator, m: int, prior: tuple[float, float, float, float], gens: int, chains: int
) -> np.ndarray:
    """NIG posterior-predictive learner (Murphy 2007, section 6): M draws of the chain's Student-t
    predictive (N(0, 1) at generation 0), the conjugate update of their mean and sum of squares, the
    next predictive t_{2 alpha_n}(mu_n, beta_n (kappa_n + 1) / (alpha_n kappa_n)). The draws are
    standardised (``rng.standard_t``) and mapped analytically, as the package does.
    """
    mu0, k0, a0, b0 = prior
    mu, log_scale, dof = np.zeros(chains), np.zeros(chains), np.inf
    for _ in range(gens):
        w = rng.standard_normal((chains, m)) if np.isinf(dof) else rng.standard_t(dof, (chains, m))
        wbar = w.mean(axis=1)
        ss = np.square(w - wbar[:, None]).sum(axis=1)
        scale = np.exp(log_scale)
        mean, ss = mu + scale * wbar, scale * scale * ss
        kappa, alpha = k0 + m, a0 + 0.5 * m
        beta = b0 + 0.5 * ss + 0.5 * k0 * m * np.square(mean - mu0) / kappa
        mu = (k0 * mu0 + m * mean) / kappa
        log_scale = 0.5 * (np.log(beta) + np.log1p(kappa) - np.log(alpha) - np.log(kappa))
        dof = 2.0 * alpha
    return np.stack([mu, log_scale])


GMM_TRUTH = ((0.5, 0.5), (-3.0, 3.0), (1.0, 1.0))  # the gmm family's default truth (weights, means, sds)


def _gmm_draw(rng: np.random.Generator, w, mu, sd, m: int, dtype) -> np.ndarray:
    """``m`` points per chain from mixtures ``(w, mu, sd)`` of shape (C, K): (C, m)."""
    u = rng.random((w.shape[0], m), dtype=dtype)
    comp = np.sum(u[:, :, None] > np.cumsum(w, axis=1)[:, None, :-1], axis=-1)
    z = rng.standard_normal((w.shape[0], m), dtype=dtype)
    return np.take_along_axis(mu, comp, 1) + np.take_along_axis(sd, comp, 1) * z


def _numpy_em(x: np.ndarray, k: int, iterations: int, tol: float, floor: float):
    """The project's EM (``gmm_em.em``) in numpy: same standardisation, init, M-step and stopping rule.

    Quantile init by ``np.sort``; one fused pass per iteration; the chains still running are
    compacted (boolean indexing) whenever one stops, so finished chains cost nothing.
    """
    c, m = x.shape
    centre = x.mean(1)
    v = np.square(x - centre[:, None]).mean(1)
    scale = np.sqrt(np.where(v > 0, v, 1.0))
    y = (x - centre[:, None]) / scale[:, None]
    q = (np.arange(k) + 0.5) / k
    mean = np.sort(y, axis=1)[:, np.ceil(q * m).astype(int) - 1]
    w = np.full((c, k), 1.0 / k, x.dtype)
    var = np.full((c, k), 1.0 / k**2, x.dtype)

    def em_pass(y, w, mean, var):
        a = np.log(w) - 0.5 * np.log(2.0 * np.pi * var)
        b = 0.5 / var
        d = [y - mean[:, j, None] for j in range(k)]
        lj = [a[:, j, None] - b[:, j, None] * np.square(d[j]) for j in range(k)]
        top = np.maximum.reduce(lj) if k > 1 else lj[0]
        e = [np.exp(lj_j - top) for lj_j in lj]
        tot = np.sum(e, axis=0)
        ll = (top + np.log(tot)).mean(1)
        r = [e_j / tot for e_j in e]
        nk = np.stack([r_j.mean(1) for r_j in r], 1)
        s1 = np.stack([(r_j * d_j).mean(1) for r_j, d_j in zip(r, d, strict=True)], 1)
        s2 = np.stack([(r_j * np.square(d_j)).mean(1) for r_j, d_j in zip(r, d, strict=True)], 1)
        safe = np.where(nk > 0, nk, 1.0)
        shift = s1 / safe
        var_new = np.maximum(s2 / safe - np.square(shift), floor)
        return ll, nk, np.where(nk > 0, mean + shift, mean), np.where(nk > 0, var_new, var)

    ll, w1, m1, var1 = em_pass(y, w, mean, var)
    act = np.arange(c)  # the running chains; (w1, m1, var1, ll, y) hold only their rows
    ll = ll.copy()
    for _ in range(iterations):
        ll_new, w2, m2, var2 = em_pass(y, w1, m1, var1)
        w[act], mean[act], var[act] = w1, m1, var1
        still = ~(ll_new - ll < tol)
        if not still.all():
            act, y, ll_new, w2, m2, var2 = act[still], y[still], ll_new[still], w2[still], m2[still], var2[still]
            if act.size == 0:
                break
        ll, w1, m1, var1 = ll_new, w2, m2, var2
    return w, centre[:, None] + scale[:, None] * mean, scale[:, None] * np.sqrt(var)


def numpy_gmm_em(
    rng: np.random.Generator, m: int, k: int, gens: int, chains: int, dtype=np.float32, iterations=100, tol=1e-6
) -> np.ndarray:
    """Curse of Recursion GMM chain, vectorised over chains: the project's EM in numpy (float32, as the JAX side)."""
    w, mu, sd = (np.broadcast_to(np.asarray(a, dtype), (chains, k)) for a in GMM_TRUTH)
    for _ in range(gens):
        w, mu, sd = _numpy_em(_gmm_draw(rng, w, mu, sd, m, dtype), k, iterations, tol, 1e-6)
    return mu


def sklearn_gmm(rng: np.random.Generator, m: int, k: int, gens: int, chains: int) -> np.ndarray:
    """The Curse of Recursion's code: per chain and generation, ``GaussianMixture(k).fit`` then ``sample(m)``.

    scikit-learn's defaults (k-means init, tol 1e-3 on the lower bound, at most 100 iterations,
    ``reg_covar`` 1e-6); float64. BLAS/OpenMP pools limited to one thread: on a loaded 2-core
    machine sklearn's default threads oversubscribe it (measured 150 ms per fit vs 12 ms at
    load 12), so this is sklearn's faster setting. Imported here, so a missing scikit-learn
    fails this baseline only.
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    w, mu, sd = (np.broadcast_to(np.asarray(a, np.float64), (chains, k)) for a in GMM_TRUTH)
    x = _gmm_draw(rng, w, mu, sd, m, np.float64)
    means = np.zeros((chains, k))
    with threadpool_limits(1):
        for _ in range(gens):
            for c in range(chains):
                gm = GaussianMixture(k, random_state=int(rng.integers(2**31))).fit(x[c][:, None])
                x[c] = gm.sample(m)[0][:, 0]
                means[c] = gm.means_[:, 0]
    return means


# ---------------------------------------------------------------- helpers


def workload(config: ct.SimConfig) -> dict:
    """The settings that differ from SimConfig's defaults (seed and record left out), plus G and C."""
    d = config.to_dict()
    base = ct.SimConfig(family=config.family).to_dict()  # that family's defaults
    out = {k: v for k, v in d.items() if v != base.get(k) and k not in ("seed", "record", "generations", "chains")}
    out = {"family": config.family} | out
    return out | {"generations": config.generations, "chains": config.chains}


def jax_side(impl: str, config: ct.SimConfig, extra: dict | None = None) -> be.Side:
    """A JAX side; ``extra`` (if given) receives the last result's per-chain means of the last generation."""

    def run(rep: int) -> tuple[float, float]:
        r = ct.simulate(config, progress=False)
        if extra is not None:
            for name, v in r.values.items():
                extra[name] = float(np.nanmean(v[-1]))
        return r.timing.run_seconds, r.timing.compile_seconds

    return be.Side(impl, config.chains * config.generations, run, lambda: run(-1), workload(config))


def cfg(family: str, shape: Shape, **kw) -> ct.SimConfig:
    return ct.SimConfig(family=family, generations=shape.g, chains=shape.c, seed=0, record=(shape.g,), **kw)


def run_benchmarks(w: Workloads, repeats: int, only: tuple[str, ...], emit: Callable[[dict], None]) -> int:
    """Run the selected benchmarks, emitting one JSON object per line; return the number of errors."""
    errors = 0

    def guarded(name: str, body: Callable[[], None]) -> None:
        nonlocal errors
        try:
            body()
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

    def compare(name: str, baseline: be.Side | None, sides: list[be.Side]) -> None:
        """Measure baseline and sides interleaved; emit the baseline, then each side against it."""
        measure_list = ([baseline] if baseline is not None else []) + sides
        be.measure(measure_list, repeats)
        if baseline is not None:
            emit(be.line(name, baseline, None, None))
        for s in sides:
            emit(be.line(name, s, baseline, None))

    def kde_replace() -> None:
        m, h = 50, 0.3
        jx = jax_side("jax_sample", cfg("kde", w.kde, scenario="replace", samples=m, bandwidth=h))
        npy = be.numpy_side("numpy_vectorised", numpy_kde, (m, h), w.kde.c, w.kde.g, jx.workload)
        compare("kde_replace", npy, [jx])

    def kde_accumulate() -> None:
        jx = jax_side("jax_sample", cfg("kde", w.kde_acc, scenario="accumulate", samples=50, bandwidth=0.3))
        compare("kde_accumulate", None, [jx])

    def regression() -> None:
        d, t = 10, 40
        exact = jax_side("jax_exact", cfg("regression", w.reg_exact, dim=d, samples=t, design="fixed"))
        sample = jax_side(
            "jax_sample", cfg("regression", w.reg_sample, dim=d, samples=t, design="fresh", kernel="sample")
        )
        npy = be.numpy_side(
            "numpy_vectorised", numpy_regression, (t, d), w.reg_sample.c, w.reg_sample.g, sample.workload
        )
        compare("regression", npy, [sample, exact])

    def poisson() -> None:
        m, rate = 100, 5.0
        exact = jax_side("jax_exact", cfg("poisson", w.pois_exact, rate=rate, samples=m))
        sample = jax_side("jax_sample", cfg("poisson", w.pois_sample, rate=rate, samples=m, kernel="sample"))
        npy = be.numpy_side(
            "numpy_vectorised", numpy_poisson, (m, rate), w.pois_exact.c, w.pois_exact.g, exact.workload
        )
        compare("poisson", npy, [exact, sample])

    def gmm_em() -> None:
        extra: dict = {}
        jx = jax_side("jax_em", cfg("gmm", w.gmm, samples=1000, components=2, em_iterations=w.gmm_iters), extra)
        be.measure([jx], repeats)
        out = be.line("gmm_em", jx, None, None)
        out["em_iterations_mean"] = extra.get("iterations")
        out["converged_fraction"] = extra.get("converged")
        emit(out)

    def gauss(shape: Shape, **kw) -> ct.SimConfig:
        return cfg("gaussian", shape, samples=100, **kw)

    def naive_sample() -> None:
        ref = jax_side("jax_sample", gauss(w.gauss, estimator="unbiased", kernel="sample"))
        sides = [
            jax_side(
                f"jax_naive_{p}_{r}_{a}",
                gauss(w.gauss, estimator="unbiased", kernel="naive-sample", precision=p, rounding=r, accumulation=a),
            )
            for p, r, a in w.naive
        ]
        compare("naive_sample", ref, sides)

    def misspecified() -> None:
        kw = {"estimator": "unbiased", "scenario": "fresh", "real_fraction": 0.5, "kernel": "sample"}
        normal = jax_side("jax_gaussian_truth", gauss(w.misspec, **kw))
        mixture = jax_side("jax_mixture_truth", gauss(w.misspec, truth=MIXTURE, **kw))
        compare("misspecified", normal, [mixture])

    def bayes() -> None:
        ref = jax_side("jax_sample", gauss(w.gauss, estimator="unbiased", kernel="sample"))
        jx = jax_side("jax_bayes", gauss(w.gauss, estimator="bayes", prior=(0.0, 1.0, 2.0, 1.0), kernel="sample"))
        compare("bayes", ref, [jx])

    bodies = {
        "kde_replace": kde_replace,
        "kde_accumulate": kde_accumulate,
        "regression": regression,
        "poisson": poisson,
        "gmm_em": gmm_em,
        "naive_sample": naive_sample,
        "misspecified": misspecified,
        "bayes": bayes,
    }
    for name in BENCHMARKS:
        if name in only:
            guarded(name, bodies[name])
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny workloads (CI): every code path, meaningless ratios")
    parser.add_argument(
        "--repeats", type=int, default=None, help="timed repeats per side after the warm-up (default 3, smoke 2)"
    )
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=BENCHMARKS, help="benchmarks to run")
    args = parser.parse_args(argv)
    repeats = args.repeats if args.repeats is not None else (2 if args.smoke else 3)
    if repeats < 1:
        parser.error("--repeats must be at least 1")

    emit = be.emit

    cache = tempfile.mkdtemp(prefix="bench_families_jax_cache_")
    try:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        emit(
            be.header(args.smoke, repeats)
            | {"script": "bench_families", "jax_dtype": "float32 (naive_sample: per line)"}
        )
        errors = run_benchmarks(SMOKE if args.smoke else FULL, repeats, tuple(args.only), emit)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
