"""Wright-Fisher multinomial chain: JAX tree multinomial vs numpy's vectorised multinomial.

Workload: K states, n draws per generation, C chains, G generations; each generation draws
counts ~ Multinomial(n, p) per chain and sets p <- counts / n (p starts uniform). JAX runs the
generations in one jitted ``lax.scan``; numpy calls ``Generator.multinomial(n, p)`` on the (C, K)
array once per generation. Both are timed side by side, interleaved, ``--repeats`` times; the
JSON lines report the best and median times, chain-generations per second (cg/s) and the ratio
jax / numpy of throughputs (> 1: JAX faster). JAX compile time is reported separately.

The machine is shared, so JAX's two-thread kernels can wait for a busy core; ``--cores 1`` pins
the process (numpy is single-threaded anyway) for a steadier comparison. The load average is
recorded with each run.

Usage: python benchmarks/bench_multinomial_draft.py [--smoke] [--cores N] [--repeats R] [--float64]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    ap.add_argument("--chains", type=int, default=2000)
    ap.add_argument("--states", type=int, default=100)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--gens", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cores", type=int, default=0, help="pin to this many cores (0: no pinning)")
    ap.add_argument("--float64", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.chains, args.gens, args.repeats = 50, 5, 1
    if args.cores:
        os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[: args.cores])

    import jax  # after pinning: the CPU client sizes its thread pool at start-up
    import jax.numpy as jnp
    import numpy as np

    from collapse_theory.random import bits
    from collapse_theory.random.multinomial import multinomial

    C, K, n, G = args.chains, args.states, args.draws, args.gens
    dtype = jnp.float64 if args.float64 else jnp.float32

    def numpy_run(seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        p = np.full((C, K), 1.0 / K)
        for _ in range(G):
            p = rng.multinomial(n, p) / n
        return p

    with jax.enable_x64(args.float64):
        chains = jnp.arange(C, dtype=jnp.uint32)
        draws = jnp.full((C,), n, dtype)

        @jax.jit
        def jax_run(key):
            def step(p, g):
                return multinomial(bits.fold(key, g, 1), chains, draws, p, dtype) / n, None

            p0 = jnp.full((C, K), 1.0 / K, dtype)
            return jax.lax.scan(step, p0, jnp.arange(G, dtype=jnp.uint32))[0]

        t0 = time.perf_counter()
        jax.block_until_ready(jax_run(bits.key_from_seed(0)))
        compile_s = time.perf_counter() - t0
        t_np, t_jax = [], []
        for r in range(args.repeats):  # interleaved, so both see the same machine load
            t0 = time.perf_counter()
            numpy_run(r)
            t_np.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            jax.block_until_ready(jax_run(bits.key_from_seed(r + 1)))
            t_jax.append(time.perf_counter() - t0)

    meta = {
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "loadavg_1min": os.getloadavg()[0],
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "chains": C,
        "states": K,
        "draws": n,
        "gens": G,
        "dtype": jnp.dtype(dtype).name,
        "repeats": args.repeats,
    }
    cg = C * G
    for impl, ts, extra in (("numpy.multinomial", t_np, {}), ("jax.tree_multinomial", t_jax, {"compile_s": compile_s})):
        best, med = min(ts), statistics.median(ts)
        print(json.dumps({**meta, "impl": impl, "best_s": best, "median_s": med, "cg_per_s": cg / best, **extra}))
    ratio = {"ratio_best": min(t_np) / min(t_jax), "ratio_median": statistics.median(t_np) / statistics.median(t_jax)}
    print(json.dumps({**meta, **ratio}))


if __name__ == "__main__":
    main()
