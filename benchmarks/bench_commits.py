"""Built-in kernels of two checkouts side by side: did a change slow any family down?

Run each side's Python (each venv has its own checkout installed) in turn, A B A B ..., every
pass running every workload once after a compile warm-up; report the best steady-state
``timing.run_seconds`` of each side and the ratio, with the load average:

    python benchmarks/bench_commits.py --a .venv/bin/python --b ../old/.venv/bin/python --passes 3

Workloads are flat ``SimConfig`` dictionaries that every version accepts (one per family and
kernel, at realistic sizes). ``--worker`` runs one pass and prints JSON (used by the driver).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

WORKLOADS: dict[str, dict] = {
    "gaussian_exact": dict(family="gaussian", estimator="unbiased", samples=100, generations=1000, chains=20000),
    "gaussian_exact_20480": dict(family="gaussian", estimator="unbiased", samples=100, generations=1000, chains=20480),
    "gaussian_sample": dict(
        family="gaussian", estimator="unbiased", kernel="sample", samples=100, generations=1000, chains=2000
    ),
    "gaussian_nd_exact": dict(family="gaussian", estimator="unbiased", dim=3, samples=20, generations=200, chains=5000),
    "gaussian_subsample": dict(
        family="gaussian", estimator="mle", scenario="accumulate-subsample", samples=20, generations=100, chains=2000
    ),
    "categorical_exact": dict(
        family="categorical", probs=tuple([0.01] * 100), samples=1000, generations=100, chains=2000
    ),
    "kde_replace": dict(family="kde", bandwidth=0.3, samples=100, generations=200, chains=2000),
    "regression_exact": dict(family="regression", dim=10, samples=40, generations=100, chains=20000),
    "poisson_exact": dict(family="poisson", rate=1.0, samples=100, generations=1000, chains=20000),
    "gmm_em": dict(family="gmm", samples=1000, generations=10, chains=64),
    "naive_float16": dict(
        family="gaussian",
        estimator="unbiased",
        kernel="naive-sample",
        precision="float16",
        mean=(1.0,),
        samples=10,
        generations=300,
        chains=2000,
    ),
    "bayes": dict(
        family="gaussian",
        estimator="bayes",
        prior=(0.0, 1.0, 2.0, 1.0),
        kernel="sample",
        samples=10,
        generations=500,
        chains=2000,
    ),
}


def worker(names: list[str], repeats: int) -> dict:
    """One pass: each workload compiled once, then its best of ``repeats`` run times."""
    import collapse_theory as ct

    out = {}
    for name in names:
        cfg = ct.SimConfig(**WORKLOADS[name], seed=0, record=(WORKLOADS[name]["generations"],))
        ct.simulate(cfg, progress=False)  # compile
        out[name] = min(ct.simulate(cfg, progress=False).timing.run_seconds for _ in range(repeats))
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", default=sys.executable, help="Python of side A (default: this one)")
    p.add_argument("--b", help="Python of side B")
    p.add_argument("--passes", type=int, default=3)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--only", nargs="*", choices=sorted(WORKLOADS))
    p.add_argument("--worker", action="store_true")
    a = p.parse_args()
    names = a.only or list(WORKLOADS)
    if a.worker:
        print(json.dumps(worker(names, a.repeats)))
        return 0
    if not a.b:
        p.error("--b is required")
    best: dict[str, dict[str, float]] = {"a": {}, "b": {}}
    loads = []
    for i in range(a.passes):
        for side in ("a", "b") if i % 2 == 0 else ("b", "a"):
            exe = getattr(a, side)
            cmd = [exe, os.path.abspath(__file__), "--worker", "--repeats", str(a.repeats), "--only", *names]
            loads.append(os.getloadavg()[0])
            res = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)
            for k, v in res.items():
                best[side][k] = min(v, best[side].get(k, float("inf")))
            print(f"# pass {i + 1} side {side} done ({time.strftime('%H:%M:%S')})", file=sys.stderr)
    print(f"# load average (1 min) at the passes: {min(loads):.2f}..{max(loads):.2f}")
    print(f"{'workload':22} {'A run s':>10} {'B run s':>10} {'B/A':>7}")
    for k in names:
        ta, tb = best["a"][k], best["b"][k]
        print(f"{k:22} {ta:10.4f} {tb:10.4f} {tb / ta:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
