"""Wright-Fisher multinomial chain: JAX tree multinomial vs numpy's vectorised multinomial.

Workload: K states, n draws per generation, C chains, G generations; each generation draws
counts ~ Multinomial(n, p) per chain and sets p <- counts / n. Throughput is reported in
chain-generations per second (cg/s), numpy and JAX measured side by side in one run; JAX compile
time is reported separately. Prints one JSON line per measurement and one with the ratio.

Usage: python benchmarks/bench_multinomial_draft.py [--smoke] [--chains C] [--repeats R]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits
from collapse_theory.random.binomial import multinomial


def numpy_run(chains: int, states: int, n: int, gens: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = np.full((chains, states), 1.0 / states)
    for _ in range(gens):
        counts = rng.multinomial(n, p)
        p = counts / n
    return p


def make_jax_run(chains: int, states: int, n: int, gens: int, dtype):
    ch = jnp.arange(chains, dtype=jnp.uint32)
    nn = jnp.full((chains,), n, dtype)

    @jax.jit
    def run(key):
        def step(p, g):
            counts = multinomial(bits.fold(key, g, 1), ch, nn, p, dtype)
            return counts / n, None

        p0 = jnp.full((chains, states), 1.0 / states, dtype)
        p, _ = jax.lax.scan(step, p0, jnp.arange(gens, dtype=jnp.uint32))
        return p

    return run


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    ap.add_argument("--chains", type=int, default=2000)
    ap.add_argument("--states", type=int, default=100)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--gens", type=int, default=100)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--float64", action="store_true")
    args = ap.parse_args()
    if args.smoke:
        args.chains, args.gens, args.repeats = 50, 5, 1
    C, K, n, G = args.chains, args.states, args.draws, args.gens
    dtype = jnp.float64 if args.float64 else jnp.float32
    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "jax": jax.__version__,
        "numpy": np.__version__,
        "chains": C,
        "states": K,
        "draws": n,
        "gens": G,
        "dtype": jnp.dtype(dtype).name,
    }
    with jax.enable_x64(args.float64):
        run = make_jax_run(C, K, n, G, dtype)
        key = bits.key_from_seed(0)
        t0 = time.perf_counter()
        jax.block_until_ready(run(key))
        compile_s = time.perf_counter() - t0
        t_np = t_jax = float("inf")
        for r in range(args.repeats):  # interleave so both see the same machine load
            t_np = min(t_np, best_time(lambda: numpy_run(C, K, n, G, r), 1))
            key = bits.key_from_seed(r + 1)
            t_jax = min(t_jax, best_time(lambda: jax.block_until_ready(run(key)), 1))
    cg = C * G
    print(json.dumps({**meta, "impl": "numpy.multinomial", "seconds": t_np, "cg_per_s": cg / t_np}))
    print(
        json.dumps(
            {**meta, "impl": "jax.tree_multinomial", "seconds": t_jax, "cg_per_s": cg / t_jax, "compile_s": compile_s}
        )
    )
    print(json.dumps({**meta, "ratio_jax_over_numpy": t_np / t_jax}))


if __name__ == "__main__":
    main()
