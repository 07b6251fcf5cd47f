"""The Python side of ``benchmarks/gpu_check.sh``: throughput on one backend, bit-identity across them.

    python benchmarks/gpu_check.py --side gpu --out gpu.json     # full sizes, on the default backend
    JAX_PLATFORMS=cpu python benchmarks/gpu_check.py --side cpu --out cpu.json
    python benchmarks/gpu_check.py --report cpu.json gpu.json   # the table and the bit-identity verdicts

Each side runs, per kernel, a warm-up (compile; one chunk) and one timed run, and the small
bit-identity configurations (per-chain values kept in the JSON as SHA-256s and as values).
``--quick`` shrinks every size (a CPU dry run of the script).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

REF_2CORE = {"exact_gaussian": 2.6e7, "sample_gaussian": 1.9e6, "categorical_exact": 1.6e6}
"""cg/s of the same kernels on the project's shared 2-core CPU machine (benchmarks/README.md)."""

KERNELS = {
    "exact_gaussian": dict(family="gaussian", estimator="unbiased", samples=100),
    "sample_gaussian": dict(family="gaussian", estimator="unbiased", kernel="sample", samples=100),
    "categorical_exact": dict(family="categorical", probs=tuple([0.01] * 100), samples=1000),
}
# (chains, generations): full sizes fill an H100/H200 (4M lanes a step where the working set allows)
SIZES = {
    "gpu": {"exact_gaussian": (2**24, 400), "sample_gaussian": (2**22, 100), "categorical_exact": (2**21, 20)},
    "cpu": {"exact_gaussian": (2**17, 100), "sample_gaussian": (2**13, 50), "categorical_exact": (2**13, 10)},
    "quick": {"exact_gaussian": (2**12, 10), "sample_gaussian": (2**10, 5), "categorical_exact": (2**10, 3)},
}
IDENTITY = dict(chains=1000, generations=20, record=(0, 1, 5, 20), seed=11)


def _run(ct, kw, **extra):
    t0 = time.perf_counter()
    r = ct.simulate(ct.SimConfig(**kw, **extra), progress=False, keep_chains=True)
    return r, time.perf_counter() - t0


def side(name: str, quick: bool) -> dict:
    """Throughput and bit-identity runs on the default backend."""
    import jax

    import collapse_theory as ct

    devs = jax.devices()
    out: dict = {
        "side": name,
        "platform": devs[0].platform,
        "device_kind": devs[0].device_kind,
        "devices": len(devs),
        "jax": jax.__version__,
        "cpu_count": os.cpu_count(),
        "load_avg": os.getloadavg(),
        "throughput": {},
        "identity": {},
    }
    sizes = SIZES["quick" if quick else name]
    for k, kw in KERNELS.items():
        chains, gens = sizes[k]
        base = dict(kw, generations=gens, record=(gens,), metrics=("sigma2",) if "gaussian" in k else ("tv",))
        try:
            warm, wall = _run(ct, base, chains=min(chains, 2**22))  # compiles the program of one chunk
            r, wall = _run(ct, base, chains=chains)
            out["throughput"][k] = dict(
                chains=chains,
                generations=gens,
                cg_per_s=r.timing.chain_generations_per_second,
                run_s=r.timing.run_seconds,
                compile_s=warm.timing.compile_seconds,
                wall_s=wall,
            )
        except Exception as e:  # noqa: BLE001 - report and go on with the next kernel
            out["throughput"][k] = dict(error=f"{type(e).__name__}: {e}")
        print(json.dumps({k: out["throughput"][k]}), flush=True)
        for chunk in (None, 64):  # the default chunk, and 64-lane chunks (bit-identical on one backend)
            r, _ = _run(ct, dict(kw, **IDENTITY), chunk_size=chunk)
            vals = {m: v.tolist() for m, v in r.values.items()}
            sha = hashlib.sha256(b"".join(np.ascontiguousarray(v).tobytes() for v in r.values.values())).hexdigest()
            out["identity"][f"{k}/chunk={chunk}"] = dict(sha256=sha, values=vals)
    return out


def _ratio(a, b):
    return f"{a / b:8.1f}x" if a and b else "      - "


def report(cpu_path: str, gpu_path: str) -> int:
    """Print the table and the verdicts; exit 1 if the backend broke its own bit-identity."""
    cpu, gpu = (json.load(open(p)) for p in (cpu_path, gpu_path))
    print(f"# {gpu['device_kind']} x{gpu['devices']} ({gpu['platform']}, jax {gpu['jax']}) vs this host's CPU "
          f"({cpu['cpu_count']} cores, load {cpu['load_avg'][0]:.2f}) and the project's 2-core machine")  # fmt: skip
    print(f"{'kernel':<20}{'GPU cg/s':>12}{'host CPU cg/s':>15}{'GPU/CPU':>10}{'2-core cg/s':>13}{'GPU/2-core':>12}")
    for k in KERNELS:
        g, c = gpu["throughput"].get(k, {}), cpu["throughput"].get(k, {})
        gc, cc = g.get("cg_per_s"), c.get("cg_per_s")
        if gc is None:
            print(f"{k:<20}  GPU failed: {g.get('error')}")
            continue
        print(
            f"{k:<20}{gc:12.3g}{(cc or float('nan')):15.3g}{_ratio(gc, cc):>10}{REF_2CORE[k]:13.3g}{_ratio(gc, REF_2CORE[k]):>12}"
        )
    status = 0
    for key, gv in gpu["identity"].items():
        k, chunk = key.split("/")
        own = gpu["identity"][f"{k}/chunk=None"]["sha256"] == gpu["identity"][f"{k}/chunk=64"]["sha256"]
        if chunk != "chunk=None":
            continue
        cv = cpu["identity"].get(key)
        same = cv is not None and cv["sha256"] == gv["sha256"]
        line = f"bit-identity {k}: GPU chunk-invariant: {'yes' if own else 'NO'}; GPU == CPU: {'yes' if same else 'no'}"
        if cv is not None and not same:
            diffs, total, worst = 0, 0, 0.0
            for m, a in gv["values"].items():
                a, b = np.asarray(a), np.asarray(cv["values"][m])
                ne = (a != b) & ~(np.isnan(a) & np.isnan(b))
                diffs, total = diffs + int(ne.sum()), total + a.size
                with np.errstate(invalid="ignore", divide="ignore"):
                    rel = np.abs(a - b) / np.maximum(np.abs(b), np.finfo(float).tiny)
                worst = max(worst, float(np.nanmax(np.where(ne, rel, 0.0))))
            line += f" ({diffs} of {total} values differ, largest relative difference {worst:.2g})"
        print(line)
        status |= 0 if own else 1
    return status


def main(argv=None) -> int:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--side", choices=["cpu", "gpu"])
    p.add_argument("--out")
    p.add_argument("--quick", action="store_true", help="tiny sizes (a dry run)")
    p.add_argument("--report", nargs=2, metavar=("CPU_JSON", "GPU_JSON"))
    a = p.parse_args(argv)
    if a.report:
        return report(*a.report)
    res = side(a.side, a.quick)
    with open(a.out, "w") as fh:
        json.dump(res, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
