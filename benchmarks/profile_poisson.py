"""Where a generation of the Poisson exact workload spends its time (rate 1, M = 100, 20 000 chains).

Pieces, each jitted on its own and timed as the best of ``--reps`` calls (absolute numbers move
with the machine's load; compare pieces of one run only):

* the engine's compiled ``advance`` over generation windows of the real run (per generation);
* the same ``fori_loop`` with the family's draw replaced by a stub of one elementwise op (the
  engine's fixed cost per generation: key folding, loop carry, the fit);
* ``poisson_total`` alone on the rate vectors of the run at the start of each window;
* numpy's ``rng.poisson`` on the same vectors.

Usage: python benchmarks/profile_poisson.py [--reps N]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

import collapse_theory as ct
from collapse_theory.engine import _graph, _program
from collapse_theory.random import bits
from collapse_theory.random import purposes as tags
from collapse_theory.random.poisson_total import poisson_total

C, M, G = 20000, 100, 1000
WINDOWS = ((0, 10), (10, 50), (50, 100), (100, 200), (200, 400), (400, 700), (700, 1000))


def best(f, reps):
    """Best seconds of ``f()`` over ``reps`` calls after one warm-up."""
    jax.block_until_ready(f())
    t = np.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        jax.block_until_ready(f())
        t = min(t, time.perf_counter() - t0)
    return t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    reps = ap.parse_args().reps
    config = ct.SimConfig(family="poisson", generations=G, chains=C, seed=0, record=(G,), rate=1.0, samples=M)
    config = config.validated()
    from collapse_theory.engine import _working_set
    from collapse_theory.runtime.plan import make_plan

    sb, pb, rows = _working_set(config, jnp.float32)
    plan = make_plan(
        config, state_bytes=sb, step_bytes=pb, measure_rows=rows, devices=None, keep_chains=None, process=0, processes=1
    )
    prog = _program(_graph(config), plan.chunk, jnp.float32, plan.devices, None)
    lanes = plan.chunk
    print(f"lanes per chunk {lanes}, chunks {plan.steps}")
    run_key = prog.put(bits.fold(bits.key_from_seed(0), tags.GENERATIONS))
    sizes = prog.put(np.full((G,), M, np.float32))
    lo = prog.put(np.uint32(0))
    state = prog.init()
    starts = {}
    for a, b in WINDOWS:
        starts[a] = state
        state = prog.advance(state, lo, run_key, sizes, prog.put(np.int32(a)), prog.put(np.int32(b)))
    chains = jnp.arange(lanes, dtype=jnp.uint32)

    @jax.jit
    def stub(rate, key, a, b):
        def body(t, r):
            k = bits.fold(bits.fold(bits.fold(key, t), tags.SYNTHETIC), tags.POISSON_TOTAL)
            return (r * 0.5 + k[0].astype(jnp.float32) * 1e-12) / jnp.maximum(1.0, 1.0)

        return jax.lax.fori_loop(a, b, body, rate)

    @jax.jit
    def draw(key, lam):
        return poisson_total(key, chains, lam)

    k0 = bits.fold(run_key, 7)
    rng = np.random.default_rng(0)
    print(
        f"{'window':>10} {'alive':>6} {'mean lam|alive':>14} {'advance us/g':>12} {'stub us/g':>9} "
        f"{'draw us':>8} {'numpy us':>8}"
    )
    for a, b in WINDOWS:
        s = starts[a]
        rate = np.asarray(s.rate)
        lam = M * rate
        alive = lam > 0
        ta = best(lambda: prog.advance(s, lo, run_key, sizes, prog.put(np.int32(a)), prog.put(np.int32(b))), reps)
        ts = best(lambda: stub(s.rate, run_key, a, b), reps)
        lam_d = jnp.asarray(lam, jnp.float32)
        td = best(lambda: draw(k0, lam_d), reps * 10)
        lam64 = lam[:C].astype(np.float64)
        t0 = time.perf_counter()
        for _ in range(reps * 10):
            rng.poisson(lam64)
        tn = (time.perf_counter() - t0) / (reps * 10)
        n = b - a
        print(
            f"{a:>4}-{b:<5} {alive.mean():6.2f} {lam[alive].mean() if alive.any() else 0:14.1f} "
            f"{ta / n * 1e6:12.1f} {ts / n * 1e6:9.1f} {td * 1e6:8.1f} {tn * 1e6:8.1f}"
        )


if __name__ == "__main__":
    main()
