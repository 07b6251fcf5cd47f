"""Engine throughput: collapse_theory's JAX kernels against numpy baselines, side by side.

Four comparisons, each measured in one run with the repeats of the two sides interleaved (so a
background process slows both, not one), each side timed as the best of ``--repeats`` runs after
a warm-up:

1. ``gaussian_exact``: the ``exact`` Gaussian kernel against numpy vectorised over chains, one
   ``standard_normal(C)`` and one ``chisquare(M-1, C)`` per generation. Target ratio >= 1.0.
2. ``gaussian_sample``: the ``sample`` Gaussian kernel against numpy drawing the (C, M) sample
   every generation and refitting mean and variance (ddof = 1). Target >= 1.5.
3. ``categorical_exact``: the categorical ``exact`` kernel against numpy's vectorised
   ``multinomial(M, p)`` on the (C, K) array with p <- counts / M in float64. Target >= 1.0.
4. ``paper_loop``: a paper-style Python loop over chains and generations (numpy per step: draw M
   points, fit mean and std with ddof = 1) on a small workload, against the default ``exact``
   kernel (target >= 300) and, for information, the ``sample`` kernel (no target: drawing every
   point costs ~M normals per chain-generation, which caps it near 10-20x the loop on this CPU).
   The JAX numbers are those of benchmarks 1 and 2.

Unit: chain-generations per second (cg/s). JAX time is ``SimulationResult.timing.run_seconds``
(steady state: compilation excluded, ``simulate`` returns numpy arrays so the device work is
finished); compile time is reported separately: ``compile_s`` is the first, cold compilation and
``compile_cached_s`` the best later one (the engine caches compiled programs in process; a fresh
persistent compilation cache in a temporary directory, removed at exit, backs it up without
making the first compilation warm).

Output: JSON lines on stdout, a ``header`` line with machine and versions first, then one line per
implementation; a JAX line carries ``ratio`` (jax cg/s over the baseline's cg/s), ``target`` and
``meets_target``. A failing benchmark prints an ``error`` line and the rest still run; the exit
status is 1 if any benchmark failed, 0 otherwise (unmet targets do not change it: benchmarks only
print). ``--smoke`` runs tiny workloads through every code path; its ratios mean nothing.

Usage: python benchmarks/bench_engine.py [--smoke] [--repeats R] [--only NAME ...]
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import jax
import numpy as np

import collapse_theory as ct

BENCHMARKS = ("gaussian_exact", "gaussian_sample", "categorical_exact", "paper_loop")
TARGETS = {"gaussian_exact": 1.0, "gaussian_sample": 1.5, "categorical_exact": 1.0, "paper_loop": 300.0}


@dataclass(frozen=True)
class Workloads:
    """Shapes of every benchmark: M samples, G generations, C chains, K states."""

    gauss_m: int
    exact_g: int
    exact_c: int
    sample_g: int
    sample_c: int
    cat_k: int
    cat_m: int
    cat_g: int
    cat_c: int
    loop_g: int
    loop_c: int


FULL = Workloads(100, 1000, 20000, 1000, 2000, 100, 1000, 100, 2000, 200, 20)
SMOKE = Workloads(100, 20, 200, 20, 50, 10, 50, 10, 50, 10, 3)


# ---------------------------------------------------------------- numpy baselines


def numpy_gaussian_exact(rng: np.random.Generator, m: int, gens: int, chains: int) -> np.ndarray:
    """Sufficient-statistic chain: mean <- mean + sd z / sqrt(M), var <- var chi2_{M-1} / (M-1)."""
    mu = np.zeros(chains)
    var = np.ones(chains)
    for _ in range(gens):
        z = rng.standard_normal(chains)
        chi2 = rng.chisquare(m - 1, chains)
        mu += np.sqrt(var * (1.0 / m)) * z
        var *= chi2 * (1.0 / (m - 1))
    return np.stack([mu, var])


def numpy_gaussian_sample(rng: np.random.Generator, m: int, gens: int, chains: int) -> np.ndarray:
    """Draw the (C, M) sample every generation and refit mean and variance (ddof = 1).

    The points are x = mu + sd z; the fit of x is computed from the fit of z (mean and ddof-1
    variance are affine-equivariant), which skips one pass over the (C, M) array and does not
    lose precision as sd shrinks: the strongest numpy version of this workload.
    """
    mu = np.zeros(chains)
    sd = np.ones(chains)
    for _ in range(gens):
        z = rng.standard_normal((chains, m))
        mu += sd * z.mean(axis=1)
        sd *= np.sqrt(z.var(axis=1, ddof=1))
    return np.stack([mu, sd])


def numpy_categorical(rng: np.random.Generator, k: int, m: int, gens: int, chains: int) -> np.ndarray:
    """Wright-Fisher chain: counts ~ Multinomial(M, p) per chain, p <- counts / M in float64."""
    p = np.full((chains, k), 1.0 / k)
    for _ in range(gens):
        counts = rng.multinomial(m, p)
        p = counts / counts.sum(axis=1, keepdims=True)
    return p


def python_loop(rng: np.random.Generator, m: int, gens: int, chains: int) -> np.ndarray:
    """Paper-style code: Python loops over chains and generations, numpy for each step."""
    out = np.empty((chains, 2))
    for c in range(chains):
        mu, sd = 0.0, 1.0
        for _ in range(gens):
            x = rng.normal(mu, sd, m)
            mu = x.mean()
            sd = x.std(ddof=1)
        out[c] = mu, sd
    return out


# ---------------------------------------------------------------- timing


@dataclass
class Side:
    """One implementation of a benchmark: ``run(rep)`` returns (run seconds, compile seconds or None)."""

    impl: str
    work: int
    run: Callable[[int], tuple[float, float | None]]
    warmup: Callable[[], object]
    workload: dict
    seconds: list[float] | None = None
    compiles: list[float] | None = None

    @property
    def best(self) -> float:
        return min(self.seconds)

    @property
    def cg_per_s(self) -> float:
        return self.work / self.best


def numpy_side(impl: str, fn: Callable[..., object], args: tuple, chains: int, gens: int, workload: dict) -> Side:
    def run(rep: int) -> tuple[float, None]:
        rng = np.random.default_rng(1000 + rep)
        t0 = time.perf_counter()
        fn(rng, *args, gens, chains)
        return time.perf_counter() - t0, None

    def warmup() -> object:
        return fn(np.random.default_rng(999), *args, max(1, gens // 10), chains)

    return Side(impl, chains * gens, run, warmup, workload)


def jax_side(impl: str, config: ct.SimConfig, workload: dict) -> Side:
    def run(rep: int) -> tuple[float, float]:
        r = ct.simulate(config, progress=False)
        return r.timing.run_seconds, r.timing.compile_seconds

    def warmup() -> object:
        return run(-1)

    return Side(impl, config.chains * config.generations, run, warmup, workload)


def measure(sides: list[Side], repeats: int) -> None:
    """Warm every side up, then run the repeats interleaved: a, b, a, b, ..."""
    for s in sides:
        s.seconds, s.compiles = [], []
        first = s.warmup()
        if isinstance(first, tuple) and first[1] is not None:
            s.compiles.append(first[1])
    for rep in range(repeats):
        for s in sides:
            sec, comp = s.run(rep)
            s.seconds.append(sec)
            if comp is not None:
                s.compiles.append(comp)


def line(benchmark: str, side: Side, baseline: Side | None, target: float | None) -> dict:
    out: dict = {
        "benchmark": benchmark,
        "impl": side.impl,
        "cg_per_s": side.cg_per_s,
        "best_s": side.best,
        "times_s": side.seconds,
        "compile_s": side.compiles[0] if side.compiles else None,
        "compile_cached_s": min(side.compiles[1:]) if len(side.compiles) > 1 else None,
        "baseline": baseline.impl if baseline is not None else None,
        "ratio": side.cg_per_s / baseline.cg_per_s if baseline is not None else None,
        "target": target,
        "meets_target": None,
        "workload": side.workload,
    }
    if baseline is not None and baseline.workload != side.workload:
        out["baseline_workload"] = baseline.workload
    if target is not None and out["ratio"] is not None:
        out["meets_target"] = bool(out["ratio"] >= target)
    return out


# ---------------------------------------------------------------- benchmarks


def gaussian_config(kernel: str, m: int, gens: int, chains: int) -> ct.SimConfig:
    return ct.SimConfig(
        family="gaussian",
        estimator="unbiased",
        scenario="replace",
        samples=m,
        generations=gens,
        chains=chains,
        seed=0,
        kernel=kernel,
        record=(gens,),
    )


def run_benchmarks(w: Workloads, repeats: int, only: tuple[str, ...], emit: Callable[[dict], None]) -> int:
    """Run the selected benchmarks, emitting one JSON object per line; return the number of errors."""
    errors = 0
    jax_sides: dict[str, Side] = {}

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

    def gaussian(name: str, kernel: str, fn: Callable[..., object], gens: int, chains: int) -> None:
        wl = {"family": "gaussian", "kernel": kernel, "samples": w.gauss_m, "generations": gens, "chains": chains}
        jx = jax_side(f"jax_{kernel}", gaussian_config(kernel, w.gauss_m, gens, chains), wl)
        npy = numpy_side("numpy_vectorised", fn, (w.gauss_m,), chains, gens, wl)
        measure([npy, jx], repeats)
        jax_sides[kernel] = jx
        emit(line(name, npy, None, None))
        emit(line(name, jx, npy, TARGETS[name]))

    def categorical() -> None:
        k, m, gens, chains = w.cat_k, w.cat_m, w.cat_g, w.cat_c
        wl = {
            "family": "categorical",
            "kernel": "exact",
            "states": k,
            "samples": m,
            "generations": gens,
            "chains": chains,
        }
        cfg = ct.SimConfig(
            family="categorical",
            probs=tuple([1.0 / k] * k),
            samples=m,
            generations=gens,
            chains=chains,
            seed=0,
            kernel="exact",
            record=(gens,),
        )
        jx = jax_side("jax_exact", cfg, wl)
        npy = numpy_side("numpy_vectorised", numpy_categorical, (k, m), chains, gens, wl)
        measure([npy, jx], repeats)
        emit(line("categorical_exact", npy, None, None))
        emit(line("categorical_exact", jx, npy, TARGETS["categorical_exact"]))

    def paper_loop() -> None:
        wl = {"family": "gaussian", "samples": w.gauss_m, "generations": w.loop_g, "chains": w.loop_c}
        loop = numpy_side("python_loop", python_loop, (w.gauss_m,), w.loop_c, w.loop_g, wl)
        measure([loop], repeats)
        emit(line("paper_loop", loop, None, None))
        for kernel, target in (("exact", TARGETS["paper_loop"]), ("sample", None)):
            jx = jax_sides.get(kernel)
            if jx is None:
                emit(
                    {
                        "benchmark": "paper_loop",
                        "impl": f"jax_{kernel}",
                        "error": f"gaussian_{kernel} was not run or failed",
                    }
                )
                continue
            emit(line("paper_loop", jx, loop, target))

    if "gaussian_exact" in only or "paper_loop" in only:
        guarded(
            "gaussian_exact", lambda: gaussian("gaussian_exact", "exact", numpy_gaussian_exact, w.exact_g, w.exact_c)
        )
    if "gaussian_sample" in only or "paper_loop" in only:
        guarded(
            "gaussian_sample",
            lambda: gaussian("gaussian_sample", "sample", numpy_gaussian_sample, w.sample_g, w.sample_c),
        )
    if "categorical_exact" in only:
        guarded("categorical_exact", categorical)
    if "paper_loop" in only:
        guarded("paper_loop", paper_loop)
    return errors


def header(smoke: bool, repeats: int) -> dict:
    import jaxlib

    return {
        "benchmark": "header",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "cpu_affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "jax": jax.__version__,
        "jaxlib": jaxlib.__version__,
        "jax_backend": jax.default_backend(),
        "jax_devices": [str(d) for d in jax.devices()],
        "numpy": np.__version__,
        "collapse_theory": ct.__version__,
        "jax_dtype": "float32",
        "numpy_dtype": "float64",
        "unit": "chain-generations per second",
        "repeats": repeats,
        "smoke": smoke,
    }


def emit(obj: dict) -> None:
    """Print one JSON line; non-finite floats become ``null`` (standard JSON)."""
    obj = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in obj.items()}
    print(json.dumps(obj), flush=True)


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

    cache = tempfile.mkdtemp(prefix="bench_engine_jax_cache_")
    try:
        jax.config.update("jax_compilation_cache_dir", cache)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        emit(header(args.smoke, repeats))
        errors = run_benchmarks(SMOKE if args.smoke else FULL, repeats, tuple(args.only), emit)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
