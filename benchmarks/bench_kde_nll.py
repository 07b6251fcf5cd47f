"""Cost of the KDE ``nll`` metric: the panel rule (metrics/kde_nll.py) against the former
256-node trapezoid, side by side, on the metric alone (float64, as the engine measures).

Cases: 2000 chains x S = 100 (replace-sized buffers) and 64 chains x S = 20000 (an accumulate
pool), at fixed h = 0.3 and 0.05 and Silverman's rule. Protocol as bench_workloads.py: both
compiled first, then ``--repeats`` interleaved repeats (old, new, old, new, ...); each JSON line
gives the best times, the ratio of best times, the median of the pairs' ratios, the nodes of
both rules and the 1-minute load average before and after.

Usage: python benchmarks/bench_kde_nll.py [--repeats R] [--smoke] > run.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from collapse_theory.families import pointset  # noqa: E402
from collapse_theory.families.kde import Params, kde  # noqa: E402
from collapse_theory.metrics import kde_nll  # noqa: E402

CASES = [(2000, 100, 0.3), (2000, 100, 0.05), (64, 20000, 0.3), (64, 20000, "silverman"), (64, 20000, 0.05)]


def _params(chains, size, h, fam):
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(chains, size)))
    pts = pointset.Points(x, jnp.full((chains,), float(size)))
    if isinstance(h, str):
        return jax.jit(fam.fit)(pts)
    one = jnp.ones((chains,))
    return Params(pts, jnp.full((chains,), h), pts.n, one)


def _time(fn, p):
    t0 = time.perf_counter()
    jax.block_until_ready(fn(p))
    return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--smoke", action="store_true")
    args = ap.parse_args()
    cases = [(128, 50, 0.3)] if args.smoke else CASES
    for chains, size, h in cases:
        new = kde(0.0, 1.0, h, size=size, dtype=jnp.float64)
        old = kde(0.0, 1.0, h, size=size, dtype=jnp.float64, nll_nodes=256)
        p = _params(chains, size, h, new)
        f_new = jax.jit(lambda q, f=new: f.metrics(q)["nll"])
        f_old = jax.jit(lambda q, f=old: f.metrics(q)["nll"])
        load0 = os.getloadavg()[0]
        c_old, c_new = _time(f_old, p), _time(f_new, p)  # compile + first run
        t_old, t_new = [], []
        for _ in range(args.repeats):
            t_old.append(_time(f_old, p))
            t_new.append(_time(f_new, p))
        diff = float(jnp.max(jnp.abs(f_new(p) - f_old(p)) / jnp.abs(f_new(p))))
        t_d = 0.8 * (1.059 if h == "scott" else 0.9) * size**-0.2 if isinstance(h, str) else h
        plan = kde_nll.plan(t_d, size)
        nodes = kde_nll.ORDER * (int(2 * kde_nll.RANGE) + 1 + plan.body + plan.cuts + 2 * plan.levels)
        print(
            json.dumps(
                {
                    "chains": chains,
                    "size": size,
                    "h": h,
                    "nodes_old": 256,
                    "nodes_new": nodes,
                    "best_old_s": min(t_old),
                    "best_new_s": min(t_new),
                    "ratio_best": min(t_new) / min(t_old),
                    "ratio_median_pairs": statistics.median(n / o for n, o in zip(t_new, t_old, strict=True)),
                    "first_old_s": c_old,
                    "first_new_s": c_new,
                    "max_rel_diff_new_vs_old": diff,
                    "load_before": load0,
                    "load_after": os.getloadavg()[0],
                    "jax": jax.__version__,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()
