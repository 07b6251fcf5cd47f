"""This machine's random-bit throughput, and the fraction of it each exact kernel reaches.

Measures the counter-based stream every kernel draws from (Threefry-2x32, 20 rounds,
:func:`collapse_theory.random.bits.words`, two 32-bit words per block) in a compiled loop over
``--lanes`` counters per call, and numpy's PCG64 (``rng.integers`` of 32-bit words) for
reference; then, given a ``bench_workloads.py`` run, divides each exact kernel's words per
second (chain-generations per second times the words it needs per chain-generation, from
``benchmarks/README.md``) by the stream's throughput.

Usage: python benchmarks/rng_throughput.py [--lanes N] [RUN.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import jax
import jax.numpy as jnp
import numpy as np

from collapse_theory.random import bits

# Words of the stream per chain-generation (float32), first attempts only; rejection adds
# 1 / (1 - rho) (see benchmarks/README.md). Poisson and categorical: per live chain / random node.
WORDS = {
    "gauss_exact_1000g": 4.0,  # two Threefry blocks hashed: the chi-square attempt 0 (x, u), the mean's normal (and the boost)
    "poisson_1000g": 2.0,  # one block per live chain (PTRS pair, or the inversion uniform)
    "cat_1000g_400c": 2.0 * 99,  # one block per random tree node: at most K - 1 = 99 per chain
    "cat_1000g_2000c": 2.0 * 99,
    "cat_100g_2000c": 2.0 * 99,
}


def threefry_words_per_s(lanes: int, reps: int = 20) -> float:
    """Threefry words per second: ``lanes`` blocks per call, summed so nothing is dropped."""
    chains = jnp.arange(lanes, dtype=jnp.uint32)

    @jax.jit
    def run(key):
        def body(t, acc):
            w = bits.words(bits.fold(key, t), chains, 2)
            return acc ^ w[:, 0] ^ w[:, 1]

        return jax.lax.fori_loop(0, reps, body, jnp.zeros((lanes,), jnp.uint32))

    key = bits.key_from_seed(0)
    run(key).block_until_ready()
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        run(key).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return 2 * lanes * reps / best


def numpy_words_per_s(lanes: int, reps: int = 20) -> float:
    rng = np.random.default_rng(0)
    best = float("inf")
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(reps):
            rng.integers(0, 2**32, size=2 * lanes, dtype=np.uint32)
        best = min(best, time.perf_counter() - t0)
    return 2 * lanes * reps / best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", type=int, default=2**18, help="blocks per call (default 2**18)")
    parser.add_argument("run", nargs="?", help="a bench_workloads.py JSON-lines file")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    tf = threefry_words_per_s(args.lanes)
    npw = numpy_words_per_s(args.lanes)
    print(
        json.dumps(
            {"threefry_words_per_s": tf, "numpy_pcg64_words_per_s": npw, "lanes": args.lanes, "loadavg_1min": load}
        )
    )
    if args.run:
        with open(args.run) as f:
            lines = [json.loads(s) for s in f if s.strip()]
        for d in lines:
            if d.get("benchmark") in WORDS and d.get("impl") == "jax":
                w = d["cg_per_s"] * WORDS[d["benchmark"]]
                print(
                    f"{d['benchmark']}: {d['cg_per_s']:.3g} cg/s x {WORDS[d['benchmark']]:g} words = {w:.3g} words/s "
                    f"= {w / tf:.1%} of the stream (an upper bound for the live-support kernels, whose chains "
                    "or nodes are not all drawn)"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
