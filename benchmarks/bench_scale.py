"""Scale-out measurements: device scaling, streamed memory, and a 10^9-chain run.

Each measurement runs in a fresh process (so peak RSS is that run's alone, and the forced host
device count applies):

* ``devices``: the exact Gaussian and the sample categorical kernel on 1 and 2 devices of this
  CPU (``XLA_FLAGS=--xla_force_host_platform_device_count=2``), interleaved pass by pass, best
  run time per side, ratio 2-device / 1-device throughput. On a 2-core machine two host devices
  share the cores one device already uses through XLA's thread pool, so a ratio near 1 is the
  expected result there; the measurement shows that sharding costs nothing and that results are
  unchanged (checked: the two sides' summaries are compared bit for bit).
* ``rss``: peak resident memory of a 5 * 10^7-chain, 10-generation exact Gaussian run with
  streamed summaries (``keep_chains=False``), against the same run's kept-chains estimate.
* ``billion``: a 10^9-chain exact Gaussian run (``--generations``, default 2) streamed: its run
  time, compile time and peak RSS.

Usage::

    python benchmarks/bench_scale.py devices rss          # a few minutes on 2 cores
    python benchmarks/bench_scale.py billion --generations 2

Prints one JSON line per measurement, then a short table; every line carries the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent(
    """
    import json, os, resource, sys, time
    import numpy as np
    import collapse_theory as ct
    kw = json.loads(sys.argv[1])
    devices = kw.pop("devices", None)
    keep = kw.pop("keep_chains", None)
    t0 = time.perf_counter()
    r = ct.simulate(ct.SimConfig(**kw), progress=False, devices=devices, keep_chains=keep)
    wall = time.perf_counter() - t0
    digest = {k: [float(x) for x in np.ravel(r.summary(k).mean)] for k in r.metric_names}
    print(json.dumps(dict(
        run_s=r.timing.run_seconds, compile_s=r.timing.compile_seconds, wall_s=wall,
        cg_per_s=r.timing.chain_generations_per_second, devices=getattr(r.timing, "devices", None),
        peak_rss_gib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, digest=digest,
    )))
    """
)


def child(kw: dict, forced_devices: int | None = None) -> dict:
    """Run one configuration in a fresh interpreter; return its JSON line."""
    env = dict(os.environ)
    if forced_devices:
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={forced_devices}"
    out = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(kw)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


WORKLOADS = {
    "exact_gaussian": dict(family="gaussian", estimator="unbiased", samples=100, generations=200, chains=400_000),
    "sample_categorical": dict(
        family="categorical", probs=(0.5, 0.3, 0.2), kernel="sample", samples=100, generations=50, chains=40_000
    ),
}


def devices(passes: int, emit) -> None:
    """1 vs 2 host devices, interleaved; the summaries of the two sides compared exactly."""
    for name, kw in WORKLOADS.items():
        best: dict[int, dict] = {}
        for _ in range(passes):
            for n in (1, 2):
                r = child(dict(kw, seed=1, record=(kw["generations"],), devices=n), forced_devices=2)
                if n not in best or r["run_s"] < best[n]["run_s"]:
                    best[n] = r
        same = best[1]["digest"] == best[2]["digest"]
        emit(
            dict(
                measure="devices",
                workload=name,
                passes=passes,
                one_device_cg_per_s=best[1]["cg_per_s"],
                two_device_cg_per_s=best[2]["cg_per_s"],
                ratio=best[2]["cg_per_s"] / best[1]["cg_per_s"],
                summaries_identical=same,
            )
        )


def rss(emit, chains: int = 50_000_000, generations: int = 10) -> None:
    """Peak RSS of a streamed 5e7-chain exact Gaussian run."""
    kw = dict(family="gaussian", estimator="unbiased", samples=100, generations=generations, chains=chains, seed=2)
    r = child(dict(kw, keep_chains=False))
    kept_gib = chains * (generations + 1) * 8 * 6 / 2**30  # float64 x ~6 Gaussian metrics, every generation
    emit(dict(measure="rss", chains=chains, generations=generations, streamed=r, kept_estimate_gib=kept_gib))


def billion(emit, generations: int) -> None:
    """A 10^9-chain exact Gaussian run, streamed."""
    kw = dict(family="gaussian", estimator="unbiased", samples=100, generations=generations, chains=10**9, seed=3)
    emit(dict(measure="billion", generations=generations, result=child(dict(kw, keep_chains=False))))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", nargs="+", choices=("devices", "rss", "billion"))
    ap.add_argument("--passes", type=int, default=3)
    ap.add_argument("--generations", type=int, default=2, help="generations of the 10^9-chain run")
    a = ap.parse_args(argv)

    def emit(obj):
        obj["loadavg"] = os.getloadavg()
        print(json.dumps(obj), flush=True)

    for w in a.what:
        {
            "devices": lambda: devices(a.passes, emit),
            "rss": lambda: rss(emit),
            "billion": lambda: billion(emit, a.generations),
        }[w]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
